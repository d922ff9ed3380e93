"""What a person sees and what the flash suffers, on the virtual board (one rendering: a Pico).

The status LED must be readable by eye: a pulse of at least 50 ms per heartbeat tick in normal
mode, a toggle per 250 ms setup tick in setup mode (4 a second), steadily lit in safe mode. The
fake Pin prints each change with MPSIM_PINLOG=1 (`sim: pin LED 1 at 1234 ms`). The log writes a
tick's lines at once: the flash model (MPSIM_FLASH_STATS=1) counts littlefs's erases.
"""
import json
import os
import re
import subprocess
import sys

import pytest
from conftest import render

PIN = re.compile(r"^sim: pin LED (\d) at (\d+) ms$", re.MULTILINE)
LOGGING_APP = """def setup(ctx):
    pass


def loop(ctx):
    for i in range(5):
        ctx.log.info("app: tick %d, reading %d", ctx.tick, i)
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return render(tmp_path_factory.mktemp("status") / "p", boards=["rp2_pico"], log_to_file=True)


@pytest.fixture(autouse=True)
def own_app(project):
    """Each test starts from the rendered app.py, whatever the one before wrote."""
    app = project / "device" / "app.py"
    text = app.read_text()
    yield
    app.write_text(text)


def sim(project, flash, ticks, config=True, **env):
    flash.mkdir(exist_ok=True)
    if config:
        (flash / "config.json").write_text(json.dumps({}))
    return subprocess.run([sys.executable, "-m", "tools", "sim", "--ticks", str(ticks), "--flash", str(flash)],
                          cwd=project, env=dict(os.environ, **env), capture_output=True, text=True, timeout=120, check=False)


def changes(out):
    """The LED's changes once main.py runs (boot.py lights it during the safe-mode press window)."""
    start = out.find(" boot: ")  # runtime/startup's first log line
    return [(int(v), int(ms)) for v, ms in PIN.findall(out[start:] if start >= 0 else out)]


def test_normal_mode_blinks_a_visible_pulse_per_tick(project, tmp_path):
    out = sim(project, tmp_path / "flash", 11, MPSIM_PINLOG="1")
    assert out.returncode == 0, out.stdout + out.stderr
    seen = changes(out.stdout)
    assert [v for v, _ in seen] == [1, 0] * 11, seen  # one pulse per tick
    pulses = [off - on for (_, on), (_, off) in zip(seen[::2], seen[1::2])]
    assert all(p >= 50 for p in pulses), pulses
    # The boot's reason, again once the board runs stably (a USB console was not there at boot).
    assert "INFO boot: stable, reset cause PWRON_RESET" in out.stdout


def test_setup_mode_toggles_at_every_quarter_second_tick(project, tmp_path):
    # Without Wi-Fi every setting has a default: only a config.json the board refuses means setup mode.
    flash = tmp_path / "flash"
    flash.mkdir()
    (flash / "config.json").write_text('{"loop_interval_ms": "fast"}')
    out = sim(project, flash, 9, config=False, MPSIM_PINLOG="1")
    assert out.returncode == 1, out.stdout + out.stderr  # setup mode with a config.json given fails the run
    assert "setup mode: config.json: loop_interval_ms" in out.stdout
    seen = [v for v, _ in changes(out.stdout)]
    assert seen == [1, 0] * 4, seen  # ticks 1..8 of 9: a change at each, 4 a second at 250 ms a tick


@pytest.mark.parametrize("trigger", ["SAFE_MODE file", "crash loop"])
def test_safe_mode_leaves_the_led_lit(project, tmp_path, trigger):
    flash = tmp_path / "flash"
    flash.mkdir()
    if trigger == "SAFE_MODE file":
        (flash / "SAFE_MODE").write_text("")
    else:
        (project / "device" / "app.py").write_text("def setup(ctx):\n    raise OSError(5)\n\n\ndef loop(ctx):\n    pass\n")
    out = sim(project, flash, 3, MPSIM_PINLOG="1")
    assert "safe mode: " in out.stdout, out.stdout + out.stderr
    seen = [(int(v), int(ms)) for v, ms in PIN.findall(out.stdout)]
    assert seen and seen[-1][0] == 1, seen  # lit last, and left so


def test_a_tick_of_log_lines_costs_one_erase(project, tmp_path):
    (project / "device" / "app.py").write_text(LOGGING_APP)
    out = sim(project, tmp_path / "flash", 20, MPSIM_FLASH_STATS="1")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = len(re.findall(r"^\d+\.\d{3} INFO app: tick", out.stdout, re.MULTILINE))
    erases = sum(int(n) for n in re.findall(r"^sim: flash (\d+) erases, \d+ page programs$", out.stdout, re.MULTILINE))
    assert lines == 100
    assert 20 <= erases <= 20 + 5, out.stdout[-3000:]  # a write per tick (and the boot's), not per line
    logged = (tmp_path / "flash" / "log.txt").read_text()
    assert "app: tick 19, reading 4" in logged  # the last tick's lines reached the flash before the end
