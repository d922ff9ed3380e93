"""`python -m tools check` passes on this project, and build refuses a project that fails it."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tools(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "tools", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_the_project_passes_every_check():
    out = tools("check", "--format", "json")
    assert out.returncode == 0, out.stdout + out.stderr
    assert [f for f in json.loads(out.stdout) if f["level"] == "error"] == []


def test_build_refuses_a_failing_project(tmp_path):
    copy = tmp_path / "project"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("build", ".sim", ".git", "__pycache__", ".venv"))
    with open(copy / "device" / "boot.py", "a") as f:
        f.write("import sys\nsys.exit()\n")
    out = tools("build", cwd=copy)
    assert out.returncode == 1
    assert "device/boot.py" in out.stderr and "[boot-exit]" in out.stderr
    assert not (copy / "build").exists()
