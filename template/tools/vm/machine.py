# Fake of the hardware `machine` module for the virtual board (MicroPython unix port), as the
# port in MPSIM_PORT behaves (pins, unique_id, reset causes). Resets end the interpreter with an
# exit code that `python -m tools sim` turns into a reboot. On a board this module is in ROM;
# here it shares the modeled heap, so it stays lean: Signal is the unix port's own, driving this
# Pin through machine.PinBase, and the buses (I2C, SPI, PWM, ADC, Timer, UART ...) load from
# _periph on first use (module __getattr__), with the user's device models (sim/devices.py).
import os
import sys

import simtime as time
from umachine import PinBase, Signal  # noqa: F401  (the unix port's built-in machine module)

_PORT = os.getenv("MPSIM_PORT") or "rp2"
PWRON_RESET = 1
WDT_RESET = 3
if _PORT != "rp2":  # rp2 knows only PWRON_RESET and WDT_RESET
    HARD_RESET = 2
    DEEPSLEEP_RESET = 4
    SOFT_RESET = 5
_ticks = 0
_limit = int(os.getenv("MPSIM_TICKS") or 0)
_PINLOG = os.getenv("MPSIM_PINLOG")
_tell = time._tell  # to `sim`: ticks, watchdog starts and feeds (tools/sim.py Watchdog)


def __getattr__(name):
    # Only the buses load _periph: a probe such as getattr(machine, "HARD_RESET", None) must not.
    if name not in ("I2C", "SoftI2C", "SPI", "SoftSPI", "PWM", "ADC", "Timer", "UART", "RTC", "time_pulse_us",
                    "bitstream"):
        raise AttributeError(name)
    import _periph

    return getattr(_periph, name)


def _end(code):
    # Exit codes: 0 ticks done, 42 hard reset, 43 deep sleep (tools/sim.py REBOOTS).
    sys.exit(code)


def sim_idle(ms):
    # A heartbeat tick (drivers/linux.idle): counted, the devices see the host's readings, then
    # the virtual clock skips the idle time (tools/vm/simtime.py).
    global _ticks
    _ticks += 1
    _tell(b"t\n")  # a constant: no heap per tick
    if "_periph" in sys.modules:  # the models see the tick (the last one too: a display saves its frame)
        sys.modules["_periph"]._tick()
    if _limit and _ticks >= _limit:
        print("sim: %d ticks done" % _ticks)
        _end(0)
    time.sleep_ms(ms)


def reset_cause():
    name = os.getenv("MPSIM_RESET_CAUSE") or "PWRON_RESET"
    if name not in globals():  # rp2: machine.reset() reads back as WDT_RESET
        name = "WDT_RESET" if name == "HARD_RESET" else "PWRON_RESET"
    return globals()[name]


def reset():
    _end(42)


def soft_reset():
    _end(42)


def deepsleep(ms=0):
    # A deep sleep is one pass of the sleep-and-boot loop: it counts as a tick.
    print("sim: deep sleep for %d ms" % ms)
    sim_idle(0)
    _end(43)


def lightsleep(ms=0):
    time.sleep_ms(ms)


def idle():
    pass


def freq(*hz):
    return None if hz else 125000000


def unique_id():
    # The port's length: rp2 the flash chip's 8 bytes, esp32 the 6-byte MAC, esp8266 4, stm32 12.
    return b"sim\x01\x02\x03\x04\x05\x06\x07\x08\x09"[:{"rp2": 8, "esp32": 6, "esp8266": 4}.get(_PORT, 12)]


def disable_irq():
    return 0


def enable_irq(state=0):
    pass


# Pins that exist: numbers below the port's count, and the board's names (MPSIM_PINS adds names).
_NPINS = {"rp2": 30, "esp32": 49, "esp8266": 17}.get(_PORT, 0)
_NAMES = (os.getenv("MPSIM_PINS") or {
    "rp2": "LED",
    "pyboard": "X1,X2,X3,X4,X5,X6,X7,X8,X9,X10,X11,X12,Y1,Y2,Y3,Y4,Y5,Y6,Y7,Y8,Y9,Y10,Y11,Y12,SW,LED_RED,LED_GREEN,"
               "LED_YELLOW,LED_BLUE",
}.get(_PORT, "")).split(",")


