"""The release key: RSA-2048, signatures PKCS#1 v1.5 over SHA-256 (RFC 8017, 8.2), e = 65537.

Why RSA: a board checks a signature with one modular power, s ** 65537 mod n, which is 16
squarings and one product of 2048-bit integers: MicroPython's long ints do it on an ESP8266's
heap (lib/runtime/ota_verify.py). Elliptic-curve checks would need far more code and memory there.

The host side (making the key, signing) is the `cryptography` package's. The private key is a
standard PKCS#1 PEM file (`openssl rsa -in FILE -check` reads it), written once with mode 0600
to a path git ignores; its public half (release-key.pub, in git) gives the board only n
(lib/runtime/otakey, written by the build).
"""
import os
from pathlib import Path

from .project import ROOT, Failure

PRIVATE = ROOT / ".release-key.pem"  # never in git (.gitignore); mode 0600
PUBLIC = ROOT / "release-key.pub"  # in git: every build of the project carries it
E = 65537
BITS = 2048


def _crypto():
    # Loaded when a key is used, not by every build of a project without one.
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    return InvalidSignature, hashes, serialization, padding, rsa


def private_key(create=True, path=None, public=None):
    """The project's release key (made on first use when create is set, its public half written
    beside it). Raises Failure with what to do when it cannot be read."""
    _, _, serialization, _, rsa = _crypto()
    path, public = Path(path or PRIVATE), Path(public or PUBLIC)
    if not path.exists():
        if not create:
            raise Failure(f"no release key at {path}: `python -m tools release` makes one")
        key = rsa.generate_private_key(public_exponent=E, key_size=BITS)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                         serialization.PublicFormat.PKCS1))
        print(f"made a new release key: {path} (keep it secret and backed up, never in git); "
              f"its public half {public.name} goes into every build")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as err:
        raise Failure(f"release key {path} is unreadable ({err}): restore it from your backup") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise Failure(f"release key {path} is not an RSA key: boards check RSA signatures; make a new key")
    numbers = key.public_key().public_numbers()
    if numbers.e != E:
        raise Failure(f"release key {path} has exponent {numbers.e}; boards check e = {E}: make a new key")
    if public_key(public) != numbers.n:
        raise Failure(f"{public.name} is not the public half of {path.name}: restore {public.name} from git, "
                      "or if the key is new on purpose, remove the stale file and run release again")
    return key


def public_key(path=None):
    """n of the project's release key (release-key.pub), or None when the project has none yet."""
    path = Path(path or PUBLIC)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise Failure(f"{path} is unreadable ({err}): restore it from git") from None
    _, _, serialization, _, rsa = _crypto()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as err:
        raise Failure(f"{path} is not an RSA public key ({err}): restore it from git") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise Failure(f"{path} is not an RSA public key: restore it from git")
    numbers = key.public_numbers()
    if numbers.e != E:
        raise Failure(f"{path} has exponent {numbers.e}; boards check e = {E}")
    return numbers.n


def sign(message, key):
    """The signature of message (bytes) as hex, as long as the key's n."""
    _, hashes, _, padding, _ = _crypto()
    return key.sign(message, padding.PKCS1v15(), hashes.SHA256()).hex()


def verify(message, signature_hex, n):
    """The host's check, as the board makes it (lib/runtime/ota_verify.py)."""
    invalid, hashes, _, padding, rsa = _crypto()
    size = (n.bit_length() + 7) // 8
    try:
        signature = bytes.fromhex(signature_hex)
    except ValueError:
        return False
    if len(signature) != size:
        return False
    try:
        rsa.RSAPublicNumbers(E, n).public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except invalid:
        return False
    return True


def key_module(n):
    """lib/runtime/otakey: what a board needs to check a release."""
    return f"# Written by the build from release-key.pub: the release key's modulus (e = {E}).\nN = {n:#x}\n"
