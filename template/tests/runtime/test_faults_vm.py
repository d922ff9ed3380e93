"""Fault scenarios on the virtual board: the firmware keeps working, loses nothing, never bricks.

Each test prepares a flash folder, runs boot.py + main.py in the MicroPython unix port through
`python -m tools sim` at the board's modeled heap, and checks what a user would see.
"""
import json
from pathlib import Path

import pytest
from conftest import TEST_APP, Background, require_micropython, tools

ROOT = Path(__file__).resolve().parents[2]
PROJECT = json.loads((ROOT / "tools" / "project.json").read_text())
BOARD = PROJECT["boards"][0]
PORT = PROJECT["facts"][BOARD]["port"]
WIFI = PROJECT["wifi"] and PROJECT["facts"][BOARD]["wifi"]  # the project uses Wi-Fi and this board has a radio
CONFIG = {"wifi_ssid": "home", "wifi_password": "s3cret-pw"} if WIFI else {}
needs_wifi = pytest.mark.skipif(not WIFI, reason=f"no Wi-Fi on the {BOARD} in this project")
needs_log_file = pytest.mark.skipif(not PROJECT["log_file"], reason="this project logs to the console only")

require_micropython()


def sim(flash, *args):
    out = tools("sim", "--flash", str(flash), *args)
    assert "s3cret-pw" not in out.stdout + out.stderr, "the Wi-Fi password reached the console"
    return out


def flash_with(tmp_path, config=None, app=None, raw=None):
    if raw is not None:
        (tmp_path / "config.json").write_text(raw)
    elif config is not None:
        (tmp_path / "config.json").write_text(json.dumps(config))
    # A foo.py beside foo.mpy wins on MicroPython: this app replaces the built one (yours).
    (tmp_path / "app.py").write_text(app or TEST_APP)
    return tmp_path


def logged(flash):
    return "".join(p.read_text() for p in sorted(flash.glob("log.txt*")))


@needs_wifi
def test_no_config_is_setup_mode_without_wifi_or_app(tmp_path):
    # The network is a required setting: without it there is nothing to start.
    out = sim(tmp_path, "--ticks", "8")
    assert out.returncode == 0, out.stderr
    assert "setup mode: no config.json" in out.stdout
    assert "wifi:" not in out.stdout and "app:" not in out.stdout
    assert "sim: watchdog started" not in out.stdout
    assert "sim: 8 ticks done" in out.stdout
    if PROJECT["log_file"]:
        assert "setup mode: no config.json" in logged(tmp_path)


@pytest.mark.skipif(WIFI, reason=f"the {BOARD} of this project needs its Wi-Fi network set first")
def test_without_wifi_no_config_starts_the_app_on_its_defaults(tmp_path):
    # Setup mode is for a missing required value: with every setting defaulted, a new board runs.
    out = sim(tmp_path, "--ticks", "12")
    assert out.returncode == 0, out.stderr
    assert "setup mode" not in out.stdout and "app: tick 10" in out.stdout
    assert not (tmp_path / "config.json").exists()  # the defaults live in the build, not on the flash


@pytest.mark.parametrize("raw, words", [
    ('{"wifi_ssid": "home", "loop_in', "not valid JSON"),
    ("", "not valid JSON"),
    ('{"wifi_ssid": "home", "loop_interval_ms": "fast"}', "loop_interval_ms should be int"),
    ('{"wifi_ssid": "home", "log_level": "LOUD"}', "log_level should be one of DEBUG, INFO, WARNING, ERROR"),
    ("[1, 2]", "JSON object"),
])
def test_corrupt_config_is_setup_mode_and_kept_aside(tmp_path, raw, words):
    flash_with(tmp_path, raw=raw)
    out = sim(tmp_path, "--ticks", "3")
    # The board waits in setup mode, but a run given a config.json fails, naming the problem.
    assert out.returncode == 1 and "setup mode although config.json was given" in out.stderr, out.stderr
    assert words in out.stderr
    assert "setup mode: " in out.stdout and words in out.stdout and "kept as config.json.bad" in out.stdout
    assert (tmp_path / "config.json.bad").read_text() == raw
    assert not (tmp_path / "config.json").exists()


def test_missing_keys_take_defaults_and_unknown_keys_are_named(tmp_path):
    flash_with(tmp_path, dict(CONFIG, colour="blue"))
    out = sim(tmp_path, "--ticks", "12")
    assert out.returncode == 0, out.stderr
    assert "unknown key colour" in out.stdout and "app: tick 10" in out.stdout


