"""`python -m tools check`: the validators (tools/checks.py) on this project, one line per finding."""
import json
import sys

from . import checks
from .project import BOARDS, FACTS, PROJECT, ROOT, mpy_cross


def log_budget():
    # The logs' bound on flash: log_max_bytes x (log_backups + 1) when logging to a file.
    if not PROJECT["log_file"]:
        return 0
    return PROJECT["log_max_bytes"] * (PROJECT["log_backups"] + 1)


def findings(board=None):
    return checks.run(ROOT, [board] if board else BOARDS, FACTS, log_budget(), mpy_cross())


def check(board=None, fmt="text", out=sys.stderr):
    """Print the findings; True when there is no error (warnings alone pass)."""
    found = findings(board)
    if fmt == "json":
        print(json.dumps([f.as_dict() for f in found], indent=2))
    else:
        for f in found:
            print(f.text(), file=out)
    errors = sum(f.level == checks.ERROR for f in found)
    if fmt == "text" and not errors:
        warnings = len(found) - errors
        print(f"check: ok ({warnings} warning{'s' * (warnings != 1)})", file=sys.stdout)
    return not errors
