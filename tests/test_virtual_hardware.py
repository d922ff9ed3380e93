"""The virtual board's fakes as the chips behave: each port's machine API against its pinned
stubs, port facts (unique_id, pins, ticks wrap, the clock), and an app that drives I2C, SPI,
PWM, ADC, a Timer and the user's own device models (sim/devices.py) from a test."""
import ast
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib

import pytest
from conftest import CATALOGUE, ROOT, render, sim, stubs_env

VM = ROOT / "template" / "tools" / "vm"
CLASSES = ["Pin", "I2C", "SoftI2C", "SPI", "SoftSPI", "PWM", "ADC", "Timer", "UART", "RTC", "WDT"]
FUNCS = ["unique_id", "reset", "reset_cause", "time_pulse_us", "bitstream", "deepsleep"]


def vm(code, port, **env):
    out = subprocess.run(["micropython", "-c", code], capture_output=True, text=True, timeout=30,
                         env=dict(os.environ, MICROPYPATH=str(VM), MPSIM_PORT=port, MPSIM_PIPE="/dev/null", **env))
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def stub_api(pyi):
    """{class: public names} and the module functions that the stubs declare for machine."""
    api = {}
    for node in ast.parse(pyi.read_text()).body:
        if isinstance(node, ast.ClassDef) and node.name in CLASSES:
            names = set()
            for b in node.body:
                if isinstance(b, ast.FunctionDef) and (not b.name.startswith("_") or b.name == "__call__"):
                    names.add(b.name)
                elif isinstance(b, ast.AnnAssign) and isinstance(b.target, ast.Name):
                    names.add(b.target.id)
                elif isinstance(b, ast.Assign):
                    names.update(t.id for t in b.targets if isinstance(t, ast.Name))
            api[node.name] = sorted(names)
        elif isinstance(node, ast.FunctionDef) and node.name in FUNCS:
            api.setdefault("", []).append(node.name)
    return api


@pytest.mark.parametrize("board", sorted(CATALOGUE))
def test_the_fake_machine_has_the_api_of_the_boards_stubs(board, tmp_path):
    (tmp_path / "requirements-dev.txt").write_text(CATALOGUE[board]["stubs"] + "\n")
    stubs = stubs_env(tmp_path)["PYTHONPATH"]
    api = stub_api(os.path.join(stubs, "machine.pyi") and __import__("pathlib").Path(stubs) / "machine.pyi")
    assert set(CLASSES) <= set(api), "the stubs changed shape: update CLASSES"
    got = json.loads(vm("import json, machine\napi = %r\n"
                        "print(json.dumps({c: [n for n in ns if not hasattr(getattr(machine, c, None) if c else machine, n)]"
                        " for c, ns in api.items()}))" % api, CATALOGUE[board]["port"]))
    assert got == {c: [] for c in api}, f"{board}: the fake machine lacks what its stubs declare: {got}"


@pytest.mark.parametrize(("port", "id_len", "time0"), [("rp2", 8, 1609459200), ("esp32", 6, 0), ("esp8266", 4, 0),
                                                       ("pyboard", 12, 0)])
def test_port_facts_unique_id_clock_and_pins(port, id_len, time0):
    out = vm("import machine, simtime as time\n"
             "print(len(machine.unique_id()), time.time(), time.gmtime(0)[0])\n"
             "for p in ('BOOTSEL', 'LED', 30, 5):\n"
             "    try:\n        machine.Pin(p); print('ok', p)\n"
             "    except ValueError:\n        print('no', p)\n", port)
    lines = out.split("\n")
    assert lines[0] == f"{id_len} {time0} {1970 if port == 'rp2' else 2000}"
    pins = lines[1:5]
    assert "no BOOTSEL" in pins and "ok 5" in pins
    if port == "rp2":
        assert pins == ["no BOOTSEL", "ok LED", "no 30", "ok 5"]


