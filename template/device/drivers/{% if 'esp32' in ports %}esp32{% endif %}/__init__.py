# Drivers for the ESP32 family (sys.platform "esp32": ESP32, S2, S3, C3, C6).
# The status LED and the BOOT button (GPIO0, GPIO9 on the C3; low while held)
# are plain GPIO: drivers/gpio has them.
import time

from drivers.gpio import button_held, http_addr, led, watchdog  # noqa: F401  (this port's driver functions)


def idle(ms):
    time.sleep_ms(ms)
