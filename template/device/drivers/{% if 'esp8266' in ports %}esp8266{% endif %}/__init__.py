# Drivers for the ESP8266 (sys.platform "esp8266").
import time

from machine import WDT, Pin, Signal


def led(pin, active_low):
    if pin is None:
        return None
    return Signal(Pin(pin, Pin.OUT), invert=active_low)


def button_held(pin):
    # The FLASH button (GPIO0) pulls the pin low while held.
    return Pin(pin, Pin.IN, Pin.PULL_UP).value() == 0


def watchdog(timeout_ms):
    # The ESP8266 WDT takes no timeout: it is fixed at about 1.6 s, so the
    # heartbeat feeds it every tick (loop_interval_ms is checked to be <= 1000).
    return WDT()


def idle(ms):
    time.sleep_ms(ms)


def http_addr():
    # Where the setup page listens (runtime/provision.py): every address, port 80.
    return "0.0.0.0", 80
