# Drivers for the Raspberry Pi Pico family (sys.platform "rp2": RP2040, RP2350).
import time

import rp2

# "LED" names the on-board LED on every Pico, including the W's (on the radio chip).
# watchdog: the runtime caps the timeout at the board's limit (target.WDT_MAX_MS).
from drivers.gpio import http_addr, led, watchdog  # noqa: F401  (this port's driver functions)


def button_held(pin):
    # The BOOTSEL button is read through the flash chip select, not a GPIO.
    return rp2.bootsel_button() == 1


def idle(ms):
    time.sleep_ms(ms)

