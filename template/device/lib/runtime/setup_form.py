# The setup page's HTML, its networks, the parsing of requests and of the form.
#
# Everything shown is escaped; form values are decoded into one buffer, checked
# (length, UTF-8, no control characters) and never echoed back but the network
# name. A problem names the field, never the value (it may be a password).
import network
from micropython import const

from runtime.jsonscan import utf8

SSID_MAX = const(32)  # bytes, 802.11
PASSWORD_MAX = const(64)  # bytes, WPA2: 8..63 characters or 64 hex digits
_NETS_MAX = const(8)  # scanned networks offered on the page

REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
           411: "Length Required", 413: "Content Too Large", 415: "Unsupported Media Type",
           431: "Request Header Fields Too Large", 500: "Internal Server Error"}

_HEAD = ("Connection: close\r\nCache-Control: no-store\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
         "<!DOCTYPE html><meta charset=utf-8><meta name=viewport content='width=device-width,initial-scale=1'>"
         "<style>body{font-family:sans-serif;max-width:22em;margin:1.5em auto;padding:0 1em;overflow-wrap:anywhere}"
         "input,button{display:block;width:100%;box-sizing:border-box;margin:.3em 0 1em;padding:.6em;"
         "font-size:1em}button{background:#00796b;color:#fff;border:0;border-radius:4px}</style>")


def escape(text):
    # HTML-escape text for element content and quoted attribute values.
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#39;")):
        text = text.replace(char, entity)
    return text


def networks():
    # Escaped names of the networks in range, strongest first; [] when scanning fails.
    sta = network.WLAN(network.STA_IF)
    try:
        sta.active(True)
        found = sta.scan()  # (ssid, bssid, channel, RSSI, security, hidden)
        sta.active(False)
    except OSError:
        return []
    found.sort(key=lambda net: -net[3])
    names = []
    for net in found:
        try:
            name = escape(str(net[0], "utf-8"))
        except ValueError:  # not UTF-8: it can still be typed
            continue
        if name and name not in names and len(names) < _NETS_MAX:
            names.append(name)
    return names


# The pages are written to the socket piece by piece, never built whole in memory.
# HTTP/1.0 without Content-Length: the page ends when the connection closes.
def start(cl, status, allow=None):
    cl.write("HTTP/1.0 %d %s\r\n" % (status, REASONS[status]))
    if allow:
        cl.write("Allow: %s\r\n" % allow)
    cl.write(_HEAD)


def form_page(cl, name, nets, fields=()):
    # nets: escaped names. fields: (key, secret, set) per required app setting.
    start(cl, 200)
    cl.write("<title>Wi-Fi setup</title><h1>Wi-Fi setup</h1><p>Connect <b>")
    cl.write(escape(name))
    cl.write("</b> to your Wi-Fi network. ")
    cl.write("%d networks found: pick one or type its name." % len(nets) if nets else "Type the network's name.")
    cl.write("</p><form method=post action=/save><label for=ssid>Network</label>"
             "<input id=ssid name=ssid list=nets maxlength=32 required autocomplete=off><datalist id=nets>")
    for net in nets:
        cl.write("<option value=\"%s\">" % net)
    cl.write("</datalist><label for=password>Password</label>"
             "<input id=password name=password type=password maxlength=64>")
    for key, secret, known in fields:  # no value is shown back: empty keeps it
        cl.write("<label>%s<input name=%s maxlength=64%s%s></label>" % (key, key, " type=password" * secret,
                 " placeholder='set: empty keeps it'" if known else " required"))
    cl.write("<button type=submit>Save and restart</button></form>")


def saved_page(cl, name, ssid, dropped=()):
    start(cl, 200)
    cl.write("<title>Saved</title><h1>Saved</h1><p>The board restarts now and joins <b>")
    cl.write(escape(ssid))
    cl.write("</b>. Its network %s goes away: reconnect this phone to your usual network.</p>" % escape(name))
    if dropped:
        cl.write("<p>Refused, so left out (config.json.bad keeps them): %s</p>" % escape(", ".join(dropped)))


def error_page(cl, status, text):
    allow = None
    if status == 405:
        allow = text
        text = "Use %s here." % text
    start(cl, status, allow)
    cl.write("<title>%d %s</title><h1>%d %s</h1><p>" % (status, REASONS[status], status, REASONS[status]))
    cl.write(escape(text))
    cl.write("</p>")


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
