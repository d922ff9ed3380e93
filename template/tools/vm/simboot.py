# Boots the virtual board like a real one: boot.py, then main.py (skipped when
# boot.py raised), then "the REPL". Under `sim` the REPL ends the run; under
# `sim --serve` the interpreter's own REPL follows (micropython -i), and a soft
# reset from the raw REPL (MPSIM_BOOT=boot) runs boot.py only, as on a board.
# The firmware runs inside this module's import, so it stays small: its code
# shares the modeled heap with the firmware.
import sys

import simos as os

sys.modules["os"] = os  # every `import os` gets the board's statvfs

if int(os.getenv("MPSIM_FLASH_BYTES") or 0):
    import simflash  # noqa: F401  (a small flash: writes beyond it fail with ENOSPC)


def _has(name):
    # Like a board, a flash without boot.py or main.py simply skips it.
    try:
        return bool(os.stat(name))
    except OSError:
        return False


# Exit code under `sim` once the REPL is reached: 3 the firmware returned to it (safe mode),
# 1 boot.py raised, 0 Ctrl-C stopped it (tools/sim.py says which).
_end = 3
try:
    if _has("boot.py") or _has("boot.mpy"):
        import boot  # noqa: F401
except Exception as e:
    sys.print_exception(e)
    print("sim: boot.py raised, so main.py is skipped")
    _end = 1
if _end == 3 and os.getenv("MPSIM_BOOT") != "boot" and _has("main.py"):
    try:
        import main  # noqa: F401
    except KeyboardInterrupt as e:
        sys.print_exception(e)
        print("sim: Ctrl-C: the firmware stopped")
        _end = 0
if not os.getenv("MPSIM_SERVE"):
    print("sim: firmware returned to the REPL")
    sys.exit(_end)
