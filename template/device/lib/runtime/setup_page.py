# What the setup page shows: the networks in range and the pages' HTML.
#
# Everything shown is escaped; no form value is echoed back but the network
# name. runtime/provision loads this module for one page and drops it after:
# its HTML takes heap only while a page is being written.
import network
from micropython import const

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
