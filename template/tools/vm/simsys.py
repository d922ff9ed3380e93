# `sys` on the virtual board (simboot puts it in sys.modules): the unix port's, but
# sys.platform names the board's port, so the firmware loads drivers/<port> as on the chip.
import uos
import usys

platform = uos.getenv("MPSIM_PORT") or "linux"


def __getattr__(name):
    return getattr(usys, name)
