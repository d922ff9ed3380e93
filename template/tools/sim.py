"""`python -m tools sim`: the virtual board, the build run in the MicroPython unix port."""
import functools
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from . import build
from .project import BUILD, FACTS, ROOT, Failure, Usage, count, find

VM = Path(__file__).parent / "vm"
# The fakes that only some boards have: the folder build/vm/for-<name> they go to, on those boards'
# path (not a module's name: a folder named rp2 would be importable as a package).
VM_ONLY = {"network": "wifi", "rp2": "rp2", "pyb": "pyboard", "esp": "esp", "esp32": "esp32",
           "neopixel": "drivers", "dht": "drivers", "onewire": "drivers", "ds18x20": "drivers"}
# The fakes of machine, time, sys and network hold about 13-18 KiB of the unix port's heap
# (benchmarks/footprint.py, column fakes); a board has them in ROM, so the modeled heap gets
# that much more.
FAKES_HEAP = 20480
# The fakes of the buses with your device models (tools/vm/_periph.py, sim/devices.py) load when
# the firmware first uses a bus, or when the readings set pin levels: about 24 KiB more of the unix
# port's heap. On a board the buses are silicon and the devices other chips, so a firmware that
# names a bus (or readings that set pins) gets that much more, and the rest keeps the strict heap.
BUSES_HEAP = 24576
BUS_NAMES = re.compile(rb"\b(?:I2C|SoftI2C|SPI|SoftSPI|PWM|ADC|Timer|UART|RTC|time_pulse_us|bitstream)\b")
# Exit codes of the fake machine module (tools/vm/machine.py): the reset cause of the next boot.
REBOOTS = {42: "HARD_RESET", 43: "DEEPSLEEP_RESET", 44: "WDT_RESET"}  # 44: the host's Watchdog fired
# A boot with no tick this long after its Wi-Fi step is stuck before the heartbeat, most often in
# an app.setup(ctx) that never returns: nothing on the chip notices (its watchdog starts after setup).
SETUP_LIMIT_S = 10
STUCK = (f"sim: app.setup(ctx) has not returned after {SETUP_LIMIT_S} s (no tick yet): the heartbeat "
         "and the watchdog start only once setup returns, so on a board nothing resets a setup that "
         "blocks (an asyncio.run() or a `while True` in it); return from setup and wait in loop(ctx)")


def install(build_dir, flash):
    """Copy the build onto the flash: changed files only; config.json, logs and data stay."""
    flash.mkdir(parents=True, exist_ok=True)
    for src in build_dir.rglob("*"):
        if src.is_file():
            dst = flash / src.relative_to(build_dir)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not dst.exists() or dst.read_bytes() != src.read_bytes():
                shutil.copyfile(src, dst)


def vm_modules():
    """The fakes of the hardware, compiled to .mpy: on a board these modules live in ROM and cost
    no heap, so the virtual board must not spend the board's heap compiling them."""
    out = BUILD / "vm"
    # A module only some boards have sits apart, on the path of those boards only (a plain Pico
    # has no network module, an ESP32 no rp2); the user's device models (sim/devices.py) load
    # as sim_devices.
    sources = {out / (f"for-{VM_ONLY[src.stem]}" if src.stem in VM_ONLY else "") / (src.stem + ".mpy"): src
               for src in VM.glob("*.py")}
    if (ROOT / "sim" / "devices.py").is_file():
        sources[out / "sim_devices.mpy"] = ROOT / "sim" / "devices.py"
    for dst, src in sources.items():
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists() or dst.stat().st_mtime < max(src.stat().st_mtime, Path(build.__file__).stat().st_mtime):
            build.compile_mpy(src, dst, src.name)  # for the host: no -march
    for old in out.rglob("*.mpy"):
        if old not in sources:  # a fake an update removed must not stay importable
            old.unlink()
    return out


def uses_buses(flash):
    """Whether the firmware on flash names a bus of machine (its .py or .mpy files, where names are
    plain bytes), or the readings set pin levels: then the fakes of the buses will load."""
    for f in flash.rglob("*"):
        if f.suffix in (".py", ".mpy") and f.is_file() and BUS_NAMES.search(f.read_bytes()):
            return True
    state = Path(os.environ.get("MPSIM_STATE") or ROOT / "sim" / "state.json")
    try:
        return b'"pins"' in state.read_bytes()
    except OSError:
        return False


