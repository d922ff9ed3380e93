# Drivers for the ESP32 family (sys.platform "esp32": ESP32, S2, S3, C3, C6).
import time

from machine import WDT, Pin, Signal


def led(pin, active_low):
    if pin is None:
        return None
    return Signal(Pin(pin, Pin.OUT), invert=active_low)


def button_held(pin):
    # The BOOT button (GPIO0, GPIO9 on the C3) pulls the pin low while held.
    return Pin(pin, Pin.IN, Pin.PULL_UP).value() == 0


def watchdog(timeout_ms):
    return WDT(timeout=timeout_ms)


def idle(ms):
    time.sleep_ms(ms)


def http_addr():
    # Where the setup page listens (runtime/provision.py): every address, port 80.
    return "0.0.0.0", 80
