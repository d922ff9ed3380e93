# Over-the-air updates, the part that runs at boot: the switch between two
# versions and its undoing (runtime/ota downloads and checks a release first).
# runtime/safety calls at_boot() only when the folder .ota/ exists: a board
# without OTA never loads this module.
#
# On the flash (all under .ota/; config.json, logs and your files are never touched):
#   state.json   what runs: version, release number, the last switch (to undo
#                it), boots on probation, the release numbers marked bad
#   new/         the staged files of the next version, each checked (sha256)
#   old/         the files the last switch replaced: the way back
#   switch.json  the journal of a switch under way (forward or back); the next
#                boot carries it out if a reset interrupts it
#
# The switch is renames only, in an order a reset can cut anywhere: each step
# looks at what is there, so doing it again finishes it. Until the journal is
# written the old version is whole; from then on, every boot completes it.
import json
import os

from micropython import const

DIR = ".ota"
STATE = DIR + "/state.json"
SWITCH = DIR + "/switch.json"
NEW = DIR + "/new/"
OLD = DIR + "/old/"
_PROBATION_BOOTS = const(2)  # boots a new version has to run stably, else it is undone


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


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
            bad = (bad + [j["serial"]])[-8:]  # noqa: RUF005 (MicroPython has no [*x, y])
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
    # runtime/safety, when .ota/ exists: finish a switch a reset interrupted, count a boot on
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
