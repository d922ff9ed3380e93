"""`python -m tools sim --serve`: the virtual board behind a serial port (a pty) for mpremote.

The MicroPython unix port already speaks the REPL and the raw REPL on a terminal. What a
board does and the unix port does not, this bridge adds:

- The serial port outlives the interpreter. The port users see is the slave side of pty A,
  held open here for the whole run; each interpreter gets a fresh pty B of its own, and bytes
  are copied between the two masters. A soft reset (Ctrl-D) makes the unix port exit, a fake
  `machine.reset()` exits with 42: either way a new interpreter starts behind the same port,
  like a board rebooting (soft reset from the raw REPL: boot.py only, then the raw REPL
  again, as mpremote expects; any other reset: boot.py then main.py).
- Ctrl-C interrupts the running program: pty B is the interpreter's controlling terminal with
  ISIG on, so the line discipline turns Ctrl-C into SIGINT (KeyboardInterrupt).
- No keystroke is lost. The unix port switches its terminal with TCSAFLUSH, which drops input
  that arrived early; a board's UART buffer keeps it. So input is held back until the
  interpreter is reading (its terminal in raw mode), except Ctrl-C, which goes through at once.
- Output nobody reads is dropped, as on a UART with no host, so a chatty firmware never
  blocks the bridge.
"""
import errno
import fcntl
import functools
import os
import re
import select
import signal
import subprocess
import termios
import time
import tty

from .project import Failure, find
from .sim import REBOOTS, Watchdog, die_with_parent

RAW_MARK = b"raw REPL; CTRL-B to exit"
FRIENDLY_MARK = b">>> "
RETRY_INTERRUPT_S = 0.25
NOBODY_READS_S = 0.5
QUICK_EXIT_S = 1.0
MAX_QUICK_EXITS = 10
OUT_HELD_MAX = 65536
LONE_LF = re.compile(rb"(?<!\r)\n")


