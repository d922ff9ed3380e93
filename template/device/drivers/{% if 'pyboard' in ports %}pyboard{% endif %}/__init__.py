# Drivers for the pyboard (sys.platform "pyboard": STM32 boards).
import time

import pyb

from drivers.gpio import http_addr, watchdog  # noqa: F401  (this port's driver functions)


def led(pin, active_low):
    # pyb.LED(1..4): red, green, yellow, blue; it has on() and off().
    if pin is None:
        return None
    return pyb.LED(pin)


def button_held(pin):
    # The USR switch (pyb.Switch) reads True while pressed.
    return pyb.Switch()()


def idle(ms):
    time.sleep_ms(ms)

