"""`python -m tools check` passes on this project, and build refuses a project that fails it."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import board_independent

ROOT = Path(__file__).resolve().parents[2]


def tools(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "tools", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_the_project_passes_every_check():
    out = tools("check", "--format", "json")
    assert out.returncode == 0, out.stdout + out.stderr
    assert [f for f in json.loads(out.stdout) if f["level"] == "error"] == []


@board_independent  # the tools' behaviour on a copy of the project
def test_build_refuses_a_failing_project(tmp_path):
    copy = copy_project(tmp_path)
    with open(copy / "device" / "boot.py", "a") as f:
        f.write("import sys\nsys.exit()\n")
    out = tools("build", cwd=copy)
    assert out.returncode == 1
    assert "device/boot.py" in out.stderr and "[boot-exit]" in out.stderr
    assert not (copy / "build").exists()


def copy_project(tmp_path):
    copy = tmp_path / "project"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("build", ".sim", ".git", "__pycache__", ".venv"))
    return copy


@board_independent  # the tools' behaviour on a copy of the project
def test_a_pass_is_remembered_until_a_file_changes(tmp_path):
    copy = copy_project(tmp_path)
    assert tools("check", cwd=copy).returncode == 0
    cache = copy / "build" / ".check.json"
    remembered = json.loads(cache.read_text())
    # The remembered result is what a second run prints: make it recognisable, and it shows up.
    remembered["findings"] = [{"level": "warning", "code": "remembered", "path": "device", "line": 0,
                               "what": "from the cache", "why": "nothing changed", "fix": "none"}]
    cache.write_text(json.dumps(remembered))
    again = tools("check", cwd=copy)
    assert again.returncode == 0 and "[remembered]" in again.stderr
    # Any edit anywhere the checks read (here a doc) runs them again, and a new problem is found.
    (copy / "docs" / "notes.md").write_text('wifi_password = "hunter22"\n')
    fresh = tools("check", cwd=copy)
    assert fresh.returncode == 1 and "[remembered]" not in fresh.stderr
    assert "docs/notes.md:1: error [secret]" in fresh.stderr


@board_independent  # the tools' behaviour on a copy of the project
def test_a_failing_check_is_never_remembered(tmp_path):
    copy = copy_project(tmp_path)
    with open(copy / "device" / "boot.py", "a") as f:
        f.write("import sys\nsys.exit()\n")
    assert tools("check", cwd=copy).returncode == 1
    assert not (copy / "build" / ".check.json").exists()


@board_independent  # the tools' behaviour on a copy of the project
def test_build_compiles_only_what_changed_and_drops_what_is_gone(tmp_path):
    copy = copy_project(tmp_path)
    assert tools("build", cwd=copy).returncode == 0
    board = json.loads((copy / "tools" / "project.json").read_text())["boards"][0]
    out = copy / "build" / board
    before = {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    (copy / "device" / "extra.py").write_text("VALUE = 1\n")
    with open(copy / "device" / "app.py", "a") as f:
        f.write("\nEDITED = True\n")
    assert tools("build", cwd=copy).returncode == 0
    after = {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    changed = {p for p in after if before.get(p) != after[p]}
    assert changed == {"app.mpy", "extra.mpy"}
    (copy / "device" / "extra.py").unlink()
    assert tools("build", cwd=copy).returncode == 0
    assert not (out / "extra.mpy").exists()
    assert {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} == set(before)
