"""The virtual board (`python -m tools sim`) as a faithful citizen, in one rendering with three
ports (rp2, esp8266, esp32): a watchdog like the chip's, no interpreter outliving the tool,
exit codes a CI step can trust, and the board's flash in os.statvfs."""
import functools
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import conftest
import pytest
from conftest import sim_in_background, tool

BOARDS = ["rp2_pico_w", "esp8266", "esp32"]


@pytest.fixture(scope="module")
def project(renderings):
    return renderings(boards=BOARDS, wifi=True, wifi_country="DE")


def sim(project, flash, *args, board="rp2_pico_w"):
    return conftest.sim(project, "--board", board, "--flash", str(flash), *args, timeout=120)


def flash_with(path, app=None, **config):
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps({"wifi_ssid": "home", **config}))
    if app:
        (path / "app.py").write_text(app)
    return path


SLEEPER = """import os
import time

import machine


def setup(ctx):
    try:
        os.stat("slept")
    except OSError:  # the first boot only: start a watchdog, then sleep through it
        open("slept", "w").close()
        machine.WDT(timeout=1000)
        print("app: sleeping")
        time.sleep(5)
        print("app: woke up")


def loop(ctx):
    pass
"""


def test_the_watchdog_fires_in_the_middle_of_a_sleep(project, tmp_path):
    out = sim(project, flash_with(tmp_path, SLEEPER), "--ticks", "3")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    sleeping = lines.index("app: sleeping")
    assert lines[sleeping + 1:sleeping + 3] == ["sim: watchdog expired", "sim: rebooting (WDT_RESET)"], out.stdout
    assert "reset cause WDT_RESET" in lines[sleeping + 3], out.stdout
    assert "app: woke up" not in out.stdout


def test_creating_the_watchdog_again_restarts_it_with_the_new_timeout(project, tmp_path):
    app = SLEEPER.replace("machine.WDT(timeout=1000)", "machine.WDT(timeout=8000)\n        machine.WDT(timeout=300)")
    out = sim(project, flash_with(tmp_path, app), "--ticks", "3")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[lines.index("app: sleeping") + 1] == "sim: watchdog expired", out.stdout  # 300 ms, not 8 s
    assert "app: woke up" not in out.stdout


PROBE = """import machine


def setup(ctx):
    for args in ({"timeout": 8389}, {"timeout": 8388}, {"id": 1}, {"timeout": 0}, {"timeout": 5000}):
        try:
            w = machine.WDT(**args)
            print("wdt:", args, "ok", [n for n in dir(w) if not n.startswith("_")])
        except ValueError as e:
            print("wdt:", args, "ValueError:", e)


def loop(ctx):
    pass
"""


@pytest.mark.parametrize("board, expect", [
    ("rp2_pico_w", ["{'timeout': 8389} ValueError: timeout exceeds 8388", "{'timeout': 8388} ok ['feed']",
                    "{'id': 1} ValueError:", "sim: watchdog started, 8388 ms"]),
    ("esp32", ["{'timeout': 8389} ok ['feed']", "{'id': 1} ValueError:",
               "{'timeout': 0} ValueError: WDT timeout too short", "sim: watchdog started, 8389 ms"]),
    # The ESP8266's watchdog takes no timeout: whatever is asked, it is about 1.6 s.
    ("esp8266", ["{'timeout': 5000} ok ['feed']", "{'id': 1} ValueError:"]),
])
def test_watchdog_limits_are_the_ports(project, tmp_path, board, expect):
    out = sim(project, flash_with(tmp_path, PROBE, watchdog_ms=1500, loop_interval_ms=100), "--ticks", "3",
              board=board)
    assert out.returncode == 0, out.stdout + out.stderr
    for text in expect:
        assert text in out.stdout, (text, out.stdout)
    if board == "esp8266":
        started = re.findall(r"sim: watchdog started, (\d+) ms", out.stdout)
        assert started and set(started) == {"1600"}, out.stdout


