"""Your app, not ours: a project whose device/app.py is someone else's stays green.

The template's tests in a generated project (tests/runtime/) run the runtime with an app of
their own, never the user's, and rely on no setting but the runtime's. Proved here on one
rendering: two apps unlike the example replace it (tests/foreign_apps/: a sensor node with a
package of its own in device/lib/, a helper module, settings of its own and its own log format;
a quiet asyncio app that logs nothing at INFO), each with tests of its own in tests/app/; check
and ruff pass. With the sensor node the project's whole suite passes: the template's tests
never run the user's app, which one foreign app proves (their board-independent part, run with
the example app in test_generated_project.py, is left out here). With the quiet app, what its
code can change: its own tests, the quality gates (ruff, the type checker) and check/build. Also here, on the same rendering: a setup() that
never returns is named by the virtual board, ctx.reset() is never counted as a crash, the
documented pattern for a server that is down at boot keeps the app running, and `check` warns
on machine.reset() in the app's code.
"""
import json
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

from conftest import ROOT, USERS_PART, checks, render, sim_in_background, stubs_env, tool

FOREIGN = ROOT / "tests" / "foreign_apps"
ANSWERS = {"boards": ["rp2_pico_w"], "wifi": True}  # Wi-Fi, a log file, a watchdog: every part of the runtime
CONFIG = {"wifi_ssid": "home"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render(tmp_path_factory.mktemp("rendered") / "proj", **ANSWERS)


@pytest.fixture
def project(rendered, tmp_path):
    dst = tmp_path / "proj"
    shutil.copytree(rendered, dst)
    return dst


def adopt(project, name):
    """The user replaces the example app by theirs (device/ files, tests/app/, settings)."""
    src = FOREIGN / name
    (project / "device" / "app.py").unlink()
    shutil.copytree(src / "device", project / "device", dirs_exist_ok=True)
    shutil.rmtree(project / "tests" / "app", ignore_errors=True)
    shutil.copytree(src / "tests" / "app", project / "tests" / "app")
    settings = src / "app-settings.json"  # meter's holds a required setting: the template's tests must not care
    if settings.exists():
        shutil.copyfile(settings, project / "app-settings.json")
    return sorted(p.relative_to(src).as_posix() for p in src.rglob("*.py"))


def run(project, *args, timeout=600):
    # The board-independent tests (deploy faults, deps) do not depend on the app: FULL[0] of
    # test_generated_project.py runs them.
    env = dict(stubs_env(project), BOARD_INDEPENDENT_ELSEWHERE="1")
    return subprocess.run([sys.executable, "-m", *args], cwd=project, capture_output=True, text=True,
                          timeout=timeout, env=env)


# What each app's project runs of its suite: all of it once; else what the app's code can change.
SUITE = {"meter": [], "quiet": USERS_PART}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["meter", "quiet"])
def test_a_foreign_app_keeps_the_projects_own_suite_green(project, name):
    files = adopt(project, name)
    out = run(project, "tools", "check")
    assert out.returncode == 0 and "(0 warnings)" in out.stdout, out.stdout + out.stderr
    out = run(project, "ruff", "format", "--check", *files)  # the apps are clean code
    assert out.returncode == 0, out.stdout + out.stderr
    # The template's tests (ruff and the type checker included) and the app's own.
    out = run(project, "pytest", "-q", "-p", "no:cacheprovider", *SUITE[name], timeout=900)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert re.search(r"\b\d+ passed", out.stdout) and "tests/app/" not in out.stdout.split("short test summary")[-1]


def sim(project, flash, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "tools", "sim", "--flash", str(flash), *args], cwd=project,
                          capture_output=True, text=True, timeout=timeout)


def flash_with(tmp_path, app, config=CONFIG):
    flash = tmp_path / "flash"
    flash.mkdir()
    (flash / "config.json").write_text(json.dumps(config))
    (flash / "app.py").write_text(app)  # beside app.mpy it wins
    return flash


@pytest.mark.parametrize("body", [
    "    while True:\n        time.sleep_ms(50)\n",
    "    asyncio.run(_forever())\n",
], ids=["while-true", "asyncio-run"])
def test_a_setup_that_never_returns_is_named_and_fails_a_counted_run(rendered, tmp_path, body):
    app = ("import asyncio\nimport time\n\n\nasync def _forever():\n    while True:\n        await asyncio.sleep_ms(50)"
           f"\n\n\ndef setup(ctx):\n    ctx.log.info('app: setting up')\n{body}\n\ndef loop(ctx):\n    pass\n")
    started = time.monotonic()
    out = sim(rendered, flash_with(tmp_path, app), "--ticks", "3")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "app: setting up" in out.stdout
    [line] = [line for line in out.stdout.splitlines() if line.startswith("sim: app.setup(ctx) has not returned")]
    assert "after 10 s" in line and "watchdog" in line and "loop(ctx)" in line
    assert "error: app.setup(ctx) did not return within 10 s" in out.stderr
    assert time.monotonic() - started < 60