def test_ticks_wrap_at_2_30_and_a_sleep_moves_the_virtual_clock():
    out = vm("import simtime as time\n"
             "a = time.ticks_ms(); w = time.time(); time.sleep_ms(5000); b = time.ticks_ms()\n"
             "print(a, b, time.ticks_diff(b, a), time.time() - w, time.ticks_add(a, 5000) == b)\n",
             "rp2", MPSIM_TICKS_START=str((1 << 30) - 1000))
    a, b, diff, secs, same = out.split()
    assert int(a) >= (1 << 30) - 1000 and int(b) < 5000  # wrapped past 2**30
    assert 5000 <= int(diff) < 5100 and secs in ("4", "5") and same in ("True", "False")


def test_a_timer_fires_on_the_virtual_clock_during_a_sleep():
    out = vm("import machine, simtime as time\nn = [0]\ndef cb(t):\n    n[0] += 1\n"
             "t = machine.Timer(-1, period=100, mode=machine.Timer.PERIODIC, callback=cb)\n"
             "time.sleep_ms(1050)\nprint(n[0])\n", "rp2")
    assert out.strip() == "10"


APP = '''import time
from machine import ADC, I2C, PWM, SPI, Pin, Timer

i2c = I2C(0, scl=Pin(5), sda=Pin(4))
spi = SPI(0)
pwm = PWM(Pin(15), freq=1000, duty_u16=0)
adc = ADC(Pin(26))
fired = [0]


def setup(ctx):
    import sys

    print("app: platform", sys.platform, "drivers", ctx.hw.__name__)
    try:
        import network  # noqa: F401
        print("app: network present")
    except ImportError:
        print("app: no network module")
    print("app: i2c scan", i2c.scan(), "chip", hex(i2c.readfrom_mem(0x76, 0xD0, 1)[0]))
    Timer(-1, period=1000, mode=Timer.PERIODIC, callback=tick)


def tick(t):
    fired[0] += 1


def loop(ctx):
    raw = i2c.readfrom_mem(0x76, 0xFA, 2)
    t = ((raw[0] << 8 | raw[1]) ^ 0x8000) - 0x8000
    level = adc.read_u16()
    pwm.duty_u16(level)
    spi.write(b"x")
    i2c.writeto(0x3C, b"\\x00\\x21\\x00\\x7f")
    i2c.writeto(0x3C, b"\\x00\\x22\\x00\\x07")
    frame = bytearray(1024)
    for x in range(t // 100):
        frame[x] = 0xFF  # a bar as long as the temperature in degrees
    i2c.writeto(0x3C, b"\\x40" + frame)
    print("app: temp %d.%02d adc %d pwm %d timer %d alarm %s ticks %d" % (
        t // 100, t % 100, level, pwm.duty_u16(), fired[0], t > 3000, time.ticks_ms()))
'''


