# Over-the-air updates: signed releases from `python -m tools release`, served
# over HTTP at config ota_url, installed with a journal and rolled back on their
# own when a new version does not run stably. Imported only when ota_url is set
# (runtime/heartbeat) or an update is under way (boot.py): a board without OTA
# never loads this module.
#
# On the flash (all under .ota/; config.json, logs and your files are never touched):
#   state.json   what runs: version, release number, the last switch (to undo
#                it), boots on probation, the release numbers marked bad
#   new/         the staged files of the next version, each checked (sha256)
#   old/         the files the last switch replaced: the way back
#   switch.json  the journal of a switch under way (forward or back); boot.py
#                carries it out if a reset interrupts it
#
# Trust: latest.json's signature (RSA-2048, PKCS#1 v1.5, SHA-256) covers the
# board, version, release number and the manifest's sha256; the manifest names
# every file's sha256. See docs/ota.md for the threat model.
import gc
import hashlib
import json
import os
import time

from micropython import const

from runtime import target

DIR = ".ota"
STATE = DIR + "/state.json"
SWITCH = DIR + "/switch.json"
NEW = DIR + "/new/"
OLD = DIR + "/old/"
_PROBATION_BOOTS = const(2)  # boots a new version has to run stably, else it is undone
_CHUNK = const(512)
_MARGIN = const(8192)  # flash kept free beyond the staged files (logs, the journal)
# DER of the DigestInfo that names SHA-256 (RFC 8017, 9.2): the start of what a signature holds.
_SHA256_INFO = b"010\r\x06\t`\x86H\x01e\x03\x04\x02\x01\x05\x00\x04 "


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


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


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except Exception:  # missing or half written: none
        return None


def write_json(path, data):
    # tmp, close, rename: atomic on littlefs.
    makedirs(path)
    with open(path + ".tmp", "w") as f:
        json.dump(data, f)
    os.rename(path + ".tmp", path)


def makedirs(path):
    # The folders of a file's path.
    i = path.find("/")
    while i > 0:
        if not exists(path[:i]):
            os.mkdir(path[:i])
        i = path.find("/", i + 1)


def rmtree(d):
    if not exists(d):
        return
    for e in list(os.ilistdir(d)):
        p = d + "/" + e[0]
        if e[1] & 0x4000:
            rmtree(p)
        else:
            os.remove(p)
    os.rmdir(d)


def state():
    return read_json(STATE) or {}


# The switch: renames only, in an order a reset can interrupt anywhere. Each step
# checks what is there, so doing it again finishes it: boot.py does that.
def _forward(j):
    for p in j["drop"] + j["put"]:  # the old files to old/ first: if a reset cuts
        if p not in j["add"] and exists(p) and not exists(OLD + p):  # in, the way back is whole
            makedirs(OLD + p)
            os.rename(p, OLD + p)
    for p in j["put"]:  # boot.py and main.py last (the release orders them so)
        if exists(NEW + p):
            makedirs(p)
            os.rename(NEW + p, p)


def _back(j):
    for p in j["put"]:
        if p in j["add"]:
            if exists(p):
                os.remove(p)
        elif exists(OLD + p):
            os.rename(OLD + p, p)
    for p in j["drop"]:
        if exists(OLD + p):
            os.rename(OLD + p, p)


def finish_switch():
    # Carry out the journal, then record the result; the journal goes last.
    j = read_json(SWITCH)
    if j is None:  # a reset while the journal itself was written: no switch began
        if exists(SWITCH):
            os.remove(SWITCH)
        return None
    st = state()
    if j["back"]:
        _back(j)
        bad = st.get("bad", [])
        if j["serial"] not in bad:
            bad = (bad + [j["serial"]])[-8:]
        st = {"version": j["from"], "serial": j["from_serial"], "bad": bad, "event": j["why"]}
    else:
        _forward(j)
        st = {"version": j["version"], "serial": j["serial"], "bad": st.get("bad", []), "last": j,
              "trial": 0, "event": "installed %s (release %d)" % (j["version"], j["serial"])}
    write_json(STATE, st)
    os.remove(SWITCH)
    return st


def roll_back(why):
    # Back to the files the last switch replaced; that release is never tried again.
    st = state()
    j = st.get("last")
    if not j:
        return False
    j["back"], j["why"] = 1, "rolled back %s (release %d) to %s: %s" % (j["version"], j["serial"], j["from"], why)
    write_json(SWITCH, j)
    finish_switch()
    return True


def at_boot():
    # boot.py, when .ota/ exists: finish a switch a reset interrupted, count a boot on
    # probation, undo a version that did not run stably. Returns a line for the console, or None.
    if exists(SWITCH):
        st = finish_switch()
        if st and st.get("trial") is None:  # a roll-back just finished
            return st["event"]
    st = state()
    if st.get("trial") is None:
        return None
    st["trial"] += 1
    if st["trial"] > _PROBATION_BOOTS:
        roll_back("it did not run stably in %d boots" % _PROBATION_BOOTS)
        try:
            os.remove("boot_count")  # the crashes were the new version's (runtime/safety)
        except OSError:
            pass
        return state()["event"]
    write_json(STATE, st)
    return None


