"""`python -m tools logs`: the board's log files, or its console as it happens."""
import sys

from . import device
from .device import Board
from .project import BOARDS, PORT_HELP, PROJECT, Failure

HELP = "print the board's log files, or follow its console"


def add_arguments(p):
    p.add_argument("--port", default="auto", help=PORT_HELP)
    p.add_argument("--follow", action="store_true", help="stream the board's console (Ctrl-C stops)")


def run(args):
    return follow(args.port) if args.follow else fetch(args.port)

# Read as bytes and sent as hex: a log may hold anything (a cut line, a byte 0x04 that would end
# the raw REPL's answer), and the host decodes it leniently.
READ = r"""
import binascii
for _n in %r:
    try:
        with open(_n, "rb") as _f:
            while True:
                _b = _f.read(256)
                if not _b:
                    break
                print(binascii.hexlify(_b).decode())
    except OSError:
        pass
"""


def log_files():
    """Oldest first: log.txt.N ... log.txt.1, log.txt (the rotation order of runtime/log.py)."""
    base = PROJECT["log_file"]
    if not base:
        return []
    return [f"{base}.{i}" for i in range(PROJECT["log_backups"], 0, -1)] + [base]


def fetch(port="auto", out=None):
    """Print the log files. The program is interrupted to read them, then the board is reset."""
    names = log_files()
    if not names:
        raise Failure("this project logs to the console only (log_to_file is off): "
                      "use `python -m tools logs --follow`")
    out = out or sys.stdout
    from .deploy import feeder

    # The app is stopped while the files are read: a watchdog it started is fed, as deploy does.
    with Board(port, feed=feeder(BOARDS[0])) as dev:
        try:  # whatever happens while reading, the firmware is started again
            dev.raw_repl(soft_reset=False)  # like `mpremote resume`: stop the program, no reboot
            hexed = dev.exec(READ % (names,))
        finally:
            dev.reset()
            dev.transport.in_raw_repl = False
    try:
        # Only the hex lines: the watchdog's feed may print a line of its own (the virtual board does).
        data = bytes.fromhex("".join(line for line in hexed.split("\n") if line.strip() and
                                     not line.strip().strip("0123456789abcdef")))
    except ValueError:
        raise Failure("the board's answer was garbled; run `python -m tools logs` again") from None
    text = data.decode("utf-8", "replace")  # a byte that is not UTF-8 shows as \ufffd
    out.write(text if text else f"(no {names[-1]} on the board yet)\n")
    print("board reset: the firmware runs again", file=sys.stderr)


def follow(port="auto"):
    """Stream the console (every log line goes there too) without stopping the program."""
    with Board(port) as dev:
        print(f"following {dev.name} (Ctrl-C stops)", file=sys.stderr, flush=True)
        try:
            device.follow(dev, port, sys.stdout.buffer)
        except KeyboardInterrupt:
            pass
