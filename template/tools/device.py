"""One mpremote connection to a board (or to `sim --serve`), with errors that say what to do.

Built on mpremote's own connect and transport (the same code as `mpremote connect PORT ...`),
so `--port` takes whatever `mpremote connect` takes: auto, a device path, id:SERIAL,
port:PATH, rfc2217://HOST:PORT.
"""
import contextlib
import io
import os
import stat
import time

from .project import Failure

RESET = "import time, machine; time.sleep_ms(100); machine.reset()"  # mpremote's `reset`
NO_DEVICE = ("no board found on a USB serial port: plug it in with a data cable, or pass --port "
             "(e.g. /dev/ttyUSB0, COM3, or the path `python -m tools sim --serve` prints)")


def _mpremote():
    try:
        from mpremote import commands, main, transport
    except ImportError:
        raise Failure("mpremote not found: run `python -m pip install -r requirements-dev.txt`") from None
    return commands, main, transport


def _access_error(port, msg):
    """mpremote says only "failed to access PORT": find out why, and what to do."""
    path = port[len("port:"):] if port.startswith("port:") else port
    if "://" not in path and not path.startswith("id:"):
        if not os.path.exists(path):
            return f"no board at {path}: check the port name (`mpremote connect list` shows them)"
        what = _not_serial(path)
        if what:
            return (f"{path} is not a serial port: it is {what}; pass the board's port "
                    "(`mpremote connect list` shows them)")
        if not os.access(path, os.R_OK | os.W_OK):
            return (f"no permission to open {path}: add yourself to the serial group "
                    "(Linux: `sudo usermod -aG dialout $USER`, then log in again)")
    if msg.startswith("failed to access"):
        return (f"{path} is busy: another program holds it (mpremote repl, screen, Thonny, an IDE's "
                "serial monitor, `python -m tools logs --follow`); close it and retry")
    return f"cannot open {path}: {msg}"


def _not_serial(path):
    """What path is when it cannot be a serial port (a folder, a file, /dev/null), else None."""
    if os.name != "posix":
        return None  # COM3 and friends are no paths to look at
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a regular file"
    if not stat.S_ISCHR(mode):
        return "not a character device"
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        return None  # busy or no permission: said below
    try:
        return None if os.isatty(fd) else "a device that is no terminal (like /dev/null)"
    finally:
        os.close(fd)


class Board:
    """A connected board. Use as a context manager: the port is released on exit."""

    def __init__(self, port="auto", timeout=10, feed=""):
        """feed: code run at the start of every exec (deploy feeds the watchdog with it)."""
        commands, main, transport = _mpremote()
        self.feed = feed
        self._commands, self._errors = commands, (transport.TransportError, OSError)
        self.ExecError = transport.TransportExecError
        self.port, self.timeout = port, timeout
        self.state = main.State()
        args = type("Args", (), {"device": [port]})()
        quiet = io.StringIO()
        try:
            with contextlib.redirect_stdout(quiet):
                commands.do_connect(self.state, args)
        except commands.CommandError as e:
            msg = str(e)
            if msg.startswith("no device found"):
                raise Failure(NO_DEVICE) from None
            raise Failure(_access_error(port, msg)) from None
        self.transport = self.state.transport
        self.name = self.transport.device_name
        if getattr(self.transport, "is_pty", False):
            # mpremote reads a pty with no timeout at all; bound it so a dead pty cannot hang us.
            self.transport.serial.timeout = 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.state.transport is not None:
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    self._commands.do_disconnect(self.state)
                except self._errors:
                    pass

    def raw_repl(self, soft_reset=True):
        """Stop the running program and enter the raw REPL (soft reset first, like mpremote)."""
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self.transport.enter_raw_repl(soft_reset=soft_reset, timeout_overall=self.timeout)
        except self._errors:
            raise Failure(
                f"the board on {self.name} does not answer mpremote's raw REPL: boot.py may loop or "
                "take longer than 10 s, a running watchdog resets the board, or a half-copied .mpy hangs "
                "its import; reset it and press the safe-mode button while the LED is lit (or create "
                "SAFE_MODE / NO_WATCHDOG on it), then retry") from None

    def exec(self, code):
        """Run code in the raw REPL and return its output as text; a device error is a Failure."""
        try:
            return self.transport.exec(self.feed + code).decode()
        except self.ExecError as e:
            raise Failure(f"on the board: {e.error_output.strip().splitlines()[-1]}") from None
        except self._errors as e:
            raise Failure(f"lost the board on {self.name}: {e}") from None

    def io(self, what, *args):
        """A transport file operation (fs_writefile, fs_rmfile, ...) with one-line errors."""
        try:
            return getattr(self.transport, what)(*args)
        except self._errors as e:
            raise Failure(f"{what[3:]} {args[0]} on the board failed: {e}") from None

    def reset(self):
        """Hard reset (mpremote's `reset`): boot.py, then main.py."""
        try:
            self.transport.exec_raw_no_follow(RESET)
        except self._errors as e:
            raise Failure(f"could not reset the board on {self.name}: {e}") from None

    def follow(self, out):
        """Copy the console to out until Ctrl-C, without stopping the running program."""
        serial = self.transport.serial
        serial.timeout = 0.2
        while True:
            try:
                data = serial.read(max(1, serial.in_waiting))
            except self._errors as e:
                raise Lost(f"lost the board on {self.name}: {e}") from None
            if data:
                out.write(data)
                out.flush()


class Lost(Failure):
    """The port went away (boards with native USB re-enumerate when they reset)."""


def follow(dev, port, out, back_within=10.0):
    """Stream the console of dev until Ctrl-C; reopen the port when it goes away and comes back."""
    mine = None
    try:
        while True:
            try:
                (mine or dev).follow(out)
            except Lost:
                if mine:
                    mine.close()
                mine = _reopen(port, back_within)
    finally:
        if mine:
            mine.close()


def _reopen(port, within):
    deadline = time.monotonic() + within
    while True:
        try:
            return Board(port)
        except Failure:
            if time.monotonic() > deadline:
                raise Failure(f"the board did not come back on {port} within {within:.0f} s") from None
            time.sleep(0.2)
