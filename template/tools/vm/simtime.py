# `time` on the virtual board (simboot puts it in sys.modules): a virtual clock, as the board's.
#  - ticks_ms/us/cpu wrap at 2**30 as on a board (the unix port's at 2**62); they count from the
#    reset, or from MPSIM_TICKS_START ms (set it near 2**30 to cross the wrap within a minute).
#  - A sleep skips ahead: time jumps by all of it while the host sleeps a tenth (at most 10 ms),
#    so a 5 s interval is 5 s of ticks_ms() and time.time(). Each skip is told to the host's
#    watchdog (tools/sim.py), which counts the same virtual time. machine.Timer callbacks fire
#    inside a sleep at their virtual moment.
#  - time() starts where the port's board starts without an RTC set (rp2: 2021-01-01, epoch
#    1970; esp32, esp8266, pyboard: 0, epoch 2000) until machine.RTC().datetime(...) sets it.
import os

import usys
import utime as _t

_PERIOD = 1 << 30
_start = int(os.getenv("MPSIM_TICKS_START") or 0)
_base = _t.ticks_ms()
_skip = 0  # ms the virtual clock is ahead of the host's
_sub = 0  # and the us below a ms (machine.time_pulse_us waits that finely: tools/vm/_periph.py)
_rtc = 1609459200 if os.getenv("MPSIM_PORT") == "rp2" else 0  # time() at _rtc_at
_rtc_at = 0  # virtual ms when the clock was set
_wdt_due = None  # virtual ms when the started watchdog fires unless fed (machine.WDT)
_timers = []  # machine.Timer objects with a callback due (tools/vm/_periph.py)
_pipe = None  # to `sim`: ticks, watchdog starts and feeds, skips (tools/sim.py Watchdog)


def _tell(msg):
    global _pipe
    if _pipe is None:
        _pipe = open(os.getenv("MPSIM_PIPE") or "/dev/null", "wb")
    try:
        _pipe.write(msg)
    except OSError:  # nobody reads: `sim` was killed, and a board without power stops
        usys.exit(1)


def _ms():  # virtual ms since the reset, unwrapped
    return _t.ticks_diff(_t.ticks_ms(), _base) + _skip


def ticks_ms():
    return (_start + _ms()) % _PERIOD


def ticks_us():
    return (_start * 1000 + _t.ticks_diff(_t.ticks_us(), _base * 1000) + _skip * 1000 + _sub) % _PERIOD


ticks_cpu = ticks_us


def ticks_add(t, delta):
    return (t + delta) % _PERIOD


def ticks_diff(a, b):
    return (a - b + _PERIOD // 2) % _PERIOD - _PERIOD // 2


def _wait(ms):
    global _skip
    if _wdt_due is not None and _ms() + ms >= _wdt_due:
        # The watchdog falls due within this sleep: the clock goes to that moment, and the
        # host's watchdog, told so, resets the board (as the chip's does in a long sleep).
        ms = max(0, _wdt_due - _ms())
        _skip += ms
        _tell(b"s%d\n" % ms)
        while True:
            _t.sleep_ms(1000)
    if ms > 0:
        real = min(ms // 10, 10)
        _t.sleep_ms(real)
        _skip += ms - real
        _tell(b"s%d\n" % (ms - real))


def sleep_ms(ms):
    end = _ms() + ms
    while _timers:
        t = min(_timers, key=lambda t: t._due)
        if t._due > end:
            break
        _wait(t._due - _ms())
        t._fire()
    _wait(end - _ms())


def sleep_us(us):
    sleep_ms(us // 1000)


def sleep(s):
    sleep_ms(int(s * 1000))


def time():
    return _rtc + (_ms() - _rtc_at) // 1000


def time_ns():
    return (_rtc * 1000 + _ms() - _rtc_at) * 1000000


_EPOCH = 0 if os.getenv("MPSIM_PORT") == "rp2" else 946684800  # the port's epoch, in unix seconds


def gmtime(s=None):
    return _t.gmtime((time() if s is None else int(s)) + _EPOCH)[:8]


localtime = gmtime  # a board keeps UTC


def mktime(t):
    y, m, d = t[0], t[1], t[2]
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    return days * 86400 + t[3] * 3600 + t[4] * 60 + t[5] - _EPOCH


def _set(seconds):  # machine.RTC().datetime(...)
    global _rtc, _rtc_at
    _rtc, _rtc_at = seconds, _ms()