def png(path, w, h, rows):
    """A 1-bit-per-pixel greyscale PNG (0 black, 1 white) from rows of 0/1."""
    raw = b"".join(b"\x00" + bytes(255 * v for v in row) for row in rows)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_an_app_with_buses_and_user_devices_runs_on_the_virtual_board(tmp_path):
    dst = render(tmp_path / "p", boards=["rp2_pico"], wifi=False)
    assert (dst / "sim" / "devices.py").is_file()
    (dst / "device" / "app.py").write_text(APP)
    (dst / "config.json").write_text("{}")
    state = dst / "sim" / "state.json"
    state.write_text(json.dumps({"temperature": 31.5, "adc": {"26": 40000}}))
    # ticks start 3 s before their wrap at 2**30: the heartbeat runs on across it
    out = subprocess.run([sys.executable, "-m", "tools", "sim", "--ticks", "6"], cwd=dst, capture_output=True,
                         text=True, timeout=180, env=dict(os.environ, MPSIM_TICKS_START=str((1 << 30) - 3000)))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "app: platform rp2 drivers drivers.rp2" in out.stdout  # the port's own drivers run
    assert "app: no network module" in out.stdout  # a plain Pico has no radio
    assert "app: i2c scan [60, 118] chip 0x60" in out.stdout
    assert "app: temp 31.50 adc 40000 pwm 40000" in out.stdout and "alarm True" in out.stdout
    # the default interval (loop_interval_ms) is >= 1 s: the 1 s Timer fired on the virtual clock
    last = [line for line in out.stdout.splitlines() if line.startswith("app: temp")][-1]
    assert int(last.split("timer ")[1].split()[0]) >= 4
    ticks = [int(line.split("ticks ")[1]) for line in out.stdout.splitlines() if line.startswith("app: temp")]
    assert ticks[0] > (1 << 30) - 3000 and ticks[-1] < ticks[0], ticks  # wrapped, and the app ran on
    fb = (dst / "sim" / "display.bin").read_bytes()
    assert len(fb) == 1024 and fb[:31] == b"\xff" * 31 and fb[31] == 0
    rows = [[(fb[(y // 8) * 128 + x] >> (y % 8)) & 1 for x in range(128)] for y in range(64)]
    png(tmp_path / "display.png", 128, 64, rows)
    assert (tmp_path / "display.png").read_bytes()[:4] == b"\x89PNG"


def test_port_only_modules_are_on_their_boards_only(tmp_path):
    dst = render(tmp_path / "p", boards=["rp2_pico", "esp32"], wifi=False)
    code = ("import sys\nfor m in ('network', 'rp2', 'esp32', 'esp', 'pyb', 'neopixel', 'dht', 'onewire', 'ds18x20'):\n"
            "    try:\n        __import__(m); print('has', m)\n    except ImportError:\n        print('lacks', m)\n")
    probe = (f"import sys; sys.path[:0] = ['tools']; from tools import sim; "
             f"import subprocess; env = sim.vm_env(sys.argv[1], 0, 'PWRON_RESET', False, 'ok'); "
             f"print(subprocess.run(['micropython', '-c', {code!r}], env=env, capture_output=True, text=True).stdout)")
    got = {}
    for board in ("rp2_pico", "esp32"):
        out = subprocess.run([sys.executable, "-c", probe, board], cwd=dst, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        got[board] = out.stdout.split()
    assert "lacks network" in " ".join(got["rp2_pico"]) and "has rp2" in " ".join(got["rp2_pico"])
    assert "lacks esp32" in " ".join(got["rp2_pico"]) and "lacks pyb" in " ".join(got["rp2_pico"])
    assert "has neopixel" in " ".join(got["rp2_pico"]) and "has ds18x20" in " ".join(got["rp2_pico"])
    assert "has network" in " ".join(got["esp32"]) and "has esp32" in " ".join(got["esp32"])
    assert "has esp" in " ".join(got["esp32"]) and "lacks rp2" in " ".join(got["esp32"])


def test_frozen_driver_fakes_read_the_hosts_readings(tmp_path):
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"dht": {"temperature": 22.5, "humidity": 41},
                                 "ds18x20": {"28aabbccddeeff00": 19.25}}))
    out = vm("import machine, dht, onewire, ds18x20, neopixel\n"
             "machine.I2C  # loads the buses and reads the host's state\n"
             "d = dht.DHT22(machine.Pin(4)); d.measure(); print(d.temperature(), d.humidity())\n"
             "s = ds18x20.DS18X20(onewire.OneWire(machine.Pin(5))); r = s.scan(); s.convert_temp()\n"
             "print(len(r), s.read_temp(r[0]))\n"
             "n = neopixel.NeoPixel(machine.Pin(6), 3); n[1] = (1, 2, 3); n.write(); print(n[1], len(n))\n",
             "rp2", MPSIM_STATE=str(state))
    assert out.split("\n")[:3] == ["22.5 41", "1 19.25", "(1, 2, 3) 3"]


def test_a_test_toggles_an_input_pin_and_talks_through_a_uart_peer(tmp_path):
    # A user's models (sim/devices.py) loaded from the path: a UART peer that answers a command.
    (tmp_path / "sim_devices.py").write_text(
        "from _periph import Device, attach\n"
        "class Gps(Device):\n"
        "    def __init__(self):\n        self.out = b''\n"
        "    def write(self, data):\n        self.out += b'$OK,' + data.strip() + b'\\n'\n"
        "    def read(self):\n        out, self.out = self.out, b''\n        return out\n"
        "attach(Gps(), uart=1)\n")
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"pins": {"14": 1}}))
    out = subprocess.run(
        ["micropython", "-c",
         "import machine, os\n"
         "seen = []\n"
         "p = machine.Pin(14, machine.Pin.IN, machine.Pin.PULL_UP)\n"
         "p.irq(lambda pin: seen.append(pin.value()), machine.Pin.IRQ_FALLING)\n"
         "print(p.value())\n"
         "open(os.getenv('MPSIM_STATE'), 'w').write('{\"pins\": {\"14\": 0}}')\n"
         "machine.sim_idle(0)\n"
         "print(p.value(), seen)\n"
         "u = machine.UART(1, 9600); u.write(b'PING\\n'); print(u.any(), u.readline())\n"],
        capture_output=True, text=True, timeout=30,
        env=dict(os.environ, MICROPYPATH=f"{VM}:{tmp_path}", MPSIM_PORT="rp2", MPSIM_PIPE="/dev/null",
                 MPSIM_STATE=str(state)))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.split("\n")[:3] == ["1", "0 [0]", "9 b'$OK,PING\\n'"]


