# Drivers for the Raspberry Pi Pico family (sys.platform "rp2": RP2040, RP2350).
import time

import rp2
from machine import WDT

# "LED" names the on-board LED on every Pico, including the W's (on the radio chip).
from drivers.gpio import http_addr, led, pressed_in_window  # noqa: F401  (this port's driver functions)


def button_pressed(pin, led, window_ms):
    # BOOTSEL is read through the flash chip select, not a GPIO. Held while the chip
    # resets, it starts the ROM's USB bootloader and MicroPython never runs: safe mode
    # wants it pressed just after the reset, while the LED is lit.
    return pressed_in_window(lambda: rp2.bootsel_button() == 1, led, window_ms)


def watchdog(timeout_ms):
    return WDT(timeout=min(timeout_ms, 8388))  # the RP2040/RP2350 limit


def idle(ms):
    time.sleep_ms(ms)

