# config.json: the device's settings, checked against the defaults.
#
# The defaults come from config.example.json (compiled into runtime/target by
# `python -m tools build`). A key missing from config.json takes its default; a
# key of the wrong type, or a file that is not JSON, means setup mode with a
# message naming the problem, and the bad file is kept as config.json.bad.
# Saving writes config.json.tmp, closes it, then renames it over config.json
# (atomic on littlefs); a .tmp left by a reset is promoted at the next boot if
# it is valid.
import json
import os

# Settings that take one of a few words.
CHOICES = {
    "log_level": ("DEBUG", "INFO", "WARNING", "ERROR"),
    "wifi_on_fail": ("offline", "retry", "sleep"),
}
PATH = "config.json"
TMP = PATH + ".tmp"
BAD = PATH + ".bad"


# Counts that must be at least this much (every *_ms setting must be at least 1).
MINIMUM = {"max_failures": 1, "mem_report_ticks": 0}


def check(data, defaults, required=(), watchdog_ms=None):
    # Return (config, problem): the merged settings, or None and a one-line reason.
    # watchdog_ms: None without a watchdog, else the board's longest timeout (0: no limit).
    if not isinstance(data, dict):
        return None, "config.json must hold a JSON object {...}"
    conf = dict(defaults)
    for key, value in data.items():
        if key in defaults and defaults[key] is not None:  # a null default takes any value
            want = type(defaults[key])
            if type(value) is not want and not (want is float and type(value) is int):
                return None, "config.json: %s should be %s, not %r" % (key, want.__name__, value)
            if key in CHOICES and value not in CHOICES[key]:
                return None, "config.json: %s should be one of %s, not %r" % (key, ", ".join(CHOICES[key]), value)
            least = MINIMUM.get(key, 1 if key.endswith("_ms") else None)
            if least is not None and value < least:
                return None, "config.json: %s should be at least %d, not %r" % (key, least, value)
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


def _read(path, defaults, required, watchdog_ms):
    with open(path) as f:
        try:
            data = json.load(f)
        except (ValueError, MemoryError, RuntimeError):  # not JSON, or too big or deep for the heap
            return None, "config.json is not valid JSON"
    return check(data, defaults, required, watchdog_ms)


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def load(defaults, required=(), watchdog_ms=None):
    # Return (config, None) or (None, problem). Never raises: a bad file means setup mode.
    try:
        return _load(defaults, required, watchdog_ms)
    except Exception as e:  # e.g. a read-only or failing flash
        return None, "config.json could not be read (%r)" % e


def _load(defaults, required, watchdog_ms):
    try:
        conf, problem = _read(PATH, defaults, required, watchdog_ms)
    except OSError:
        conf, problem = None, "no config.json"
    if conf is None:
        # An interrupted save may have left a good config.json.tmp.
        try:
            conf, _ = _read(TMP, defaults, required, watchdog_ms)
        except OSError:
            pass
        if conf is not None:
            if problem != "no config.json":
                _keep_aside()
            _remove(PATH)  # FAT cannot rename over an existing file
            os.rename(TMP, PATH)
            return conf, None
        _remove(TMP)
        if problem != "no config.json":
            _keep_aside()
            problem += " (kept as %s)" % BAD
        return None, problem
    _remove(TMP)
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
