# Fake of the pyb module (pyboard) for the virtual board: what boot.py reads, the USR
# switch and the LEDs. `python -m tools sim --hold-button` presses USR (MPSIM_PIN_USR=0).
import os


class Switch:
    def __call__(self):
        return os.getenv("MPSIM_PIN_USR") == "0"  # True while pressed, as on the board

    value = __call__


class LED:
    def __init__(self, n):
        self.n = n

    def on(self):
        pass

    def off(self):
        pass
