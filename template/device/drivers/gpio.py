# What most ports share: a status LED and a safe-mode button on plain GPIO pins,
# and machine.WDT with a timeout. A port's driver imports what fits its board
# and writes the rest itself (see drivers/pyboard, drivers/rp2).
from machine import WDT, Pin, Signal


def led(pin, active_low):
    if pin is None:
        return None
    return Signal(Pin(pin, Pin.OUT), invert=active_low)


def button_held(pin):
    # A button to ground with the internal pull-up: the pin reads 0 while held.
    return Pin(pin, Pin.IN, Pin.PULL_UP).value() == 0


def watchdog(timeout_ms):
    return WDT(timeout=timeout_ms)


def http_addr():
    # Where the setup page listens (runtime/provision.py): every address, port 80.
    return "0.0.0.0", 80