@pytest.mark.parametrize("valid", [True, False])
def test_interrupted_save_tmp_is_promoted_or_discarded(tmp_path, valid):
    tmp = dict(CONFIG, loop_interval_ms=50) if valid else None
    (tmp_path / "config.json.tmp").write_text(json.dumps(tmp) if valid else '{"wifi_ssid": "ho')
    (tmp_path / "app.py").write_text(TEST_APP)
    out = sim(tmp_path, "--ticks", "3")
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "config.json.tmp").exists()
    if valid:
        assert json.loads((tmp_path / "config.json").read_text()) == tmp
        assert "setup mode" not in out.stdout
    elif WIFI:
        assert "setup mode: no config.json" in out.stdout
    else:  # nothing required: the defaults
        assert "setup mode" not in out.stdout and not (tmp_path / "config.json").exists()


@needs_wifi
@pytest.mark.parametrize("policy", ["offline", "retry", "sleep"])
def test_wifi_that_never_connects_follows_the_policy(tmp_path, policy):
    flash_with(tmp_path, dict(CONFIG, wifi_timeout_ms=300, wifi_retry_ms=100, wifi_on_fail=policy))
    out = sim(tmp_path, "--wifi", "fail", "--ticks", "3" if policy == "sleep" else "25")
    assert out.returncode == 0, out.stderr
    assert "wifi: not connected after" in out.stdout and "(STAT_NO_AP_FOUND)" in out.stdout
    if policy == "sleep":
        assert "sim: deep sleep for 100 ms" in out.stdout and "rebooting (DEEPSLEEP_RESET)" in out.stdout
        assert out.stdout.count("wifi: connecting to home") >= 2
    else:
        assert "app: tick 10" in out.stdout, "the heartbeat runs offline"
        retried = "wifi: link down, reconnecting" in out.stdout
        assert retried == (policy == "retry")


@needs_wifi
def test_wifi_drop_reconnects_while_the_heartbeat_ticks(tmp_path):
    flash_with(tmp_path, dict(CONFIG, loop_interval_ms=20))
    out = sim(tmp_path, "--wifi", "drop", "--ticks", "40")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    lost = next(i for i, line in enumerate(lines) if "sim: wifi link lost" in line)
    back = next(i for i, line in enumerate(lines) if "wifi: reconnected" in line)
    assert lost < back
    assert any("app: tick 10" in line for line in lines[lost:back]), "ticks went on while offline"


BROKEN_LOOP = "def setup(ctx):\n    pass\n\ndef loop(ctx):\n    raise ValueError('sensor unplugged')\n"


def test_failing_loop_is_logged_then_a_counted_reset(tmp_path):
    flash_with(tmp_path, CONFIG, BROKEN_LOOP)
    out = sim(tmp_path, "--ticks", "60")
    assert out.returncode == 1, out.stderr  # the run ends in safe mode: the app is not running
    assert "ValueError: sensor unplugged" in out.stdout and "app.loop failed (1 in a row)" in out.stdout
    assert "5 failures in a row: resetting the board" in out.stdout
    cause = "WDT_RESET" if PORT == "rp2" else "HARD_RESET"
    assert "rebooting (HARD_RESET)" in out.stdout and f"reset cause {cause}" in out.stdout
    assert "safe mode: the app crashed in 3 boots in a row" in out.stdout
    if PROJECT["log_file"]:
        assert "ValueError: sensor unplugged" in logged(tmp_path)


def test_memory_error_in_loop_collects_and_reports_free_heap(tmp_path):
    app = ("def setup(ctx):\n    pass\n\ndef loop(ctx):\n    if ctx.tick == 3:\n"
           "        x = bytearray(64 * 1024 * 1024)\n    if ctx.tick == 6:\n        ctx.log.info('app: still here')\n")
    flash_with(tmp_path, CONFIG, app)
    out = sim(tmp_path, "--ticks", "12")
    assert out.returncode == 0, out.stderr
    assert "app.loop: MemoryError" in out.stdout and "bytes free after collect (1 in a row)" in out.stdout
    assert "app: still here" in out.stdout


def test_a_stable_run_clears_the_crash_count(tmp_path):
    flash_with(tmp_path, CONFIG)
    (tmp_path / "boot_count").write_text("2")
    out = sim(tmp_path, "--reset-cause", "HARD_RESET", "--ticks", "5")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "boot_count").read_text() == "3", "a boot that has not run stably yet is counted"
    (tmp_path / "boot_count").write_text("2")
    out = sim(tmp_path, "--reset-cause", "HARD_RESET", "--ticks", "15")
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "boot_count").exists()


def test_power_on_is_not_a_crash(tmp_path):
    flash_with(tmp_path, CONFIG)
    (tmp_path / "boot_count").write_text("3")
    out = sim(tmp_path, "--ticks", "3")
    assert out.returncode == 0, out.stderr
    assert "safe mode" not in out.stdout and "app: tick 0" in out.stdout


