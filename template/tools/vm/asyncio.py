# asyncio on the virtual board: the unix port's own (frozen), loaded on the host's clock. Its C
# part (_asyncio) keys tasks by the host's ticks, so its Python part must see them too, not the
# virtual clock of tools/vm/simtime.py: asyncio's waits take real time (time.sleep_ms() in a
# task still skips ahead). This stub loads the real package once, then stands for it.
import sys

import utime

_here = __file__.rsplit("/", 1)[0]
_time = sys.modules["time"]
del sys.modules["asyncio"]
sys.path.remove(_here)
sys.modules["time"] = utime
try:
    import asyncio as _real
finally:
    sys.modules["time"] = _time
    sys.path.insert(0, _here)
sys.modules["asyncio"] = _real


def __getattr__(name):
    return getattr(_real, name)
