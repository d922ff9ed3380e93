# Fake of the rp2 module (Raspberry Pi Pico) for the virtual board: BOOTSEL, and the
# virtual board's time since the reset, in which the safe-mode button's window passes
# (drivers/linux) without the wall clock waiting for it.
#   MPSIM_BOOTSEL="A-B"  BOOTSEL is down from A to B ms after the reset ("A-" : until the
#                        end); from 0, held *at* the reset, the chip would start its ROM's
#                        USB bootloader instead of MicroPython (tools/vm/simboot.py)
#   MPSIM_PIN_BOOTSEL=0  (`python -m tools sim --hold-button`): pressed just after the reset
import os

_now = 0  # ms since the reset: boot.py starts at once on the virtual board
_press = os.getenv("MPSIM_BOOTSEL") or ("100-" if os.getenv("MPSIM_PIN_BOOTSEL") == "0" else "")


def bootsel_button():
    # 1 while BOOTSEL is down, else 0, as on the chip.
    if not _press:
        return 0
    start, _, end = _press.partition("-")
    return int(int(start) <= _now < (int(end) if end else _now + 1))


def sim_ticks_ms():
    return _now


def sim_sleep_ms(ms):
    global _now
    _now += ms
