# The crash-loop guard and the reset cause: boot-time decisions.
#
# A boot is a safe-mode boot (app not started, REPL free) when the file SAFE_MODE
# exists, the safe-mode button was pressed just after the reset (boot.py checks
# those two first), or the app crashed in the last few boots before it ran stably
# (decide(), called by boot.py).
import os

from micropython import const

from runtime import CRASH_COUNT

_MAX_CRASH_BOOTS = const(3)


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _crash_boots():
    try:
        with open(CRASH_COUNT) as f:
            return int(f.read() or 0)
    except (OSError, ValueError):
        return 0


def _set_crash_boots(n):
    try:
        if n:
            with open(CRASH_COUNT, "w") as f:
                f.write(str(n))
        elif exists(CRASH_COUNT):
            os.remove(CRASH_COUNT)
    except OSError:
        pass  # a full or read-only flash must not stop the boot


def decide():
    # Called by boot.py: the reason this is a safe-mode boot, or None.
    if exists(".ota"):  # an over-the-air update under way (runtime/ota_switch) finishes
        try:  # first, or a version that keeps crashing is undone (Wi-Fi builds only)
            from runtime import ota_switch

            said = ota_switch.at_boot()
        except Exception as e:  # a damaged .ota/ must not stop the boot
            said = repr(e)
        if said:
            print("ota:", said)
        __import__("runtime").forget("ota_switch")  # the heap is the app's
    if reset_cause() == "PWRON_RESET":
        _set_crash_boots(0)  # power was cut or first applied: not a crash
        return None
    n = _crash_boots()
    if n < _MAX_CRASH_BOOTS:
        return None
    _set_crash_boots(0)  # the next reset tries the app again
    return "the app crashed in %d boots in a row before running stably" % n


def app_starting():
    # Counted before the app starts; runtime/heartbeat clears it once the app has run a while.
    _set_crash_boots(_crash_boots() + 1)


def reset_cause():
    # Portable name of why the board (re)started. rp2 knows only PWRON_RESET and
    # WDT_RESET, so names are looked up, never assumed.
    import machine

    try:
        cause = machine.reset_cause()
    except Exception:
        return "unknown"
    for name in ("PWRON_RESET", "HARD_RESET", "WDT_RESET", "DEEPSLEEP_RESET", "SOFT_RESET"):
        if getattr(machine, name, None) == cause:
            return name
    return str(cause)

