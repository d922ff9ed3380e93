"""The virtual board's fakes as the chips behave: each port's machine API against its pinned
stubs, port facts (unique_id, pins, ticks wrap, the clock), and an app that drives I2C, SPI,
PWM, ADC, a Timer and the user's own device models (sim/devices.py) from a test."""
import ast
import json
import os
import struct
import subprocess
import sys
import zlib

import pytest
from conftest import CATALOGUE, ROOT, render, stubs_env

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