def test_a_slow_but_finite_setup_is_not_named(rendered, tmp_path):
    app = "import time\n\n\ndef setup(ctx):\n    time.sleep_ms(1500)\n\n\ndef loop(ctx):\n    pass\n"
    out = sim(rendered, flash_with(tmp_path, app), "--ticks", "3")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "has not returned" not in out.stdout and "sim: 3 ticks done" in out.stdout


RESETS = """\
import machine


def setup(ctx):
    try:
        with open("boots.txt") as f:
            n = int(f.read())
    except OSError:
        n = 0
    with open("boots.txt", "w") as f:
        f.write(str(n + 1))
    if n < 4:
        {reset}
    ctx.log.info("app: boot %d runs", n)


def loop(ctx):
    pass
"""


def test_ctx_reset_is_logged_and_never_counted_as_a_crash(rendered, tmp_path):
    flash = flash_with(tmp_path, RESETS.format(reset='ctx.reset("new settings, boot %d" % n)'))
    out = sim(rendered, flash, "--ticks", "5")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("sim: rebooting (") == 4 and "safe mode" not in out.stdout
    assert "app: boot 4 runs" in out.stdout and "sim: 5 ticks done" in out.stdout
    log = "".join(p.read_text() for p in flash.glob("log.txt*"))
    assert all(f"WARNING reset: new settings, boot {n}" in log for n in range(4)), log


def test_a_bare_machine_reset_is_counted_and_ends_in_safe_mode(rendered, tmp_path):
    # The same app with machine.reset(): the crash-loop guard counts it (what ctx.reset avoids).
    out = sim(rendered, flash_with(tmp_path, RESETS.format(reset="machine.reset()")), "--ticks", "5")
    assert out.returncode == 1 and "safe mode: the app crashed in 3 boots in a row" in out.stderr, out.stderr


def documented_app(page):
    """The example of a server that may be down, as the page shows it."""
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    [app] = [b for b in blocks if b.startswith("# device/app.py: reaches a server that may be down")]
    return app


def test_a_server_down_at_boot_keeps_the_documented_app_running(rendered, tmp_path):
    app = documented_app((rendered / "docs" / "writing-your-app.md").read_text())
    assert app == documented_app((ROOT / "docs" / "writing-your-app.md").read_text()), "the two pages differ"
    with socket.socket() as s:  # a port on loopback that nothing listens on: the server is down
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    flash = flash_with(tmp_path, app, dict(CONFIG, server_port=port, server_retry_ms=100, loop_interval_ms=50))
    vm = sim_in_background(rendered, "--flash", str(flash), "--ticks", "400")
    server = None
    try:
        start = 0
        for _ in range(3):  # three tries fail, then the server comes back
            down = vm.wait_for("server: down", 60, start)
            assert down, vm.output
            start = vm.lines.index(down, start) + 1
        server = socket.create_server(("127.0.0.1", port))
        vm.wait_for("server: connected", 60)
    finally:
        text = vm.kill()
        if server:
            server.close()
    waits = [int(w) for w in re.findall(r"server: down \(.*\), next try in (\d+) ms", text)]
    assert waits[:3] == [100, 200, 400], text
    assert "server: connected" in text and "safe mode" not in text and "Traceback" not in text, text


def test_check_warns_on_machine_reset_in_the_apps_code(project):
    (project / "device" / "lib" / "mine").mkdir()
    (project / "device" / "lib" / "mine" / "__init__.py").write_text(
        "import machine as m\n\n\ndef restart():\n    m.reset()\n")
    (project / "device" / "app.py").write_text(
        (project / "device" / "app.py").read_text() + "\n\ndef bail(ctx):\n    from machine import reset\n\n    reset()\n")
    facts = json.loads((project / "tools" / "project.json").read_text())["facts"]
    found = checks.run(project, ANSWERS["boards"], facts, 8192, tool("mpy-cross"))
    hits = sorted((f.path, f.level) for f in found if f.code == "app-reset")
    assert hits == [("device/app.py", "warning"), ("device/lib/mine/__init__.py", "warning")], \
        [f.text() for f in found]
    assert all("ctx.reset(reason)" in f.fix for f in found if f.code == "app-reset")
    assert not [f for f in found if f.code != "app-reset"], "the runtime's and drivers' own resets are theirs"


def test_the_template_owned_tests_live_apart_from_the_users(rendered):
    tests = rendered / "tests"
    assert sorted(p.name for p in (tests / "app").iterdir()) == ["test_app.py", "test_devices.py"]
    assert (tests / "runtime" / "test_firmware_vm.py").is_file() and not list(tests.glob("test_*.py"))
    assert "tests/app/**" in (ROOT / "copier.yml").read_text()
