# Fake of the neopixel driver that rp2, esp32 and esp8266 freeze: the colours are kept, and
# write() sends them nowhere (a test reads them back from the object).
class NeoPixel:
    ORDER = (1, 0, 2, 3)

    def __init__(self, pin, n, bpp=3, timing=1):
        self.pin, self.n, self.bpp, self.timing = pin, n, bpp, timing
        self.buf = bytearray(n * bpp)

    def __len__(self):
        return self.n

    def __setitem__(self, i, v):
        for j in range(self.bpp):
            self.buf[i * self.bpp + self.ORDER[j]] = v[j]

    def __getitem__(self, i):
        return tuple(self.buf[i * self.bpp + self.ORDER[j]] for j in range(self.bpp))

    def fill(self, v):
        for i in range(self.n):
            self[i] = v

    def write(self):
        pass
