"""Runs boot.py + main.py on the virtual board (MicroPython unix port) via `python -m tools sim`."""
import json
from pathlib import Path

import pytest
from conftest import TEST_APP, require_micropython, tools

ROOT = Path(__file__).resolve().parents[2]
PROJECT = json.loads((ROOT / "tools" / "project.json").read_text())
BOARDS = PROJECT["boards"]

require_micropython()


def sim(flash, *args, board=BOARDS[0]):
    return tools("sim", "--board", board, "--flash", str(flash), *args, timeout=120)


@pytest.mark.parametrize("board", BOARDS)
def test_no_config_means_setup_mode_only_when_a_setting_is_required(tmp_path, board):
    # A Wi-Fi board needs its network; a board without Wi-Fi runs on the defaults.
    out = sim(tmp_path, "--ticks", "5", board=board)
    assert out.returncode == 0, out.stderr
    if PROJECT["wifi"] and PROJECT["facts"][board]["wifi"]:
        assert "setup mode: no config.json" in out.stdout
        assert "app: hello" not in out.stdout
    else:
        assert "setup mode" not in out.stdout and "app: hello" in out.stdout
    assert "sim: 5 ticks done" in out.stdout


@pytest.mark.parametrize("board", BOARDS)
def test_normal_mode_runs_the_heartbeat(tmp_path, board):
    (tmp_path / "config.json").write_text(json.dumps({"wifi_ssid": "home", "wifi_password": "pw"}))
    (tmp_path / "app.py").write_text(TEST_APP)  # beside app.mpy it wins: the runtime's test app, not yours
    out = sim(tmp_path, "--ticks", "20", board=board)
    assert out.returncode == 0, out.stderr
    assert "app: hello" in out.stdout and "app: tick 10" in out.stdout
    assert "sim: 20 ticks done" in out.stdout
    assert "pw" not in out.stdout.replace("password", "")


def test_the_boot_step_leaves_memory_before_the_app_runs(tmp_path):
    # main.py drops runtime/startup, config, jsonscan and safety once the boot decisions are made,
    # the heartbeat its boot half before the first tick: while the app runs, their code must hold
    # no heap (nothing may import them again).
    (tmp_path / "config.json").write_text(json.dumps({"wifi_ssid": "home"}))
    # Listed: the modules loaded, and every module's global that still holds another module
    # (a global of boot.py would keep runtime.safety alive).
    (tmp_path / "app.py").write_text(
        "import sys\n\n\ndef setup(ctx):\n    pass\n\n\ndef loop(ctx):\n"
        "    if ctx.tick == 12:\n        print('modules:', ' '.join(sorted(sys.modules)))\n"
        "        for m in list(sys.modules.values()):\n"
        "            for k in dir(m):\n"
        "                v = getattr(m, k)\n"
        "                if type(v) is type(sys):\n"
        "                    print('held:', v.__name__)\n"
        "        for m in ('runtime.heartbeat', 'runtime.net'):\n"  # and the names their code still holds
        "            if m in sys.modules:\n"
        "                mod = sys.modules[m]\n"
        "                names = dir(mod) + dir(getattr(mod, 'Context', None)) + dir(getattr(mod, 'Wifi', None))\n"
        "                print('names:', m, ' '.join(names))\n")
    out = sim(tmp_path, "--ticks", "15")
    assert out.returncode == 0, out.stderr
    [line] = [line for line in out.stdout.splitlines() if line.startswith("modules:")]
    loaded = set(line.split()[1:])
    held = {line.split()[1] for line in out.stdout.splitlines() if line.startswith("held:")}
    assert {"runtime.heartbeat", "runtime.log", "app"} <= loaded and "runtime.log" in held
    # The heartbeat's boot half too (runtime/launch, runtime/net_boot): the Wi-Fi connect, app.setup.
    # The over-the-air check (runtime/ota_tick) loads only with config ota_url: not set here.
    dropped = {"runtime.startup", "runtime.config", "runtime.jsonscan", "runtime.safety", "runtime.launch",
               "runtime.net_boot", "runtime.ota_tick"}
    assert not loaded & dropped and not held & dropped
    names = {line.split()[1]: set(line.split()[2:]) for line in out.stdout.splitlines() if line.startswith("names:")}
    assert "run_tick" in names["runtime.heartbeat"]  # the listing works
    boot_only = set().union(*names.values()) & {"connect", "start", "_ASYNC"}
    assert not boot_only, f"boot-only code left resident: {boot_only}"
    assert "asyncio" not in loaded, "a plain app must not pay for asyncio"


def test_safe_mode_flag_keeps_the_app_off(tmp_path):
    (tmp_path / "SAFE_MODE").write_text("")
    out = sim(tmp_path, "--ticks", "5")
    assert out.returncode == 1, out.stderr  # a run whose app does not run fails, saying why
    assert "error: the firmware returned to the REPL (safe mode: " in out.stderr
    assert "safe mode" in out.stdout and "returned to the REPL" in out.stdout


def test_app_crash_loop_ends_in_safe_mode(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"wifi_ssid": "home"}))
    # A foo.py beside foo.mpy wins on MicroPython: this broken app replaces the built one.
    (tmp_path / "app.py").write_text("def setup(ctx):\n    raise RuntimeError('broken setup')\n")
    out = sim(tmp_path, "--ticks", "50")
    assert out.returncode == 1, out.stderr
    assert "safe mode: the app crashed in 3 boots in a row" in out.stderr
    assert out.stdout.count("RuntimeError: broken setup") == 3
    assert "safe mode: the app crashed in 3 boots in a row" in out.stdout
    assert "returned to the REPL" in out.stdout


def test_log_file_stays_bounded(tmp_path):
    project = json.loads((ROOT / "tools" / "project.json").read_text())
    if not project["log_file"]:
        pytest.skip("this project logs to the console only")
    (tmp_path / "config.json").write_text(json.dumps({"wifi_ssid": "home", "log_level": "DEBUG"}))
    (tmp_path / "app.py").write_text(
        "def setup(ctx):\n    pass\n\ndef loop(ctx):\n    ctx.log.info('tick %d: %s', ctx.tick, 'x' * 60)\n")
    out = sim(tmp_path, "--ticks", "400")
    assert out.returncode == 0, out.stderr
    logs = list(tmp_path.glob("log.txt*"))
    assert len(logs) == project["log_backups"] + 1
    assert all(p.stat().st_size <= project["log_max_bytes"] for p in logs)
