"""`python -m tools typecheck`: the type checker (basedpyright) on device/, with MicroPython's stubs.

The stubs package pinned in requirements-dev.txt (of the board tools/project.json names as
"stubs_board": the primary board, or the first Wi-Fi board when the primary has no radio but
the project has Wi-Fi) puts `machine.pyi`, `time.pyi` ...
into site-packages, where a type checker would still prefer CPython's own `time` and `sys`.
So the stubs of that package and of micropython-stdlib-stubs are copied into `.typings/`
(ignored by git), which pyrightconfig.json names as the typeshed path and an import path: the
command line, pre-commit, CI and the editor then all see MicroPython's `time.ticks_ms`,
`sys.print_exception`, `machine`, `network` and `micropython.const`.

Paths you leave out in tools.toml (`extend-exclude`, yours: third-party or generated code) are
added to pyrightconfig.json's (the template's) `exclude` and `ignore` in a copy the checker runs
with, .typecheck.json (ignored by git): it must sit in the project root, where the paths start.
"""
import importlib.metadata
import json
import shutil
import subprocess

from . import checks
from .project import FACTS, PROJECT, ROOT, Failure, find

TYPINGS = ROOT / ".typings"
EFFECTIVE = ROOT / ".typecheck.json"
STAMP = TYPINGS / "STUBS"
STDLIB_STUBS = "micropython-stdlib-stubs"
HELP = "type-check device/ against the MicroPython stubs in requirements-dev.txt"


def add_arguments(p):
    pass


def run(args):
    return 0 if typecheck(stubs_board()) else 1


def _installed(spec):
    """The installed distribution of a pinned requirement `name==version`, or Failure."""
    name, _, version = spec.partition("==")
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        raise Failure(f"{name} is not installed: run `python -m pip install -r requirements-dev.txt`") from None
    if version and dist.version != version:
        raise Failure(f"{name} {dist.version} is installed, this project pins {version}: "
                      "run `python -m pip install -r requirements-dev.txt`")
    return dist


def prepare(board):
    """Fill .typings/ with the stubs of `board` (and MicroPython's stdlib stubs); return its path."""
    spec = FACTS[board]["stubs"]
    stdlib = _installed(STDLIB_STUBS)
    want = f"{spec}\n{STDLIB_STUBS}=={stdlib.version}\n"
    if STAMP.is_file() and STAMP.read_text() == want:
        return TYPINGS
    shutil.rmtree(TYPINGS, ignore_errors=True)
    for dist in (_installed(spec), stdlib):
        for f in dist.files or ():
            if f.suffix == ".pyi" or f.name == "VERSIONS":
                dst = TYPINGS / f
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(dist.locate_file(f), dst)
    STAMP.write_text(want)
    return TYPINGS


def stubs_board():
    """The board whose stubs requirements-dev.txt pins (copier.yml works it out; see the README)."""
    return PROJECT["stubs_board"]


def typecheck(board):
    """Run basedpyright on device/ against `board`'s stubs; True when it reports no error.

    pyrightconfig.json checks the drivers of that board's port and drivers/linux (against
    the virtual board's fakes in tools/vm) fully; the drivers of other ports are checked against
    the same stubs with their port-only modules (rp2, pyb, esp32 ...) left unresolved.
    """
    prepare(board)
    out = subprocess.run([find("basedpyright"), "--project", str(config_file())], cwd=ROOT)
    return out.returncode == 0


def config_file():
    """pyrightconfig.json, or its copy with the paths tools.toml leaves out."""
    template = ROOT / "pyrightconfig.json"
    mine = checks.user_exclusions(ROOT)
    if not mine:
        EFFECTIVE.unlink(missing_ok=True)
        return template
    try:
        conf = json.loads(template.read_text())
    except (OSError, ValueError) as e:
        raise Failure(f"pyrightconfig.json cannot be read ({e}): restore it with `copier update`") from None
    conf["exclude"] = conf.get("exclude", []) + mine
    conf["ignore"] = conf.get("ignore", []) + mine  # no report either where device code imports them
    EFFECTIVE.write_text(json.dumps(conf, indent=2) + "\n")
    return EFFECTIVE

