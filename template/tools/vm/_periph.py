# The buses of the fake `machine` (tools/vm/machine.py), loaded on their first use, and the
# device models attached to them: the user's sim/devices.py (imported as `sim_devices`) registers
# its models with attach(). A model's update(state) gets the host's readings at each tick: the
# JSON file MPSIM_STATE (sim/state.json), which a test writes; its tick() may write files back.
# "from_tick": {"5": {...}} in that file changes readings from the 5th tick of the boot on.
import json
import os

import machine
import simtime as time
from machine import Pin

_i2c = {}  # address: model
_spi = []  # (chip-select pin id, or True for the bus's only device, model)
_uart = {}  # UART id: model
_pins = {}  # pin id: level set by the host
_driven = {}  # pin id: the level the app last drove an output pin to (a chip select)
_queued = {}  # pin id: [(after_us, width_us, level)] pulses models queued with pulse()
_wired = {}  # pin id: the models that hear the app drive it
_watched = []  # Pins with an irq handler
_models = []
_last = None  # the state file as last read
_raw = {}  # and as parsed
_stage = -1  # how many of its "from_tick" steps apply
state = {}  # the host's readings (sim/state.json), as last read


class Device:
    # A model of a chip: update(state) takes the host's readings, tick() runs at each tick,
    # pin(id, value) hears the app change a pin it was attached to with pins=.
    def update(self, state):
        pass

    def tick(self):
        pass

    def pin(self, id, value):
        pass


class I2CDevice(Device):
    # A register map: a write sets the register pointer (first byte) then writes registers from
    # there; a read reads from the pointer on. Override write()/read() for other protocols.
    def __init__(self, size=256):
        self.regs = bytearray(size)
        self.ptr = 0

    def write(self, data):  # data: the app's buffer (bytes, bytearray or memoryview): copy what you keep
        if data:
            self.ptr = data[0]
            for i in range(1, len(data)):
                self.regs[self.ptr % len(self.regs)] = data[i]
                self.ptr += 1

    def read(self, n):
        out = bytes(self.regs[(self.ptr + i) % len(self.regs)] for i in range(n))
        self.ptr += n
        return out


def attach(model, i2c=None, spi=None, uart=None, pins=()):
    # i2c=address; spi=its chip-select pin (selected while the app drives it low), or True for
    # a bus with one device, always selected; uart=id; pins=(ids): its pin(id, value) hears each
    # change of level the app drives them to (a sonar's trigger).
    for k in pins:
        _wired.setdefault(str(k), []).append(model)
    if i2c is not None:
        _i2c[i2c] = model
    if uart is not None:
        _uart[uart] = model
    if spi is not None and spi is not False:
        _spi.append((spi if spi is True else str(spi), model))
    _models.append(model)
    if _stage >= 0:  # attached after the readings were taken: it gets them now
        model.update(state)
    return model


def level(pin_id):
    # What a pin carries now: the level the app drove it to, or the host's for an input (a
    # model reads its data/command or reset pin with this).
    k = str(pin_id)
    return _driven[k] if k in _driven else int(_pins.get(k, 1))


def pulse(pin_id, width_us, level=1, after_us=0):
    # The next time_pulse_us() on this pin sees this pulse: the other level for after_us from
    # the moment it starts waiting, then `level` for width_us (an echo a model sends back).
    _queued.setdefault(str(pin_id), []).append((after_us, width_us, level))


def _out(pin):  # machine.Pin drove an output (every write: a chip select set before we loaded)
    k = str(pin.id)
    was, _driven[k] = _driven.get(k), pin._v
    if was is not None and was != pin._v:  # an edge: the models wired to the pin hear it
        for m in _wired.get(k, ()):
            m.pin(k, pin._v)


def _level(pin):
    return _pins.get(str(pin.id), pin._v)


def _watch(pin):
    if pin not in _watched:
        _watched.append(pin)