def serve_board(project, flash):
    """`sim --serve` in the background, with the pty it serves the board on as .port."""
    board = sim_in_background(project, "--board", "rp2_pico_w", "--serve", "--flash", str(flash))
    line = board.wait_for("/dev/", 60)
    assert line and line.startswith("/dev/"), board.lines
    board.port = line.strip()
    return board


def mpremote(port, *args):
    return subprocess.run([tool("mpremote"), "connect", port, *args], check=False, capture_output=True, text=True,
                          timeout=60)


def test_on_serve_the_watchdog_survives_a_soft_reset_unless_a_client_feeds_it(project, tmp_path):
    if os.name != "posix":
        pytest.skip("sim --serve needs a pty (Linux or macOS)")
    flash = flash_with(tmp_path / "flash", watchdog_ms=1000, loop_interval_ms=100)
    served = serve_board(project, flash)
    try:
        assert served.wait_for("sim: watchdog started, 1000 ms", 60), served.lines
        # A client that feeds it, after mpremote's Ctrl-C and soft reset: no reset for 3 s.
        at = len(served.lines)
        fed = mpremote(served.port, "exec", "import machine, time\nw = machine.WDT(timeout=1000)\n"
                       "for i in range(15):\n    w.feed()\n    time.sleep_ms(200)\nprint('fed')")
        assert fed.returncode == 0 and "fed" in fed.stdout, fed.stdout + fed.stderr
        assert any("soft reset" in line for line in served.lines[at:]), served.lines
        assert not any("watchdog expired" in line for line in served.lines[at:]), served.lines
        # Then nobody feeds it: idle in the REPL, the board resets within the timeout.
        assert served.wait_for("sim: watchdog expired", 10, at), served.lines
        assert served.wait_for("sim: rebooting (WDT_RESET)", 5, at), served.lines
        # A plain mpremote command (Ctrl-C, soft reset, raw REPL) does not stop it either.
        assert served.wait_for("sim: watchdog started, 1000 ms", 30, at), served.lines
        at = len(served.lines)
        ran = mpremote(served.port, "exec", "print('hi')")
        assert ran.returncode == 0 and "hi" in ran.stdout, ran.stdout + ran.stderr
        assert served.wait_for("sim: watchdog expired", 10, at), served.lines
    finally:
        served.stop()