def test_probing_a_name_the_port_lacks_does_not_load_the_buses():
    # safety.reset_cause() probes getattr(machine, "HARD_RESET", None): on rp2 that must cost nothing.
    out = vm("import sys, machine\nprint(getattr(machine, 'HARD_RESET', None), '_periph' in sys.modules)\n"
             "machine.I2C\nprint('_periph' in sys.modules)\n", "rp2")
    assert out.split("\n")[:2] == ["None False", "True"]


def vm_with_models(tmp_path, models, state, code):
    """Run code in the VM with a user's device models (sim/devices.py, loaded as sim_devices) and
    the host's readings (state.json)."""
    (tmp_path / "sim_devices.py").write_text(models)
    (tmp_path / "state.json").write_text(json.dumps(state))
    out = subprocess.run(["micropython", "-c", code], capture_output=True, text=True, timeout=30,
                         env=dict(os.environ, MICROPYPATH=f"{VM}:{tmp_path}", MPSIM_PORT="rp2",
                                  MPSIM_PIPE="/dev/null", MPSIM_STATE=str(tmp_path / "state.json")))
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.split("\n")


def test_two_spi_devices_share_a_bus_each_selected_by_its_chip_select(tmp_path):
    models = ("from _periph import Device, attach, level\n"
              "class Chip(Device):\n"
              "    def __init__(self, tag):\n        self.tag, self.heard = tag, b''\n"
              "    def transfer(self, out):\n        self.heard += out\n        return bytes([self.tag]) * len(out)\n"
              "flash = attach(Chip(0x11), spi=17)\n"
              "adc = attach(Chip(0x22), spi=18)\n"
              "rtc = attach(Chip(0x33), spi=19)\n")
    got = vm_with_models(tmp_path, models, {}, (
        "import machine, sim_devices as d\n"
        "fcs = machine.Pin(17, machine.Pin.OUT, value=1)\n"
        "spi = machine.SPI(0, baudrate=1000000)\n"
        "acs = machine.Pin(18, machine.Pin.OUT, value=1)\n"
        "print(spi.read(2))\n"  # nobody selected: MISO floats high
        "fcs(0); print(spi.read(2, 0x9f)); fcs(1)\n"
        "acs(0); buf = bytearray(3); spi.write_readinto(b'abc', buf); print(bytes(buf)); acs(1)\n"
        "print(d.flash.heard, d.adc.heard)\n"
        "rcs = machine.Pin(19, machine.Pin.OUT)\n"  # an output starts low: its chip is selected
        "print(spi.read(1), d.flash.heard)\n"))
    assert got[:5] == ["b'\\xff\\xff'", "b'\\x11\\x11'", "b'\"\"\"'", "b'\\x9f\\x9f' b'abc'", "b'3' b'\\x9f\\x9f'"]


