# boot.py runs first after every reset, before main.py.
#
# Keep it short: no network, no endless loop, no sys.exit() (on esp32, rp2 and
# stm32 that soft-reboots into boot.py again, forever), and nothing that can
# raise: that would skip main.py. It decides whether this is a safe-mode boot and
# leaves the reason in `safe_mode` for main.py, which shares these globals (and
# prints it: on a USB board nobody hears boot.py). Checks that need least first,
# so a half-copied lib/ still ends in safe mode with the REPL free:
#   1. the file SAFE_MODE (an os.stat);
#   2. the button, pressed just after the reset (the port's driver, the build's
#      board facts in runtime/target);
#   3. the crash-loop guard (runtime/safety).
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
