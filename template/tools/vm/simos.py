# `os` on the virtual board: the unix port's own module, except statvfs, which reports the
# board's flash instead of the host's disk (a deploy checks the free space with it). The size is
# `sim --flash-size` or the board's usual filesystem (data/boards.yml fs_kib), in littlefs-like
# blocks: each file takes its blocks, each folder a metadata pair. simboot puts it in sys.modules
# as "os" (a file named os.py would cost the firmware's heap some 7 KB more).
import uos


def __getattr__(name):
    return getattr(uos, name)


def _blocks(path, bsize):
    n = 2
    for name, kind, *_ in uos.ilistdir(path):
        full = path + "/" + name
        n += _blocks(full, bsize) if kind == 0x4000 else (uos.stat(full)[6] + bsize - 1) // bsize
    return n


def statvfs(path):
    bsize = int(uos.getenv("MPSIM_FS_BLOCK") or 4096)
    blocks = int(uos.getenv("MPSIM_FS_BYTES") or 0) // bsize
    if not blocks:
        return uos.statvfs(path)
    free = max(0, blocks - _blocks(".", bsize))
    return (bsize, bsize, blocks, free, free, 0, 0, 0, 0, 255)
