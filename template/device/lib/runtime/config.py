# config.json: the device's settings, checked against the defaults.
#
# The defaults come from config.example.json (compiled into runtime/schema by
# `python -m tools build`). A key missing from config.json takes its default; a
# value of the wrong type or out of its range, or a file that is not strict
# JSON (runtime/jsonscan), means setup mode with a message naming the problem,
# and the bad file is kept as config.json.bad. Saving writes config.json.tmp,
# closes it, then renames it over config.json (atomic on littlefs); a .tmp left
# by a reset is promoted at the next boot if it is valid.
#
# parse() is the one validator: the board runs it at boot, and the host tools
# (`deploy`, `config`, `config --push`) run this same file under CPython on the
# bytes they would send, with the board's build facts, before anything is
# written. So the host accepts exactly what the board accepts.
import json
import os

from runtime.jsonscan import scan

# Settings that take one of a few words.
CHOICES = {
    "log_level": ("DEBUG", "INFO", "WARNING", "ERROR"),
    "wifi_on_fail": ("offline", "retry", "sleep"),
    "ota_install": ("now", "boot"),  # over-the-air updates (runtime/ota): switch at once, or at the next boot
}
PATH = "config.json"
TMP = PATH + ".tmp"
BAD = PATH + ".bad"

# The range of every number. *_ms settings take 1..MS_MAX unless listed: 2**29 - 1,
# so time.ticks_add(now, ms) never leaves a 32-bit board's small ints (ticks wrap
# at 2**30). Plain numbers, not const(): the host tools run this file too.
MS_MAX = 0x1FFFFFFF
RANGES = {"max_failures": (1, 1000), "mem_report_ticks": (0, MS_MAX), "ota_check_ms": (60000, MS_MAX)}
MAX_BYTES = 4096  # a longer config.json is refused: a small board's heap
MAX_DEPTH = 10  # arrays and objects nested deeper are refused


def rules(target, schema):
    # parse()'s arguments after the data, for a build's runtime/target and runtime/schema: the
    # defaults (the runtime's and the app's), the keys that must not be empty, the watchdog's
    # limit, the app's ranges and choices, the keys whose values are never shown.
    return (schema.DEFAULTS, schema.REQUIRED, (target.WDT_MAX_MS or 0) if target.WATCHDOG else None,
            schema.RANGES, schema.CHOICES, schema.SECRETS)


def parse(data, *rules):
    # (config, problem) for the bytes of a config.json. The strict scan comes
    # first: MicroPython's json takes trailing commas and bad UTF-8, CPython's
    # takes NaN, and both must see only what both accept alike.
    if len(data) > MAX_BYTES:
        return None, "config.json is over %d bytes" % MAX_BYTES
    if data[:3] == b"\xef\xbb\xbf":
        return None, "config.json starts with a byte order mark: save it as UTF-8 without one"
    at = scan(data, MAX_DEPTH)
    if at >= 0:
        return None, "config.json is not valid JSON (at byte %d)" % at
    try:
        obj = json.loads(data)  # bytes: no copy as a str (the scan proved them UTF-8)
    except Exception:  # MemoryError on a small heap
        return None, "config.json could not be parsed in this heap"
    return check(obj, *rules)


def check(data, defaults, required=(), watchdog_ms=None, ranges=None, choices=None, secrets=()):
    # Return (config, problem): the merged settings, or None and a one-line reason naming the key.
    # watchdog_ms: None without a watchdog, else the board's longest timeout (0: no limit).
    # ranges, choices: the app's own (app-settings.json), beside the runtime's RANGES and CHOICES.
    # A secret's value is never part of a problem.
    if not isinstance(data, dict):
        return None, "config.json must hold a JSON object {...}"
    conf = dict(defaults)
    for key, value in data.items():
        if key in defaults and defaults[key] is not None:  # a null default takes any value
            shown = "its value (a secret: not shown)" if key in secrets else repr(value)
            words = (choices and choices.get(key)) or CHOICES.get(key)
            if words and value not in words:
                return None, "config.json: %s should be one of %s, not %s" % (
                    key, ", ".join(str(w) for w in words), shown)
            want = type(defaults[key])
            ok = type(value) is want or (want is float and type(value) is int)
            want = want.__name__
            if want in ("int", "float"):
                lo, hi = (ranges and ranges.get(key)) or RANGES.get(key) or (
                    (1, MS_MAX) if key.endswith("_ms") else (-1e300, 1e300))
                ok = ok and lo <= value <= hi  # never inf or nan
                if hi < 1e300:
                    want += " from %r to %r" % (lo, hi) if lo > -1e300 else " up to %r" % hi
                elif lo > -1e300:
                    want += " of at least %r" % lo
            if not ok:
                return None, "config.json: %s should be %s, not %s" % (key, want, shown)
            if key == "ota_url" and value and str(value).split("://")[0] not in ("http", "https"):  # runtime/ota
                return None, "config.json: ota_url should start with http:// or https://, or be empty, not %s" % shown
        conf[key] = value
    for key in required:
        if not conf.get(key):
            return None, "config.json: %s is empty" % key
    if watchdog_ms is not None and "watchdog_ms" in conf and "loop_interval_ms" in conf:
        limit = conf["watchdog_ms"]
        if watchdog_ms and limit > watchdog_ms:
            limit = watchdog_ms
        if conf["loop_interval_ms"] >= limit:
            return None, "config.json: loop_interval_ms %d must be shorter than the watchdog's %d ms" % (
                conf["loop_interval_ms"], limit)
    return conf, None


def read(path):
    # The file's bytes, read at the file's own size (a small file takes a small
    # buffer), or MAX_BYTES + 1 of them when it is longer: parse() refuses it.
    with open(path, "rb") as f:
        return f.read(min(os.stat(path)[6], MAX_BYTES + 1))


def _read(path, rules):
    return parse(read(path), *rules)


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def load(*rules):
    # Return (config, None) or (None, problem). Never raises: a bad file means setup mode.
    # No config.json at all is fine while no setting is required: the defaults then.
    try:
        return _load(rules)
    except Exception as e:  # e.g. a read-only or failing flash
        return None, "config.json could not be read (%r)" % e


def _load(rules):
    missing = False
    try:
        conf, problem = _read(PATH, rules)
    except OSError:
        conf, problem, missing = None, "no config.json", True
    if conf is not None:
        _remove(TMP)
        return conf, None
    # An interrupted save may have left a good config.json.tmp.
    try:
        conf = _read(TMP, rules)[0]
    except OSError:
        pass
    if conf is None:
        _remove(TMP)
        if missing:  # nothing to set aside; while no setting is required, the defaults do
            return (None, problem) if rules[1] else (dict(rules[0]), None)
    if not missing:
        _keep_aside()  # the refused config.json, as config.json.bad
    if conf is None:
        return None, problem + " (kept as %s)" % BAD
    _remove(PATH)  # FAT cannot rename over an existing file
    os.rename(TMP, PATH)
    return conf, None


def _keep_aside():
    _remove(BAD)
    try:
        os.rename(PATH, BAD)
    except OSError:
        pass


def save(conf):
    # Atomic replace: write the temporary file, close it, then rename.
    with open(TMP, "w") as f:
        f.write(json.dumps(conf))
    try:
        os.rename(TMP, PATH)
    except OSError:
        # FAT (pyboard) cannot rename over an existing file.
        _remove(PATH)
        os.rename(TMP, PATH)
