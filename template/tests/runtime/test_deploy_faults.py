"""Nothing a deploy meets bricks the board: a watchdog the app started, a host killed at any
moment, a full flash, a port that is no serial port.

Two boards: a fake one in this process (it runs the deploy's board-side code in CPython on a
folder, with a virtual serial clock and a chip-like watchdog), to interrupt a deploy after every
single exec, and the virtual board (`sim --serve`) for a deploy process killed with SIGKILL at
seeded random moments. These tests do not depend on the board: they run in every project with a
watchdog, and in one rendering of the template's own matrix.
"""
import builtins
import contextlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest
from conftest import board_independent, require_micropython

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tools import deploy  # noqa: E402
from tools.project import BOARDS, FACTS, PROJECT, Failure, find  # noqa: E402

# Board-independent and long: the template's own test matrix runs them in one rendering only
# (it sets BOARD_INDEPENDENT_ELSEWHERE=1 for the others); a project runs them always.
pytestmark = [
    pytest.mark.skipif(os.environ.get("BOARD_INDEPENDENT_ELSEWHERE") == "1",
                       reason="board-independent: the template's matrix runs it in one rendering"),
    pytest.mark.skipif(not PROJECT["watchdog"], reason="this project has no watchdog to keep fed"),
]
BOARD = BOARDS[0]
SEED = int(os.environ.get("DEPLOY_FAULT_SEED", "20261201"))
KILLS = 50


class Reset(Exception):
    """The fake chip reset (its watchdog fired): the connection is gone."""


class Killed(BaseException):
    """The host process died here: nothing after this line of the deploy runs."""


class FakeChip:
    """A board as the deploy sees it through the raw REPL, run in CPython on a folder.

    Time is virtual: sending an exec costs its bytes at 115200 baud (11.52 bytes per ms) plus a
    turnaround, a soft reset the time of boot.py. The watchdog behaves like rp2's and esp32's
    machine.WDT: started by the app, it keeps running through Ctrl-C and soft reset; creating
    it again re-arms it with the new timeout; feed() restarts the count; once past the timeout
    the chip resets."""

    BYTES_PER_MS = 11.52
    TURNAROUND_MS = 3
    BOOT_MS = 300

    def __init__(self, flash, wdt_ms=None):
        self.flash = flash
        self.now = 0.0
        self.wdt_ms, self.fed = wdt_ms, 0.0
        self.events = []  # ("exec", code), ("feed",), ("soft reset",), ("reset",)
        self.globals = {}
        self.kill_at = None  # kill the host before this exec number
        self.execs = 0
        self.free_blocks = None  # what os.statvfs says is free (None: the host's disk)
        self.reset_after_renames = None  # the chip resets (power, brown-out) after so many renames

    # The watchdog.
    def check(self):
        if self.wdt_ms is not None and self.now - self.fed > self.wdt_ms:
            self.events.append(("watchdog reset",))
            raise Reset(f"watchdog reset after {self.now - self.fed:.0f} ms without a feed")

    def machine(self):
        chip = self

        class WDT:
            def __init__(self, id=0, timeout=5000):
                if FACTS[BOARD]["wdt_fixed"]:  # the ESP8266's: WDT() takes no timeout, it is fixed
                    timeout = FACTS[BOARD]["wdt_max_ms"]
                elif FACTS[BOARD]["wdt_max_ms"] and timeout > FACTS[BOARD]["wdt_max_ms"]:
                    raise ValueError(f"timeout exceeds {FACTS[BOARD]['wdt_max_ms']}")
                chip.check()
                chip.wdt_ms, chip.fed = timeout, chip.now

            def feed(self):
                chip.check()
                chip.fed = chip.now
                chip.events.append(("feed",))

        return types.SimpleNamespace(WDT=WDT)

    def os(self):
        def ilistdir(d="."):
            for e in os.scandir(d):
                yield (e.name, 0x4000 if e.is_dir() else 0x8000, 0, -1 if e.is_dir() else e.stat().st_size)
        shim = types.ModuleType("os")
        for name in ("stat", "remove", "rename", "mkdir", "rmdir", "statvfs"):
            setattr(shim, name, getattr(os, name, None))
        shim.ilistdir = ilistdir

        def rename(src, dst):
            if self.reset_after_renames is not None:
                if self.reset_after_renames == 0:
                    self.events.append(("power reset",))
                    raise Reset("power lost during a rename")
                self.reset_after_renames -= 1
            os.rename(src, dst)
        shim.rename = rename
        if self.free_blocks is not None:
            shim.statvfs = lambda p: (4096, 4096, 1000, self.free_blocks, self.free_blocks, 0, 0, 0, 0, 255)
        return shim

    def run(self, code):
        """Run code as the board's raw REPL would; returns its output, raises on an exception."""
        self.execs += 1
        if self.kill_at is not None and self.execs >= self.kill_at:
            raise Killed
        self.now += len(code) / self.BYTES_PER_MS + self.TURNAROUND_MS
        self.events.append(("exec", code))
        real_import = builtins.__import__
        mods = {"os": self.os(), "machine": self.machine(),
                "sys": types.SimpleNamespace(platform="linux", implementation=types.SimpleNamespace())}

        def board_import(name, *args, **kwargs):
            return mods[name] if name in mods else real_import(name, *args, **kwargs)

        self.globals.setdefault("__builtins__", dict(vars(builtins), __import__=board_import))
        out = io.StringIO()
        cwd = os.getcwd()
        os.chdir(self.flash)
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(code, "<stdin>", "exec"), self.globals)
        except (Reset, Killed):
            raise
        except Exception as e:
            raise Failure(f"on the board: {type(e).__name__}: {e}") from None
        finally:
            os.chdir(cwd)
        self.check()
        return out.getvalue()

    def soft_reset(self):
        self.globals = {}
        self.now += self.BOOT_MS
        self.events.append(("soft reset",))