def vm_env(board, ticks, cause, hold_button, wifi, flash_bytes=0):
    # The import path of a board: the fakes (in ROM there), the flash, the firmware's frozen
    # modules (asyncio ...: the unix port keeps them under .frozen), then lib/ (named ./lib,
    # so that mip, which installs into the path entry ending in /lib, finds it).
    facts = FACTS[board]
    vm = vm_modules()
    port = facts["port"]
    extra = [port] + (["esp"] if port in ("esp32", "esp8266") else []) + (["drivers"] if port != "pyboard" else [])
    fakes = ":".join([str(vm)] + [f"{vm}/for-{d}" for d in extra + (["wifi"] if facts["wifi"] else [])])
    env = dict(os.environ, MICROPYPATH=f"{fakes}::.frozen:./lib", MPSIM_RESET_CAUSE=cause,
               MPSIM_PORT=facts["port"], MPSIM_TICKS=str(ticks), MPSIM_WIFI=wifi,
               MPSIM_FLASH_BYTES=str(flash_bytes or 0),
               MPSIM_FS_BYTES=str(flash_bytes or facts["fs_kib"] * 1024), MPSIM_FS_BLOCK=str(facts["fs_block"]),
               MPSIM_WDT_MAX=str(facts["wdt_max_ms"] or ""), MPSIM_WDT_FIXED="1" if facts["wdt_fixed"] else "")
    env.setdefault("MPSIM_STATE", str(ROOT / "sim" / "state.json"))  # readings for sim/devices.py
    if hold_button:
        env[f"MPSIM_PIN_{facts['button']}"] = "0"
    return env


class Watchdog:
    """The board's watchdog, kept here rather than in the VM, so that it behaves like the chip's:
    it resets the board in the middle of a sleep or a hung tick, and a soft reset (a new
    interpreter) does not stop it. The fake machine.WDT writes its timeout (a line "5000") when
    created and an empty line at each feed into a pipe whose write end every VM inherits; each
    tick is a line "t", counted here, so a boot the watchdog cut short still counts its ticks.
    A VM whose writes find no reader (this tool was killed) ends itself."""

    def __init__(self):
        self.r, self.w = os.pipe()
        os.set_blocking(self.r, False)
        self.timeout = self.deadline = None
        self.partial = b""  # a line not yet complete
        self.ticks = 0  # of the running interpreter
        self.skipped = 0.0  # seconds the VM's virtual clock skipped (a line "s<ms>" each sleep)

    def env(self):
        return {"MPSIM_PIPE": f"/dev/fd/{self.w}"}

    def take(self, say=None):
        """Read what the VM wrote: (re)starts and feeds; say(msg) is told of a new timeout."""
        data = b""
        try:
            while chunk := os.read(self.r, 65536):
                data += chunk
        except BlockingIOError:
            pass
        *lines, self.partial = (self.partial + data).split(b"\n")
        for line in lines:
            if line == b"t":
                self.ticks += 1
                continue
            if line[:1] == b"s":  # the watchdog counts the board's (virtual) time
                self.skipped += int(line[1:]) / 1000
                continue
            if line:  # WDT(timeout=...): (re)started, as creating it again does on rp2
                if say and self.timeout != int(line) / 1000:  # once, not at each re-creation by a tool
                    say(f"sim: watchdog started, {int(line)} ms")
                self.timeout = int(line) / 1000
            if self.timeout:
                self.deadline = time.monotonic() + self.skipped + self.timeout

    def left(self):
        """Seconds until it fires, or None when it is not running."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic() - self.skipped)

    def stop(self):
        """A hard reset (machine.reset(), the watchdog itself, power) stops it, as on the chip."""
        self.timeout = self.deadline = None
        self.partial = b""  # a line not yet complete

    def close(self):
        os.close(self.r)
        os.close(self.w)


def die_with_parent(parent):
    """A preexec_fn: the VM is killed when this tool dies, even by SIGKILL, so no interpreter is
    left running the firmware (Linux: PR_SET_PDEATHSIG; elsewhere the pipe to the Watchdog or the
    pty of `--serve` closes with the tool: the VM's next tick or feed, or the hangup, ends it)."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the tool died before that: nobody is left to notice
            os._exit(1)


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True)  # loaded here: a child after fork must not import
    except OSError:
        return None


_LIBC = _libc()


