# Boots the virtual board like a real one: boot.py, then main.py (skipped when
# boot.py raised), then "the REPL". Under `sim` the REPL ends the run; under
# `sim --serve` the interpreter's own REPL follows (micropython -i), and a soft
# reset from the raw REPL (MPSIM_BOOT=boot) runs boot.py only, as on a board.
import os
import sys


def _exists(name):
    try:
        os.stat(name)
        return True
    except OSError:
        return False


def _boot():
    # Like a board, a flash without boot.py or main.py simply skips it.
    try:
        if _exists("boot.py") or _exists("boot.mpy"):
            import boot  # noqa: F401
    except Exception as e:
        sys.print_exception(e)
        return
    if os.getenv("MPSIM_BOOT") != "boot" and _exists("main.py"):
        import main  # noqa: F401


_boot()
if not os.getenv("MPSIM_SERVE"):
    print("sim: firmware returned to the REPL")
