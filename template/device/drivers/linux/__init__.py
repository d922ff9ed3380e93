# Drivers for the virtual board: the MicroPython unix port run by
# `python -m tools sim`, whose machine and network modules are fakes of the
# hardware (tools/vm/). `--hold-button` presses the button just after the reset;
# a tick here also counts towards `sim --ticks N`.
import os

import machine

from drivers import gpio
from drivers.gpio import led, watchdog  # noqa: F401  (this port's driver functions)


def button_pressed(pin, led, window_ms):
    # As on the chip, in the virtual time of the fake rp2 module (tools/vm/rp2.py): the
    # window passes without waiting. BOOTSEL is the fake's; any other button a fake Pin.
    import rp2

    held = rp2.bootsel_button if pin == "BOOTSEL" else lambda: gpio.button_held(pin)
    return gpio.pressed_in_window(held, led, window_ms, rp2.sim_ticks_ms, rp2.sim_sleep_ms)


def idle(ms):
    machine.sim_idle(ms)


def http_addr():
    # The setup page on loopback, at the port `python -m tools sim --http-port` chose
    # (a board's port 80 needs root here).
    return "127.0.0.1", int(os.getenv("MPSIM_HTTP_PORT") or 8080)
