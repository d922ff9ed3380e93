"""`python -m tools deps`: libraries from a mip index, locked, vendored, built and run on the virtual board.

Each test serves a mip-v2 index that it writes itself on loopback (no network needed) and runs
the CLI in a copy of this project, so the project itself is never changed. Board-independent:
it runs in every project, and in one rendering of the template's own matrix.
"""
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import Background

ROOT = Path(__file__).resolve().parents[2]
PROJECT = json.loads((ROOT / "tools" / "project.json").read_text())
BOARD = PROJECT["boards"][0]
WIFI = PROJECT["wifi"] and PROJECT["facts"][BOARD]["wifi"]

# Board-independent: the template's own test matrix runs it in one rendering only (it sets
# BOARD_INDEPENDENT_ELSEWHERE=1 for the others); a project runs it always.
if os.environ.get("BOARD_INDEPENDENT_ELSEWHERE") == "1":
    pytest.skip("board-independent: the template's matrix runs it in one rendering", allow_module_level=True)

GREET_V1 = 'from blink_util import twice\n\n\ndef greet(name):\n    return twice("hello " + name)\n'
GREET_V2 = 'from blink_util import twice\n\n\ndef greet(name):\n    return twice("hi " + name)\n'
UTIL = "def twice(s):\n    return s + \" / \" + s\n"


class Index:
    """A mip-v2 index in a folder, served on 127.0.0.1: package/py/<name>/<version|latest>.json
    with "hashes" [[path, short hash]] and files at file/<hash[:2]>/<hash>, as micropython.org/pi/v2."""

    def __init__(self, folder):
        self.folder = folder
        handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(folder))  # noqa: E731
        http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def file(self, data):
        digest = hashlib.sha256(data).hexdigest()
        dst = self.folder / "file" / digest[:2] / digest[:12]
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(data)
        return digest[:12]

    def publish(self, name, version, files, deps=(), urls=()):
        meta = {"v": 1, "version": version, "hashes": [[p, self.file(d if isinstance(d, bytes) else d.encode())]
                                                         for p, d in files.items()],
                "deps": [list(d) for d in deps]}
        if urls:
            meta["urls"] = [list(u) for u in urls]
        for tag in (version, "latest"):
            dst = self.folder / "package" / "py" / name / f"{tag}.json"
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(json.dumps(meta))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def index(tmp_path):
    idx = Index(tmp_path / "index")
    idx.publish("greet", "1.0", {"greet.py": GREET_V1}, deps=[("blink-util", "latest")])
    idx.publish("blink-util", "0.3", {"blink_util.py": UTIL})
    idx.publish("fontpkg", "2.1", {"fontpkg/__init__.py": "WIDTH = 8\n", "fontpkg/font.bin": b"\x00\x7e\x81"})
    yield idx
    idx.close()


@pytest.fixture
def project(tmp_path):
    """A copy of this project (without its build, virtual flash, caches or libraries)."""
    dst = tmp_path / "proj"
    skip = {"build", ".sim", ".git", ".venv", ".typings", ".pytest_cache", "__pycache__", ".ruff_cache", "vendor",
            "device-deps.json", "device-deps.lock.json"}
    shutil.copytree(ROOT, dst, ignore=lambda d, names: [n for n in names if n in skip])
    return dst


def tools(project, *args):
    return subprocess.run([sys.executable, "-m", "tools", *args], cwd=project, capture_output=True, text=True,
                          timeout=120)


def lock_of(project):
    return {p["name"]: p for p in json.loads((project / "device-deps.lock.json").read_text())["packages"]}


def test_add_resolves_dependencies_locks_and_vendors(project, index):
    out = tools(project, "deps", "add", "greet", "--index", index.url)
    assert out.returncode == 0, out.stderr
    lock = lock_of(project)
    assert sorted(lock) == ["blink-util", "greet"]
    assert lock["greet"]["version"] == "1.0" and lock["greet"]["source"] == "greet"
    assert lock["greet"]["deps"] == ["blink-util"]
    (greet,) = lock["greet"]["files"]
    digest = hashlib.sha256(GREET_V1.encode()).hexdigest()
    assert greet == {"path": "lib/greet.py", "sha256": digest, "url": f"{index.url}/file/{digest[:2]}/{digest[:12]}"}
    assert (project / "vendor" / "greet.py").read_text() == GREET_V1
    assert (project / "vendor" / "blink_util.py").read_text() == UTIL
    declared = json.loads((project / "device-deps.json").read_text())
    assert declared == {"index": index.url, "packages": {"greet": "greet"}}
    listed = tools(project, "deps", "list")
    assert listed.returncode == 0, listed.stderr
    assert "greet 1.0  greet  1 file\n" in listed.stdout
    assert "blink-util 0.3  blink-util  1 file  (needed by greet)" in listed.stdout

    # remove: the library and what only it needed leave the lock and vendor/, without the network
    index.close()
    out = tools(project, "deps", "remove", "greet")
    assert out.returncode == 0, out.stderr
    assert lock_of(project) == {} and not (project / "vendor").exists()
    assert json.loads((project / "device-deps.json").read_text())["packages"] == {}
    out = tools(project, "deps", "remove", "greet")
    assert out.returncode == 1 and "greet is not declared in device-deps.json" in out.stderr