def test_time_pulse_us_times_a_pulse_on_the_virtual_clock_with_the_chips_timeouts(tmp_path):
    # A sonar model answers each trigger (the app drives pin 10 high, then low) with an echo on
    # pin 12 (pulse()); pin 13's pulse comes from the test's readings (state.json "pulses");
    # pin 11 carries none.
    models = ("from _periph import Device, attach, pulse\n"
              "class Sonar(Device):\n"
              "    def update(self, state):\n        self.cm = state.get('distance_cm', 100)\n"
              "    def pin(self, id, value):\n        if not value:\n            pulse(12, self.cm * 58, 1, 450)\n"
              "sonar = attach(Sonar(), pins=(10,))\n")
    state = {"distance_cm": 20, "pins": {"12": 0}, "pulses": {"13": {"width_us": 580, "after_us": 100}}}
    got = vm_with_models(tmp_path, models, state, (
        "import machine, simtime as time, sim_devices as d\n"
        "P = machine.Pin\n"
        "trig, echo = P(10, P.OUT), P(12, P.IN)\n"
        "t0 = time.ticks_us()\n"
        "trig(1); time.sleep_us(10); trig(0); w = machine.time_pulse_us(echo, 1, 30000)\n"
        "print(w, time.ticks_diff(time.ticks_us(), t0) >= 450 + w)\n"
        "print(machine.time_pulse_us(echo, 1, 30000))\n"  # no trigger, no echo: the pin stays low (its "pins" level)
        "p = P(13, P.IN)\n"
        "print(machine.time_pulse_us(p, 1, 1000), machine.time_pulse_us(p, 1, 50),"
        " machine.time_pulse_us(p, 1, 300), machine.time_pulse_us(p, 0, 1000))\n"
        "t0 = time.ticks_ms()\n"
        "print(machine.time_pulse_us(P(11, P.IN), 1, 2000000), machine.time_pulse_us(P(11, P.IN), 0, 1000),"
        " time.ticks_diff(time.ticks_ms(), t0) >= 2001)\n"))
    assert got[0] == "1160 True"  # 20 cm: 1160 us, and the clock moved past the echo
    assert got[1] == "-2"  # waited for a pulse that never came
    # 580 us; 50 us: still waiting (-2); 300 us: the pulse outlasts it (-1); a low pulse: 100 us
    assert got[2] == "580 -2 -1 100"
    # the idle pin reads high (its pull-up): a high pulse never ends (-1), a low one never starts (-2)
    assert got[3] == "-1 -2 True"


def test_readings_change_from_a_tick_on_and_an_input_pin_toggles_mid_run(tmp_path):
    models = ("from _periph import I2CDevice, attach\n"
              "class Temp(I2CDevice):\n"
              "    def update(self, state):\n        self.regs[0] = int(state.get('temperature', 0))\n"
              "attach(Temp(), i2c=0x48)\n")
    state = {"temperature": 20, "pins": {"14": 1, "15": 1},
             "from_tick": {"2": {"temperature": 35, "pins": {"14": 0}}, "4": {"pins": {"14": 1}}}}
    got = vm_with_models(tmp_path, models, state, (
        "import machine\n"
        "i2c = machine.I2C(0)\n"
        "seen = []\n"
        "b = machine.Pin(14, machine.Pin.IN)\n"
        "b.irq(lambda p: seen.append(machine._ticks), machine.Pin.IRQ_FALLING)\n"
        "for n in range(5):\n"
        "    print(machine._ticks, i2c.readfrom_mem(0x48, 0, 1)[0], b.value(), machine.Pin(15).value())\n"
        "    machine.sim_idle(0)\n"
        "print(seen)\n"))
    assert got[:6] == ["0 20 1 1", "1 20 1 1", "2 35 0 1", "3 35 0 1", "4 35 1 1", "[2]"]