def test_mpremote_mip_installs_into_the_served_boards_lib(project, tmp_path):
    # mip installs into the import path's entry that ends in /lib, as on a board.
    if os.name != "posix":
        pytest.skip("sim --serve needs a pty (Linux or macOS)")
    index = tmp_path / "index"
    index.mkdir()
    (index / "blink_util.py").write_text("PERIOD_MS = 250\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(index))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    served = serve_board(project, flash_with(tmp_path / "flash", loop_interval_ms=100))
    try:
        url = "http://127.0.0.1:%d/blink_util.py" % server.server_address[1]
        got = mpremote(served.port, "mip", "install", url)
        assert got.returncode == 0 and "Done" in got.stdout, got.stdout + got.stderr
        assert (tmp_path / "flash" / "lib" / "blink_util.py").read_text() == "PERIOD_MS = 250\n"
        ran = mpremote(served.port, "exec", "import blink_util; print('period', blink_util.PERIOD_MS)")
        assert "period 250" in ran.stdout, ran.stdout + ran.stderr
    finally:
        served.stop()
        server.shutdown()


def interpreters_in(flash):
    """Pids of the processes that run in the flash folder (the VM's working directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "cwd") == str(flash) and b"micropython" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("serve", [False, True], ids=["plain", "serve"])
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killing_the_tool_leaves_no_interpreter(project, tmp_path, serve, sig):
    flash = flash_with(tmp_path / "flash", loop_interval_ms=100).resolve()
    for cycle in range(5):
        running = sim_in_background(project, "--board", "rp2_pico_w", "--flash", str(flash),
                                    *(["--serve"] if serve else []))
        deadline = time.monotonic() + 60
        while not interpreters_in(flash) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert interpreters_in(flash), f"cycle {cycle}: no interpreter started"
        running.stop(sig)
        deadline = time.monotonic() + 5
        while interpreters_in(flash) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not interpreters_in(flash), f"cycle {cycle}: an interpreter outlived the tool ({sig.name})"


def test_safe_mode_fails_the_run_with_its_reason(project, tmp_path):
    flash = flash_with(tmp_path)
    (flash / "SAFE_MODE").write_text("")
    out = sim(project, flash, "--ticks", "5")
    assert out.returncode == 1, out.stdout + out.stderr
    [error] = out.stderr.splitlines()
    assert error.startswith("error: the firmware returned to the REPL (safe mode: ") and "SAFE_MODE" in error, error


def test_setup_mode_with_a_config_given_fails_the_run(project, tmp_path):
    flash = tmp_path
    (flash / "config.json").write_text('{"wifi_ssid": "home", "loop_in')
    out = sim(project, flash, "--ticks", "3")
    assert out.returncode == 1, out.stdout + out.stderr
    [error] = out.stderr.splitlines()
    assert "setup mode although config.json was given" in error and "not valid JSON" in error, error
    # Without a config.json, setup mode is where a new board starts: a clean run.
    (flash / "config.json.bad").unlink()
    out = sim(project, flash, "--ticks", "3")
    assert out.returncode == 0 and "sim: 3 ticks done" in out.stdout, out.stdout + out.stderr


def test_an_uncaught_exception_gives_1(project, tmp_path):
    flash = flash_with(tmp_path)
    assert sim(project, flash, "--ticks", "1").returncode == 0  # installs the build
    # main.py's first step, beside its .mpy (a .py wins): boot.py does not import it, so the
    # exception is main.py's, uncaught, as on a board where the REPL then shows the traceback.
    (flash / "lib" / "runtime" / "startup.py").write_text("raise RuntimeError('broken runtime')\n")
    out = sim(project, flash, "--ticks", "3")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "RuntimeError: broken runtime" in out.stderr + out.stdout
    assert out.stderr.splitlines()[-1] == "error: the firmware stopped on an uncaught exception (traceback above)"


STATVFS = """import os


def setup(ctx):
    pass


def loop(ctx):
    if ctx.tick == 1:
        print("statvfs:", os.statvfs("/"))
        with open("blob", "wb") as f:
            f.write(bytes(3 * 4096))
        print("statvfs:", os.statvfs("/"))
        os.remove("blob")
"""


@pytest.mark.parametrize("size", [0, 409600], ids=["board-default", "flash-size"])
def test_statvfs_reports_the_boards_flash(project, tmp_path, size):
    out = sim(project, flash_with(tmp_path, STATVFS), "--ticks", "3", *(["--flash-size", str(size)] if size else []))
    assert out.returncode == 0, out.stdout + out.stderr
    before, after = [eval(line.split(":", 1)[1]) for line in out.stdout.splitlines() if line.startswith("statvfs:")]
    blocks = (size or 848 * 1024) // 4096  # the Pico W's 848 KiB littlefs
    assert before[:3] == (4096, 4096, blocks) and before[5:] == (0, 0, 0, 0, 255), before
    assert 0 < before[3] == before[4] < blocks, before
    assert before[3] - after[3] == 3, (before, after)


def test_an_edited_project_config_is_named_when_the_board_keeps_its_own(project, tmp_path):
    # The default flash takes the project's config.json once; an edit made later is not used
    # (the board's may come from its setup page), and the run says so instead of ignoring it.
    mine = tmp_path / "proj"
    shutil.copytree(project, mine, ignore=shutil.ignore_patterns(".sim", "build"))
    (mine / "config.json").write_text('{"wifi_ssid": "home"}')
    out = conftest.sim(mine, "--board", "rp2_pico_w", "--ticks", "1", timeout=120)
    assert out.returncode == 0 and "keeps its own" not in out.stdout, out.stdout + out.stderr
    (mine / "config.json").write_text('{"wifi_ssid": "home", "loop_interval_ms": 500}')
    out = conftest.sim(mine, "--board", "rp2_pico_w", "--ticks", "1", timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "sim: the board keeps its own .sim/rp2_pico_w/config.json, not the config.json here" in out.stdout, out.stdout
