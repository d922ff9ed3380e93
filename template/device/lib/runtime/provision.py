# Wi-Fi provisioning from a phone: setup mode's access point and web server.
#
# An open access point <project>-<6 hex digits of the board's id> serves the
# setup page (runtime/setup_page), reads the form (runtime/setup_form), saves
# it (runtime/keep) and restarts the board. Each of those modules is loaded for
# one step and dropped after (runtime.forget): they never share the heap.
#
# One client at a time, one request per connection, into one buffer: head at
# most _HEAD_MAX bytes (431), form _BODY_MAX (413), all within _CLIENT_MS. Only
# GET / and POST /save exist: no path reaches the filesystem.
import select
import socket
import sys
import time

import machine
import network
from micropython import const

from runtime import forget, target

_HEAD_MAX = const(1536)  # request line and headers
_BODY_MAX = const(512)  # the form
_CLIENT_MS = const(1000)  # time a client gets for its whole request
_TIMEOUTS = (11, 110)  # EAGAIN, ETIMEDOUT


class Portal:
    def __init__(self, log, hw):
        self.log = log
        self.hw = hw
        self.buf = bytearray(_HEAD_MAX + _BODY_MAX)
        self.saved = False  # set once config.json is written
        self.nets = _call("setup_page", "networks")
        self.last = _call("keep", "last")
        self.fields = _call("keep", "fields", self.last)  # (key, secret, set) per required app setting
        uid = machine.unique_id()
        self.name = "%s-%02x%02x%02x" % (target.PROJECT[:24], uid[-3], uid[-2], uid[-1])
        if target.COUNTRY:
            network.country(target.COUNTRY)  # before the radio starts on the Pico W
        ap = network.WLAN(network.AP_IF)
        ap.config(ssid=self.name, security=0)  # open: see docs/behaviour/setup-mode.md
        ap.active(True)
        host, port = hw.http_addr()  # 0.0.0.0:80 on a board, loopback on the virtual board
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(socket.getaddrinfo(host, port)[0][-1])
        self.sock.listen(2)
        self.listening = select.poll()
        self.listening.register(self.sock, select.POLLIN)
        self.client = select.poll()
        ip = ap.ifconfig()[0]
        url = "http://%s/" % ip if port == 80 else "http://%s:%d/" % (ip, port)
        log.info("setup mode: join the Wi-Fi network %s, then open %s", self.name, url)
        print("setup page: " + url)

    def serve(self, ms):
        # One pass of the setup loop: answer a waiting client, if any, then idle.
        if self.listening.poll(0):
            cl = None
            try:
                cl = self.sock.accept()[0]
                self.handle(cl)
            except OSError:
                pass  # the client went away
            except Exception as e:  # its name only: the request may hold the password
                self.log.error("setup page: %s while answering a request", e.__class__.__name__)
            if cl:
                cl.close()
            if self.saved:
                self.log.info("setup mode: config.json saved, restarting into normal mode")
                self.log.flush()
                time.sleep_ms(300)  # let the page reach the phone
                machine.reset()
        self.hw.idle(ms)

    def handle(self, cl):
        self.client.register(cl, select.POLLIN)
        try:
            cl.setblocking(False)
            status, text = self.request(cl)
            if text:  # an error to answer (the pages answer themselves)
                cl.settimeout(1)
                _call("setup_page", "error_page", cl, status, text)
            if status != 200:  # let it read the answer before close() drops what it still sends
                cl.setblocking(False)
                deadline = time.ticks_add(time.ticks_ms(), 200)
                while self._read(cl, 0, _HEAD_MAX, deadline) >= 0:
                    pass
        finally:
            self.client.unregister(cl)
            forget("setup_form", "jsonscan")  # what request() loaded

    def _read(self, cl, got, limit, deadline):
        # Append what arrives before the deadline to buf[got:limit]; the new end, or -1.
        left = time.ticks_diff(deadline, time.ticks_ms())
        if left <= 0 or not self.client.poll(left):
            return -1
        try:
            n = cl.readinto(memoryview(self.buf)[got:limit])
        except OSError as e:
            if e.errno not in _TIMEOUTS:
                raise
            n = None
        if n is None:
            return got
        return got + n if n else -1  # 0: the client closed

    def request(self, cl):
        # Answer one request: (200, None) once a page is written, (status, message) for
        # an error page, (0, None) when the client sent nothing.
        from runtime import setup_form as form

        deadline = time.ticks_add(time.ticks_ms(), _CLIENT_MS)
        buf = self.buf
        got, end = 0, -1
        while end < 0:
            if got >= _HEAD_MAX:
                return 431, "The request line and headers take at most %d bytes." % _HEAD_MAX
            start = got
            got = self._read(cl, got, _HEAD_MAX, deadline)
            if got < 0:
                return (408, "The request did not arrive in time.") if start else (0, None)
            end = form.blank_line(buf, start, got)
        try:
            method, path, length, kind = form.parse_head(buf, end)
        except ValueError:
            return 400, "Not an HTTP request."
        if path == b"/":
            if method != b"GET":
                return 405, "GET"
            del form
            forget("setup_form")  # before the page loads its module
            cl.settimeout(1)
            _call("setup_page", "form_page", cl, self.name, self.nets, self.fields)
            return 200, None
        if path != b"/save":
            return 404, "Nothing here: the setup page is /."
        if method != b"POST":
            return 405, "POST"
        if length < 0:
            return 411, "Content-Length is required."
        if length > _BODY_MAX:
            return 413, "The form takes at most %d bytes." % _BODY_MAX
        if kind != b"application/x-www-form-urlencoded":
            return 415, "Send the form as application/x-www-form-urlencoded."
        while got < end + length:
            got = self._read(cl, got, end + length, deadline)
            if got < 0:
                return 408, "The form did not arrive in time."
        values, problem = form.parse_form(bytes(buf[end:end + length]), bytearray(form.PASSWORD_MAX),
                                          [f[0] for f in self.fields])
        del form
        forget("setup_form")  # before the save loads its modules
        if problem:
            return 400, problem
        return self.save(cl, values)

    def save(self, cl, form):
        try:
            conf, dropped, problem = _call("keep", "save", self.last, form)
        except OSError as e:  # most often a full flash; an older config.json stays as it was
            self.log.error("setup page: cannot write config.json (OSError %d)", e.errno)
            return 500, "Could not write config.json (OSError %d): is the flash full?" % e.errno
        if problem:
            return 400, problem
        self.saved = True
        self.log.info("setup page: saved network %s", conf["wifi_ssid"])
        if dropped:
            self.log.warning("setup page: left out %s (refused; kept in config.json.bad)", ", ".join(dropped))
        cl.settimeout(1)
        _call("setup_page", "saved_page", cl, self.name, conf["wifi_ssid"], dropped)
        return 200, None


def _call(module, function, *args):
    # runtime.<module>.<function>(*args), with that module and whatever it imports
    # loaded for this call only: setup mode's heap never holds two steps' code.
    before = list(sys.modules)
    try:
        return getattr(__import__("runtime." + module, None, None, (function,)), function)(*args)
    finally:
        forget(*[name[8:] for name in sys.modules if name not in before and name.startswith("runtime.")])