def get(url, sink, feed):
    # HTTP/1.0 GET of an http:// URL; the body goes to sink(bytes). Raises OSError.
    import socket

    if not url.startswith("http://"):
        raise OSError("only http:// URLs (the signature protects them)")
    host, _, path = url[7:].partition("/")
    host, _, port = host.partition(":")
    addr = socket.getaddrinfo(host, int(port or 80), 0, socket.SOCK_STREAM)[0][-1]
    s = socket.socket()
    try:
        s.settimeout(10)
        s.connect(addr)
        s.write(("GET /%s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, host)).encode())
        status = s.readline()
        if b" 200 " not in status:
            raise OSError("%s: %s" % (url, str(status.strip(), "utf-8") or "no answer"))
        while s.readline() not in (b"\r\n", b"\n", b""):
            pass
        buf = bytearray(_CHUNK)
        while True:
            feed()
            n = s.readinto(buf)
            if not n:
                break
            sink(memoryview(buf)[:n])
    finally:
        s.close()


def fetch_json(url, feed, limit=16384):
    parts = []

    def sink(b):
        parts.append(bytes(b))
        if len(parts) * _CHUNK > limit:
            raise OSError("%s is over %d bytes" % (url, limit))

    get(url, sink, feed)
    return b"".join(parts)


class Updater:
    # Held by the heartbeat (ctx.ota) when ota_url is set: checks at boot and every
    # ota_check_ms, marks a version on probation good once the boot is stable.
    def __init__(self, ctx):
        self.ctx = ctx
        self.url = ctx.config["ota_url"].rstrip("/") + "/" + target.BOARD + "/"
        self.every = ctx.config["ota_check_ms"]
        self.next = time.ticks_ms()  # at boot
        st = state()
        if st.get("event"):  # what boot.py did, for the log (its own prints are often unheard)
            ctx.log.warning("ota: %s", st.pop("event"))
            write_json(STATE, st)
        ctx.log.info("ota: running %s", st.get("version", "the deployed build"))

    def tick(self):
        if self.ctx.tick == 10:  # runtime/heartbeat's stable boot: the version is good
            st = state()
            if st.get("trial") is not None:
                del st["trial"]
                write_json(STATE, st)
                self.ctx.log.info("ota: %s runs stably; it stays", st["version"])
        if time.ticks_diff(time.ticks_ms(), self.next) < 0:
            return
        self.next = time.ticks_add(time.ticks_ms(), self.every)
        if self.ctx.net and not self.ctx.net.isconnected():
            return
        try:
            if self.check():
                self.ctx.reset("ota: switching to the new version")
        except Exception as e:  # a bad release or a dropped link: the app goes on
            self.ctx.log.warning("ota: %s", e)
        finally:
            rmtree(NEW[:-1]) if not exists(SWITCH) else None
            gc.collect()

    def check(self):
        # True when a new version was switched to and the board must reset.
        log, feed = self.ctx.log, self.ctx.feed
        p = json.loads(fetch_json(self.url + "latest.json", feed))
        st = state()
        serial, version = p["serial"], p["version"]
        if serial <= st.get("serial", 0) or serial in st.get("bad", ()):
            return False  # nothing newer (an older release replayed is refused here too)
        from runtime import otakey

        text = ("ota1 %s %s %d %s" % (p["board"], version, serial, p["manifest"])).encode()
        if p["board"] != target.BOARD or not verify(text, p["sig"], otakey.N):
            raise OSError("latest.json: bad signature, release refused")
        data = fetch_json(self.url + version + "/manifest.json", feed)
        if "".join("%02x" % b for b in hashlib.sha256(data).digest()) != p["manifest"]:
            raise OSError("manifest of %s does not match its signature, release refused" % version)
        m = json.loads(data)
        del data
        mpy = getattr(__import__("sys").implementation, "_mpy", 0) & 0xFF
        if m["mpy"] and mpy and m["mpy"][0] != mpy:
            raise OSError("%s is .mpy v%d, this firmware loads v%d: update it by cable" % (version, m["mpy"][0], mpy))
        log.info("ota: %s (release %d) found, downloading", version, serial)
        return self.stage(m, serial, st)

    def stage(self, m, serial, st):
        feed = self.ctx.feed
        rmtree(NEW[:-1])
        want = [f for f in m["files"] if not exists(f["path"]) or hexsum(f["path"]) != f["sha256"]]
        need = sum(f["size"] for f in want) + _MARGIN
        fs = os.statvfs(".")
        if fs[0] * fs[3] < need:
            raise OSError("%s needs %d bytes of flash, %d free: update refused" % (m["version"], need, fs[0] * fs[3]))
        for f in want:
            self.download(m["version"], f)
        keep = [f["path"] for f in m["files"]]
        old = st.get("last")
        drop = [p for p in (old["put"] if old else ()) if p not in keep and exists(p)]
        put = [f["path"] for f in want]
        put.sort(key=lambda p: p in ("boot.py", "main.py"))  # the two that boot, last
        st.pop("last", None)  # old/ goes: the last switch can no longer be undone
        write_json(STATE, st)
        rmtree(OLD[:-1])
        j = {"back": 0, "put": put, "add": [p for p in put if not exists(p)], "drop": drop,
             "version": m["version"], "serial": serial, "from": st.get("version", "the deployed build"),
             "from_serial": st.get("serial", 0)}
        write_json(SWITCH, j)  # from here on the switch happens, now or at the next boot
        if self.ctx.config["ota_install"] == "boot":
            self.ctx.log.info("ota: %s staged; it is installed at the next boot", m["version"])
            return False
        finish_switch()
        return True

    def download(self, version, f):
        path = NEW + f["path"]
        makedirs(path)
        h = hashlib.sha256()
        with open(path, "wb") as out:
            def sink(b):
                h.update(b)
                out.write(b)

            get(self.url + version + "/files/" + f["path"], sink, self.ctx.feed)
        if "".join("%02x" % b for b in h.digest()) != f["sha256"]:
            raise OSError("%s of %s does not match the manifest, release refused" % (f["path"], version))
