"""Host tests of the runtime under CPython, with test doubles of the board's clock and sys."""
import json
import sys
import time
import traceback
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "device" / "lib"))


@pytest.fixture(autouse=True)
def board_platform(monkeypatch, tmp_path):
    # MicroPython's time.ticks_ms and sys.print_exception, as a board has them: the
    # milliseconds since this boot (not the host's uptime), wrapping at 2**30.
    boot = time.monotonic()
    monkeypatch.setattr(time, "ticks_ms", lambda: int((time.monotonic() - boot) * 1000) & (2**30 - 1),
                        raising=False)
    monkeypatch.setattr(sys, "print_exception",
                        lambda e, f=sys.stdout: traceback.print_exception(type(e), e, e.__traceback__, file=f),
                        raising=False)
    monkeypatch.chdir(tmp_path)


DEFAULTS = {"wifi_ssid": "", "loop_interval_ms": 1000, "ratio": 0.5}


def test_missing_keys_take_defaults_and_unknown_keys_are_kept():
    from runtime import config

    conf, problem = config.check({"wifi_ssid": "home", "ratio": 1, "mine": True}, DEFAULTS, ("wifi_ssid",))
    assert problem is None
    assert conf == {"wifi_ssid": "home", "loop_interval_ms": 1000, "ratio": 1, "mine": True}


@pytest.mark.parametrize("data, expect", [
    ([1, 2], "JSON object"),
    ({"loop_interval_ms": True}, "loop_interval_ms should be int"),
    ({"wifi_ssid": 5}, "wifi_ssid should be str"),
    ({}, "wifi_ssid is empty"),
])
def test_wrong_types_name_the_key(data, expect):
    from runtime import config

    conf, problem = config.check(data, DEFAULTS, ("wifi_ssid",))
    assert conf is None and expect in problem


def test_save_is_atomic_and_loads_back(tmp_path):
    from runtime import config

    config.save({"wifi_ssid": "home"})
    assert not (tmp_path / "config.json.tmp").exists()
    assert json.loads((tmp_path / "config.json").read_text()) == {"wifi_ssid": "home"}
    assert config.load(DEFAULTS, ("wifi_ssid",))[0]["wifi_ssid"] == "home"


def test_config_json_is_read_at_its_own_size_not_the_cap(tmp_path, monkeypatch):
    # A buffer of MAX_BYTES for a 60-byte file was the boot's largest allocation on a small board.
    import builtins

    from runtime import config

    (tmp_path / "config.json").write_text(json.dumps({"wifi_ssid": "home", "loop_interval_ms": 500}))
    size = (tmp_path / "config.json").stat().st_size
    asked = []
    real_open = builtins.open

    class Recording:
        def __init__(self, f):
            self.f = f

        def read(self, n=-1):
            asked.append(n)
            return self.f.read(n)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(builtins, "open", lambda *a, **k: Recording(real_open(*a, **k)))
    conf, problem = config.load(DEFAULTS, ("wifi_ssid",))
    assert problem is None and conf["loop_interval_ms"] == 500
    assert asked and all(0 <= n <= size for n in asked), f"read({asked}) of a {size}-byte file"


def test_log_never_exceeds_its_bound(tmp_path):
    from runtime.log import Log

    log = Log("DEBUG", "log.txt", 1000, 1)
    for i in range(300):
        log.debug("line %d %s", i, "é" * 20)
    files = sorted(tmp_path.glob("log.txt*"))
    assert [f.name for f in files] == ["log.txt", "log.txt.1"]
    assert all(f.stat().st_size <= 1000 for f in files)


@pytest.mark.parametrize("char", ["é", "€", "😀"])
def test_a_line_longer_than_the_file_is_cut_on_a_character_boundary(tmp_path, char):
    from runtime.log import Log

    # Lines of every offset against the cut, so an old cut through a character would show.
    for pad in range(4):
        log = Log("INFO", f"log{pad}.txt", 64, 0)
        log.info("x" * pad + char * 40)
        log.flush()
        data = (tmp_path / f"log{pad}.txt").read_bytes()
        assert len(data) <= 64
        assert data.endswith(char.encode() + b"\n"), data
        data.decode("utf-8")  # strict: no cut character anywhere


