# Fake of the ds18x20 driver that rp2, esp32 and esp8266 freeze: read_temp(rom) gives the
# reading that sim/state.json sets for that ROM code (see onewire.py).
import _periph


class DS18X20:
    def __init__(self, onewire):
        self.ow = onewire

    def scan(self):
        return [rom for rom in self.ow.scan() if rom[0] in (0x10, 0x22, 0x28)]

    def convert_temp(self):
        pass

    def read_temp(self, rom):
        return _periph.state.get("ds18x20", {}).get(bytes(rom).hex())