STATION_APP = '''# A weather station: a BME280-like sensor on I2C, an MCP3008-like ADC chip and an FRAM on one
# SPI bus (chip selects 17 and 20), a fan on PWM, the battery on an ADC pin, a button, a sonar
# (time_pulse_us), a GPS on a UART and a 1 s Timer.
import time

from machine import ADC, I2C, PWM, SPI, UART, Pin, Timer, time_pulse_us

i2c = I2C(0, scl=Pin(5), sda=Pin(4))
spi = SPI(0, baudrate=1000000, sck=Pin(18), mosi=Pin(19), miso=Pin(16))
soil_cs = Pin(17, Pin.OUT, value=1)
fram_cs = Pin(20, Pin.OUT, value=1)
fan = PWM(Pin(15), freq=25000, duty_u16=0)
battery = ADC(Pin(26))
button = Pin(14, Pin.IN, Pin.PULL_UP)
trig, echo = Pin(10, Pin.OUT, value=0), Pin(11, Pin.IN)
gps = UART(1, baudrate=9600, tx=Pin(8), rx=Pin(9))
seconds = [0]
presses = [0]
buf = bytearray(3)


def _second(t):
    seconds[0] += 1


def _pressed(p):
    presses[0] += 1


def setup(ctx):
    Timer(-1, period=1000, mode=Timer.PERIODIC, callback=_second)
    button.irq(_pressed, Pin.IRQ_FALLING)
    ctx.log.info("station: sensor 0x%x on %s", i2c.readfrom_mem(0x76, 0xD0, 1)[0], i2c.scan())


def soil():  # MCP3008 channel 0: start bit, single-ended channel 0, then 10 bits come back
    soil_cs(0)
    spi.write_readinto(b"\\x01\\x80\\x00", buf)
    soil_cs(1)
    return (buf[1] & 3) << 8 | buf[2]


def store(addr, data):  # FRAM: write enable, then WRITE, a 16-bit address, the bytes
    fram_cs(0)
    spi.write(b"\\x06")
    fram_cs(1)
    fram_cs(0)
    spi.write(bytes([2, addr >> 8, addr & 0xFF]) + data)
    fram_cs(1)


def loop(ctx):
    raw = i2c.readfrom_mem(0x76, 0xFA, 2)
    t = ((raw[0] << 8 | raw[1]) ^ 0x8000) - 0x8000
    fan.duty_u16(0 if t < 2500 else min(65535, (t - 2500) * 65535 // 1000))
    mv = battery.read_u16() * 6600 // 65535  # behind a 1:2 divider
    trig(1)
    time.sleep_us(10)
    trig(0)
    us = time_pulse_us(echo, 1, 30000)
    store(0, bytes([ctx.tick]))
    ctx.log.info("station: %d.%02d C fan %d battery %d mV soil %d distance %s timer %d button %d",
                 t // 100, t % 100, fan.duty_u16(), mv, soil(), us // 58 if us >= 0 else "none", seconds[0],
                 presses[0])
    if mv < 3300:
        ctx.log.warning("station: battery low (%d mV)", mv)
    fix = gps.readline()
    if fix and fix.startswith(b"$GPGLL,"):
        ctx.log.info("station: at %s", fix[7:].split(b",")[0].decode())
'''

STATION_MODELS = '''

class Mcp3008(Device):
    # An SPI ADC chip: channel 0 reads state.json "soil" (0-1023).
    def __init__(self):
        self.value = 0

    def update(self, state):
        self.value = state.get("soil", 0)

    def transfer(self, out):
        if len(out) == 3 and out[0] == 1 and out[1] == 0x80:
            return bytes([0, self.value >> 8 & 3, self.value & 0xFF])
        return bytes(len(out))


class Fram(Device):
    # An SPI FRAM (64 bytes here): WREN, then WRITE addr16 data; saved to fram.bin at each tick.
    def __init__(self):
        self.mem, self.wel, self.dirty = bytearray(64), False, False

    def transfer(self, out):
        if out[:1] == b"\\x06":
            self.wel = True
        elif out[:1] == b"\\x02" and self.wel and len(out) > 3:
            a = out[1] << 8 | out[2]
            self.mem[a:a + len(out) - 3] = out[3:]
            self.wel, self.dirty = False, True
        return bytes(len(out))

    def tick(self):
        if self.dirty:
            self.dirty = False
            with open(_here() + "fram.bin", "wb") as f:
                f.write(self.mem)




class Sonar(Device):
    # An ultrasonic ranger: each trigger (pin 10 driven low after high) is answered by an echo
    # on pin 11 as long as the way there and back of state.json "distance_cm" takes.
    def __init__(self):
        self.cm = None

    def update(self, state):
        self.cm = state.get("distance_cm")

    def pin(self, id, value):
        if not value and self.cm is not None:
            pulse(11, self.cm * 58, 1, 450)




class Gps(Device):
    # A GPS on UART 1: a $GPGLL sentence a tick, with state.json "latitude" (when set).
    def __init__(self):
        self.out, self.lat = b"", None

    def update(self, state):
        self.lat = state.get("latitude")

    def tick(self):
        if self.lat is not None:
            self.out += b"$GPGLL,%s,N\\r\\n" % self.lat.encode()

    def read(self):
        out, self.out = self.out, b""
        return out


attach(Mcp3008(), spi=17)
attach(Gps(), uart=1)
attach(Fram(), spi=20)
attach(Sonar(), pins=(10,))
'''