class FakeBoard:
    """tools.device.Board on a FakeChip (also mpremote's file operations, for older deploys)."""

    def __init__(self, chip, port="fake", timeout=10, feed=""):
        from mpremote.transport import Transport, TransportExecError

        self.chip, self.feed, self.name = chip, feed, "fake"
        board = self

        class Wire(Transport):
            in_raw_repl = True

            def exec(self, code, data_consumer=None):
                try:
                    return board.chip.run(code).encode()
                except Failure as e:
                    raise TransportExecError(b"", str(e)) from None

        self.transport = Wire()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def raw_repl(self, soft_reset=True):
        self.chip.now += 50  # Ctrl-C, Ctrl-A
        if soft_reset:
            self.chip.soft_reset()

    def exec(self, code):
        try:
            return self.chip.run(self.feed + code)
        except Reset as e:
            raise Failure(f"lost the board on fake: {e}") from None

    def io(self, what, *args):
        try:
            return getattr(self.transport, what)(*args)
        except Reset as e:
            raise Failure(f"lost the board on fake: {e}") from None

    def reset(self):
        self.chip.events.append(("reset",))
        self.chip.globals = {}


def build_dir(tmp_path, name, extra=None, big=48 * 1024):
    """A build: a boot.py and main.py that import every module, the modules, a big data file."""
    d = tmp_path / name
    files = {"boot.py": "import lib_a\n", "main.py": "import lib_a, app\n", "lib/lib_a.py": f"V = {name!r}\n",
             "app.py": f"NAME = {name!r}\n" + "# padding\n" * 40}
    files.update(extra or {})
    for p, text in files.items():
        (d / p).parent.mkdir(parents=True, exist_ok=True)
        (d / p).write_text(text)
    (d / "lib" / "data.bin").write_bytes(random.Random(name).randbytes(big))
    return d


@pytest.fixture
def fake(tmp_path, monkeypatch):
    flash = tmp_path / "flash"
    flash.mkdir()
    here = tmp_path / "project"
    here.mkdir()
    shutil.copyfile(ROOT / "config.example.json", here / "config.example.json")
    monkeypatch.setattr(deploy, "ROOT", here)  # no config.json of yours travels
    chip = FakeChip(flash)
    monkeypatch.setattr(deploy, "Board", lambda port="auto", **kw: FakeBoard(chip, port, **kw))
    return chip


def on_flash(flash):
    return {p.relative_to(flash).as_posix(): p.read_bytes() for p in flash.rglob("*") if p.is_file()}


def build_of(d):
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in d.rglob("*") if p.is_file()}


