# Boots the virtual board like a real one: boot.py, then main.py (skipped when
# boot.py raised), then "the REPL". Under `sim` the REPL ends the run; under
# `sim --serve` the interpreter's own REPL follows (micropython -i), and a soft
# reset from the raw REPL (MPSIM_BOOT=boot) runs boot.py only, as on a board.
import os
import sys

_FLASH_BYTES = int(os.getenv("MPSIM_FLASH_BYTES") or 0)


def _exists(name):
    try:
        os.stat(name)
        return True
    except OSError:
        return False


def _used(path="."):
    total = 0
    for name, kind, *_ in os.ilistdir(path):
        full = path + "/" + name
        total += _used(full) if kind == 0x4000 else os.stat(full)[6]
    return total


class _SmallFlashFile:
    # A file on a flash of MPSIM_FLASH_BYTES: a write beyond it fails with
    # OSError 28 (ENOSPC), as on a full board.
    def __init__(self, f):
        self.f = f

    def write(self, data):
        if _used() + len(data) > _FLASH_BYTES:
            raise OSError(28)
        n = self.f.write(data)
        self.f.flush()
        return n

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


if _FLASH_BYTES:
    import builtins

    _open = builtins.open

    def _flash_open(path, mode="r", *args):
        f = _open(path, mode, *args)
        on_flash = not path.startswith("/")  # the firmware's paths are relative; the sim's own files are not
        return _SmallFlashFile(f) if on_flash and ("w" in mode or "a" in mode) else f

    builtins.open = _flash_open


def _boot():
    # Like a board, a flash without boot.py or main.py simply skips it.
    try:
        if _exists("boot.py") or _exists("boot.mpy"):
            import boot  # noqa: F401
    except Exception as e:
        sys.print_exception(e)
        print("sim: boot.py raised, so main.py is skipped")
        return False
    if os.getenv("MPSIM_BOOT") != "boot" and _exists("main.py"):
        try:
            import main  # noqa: F401
        except KeyboardInterrupt as e:
            sys.print_exception(e)
            print("sim: Ctrl-C: the firmware stopped")
    return True


_ok = _boot()
if not os.getenv("MPSIM_SERVE"):
    print("sim: firmware returned to the REPL")
    if not _ok:
        sys.exit(1)
