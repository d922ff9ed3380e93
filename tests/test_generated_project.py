"""User journey: render a project, then use it the way a user would."""
import json
import subprocess
import sys

import pytest

from conftest import CATALOGUE, stubs_env
from test_your_app import ANSWERS as FOREIGN

# The renderings whose code differs run the project's whole suite: a representative per port,
# Wi-Fi and not, several boards, the options that change the firmware (FULL). The rp2 board
# with Wi-Fi runs it in test_your_app.py (FOREIGN: the same answers, with a foreign app); the
# esp8266 is the primary board of the several-board rendering. The others only change board
# facts (pins, heap, limits): each is rendered, checked, built for every board and run for a
# few ticks on the virtual board (LIGHT); test_template.py compiles each board's drivers with
# its own -march.
FULL = [
    {"boards": ["esp32"], "wifi": True},
    {"boards": ["rp2_pico"], "wifi": False},
    {"boards": ["pyboard"], "wifi": False},
    {"boards": ["esp8266", "rp2_pico_w", "pyboard"], "wifi": True, "wifi_country": "DE"},
    {"boards": ["esp32"], "log_to_file": False, "watchdog": False, "log_level": "DEBUG"},
]
LIGHT = [
    {"boards": [b], "wifi": CATALOGUE[b]["wifi"]} for b in sorted(CATALOGUE)
    if not any(a["boards"] == [b] and len(a) == 2 for a in FULL + [FOREIGN])
] + [
    {"boards": ["rp2_pico"], "wifi": False, "loop_interval_ms": 50, "log_max_bytes": 2048, "log_backups": 0,
     "editor": "none", "ci": "none"},
    {"boards": ["rp2_pico", "rp2_pico_w"], "wifi": True},
]


def name(answers):
    return "+".join(answers["boards"]) + ("-" + "-".join(
        k for k in answers if k not in ("boards", "wifi")) if len(answers) > 2 else "")


def test_every_board_has_a_rendering():
    assert {b for a in FULL + [FOREIGN] + LIGHT for b in a["boards"]} == set(CATALOGUE)


def test_the_whole_suite_runs_on_every_port_with_wifi_and_without():
    whole = FULL + [FOREIGN]
    primaries = [CATALOGUE[a["boards"][0]] for a in whole]
    assert {b["port"] for b in primaries} == {b["port"] for b in CATALOGUE.values()}
    assert {a.get("wifi", True) and b["wifi"] for a, b in zip(whole, primaries)} == {True, False}
    assert any(len(a["boards"]) > 1 for a in whole)


@pytest.mark.slow
@pytest.mark.parametrize("answers", FULL, ids=name)
def test_generated_project_passes_its_own_tests(copie, answers):
    result = copie.copy(extra_answers=answers)
    assert result.exit_code == 0, result.exception
    env = stubs_env(result.project_dir)
    if answers is FULL[0]:
        # The board-independent tests (deploy faults, deps) run here only, beside a config.json of
        # the user's in the project root, which no test may send to a board or read.
        (result.project_dir / "config.json").write_text('{"wifi_ssid": "users-own", "wifi_password": "secret"}\n')
    else:
        env["BOARD_INDEPENDENT_ELSEWHERE"] = "1"
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                         cwd=result.project_dir, capture_output=True, text=True, timeout=900, env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert " passed" in out.stdout
    assert "test_quality.py" not in out.stdout.split("short test summary")[-1], out.stdout[-3000:]


@pytest.mark.parametrize("answers", LIGHT, ids=name)
def test_generated_project_checks_builds_and_runs(copie, answers, tmp_path):
    result = copie.copy(extra_answers=answers)
    assert result.exit_code == 0, result.exception
    project = result.project_dir

    def tools(*args):
        out = subprocess.run([sys.executable, "-m", "tools", *args], cwd=project, capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, f"tools {' '.join(args)}: {out.stdout[-2000:]}{out.stderr[-2000:]}"
        return out.stdout

    assert "check: ok" in tools("check")
    for board in answers["boards"]:
        tools("build", "--board", board)
        assert (project / "build" / board / "main.py").is_file() and (project / "build" / board / "app.mpy").is_file()
    wifi = answers["wifi"] and CATALOGUE[answers["boards"][0]]["wifi"]
    (tmp_path / "config.json").write_text(json.dumps({"wifi_ssid": "home"} if wifi else {}))
    out = tools("sim", "--flash", str(tmp_path), "--ticks", "12")
    assert "app: tick 10" in out and "sim: 12 ticks done" in out and "setup mode" not in out


def test_defaults_project_sim_runs_twenty_ticks(copie):
    result = copie.copy()
    assert result.exit_code == 0, result.exception
    out = subprocess.run([sys.executable, "-m", "tools", "sim", "--ticks", "20"],
                         cwd=result.project_dir, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "sim: 20 ticks done" in out.stdout
    build = result.project_dir / "build" / "esp32"
    assert (build / "boot.py").is_file() and (build / "main.py").is_file()
    assert (build / "app.mpy").is_file() and not (build / "app.py").exists()