def _tick():
    global _last, _raw, _stage
    path = os.getenv("MPSIM_STATE")
    try:
        with open(path) as f:
            text = f.read()  # read whole at each tick: a time stamp's second would miss quick changes
    except (OSError, TypeError):
        text = None
    if text and text != _last:
        _last, _raw, _stage = text, json.loads(text), -1
    steps = _raw.get("from_tick") or {}
    due = sorted((k for k in steps if int(k) <= machine._ticks), key=int)
    if len(due) != _stage:
        _stage = len(due)
        state.clear()
        state.update(_raw)
        for k in due:  # later steps over earlier ones; a dict reading ("pins") merged key by key
            for name, v in steps[k].items():
                state[name] = dict(state.get(name) or {}, **v) if isinstance(v, dict) else v
        old = {str(p.id): _level(p) for p in _watched}
        _pins.clear()
        _pins.update(state.get("pins", {}))
        for p in _watched:
            v, was = _level(p), old[str(p.id)]
            if p._cb[0] and v != was and p._cb[1] & (4 if v else 8):
                p._cb[0](p)
        _adc.clear()
        _adc.update(state.get("adc", {}))
        for m in _models:
            m.update(state)
    for m in _models:
        m.tick()


def _dev(addr):
    d = _i2c.get(addr)
    if d is None:
        raise OSError(19)  # ENODEV: no ACK, as a board's I2C says
    return d


class I2C:
    def __init__(self, id=0, *, scl=None, sda=None, freq=400000, timeout=50000):
        self.id = id

    def init(self, *a, **k):
        pass

    def deinit(self):
        pass

    def scan(self):
        return sorted(_i2c)

    def writeto(self, addr, buf, stop=True):
        _dev(addr).write(buf)  # the app's own buffer, not a copy: the chip's heap has none
        return len(buf)

    def writevto(self, addr, vector, stop=True):
        return self.writeto(addr, vector[0] if len(vector) == 1 else b"".join(vector), stop)

    def readfrom(self, addr, n, stop=True):
        return _dev(addr).read(n)

    def readfrom_into(self, addr, buf, stop=True):
        buf[:] = self.readfrom(addr, len(buf))

    def writeto_mem(self, addr, mem, buf, *, addrsize=8):
        self.writeto(addr, bytes([mem]) + bytes(buf))

    def readfrom_mem(self, addr, mem, n, *, addrsize=8):
        _dev(addr).write(bytes([mem]))
        return _dev(addr).read(n)

    def readfrom_mem_into(self, addr, mem, buf, *, addrsize=8):
        buf[:] = self.readfrom_mem(addr, mem, len(buf))

    # primitive operations: no bus to drive here
    def start(self):
        pass

    def stop(self):
        pass

    def readinto(self, buf, nack=True):
        pass

    def write(self, buf):
        return len(buf)


class SoftI2C(I2C):
    pass


class SPI:
    # A transfer goes to the models whose chip select the app holds low (attach(m, spi=PIN)), or
    # to the bus's only device (spi=True): its transfer(out) -> bytes in. With none selected,
    # MISO floats high (0xFF); two selected at once each hear it and their answers are ANDed.
    CONTROLLER = 0
    MSB = 0
    LSB = 1

    def __init__(self, id=0, *a, **k):
        self.id = id

    def init(self, *a, **k):
        pass

    def deinit(self):
        pass

    def write_readinto(self, out, into):
        got = b"\xff" * len(out)
        for cs, d in _spi:
            if cs is True or level(cs) == 0:
                ans = d.transfer(bytes(out))
                got = bytes(got[i] & ans[i] for i in range(len(got)))
        into[:] = got

    def write(self, buf):
        self.write_readinto(buf, bytearray(len(buf)))

    def read(self, n, write=0):
        into = bytearray(n)
        self.write_readinto(bytes([write]) * n, into)
        return bytes(into)

    def readinto(self, buf, write=0):
        buf[:] = self.read(len(buf), write)


