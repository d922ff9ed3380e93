"""The release key: RSA-2048, signatures PKCS#1 v1.5 over SHA-256 (RFC 8017, 8.2), e = 65537.

Why RSA: a board checks a signature with one modular power, s ** 65537 mod n, which is 16
squarings and one product of 2048-bit integers: MicroPython's long ints do it on an ESP8266's
heap (lib/runtime/ota.py). Elliptic-curve checks would need far more code and memory there.

The private key is written once, as a standard PKCS#1 PEM file (`openssl rsa -in FILE -check`
reads it), with mode 0600, to a path git ignores; the board carries only n (lib/runtime/otakey,
written by the build). Plain Python integers do the arithmetic: no package to install.
"""
import base64
import hashlib
import os
import secrets
from pathlib import Path

from .project import ROOT, Failure

PRIVATE = ROOT / ".release-key.pem"  # never in git (.gitignore); mode 0600
PUBLIC = ROOT / "release-key.pub"  # in git: every build of the project carries it
E = 65537
BITS = 2048
# DER of the DigestInfo that names SHA-256 (RFC 8017, 9.2, note 1), followed by the 32-byte hash.
SHA256_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
_SMALL_PRIMES = [p for p in range(3, 2000, 2) if all(p % d for d in range(3, int(p ** 0.5) + 1, 2))]


def _probably_prime(n, rounds=40):
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(rounds):  # Miller-Rabin with random bases
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits):
    while True:
        p = secrets.randbits(bits) | (3 << (bits - 2)) | 1  # top two bits set: n has all its bits
        if p % E != 1 and _probably_prime(p):
            return p


def generate(bits=BITS):
    """(n, e, d, p, q, dp, dq, qinv): a new RSA key."""
    while True:
        p, q = _prime(bits // 2), _prime(bits // 2)
        if p == q:
            continue
        n, phi = p * q, (p - 1) * (q - 1)
        if n.bit_length() != bits:
            continue
        d = pow(E, -1, phi)
        return n, E, d, p, q, d % (p - 1), d % (q - 1), pow(q, -1, p)


# The smallest DER that PKCS#1 needs: a SEQUENCE of INTEGERs.
def _der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def _der_int(v):
    b = v.to_bytes(v.bit_length() // 8 + 1, "big")  # one spare bit: a leading 0 keeps it positive
    return b"\x02" + _der_len(len(b)) + b


def _der_seq(values):
    body = b"".join(_der_int(v) for v in values)
    return b"\x30" + _der_len(len(body)) + body


def _der_read(data):
    """The integers of a DER SEQUENCE of INTEGERs."""
    def length(i):
        n = data[i]
        if n < 0x80:
            return n, i + 1
        k = n & 0x7F
        return int.from_bytes(data[i + 1:i + 1 + k], "big"), i + 1 + k

    if data[:1] != b"\x30":
        raise ValueError("not a DER sequence")
    end, i = length(1)
    end += i
    out = []
    while i < end:
        if data[i] != 0x02:
            raise ValueError("not a sequence of integers")
        n, i = length(i + 1)
        out.append(int.from_bytes(data[i:i + n], "big"))
        i += n
    return out


def _pem(kind, der):
    b64 = base64.b64encode(der).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return "\n".join([f"-----BEGIN {kind}-----", *lines, f"-----END {kind}-----", ""])


def _unpem(text, kind):
    head, foot = f"-----BEGIN {kind}-----", f"-----END {kind}-----"
    if head not in text or foot not in text:
        raise ValueError(f"no {kind} block")
    return base64.b64decode("".join(text.split(head, 1)[1].split(foot, 1)[0].split()))


def private_key(create=True, path=None, public=None):
    """(n, d) of the project's release key; made on first use when create is set (and its public
    half written beside it). Raises Failure with what to do when it cannot be read."""
    path, public = Path(path or PRIVATE), Path(public or PUBLIC)
    if not path.exists():
        if not create:
            raise Failure(f"no release key at {path}: `python -m tools release` makes one")
        key = generate()
        der = _der_seq([0, *key])  # version 0, then n e d p q dp dq qinv (RFC 8017, A.1.2)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(_pem("RSA PRIVATE KEY", der))
        public.write_text(_pem("RSA PUBLIC KEY", _der_seq([key[0], E])))
        print(f"made a new release key: {path} (keep it secret and backed up, never in git); "
              f"its public half {public.name} goes into every build")
    try:
        values = _der_read(_unpem(path.read_text(), "RSA PRIVATE KEY"))
        n, e, d = values[1:4]
    except (OSError, ValueError, IndexError) as err:
        raise Failure(f"release key {path} is unreadable ({err}): restore it from your backup") from None
    if e != E:
        raise Failure(f"release key {path} has exponent {e}; boards check e = {E}: make a new key")
    pub = public_key(public)
    if pub != n:
        raise Failure(f"{public.name} is not the public half of {path.name}: restore {public.name} from git, "
                      "or if the key is new on purpose, remove the stale file and run release again")
    return n, d


def public_key(path=None):
    """n of the project's release key (release-key.pub), or None when the project has none yet."""
    path = Path(path or PUBLIC)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise Failure(f"{path} is unreadable ({err}): restore it from git") from None
    try:
        n, e = _der_read(_unpem(text, "RSA PUBLIC KEY"))
    except (ValueError, IndexError) as err:
        raise Failure(f"{path} is not an RSA public key ({err}): restore it from git") from None
    if e != E:
        raise Failure(f"{path} has exponent {e}; boards check e = {E}")
    return n


def _encoded(message, size):
    """The PKCS#1 v1.5 block of SHA-256(message) for a key of `size` bytes, as an integer."""
    t = SHA256_INFO + hashlib.sha256(message).digest()
    return int.from_bytes(b"\x00\x01" + b"\xff" * (size - 3 - len(t)) + b"\x00" + t, "big")


def sign(message, n, d):
    """The signature of message (bytes) as hex, as long as n."""
    size = (n.bit_length() + 7) // 8
    return pow(_encoded(message, size), d, n).to_bytes(size, "big").hex()


def verify(message, signature_hex, n):
    """The host's twin of the board's check (lib/runtime/ota.py)."""
    size = (n.bit_length() + 7) // 8
    try:
        s = int(signature_hex, 16)
    except ValueError:
        return False
    return len(signature_hex) == 2 * size and s < n and pow(s, E, n) == _encoded(message, size)


def key_module(n):
    """lib/runtime/otakey: what a board needs to check a release."""
    return f"# Written by the build from release-key.pub: the release key's modulus (e = {E}).\nN = {n:#x}\n"
