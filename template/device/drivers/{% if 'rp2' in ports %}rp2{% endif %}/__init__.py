# Drivers for the Raspberry Pi Pico family (sys.platform "rp2": RP2040, RP2350).
import time

import rp2
from machine import WDT, Pin, Signal


def led(pin, active_low):
    # "LED" names the on-board LED on every Pico, including the W's (on the radio chip).
    if pin is None:
        return None
    return Signal(Pin(pin, Pin.OUT), invert=active_low)


def button_held(pin):
    # The BOOTSEL button is read through the flash chip select, not a GPIO.
    return rp2.bootsel_button() == 1


def watchdog(timeout_ms):
    return WDT(timeout=min(timeout_ms, 8388))  # the RP2040/RP2350 limit


def idle(ms):
    time.sleep_ms(ms)


def http_addr():
    # Where the setup page listens (runtime/provision.py): every address, port 80.
    return "0.0.0.0", 80