class SoftSPI(SPI):
    pass


class PWM:
    def __init__(self, dest, *, freq=0, duty_u16=0, duty_ns=0, invert=False):
        self.pin, self._f, self._d = dest, freq, duty_u16

    def init(self, *, freq=0, duty_u16=0, duty_ns=0):
        self._f, self._d = freq or self._f, duty_u16 or self._d

    def deinit(self):
        self._d = 0

    def freq(self, f=None):
        if f is None:
            return self._f
        self._f = f

    def duty_u16(self, d=None):
        if d is None:
            return self._d
        if not 0 <= d <= 65535:
            raise ValueError("duty_u16 must be 0-65535")
        self._d = d

    def duty_ns(self, ns=None):
        if ns is None:
            return self._d * 1000000000 // 65535 // (self._f or 1)
        self._d = min(65535, ns * (self._f or 1) * 65535 // 1000000000)

    def duty(self, d=None):  # esp32/esp8266: 0-1023
        if d is None:
            return self._d >> 6
        self._d = d << 6


class ADC:
    # read_u16() gives state.json "adc" {pin id: 0-65535}, else mid-scale.
    ATTN_0DB, ATTN_2_5DB, ATTN_6DB, ATTN_11DB = 0, 1, 2, 3
    WIDTH_9BIT, WIDTH_10BIT, WIDTH_11BIT, WIDTH_12BIT, WIDTH_13BIT = 0, 1, 2, 3, 4
    CORE_TEMP, CORE_VBAT, CORE_VREF, VREF = 4, 5, 6, 7

    def __init__(self, pin, *, atten=None):
        self.id = pin.id if isinstance(pin, Pin) else pin

    def init(self, *a, **k):
        pass

    def deinit(self):
        pass

    def read_u16(self):
        return int(_adc.get(str(self.id), 32768))

    def read(self):
        return self.read_u16() >> 4

    def read_uv(self):
        return self.read_u16() * 3300000 // 65535

    def atten(self, a):
        pass

    def width(self, w):
        pass

    def block(self):
        return None


_adc = {}


class Timer:
    # Runs on the virtual clock: a callback fires inside the sleep (or tick idle) in which it falls due.
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, **kw):
        self._due = None
        if kw:
            self.init(**kw)

    def init(self, *, mode=1, freq=-1, period=-1, tick_hz=1000, callback=None, hard=True):
        self._period = period * 1000 // tick_hz if period > 0 else 1000 // freq if freq > 0 else 1000
        self._mode, self._cb = mode, callback
        self._due = time._ms() + self._period
        if self not in time._timers:
            time._timers.append(self)

    def deinit(self):
        if self in time._timers:
            time._timers.remove(self)

    def value(self):
        return max(0, self._due - time._ms()) if self._due else 0

    def _fire(self):
        if self._mode == self.PERIODIC:
            self._due += self._period
        else:
            self.deinit()
        if self._cb:
            self._cb(self)


class UART:
    # Bytes go to and come from the model attached with uart=id (its write(data), read(n) -> bytes).
    CTS, RTS, IDLE = 1, 2, 4
    INV_TX, INV_RX, INV_RTS, INV_CTS = 1, 2, 4, 8
    IRQ_RX, IRQ_RXIDLE, IRQ_TXIDLE, IRQ_BREAK = 1, 2, 4, 8

    def __init__(self, id, baudrate=9600, **kw):
        self.id = id
        self._rx = b""

    def init(self, *a, **k):
        pass

    def deinit(self):
        pass

    def _pull(self):
        d = _uart.get(self.id)
        if d:
            self._rx += d.read()

    def any(self):
        self._pull()
        return len(self._rx)

    def read(self, n=-1):
        self._pull()
        n = len(self._rx) if n < 0 else n
        out, self._rx = self._rx[:n], self._rx[n:]
        return out or None

    def readinto(self, buf, n=-1):
        got = self.read(len(buf) if n < 0 else n)
        if got:
            buf[:len(got)] = got
        return len(got) if got else None

    def readline(self):
        self._pull()
        i = self._rx.find(b"\n") + 1 or len(self._rx)
        out, self._rx = self._rx[:i], self._rx[i:]
        return out or None

    def write(self, buf):
        d = _uart.get(self.id)
        if d:
            d.write(bytes(buf))
        return len(buf)

    def flush(self):
        pass

    def txdone(self):
        return True

    def sendbreak(self):
        pass

    def irq(self, handler=None, trigger=0, hard=False):
        return None

    def readchar(self):
        c = self.read(1)
        return c[0] if c else -1

    def writechar(self, c):
        self.write(bytes([c]))


