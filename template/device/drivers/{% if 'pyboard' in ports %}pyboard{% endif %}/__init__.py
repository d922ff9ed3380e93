# Drivers for the pyboard (sys.platform "pyboard": STM32 boards).
import time

import pyb
from machine import WDT


def led(pin, active_low):
    # pyb.LED(1..4): red, green, yellow, blue; it has on() and off().
    if pin is None:
        return None
    return pyb.LED(pin)


def button_held(pin):
    # The USR switch (pyb.Switch) reads True while pressed.
    return pyb.Switch()()


def watchdog(timeout_ms):
    return WDT(timeout=timeout_ms)


def idle(ms):
    time.sleep_ms(ms)


def http_addr():
    # Where the setup page would listen; the pyboard has no Wi-Fi, so it never serves one.
    return "0.0.0.0", 80
