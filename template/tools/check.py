"""`python -m tools check`: the validators (tools/checks.py) on this project, one line per finding.

A passing result is remembered in build/.check.json with a fingerprint of what the checks read
(the contents of every file of the project tree and of device/, and the list of files git tracks).
While the fingerprint holds, `check`, `build` and `deploy` print the remembered result instead
of running the checks again: a redeploy with no change spends no time on them.
"""
import hashlib
import json
import subprocess
import sys
from pathlib import Path

from . import checks
from .project import BOARDS, BUILD, FACTS, PROJECT, ROOT, mpy_cross

CACHE = BUILD / ".check.json"
HELP = "run the validators on device/"


def add_arguments(p):
    p.add_argument("--board", choices=BOARDS, help="check for this board only (default: every board)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="json: for other tools")


def run(args):
    return 0 if check(args.board, args.format) else 1


def log_budget():
    # The logs' bound on flash: log_max_bytes x (log_backups + 1) when logging to a file.
    if not PROJECT["log_file"]:
        return 0
    return PROJECT["log_max_bytes"] * (PROJECT["log_backups"] + 1)


def fingerprint(boards):
    """A digest of everything the checks read; any edit, new file or `git add` changes it."""
    h = hashlib.sha256(json.dumps([list(boards), log_budget()]).encode())
    try:  # the files git tracks (the config-tracked and secret checks read them)
        h.update(subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True).stdout)
    except OSError:
        pass  # no git: the checks look at .gitignore instead, which is in the tree
    project = checks.Project(ROOT, boards, FACTS)
    paths = sorted({*project.tree(), *(p for p in project.device.rglob("*") if p.is_file())})
    for path in [Path(mpy_cross()), Path(checks.__file__), *paths]:
        try:
            data = path.read_bytes()
        except OSError:  # unreadable, or a dangling link (an editor's lock file): the checks skip it too
            data = b"?"
        h.update(f"{path}\0{len(data)}\0".encode() + hashlib.sha256(data).digest())
    return h.hexdigest()


def _remembered(key):
    try:
        cache = json.loads(CACHE.read_text())
        if cache["fingerprint"] == key:
            return [checks.Finding(**f) for f in cache["findings"]]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no cache, or one from another version: run the checks
    return None


def findings(board=None):
    boards = [board] if board else BOARDS
    key = fingerprint(boards)
    found = _remembered(key)
    if found is None:
        found = checks.run(ROOT, boards, FACTS, log_budget(), mpy_cross())
        if not any(f.level == checks.ERROR for f in found):  # only a pass is remembered
            BUILD.mkdir(exist_ok=True)
            CACHE.write_text(json.dumps({"fingerprint": key, "findings": [f.as_dict() for f in found]}))
    return found


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
