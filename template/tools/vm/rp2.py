# Fake of the rp2 module (Raspberry Pi Pico) for the virtual board: BOOTSEL.
# boot.py reads it every 10 ms of the window after the reset (on the virtual board
# without waiting), so the n-th read stands for the moment 10 * n ms after the reset:
#   MPSIM_BOOTSEL="A-B"  BOOTSEL is down from A to B ms after the reset ("A-": for
#                        good). From 0, held *at* the reset, the chip would start its
#                        ROM's USB bootloader, not MicroPython (tools/vm/simboot.py)
#   MPSIM_PIN_BOOTSEL=0  (`python -m tools sim --hold-button`): pressed just after the reset
import os
import sys

_reads = 0
_press = os.getenv("MPSIM_BOOTSEL") or ("100-" if os.getenv("MPSIM_PIN_BOOTSEL") == "0" else "")
if _press.startswith("0-"):  # imported by simboot before boot.py: this is the reset
    print("sim: BOOTSEL held at the reset: the chip starts its USB bootloader (a drive), not MicroPython")
    sys.exit(1)


def bootsel_button():
    # 1 while BOOTSEL is down, else 0, as on the chip.
    global _reads
    now, _reads = _reads * 10, _reads + 1
    if not _press:
        return 0
    start, _, end = _press.partition("-")
    return int(int(start) <= now < int(end or now + 1))