def test_a_running_watchdog_is_fed_through_the_whole_deploy(fake, tmp_path):
    first, second = build_dir(tmp_path, "first"), build_dir(tmp_path, "second", big=128 * 1024)
    deploy.deploy(BOARD, first, "fake", say=lambda s: None)
    timeout = min(json.loads((ROOT / "config.example.json").read_text())["watchdog_ms"],
                  FACTS[BOARD]["wdt_max_ms"] or 10**9)
    # The app started the watchdog; the deploy stops the app, soft-resets (the watchdog runs
    # on) and sends about 180 KB over the serial line: far longer than the timeout.
    fake.wdt_ms, fake.fed, fake.events = timeout, fake.now, []
    started = fake.now
    deploy.deploy(BOARD, second, "fake", say=lambda s: None)
    assert fake.now - started > 2 * timeout, "the transfer is too short to prove anything"
    assert ("watchdog reset",) not in fake.events
    assert on_flash(fake.flash)["lib/data.bin"] == (second / "lib" / "data.bin").read_bytes()
    # Every exec feeds before it does anything else, also the first after the soft reset.
    execs = [i for i, e in enumerate(fake.events) if e[0] == "exec"]
    assert execs and all(fake.events[i + 1] == ("feed",) for i in execs), \
        [e[0] for e in fake.events][:20]
    after_reset = fake.events.index(("soft reset",))
    assert fake.events[after_reset + 1][0] == "exec" and fake.events[after_reset + 2] == ("feed",)
    # No exec outlasts the watchdog (at 115200 baud), not even with the feed in front.
    longest = max(len(e[1]) for e in fake.events if e[0] == "exec") / FakeChip.BYTES_PER_MS
    assert longest < timeout / 4, f"an exec takes {longest:.0f} ms on the wire"


@board_independent
def test_a_cable_deploy_ends_an_over_the_air_versions_probation(fake, tmp_path):
    # An update over the air (runtime/ota_switch) left its version on probation with the way
    # back in .ota/old; a deploy over the cable replaces it: a roll-back at the next boots must
    # not put the old files over this build. The history (release number, bad ones) stays.
    ota = fake.flash / ".ota"
    (ota / "old" / "lib").mkdir(parents=True)
    (ota / "old" / "lib" / "lib_a.py").write_text("V = 'from before the update'\n")
    (ota / "state.json").write_text(json.dumps({"version": "2.0", "serial": 5, "bad": [4], "trial": 1,
                                                "last": {"version": "2.0", "from": "1.0"}}))
    first = build_dir(tmp_path, "first")
    deploy.deploy(BOARD, first, "fake", say=lambda s: None)
    state = json.loads((ota / "state.json").read_text())
    assert not {"trial", "last", "version"} & set(state), state  # the board now runs "the deployed build"
    assert state["serial"] == 5 and state["bad"] == [4] and state["event"] == "replaced by a cable deploy"
    assert not (ota / "old").exists()
    assert on_flash(fake.flash)["lib/lib_a.py"] == (first / "lib" / "lib_a.py").read_bytes()


@board_independent
def test_a_cable_deploy_counts_as_the_newest_release_made_here(fake, tmp_path):
    # Releases 1 to 7 were made here (dist/ota/, `release`), then the app changed and went over
    # the cable: the board must not "update" to release 7, which is older than this build.
    pointer = deploy.ROOT / "dist" / "ota" / BOARD / "latest.json"
    pointer.parent.mkdir(parents=True)
    pointer.write_text(json.dumps({"board": BOARD, "version": "1.6", "serial": 7}))
    deploy.deploy(BOARD, build_dir(tmp_path, "first"), "fake", say=lambda s: None)
    state = json.loads((fake.flash / ".ota" / "state.json").read_text())
    assert state["serial"] == 7 and state["event"] == "replaced by a cable deploy", state
    # A board with a newer release than this machine knows keeps its number.
    (fake.flash / ".ota" / "state.json").write_text(json.dumps({"version": "1.9", "serial": 9, "bad": []}))
    deploy.deploy(BOARD, build_dir(tmp_path, "second"), "fake", say=lambda s: None)
    assert json.loads((fake.flash / ".ota" / "state.json").read_text())["serial"] == 9


