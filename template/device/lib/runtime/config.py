# config.json: the device's settings, checked against the defaults.
#
# The defaults come from config.example.json (compiled into runtime/target by
# `python -m tools build`). A key missing from config.json takes its default; a
# key of the wrong type or out of its range, or a file that is not JSON, means
# setup mode with a message naming the problem, and the bad file is kept as
# config.json.bad. Saving writes config.json.tmp, closes it, then renames it
# over config.json (atomic on littlefs); a .tmp left by a reset is promoted at
# the next boot if it is valid.
#
# parse() is the one validator: the board runs it at boot, and the host tools
# (`deploy`, `config`, `config --push`) run this same file under CPython before
# anything is written, so both always agree on what a config.json is worth.
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

# 2**29 - 1: a time this long added to time.ticks_ms() stays a small int on a
# 32-bit board (ticks wrap at 2**30), so no *_ms setting can overflow the timing.
# (Plain numbers, not const(): the host tools run this file under CPython.)
MS_MAX = 0x1FFFFFFF
# The range of every numeric setting: *_ms settings take 1..MS_MAX unless listed.
RANGES = {"max_failures": (1, 1000), "mem_report_ticks": (0, MS_MAX)}
MAX_BYTES = 4096  # a longer config.json is refused unread: a small board's heap
MAX_DEPTH = 10  # arrays and objects nested deeper are refused


def rules(target):
    # (defaults, required, watchdog_ms) of a build's runtime/target: what parse() checks against.
    return target.DEFAULTS, target.REQUIRED, (target.WDT_MAX_MS or 0) if target.WATCHDOG else None


def parse(data, defaults, required=(), watchdog_ms=None):
    # Return (config, problem) for the bytes of a config.json. MicroPython's json
    # takes more than JSON (trailing commas, raw control characters, bad UTF-8) and
    # CPython's takes NaN: the strict scan first makes every json module agree.
    if len(data) > MAX_BYTES:
        return None, "config.json is over %d bytes" % MAX_BYTES
    if data[:3] == b"\xef\xbb\xbf":
        return None, "config.json starts with a byte order mark: save it as UTF-8 without one"
    at = _scan(data)
    if at >= 0:
        return None, "config.json is not valid JSON (at byte %d)" % at
    try:
        obj = json.loads(str(data, "utf-8"))
    except Exception:  # e.g. MemoryError on a small heap
        return None, "config.json could not be parsed in this heap"
    return check(obj, defaults, required, watchdog_ms)


def check(data, defaults, required=(), watchdog_ms=None):
    # Return (config, problem): the merged settings, or None and a one-line reason.
    # watchdog_ms: None without a watchdog, else the board's longest timeout (0: no limit).
    if not isinstance(data, dict):
        return None, "config.json must hold a JSON object {...}"
    conf = dict(defaults)
    for key, value in data.items():
        if key in defaults and defaults[key] is not None:  # a null default takes any value
            want = type(defaults[key])
            if key in CHOICES and value not in CHOICES[key]:
                return None, "config.json: %s should be one of %s, not %r" % (key, ", ".join(CHOICES[key]), value)
            span = RANGES.get(key) or ((1, MS_MAX) if key.endswith("_ms") else None)
            ok = type(value) is want or (want is float and type(value) is int)
            if ok and want is float:
                ok = value - value == 0  # not inf or nan
            if ok and span and want in (int, float):
                ok = span[0] <= value <= span[1]
            if not ok:
                if span and want in (int, float):
                    want = "%s from %d to %d" % (want.__name__, span[0], span[1])
                else:
                    want = want.__name__
                return None, "config.json: %s should be %s, not %r" % (key, want, value)
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


