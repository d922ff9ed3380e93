# Fake of the hardware `machine` module for the virtual board (MicroPython unix port).
import os
import sys
import time

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5
_REBOOT = 42
_ticks = 0
_limit = int(os.getenv("MPSIM_TICKS") or 0)


def _save():
    with open(os.getenv("MPSIM_STATE"), "w") as f:
        f.write(str(_ticks))


def sim_idle(ms):
    global _ticks
    _ticks += 1
    if _limit and _ticks >= _limit:
        _save()
        print("sim: %d ticks done" % _ticks)
        sys.exit(0)
    time.sleep_ms(min(ms, 10))


def reset_cause():
    return globals()[os.getenv("MPSIM_RESET_CAUSE") or "PWRON_RESET"]


def reset():
    _save()
    sys.exit(_REBOOT)


def unique_id():
    return b"\x00\x00sim\x01"


class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1

    def __init__(self, id, mode=0, pull=None):
        self.id = id
        self._v = int(os.getenv("MPSIM_PIN_%s" % id) or 1)

    def value(self, v=None):
        if v is None:
            return self._v
        self._v = 1 if v else 0

    def on(self):
        self._v = 1

    def off(self):
        self._v = 0


class Signal:
    def __init__(self, pin, invert=False):
        self.pin = pin
        self.invert = invert

    def value(self, v=None):
        if v is None:
            return self.pin.value() ^ self.invert
        self.pin.value((1 if v else 0) ^ self.invert)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


class WDT:
    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout
        self.last = time.ticks_ms()

    def feed(self):
        now = time.ticks_ms()
        if time.ticks_diff(now, self.last) > self.timeout:
            print("sim: watchdog expired")
            reset()
        self.last = now
