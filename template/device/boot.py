# pyright: reportMissingImports=false
# Runs first after every reset: no network, endless loop, sys.exit() or exception.
# It leaves why this is a safe-mode boot (or None) in `safe_mode` for main.py (it
# shares these globals). Flag and button need built-in modules only (see docs).

# Set by the build (data/boards.yml): (button, ms after reset when a press
# counts, LED, LED lit when low); (log file, its cap).
BUTTON = None
LOG = None


def _pressed(button, window_ms, led, low):
    # Held *at* the reset it starts a ROM bootloader (pyboard: a menu), so a press
    # after counts. ticks_ms() counts from the reset, on through soft resets.
    import sys
    import time

    from machine import Pin, Signal

    if button == "BOOTSEL":
        from rp2 import bootsel_button as held
    elif button == "USR":
        from pyb import LED, Switch

        held, led = Switch(), led and LED(led)
    else:
        held = Signal(Pin(button, Pin.IN, Pin.PULL_UP), invert=True)
    if isinstance(led, (int, str)):
        led = Signal(Pin(led, Pin.OUT), invert=low)
    vm = sys.platform == "linux"  # virtual board: starts at reset, never waits
    for _ in range((window_ms - (0 if vm else time.ticks_ms())) // 10):
        if led:
            led.on()  # lit: press now
        if held():
            return True  # left lit: safe mode
        time.sleep_ms(0 if vm else 10)
        if led:
            led.off()
    return False


def _decide(pressed, button):
    import os

    try:
        os.stat("SAFE_MODE")
        return "the file SAFE_MODE is present (delete it to leave safe mode)"
    except OSError:
        pass
    try:
        if button and pressed(*button):
            return "the safe-mode button was pressed after the reset"
        from runtime import safety  # the crash-loop guard

        return safety.decide()
    except Exception as e:  # lib/ half-copied, or another board's
        return "boot.py failed: %r (deploy again: python -m tools deploy)" % e


safe_mode = _decide(_pressed, BUTTON)
del _pressed, _decide
