# Fake of the dht driver that rp2, esp32 and esp8266 freeze: measure() takes the reading from
# sim/state.json {"dht": {"temperature": 21.5, "humidity": 40}}; without one it times out
# (OSError ETIMEDOUT, as a sensor that does not answer).
import _periph


class DHTBase:
    def __init__(self, pin):
        self.pin = pin
        self._r = None

    def measure(self):
        self._r = _periph.state.get("dht")
        if not self._r:
            raise OSError(110)


class DHT11(DHTBase):
    def humidity(self):
        return int(self._r["humidity"])

    def temperature(self):
        return int(self._r["temperature"])


class DHT22(DHTBase):
    def humidity(self):
        return self._r["humidity"]

    def temperature(self):
        return self._r["temperature"]
