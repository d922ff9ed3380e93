# Drivers for the ESP8266 (sys.platform "esp8266"). The status LED and the
# FLASH button (GPIO0, low while held) are plain GPIO: drivers/gpio has them.
import time

from machine import WDT

from drivers.gpio import button_held, http_addr, led  # noqa: F401  (this port's driver functions)


def watchdog(timeout_ms):
    # The ESP8266 WDT takes no timeout: it is fixed at about 1.6 s, so the
    # heartbeat feeds it every tick (loop_interval_ms is checked to be <= 1000).
    return WDT()


def idle(ms):
    time.sleep_ms(ms)