def _child_termios(fd):
    """Raw terminal, except that Ctrl-C raises SIGINT while the firmware runs."""
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[3] |= termios.ISIG | termios.NOFLSH
    cc = attrs[6]
    for name in ("VQUIT", "VSUSP", "VDSUSP", "VLNEXT", "VDISCARD"):
        if hasattr(termios, name):
            cc[getattr(termios, name)] = b"\0"  # only Ctrl-C is special
    cc[termios.VINTR] = b"\x03"
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def _child_setup(parent):
    # pty B becomes the interpreter's controlling terminal, so Ctrl-C there is SIGINT. Until
    # the unix port installs its handler (when it runs code), SIGINT is ignored rather than
    # fatal; a Ctrl-C lost that way is sent again (see _feed). The interpreter dies with this
    # tool, even when the tool is killed.
    die_with_parent(parent)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Board:
    """One pty A for the user, interpreters started behind it one after another."""

    def __init__(self, command, cwd, env, say):
        self.command, self.cwd, self.env, self.say = command, cwd, env, say
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.child = None
        self.child_master = None
        self.pending = b""  # input held back until the interpreter reads
        self.tail = b""  # last output bytes, to see which REPL the interpreter is in
        self.raw_repl = False
        self.interrupted = 0  # when the last Ctrl-C was passed on, until the interpreter reads
        self.unanswered = b""  # input passed on since the interpreter's last prompt
        self.outbuf = b""  # output not yet taken by the port
        self.stalled = 0  # since when the port takes no output
        self.deaf = False  # nobody reads the port: output is dropped
        self.started = 0.0  # when the running interpreter started
        self.quick_exits = 0  # interpreters in a row that exited at once, with no input
        self.had_input, self.said = False, b""  # of the running interpreter
        self.wdt = Watchdog()  # survives the soft resets (new interpreters), as the chip's does
        self.booted = None  # (host time, watchdog's skipped seconds) at the last hard boot
        self.fired = False  # the watchdog ended the running interpreter

    def start(self, cause, boot_only, raw_repl=False):
        master, slave = os.openpty()
        _child_termios(slave)
        env = dict(self.env, MPSIM_RESET_CAUSE=cause, MPSIM_BOOT="boot" if boot_only else "all", **self.wdt.env())
        # time.ticks_ms() counts on through a soft reset, as on a board (boot.py's safe-mode window
        # is measured from the reset): the new interpreter starts where the old one's clock was.
        base = int(self.env.get("MPSIM_TICKS_START") or 0)
        if boot_only and self.booted is not None:
            since = time.monotonic() - self.booted[0] + self.wdt.skipped - self.booted[1]
            env["MPSIM_TICKS_START"] = str((base + int(since * 1000)) % (1 << 30))
        else:
            self.booted = (time.monotonic(), self.wdt.skipped)
        self.child = subprocess.Popen(self.command, cwd=self.cwd, env=env, stdin=slave, stdout=slave,
                                      stderr=slave, start_new_session=True, pass_fds=(self.wdt.w,),
                                      preexec_fn=functools.partial(_child_setup, os.getpid()))
        os.close(slave)
        self.child_master = master
        self.tail, self.raw_repl, self.unanswered = b"", False, b""
        self.started, self.had_input, self.said = time.monotonic(), False, b""
        if raw_repl:
            self.pending = b"\x01" + self.pending  # back into the raw REPL, as after a board's soft reset

    def _reading(self):
        """True while the interpreter waits for input (the unix port reads in raw mode)."""
        try:
            return not termios.tcgetattr(self.child_master)[3] & termios.ISIG
        except termios.error:
            return False

    def _to_user(self, data):
        out = LONE_LF.sub(b"\r\n", data)  # a board's stdout sends \n as \r\n
        if data.startswith(b"\n") and self.tail.endswith(b"\r"):
            out = out[1:]  # that \n ended a \r\n split across two reads
        scan = self.tail + data
        self.said = (self.said + data)[-200:]
        raw_at, friendly_at = scan.rfind(RAW_MARK), scan.rfind(FRIENDLY_MARK)
        if raw_at >= 0 or friendly_at >= 0:
            self.raw_repl = raw_at > friendly_at
        self.tail = scan[-32:]
        if data.rstrip(b" ").endswith(b">"):
            self.unanswered = b""
        if termios.tcgetattr(self.slave)[3] & termios.ECHO:
            tty.setraw(self.slave)  # a terminal program restored a cooked mode: no echo loops
        self.outbuf += out
        self._flush_out()

    def _flush_out(self):
        """Write held output to the port. A slow reader slows the firmware down (flow control);
        when nobody reads for a while, output is dropped, like a UART with no host."""
        while self.outbuf:
            try:
                n = os.write(self.master, self.outbuf)
            except BlockingIOError:
                now = time.monotonic()
                if self.deaf:
                    self.outbuf = b""
                elif not self.stalled:
                    self.stalled = now
                elif now - self.stalled > NOBODY_READS_S:
                    self.deaf, self.outbuf = True, b""
                return
            self.outbuf, self.stalled, self.deaf = self.outbuf[n:], 0, False

    def _feed(self):
        if not self.pending or self.child_master is None:
            return
        if self._reading():
            self.interrupted = 0
            try:
                n = os.write(self.child_master, self.pending)
            except BlockingIOError:
                return
            except OSError:
                return
            self.unanswered += self.pending[:n]
            self.had_input = True
            self.pending = self.pending[n:]
        elif b"\x03" in self.pending:
            # The firmware is running: Ctrl-C interrupts it; what was typed before it is dropped.
            self.pending = self.pending[self.pending.rindex(b"\x03") + 1:]
            self._interrupt()
        elif self.interrupted and time.monotonic() - self.interrupted > RETRY_INTERRUPT_S:
            # A Ctrl-C that came while the interpreter was still starting found no handler
            # (the unix port installs its own only when it runs code): it is sent again.
            self._interrupt()

    def _interrupt(self):
        self.interrupted = time.monotonic()
        self.unanswered += b"\x03"
        os.write(self.child_master, b"\x03")

    def _drain_child(self):
        while True:
            try:
                data = os.read(self.child_master, 65536)
            except OSError:
                return
            if not data:
                return
            self._to_user(data)

    def serve(self):
        """Copy bytes both ways; restart the interpreter when it exits. Returns on a signal."""
        self.start("PWRON_RESET", boot_only=False)
        while True:
            fds = [self.master, self.wdt.r] + ([self.child_master] if len(self.outbuf) < OUT_HELD_MAX else [])
            wait = 0.001 if self.pending else 0.05 if self.outbuf else 0.2
            left = self.wdt.left()
            ready, _, _ = select.select(fds, [self.master] if self.outbuf else [], [],
                                        wait if left is None else min(wait, left))
            if self.wdt.r in ready:
                self.wdt.take(self.say)
            if self.wdt.left() == 0 and not self.fired:
                # It fires whatever the interpreter is doing, even in the raw REPL of a deploy.
                self.say("sim: watchdog expired")
                self.fired = True
                try:
                    os.killpg(self.child.pid, signal.SIGKILL)
                except ProcessLookupError:  # it had just ended by itself
                    pass
            self._flush_out()
            if self.master in ready:
                try:
                    self.pending += os.read(self.master, 65536)
                except (BlockingIOError, OSError):
                    pass
            if self.child_master in ready:
                try:
                    data = os.read(self.child_master, 65536)
                except OSError as e:
                    if e.errno != errno.EIO:
                        raise
                    data = b""
                if data:
                    self._to_user(data)
                else:
                    self._restart()
                    continue
            self._feed()
            if self.child.poll() is not None:
                self._drain_child()
                self._restart()

    def _restart(self):
        rc = self.child.wait()
        self._drain_child()
        os.close(self.child_master)
        self.child_master = None
        quick = not self.had_input and time.monotonic() - self.started < QUICK_EXIT_S
        self.quick_exits = self.quick_exits + 1 if quick else 0
        if self.quick_exits >= MAX_QUICK_EXITS:
            said = self.said.decode(errors="replace").strip().splitlines()
            raise Failure(f"the virtual board restarted {self.quick_exits} times in a row right after "
                          f"starting (exit code {rc}, last words: {said[-1] if said else 'none'!r}); "
                          "check --heap and boot.py")
        if b"\x03" in self.unanswered and rc != -signal.SIGINT:
            # A Ctrl-C (mpremote connecting) reached an interpreter that was exiting: the next
            # one gets it, so the caller is not left waiting for a prompt that never comes.
            self.pending = self.unanswered[self.unanswered.rindex(b"\x03"):] + self.pending
        if self.fired:
            rc, self.fired = 44, False
        if rc in REBOOTS:  # machine.reset(), deep sleep or the watchdog: a full boot
            self.wdt.take(self.say)
            self.wdt.stop()  # a hard reset stops the watchdog; a soft reset does not
            self.say(f"sim: rebooting ({REBOOTS[rc]})")
            self.start(REBOOTS[rc], boot_only=False)
            return
        # A soft reset. From the raw REPL (mpremote) it runs boot.py only and stays in the raw
        # REPL; after a Ctrl-C that killed the interpreter before it could catch it, it runs
        # boot.py only and waits in the friendly REPL, as a Ctrl-C leaves a board.
        raw_repl = self.raw_repl and rc != -signal.SIGINT
        boot_only = raw_repl or rc == -signal.SIGINT
        self._to_user(b"MPY: soft reboot\r\n")
        self.say("sim: soft reset" + (" (boot.py only)" if boot_only else ""))
        self.start("SOFT_RESET", boot_only, raw_repl)

    def stop(self):
        if self.child and self.child.poll() is None:
            for sig, wait in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(self.child.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.child.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.wdt.close()
        for fd in (self.child_master, self.master, self.slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass


def serve(env, flash, heap):
    """Run the virtual board behind a pty until Ctrl-C or SIGTERM; print the port's path first."""
    command = [find("micropython"), "-X", f"heapsize={heap}", "-i", "-c", "import simboot"]
    env = dict(env, MPSIM_SERVE="1")
    board = Board(command, str(flash), env, lambda msg: print(msg, flush=True))

    def stop(signum, frame):
        raise KeyboardInterrupt

    old = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        print(board.path, flush=True)
        print(f"sim: serving {flash} on {board.path}; mpremote connect {board.path}  "
              "(Ctrl-C stops)", flush=True)
        board.serve()
    except KeyboardInterrupt:
        print("sim: stopped", flush=True)
    finally:
        board.stop()
        for sig, handler in old.items():
            signal.signal(sig, handler)
    return 0
