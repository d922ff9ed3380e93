"""One validator for config.json: the host tools accept exactly what the board accepts.

A table of config.json files, byte for byte, goes through every host entry point (the validator
`config_cmd.problem`, deploy's `checked_config`, `config --push --dry-run`) and through the
firmware's own `config.load` in the MicroPython unix port, with this project's primary board's
build facts (defaults, required keys, watchdog limit) and modeled heap. Every verdict must be the
same, and the one the table expects.
"""
import binascii
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require_micropython

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tools import __main__ as cli  # noqa: E402
from tools import build, config_cmd, deploy  # noqa: E402
from tools.project import BOARDS, FACTS, PROJECT, Failure  # noqa: E402

BOARD = BOARDS[0]
WDT_MAX = FACTS[BOARD]["wdt_max_ms"]
SSID = b'"wifi_ssid": "home"'


def obj(*members):
    return b"{" + b", ".join((SSID, *members)) + b"}"


def padded(size):
    """A valid config.json of exactly `size` bytes."""
    head = obj(b'"note": "')
    return head + b"x" * (size - len(head) - 2) + b'"}'


# (id, bytes, accepted). Both JSON parsers must agree: MicroPython's json alone takes trailing
# commas, raw control characters and bad UTF-8; CPython's alone takes NaN and Infinity.
CASES = [
    ("plain", obj(), True),
    ("pretty-unicode", b'{\n  "wifi_ssid": "caf\xc3\xa9 \xf0\x9f\x98\x80 \\u00e9\\n",\n  "x": [1, {"y": []}, {}]\n}\n',
     True),
    ("bom", b"\xef\xbb\xbf" + obj(), False),
    ("nan", obj(b'"x": NaN'), False),
    ("infinity", obj(b'"x": Infinity'), False),
    ("minus-infinity", obj(b'"x": -Infinity'), False),
    ("trailing-comma", obj(b'"x": 1,'), False),
    ("array-trailing-comma", obj(b'"x": [1, 2,]'), False),
    ("missing-comma", b'{"wifi_ssid": "home" "x": 1}', False),
    ("missing-colon", b'{"wifi_ssid" "home"}', False),
    ("raw-tab-in-string", obj(b'"x": "a\tb"'), False),
    ("raw-control-in-string", obj(b'"x": "a\x01b"'), False),
    ("bad-escape", obj(b'"x": "\\x41"'), False),
    ("short-unicode-escape", obj(b'"x": "\\u12"'), False),
    ("lone-surrogate-escape", obj(b'"x": "\\ud800"'), True),
    ("invalid-utf8", obj(b'"x": "\xff"'), False),
    ("overlong-utf8", obj(b'"x": "\xc0\x80"'), False),
    ("surrogate-utf8", obj(b'"x": "\xed\xa0\x80"'), False),
    ("above-10ffff", obj(b'"x": "\xf4\x90\x80\x80"'), False),
    ("cut-utf8", obj(b'"x": "\xf0\x9f\x98"'), False),
    ("leading-zero", obj(b'"x": 01'), False),
    ("bare-dot", obj(b'"x": 1.'), False),
    ("dot-first", obj(b'"x": .5'), False),
    ("plus", obj(b'"x": +1'), False),
    ("hex", obj(b'"x": 0x10'), False),
    ("two-values", obj(b'"x": true false'), False),
    ("trailing-garbage", obj() + b" x", False),
    ("trailing-nul", obj() + b"\x00", False),
    ("two-objects", obj() + b"{}", False),
    ("empty", b"", False),
    ("blank", b" \n", False),
    ("cut-short", obj()[:-1], False),
    ("array", b"[1, 2]", False),
    ("deep-1000", obj(b'"x": ' + b"[" * 1000 + b"]" * 1000), False),
    ("depth-10", obj(b'"x": ' + b"[" * 9 + b"]" * 9), True),
    ("depth-11", obj(b'"x": ' + b"[" * 10 + b"]" * 10), False),
    ("4096-bytes", padded(4096), True),
    ("4097-bytes", padded(4097), False),
    ("huge-number-unknown-key", obj(b'"x": 1e400'), True),
    ("duplicate-key-last-wins", obj(b'"loop_interval_ms": "fast", "loop_interval_ms": 500'), True),
    ("interval-word", obj(b'"loop_interval_ms": "fast"'), False),
    ("interval-float", obj(b'"loop_interval_ms": 1.0'), False),
    ("interval-bool", obj(b'"loop_interval_ms": true'), False),
    ("interval-zero", obj(b'"loop_interval_ms": 0'), False),
    # watchdog_ms: a *_ms setting of every project (the wifi_* ones exist only with Wi-Fi).
    ("watchdog-max", obj(b'"watchdog_ms": 536870911'), True),
    ("watchdog-over-max", obj(b'"watchdog_ms": 536870912'), False),
    ("watchdog-1e20-int", obj(b'"watchdog_ms": 100000000000000000000'), False),
    ("watchdog-1e20-float", obj(b'"watchdog_ms": 1e20'), False),
    ("watchdog-negative", obj(b'"watchdog_ms": -1'), False),
    ("failures-1000", obj(b'"max_failures": 1000'), True),
    ("failures-1001", obj(b'"max_failures": 1001'), False),
    ("failures-zero", obj(b'"max_failures": 0'), False),
    ("mem-report-zero", obj(b'"mem_report_ticks": 0'), True),
    ("mem-report-negative", obj(b'"mem_report_ticks": -1'), False),
    ("level-word", obj(b'"log_level": "TRACE"'), False),
    # Longer than the board's longest watchdog, shorter than the watchdog_ms asked for.
    ("interval-over-board-watchdog", obj(b'"watchdog_ms": 20000, "loop_interval_ms": 9000'),
     not (PROJECT["watchdog"] and WDT_MAX and 9000 >= WDT_MAX)),
]


