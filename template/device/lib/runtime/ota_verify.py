# The checks of over-the-air updates (runtime/ota): a release's signature, and
# the sha256 of a file on the flash.
import hashlib

from micropython import const

_CHUNK = const(512)
# DER of the DigestInfo that names SHA-256 (RFC 8017, 9.2): the start of what a signature holds.
_SHA256_INFO = b"010\r\x06\t`\x86H\x01e\x03\x04\x02\x01\x05\x00\x04 "


def hexsum(path):
    h, buf = hashlib.sha256(), bytearray(_CHUNK)
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(memoryview(buf)[:n])
    return "".join("%02x" % b for b in h.digest())


def verify(message, sig_hex, n):
    # True when sig_hex is the release key's PKCS#1 v1.5 signature of message.
    # s ** 65537 mod n is 16 squarings and one product: no 3-argument pow needed.
    size = (len("%x" % n) + 1) // 2  # bytes of the key (MicroPython's int has no bit_length)
    if len(sig_hex) != 2 * size:
        return False
    try:
        s = int(sig_hex, 16)
    except ValueError:
        return False
    if s >= n:
        return False
    m = s
    for _ in range(16):
        m = m * m % n
    m = m * s % n
    t = _SHA256_INFO + hashlib.sha256(message).digest()
    want = b"\x00\x01" + b"\xff" * (size - 3 - len(t)) + b"\x00" + t
    return m == int.from_bytes(want, "big")
