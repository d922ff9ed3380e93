# Drivers for the virtual board: the MicroPython unix port run by
# `python -m tools sim`, whose machine and network modules are fakes of the
# hardware (tools/vm/). A tick here also counts towards `sim --ticks N`.
import os

import machine
from machine import WDT, Pin, Signal


def led(pin, active_low):
    if pin is None:
        return None
    return Signal(Pin(pin, Pin.OUT), invert=active_low)


def button_held(pin):
    # `python -m tools sim --hold-button` holds it for this boot.
    return Pin(pin, Pin.IN, Pin.PULL_UP).value() == 0


def watchdog(timeout_ms):
    return WDT(timeout=timeout_ms)


def idle(ms):
    machine.sim_idle(ms)


def http_addr():
    # The setup page on loopback, at the port `python -m tools sim --http-port` chose
    # (a board's port 80 needs root here).
    return "127.0.0.1", int(os.getenv("MPSIM_HTTP_PORT") or 8080)