def free_port():
    """A TCP port on loopback that nothing listens on now: the setup page's, on the virtual board."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


HELP = "run the build on the virtual board (MicroPython unix port)"


def add_arguments(p):
    build.board_argument(p)
    p.add_argument("--flash", help="folder used as the board's flash (default: .sim/<board>)")
    p.add_argument("--ticks", type=count(0), default=0, help="stop cleanly after N ticks (0: run until Ctrl-C)")
    p.add_argument("--heap", type=count(2048), help="heap in bytes (default: the board's modeled heap)")
    p.add_argument("--hold-button", action="store_true",
                   help="press the safe-mode button just after the reset, inside its window")
    p.add_argument("--wifi", choices=("ok", "fail", "drop"), default="ok",
                   help="fake Wi-Fi: ok, fail (never connects), drop (lost at tick 5, back at tick 15)")
    p.add_argument("--reset-cause", default="PWRON_RESET",
                   choices=("PWRON_RESET", "HARD_RESET", "WDT_RESET", "DEEPSLEEP_RESET", "SOFT_RESET"),
                   help="why the first boot happens (default: %(default)s, power applied)")
    p.add_argument("--flash-size", type=count(0), default=0, metavar="BYTES",
                   help="flash capacity: writes beyond it fail with OSError 28 (ENOSPC); 0: no limit")
    p.add_argument("--serve", action="store_true",
                   help="expose the board on a serial port (pty) for mpremote and `deploy --port`")
    p.add_argument("--blank", action="store_true",
                   help="with --serve: install nothing, serve the flash as it is (then deploy onto it)")
    p.add_argument("--http-port", type=count(0), default=0, metavar="N",
                   help="loopback port of the setup page (default 0: any free port)")


def run(args):
    """Run the build on the virtual board; with --serve, behind a serial port (see serve.py).

    `args` holds the options add_arguments declares. --blank leaves the flash as it is
    (`sim --serve --blank`: deploy onto it)."""
    if args.serve and args.ticks:
        raise Usage("--ticks does not apply to --serve: stop the served board with Ctrl-C")
    if args.blank and not args.serve:
        raise Usage("--blank only applies to --serve")
    return boot(args, None if args.blank else build.checked_build(args.board))


def boot(args, build_dir):
    """Boot the virtual board on the flash (installing build_dir first, unless it is None) until
    the run ends; the exit code."""
    board, flash, ticks, cause, wifi, flash_bytes = (args.board, args.flash, args.ticks, args.reset_cause,
                                                     args.wifi, args.flash_size)
    if flash:
        flash = Path(flash)
        if flash.exists() and not flash.is_dir():
            raise Failure(f"--flash {flash} is a file: give a folder (it is the board's filesystem)")
    else:
        flash = ROOT / ".sim" / board
    if build_dir is None:
        flash.mkdir(parents=True, exist_ok=True)
    else:
        install(build_dir, flash)
        # The default flash starts from the project's config.json, when there is one.
        mine, its = ROOT / "config.json", flash / "config.json"
        if flash == ROOT / ".sim" / board and mine.exists():
            if not its.exists():
                shutil.copyfile(mine, its)
            elif its.read_bytes() != mine.read_bytes():  # an edit here would otherwise go unseen
                print(f"sim: the board keeps its own .sim/{board}/config.json, not the config.json here; "
                      "delete the board's to start from yours", flush=True)
    # The board's heap, plus what the fakes take (in ROM on a board).
    heap = args.heap or FACTS[board]["heap_kib"] * 1024 + FAKES_HEAP + (BUSES_HEAP if uses_buses(flash) else 0)
    flash = flash.resolve()  # the VM runs inside it: a relative --flash DIR would point elsewhere there
    http_port = str(args.http_port or free_port())  # the setup page's port, the same across reboots
    if args.serve:
        if os.name != "posix":
            raise Failure("sim --serve needs a POSIX system (Linux or macOS) for its pty; "
                          "use `sim` without --serve here")
        from . import serve as served

        env = dict(vm_env(board, 0, cause, args.hold_button, wifi, flash_bytes), MPSIM_HTTP_PORT=http_port)
        return served.serve(env, flash, heap)
    given = (flash / "config.json").exists()  # then setup mode means a broken config, not a new board
    micropython = find("micropython")
    wdt = Watchdog()
    done = 0
    old = signal.signal(signal.SIGTERM, _stop)
    try:
        while True:
            env = vm_env(board, ticks - done if ticks else 0, cause, args.hold_button, wifi, flash_bytes)
            env.update(wdt.env(), MPSIM_HTTP_PORT=http_port)
            wdt.ticks = 0
            vm = subprocess.Popen([micropython, "-X", f"heapsize={heap}", "-c", "import simboot"],
                                  cwd=flash, env=env, stdout=subprocess.PIPE, pass_fds=(wdt.w,),
                                  preexec_fn=functools.partial(die_with_parent, os.getpid()))
            rc, problem = supervise(vm, wdt, given, bool(ticks), SETUP_LIMIT_S + wifi_wait(flash, wifi))
            done += wdt.ticks
            if problem:
                raise Failure(problem)
            if rc not in REBOOTS:
                return rc
            cause = REBOOTS[rc]
            wdt.stop()  # a hard reset stops the watchdog
            print(f"sim: rebooting ({cause})", flush=True)
    except Stopped:  # SIGTERM between two boots
        return 143
    finally:
        signal.signal(signal.SIGTERM, old)
        wdt.close()


class Stopped(Exception):
    """SIGTERM: stop the VM, then end, as on Ctrl-C."""


def _stop(signum, frame):
    raise Stopped


def wifi_wait(flash, wifi):
    """Seconds the Wi-Fi step may wait at boot: its timeout when `--wifi fail`, else nothing."""
    if wifi != "fail":
        return 0
    try:
        ms = json.loads((flash / "config.json").read_text()).get("wifi_timeout_ms")
    except (OSError, ValueError, AttributeError):
        ms = None
    if not isinstance(ms, int):
        ms = json.loads((ROOT / "config.example.json").read_text()).get("wifi_timeout_ms", 0)
    return ms / 1000


def supervise(vm, wdt, given, counted=False, limit=SETUP_LIMIT_S):
    """Pass the VM's output on and keep its watchdog until the VM ends; (exit code, problem).

    The output is read here to tell why a run fails: a safe-mode or setup-mode line names it.
    Setup mode with a config.json given runs on (its page can fix the file) but fails the run.
    A boot without a first tick `limit` seconds after it started or its Wi-Fi step ended is said
    once (STUCK); a counted run (--ticks) then ends with 1, else it runs on, as the board would."""
    out, pipe = sys.stdout.buffer, vm.stdout.fileno()
    line, safe_mode, setup_mode = b"", None, None
    stopped = stopping = None  # the exit code and time of a Ctrl-C (130) or SIGTERM (143)
    since, connecting, stuck = time.monotonic(), False, False  # the wait for the first tick
    while True:
        try:
            left = wdt.left() if stopping is None else max(0.0, stopping + 5 - time.monotonic())
            waiting = not (stuck or connecting or wdt.ticks) and stopping is None
            if waiting:
                wait = max(0.0, since + limit - time.monotonic())
                left = wait if left is None else min(left, wait)
            ready = select.select([pipe, wdt.r], [], [], left)[0]
            if wdt.r in ready:
                wdt.take()  # the VM says "sim: watchdog started" itself, in order with its output
            if pipe in ready:
                data = os.read(pipe, 65536)
                if not data:
                    break
                *lines, line = (line + data).split(b"\n")
                out.write(data)
                out.flush()
                for text in lines:
                    text = text.decode(errors="replace").strip()
                    if "safe mode: " in text and safe_mode is None:
                        safe_mode = text[text.index("safe mode: "):].split("; app not started")[0]
                    if given and "setup mode: " in text and setup_mode is None:
                        setup_mode = text[text.index("setup mode: ") + 12:]
                    if "wifi: connecting" in text:  # the Wi-Fi step waits up to wifi_timeout_ms
                        connecting = True
                    elif connecting and ("wifi: connected" in text or "wifi: not connected" in text):
                        connecting, since, limit = False, time.monotonic(), SETUP_LIMIT_S
            elif not ready and stopping is not None:  # it did not stop within 5 s
                _end(vm)
                break
            if waiting and not (connecting or wdt.ticks) and time.monotonic() - since >= limit:
                wdt.take()  # a tick still in the pipe
                if not wdt.ticks:
                    stuck = True
                    out.write(STUCK.encode() + b"\n")
                    out.flush()
                    if counted:
                        _end(vm)
                        return 1, f"app.setup(ctx) did not return within {SETUP_LIMIT_S} s: the run never ticked"
                continue
            if not ready and wdt.left() == 0:
                _end(vm)
                rest = vm.stdout.read()  # what it wrote before it was stopped comes first
                out.write(rest + (b"\n" if (line + rest) and not (line + rest).endswith(b"\n") else b"")
                          + b"sim: watchdog expired\n")
                out.flush()
                wdt.take()  # its last ticks
                return 44, None
        except (KeyboardInterrupt, Stopped) as e:  # Ctrl-C reaches the VM too: it stops at its REPL
            if stopping is not None:
                _end(vm)
                break
            if isinstance(e, Stopped):
                vm.send_signal(signal.SIGINT)
            stopped, stopping = (143 if isinstance(e, Stopped) else 130), time.monotonic()
    rc = vm.wait()
    wdt.take()  # its last ticks
    if stopped:
        return stopped, None
    if rc == 0 and setup_mode:
        return 1, f"the board is in setup mode although config.json was given ({setup_mode}): fix config.json"
    if rc == 3:
        why = f" ({safe_mode})" if safe_mode else ""
        return 1, f"the firmware returned to the REPL{why}: the app is not running"
    if rc == 1:
        return 1, "the firmware stopped on an uncaught exception (traceback above)"
    return rc, None


def _end(vm):
    vm.kill()
    vm.wait()
