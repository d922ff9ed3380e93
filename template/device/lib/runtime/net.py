# Wi-Fi station: reconnect without blocking (the boot's connect, with a
# deadline, is runtime/launch).
#
# WLAN.connect() returns at once and retries forever, so every wait here polls
# isconnected() against a deadline and feeds the watchdog while it waits.
# Status codes differ per port: they are reported by their network.STAT_* name.
import time

import network

from runtime import target


def status_name(code):
    for name in dir(network):
        if name.startswith("STAT_") and getattr(network, name) == code:
            return name
    return str(code)


class Wifi:
    def __init__(self, config, log):
        self.config = config
        self.log = log
        self.wlan = network.WLAN(network.STA_IF)
        self.retry_ms = config["wifi_retry_ms"]
        self._next = None  # ticks_ms of the next reconnect attempt (None: at once)
        self._since = None  # ticks_ms of the attempt in progress

    def isconnected(self):
        return self.wlan.isconnected()

    def _start(self):
        if target.COUNTRY:
            network.country(target.COUNTRY)  # before active(True) on the Pico W
        self.wlan.active(True)
        if not self.wlan.isconnected():  # ESP8266 may have auto-connected already
            # ESP32 raises if connect() is called while it is still trying on its own.
            self.wlan.disconnect()
            self.wlan.connect(self.config["wifi_ssid"], self.config["wifi_password"])

    def _give_up(self, waited):
        self.log.warning("wifi: not connected after %d ms (%s); going on offline",
                         waited, status_name(self.wlan.status()))
        self.wlan.disconnect()
        self.wlan.active(False)

    def keep_up(self):
        # Called once per tick: never blocks. Reconnects with a growing backoff,
        # unless the config says to stay offline (wifi_on_fail: offline).
        if self.config["wifi_on_fail"] == "offline":
            return
        now = time.ticks_ms()
        if self._since is not None:
            if self.wlan.isconnected():
                self.log.info("wifi: reconnected, address %s", self.wlan.ifconfig()[0])
                self._since = None
                self.retry_ms = self.config["wifi_retry_ms"]
                self._next = None
            elif time.ticks_diff(now, self._since) > self.config["wifi_timeout_ms"]:
                self._give_up(time.ticks_diff(now, self._since))
                self._since = None
                self.retry_ms = min(self.retry_ms * 2, 600000)
                self._next = time.ticks_add(now, self.retry_ms)
            return
        if self.wlan.isconnected():
            return
        if self._next is None or time.ticks_diff(now, self._next) >= 0:
            self.log.info("wifi: link down, reconnecting (next wait %d ms)", self.retry_ms)
            self._start()
            self._since = now
