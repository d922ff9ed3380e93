# Over-the-air updates: signed releases from `python -m tools release`, served
# over HTTP at config ota_url, downloaded into .ota/new/ and checked, then
# switched to with a journal (runtime/ota_switch, which also rolls a version
# back on its own when it does not run stably). Imported by runtime/heartbeat
# only when ota_url is set: a board without OTA never loads this module.
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
from runtime.ota_http import fetch_json, get
from runtime.ota_switch import DIR, NEW, OLD, STATE, SWITCH, exists, finish_switch, makedirs, rmtree, state, write_json
from runtime.ota_verify import hexsum, verify

_MAX_MANIFEST = const(32768)
_MARGIN = const(8192)  # flash kept free beyond the staged files (logs, the journal)
MANIFEST = DIR + "/manifest.json"


def due(ctx, at):
    # runtime/heartbeat calls this at tick 1, at the stable tick and once ticks_ms
    # reaches `at`; it returns when the next check is due. The module forgets
    # itself on the way out: between checks its code holds no heap.
    try:
        u = Updater(ctx)
        if ctx.tick == 1:
            u.report()
        if ctx.tick == 10:  # runtime/heartbeat's stable boot: the version is good
            u.stable()
        if time.ticks_diff(time.ticks_ms(), at) >= 0:
            at = time.ticks_add(time.ticks_ms(), ctx.config["ota_check_ms"])
            u.run()
        return at
    finally:
        __import__("runtime").forget("ota", "ota_http", "ota_verify", "ota_switch", "otakey")


class Updater:
    def __init__(self, ctx):
        self.ctx = ctx
        self.url = ctx.config["ota_url"].rstrip("/") + "/" + target.BOARD + "/"

    def report(self):
        st = state()
        said = st.pop("event", None)
        if said:  # what the boot did (runtime/ota_switch), for the log: boot-time prints go unheard on USB
            (self.ctx.log.warning if said.startswith("rolled") else self.ctx.log.info)("ota: %s", said)
            write_json(STATE, st)
        self.ctx.log.info("ota: running %s", st.get("version", "the deployed build"))

    def stable(self):
        st = state()
        if st.get("trial") is not None:
            del st["trial"]
            write_json(STATE, st)
            self.ctx.log.info("ota: %s runs stably; it stays", st["version"])

    def run(self):
        if self.ctx.net and not self.ctx.net.isconnected():
            return
        try:
            if self.check():
                self.ctx.reset("ota: switching to the new version")
        except Exception as e:  # a bad release or a dropped link: the app goes on
            self.ctx.log.warning("ota: %s", e)
        finally:
            if not exists(SWITCH):
                rmtree(NEW[:-1])
            gc.collect()

    def check(self):
        # True when a new version was switched to and the board must reset.
        log, feed = self.ctx.log, self.ctx.feed
        p = json.loads(fetch_json(self.url + "latest.json", feed))
        st = state()
        serial, version = p["serial"], p["version"]
        if serial <= st.get("serial", 0) or serial in st.get("bad", ()):
            return False  # nothing newer (an older release replayed is refused here too)
        try:
            from runtime import otakey  # written by the build once the project has a release key
        except ImportError:
            raise OSError("this build has no release key: deploy one made after `python -m tools release`") from None

        text = ("ota1 %s %s %d %s" % (p["board"], version, serial, p["manifest"])).encode()
        if p["board"] != target.BOARD or not verify(text, p.get("sig", ""), otakey.N):
            raise OSError("latest.json: bad signature, release refused")
        want = p["manifest"]
        del p, text
        gc.collect()  # the manifest is the largest thing a check holds
        # To flash, then parsed from there: no buffer as big as the manifest in the heap.
        if self.fetch(version + "/manifest.json", MANIFEST, _MAX_MANIFEST) != want:
            raise OSError("manifest of %s does not match its signature, release refused" % version)
        with open(MANIFEST) as f:
            m = json.load(f)
        mpy = getattr(__import__("sys").implementation, "_mpy", 0) & 0xFF
        if m["mpy"] and mpy and m["mpy"][0] != mpy:
            raise OSError("%s is .mpy v%d, this firmware loads v%d: update it by cable" % (version, m["mpy"][0], mpy))
        log.info("ota: %s (release %d) found, downloading", version, serial)
        return self.stage(m, serial, st)

    def stage(self, m, serial, st):
        rmtree(NEW[:-1])
        want = []
        for f in m["files"]:  # only the files that differ travel
            self.ctx.feed()
            if not exists(f["path"]) or hexsum(f["path"]) != f["sha256"]:
                want.append(f)
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
        if self.fetch(version + "/files/" + f["path"], NEW + f["path"], f["size"]) != f["sha256"]:
            raise OSError("%s of %s does not match the manifest, release refused" % (f["path"], version))

    def fetch(self, name, path, size):
        # name (under the board's release folder) into the file path, at most size bytes; its sha256.
        makedirs(path)
        h, left = hashlib.sha256(), [size]
        with open(path, "wb") as out:
            def sink(b):
                left[0] -= len(b)
                if left[0] < 0:  # never more than the manifest says: the flash was counted for it
                    raise OSError("%s is longer than the manifest says, release refused" % name)
                h.update(b)
                out.write(b)

            get(self.url + name, sink, self.ctx.feed)
        return "".join("%02x" % b for b in h.digest())