class Pin(PinBase):
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    ALT = 3
    ALT_OPEN_DRAIN = 4
    ANALOG = 5
    PULL_UP = 1
    PULL_DOWN = 2
    PULL_HOLD = 4
    IRQ_RISING = 4
    IRQ_FALLING = 8
    IRQ_LOW_LEVEL = 1
    IRQ_HIGH_LEVEL = 2
    DRIVE_0 = 0
    DRIVE_1 = 1
    DRIVE_2 = 2
    DRIVE_3 = 3
    WAKE_LOW = 4
    WAKE_HIGH = 5

    def __init__(self, id, mode=-1, pull=-1, *, value=None, drive=0, alt=-1):
        if isinstance(id, Pin):
            id = id.id
        if not (id in _NAMES if isinstance(id, str) else 0 <= id < _NPINS or (not _NPINS and id >= 0)):
            raise ValueError("invalid pin")
        self.id = id
        self._mode = self._pull = None
        self._cb = None
        # An input reads the host's level (`sim --hold-button`: MPSIM_PIN_<id>=0, a test's
        # sim/state.json "pins"), else its pull-up's 1.
        self._v = 0 if mode == 1 else int(os.getenv("MPSIM_PIN_%s" % id) or 1)  # an output starts low
        self.init(mode, pull, value=value)

    def init(self, mode=-1, pull=-1, *, value=None, drive=0, alt=-1):
        if mode != -1:
            self._mode = mode
        if pull != -1:
            self._pull = pull
        if value is not None:
            self.value(value)
        elif mode == 1:  # an output drives its level from now on (low, unless set before)
            self.value(self._v)

    def value(self, v=None):
        if v is None:
            if self._mode in (None, 0) and "_periph" in sys.modules:
                return sys.modules["_periph"]._level(self)
            return self._v
        v = 1 if v else 0
        if _PINLOG and v != self._v:  # MPSIM_PINLOG=1: each change, with the ms it happened at
            print("sim: pin %s %d at %d ms" % (self.id, v, time.ticks_ms()))
        self._v = v
        if "_periph" in sys.modules:  # the device models see it (a chip select)
            sys.modules["_periph"]._out(self)

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    high = on
    low = off

    def toggle(self):
        self.value(self._v ^ 1)

    def mode(self, m=None):
        if m is None:
            return self._mode
        self._mode = m

    def pull(self, p=None):
        if p is None:
            return self._pull
        self._pull = p

    def drive(self, d=None):
        return 0 if d is None else None

    def irq(self, handler=None, trigger=12, *, priority=1, wake=None, hard=False):
        # The handler runs at the tick that sees the level change (sim/state.json "pins").
        self._cb = (handler, trigger)
        import _periph

        _periph._watch(self)

    def __repr__(self):
        return "Pin(%r)" % (self.id,)


if _PORT == "rp2":
    for _n in "GPCK I2C PIO0 PIO1 PIO2 PWM SIO SPI UART UART_AUX USB HSTX XIP_CS1 CORESIGHT_TRACE".split():
        setattr(Pin, "ALT_" + _n, 3)
elif _PORT == "pyboard":
    Pin.OUT_PP, Pin.OUT_OD, Pin.AF_PP, Pin.AF_OD, Pin.PULL_NONE = 1, 2, 3, 4, None
    for _n in ("AF1_TIM1 AF1_TIM2 AF2_TIM3 AF2_TIM4 AF2_TIM5 AF3_TIM10 AF3_TIM11 AF3_TIM8 AF3_TIM9 AF4_I2C1 AF4_I2C2 "
               "AF5_I2S2 AF5_SPI1 AF5_SPI2 AF6_I2S2 AF7_USART1 AF7_USART2 AF7_USART3 AF8_UART4 AF8_USART6 AF9_CAN1 "
               "AF9_CAN2 AF9_TIM12 AF9_TIM13 AF9_TIM14").split():
        setattr(Pin, _n, int(_n[2]))
    for _n in "af af_list debug dict gpio mapper name names pin port".split():
        setattr(Pin, _n, lambda self=None, *a: None)


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
            raise ValueError("timeout exceeds %d" % top if _PORT == "rp2" else "WDT timeout too long")
        elif timeout < 1:
            raise ValueError("WDT timeout too short")
        _tell(b"%d\n" % timeout)
        print("sim: watchdog started, %d ms" % timeout)
        self._t = timeout
        self.feed()

    def feed(self):
        _tell(b"\n")
        time._wdt_due = time._ms() + self._t


try:  # a test sets pin levels (sim/state.json "pins"): inputs read them through _periph, in any app
    if '"pins"' in open(os.getenv("MPSIM_STATE") or "").read():
        __import__("_periph")
except OSError:
    pass