def test_safe_mode_button_keeps_the_app_off(tmp_path):
    flash_with(tmp_path, CONFIG)
    out = sim(tmp_path, "--hold-button", "--ticks", "5")
    assert out.returncode == 1 and "error: the firmware returned to the REPL (safe mode: " in out.stderr, out.stderr
    assert "safe mode: the safe-mode button was pressed after the reset" in out.stdout
    assert "app:" not in out.stdout and "sim: watchdog started" not in out.stdout
    assert "returned to the REPL" in out.stdout


@needs_log_file
def test_full_flash_drops_lines_and_keeps_running(tmp_path):
    app = "def setup(ctx):\n    pass\n\ndef loop(ctx):\n    ctx.log.info('app: tick %d %s', ctx.tick, 'x' * 50)\n"
    flash_with(tmp_path, CONFIG)
    assert sim(tmp_path, "--ticks", "1").returncode == 0  # installs the build on the flash
    for log in tmp_path.glob("log.txt*"):
        log.unlink()
    (tmp_path / "app.py").write_text(app)
    used = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    room = PROJECT["log_max_bytes"] // 2  # less than one log file: the flash fills before any rotation
    out = sim(tmp_path, "--flash-size", str(used + room), "--ticks", "150")
    assert out.returncode == 0, out.stderr
    assert "log: cannot write log.txt" in out.stdout and "dropping lines" in out.stdout
    assert "app: tick 149" in out.stdout, "the app kept running"
    total = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file() and not p.name.startswith("."))
    assert total <= used + room
    assert all(p.stat().st_size <= PROJECT["log_max_bytes"] for p in tmp_path.glob("log.txt*"))


def test_a_flash_without_a_free_byte_still_ends_the_run_cleanly(tmp_path):
    # The sim's own bookkeeping (tick count) lives beside the flash, not on it: it must not
    # fail when the firmware has filled the flash to the last byte.
    flash_with(tmp_path, CONFIG)
    assert sim(tmp_path, "--ticks", "1").returncode == 0
    for p in [*tmp_path.glob("log.txt*"), tmp_path / "boot_count"]:
        p.unlink(missing_ok=True)
    used = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    out = sim(tmp_path, "--flash-size", str(used), "--ticks", "3")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr
    assert "sim: 3 ticks done" in out.stdout


@needs_log_file
def test_reset_between_rotation_steps_loses_no_log(tmp_path):
    flash_with(tmp_path, CONFIG)
    limit = PROJECT["log_max_bytes"]
    # A reset after `log.txt -> log.txt.1` but before a new log.txt: and an oversized log.txt.2.
    (tmp_path / "log.txt.1").write_text("kept line\n")
    if PROJECT["log_backups"] >= 2:
        (tmp_path / "log.txt.2").write_text("y" * (limit * 3))
    out = sim(tmp_path, "--ticks", "5")
    assert out.returncode == 0, out.stderr
    assert "kept line" in logged(tmp_path) or PROJECT["log_backups"] == 0
    assert (tmp_path / "log.txt").exists()
    (tmp_path / "log.txt").write_text("z" * (limit * 3))  # an unbounded file from elsewhere
    out = sim(tmp_path, "--ticks", "5")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "log.txt").stat().st_size <= limit


def test_ctrl_c_stops_to_the_repl_and_is_not_a_crash(tmp_path):
    flash_with(tmp_path, CONFIG)
    vm = Background("sim", "--flash", str(tmp_path))
    vm.wait_for("app: tick 20", 60)
    out = vm.ctrl_c()
    assert "KeyboardInterrupt" in out and "sim: Ctrl-C: the firmware stopped" in out
    assert "crash:" not in out and "resetting the board" not in out
    assert not (tmp_path / "boot_count").exists()


def test_no_watchdog_flag_keeps_it_off(tmp_path):
    if not PROJECT["watchdog"]:
        pytest.skip("this project has no watchdog")
    flash_with(tmp_path, CONFIG)
    out = sim(tmp_path, "--ticks", "5")
    assert "sim: watchdog started" in out.stdout, out.stdout
    (tmp_path / "NO_WATCHDOG").write_text("")
    out = sim(tmp_path, "--ticks", "5")
    assert out.returncode == 0, out.stderr
    assert "sim: watchdog started" not in out.stdout and "watchdog: off, NO_WATCHDOG file present" in out.stdout


def test_reset_cause_is_logged_at_boot(tmp_path):
    flash_with(tmp_path, CONFIG, "def setup(ctx):\n    pass\n\ndef loop(ctx):\n"
               "    if ctx.tick == 12 and ctx.config.get('first', True):\n"
               "        import machine\n        machine.reset()\n")
    (tmp_path / "boot_count").unlink(missing_ok=True)
    out = sim(tmp_path, "--ticks", "20")
    assert out.returncode == 0, out.stderr
    boots = [line for line in out.stdout.splitlines() if "reset cause" in line and "stable" not in line]
    assert "reset cause PWRON_RESET" in boots[0]
    assert ("reset cause WDT_RESET" if PORT == "rp2" else "reset cause HARD_RESET") in boots[1]
