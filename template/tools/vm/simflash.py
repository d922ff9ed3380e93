# A flash of MPSIM_FLASH_BYTES (`python -m tools sim --flash-size`): a write that would take the
# files on it beyond that size fails with OSError 28 (ENOSPC), as on a full board.
import builtins
import os

_SIZE = int(os.getenv("MPSIM_FLASH_BYTES") or 0)
_open = builtins.open


def _used(path="."):
    total = 0
    for name, kind, *_ in os.ilistdir(path):
        full = path + "/" + name
        total += _used(full) if kind == 0x4000 else os.stat(full)[6]
    return total


class _SmallFlashFile:
    def __init__(self, f):
        self.f = f

    def write(self, data):
        if _used() + len(data) > _SIZE:
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


def _flash_open(path, mode="r", *args):
    f = _open(path, mode, *args)
    on_flash = not path.startswith("/")  # the firmware's paths are relative; the sim's own files are not
    return _SmallFlashFile(f) if on_flash and ("w" in mode or "a" in mode) else f


builtins.open = _flash_open