@pytest.fixture
def appends(monkeypatch):
    """How many times the log opens its file to append: each is a rewritten flash block."""
    import builtins

    opened = []
    real = builtins.open

    def counting(path, mode="r", *args, **kwargs):
        if "a" in mode:
            opened.append(path)
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting)
    return opened


def test_log_lines_wait_for_one_write_per_flush(tmp_path, appends):
    from runtime.log import Log

    log = Log("INFO", "log.txt", 8192, 1)
    for i in range(5):
        log.info("reading %d", i)
    assert not appends and not (tmp_path / "log.txt").exists()  # still in RAM
    log.flush()
    log.flush()  # nothing new: no write
    assert appends == ["log.txt"]
    assert [line.split()[-1] for line in (tmp_path / "log.txt").read_text().splitlines()] == ["0", "1", "2", "3", "4"]


def test_errors_and_tracebacks_reach_the_file_at_once_in_one_write(tmp_path, appends):
    from runtime.log import Log

    log = Log("INFO", "log.txt", 8192, 1)
    log.info("before the error")
    log.error("sensor gone")
    assert appends == ["log.txt"] and "ERROR sensor gone" in (tmp_path / "log.txt").read_text()
    log.info("before the crash")
    try:
        raise ValueError("bad reading")
    except ValueError as e:
        log.exception("crash", e)
    text = (tmp_path / "log.txt").read_text()
    assert len(appends) == 2 and "before the crash" in text and "ValueError: bad reading" in text


def test_a_full_buffer_is_written_early_and_the_cap_holds_per_file(tmp_path, appends):
    from runtime.log import Log

    # 300 lines of ~40 bytes in one "tick": the 512-byte buffer fills every ~12 lines, and
    # batches cross the 1000-byte cap of each file: rotation still happens line by line.
    log = Log("INFO", "log.txt", 1000, 2)
    for i in range(300):
        log.info("line %03d of one long tick", i)
    log.flush()
    files = sorted(tmp_path.glob("log.txt*"))
    assert [f.name for f in files] == ["log.txt", "log.txt.1", "log.txt.2"]
    assert all(f.stat().st_size <= 1000 for f in files)
    assert 300 // 13 <= len(appends) <= 300 // 8  # batches, not a write per line
    lines = [line for f in reversed(files) for line in f.read_text().splitlines(keepends=True)]
    kept = [int(line.split()[3]) for line in lines]
    full = 1000 // max(len(line) for line in lines)  # lines a full file holds at least
    assert kept == list(range(300 - len(kept), 300)) and len(kept) >= 2 * full  # in order, the newest kept


def test_log_below_level_writes_nothing(tmp_path):
    from runtime.log import Log

    Log("ERROR", "log.txt", 1000, 1).info("quiet")
    assert not (tmp_path / "log.txt").exists()


@pytest.mark.parametrize("data, watchdog, expect", [
    ({"loop_interval_ms": 0}, None, "loop_interval_ms should be int from 1 to 536870911, not 0"),
    ({"loop_interval_ms": -5}, None, "loop_interval_ms should be int from 1 to 536870911, not -5"),
    ({"loop_interval_ms": 2**29}, None, "loop_interval_ms should be int from 1 to 536870911, not 536870912"),
    ({"max_failures": 0}, None, "max_failures should be int from 1 to 1000, not 0"),
    ({"max_failures": 5.0}, None, "max_failures should be int from 1 to 1000, not 5.0"),
    ({"loop_interval_ms": 5000, "watchdog_ms": 3000}, 0, "must be shorter than the watchdog's 3000 ms"),
    ({"loop_interval_ms": 2000, "watchdog_ms": 8000}, 1600, "must be shorter than the watchdog's 1600 ms"),
])
def test_settings_out_of_range_name_the_key(data, watchdog, expect):
    from runtime import config

    defaults = {"loop_interval_ms": 1000, "watchdog_ms": 8000, "max_failures": 5}
    conf, problem = config.check(data, defaults, (), watchdog)
    assert conf is None and expect in problem


def test_watchdog_timing_is_free_without_a_watchdog_and_null_defaults_take_any_value():
    from runtime import config

    defaults = {"loop_interval_ms": 1000, "watchdog_ms": 8000, "mqtt_host": None}
    conf, problem = config.check({"loop_interval_ms": 9000, "mqtt_host": "broker.local"}, defaults, ())
    assert problem is None and conf["mqtt_host"] == "broker.local"