STATION_TESTS = '''def station(run):
    return [line.split("station: ")[1] for line in run.console if "station: " in line and " C fan " in line]


def test_a_hot_day_runs_the_fan_at_full_speed(firmware):
    run = firmware(ticks=3, state={"temperature": 36.0, "adc": {"26": 40000}, "soil": 612, "distance_cm": 20,
                                   "pins": {"11": 0}, "latitude": "4916.45"})
    assert run.rc == 0, run
    assert any("station: at 4916.45" in line for line in run.console), run  # the GPS on the UART
    assert any("station: sensor 0x60 on [60, 118]" in line for line in run.console), run
    last = station(run)[-1]
    assert last.startswith("36.00 C fan 65535 battery 4028 mV soil 612 distance 20 timer "), run
    assert int(last.split("timer ")[1].split()[0]) >= 2, run  # the 1 s Timer on the virtual clock
    assert (run.sim / "fram.bin").read_bytes()[0] == 2  # the last tick stored its number


def test_a_cool_day_stops_the_fan_and_a_low_battery_warns(firmware):
    run = firmware(ticks=2, state={"temperature": 21.0, "adc": {"26": 30000}})
    assert run.rc == 0, run
    assert station(run)[-1].startswith("21.00 C fan 0 battery 3021 mV soil 0 distance none"), run
    assert any("WARNING station: battery low (3021 mV)" in line for line in run.console), run


def test_a_press_of_the_button_at_the_third_tick(firmware):
    run = firmware(ticks=5, state={"pins": {"14": 1}, "from_tick": {"3": {"pins": {"14": 0}}}})
    assert run.rc == 0, run
    assert [int(line.split("button ")[1]) for line in station(run)] == [0, 0, 0, 1, 1], run
'''


def test_a_project_using_buses_and_its_own_device_models_passes_its_tests(tmp_path):
    # Done-when of the virtual board: a user's app with I2C, SPI (two chips, one bus), PWM, ADC,
    # a Timer, a UART and models of its own, and the user's tests driving them, pass on the
    # virtual board.
    import copier

    dst = tmp_path / "p"
    copier.run_copy(str(ROOT), dst, data={"boards": ["rp2_pico"], "wifi": False}, defaults=True, vcs_ref="HEAD",
                    quiet=True)
    (dst / "device" / "app.py").write_text(STATION_APP)
    devices = dst / "sim" / "devices.py"
    devices.write_text(devices.read_text() + STATION_MODELS)
    (dst / "tests" / "app" / "test_station.py").write_text(STATION_TESTS)
    # Its own tests, with the quality checks of its code (ruff, and the type checker on the stubs).
    out = subprocess.run([sys.executable, "-m", "pytest", "tests/app", "tests/runtime/test_quality.py", "-v", "-p",
                          "no:cacheprovider"], cwd=dst, capture_output=True, text=True, timeout=600, env=stubs_env(dst),
                         check=False)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "test_quality.py::test_ruff_passes PASSED" in out.stdout, out.stdout
    for name in ("test_station.py::test_a_hot_day_runs_the_fan_at_full_speed",
                 "test_station.py::test_a_cool_day_stops_the_fan_and_a_low_battery_warns",
                 "test_station.py::test_a_press_of_the_button_at_the_third_tick",
                 "test_devices.py::test_the_fan_follows_the_sensor_and_the_display_shows_it"):
        assert f"{name} PASSED" in out.stdout, out.stdout  # none skipped


