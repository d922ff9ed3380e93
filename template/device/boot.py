# Runs first after every reset: no network, endless loop, sys.exit() or exception.
# It leaves why this is a safe-mode boot (or None) in `safe_mode` for main.py, which
# shares these globals. Flag and button need built-in modules only (see the docs).

# The build writes (data/boards.yml): (button, ms after reset in which a press
# counts, LED, LED lit when low); (log file, its cap).
BUTTON = None
LOG = None


def _pressed(button, window_ms, led, low):
    # Held *at* the reset it starts a ROM bootloader (pyboard: a menu): a press just
    # after counts. ticks_ms() counts from the reset, on through soft resets (no wait).
    import sys
    import time

    from machine import Pin, Signal

    if button == "BOOTSEL":
        from rp2 import bootsel_button as held
    elif button == "USR":
        from pyb import LED, Switch

        held, led = Switch(), LED(led)
    else:
        held = Signal(Pin(button, Pin.IN, Pin.PULL_UP), invert=True)  # low while held
    if isinstance(led, (int, str)):
        led = Signal(Pin(led, Pin.OUT), invert=low)
    vm = sys.platform == "linux"  # virtual board: starts at the reset, never waits
    for _ in range((window_ms - (0 if vm else time.ticks_ms())) // 10):
        if led:
            led.on()  # lit while a press counts
        if held():
            return True  # and left lit in safe mode
        time.sleep_ms(0 if vm else 10)
        if led:
            led.off()
    return False


def _decide(pressed):
    import os

    try:
        os.stat("SAFE_MODE")
        return "the file SAFE_MODE is present (delete it to leave safe mode)"
    except OSError:
        pass
    try:
        if BUTTON and pressed(*BUTTON):
            return "the safe-mode button was pressed after the reset"
        from runtime import safety  # the crash-loop guard

        return safety.decide()
    except Exception as e:  # lib/ half-copied, or another board's
        return "boot.py failed: %r (deploy again: python -m tools deploy)" % e


safe_mode = _decide(_pressed)
del _pressed, _decide
