# Fake of the hardware `machine` module for the virtual board (MicroPython unix port).
# Resets end the interpreter with an exit code that `python -m tools sim` turns into a reboot.
import os
import sys
import time

_PORT = os.getenv("MPSIM_PORT") or "esp32"
PWRON_RESET = 1
WDT_RESET = 3
if _PORT != "rp2":  # rp2 knows only PWRON_RESET and WDT_RESET
    HARD_RESET = 2
    DEEPSLEEP_RESET = 4
    SOFT_RESET = 5
_EXIT = {"HARD_RESET": 42, "DEEPSLEEP_RESET": 43, "WDT_RESET": 44}
_ticks = 0
_limit = int(os.getenv("MPSIM_TICKS") or 0)


def _save():
    with open(os.getenv("MPSIM_STATE"), "w") as f:
        f.write(str(_ticks))


def _reboot(cause):
    _save()
    sys.exit(_EXIT[cause])


def sim_idle(ms):
    global _ticks
    _ticks += 1
    if _limit and _ticks >= _limit:
        _save()
        print("sim: %d ticks done" % _ticks)
        sys.exit(0)
    time.sleep_ms(min(ms, 10))


def reset_cause():
    name = os.getenv("MPSIM_RESET_CAUSE") or "PWRON_RESET"
    if name not in globals():  # rp2: machine.reset() reads back as WDT_RESET
        name = "WDT_RESET" if name == "HARD_RESET" else "PWRON_RESET"
    return globals()[name]


def reset():
    _reboot("HARD_RESET")


def deepsleep(ms=0):
    # A deep sleep is one pass of the sleep-and-boot loop: it counts as a tick.
    print("sim: deep sleep for %d ms" % ms)
    sim_idle(0)
    _reboot("DEEPSLEEP_RESET")


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
        print("sim: watchdog started, %d ms" % timeout)
        self.timeout = timeout
        self.last = time.ticks_ms()

    def feed(self):
        now = time.ticks_ms()
        if time.ticks_diff(now, self.last) > self.timeout:
            print("sim: watchdog expired")
            _reboot("WDT_RESET")
        self.last = now
