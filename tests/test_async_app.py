"""An asyncio app on the virtual board: it runs, fails and recovers as a plain app does.

The runtime code is the same for every board, so one rendering proves it: the ESP8266, the
smallest modeled heap, with Wi-Fi and a log file.
"""
import json
import socket
import time
import urllib.request
from pathlib import Path

import pytest

import conftest
from conftest import sim_in_background

ROOT = Path(__file__).resolve().parent.parent
CONFIG = {"wifi_ssid": "home", "wifi_password": "pw", "loop_interval_ms": 40}

SENSOR_APP = '''\
import asyncio

readings = []


async def sample(ctx):
    n = 0
    while True:
        n += 1
        readings.append(n)
        if len(readings) > 4:
            readings.pop(0)
        await asyncio.sleep_ms(15)


async def setup(ctx):
    asyncio.create_task(sample(ctx))
    await asyncio.sleep_ms(1)
    ctx.log.info("app: async setup done")


async def loop(ctx):
    await asyncio.sleep_ms(1)
    if ctx.tick % 5 == 0:
        ctx.log.info("app: tick %d, %d samples kept, last %d", ctx.tick, len(readings), readings[-1])
'''

FLAKY_APP = '''\
import asyncio


async def stuck_bus(ctx):
    await asyncio.sleep_ms(100)
    raise OSError(5, "i2c bus stuck")


def setup(ctx):
    asyncio.create_task(stuck_bus(ctx))


async def loop(ctx):
    await asyncio.sleep_ms(0)
    if 4 <= ctx.tick < 6:
        raise ValueError("bad reading %d" % ctx.tick)
    if ctx.tick % 5 == 0:
        ctx.log.info("app: tick %d", ctx.tick)
'''


@pytest.fixture(scope="module")
def project(copie_session):
    result = copie_session.copy(extra_answers={"boards": ["esp8266"]})
    assert result.exit_code == 0, result.exception
    return result.project_dir


def flash(tmp_path, app, config=CONFIG):
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "app.py").write_text(app)  # beside the built app.mpy, app.py wins
    return tmp_path


def sim(project, flash_dir, *args):
    return conftest.sim(project, "--flash", str(flash_dir), *args)


def test_async_app_runs_its_own_task_between_ticks(project, tmp_path):
    out = sim(project, flash(tmp_path, SENSOR_APP), "--ticks", "16")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr
    assert "app: async setup done" in out.stdout and "sim: 16 ticks done" in out.stdout
    ticks = [line for line in out.stdout.splitlines() if "app: tick" in line]
    assert len(ticks) == 4, ticks  # ticks 0, 5, 10, 15
    # The sensor task ran between the ticks: the last sample number grows from tick to tick.
    last = [int(line.rsplit(" ", 1)[1]) for line in ticks]
    assert last == sorted(last) and last[-1] > last[0] + 5, ticks
    assert "4 samples kept" in ticks[-1]
    assert "sim: watchdog started" in out.stdout, "the watchdog starts after an async setup too"
    assert "ERROR" not in out.stdout


def test_a_failing_task_and_loop_are_logged_counted_and_recovered(project, tmp_path):
    out = sim(project, flash(tmp_path, FLAKY_APP), "--ticks", "14")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr
    assert "task failed (1 in a row)" in out.stdout and "OSError: [Errno 5]" in out.stdout
    assert "app.loop failed" in out.stdout and "ValueError: bad reading 5" in out.stdout
    assert "app: tick 10" in out.stdout, "the heartbeat goes on once the loop recovers"
    assert "resetting the board" not in out.stdout
    log = (tmp_path / "log.txt").read_text()
    assert "i2c bus stuck" in log and "bad reading 4" in log


def test_an_async_loop_that_always_fails_ends_in_safe_mode(project, tmp_path):
    app = "async def setup(ctx):\n    pass\n\n\nasync def loop(ctx):\n    raise ValueError('sensor unplugged')\n"
    out = sim(project, flash(tmp_path, app, dict(CONFIG, loop_interval_ms=10)), "--ticks", "60")
    assert "5 failures in a row: resetting the board" in out.stdout, out.stdout[-2000:]
    assert out.stdout.count("rebooting (HARD_RESET)") == 3
    assert "safe mode: the app crashed in 3 boots in a row" in out.stdout
    assert "ValueError: sensor unplugged" in (tmp_path / "log.txt").read_text()


def test_memory_error_in_an_async_loop_collects_and_reports(project, tmp_path):
    app = ("async def setup(ctx):\n    pass\n\n\nasync def loop(ctx):\n"
           "    if ctx.tick == 3:\n        big = bytearray(10_000_000)\n        print(len(big))\n")
    out = sim(project, flash(tmp_path, app), "--ticks", "8")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr
    assert "app.loop: MemoryError" in out.stdout and "bytes free after collect" in out.stdout
    assert "sim: 8 ticks done" in out.stdout


def test_a_task_that_blocks_the_loop_is_reset_by_the_watchdog(project, tmp_path):
    # time.sleep_ms without await holds the event loop: no tick completes, nothing feeds.
    app = ("import asyncio\nimport time\n\n\nasync def hog():\n    await asyncio.sleep_ms(50)\n"
           "    time.sleep_ms(2500)\n\n\nasync def setup(ctx):\n    asyncio.create_task(hog())\n\n\n"
           "async def loop(ctx):\n    pass\n")
    out = sim(project, flash(tmp_path, app), "--ticks", "30")
    assert "sim: watchdog expired" in out.stdout and "rebooting (WDT_RESET)" in out.stdout, out.stdout[-2000:]


def test_ctrl_c_reaches_the_repl_from_an_async_app(project, tmp_path):
    flash(tmp_path, SENSOR_APP)
    vm = sim_in_background(project, "--flash", str(tmp_path))
    vm.wait_for("app: tick 10", 60)
    out = vm.ctrl_c(30)
    assert "KeyboardInterrupt" in out and "sim: Ctrl-C: the firmware stopped" in out
    assert "crash:" not in out and "resetting the board" not in out
    assert not (tmp_path / "boot_count").exists()


def docs_example():
    text = (ROOT / "docs" / "async-apps.md").read_text()
    return text.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_docs_example_serves_readings_on_the_virtual_board(project, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    flash(tmp_path, docs_example(), dict(CONFIG, loop_interval_ms=100))
    vm = sim_in_background(project, "--flash", str(tmp_path), "--ticks", "40", "--http-port", str(port))
    try:
        assert vm.wait_for("app: serving http://127.0.0.1:%d/" % port, 60), vm.output
        time.sleep(0.5)  # a few samples
        with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=10) as reply:
            reading = json.loads(reply.read())
        rest = vm.end(60)
    finally:
        vm.kill()
    assert reading["samples"] >= 1 and 20 <= reading["value"] < 25, reading
    assert vm.proc.returncode == 0 and "sim: 40 ticks done" in rest, rest[-2000:]
    assert "ERROR" not in rest, rest[-2000:]
