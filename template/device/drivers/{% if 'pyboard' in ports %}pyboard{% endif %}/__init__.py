# Drivers for the pyboard (sys.platform "pyboard": STM32 boards).
import time

import pyb

from drivers.gpio import http_addr, pressed_in_window, watchdog  # noqa: F401  (this port's driver functions)


def led(pin, active_low):
    # pyb.LED(1..4): red, green, yellow, blue; it has on() and off().
    if pin is None:
        return None
    return pyb.LED(pin)


def button_pressed(pin, led, window_ms):
    # The USR switch (pyb.Switch) reads True while pressed. Held while the board
    # resets, it starts the pyboard's own boot menu: press it a moment later.
    return pressed_in_window(pyb.Switch(), led, window_ms)


def idle(ms):
    time.sleep_ms(ms)

