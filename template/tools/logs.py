"""`python -m tools logs`: the board's log files, or its console as it happens."""
import sys

from . import device
from .device import Board
from .project import PROJECT, Failure

READ = r"""
for _n in %r:
    try:
        with open(_n) as _f:
            while True:
                _b = _f.read(256)
                if not _b:
                    break
                print(_b, end="")
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
    with Board(port) as dev:
        dev.raw_repl(soft_reset=False)  # like `mpremote resume`: stop the program, no reboot
        text = dev.exec(READ % (names,))
        dev.reset()
        dev.transport.in_raw_repl = False
    text = text.replace("\r\n", "\n")  # boards print \n as \r\n
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
