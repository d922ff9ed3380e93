"""deploy, config and logs end to end with real mpremote against `sim --serve`, plus the plan rules.

The end-to-end tests share one served virtual board and work on a copy of this project, so
they never touch your device/ or config.json.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TEST_APP, Background, like_a_terminal, require_micropython

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tools import deploy  # noqa: E402
from tools.project import BOARDS, FACTS, PROJECT, Failure  # noqa: E402

LOGS = PROJECT["log_file"]
# Only a board with Wi-Fi needs a setting on its first start (the network): one without starts the app.
WIFI = PROJECT["wifi"] and FACTS[BOARDS[0]]["wifi"]
FIRST_START = "setup mode" if WIFI else "app: tick"


def tool(project, *args, timeout=60):
    return subprocess.run([sys.executable, "-m", "tools", *args], cwd=project, capture_output=True,
                          text=True, timeout=timeout)


def children(pid):
    out = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    return {int(p) for p, pp in (line.split() for line in out.splitlines()) if int(pp) == pid}


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose: it runs nothing.
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout
    return bool(state.strip()) and not state.strip().startswith("Z")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy of this project (device/, tools/, config.example.json, .gitignore), without config.json,
    whose app is the runtime's test app (TEST_APP), not yours."""
    dst = tmp_path_factory.mktemp("project")
    for name in ("device", "tools"):
        shutil.copytree(ROOT / name, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("config.example.json", ".gitignore"):
        shutil.copyfile(ROOT / name, dst / name)
    (dst / "device" / "app.py").write_text(TEST_APP)
    return dst


class Served(Background):
    """`sim --serve --blank` on a flash folder: the board behind the pty it prints first."""

    def __init__(self, project, flash):
        super().__init__("sim", "--serve", "--blank", "--flash", str(flash), cwd=project)
        self.flash = flash
        assert self.wait_for("", 30) is not None, f"sim --serve printed no port: {self.lines}"
        self.port = self.lines[0]
        assert self.port.startswith("/dev/"), self.lines

    def events(self):
        return [line for line in self.lines if line.startswith("sim: ")]

    def saw(self, event, within=5.0):
        deadline = time.monotonic() + within
        while event not in self.events():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def connections(self):
        """mpremote sessions that soft-reset the board (resets by the firmware do not count)."""
        return sum(line.endswith("(boot.py only)") for line in self.lines)

    def stop(self):
        kids, deadline = children(self.proc.pid), time.monotonic() + 5
        while not kids and time.monotonic() < deadline:  # a reset just now: between two interpreters
            time.sleep(0.05)
            kids = children(self.proc.pid)
        assert kids, "the served board runs no interpreter"
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(15)
        deadline = time.monotonic() + 5
        while any(alive(k) for k in kids) and time.monotonic() < deadline:
            time.sleep(0.05)
        return rc, [k for k in kids if alive(k)]


@pytest.fixture(scope="module")
def board(project, tmp_path_factory):
    if os.name != "posix":
        pytest.skip("sim --serve needs a pty (Linux or macOS)")
    require_micropython()
    served = Served(project, tmp_path_factory.mktemp("flash"))
    yield served
    rc, left = served.stop()
    assert rc == 0, served.lines
    assert not left, f"sim --serve left interpreters running: {left}"
    assert served.lines[-1] == "sim: stopped", served.lines


def flash_files(flash):
    return {p.relative_to(flash).as_posix(): p.stat().st_mtime_ns for p in flash.rglob("*") if p.is_file()}


def build_files(project):
    build = project / "build" / BOARDS[0]
    return {p.relative_to(build).as_posix(): p.read_bytes() for p in build.rglob("*") if p.is_file()}


def follow_until(project, port, text, *args, timeout=30):
    """Run `deploy --follow` (or another following command) until `text` shows, then Ctrl-C."""
    proc = subprocess.Popen([sys.executable, "-m", "tools", *args, "--port", port, "--follow"], cwd=project,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=like_a_terminal)
    seen = b""
    deadline = time.monotonic() + timeout
    os.set_blocking(proc.stdout.fileno(), False)
    while text.encode() not in seen and time.monotonic() < deadline and proc.poll() is None:
        seen += proc.stdout.read() or b""
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    try:
        rest, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:  # kill it, or it holds the port and every later test fails "busy"
        proc.kill()
        rest, err = proc.communicate()
        raise AssertionError(f"{' '.join(args)} --follow ignored Ctrl-C for 15 s; it printed:\n"
                             f"{(seen + rest).decode(errors='replace')}\n{err.decode(errors='replace')}") from None
    return proc.returncode, (seen + (rest or b"")).decode(errors="replace"), err.decode()


def test_deploy_refuses_a_project_whose_check_fails(board, project, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(project, bad, ignore=shutil.ignore_patterns("build", "__pycache__"))
    (bad / "device" / "app.py").write_text("def setup(ctx):\n    return (\n")
    before, connections = flash_files(board.flash), board.connections()
    out = tool(bad, "deploy", "--port", board.port)
    assert out.returncode == 1
    assert "check failed" in out.stderr and "nothing was sent" in out.stderr
    assert flash_files(board.flash) == before
    assert board.connections() == connections  # the board was never opened


def test_deploy_syncs_only_what_changed(board, project):
    flash = board.flash
    # The first deploy puts the whole build on the blank flash; the firmware starts (setup mode
    # on a Wi-Fi board: the network is not known yet; else straight into the app).
    rc, console, err = follow_until(project, board.port, FIRST_START, "deploy")
    assert rc == 0, err
    assert FIRST_START in console
    built = build_files(project)
    assert all((flash / p).read_bytes() == data for p, data in built.items())
    assert json.loads((flash / ".deployed").read_text()) == sorted(built)
    assert board.saw("sim: rebooting (HARD_RESET)")

    # Files that are not the build's stay, whatever happens.
    (flash / "notes.txt").write_text("mine")
    (flash / "config.json").write_text('{"wifi_ssid": "on the board"}')

    # No change: nothing is written, and the board is not even soft-reset before its hard reset.
    before, soft = flash_files(flash), board.connections()
    out = tool(project, "deploy", "--port", board.port)
    assert out.returncode == 0, out.stderr
    assert f"0 written, 0 removed, {len(built) + 1} up to date" in out.stdout
    after = flash_files(flash)
    assert {p: after[p] for p in built} == {p: before[p] for p in built}
    assert board.connections() == soft

    # One changed module is the only file that travels (after a soft reset: no app runs meanwhile).
    app = project / "device" / "app.py"
    app.write_text(app.read_text() + "\n\ndef extra():\n    return 42\n")
    out = tool(project, "deploy", "--port", board.port)
    assert out.returncode == 0, out.stderr
    assert "write app.mpy" in out.stdout and "1 written, 0 removed" in out.stdout
    assert board.connections() == soft + 1
    changed = {p for p, t in flash_files(flash).items() if p in built and t != after[p]}
    assert changed == {"app.mpy"}

    # A new module arrives; once deleted here it disappears from the board, with its folder.
    extra = project / "device" / "lib" / "extra" / "helper.py"
    extra.parent.mkdir()
    extra.write_text("VALUE = 1\n")
    assert tool(project, "deploy", "--port", board.port).returncode == 0
    assert (flash / "lib" / "extra" / "helper.mpy").is_file()
    shutil.rmtree(extra.parent)
    (flash / "app.py").write_text("print('a stale source twin would win over app.mpy')\n")
    dry = tool(project, "deploy", "--port", board.port, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would remove lib/extra/helper.mpy" in dry.stdout and "would remove app.py" in dry.stdout
    assert (flash / "lib" / "extra" / "helper.mpy").is_file()  # a dry run writes nothing
    out = tool(project, "deploy", "--port", board.port)
    assert out.returncode == 0, out.stderr
    assert not (flash / "lib" / "extra").exists() and not (flash / "app.py").exists()
    assert (flash / "app.mpy").is_file() and (flash / "notes.txt").read_text() == "mine"
    assert json.loads((flash / "config.json").read_text()) == {"wifi_ssid": "on the board"}


def test_mpremote_itself_sees_a_board(board):
    mpremote = shutil.which("mpremote") or str(Path(sys.executable).parent / "mpremote")
    out = subprocess.run([mpremote, "connect", board.port, "fs", "cp", str(ROOT / "config.example.json"),
                          ":mp_copy.json", "+", "exec", "import sys; print(sys.platform)"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert FACTS[BOARDS[0]]["port"] in out.stdout  # the virtual board says its port, as the board does
    assert (board.flash / "mp_copy.json").read_bytes() == (ROOT / "config.example.json").read_bytes()


def test_config_push_then_logs(board, project):
    config = project / "config.json"
    config.write_text(json.dumps({"wifi_ssid": "home", "wifi_password": "pw-on-the-board"}))
    try:
        out = tool(project, "config", "--push", "--port", board.port)
        assert out.returncode == 0, out.stderr
        assert "write config.json" in out.stdout and "pw-on-the-board" not in out.stdout + out.stderr
        assert (board.flash / "config.json").read_bytes() == config.read_bytes()
        again = tool(project, "config", "--push", "--port", board.port)
        assert "0 written" in again.stdout
        if not LOGS:
            out = tool(project, "logs", "--port", board.port)
            assert out.returncode == 1 and "console only" in out.stderr
            return
        deadline = time.monotonic() + 20
        while True:  # the firmware needs a moment to log its first ticks
            out = tool(project, "logs", "--port", board.port)
            assert out.returncode == 0, out.stderr
            if "app: hello" in out.stdout or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert "app: hello" in out.stdout or PROJECT["log_level"] in ("WARNING", "ERROR")
        assert "boot:" in out.stdout or PROJECT["log_level"] in ("WARNING", "ERROR")
        if PROJECT["log_level"] in ("DEBUG", "INFO"):  # the heartbeat logs at INFO
            rc, console, err = follow_until(project, board.port, "app: tick", "logs")
            assert rc == 0, err
            assert "app: tick" in console
    finally:
        config.unlink()


def test_logs_show_any_bytes_and_always_restart_the_firmware(board, project, monkeypatch):
    if not LOGS:
        pytest.skip("this project logs to the console only")
    from tools import logs

    # A log file can hold anything: a line cut by a power loss, bytes that are not UTF-8, a 0x04
    # (the raw REPL's end of answer). They show as replacement characters, and the board restarts.
    bad = b"cut \xe2\x82 not utf-8 \xff\xfe\xc0\x80 eot \x04 end\n"
    for _ in range(3):  # a rotation between writing and reading may drop the line: write it again
        for name in logs.log_files():
            with open(board.flash / name, "ab") as f:
                f.write(bad)
        resets = board.events().count("sim: rebooting (HARD_RESET)")
        out = tool(project, "logs", "--port", board.port)
        assert out.returncode == 0, out.stderr
        if "not utf-8" in out.stdout:
            break
    assert "cut \ufffd not utf-8 \ufffd\ufffd\ufffd\ufffd eot \x04 end" in out.stdout
    assert "board reset" in out.stderr
    deadline = time.monotonic() + 10
    while board.events().count("sim: rebooting (HARD_RESET)") == resets and time.monotonic() < deadline:
        time.sleep(0.05)
    assert board.events().count("sim: rebooting (HARD_RESET)") == resets + 1

    # Whatever goes wrong while reading, the firmware is started again.
    monkeypatch.setattr(logs, "READ", "raise ValueError('reading failed')  # %r\n")
    with pytest.raises(Failure, match="on the board: ValueError: reading failed"):
        logs.fetch(board.port)
    deadline = time.monotonic() + 10
    while board.events().count("sim: rebooting (HARD_RESET)") == resets + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert board.events().count("sim: rebooting (HARD_RESET)") == resets + 2


def test_config_push_refuses_an_invalid_file(board, project):
    config = project / "config.json"
    config.write_text('{"loop_interval_ms": "fast"}')
    try:
        on_board = board.flash / "config.json"
        before, connections = on_board.read_bytes() if on_board.exists() else None, board.connections()
        out = tool(project, "config", "--push", "--port", board.port)
        assert out.returncode == 1
        assert "loop_interval_ms should be int" in out.stderr
        assert (on_board.read_bytes() if on_board.exists() else None) == before
        assert board.connections() == connections  # refused before the port was opened
    finally:
        config.unlink()


@pytest.mark.parametrize("content, words", [
    ('{"wifi_ssid": "home", "ratio": NaN}', "not valid JSON (at byte 31)"),  # CPython's json alone takes NaN
    ('\ufeff{"wifi_ssid": "home"}', "byte order mark"),
    ('{"wifi_ssid": "home", "watchdog_ms": 100000000000000000000}',
     "watchdog_ms should be int from 1 to 536870911"),
])
def test_deploy_never_sends_a_config_the_board_would_refuse(board, project, content, words):
    config = project / "config.json"
    config.write_text(content, encoding="utf-8")
    try:
        def written():  # what a deploy writes (the firmware itself may go on changing its logs and counters)
            files = flash_files(board.flash)
            return {p: files.get(p) for p in [*build_files(project), "config.json", deploy.MANIFEST]}

        before, connections = written(), board.connections()
        out = tool(project, "deploy", "--port", board.port)
        assert out.returncode == 1
        assert words in out.stderr and "nothing was sent, the board keeps its config" in out.stderr
        assert written() == before
        assert board.connections() == connections  # refused before the port was opened
    finally:
        config.unlink()


def test_port_errors_say_what_to_do(board, project, tmp_path):
    import serial

    with serial.Serial(board.port, exclusive=True):
        out = tool(project, "deploy", "--port", board.port)
    assert out.returncode == 1 and "is busy" in out.stderr and "close it" in out.stderr
    out = tool(project, "logs", "--follow", "--port", str(tmp_path / "ttyNONE"))
    assert out.returncode == 1 and "no board at" in out.stderr


def test_a_board_without_raw_repl_gets_a_clear_error():
    if os.name != "posix":
        pytest.skip("needs a pty")
    from tools.device import Board

    master, slave = os.openpty()  # a "board" that never answers
    try:
        with Board(os.ttyname(slave), timeout=0.5) as dev:
            with pytest.raises(Failure, match=r"raw REPL.*boot.py.*watchdog"):
                dev.raw_repl()
    finally:
        os.close(master)
        os.close(slave)


def test_no_board_found(monkeypatch):
    import serial.tools.list_ports

    from tools.device import Board

    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda: [])
    with pytest.raises(Failure, match=r"no board found.*--port"):
        Board("auto")


# The plan, on the host: no board needed.

def survey(files, manifest=None, free=10**6, mpy=0x0B06, platform="linux", block=4096):
    s = deploy.Survey("")
    s.files = {p: (len(d), deploy.sha(d)) for p, d in files.items()}
    s.dirs = {str(Path(p).parent) for p in files if "/" in p}
    s.manifest, s.free, s.mpy, s.platform, s.block = manifest, free, mpy, platform, block
    return s


def test_plan_removes_only_what_the_build_owned():
    local = {"main.py": b"main", "app.mpy": b"app2", "lib/a.mpy": b"a", deploy.MANIFEST: b"[]"}
    board = {"main.py": b"main", "app.mpy": b"app1", "app.py": b"twin", "lib/old.mpy": b"old",
             "config.json": b"{}", "log.txt": b"log", "mine.py": b"user", "lib/a.py": b"twin"}
    plan = deploy.Plan(local, survey(board, manifest={"main.py", "app.mpy", "lib/old.mpy", "config.json"}))
    assert sorted(plan.put) == sorted(["app.mpy", "lib/a.mpy", deploy.MANIFEST])
    assert plan.remove == ["app.py", "lib/a.py", "lib/old.mpy"]  # never config.json, logs or mine.py
    assert plan.same == 1


def test_what_an_interrupted_deploy_left_is_never_user_data():
    text = ("D .staging\nF 10 - .staging/app.mpy\nF 5 - .deployed.tmp\nF 3 - app.mpy\nF 40 - .deploying\n"
            'J {"put": ["app.mpy"], "remove": [], "rmdir": []}\n')
    found = deploy.Survey(text)
    assert set(found.files) == {"app.mpy"} and found.dirs == set()
    assert found.staged == {".staging/app.mpy": 10} and found.leftovers == {".deployed.tmp"}
    assert found.journal == {"put": ["app.mpy"], "remove": [], "rmdir": []}  # to finish, not to remove
    broken = deploy.Survey("F 4 - .deploying\nJ [1, 2\n")
    assert broken.journal is None and broken.leftovers == {deploy.JOURNAL} and broken.dirty


def test_plan_without_manifest_removes_nothing_but_twins():
    local = {"app.mpy": b"x"}
    plan = deploy.Plan(local, survey({"app.py": b"y", "other.mpy": b"z", "config.json": b"{}"}))
    assert plan.remove == ["app.py"]


def test_free_flash_is_checked_before_copying():
    local = {"big.mpy": b"x" * 50000}
    found = survey({}, free=16384)
    # 13 blocks of 4 KiB for the file, 2 for the journal and the manifest's tmp copy, 2 for the
    # metadata of the folder .staging.
    with pytest.raises(Failure, match=r"need 68 KiB \(the new files beside the old ones until the switch\) "
                                      "but the board has 16 KiB free"):
        deploy.check_space(deploy.Plan(local, found), found)
    # What an interrupted deploy left in .staging/ is removed first: its room counts as free.
    found.staged = {".staging/big.mpy": 50000}
    deploy.check_space(deploy.Plan(local, found), found)


def test_mpy_version_mismatch_says_what_to_do(tmp_path):
    (tmp_path / "app.mpy").write_bytes(b"M\x06\x00\x1f")
    assert deploy.mpy_version(tmp_path) == (6, 0)
    assert deploy.mpy_problem(0x0B06, (6, 0)) is None  # v6 bytecode loads on any v6.x board
    with pytest.raises(Failure, match=r"loads \.mpy v5.*deploy --py"):
        deploy.check_target(BOARDS[0], survey({}, mpy=0x0005), tmp_path, as_py=False)
    deploy.check_target(BOARDS[0], survey({}, mpy=0x0005), tmp_path, as_py=True)  # --py: no .mpy sent
    other = "rp2" if FACTS[BOARDS[0]]["port"] != "rp2" else "esp32"
    with pytest.raises(Failure, match=f"sys.platform '{other}'.*--board"):
        deploy.check_target(BOARDS[0], survey({}, platform=other), tmp_path, as_py=False)


def test_config_prompts_validate_and_never_echo_secrets(monkeypatch, tmp_path):
    from tools import config_cmd

    monkeypatch.setattr(config_cmd, "CONFIG", tmp_path / "config.json")
    answers = {"wifi_ssid": ["home"], "mem_report_ticks": ["fast", "99999999999", "20"]}
    said = []
    asked_secret = []

    def ask(prompt):  # "key [value]: " or "key (required) [value]: "
        left = answers.get(prompt.split(" ")[0])
        return left.pop(0) if left else ""

    def ask_secret(prompt):
        asked_secret.append(prompt)
        return "s3cret"

    config_cmd.make(ask=ask, ask_secret=ask_secret, say=said.append)
    conf = json.loads((tmp_path / "config.json").read_text())
    if PROJECT["wifi"]:
        assert conf["wifi_ssid"] == "home" and conf["wifi_password"] == "s3cret"
        assert "wifi_password [empty]: " in asked_secret  # and your app's own secrets, if it has any
    else:
        assert "wifi_ssid" not in conf and asked_secret == []
    assert any("mem_report_ticks: a whole number is needed" in s for s in said)
    assert "mem_report_ticks should be int from 0 to 536870911, not 99999999999; try again" in said
    assert conf["mem_report_ticks"] == 20
    assert "s3cret" not in "".join(said)
    assert (tmp_path / "config.json").stat().st_mode & 0o077 == 0


def test_config_never_overwrites_a_file_it_cannot_read(monkeypatch, tmp_path):
    from tools import config_cmd

    config = tmp_path / "config.json"
    config.write_text('{"wifi_ssid": "home",')  # hand-edited, half done
    monkeypatch.setattr(config_cmd, "CONFIG", config)
    with pytest.raises(Failure, match=r"not valid JSON.*move it away"):
        config_cmd.make(ask=lambda prompt: "", ask_secret=lambda prompt: "", say=lambda s: None)
    assert config.read_text() == '{"wifi_ssid": "home",'


HOG = """import gc

_held = []


def setup(ctx):
    # Take the whole heap but a little, and keep it: what a leaking app leaves for mpremote.
    try:
        while True:
            _held.append(bytearray(256))
    except MemoryError:
        pass
    del _held[-8:]
    gc.collect()
    print("hog: heap held, %d bytes free" % gc.mem_free())


def loop(ctx):
    pass
"""


def test_deploy_reaches_a_board_whose_app_holds_the_heap(board, project):
    # The survey runs in what the stopped app left; when that is too little, a soft reset frees it.
    app = project / "device" / "app.py"
    original = app.read_text()
    (board.flash / "config.json").write_text('{"wifi_ssid": "home"}')  # normal mode: the app runs
    app.write_text(HOG)
    try:
        rc, console, err = follow_until(project, board.port, "hog: heap held", "deploy")
        assert rc == 0 and "hog: heap held" in console, err + console[-2000:]
        soft = board.connections()
        out = tool(project, "deploy", "--port", board.port)
        assert out.returncode == 0, out.stderr
        assert "0 written, 0 removed" in out.stdout
        assert board.connections() == soft + 1
    finally:
        app.write_text(original)
        assert tool(project, "deploy", "--port", board.port).returncode == 0


def test_ctrl_c_during_a_deploy_says_what_it_left(board, project, tmp_path):
    changed = tmp_path / "changed"
    shutil.copytree(project, changed, ignore=shutil.ignore_patterns("build", "__pycache__"))
    # Small: the pyboard's build has little room left in its flash budget.
    (changed / "device" / "lib" / "blob.py").write_text("DATA = %r\n" % ("x" * 4000))
    proc = subprocess.Popen([sys.executable, "-u", "-m", "tools", "deploy", "--port", board.port], cwd=changed,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=like_a_terminal)
    for line in proc.stdout:
        if " write " in line:
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted: the board boots a whole firmware" in err and "Traceback" not in err, err
    again = tool(changed, "deploy", "--port", board.port, timeout=120)
    assert again.returncode == 0, again.stderr
    built = changed / "build" / BOARDS[0] / "lib" / "blob.mpy"
    assert (board.flash / "lib" / "blob.mpy").read_bytes() == built.read_bytes()
