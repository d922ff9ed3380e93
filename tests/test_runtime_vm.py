"""Runs the rendered runtime modules in the MicroPython unix port."""
import json
import shutil

import pytest

from conftest import run_vm


@pytest.fixture
def device(renderings, tmp_path):
    """device/ of the esp8266 project (rendered once), copied: a test writes its config and logs there."""
    return shutil.copytree(renderings(boards=["esp8266"]) / "device", tmp_path / "device")


def test_log_rotation_keeps_the_bound(device):
    script = (
        "from runtime.log import Log\n"
        "log = Log('INFO', 'log.txt', 1024, 2)\n"
        "for i in range(500): log.info('line %d of the soak', i)\n"
        "try:\n    raise ValueError('boom')\nexcept ValueError as e:\n    log.exception('caught', e)\n"
    )
    out = run_vm(script, device)
    assert out.returncode == 0, out.stderr
    sizes = {p.name: p.stat().st_size for p in device.glob("log.txt*")}
    assert set(sizes) == {"log.txt", "log.txt.1", "log.txt.2"}
    assert all(s <= 1024 for s in sizes.values()), sizes
    assert "ValueError: boom" in (device / "log.txt").read_text()


def load_config_then(line):
    """A unix-port script: config.load with a Wi-Fi project's defaults, then `line`."""
    return ("from runtime import config\n"
            "conf, problem = config.load({'wifi_ssid': '', 'loop_interval_ms': 1000}, ('wifi_ssid',))\n"
            + line + "\n")


@pytest.mark.parametrize("content, expect", [
    (None, "no config.json"),
    ("{not json", "not valid JSON"),
    ('{"loop_interval_ms": "fast"}', "loop_interval_ms"),
    ('{"wifi_ssid": ""}', "wifi_ssid is empty"),
])
def test_bad_config_means_setup_mode_and_is_kept(device, content, expect):
    if content is not None:
        (device / "config.json").write_text(content)
    out = run_vm(load_config_then("print('PROBLEM', problem)"), device)
    assert out.returncode == 0, out.stderr
    assert expect in out.stdout
    if content is not None:
        assert (device / "config.json.bad").read_text() == content


def test_valid_tmp_is_promoted(device):
    (device / "config.json.tmp").write_text(json.dumps({"wifi_ssid": "home", "extra": 1}))
    out = run_vm(load_config_then("print('CONF', conf['wifi_ssid'], conf['loop_interval_ms'], problem)"), device)
    assert out.returncode == 0, out.stderr
    assert "CONF home 1000 None" in out.stdout
    assert (device / "config.json").exists() and not (device / "config.json.tmp").exists()