@pytest.fixture(scope="module")
def board_verdicts(tmp_path_factory):
    """{id: problem or None} from the firmware's config.load in the unix port, one run for all."""
    require_micropython()
    tmp = tmp_path_factory.mktemp("vm")
    lib = tmp / "lib"
    shutil.copytree(ROOT / "device" / "lib" / "runtime", lib / "runtime",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyi"))
    (lib / "runtime" / "target.py").write_text(build.target_source(BOARD))  # what `build` puts on the board
    (lib / "runtime" / "schema.py").write_text(build.schema_source(BOARD))
    (tmp / "cases.hex").write_text("".join(binascii.hexlify(data).decode() + "\n" for _, data, _ in CASES))
    script = (
        "import binascii, os\n"
        "from runtime import config, schema, target\n"
        "for line in open('cases.hex'):\n"
        "    with open('config.json', 'wb') as f:\n"
        "        f.write(binascii.unhexlify(line.strip()))\n"
        "    conf, problem = config.load(*config.rules(target, schema))\n"
        "    print('OK' if conf is not None else 'NO ' + problem)\n"
        "    for n in ('config.json', 'config.json.bad', 'config.json.tmp'):\n"
        "        try:\n"
        "            os.remove(n)\n"
        "        except OSError:\n"
        "            pass\n"
    )
    micropython = shutil.which("micropython") or str(Path(sys.executable).parent / "micropython")
    out = subprocess.run([micropython, "-X", f"heapsize={FACTS[BOARD]['heap_kib']}K", "-c", script], cwd=tmp,
                         env={"MICROPYPATH": str(lib)}, capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    lines = out.stdout.decode(errors="replace").splitlines()
    assert len(lines) == len(CASES), lines
    return {name: None if line == "OK" else line[3:] for (name, _, _), line in zip(CASES, lines, strict=True)}


def host_verdicts(data, tmp_path, monkeypatch):
    """{entry point: problem or None} for one config.json on the host."""
    (tmp_path / "config.json").write_bytes(data)
    monkeypatch.setattr(deploy, "ROOT", tmp_path)
    sent = []
    monkeypatch.setattr(deploy, "sync", lambda local, *a, **k: sent.append(local))
    verdicts = {"config_cmd.problem": config_cmd.problem(data)}
    try:
        deploy.checked_config(BOARD)
        verdicts["deploy.checked_config"] = None
    except Failure as e:
        verdicts["deploy.checked_config"] = str(e)
    rc = cli.main(["config", "--push", "--dry-run", "--port", "none"])
    verdicts["config --push --dry-run"] = None if rc == 0 and sent == [{"config.json": data}] else f"exit {rc}"
    assert rc in (0, 1) and (rc == 0) == bool(sent)
    return verdicts


@pytest.mark.parametrize("name, data, accepted", CASES, ids=[c[0] for c in CASES])
def test_host_and_board_give_the_same_verdict(board_verdicts, tmp_path, monkeypatch, name, data, accepted):
    on_board = board_verdicts[name]
    assert (on_board is None) == accepted, f"the board said {on_board!r}"
    for entry, problem in host_verdicts(data, tmp_path, monkeypatch).items():
        assert (problem is None) == accepted, f"{entry}: {problem!r}, the board: {on_board!r}"
    if not accepted:  # a one-line reason, the board's own
        assert on_board.startswith("config.json") and "\n" not in on_board
        assert config_cmd.problem(data) == on_board.replace(" (kept as config.json.bad)", "")


def test_numbers_out_of_range_name_the_key_and_the_range():
    problem = config_cmd.problem(obj(b'"watchdog_ms": 100000000000000000000'))
    assert problem == "config.json: watchdog_ms should be int from 1 to 536870911, not 100000000000000000000"
    assert "max_failures should be int from 1 to 1000, not 0" in config_cmd.problem(obj(b'"max_failures": 0'))


def test_config_never_writes_what_the_board_would_refuse_and_keeps_the_old_file(monkeypatch, tmp_path):
    config = tmp_path / "config.json"
    monkeypatch.setattr(config_cmd, "CONFIG", config)
    for name, data, _ in CASES:
        config.write_bytes(data)
        try:
            config_cmd.make(ask=lambda prompt: "", ask_secret=lambda prompt: "", say=lambda s: None)
        except Failure as e:
            assert config.read_bytes() == data, f"{name}: the old file was changed ({e})"
            assert not (tmp_path / "config.json.tmp").exists()
            continue
        assert config_cmd.problem(config.read_bytes()) is None, name


def test_config_with_its_input_closed_keeps_the_defaults_or_names_the_required_key(monkeypatch, tmp_path):
    # `python -m tools config </dev/null`, or answers piped in: the end of the input is Enter
    # for every setting left, never a traceback; a required setting stops it, nothing written.
    config = tmp_path / "config.json"
    monkeypatch.setattr(config_cmd, "CONFIG", config)

    def closed(prompt):
        raise EOFError

    base, need = config_cmd.rules()[:2]
    if need:
        with pytest.raises(Failure, match=r"give \S+ a value"):
            config_cmd.make(ask=closed, ask_secret=closed, say=lambda s: None)
        assert not config.exists()
    else:
        config_cmd.make(ask=closed, ask_secret=closed, say=lambda s: None)
        assert config_cmd.problem(config.read_bytes()) is None
    # The required settings already set, one answer piped, then the end of the input.
    config.write_text(json.dumps({k: "home" for k in need}))
    first, default = next((k, v) for k, v in base.items() if type(v) is int)
    given = []

    def piped(prompt):  # Enter for the settings before `first`, its answer, then nothing more
        if prompt.startswith(first + " "):
            given.append(first)
            return str(default + 1)
        if given:
            raise EOFError
        return ""

    config_cmd.make(ask=piped, ask_secret=piped, say=lambda s: None)
    written = json.loads(config.read_text())
    assert written[first] == default + 1 and all(written[k] == "home" for k in need)


def test_the_host_checks_with_each_boards_own_watchdog_limit():
    data = obj(b'"watchdog_ms": 60000, "loop_interval_ms": 9000')
    for board in BOARDS:
        limit = FACTS[board]["wdt_max_ms"]
        refused = bool(PROJECT["watchdog"] and limit and 9000 >= limit)
        assert (config_cmd.problem(data, board) is not None) == refused, board


def test_config_json_inside_device_is_refused_by_build(monkeypatch, tmp_path):
    device = tmp_path / "device"
    device.mkdir()
    (device / "config.json").write_text('{"loop_interval_ms": "fast"}')
    monkeypatch.setattr(build, "DEVICE", device)
    with pytest.raises(Failure, match=r"device/config.json would be copied over the board's config.json: "
                                      r"move it to the project root"):
        build.plan(BOARD, False)