def test_an_app_that_only_reads_a_pin_sees_the_level_a_test_sets(tmp_path):
    # No bus, no irq: a button polled with value(). Without pins in the readings, nothing loads.
    code = ("import sys, machine\nb = machine.Pin(14, machine.Pin.IN, machine.Pin.PULL_UP)\nseen = []\n"
            "for n in range(4):\n    seen.append(b.value())\n    machine.sim_idle(0)\n"
            "print(seen, '_periph' in sys.modules)\n")
    got = vm_with_models(tmp_path, "", {"pins": {"14": 1}, "from_tick": {"2": {"pins": {"14": 0}}}}, code)
    assert got[0] == "[1, 1, 0, 0] True"
    got = vm_with_models(tmp_path, "", {"temperature": 20}, code)
    assert got[0] == "[1, 1, 1, 1] False"


def test_the_example_display_takes_commands_a_byte_a_write_as_the_ssd1306_driver_sends(tmp_path):
    # micropython-lib's ssd1306 driver writes each command byte on its own ([0x80, byte]); a
    # contrast argument 0x21 must not be taken for the column command.
    models = (ROOT / "template" / "sim" / "devices.py").read_text()
    got = vm_with_models(tmp_path, models, {}, (
        "import machine\ni2c = machine.I2C(0)\n"
        "for b in (0x81, 0x21, 0x21, 10, 19, 0x22, 1, 2):\n    i2c.writeto(0x3C, bytes([0x80, b]))\n"
        "i2c.writevto(0x3C, [b'\\x40', bytes(range(1, 21))])\n"
        "machine.sim_idle(0)\n"
        f"fb = open({str(tmp_path / 'display.bin')!r}, 'rb').read()\n"
        "print(list(fb[128 + 10:128 + 20]), list(fb[256 + 10:256 + 20]), fb[:128] == bytes(128))\n"))
    assert got[0] == f"{list(range(1, 11))} {list(range(11, 21))} True"


BUS_AND_ASYNCIO_APP = """import asyncio
from machine import Pin, SoftI2C

i2c = SoftI2C(scl=Pin(5), sda=Pin(4))


async def setup(ctx):
    ctx.log.info("app: found %r", i2c.scan())


async def loop(ctx):
    await asyncio.sleep_ms(1)
    ctx.log.info("app: tick %d", ctx.tick)
"""


def test_an_esp8266_app_with_a_bus_and_asyncio_runs_at_the_modeled_heap(renderings, tmp_path):
    # The fakes of the buses and the device models take about 24 KiB of the unix port's heap once
    # a bus is used; the chip has them in silicon: `sim` adds that much when the firmware names a
    # bus, or this app (which fits an ESP8266) crash-looped on MemoryError into safe mode.
    project = tmp_path / "p"
    shutil.copytree(renderings(boards=["esp8266"]), project)
    (project / "device" / "app.py").write_text(BUS_AND_ASYNCIO_APP)
    (project / "config.json").write_text('{"wifi_ssid": "home"}')
    out = sim(project, "--ticks", "3")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-1000:]
    assert "app: found [" in out.stdout and "app: tick 2" in out.stdout, out.stdout[-2000:]
    # Without a bus the strict heap stays: the allowance is for the buses' fakes only.
    (project / "device" / "app.py").write_text("def setup(ctx):\n    pass\n\n\ndef loop(ctx):\n    pass\n")
    code = ("import sys; from pathlib import Path; from tools import sim; "
            "print(sim.uses_buses(Path('device')), sim.uses_buses(Path('.sim/esp8266')))")
    said = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, MPSIM_STATE=str(tmp_path / "no-readings.json")))
    assert said.stdout.split() == ["False", "True"], said.stdout + said.stderr
