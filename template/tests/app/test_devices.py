"""Your hardware in tests: this file is yours (`copier update` never touches tests/app/).

The virtual board runs the models of your chips in sim/devices.py (see docs/devices.md). A test
sets their readings (`state=`, what sim/state.json holds), runs ticks of an app on the virtual
board and asserts its reaction; what a model writes back (the example display's frame buffer)
is in run.sim.

The example below runs a small thermostat app of its own (written onto its flash, so it runs
whatever device/app.py does) against the two example models in sim/devices.py: the sensor at
0x76 and the display at 0x3C. Once your app talks to your own chips, test it the same way.
"""

import pytest
from conftest import ROOT, save_png

# The example models, as the template wrote them (an update may bring this file to models that are yours).
DEVICES = ROOT / "sim" / "devices.py"
EXAMPLE_DEVICES = DEVICES.is_file() and "class TempSensor(I2CDevice)" in DEVICES.read_text()

THERMOSTAT = """\
import framebuf
from machine import Pin, SoftI2C

i2c = SoftI2C(scl=Pin(5), sda=Pin(4))  # the pins your chips are wired to
out = bytearray(1 + 128 * 64 // 8)  # a write to the display: 0x40 (frame data), then the frame
out[0] = 0x40
screen = framebuf.FrameBuffer(memoryview(out)[1:], 128, 64, framebuf.MONO_VLSB)  # 8 pages of 8 rows


def setup(ctx):
    ctx.log.info("thermostat: sensor chip 0x%x", i2c.readfrom_mem(0x76, 0xD0, 1)[0])
    for byte in (0x21, 0, 127, 0x22, 0, 7):  # the whole screen: columns 0-127, pages 0-7
        i2c.writeto(0x3C, bytes((0x80, byte)))  # a command byte a write, as the ssd1306 driver does


def loop(ctx):
    raw = i2c.readfrom_mem(0x76, 0xFA, 2)
    t = ((raw[0] << 8 | raw[1]) ^ 0x8000) - 0x8000  # hundredths of a degree, signed
    fan = "on" if t >= 3000 else "off"
    ctx.log.info("thermostat: %d.%02d C, fan %s", t // 100, t % 100, fan)
    screen.fill(0)
    screen.text("%d.%02d C" % (t // 100, t % 100), 0, 0)
    screen.text("fan " + fan, 0, 16)
    screen.fill_rect(0, 56, t // 100, 8, 1)  # a bar as long as the temperature in degrees
    i2c.writeto(0x3C, out)
"""


def test_the_fan_follows_the_sensor_and_the_display_shows_it(firmware):
    if not EXAMPLE_DEVICES:
        pytest.skip("sim/devices.py is yours now: test your app against your models, as this test did the examples")
    # 22.5 degrees at first, 31.5 from tick 3 on (ctx.tick counts from 0: the 4th loop)
    run = firmware(ticks=4, app=THERMOSTAT, state={"temperature": 22.5, "from_tick": {"3": {"temperature": 31.5}}})
    assert run.rc == 0, run
    assert any("thermostat: sensor chip 0x60" in line for line in run.console), run
    said = [line.split("thermostat: ")[1] for line in run.console if "thermostat: " in line and " C, " in line]
    assert said[:4] == ["22.50 C, fan off"] * 3 + ["31.50 C, fan on"], run

    # The display's frame buffer: 8 pages of 128 columns, a byte a column, bit 0 the top row.
    frame = (run.sim / "display.bin").read_bytes()
    assert frame[7 * 128:7 * 128 + 32] == b"\xff" * 31 + b"\x00"  # the bottom page: a 31-column bar
    assert any(frame[:128]), "no text on the top rows"
    rows = [[255 * (frame[y // 8 * 128 + x] >> y % 8 & 1) for x in range(128)] for y in range(64)]
    save_png(ROOT / ".sim" / "display.png", rows)  # for a person to look at
    assert (ROOT / ".sim" / "display.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
