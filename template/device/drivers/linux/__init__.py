# Drivers for the virtual board: the MicroPython unix port run by
# `python -m tools sim`, whose machine and network modules are fakes of the
# hardware (tools/vm/). `--hold-button` holds the button for a boot; a tick
# here also counts towards `sim --ticks N`.
import os

import machine

from drivers.gpio import button_held, led, watchdog  # noqa: F401  (this port's driver functions)


def idle(ms):
    machine.sim_idle(ms)


def http_addr():
    # The setup page on loopback, at the port `python -m tools sim --http-port` chose
    # (a board's port 80 needs root here).
    return "127.0.0.1", int(os.getenv("MPSIM_HTTP_PORT") or 8080)