class RTC:
    # datetime() reads and sets the clock behind time.time() (tools/vm/simtime.py).
    ALARM0 = 0

    def __init__(self, id=0):
        pass

    def init(self, dt=None):
        if dt:
            self.datetime((dt[0], dt[1], dt[2], 0, dt[3], dt[4], dt[5], dt[6]))

    def datetime(self, dt=None):
        if dt is None:
            y, m, d, hh, mm, ss, wd, _ = time.gmtime()
            return (y, m, d, wd, hh, mm, ss, 0)
        time._set(time.mktime((dt[0], dt[1], dt[2], dt[4], dt[5], dt[6], 0, 0)))

    def memory(self, data=None):
        return b"" if data is None else None

    def alarm(self, *a):
        pass

    def alarm_left(self, *a):
        return 0

    def irq(self, *a, **k):
        pass

    def calibration(self, *a):
        return 0

    def info(self):
        return 0

    def wakeup(self, *a, **k):
        pass


def _wait_us(us):  # a busy wait of the chip: the virtual clock moves by exactly that
    time._sub += us
    time._wait(time._sub // 1000)
    time._sub %= 1000


def time_pulse_us(pin, pulse_level, timeout_us=1000000):
    # As the chip: wait for the pin to reach pulse_level (-2 if timeout_us passes first), then
    # time how long it stays there (-1 if timeout_us passes first). The pulse is the one a model
    # queued with pulse(), else state.json "pulses" {"12": {"width_us": 580, "after_us": 100,
    # "level": 1}} (at each measurement), else none: the pin stays at its level. Each is timed
    # from the call (a host is slower than the chip: an absolute time could be missed), and the
    # virtual clock moves by the time the chip would have waited.
    pulse_level = 1 if pulse_level else 0
    k = str(pin.id if isinstance(pin, Pin) else pin)
    q = _queued.get(k)
    p = q.pop(0) if q else state.get("pulses", {}).get(k)
    if isinstance(p, dict):
        p = (p.get("after_us", 0), p["width_us"], p.get("level", 1))
    if not p:  # a steady level: a pulse never starts, or never ends
        _wait_us(timeout_us)
        return -1 if _level(pin if isinstance(pin, Pin) else Pin(pin)) == pulse_level else -2
    after, width, lvl = p
    # The pin's course from the call: (until us, level) ..., then its idle level for good.
    course = ([(after, 1 - lvl)] if after else []) + [(after + width, lvl), (None, 1 - lvl)]
    t = 0
    for end, v in course:
        if v == pulse_level:
            break
        t = end
    if t >= timeout_us:  # still waiting for the level
        _wait_us(timeout_us)
        return -2
    if end is None or end - t >= timeout_us:  # the level outlasts the timeout
        _wait_us(t + timeout_us)
        return -1
    _wait_us(end)
    return end - t


def bitstream(pin, encoding, timing, buf):
    pass


def _load():
    # The user's device models (sim/devices.py): missing is fine; broken says so, as an import would.
    try:
        import sim_devices  # noqa: F401
    except ImportError as e:
        if "sim_devices" not in str(e):
            raise
    _tick()


_load()
