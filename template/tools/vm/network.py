# Fake of the `network` module, driven by `python -m tools sim --wifi`:
#   ok    the station connects a moment after connect()
#   fail  it never connects (no access point found)
#   drop  it connects, the link drops at tick 5 and the access point is back at tick 15
# The access point interface (AP_IF) is loopback: the setup page served on it is reached at
# 127.0.0.1 (drivers/linux.http_addr). scan() finds a few made-up networks, one of them
# with characters that the page must escape.
import os
import time

import machine

STA_IF = 0
AP_IF = 1
STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_WRONG_PASSWORD = 2
STAT_NO_AP_FOUND = 3
STAT_CONNECT_FAIL = 4
STAT_GOT_IP = 5
_MODE = os.getenv("MPSIM_WIFI") or "ok"


def country(code=None):
    return code


class WLAN:
    def __init__(self, interface=STA_IF):
        self._if = interface
        self._on = False
        self._since = None  # ticks_ms of the pending connect(), or None
        self._linked = False
        self._config = {}

    def active(self, on=None):
        if on is None:
            return self._on
        self._on = bool(on)

    def connect(self, ssid=None, key=None):
        if self._since is not None and not self._linked:
            raise OSError("Wifi Internal Error")  # as ESP32 does while it is still connecting
        self._since = time.ticks_ms()

    def disconnect(self):
        self._since = None

    def _ap_up(self):
        return _MODE == "ok" or (_MODE == "drop" and not 5 <= machine._ticks < 15)

    def isconnected(self):
        # Like a real station, a pending connect() keeps trying until the access point answers.
        linked = (self._on and self._since is not None and self._ap_up()
                  and time.ticks_diff(time.ticks_ms(), self._since) > 50)
        if self._linked and not linked and self._since is not None:
            print("sim: wifi link lost")
        self._linked = linked
        return linked

    def status(self):
        if self.isconnected():
            return STAT_GOT_IP
        if not self._ap_up():
            return STAT_NO_AP_FOUND
        return STAT_IDLE if self._since is None else STAT_CONNECTING

    def config(self, *names, **settings):
        # config(ssid=..., security=...) sets, config("ssid") reads back; nothing else happens on loopback.
        if names:
            return self._config[names[0]]
        self._config = dict(self._config, **settings)

    def scan(self):
        # (ssid, bssid, channel, RSSI, security, hidden), as a board's WLAN.scan() gives them
        if not self._on or self._if:
            raise OSError(1)  # like a board: only an active station scans
        if _MODE == "fail":
            return []
        return [(b"home", b"\x02\x00\x00\x00\x00\x01", 6, -48, 3, False),
                (b"caf\xc3\xa9 <b>&\"quotes\"", b"\x02\x00\x00\x00\x00\x02", 11, -67, 3, False),
                (b"neighbours", b"\x02\x00\x00\x00\x00\x03", 1, -80, 4, False)]

    def ifconfig(self):
        return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")