# The strict scan (RFC 8259): each helper returns the index just past what it
# read, or -1 when the bytes there are not what JSON allows.
def _scan(b):
    # Index of the first byte where b stops being JSON, or -1 when all of it is.
    n = len(b)
    stack = []  # the open brackets
    i, key, value = 0, False, True  # expected next: a member's name, a value, or else , ] } or the end
    while True:
        i = _space(b, i)
        if i >= n:
            return -1 if not (key or value or stack) else n
        c = b[i]
        if key:
            j = _space(b, _string(b, i))
            if j < i or j >= n or b[j] != 58:  # :
                return i
            i, key, value = j + 1, False, True
        elif value:
            if c == 123 or c == 91:  # { [
                if len(stack) >= MAX_DEPTH:
                    return i
                i = _space(b, i + 1)
                if i < n and b[i] == c + 2:  # {} []
                    i, value = i + 1, False
                else:
                    stack.append(c)
                    key = c == 123
                    value = not key
                continue
            j = _string(b, i) if c == 34 else _word(b, i) if c in b"tfn" else _number(b, i)
            if j < 0:
                return i
            i, value = j, False
        elif stack and c == 44:  # ,
            key = stack[-1] == 123
            i, value = i + 1, not key
        elif stack and c == stack[-1] + 2:  # } ]
            stack.pop()
            i += 1
        else:
            return i


def _space(b, i):
    while 0 <= i < len(b) and b[i] in b" \t\r\n":
        i += 1
    return i


def _word(b, i):
    for w in (b"true", b"false", b"null"):
        if b[i:i + len(w)] == w:
            return i + len(w)
    return -1


def _digits(b, i):
    while i < len(b) and 48 <= b[i] <= 57:
        i += 1
    return i


def _number(b, i):
    # -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    n = len(b)
    if b[i] == 45:  # -
        i += 1
    j = _digits(b, i)
    if j == i or (b[i] == 48 and j > i + 1):  # no digit, or a leading zero
        return -1
    if j < n and b[j] == 46:  # .
        i = j + 1
        j = _digits(b, i)
        if j == i:
            return -1
    if j < n and b[j] | 32 == 101:  # e E
        i = j + 1
        if i < n and b[i] in b"+-":
            i += 1
        j = _digits(b, i)
        if j == i:
            return -1
    return j


def _string(b, i):
    # A string: strict UTF-8, no raw control character, only JSON's escapes.
    n = len(b)
    if i < 0 or i >= n or b[i] != 34:
        return -1
    i += 1
    while i < n:
        c = b[i]
        if c == 34:
            return i + 1
        if c == 92:  # backslash
            e = b[i + 1] if i + 1 < n else 0
            if e == 117:  # \uXXXX
                for k in range(i + 2, i + 6):
                    if k >= n or b[k] not in b"0123456789abcdefABCDEF":
                        return -1
                i += 6
            elif e and e in b"\"\\/bfnrt":
                i += 2
            else:
                return -1
        elif c < 32:
            return -1
        else:
            i = utf8(b, i)
            if i < 0:
                return -1
    return -1


def utf8(b, i):
    # Index past the strict UTF-8 character at b[i], or -1: a stray or missing
    # continuation byte, an overlong form (c0 80), a surrogate (ed a0 80) or a
    # code point above U+10FFFF (f4 90 80 80). The setup page uses it too.
    c = b[i]
    if c < 128:
        return i + 1
    if c < 0xC2 or c > 0xF4:
        return -1
    more = 1 if c < 0xE0 else 2 if c < 0xF0 else 3
    cp = c & (0x3F >> more)
    for k in range(i + 1, i + 1 + more):
        if k >= len(b) or b[k] & 0xC0 != 0x80:
            return -1
        cp = cp << 6 | b[k] & 0x3F
    if cp < (0x80, 0x800, 0x10000)[more - 1] or 0xD800 <= cp < 0xE000 or cp > 0x10FFFF:
        return -1
    return i + 1 + more


def _read(path, defaults, required, watchdog_ms):
    with open(path, "rb") as f:
        data = f.read(MAX_BYTES + 1)  # one byte more says "too big"
    return parse(data, defaults, required, watchdog_ms)


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
