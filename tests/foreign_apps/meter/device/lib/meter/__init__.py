# A simulated meter: a small linear congruential generator stands in for an ADC.


class Meter:
    def __init__(self, seed):
        self.state = seed

    def read(self):
        self.state = (self.state * 1103515245 + 12345) & 0x7FFFFFFF
        return self.state % 1024