def test_the_feed_fits_the_port(monkeypatch):
    monkeypatch.setitem(PROJECT, "watchdog", True)
    monkeypatch.setitem(FACTS, BOARD, dict(FACTS[BOARD], wdt_max_ms=8388, wdt_fixed=False))
    monkeypatch.setattr(deploy, "watchdog_ms", lambda: 30000)
    assert "machine.WDT(timeout=8388).feed()" in deploy.feeder(BOARD)  # rp2: at most 8388 ms
    monkeypatch.setitem(FACTS, BOARD, dict(FACTS[BOARD], wdt_max_ms=None, wdt_fixed=True))
    assert "machine.WDT().feed()" in deploy.feeder(BOARD)  # esp8266: WDT() takes no timeout
    monkeypatch.setitem(PROJECT, "watchdog", False)
    assert "WDT" not in deploy.feeder(BOARD)
    # Guarded: a board without machine.WDT still runs the deploy's code.
    require_micropython()
    out = subprocess.run([find("micropython"), "-c", deploy.FEED % "timeout=100" + "_f()\nprint('fed')"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 0 and "fed" in out.stdout, out.stderr


def firmware(files, *builds):
    """The files of the board that are build files (of any of the builds)."""
    paths = {p for b in builds for p in b}
    return {p: d for p, d in files.items() if p in paths}


def phase_of(lines):
    """Where a deploy was when it stopped: the last progress line it printed."""
    if not lines:
        return "connect/survey"
    last = lines[-1]
    return ("write" if last.startswith("[") else "switch" if last.startswith("switching") else
            "clean" if last.startswith("removing") else "reset")


def test_a_deploy_killed_after_any_exec_leaves_a_bootable_board(fake, tmp_path):
    """The host dies before exec N, for every N of a deploy; then the board must hold one whole
    build, and the next deploy (of either build) completes and forgets nothing it wrote."""
    old = build_dir(tmp_path, "old")
    new = build_dir(tmp_path, "new", {"lib/qqmod.py": "Q = 1\n"}, big=6000)
    builds = {"old": build_of(old), "new": build_of(new)}
    deploy.deploy(BOARD, old, "fake", say=lambda s: None)
    fake.execs = 0
    deploy.deploy(BOARD, new, "fake", say=lambda s: None)
    total = fake.execs
    assert total >= 8, total
    deploy.deploy(BOARD, old, "fake", say=lambda s: None)
    phases = {}
    for n in range(1, total + 1):
        for again in ("old", "new"):
            fake.kill_at, fake.execs = n, 0
            lines = []
            with pytest.raises(Killed):
                deploy.deploy(BOARD, new, "fake", say=lines.append)
            phases[phase_of(lines)] = phases.get(phase_of(lines), 0) + 1
            fake.kill_at = None
            fake.soft_reset()  # the next connection finds the board as the kill left it
            left = firmware(on_flash(fake.flash), *builds.values())
            whole = [name for name, files in builds.items()
                     if all(left.get(p) == d for p, d in files.items())]
            assert whole, f"killed before exec {n}: neither build is whole on the board"
            assert all(any(b.get(p) == d for b in builds.values()) for p, d in left.items()), \
                f"killed before exec {n}: a file on the board is neither build's"
            deploy.deploy(BOARD, old if again == "old" else new, "fake", say=lambda s: None)
            after = on_flash(fake.flash)
            want = builds[again]
            assert firmware(after, *builds.values()) == want, f"killed before exec {n}, redeploy of {again}: " \
                f"left {sorted(set(firmware(after, *builds.values())) ^ set(want))}"
            assert json.loads(after[".deployed"]) == sorted(want)
            assert not [p for p in after if p.startswith((".staging", ".deploying")) or p.endswith(".tmp")]
            if again == "new":
                deploy.deploy(BOARD, old, "fake", say=lambda s: None)
    print(f"fake board: killed before each of {total} execs, twice; phases {phases}")


def test_a_board_reset_in_the_switch_is_finished_by_the_next_deploy(fake, tmp_path):
    """The board loses power after k renames of the switch, for every k; the next deploy, of
    either build, first finishes the switch, then does its own work."""
    old = build_dir(tmp_path, "old", big=3000)
    new = build_dir(tmp_path, "new", {"lib/qqmod.py": "Q = 1\n"}, big=6000)
    builds = {"old": build_of(old), "new": build_of(new)}
    # Renames: the union manifest's, the journal's, every file that changes, then .deployed.
    renames = 2 + sum(d != builds["old"].get(p) for p, d in builds["new"].items()) + 1
    in_switch = 0
    for k in range(renames):
        for then in ("old", "new"):
            deploy.deploy(BOARD, old, "fake", say=lambda s: None)
            fake.reset_after_renames = k
            with pytest.raises(Failure, match="lost the board"):
                deploy.deploy(BOARD, new, "fake", say=lambda s: None)
            fake.reset_after_renames = None
            fake.soft_reset()
            journal = (fake.flash / deploy.JOURNAL).exists()
            in_switch += journal
            lines = []
            deploy.deploy(BOARD, old if then == "old" else new, "fake", say=lines.append)
            assert lines[0].startswith("finishing the switch") == journal, lines
            after = on_flash(fake.flash)
            assert firmware(after, *builds.values()) == builds[then], f"power lost after {k} renames, then {then}"
            assert json.loads(after[".deployed"]) == sorted(builds[then])
            assert not [p for p in after if p.startswith((".staging", ".deploying")) or p.endswith(".tmp")]
    assert in_switch == 2 * (renames - 2), "the resets did not land in the switch"


def test_a_build_that_cannot_sit_beside_the_old_one_is_refused(fake, tmp_path):
    old = build_dir(tmp_path, "old", big=40000)
    deploy.deploy(BOARD, old, "fake", say=lambda s: None)
    new = build_dir(tmp_path, "new", big=40000)
    found = deploy.Survey("")
    found.files = {p: (len(d), deploy.sha(d)) for p, d in on_flash(fake.flash).items()}
    found.free = 12 * 4096  # the new data.bin alone replaces the old one, but both exist until the switch
    plan = deploy.Plan(deploy.local_files(new), found)
    with pytest.raises(Failure, match=r"need \d+ KiB .* 48 KiB free flash.*nothing was copied"):
        deploy.check_space(plan, found)
    before, fake.free_blocks = on_flash(fake.flash), 12
    with pytest.raises(Failure, match="nothing was copied"):
        deploy.deploy(BOARD, new, "fake", say=lambda s: None)
    assert on_flash(fake.flash) == before


def test_a_port_that_is_no_serial_port_is_named(tmp_path):
    from tools.device import Board

    regular = tmp_path / "file"
    regular.write_text("")
    for port, what in (("/dev/null", "no terminal"), (str(tmp_path), "a folder"), (str(regular), "a regular file")):
        with pytest.raises(Failure) as e:
            Board(port)
        assert f"{port} is not a serial port: it is" in str(e.value) and what in str(e.value), str(e.value)
        assert "busy" not in str(e.value)


# The virtual board: a deploy process killed with SIGKILL at seeded random moments.

class Served:
    def __init__(self, project, flash, *extra):
        self.lines = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tools", "sim", "--serve", "--blank", "--flash", str(flash), *extra],
            cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.ready.wait(30), f"sim --serve printed no port: {self.lines}"
        self.port = self.lines[0]

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            self.ready.set()
        self.ready.set()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(15)


@pytest.fixture(scope="module")
def served_project(tmp_path_factory):
    if os.name != "posix":
        pytest.skip("sim --serve needs a pty (Linux or macOS)")
    require_micropython()
    dst = tmp_path_factory.mktemp("project")
    for name in ("device", "tools"):
        shutil.copytree(ROOT / name, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("config.example.json", ".gitignore"):
        shutil.copyfile(ROOT / name, dst / name)
    out = subprocess.run([sys.executable, "-m", "tools", "build"], cwd=dst, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    builds = {}
    for name, extra in (("old", ""), ("new", "\nBIG = %r\n" % ("x" * 2500))):
        app = dst / "device" / "app.py"
        if name == "new":
            app.write_text(app.read_text() + extra)
            (dst / "device" / "lib" / "qqmod.py").write_text("Q = 1\n")
            assert subprocess.run([sys.executable, "-m", "tools", "build"], cwd=dst, capture_output=True,
                                  timeout=120).returncode == 0
        builds[name] = dst / "builds" / name
        shutil.copytree(dst / "build" / BOARD, builds[name])
    return dst, builds


def boots(flash, tmp, project):
    """Boot a copy of the flash on the virtual board for one tick, as it is (nothing installed
    from a build): the firmware must print its boot line."""
    copy = tmp / "boot"
    shutil.rmtree(copy, ignore_errors=True)
    for f in flash.rglob("*"):  # file by file: the running firmware may remove one (boot_count) meanwhile
        dst = copy / f.relative_to(flash)
        try:
            if f.is_dir():
                dst.mkdir(parents=True, exist_ok=True)
            else:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, dst)
        except FileNotFoundError:
            pass
    code = ("import argparse, sys; from tools import sim; p = argparse.ArgumentParser(); sim.add_arguments(p); "
            f"sys.exit(sim.boot(p.parse_args(['--board', {BOARD!r}, '--flash', {str(copy)!r}, '--ticks', '1']), None))")
    out = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=60)
    return out.returncode == 0 and f"boot: {PROJECT['project']} on" in out.stdout, out.stdout[-600:] + out.stderr[-600:]


def settle(flash, paths, quiet=0.3, within=10.0):
    """After a kill the board may still run the exec it got (the switch): wait until the files a
    deploy writes (`paths` of the builds, its journal, manifest and staging) have not changed for
    `quiet` seconds (a busy machine can hold the VM back a while). The firmware's own files (its
    log, its crash count) may change all along: a board without Wi-Fi runs its app meanwhile."""
    deadline = time.monotonic() + within
    last, since = None, time.monotonic()
    deploys = lambda p: (p.relative_to(flash).as_posix() in paths or p.name in (".deployed", ".deploying")  # noqa: E731
                         or ".staging" in p.relative_to(flash).parts)
    while time.monotonic() < deadline:
        try:
            now = {p: (s.st_size, s.st_mtime_ns) for p in flash.rglob("*") if deploys(p) and (s := p.stat())}
        except FileNotFoundError:  # removed while we looked
            now = None
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.05)
    raise AssertionError(f"the board's flash kept changing for {within} s after the kill")


def test_deploys_killed_at_random_moments_never_brick_the_board(served_project, tmp_path):
    project, builds = served_project
    files = {name: build_of(d) for name, d in builds.items()}
    flash = tmp_path / "flash"
    flash.mkdir()
    board = Served(project, flash)
    rng = random.Random(SEED)
    print(f"seed {SEED}, {KILLS} kills (DEPLOY_FAULT_SEED=... to replay another)")
    phases = {}
    code = ("import sys; sys.path.insert(0, %r); from pathlib import Path; from tools import deploy; "
            "deploy.deploy(%r, Path(sys.argv[1]), %r, say=lambda s: print(s, flush=True))")
    try:
        took = {}
        for name in ("old", "new", "old"):
            t0 = time.monotonic()
            assert subprocess.run([sys.executable, "-c", code % (str(project), BOARD, board.port), builds[name]],
                                  cwd=project, capture_output=True, timeout=60).returncode == 0
            took[name] = time.monotonic() - t0  # the deploy of a change, from the start of its process
        current = "old"
        for i in range(KILLS):
            target = "new" if current == "old" else "old"
            # Most kills land just after the line that starts a write or the switch, the rest
            # anywhere in the deploy's time (mostly starting, connecting, surveying).
            writes = 1 + sum(files[target].get(p) != files[current].get(p) for p in files[target])
            if rng.random() < 0.7:
                after_line, delay = rng.randrange(1, writes + 2), rng.uniform(0, 0.01)
            else:
                after_line, delay = 0, rng.uniform(0, took[target])
            proc = subprocess.Popen([sys.executable, "-u", "-c", code % (str(project), BOARD, board.port),
                                     builds[target]], cwd=project, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True)
            seen = []
            while len(seen) < after_line:
                line = proc.stdout.readline()
                if not line:
                    break
                seen.append(line.strip())
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            rest = proc.communicate()[0].splitlines()
            seen += [line.strip() for line in rest]
            phase = "done" if proc.returncode == 0 else phase_of(seen)
            phases[phase] = phases.get(phase, 0) + 1
            settle(flash, {p for f in files.values() for p in f})
            left = firmware(on_flash(flash), *files.values())
            whole = [name for name, f in files.items() if all(left.get(p) == d for p, d in f.items())]
            assert whole, f"seed {SEED}, kill {i} ({phase}): neither build is whole on the board"
            assert all(any(f.get(p) == d for f in files.values()) for p, d in left.items()), \
                f"seed {SEED}, kill {i} ({phase}): a truncated or foreign firmware file"
            ok, said = boots(flash, tmp_path, project)
            assert ok, f"seed {SEED}, kill {i} ({phase}): the board does not boot:\n{said}"
            again = rng.choice(("old", "new"))
            out = subprocess.run([sys.executable, "-c", code % (str(project), BOARD, board.port), builds[again]],
                                 cwd=project, capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, f"seed {SEED}, kill {i} ({phase}): the redeploy failed: {out.stderr[-400:]}"
            after = on_flash(flash)
            got = firmware(after, *files.values())
            assert got == files[again], f"seed {SEED}, kill {i} ({phase}): after the redeploy " \
                f"the board differs from the build: {sorted(set(got) ^ set(files[again]))}"
            assert json.loads(after[".deployed"]) == sorted(files[again])
            current = again
    finally:
        board.stop()
    print(f"seed {SEED}: {KILLS} kills by phase: {phases}")
    assert sum(phases.values()) == KILLS


def test_a_full_flash_keeps_the_previous_firmware(served_project, tmp_path):
    project, builds = served_project
    files = {name: build_of(d) for name, d in builds.items()}
    flash = tmp_path / "flash"
    flash.mkdir()
    # Room for the old build (a 4 KiB block a file, two a folder, .staging/'s too, with margin),
    # not for a new one with a blob.
    folders = {str(Path(p).parent) for p in files["old"]} - {"."}
    size = 4096 * (len(files["old"]) + 4 * len(folders) + 12)
    huge = tmp_path / "huge"
    shutil.copytree(builds["new"], huge)
    (huge / "lib" / "blob.bin").write_bytes(random.Random(SEED).randbytes(size + 4096))
    board = Served(project, flash, "--flash-size", str(size))
    try:
        sys_code = ("import sys; sys.path.insert(0, %r); from pathlib import Path; from tools import deploy; "
                    "deploy.deploy(%r, Path(sys.argv[1]), %r)")
        run = lambda b: subprocess.run([sys.executable, "-c", sys_code % (str(project), BOARD, board.port), b],  # noqa: E731
                                       cwd=project, capture_output=True, text=True, timeout=60)
        first = run(builds["old"])
        assert first.returncode == 0, first.stderr
        out = run(huge)
        assert out.returncode == 1
        error = out.stderr.strip().splitlines()[-1]
        assert "ENOSPC" in error or "nothing was copied" in error, out.stderr
        assert "previous firmware" in error or "nothing was copied" in error
    finally:
        board.stop()
    assert firmware(on_flash(flash), *files.values()) == files["old"]
    assert not (flash / ".staging").exists() and not (flash / ".deploying").exists()
    ok, said = boots(flash, tmp_path, project)
    assert ok, said


def test_a_deploy_outlasts_the_apps_watchdog(served_project, tmp_path):
    """The app runs with a short watchdog; the deploy that replaces it takes several times as
    long. On a virtual board whose watchdog behaves like the chip's (it runs on through Ctrl-C
    and the soft reset, and fires whatever the VM does), only a deploy that feeds it gets through."""
    project, builds = served_project
    flash = tmp_path / "flash"
    flash.mkdir()
    big = tmp_path / "big"
    shutil.copytree(builds["new"], big)
    (big / "lib" / "blob.bin").write_bytes(random.Random(SEED).randbytes(256 * 1024))
    board = Served(project, flash)
    code = ("import sys; sys.path.insert(0, %r); from pathlib import Path; from tools import deploy; "
            "deploy.deploy(%r, Path(sys.argv[1]), %r)")
    run = lambda b: subprocess.run([sys.executable, "-c", code % (str(project), BOARD, board.port), b],  # noqa: E731
                                   cwd=project, capture_output=True, text=True, timeout=60)
    try:
        (flash / "config.json").write_text(json.dumps({"wifi_ssid": "home", "loop_interval_ms": 100,
                                                       "watchdog_ms": 300}))
        first = run(builds["old"])
        assert first.returncode == 0, first.stderr
        deadline = time.monotonic() + 20
        while "watchdog: on, 300 ms" not in "\n".join(board.lines) + (
                (flash / "log.txt").read_text() if (flash / "log.txt").exists() else ""):
            assert time.monotonic() < deadline, "the app never started its watchdog"
            time.sleep(0.1)
        started = time.monotonic()
        out = run(big)
        took = time.monotonic() - started
        assert out.returncode == 0, out.stderr
    finally:
        board.stop()
    assert took > 3 * 0.3, f"the deploy took {took:.2f} s: too short to prove anything"
    assert (flash / "lib" / "blob.bin").read_bytes() == (big / "lib" / "blob.bin").read_bytes()
    assert "sim: rebooting (WDT_RESET)" not in board.lines
