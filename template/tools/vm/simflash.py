# The flash chip of the virtual board, where it matters (loaded by simboot):
# - MPSIM_FLASH_BYTES (`python -m tools sim --flash-size`): a write that would take the files on
#   it beyond that size fails with OSError 28 (ENOSPC), as on a full board;
# - MPSIM_FLASH_STATS=1: counts what littlefs would do to the chip and prints, when the
#   interpreter ends (a reset, --ticks done), `sim: flash N erases, M page programs` for this boot.
# The cost model, littlefs's copy-on-write: a file opened to write or append costs nothing until
# its data is committed (flush or close). A commit rewrites every block the new bytes touch,
# from the start of the block they begin in: one erase per block (MPSIM_FS_BLOCK bytes, from the
# catalogue's fs_block) and one 256-byte page program per page of those blocks' data, plus one
# page for the metadata commit. So an append of one short line to a 2 KB file costs an erase and
# ~9 programs, and so does an append of twenty lines. (Measured on an RP2040 running v1.24.1:
# 161 log lines, 172 erases.) Renames and removes, metadata only, are not counted.
import builtins
import os
import sys

_SIZE = int(os.getenv("MPSIM_FLASH_BYTES") or 0)
_BLOCK = int(os.getenv("MPSIM_FS_BLOCK") or 4096)
_PAGE = 256
_open = builtins.open
erases = programs = 0


def _used(path="."):
    total = 0
    for name, kind, *_ in os.ilistdir(path):
        full = path + "/" + name
        total += _used(full) if kind == 0x4000 else os.stat(full)[6]
    return total


class _FlashFile:
    def __init__(self, f, start):
        self.f = f
        self.start = self.end = start  # bytes not yet committed: start to end

    def write(self, data):
        if _SIZE and _used() + len(data) > _SIZE:
            raise OSError(28)
        n = self.f.write(data)
        self.f.flush()  # so that _used() sees it
        self.end += n
        return n

    def flush(self):
        global erases, programs
        if self.end > self.start:
            first = self.start - self.start % _BLOCK  # the block the new bytes begin in, rewritten
            erases += (self.end - first + _BLOCK - 1) // _BLOCK
            programs += (self.end - first + _PAGE - 1) // _PAGE + 1
            self.start = self.end

    def close(self):
        self.flush()
        self.f.close()

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _flash_open(path, mode="r", *args):
    f = _open(path, mode, *args)
    on_flash = not path.startswith("/")  # the firmware's paths are relative; the sim's own files are not
    if on_flash and ("w" in mode or "a" in mode):
        return _FlashFile(f, f.seek(0, 2) if "a" in mode else 0)
    return f


def _report():
    print("sim: flash %d erases, %d page programs" % (erases, programs))


builtins.open = _flash_open
if os.getenv("MPSIM_FLASH_STATS"):
    sys.atexit(_report)