def test_vendored_package_builds_runs_on_the_virtual_board_and_tampering_stops_the_build(project, index, tmp_path):
    for spec in ("greet", "fontpkg"):
        out = tools(project, "deps", "add", spec, "--index", index.url)
        assert out.returncode == 0, out.stderr
    (project / "device" / "app.py").write_text(
        "from greet import greet\nimport fontpkg\n\n\ndef setup(ctx):\n    pass\n\n\n"
        "def loop(ctx):\n    ctx.log.info('app: %s (%d)', greet('board'), fontpkg.WIDTH)\n")
    out = tools(project, "build", "--board", BOARD)
    assert out.returncode == 0, out.stderr
    lib = project / "build" / BOARD / "lib"
    assert (lib / "greet.mpy").read_bytes()[:2] == b"M\x06" and not (lib / "greet.py").exists()
    assert (lib / "blink_util.mpy").is_file() and (lib / "fontpkg" / "__init__.mpy").is_file()
    assert (lib / "fontpkg" / "font.bin").read_bytes() == b"\x00\x7e\x81"  # a data file travels as it is

    flash = tmp_path / "flash"
    flash.mkdir()
    if WIFI:
        (flash / "config.json").write_text(json.dumps({"wifi_ssid": "home", "wifi_password": "pw"}))
    out = tools(project, "sim", "--board", BOARD, "--flash", str(flash), "--ticks", "3")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "app: hello board / hello board (8)" in out.stdout

    # deploy carries the libraries to a board (the virtual one, served as a serial port) like your modules
    served = tmp_path / "served"
    board = Background("sim", "--board", BOARD, "--serve", "--blank", "--flash", str(served), cwd=project)
    try:
        port = board.wait_for("/dev/", timeout=60)
        assert port, board.output
        out = tools(project, "deploy", "--board", BOARD, "--port", port.strip())
        assert out.returncode == 0, out.stdout + out.stderr
        for name in ("greet.mpy", "blink_util.mpy", "fontpkg/__init__.mpy", "fontpkg/font.bin"):
            assert (served / "lib" / name).read_bytes() == (lib / name).read_bytes(), name
    finally:
        board.ctrl_c()

    (project / "vendor" / "blink_util.py").write_text(UTIL + "\nprint('patched')\n")
    out = tools(project, "build", "--board", BOARD)
    assert out.returncode == 1
    assert ("vendor/blink_util.py does not match device-deps.lock.json: run `python -m tools deps install`"
            in out.stderr)

    # install restores exactly the lock, from nothing, and the build passes again
    shutil.rmtree(project / "vendor")
    out = tools(project, "deps", "install")
    assert out.returncode == 0, out.stderr
    assert (project / "vendor" / "blink_util.py").read_text() == UTIL
    assert (project / "vendor" / "fontpkg" / "font.bin").read_bytes() == b"\x00\x7e\x81"
    out = tools(project, "build", "--board", BOARD)
    assert out.returncode == 0, out.stderr


def test_update_takes_a_new_version_and_install_checks_hashes(project, index):
    assert tools(project, "deps", "add", "greet", "--index", index.url).returncode == 0
    index.publish("greet", "1.1", {"greet.py": GREET_V2}, deps=[("blink-util", "latest")])
    out = tools(project, "deps", "update")
    assert out.returncode == 0, out.stderr
    assert "greet 1.0 -> 1.1" in out.stdout
    assert lock_of(project)["greet"]["version"] == "1.1"
    assert (project / "vendor" / "greet.py").read_text() == GREET_V2

    # the index serves other bytes under a locked file's URL: install refuses them
    (project / "vendor" / "greet.py").unlink()
    digest = hashlib.sha256(GREET_V2.encode()).hexdigest()
    (index.folder / "file" / digest[:2] / digest[:12]).write_text(GREET_V2 + "import os\n")
    out = tools(project, "deps", "install")
    assert out.returncode == 1
    assert f"{digest[:12]} does not match the sha256 in device-deps.lock.json (greet)" in out.stderr
    assert not (project / "vendor" / "greet.py").exists()


