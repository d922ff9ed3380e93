# Fake of the hardware `machine` module for the virtual board (MicroPython unix port).
# Resets end the interpreter with an exit code that `python -m tools sim` turns into a reboot.
# On a board this module is in ROM; here it shares the modeled heap, so it stays lean: Signal
# is the unix port's own, driving this Pin through machine.PinBase.
import os
import sys
import time

from umachine import PinBase, Signal  # noqa: F401  (the unix port's built-in machine module)

PWRON_RESET = 1
WDT_RESET = 3
if os.getenv("MPSIM_PORT") != "rp2":  # rp2 knows only PWRON_RESET and WDT_RESET
    HARD_RESET = 2
    DEEPSLEEP_RESET = 4
    SOFT_RESET = 5
_ticks = 0
_limit = int(os.getenv("MPSIM_TICKS") or 0)
_PINLOG = os.getenv("MPSIM_PINLOG")
_pipe = None  # to `sim`: ticks, watchdog starts and feeds (tools/sim.py Watchdog)


def _end(code):
    # Exit codes: 0 ticks done, 42 hard reset, 43 deep sleep (tools/sim.py REBOOTS).
    sys.exit(code)


def _tell(msg):
    global _pipe
    if _pipe is None:
        _pipe = open(os.getenv("MPSIM_PIPE") or "/dev/null", "wb")
    try:
        _pipe.write(msg)
    except OSError:  # nobody reads: `sim` was killed, and a board without power stops
        sys.exit(1)


def sim_idle(ms):
    global _ticks
    _ticks += 1
    _tell(b"t\n")  # a constant: no heap per tick
    if _limit and _ticks >= _limit:
        print("sim: %d ticks done" % _ticks)
        _end(0)
    time.sleep_ms(min(ms, 10))


def reset_cause():
    name = os.getenv("MPSIM_RESET_CAUSE") or "PWRON_RESET"
    if name not in globals():  # rp2: machine.reset() reads back as WDT_RESET
        name = "WDT_RESET" if name == "HARD_RESET" else "PWRON_RESET"
    return globals()[name]


def reset():
    _end(42)


def deepsleep(ms=0):
    # A deep sleep is one pass of the sleep-and-boot loop: it counts as a tick.
    print("sim: deep sleep for %d ms" % ms)
    sim_idle(0)
    _end(43)


def unique_id():
    return b"\x00\x00sim\x01"


class Pin(PinBase):
    IN = 0
    OUT = 1
    PULL_UP = 1

    def __init__(self, id, mode=0, pull=None):
        self.id = id
        self._v = 0 if mode == 1 else int(os.getenv("MPSIM_PIN_%s" % id) or 1)  # `sim --hold-button` sets 0

    def value(self, v=None):
        if v is None:
            return self._v
        v = 1 if v else 0
        if _PINLOG and v != self._v:  # MPSIM_PINLOG=1: each change, with the ms it happened at
            print("sim: pin %s %d at %d ms" % (self.id, v, time.ticks_ms()))
        self._v = v

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


class WDT:
    # The chip's watchdog is kept by the host (tools/sim.py Watchdog): told the timeout here and
    # each feed through a pipe, it resets the board whatever the VM is doing (a long sleep, a
    # hung tick) and keeps running across a soft reset, as on the chip. Creating it again
    # restarts it with the new timeout (rp2). The limits are the port's (data/boards.yml).
    def __init__(self, id=0, timeout=5000):
        top = int(os.getenv("MPSIM_WDT_MAX") or 0)
        if id:
            raise ValueError
        if os.getenv("MPSIM_WDT_FIXED"):
            timeout = top  # esp8266: fixed, whatever was asked
        elif top and timeout > top:
            raise ValueError("timeout exceeds %d" % top if os.getenv("MPSIM_PORT") == "rp2" else "WDT timeout too long")
        elif timeout < 1:
            raise ValueError("WDT timeout too short")
        _tell(b"%d\n" % timeout)
        print("sim: watchdog started, %d ms" % timeout)

    def feed(self):
        _tell(b"\n")
