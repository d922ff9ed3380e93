# boot.py runs first after every reset, before main.py.
#
# Keep it short and boring: no network, no endless loop, no sys.exit() (on esp32,
# rp2 and stm32 that soft-reboots straight back into boot.py, forever), and
# nothing that can raise: an exception here would skip main.py. It only decides
# whether this is a safe-mode boot, and leaves the reason in `safe_mode` for
# main.py (on a board the two files share their globals; `python -m tools sim`
# runs them the same way). It prints nothing: on a USB board nobody hears it yet.
#
# The checks go from the one that needs least to the one that needs most, so a
# half-copied lib/ (an interrupted deploy) still ends in safe mode with the REPL free:
#   1. the file SAFE_MODE: an os.stat, nothing else;
#   2. the button, pressed within a moment after the reset: the port's driver and
#      the board facts of the build (runtime/target, data only);
#   3. the crash-loop guard: runtime/safety.
import micropython

# Room to report an exception raised where the heap cannot allocate
# (the unix port of the virtual board has no such buffer).
if hasattr(micropython, "alloc_emergency_exception_buf"):
    micropython.alloc_emergency_exception_buf(100)


def _decide():
    import os
    import sys

    try:
        os.stat("SAFE_MODE")
        return "the file SAFE_MODE is present (delete it to leave safe mode)"
    except OSError:
        pass
    try:
        from runtime import target

        hw = __import__("drivers." + sys.platform, None, None, ("button_pressed",))
        if hw.button_pressed(target.BUTTON, hw.led(target.LED, target.LED_ACTIVE_LOW), target.BUTTON_WINDOW_MS):
            return "the safe-mode button was pressed after the reset"
        from runtime import safety

        return safety.decide()
    except Exception as e:  # a half-copied lib/, or one built for another board or MicroPython
        return "boot.py failed: %r (deploy the firmware again: python -m tools deploy)" % e


safe_mode = _decide()  # the reason this is a safe-mode boot, or None
del _decide, micropython  # main.py shares these globals: keep only the decision