def test_package_json_url_and_version_conflict(project, index):
    pkg = index.folder / "gh" / "sensor"
    pkg.mkdir(parents=True)
    (pkg / "sensor.py").write_text("from blink_util import twice\n\nNAME = twice('bme')\n")
    (pkg / "package.json").write_text(json.dumps({"version": "0.9", "urls": [["sensor.py", "sensor.py"]],
                                                  "deps": [["blink-util", "0.2"]]}))
    index.publish("blink-util", "0.2", {"blink_util.py": UTIL + "OLD = 1\n"})
    index.publish("blink-util", "0.3", {"blink_util.py": UTIL})
    out = tools(project, "deps", "add", f"{index.url}/gh/sensor/package.json", "--index", index.url)
    assert out.returncode == 0, out.stderr
    lock = lock_of(project)
    assert lock["sensor"]["version"] == "0.9"
    assert lock["sensor"]["files"][0]["url"] == f"{index.url}/gh/sensor/sensor.py"
    assert lock["blink-util"]["version"] == "0.2"
    out = tools(project, "deps", "add", "blink-util@0.3")
    assert out.returncode == 1
    assert "version conflict" in out.stderr and "blink-util" in out.stderr and "0.2" in out.stderr
    assert "blink-util" not in json.loads((project / "device-deps.json").read_text())["packages"]


@pytest.mark.parametrize(("spec", "message"), [
    ("nosuchlib", "nosuchlib not found: {url}/package/py/nosuchlib/latest.json answered 404"),
    ("bad spec", "bad SPEC 'bad spec'"),
    ("greet@", "bad SPEC 'greet@': nothing after @"),
    ("ftp:x/y", "bad SPEC 'ftp:x/y': unknown scheme ftp:"),
    ("github:onlyorg", "bad SPEC 'github:onlyorg': name the repository as org/repo"),
    ("tampered", "does not match its hash"),
    ("{url}/file/old.mpy", "is a compiled .mpy (v5.0) but this project's firmware loads mpy v6"),
])
def test_errors_are_one_line_and_change_nothing(project, index, spec, message):
    (index.folder / "file" / "old.mpy").write_bytes(b"M\x05\x00\x1f" + bytes(20))
    index.publish("tampered", "1.0", {"t.py": "X = 1\n"})
    short = json.loads((index.folder / "package/py/tampered/latest.json").read_text())["hashes"][0][1]
    (index.folder / "file" / short[:2] / short).write_text("X = 2\n")
    out = tools(project, "deps", "add", spec.format(url=index.url), "--index", index.url)
    assert out.returncode == 1, out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message.format(url=index.url) in lines[0], lines
    assert not (project / "device-deps.json").exists() and not (project / "vendor").exists()


def test_unreachable_index_says_so(project, index):
    url = index.url
    index.close()
    out = tools(project, "deps", "add", "greet", "--index", url)
    assert out.returncode == 1
    assert f"cannot reach 127.0.0.1:{url.rsplit(':', 1)[1]} for greet" in out.stderr
    assert "check the network and the index URL" in out.stderr


def test_check_compiles_vendored_code_and_refuses_a_shadowing_module_but_not_its_style(project, index):
    loose = "def poll(cfg):\n    try:\n        return cfg['host']\n    except:\n        return None\n"
    index.publish("timefix", "1.0", {"time.py": "def ticks_ms():\n    return 0\n", "loose.py": loose})
    assert tools(project, "deps", "add", "timefix", "--index", index.url).returncode == 0
    out = tools(project, "check")
    assert out.returncode == 1
    assert "vendor/time.py: error [shadow]" in out.stderr
    assert "vendor/loose.py" not in out.stderr  # published code: no except-all or config-key findings
    (project / "vendor" / "loose.py").write_text("def poll(cfg):\n    match cfg:\n        case _:\n            pass\n")
    out = tools(project, "check")
    assert "vendor/loose.py:2: error [compile]" in out.stderr
