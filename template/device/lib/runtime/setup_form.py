# What a client sends to the setup page: the request head and the form.
#
# Form values are decoded into one buffer and checked (length, UTF-8, no
# control characters). A problem names the field, never the value (it may be
# a password). runtime/provision loads this module for one request and drops
# it after; the form's UTF-8 check (runtime/jsonscan) loads only for a form.
from micropython import const

SSID_MAX = const(32)  # bytes, 802.11
PASSWORD_MAX = const(64)  # bytes, WPA2: 8..63 characters or 64 hex digits


def blank_line(buf, start, end):
    # Index just past the first CR LF CR LF in buf[:end], searching from start; -1 if none.
    i = max(start - 3, 3)
    while i < end:
        if buf[i] == 10 and buf[i - 1] == 13 and buf[i - 2] == 10 and buf[i - 3] == 13:
            return i + 1
        i += 1
    return -1


def parse_head(buf, end):
    # (method, path, Content-Length or -1, Content-Type) of the request head in
    # buf[:end], read one line at a time; ValueError when it is not HTTP.
    first, length, kind = None, -1, b""
    pos = 0
    while pos < end - 2:  # up to the blank line
        eol = pos
        while buf[eol] != 13 or buf[eol + 1] != 10:
            eol += 1
        line = bytes(buf[pos:eol])
        pos = eol + 2
        if first is None:
            first = line
            continue
        colon = line.find(b":")
        key = line[:colon].strip().lower()
        if key == b"content-length":
            length = int(line[colon + 1:].strip())
            if length < 0:
                raise ValueError
        elif key == b"content-type":
            kind = line[colon + 1:].split(b";")[0].strip().lower()
    parts = (first or b"").split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
        raise ValueError
    return parts[0], parts[1].split(b"?")[0], length, kind


def _hex(c):
    if 48 <= c <= 57:
        return c - 48
    c |= 32  # lower case
    if 97 <= c <= 102:
        return c - 87
    raise ValueError


def decode_field(raw, out, limit):
    # One form value ('+' a space, %XX a byte) into `out`, at most `limit` bytes,
    # strict UTF-8 without control characters (C0, DEL, C1, U+2028/9), else
    # ValueError. MicroPython's str() lets overlong forms and surrogates through.
    n = i = 0
    while i < len(raw):
        c = raw[i]
        if c == 43:  # +
            c = 32
        elif c == 37:  # %
            if i + 2 >= len(raw):
                raise ValueError
            c = _hex(raw[i + 1]) * 16 + _hex(raw[i + 2])
            i += 2
        if n >= limit or c < 32 or c == 127:
            raise ValueError
        out[n] = c
        n += 1
        i += 1
    from runtime.jsonscan import utf8  # the config's own UTF-8 check (loaded for a form only)

    b = memoryview(out)[:n]
    i = 0
    while i < n:
        j = utf8(b, i)
        c = b[i + 1] if j > i + 1 else 0
        if j < 0 or (b[i] == 0xC2 and c < 0xA0) or (b[i] == 0xE2 and c == 0x80 and b[i + 2] in (0xA8, 0xA9)):
            raise ValueError
        i = j
    return str(b, "utf-8")


def parse_form(body, out, names=()):
    # ({key: text}, None) or (None, problem): ssid and password as wifi_*, and `names`.
    form = {}
    for pair in body.split(b"&"):
        eq = pair.find(b"=")
        name, raw = (pair, b"") if eq < 0 else (pair[:eq], pair[eq + 1:])
        key = "wifi_" + str(name, "utf-8") if name in (b"ssid", b"password") else None
        for known in names:
            if known.encode() == name:
                key = known
        if key is None or key in form:  # a field the page does not have, or a second one
            continue
        limit = SSID_MAX if name == b"ssid" else PASSWORD_MAX
        try:
            form[key] = decode_field(raw, out, limit)
        except ValueError:
            return None, "%s: bad encoding, a control character, or over %d bytes" % (str(name, "utf-8"), limit)
    if "wifi_ssid" not in form or "wifi_password" not in form:
        return None, "the form needs the fields ssid and password"
    if not form["wifi_ssid"].strip():
        return None, "the network name is empty"
    if 0 < len(form["wifi_password"]) < 8:
        return None, "a Wi-Fi password has at least 8 characters (empty: an open network)"
    return form, None
