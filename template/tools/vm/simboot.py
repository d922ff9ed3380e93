# Boots the virtual board like a real one: boot.py, then main.py (skipped when
# boot.py raised), then "the REPL". As on a board, both files run in one global
# namespace (boot.py leaves its decision there for main.py). Under `sim` the REPL
# ends the run; under `sim --serve` the interpreter's own REPL follows
# (micropython -i), and a soft reset from the raw REPL (MPSIM_BOOT=boot) runs
# boot.py only, as on a board.
# The firmware runs inside this module's import, so it stays small: its code
# shares the modeled heap with the firmware.
import sys

import simos as os
import simsys
import simtime

sys.modules["os"] = os  # every `import os` gets the board's statvfs
sys.modules["time"] = simtime  # the board's ticks (wrapping at 2**30) on a virtual clock
sys.modules["sys"] = simsys  # sys.platform: the board's port, whose drivers/<port> runs

if int(os.getenv("MPSIM_FLASH_BYTES") or 0) or os.getenv("MPSIM_FLASH_STATS"):
    import simflash  # noqa: F401  (a small flash: writes beyond it fail with ENOSPC; wear counted)

if os.getenv("MPSIM_PORT") == "rp2":
    import rp2  # noqa: F401  (BOOTSEL held at the reset: the ROM's bootloader, not MicroPython)


def _drivers():
    # The port's driver runs (drivers/<port>: its LED, button, watchdog, modules such as rp2);
    # drivers/linux adds what only the host does: the setup page on loopback, and idle(), which
    # counts the tick for `sim --ticks` and skips the idle time on the virtual clock.
    try:
        port = __import__("drivers." + simsys.platform, None, None, ("idle",))
        host = __import__("drivers.linux", None, None, ("idle",))
    except ImportError:
        return  # a flash without drivers (a blank board): the firmware says what is missing
    port.idle, port.http_addr = host.idle, host.http_addr


def _run(name, into):
    # Like a board, a flash without boot.py or main.py simply skips it.
    try:
        with open(name) as f:
            code = compile(f.read(), name, "exec")
    except OSError:
        return
    exec(code, into)


# Exit code under `sim` once the REPL is reached: 3 the firmware returned to it (safe mode),
# 1 boot.py raised, 0 Ctrl-C stopped it (tools/sim.py says which).
_end = 3
_globals = {"__name__": "__main__"}
try:
    _drivers()
    _run("boot.py", _globals)
except Exception as e:
    sys.print_exception(e)
    print("sim: boot.py raised, so main.py is skipped")
    _end = 1
if _end == 3 and os.getenv("MPSIM_BOOT") != "boot":
    try:
        _run("main.py", _globals)
    except KeyboardInterrupt as e:
        sys.print_exception(e)
        print("sim: Ctrl-C: the firmware stopped")
        _end = 0
del _globals
if not os.getenv("MPSIM_SERVE"):
    print("sim: firmware returned to the REPL")
    sys.exit(_end)
