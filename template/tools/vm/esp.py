# Fake of the esp module (ESP8266, ESP32): what firmware calls at start-up.
def osdebug(level, *a):
    pass


def flash_size():
    return 4 * 1024 * 1024


def flash_id():
    return 0x1640EF


def sleep_type(t=None):
    return 0
