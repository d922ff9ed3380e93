"""User journey: render a project, then use it the way a user would."""
import subprocess
import sys

import pytest

from conftest import CATALOGUE, stubs_env

MATRIX = [
    {"boards": [b], "wifi": CATALOGUE[b]["wifi"]} for b in sorted(CATALOGUE)
] + [
    {"boards": ["esp8266", "rp2_pico_w", "pyboard"], "wifi": True, "wifi_country": "DE"},
    {"boards": ["esp32"], "log_to_file": False, "watchdog": False, "log_level": "DEBUG"},
    {"boards": ["rp2_pico"], "wifi": False, "loop_interval_ms": 50, "log_max_bytes": 2048, "log_backups": 0,
     "editor": "none", "ci": "none"},
    {"boards": ["rp2_pico", "rp2_pico_w"], "wifi": True},
]


@pytest.mark.parametrize("answers", MATRIX, ids=lambda a: "+".join(a["boards"]) + ("-" + "-".join(
    k for k in a if k not in ("boards", "wifi")) if len(a) > 2 else ""))
def test_generated_project_passes_its_own_tests(copie, answers):
    result = copie.copy(extra_answers=answers)
    assert result.exit_code == 0, result.exception
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                         cwd=result.project_dir, capture_output=True, text=True, timeout=900,
                         env=stubs_env(result.project_dir))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert " passed" in out.stdout
    assert "test_quality.py" not in out.stdout.split("short test summary")[-1], out.stdout[-3000:]


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
