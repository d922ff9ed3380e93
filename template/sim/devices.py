# Your own hardware on the virtual board: models of the chips wired to your board, run inside
# the VM (MicroPython) on the fake buses of `machine`. `python -m tools sim` loads this file
# (compiled like the other fakes; it is not part of the firmware). Tests set the readings in
# sim/state.json, which the models see at each tick in update(state), e.g.
#   {"temperature": 21.5, "pins": {"14": 0}, "adc": {"26": 40000}}
# ("pins": the level an input pin reads; "adc": what ADC(pin).read_u16() gives).
# See docs/devices.md (SPI chips by their chip select, UART peers, pulses, readings that
# change during a run). This file is yours: template updates leave it alone.
from _periph import Device, I2CDevice, attach, level, pulse  # noqa: F401  (for models of your own)


class TempSensor(I2CDevice):
    # A BME280-like sensor at 0x76: chip id 0x60 at register 0xD0, the temperature in
    # hundredths of a degree, signed big-endian, at 0xFA-0xFB (state.json "temperature").
    def __init__(self):
        super().__init__()
        self.regs[0xD0] = 0x60
        self.update({"temperature": 20.0})

    def update(self, state):
        t = int(state.get("temperature", 20.0) * 100) & 0xFFFF
        self.regs[0xFA], self.regs[0xFB] = t >> 8, t & 0xFF


# The SSD1306 commands that take arguments, and how many.
_ARGS = {0x20: 1, 0x21: 2, 0x22: 2, 0x81: 1, 0x8D: 1, 0xA8: 1, 0xAD: 1, 0xD3: 1, 0xD5: 1, 0xD9: 1, 0xDA: 1, 0xDB: 1}


class Display(I2CDevice):
    # An SSD1306-like 128x64 display at 0x3C: a write starting 0x00 or 0x80 carries commands
    # (with their arguments, in one write or a byte a write as the micropython-lib driver
    # sends them), one starting 0x40 carries frame data (pages of 8 rows, one byte per column,
    # bit 0 on top), written from the column/page window the commands 0x21 and 0x22 set. After
    # a frame changes, tick() saves it to sim/display.bin (1024 bytes) for the tests to read back.
    W, H = 128, 64

    def __init__(self):
        super().__init__()
        self.fb = bytearray(self.W * self.H // 8)
        self.col, self.page, self.window = 0, 0, (0, 127, 0, 7)
        self.cmd = []  # a command whose arguments are still to come
        self.dirty = False

    def write(self, data):  # the app's own buffer: indexed, never copied (a copy costs its heap)
        if data[0] == 0x40:
            c0, c1, p0, p1 = self.window
            for i in range(1, len(data)):
                self.fb[self.page * self.W + self.col] = data[i]
                self.col += 1
                if self.col > c1:
                    self.col, self.page = c0, p0 if self.page >= p1 else self.page + 1
            self.dirty = True
        elif data[0] in (0x00, 0x80):
            for i in range(1, len(data)):
                self.cmd.append(data[i])
                if len(self.cmd) > _ARGS.get(self.cmd[0], 0):
                    self.command(self.cmd)
                    self.cmd = []

    def command(self, c):
        if c[0] == 0x21:  # the column window
            self.window, self.col = (c[1], c[2], self.window[2], self.window[3]), c[1]
        elif c[0] == 0x22:  # the page window
            self.window, self.page = (self.window[0], self.window[1], c[1], c[2]), c[1]

    def read(self, n):
        return bytes(n)  # status byte: ready

    def tick(self):
        if self.dirty:
            self.dirty = False
            with open(_here() + "display.bin", "wb") as f:
                f.write(self.fb)


def _here():
    import os

    path = os.getenv("MPSIM_STATE") or ""
    return path[: path.rfind("/") + 1]


attach(TempSensor(), i2c=0x76)
attach(Display(), i2c=0x3C)
