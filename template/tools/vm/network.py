# Fake of the `network` module: a station that connects after a moment, or
# never when `python -m tools sim --wifi fail` is given.
import os
import time

STA_IF = 0
AP_IF = 1
STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_WRONG_PASSWORD = 2
STAT_NO_AP_FOUND = 3
STAT_CONNECT_FAIL = 4
STAT_GOT_IP = 5
_FAIL = os.getenv("MPSIM_WIFI") == "fail"


def country(code=None):
    return code


class WLAN:
    def __init__(self, interface=STA_IF):
        self._active = False
        self._since = None

    def active(self, on=None):
        if on is None:
            return self._active
        self._active = bool(on)

    def connect(self, ssid=None, key=None):
        self._since = time.ticks_ms()

    def disconnect(self):
        self._since = None

    def isconnected(self):
        return (not _FAIL and self._active and self._since is not None
                and time.ticks_diff(time.ticks_ms(), self._since) > 50)

    def status(self):
        if self.isconnected():
            return STAT_GOT_IP
        return STAT_NO_AP_FOUND if _FAIL else STAT_CONNECTING

    def ifconfig(self):
        return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")
