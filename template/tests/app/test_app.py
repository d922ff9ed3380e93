"""Your app's tests: this file is yours (`copier update` never touches tests/app/).

Two ways to test, both shown below:
- on the virtual board: the `firmware` fixture (tests/conftest.py) builds the project, runs it in
  the MicroPython unix port at the board's heap for N ticks on a fresh flash, with a config.json
  of the test's own, and returns run.rc, run.console and run.log (lines);
- on CPython: load_app() imports device/app.py, and HostContext stands in for ctx. Fast, for
  logic that touches no hardware (keep such logic in modules of your own).

The checks of the example's own lines run while device/app.py is the example (EXAMPLE):
replace them with checks of your app's.
"""

import pytest
from conftest import PROJECT, ROOT, HostContext, load_app

# The example app, as the template wrote it (an update may bring this file to an app that is yours).
EXAMPLE = (ROOT / "device" / "app.py").read_text().startswith("# Your code. The runtime calls setup(ctx)")


def test_the_app_runs_and_logs(firmware):
    run = firmware(ticks=12)
    assert run.rc == 0, run
    assert "sim: 12 ticks done" in run.console and not any("Traceback" in line for line in run.console), run
    if EXAMPLE:
        assert any("app: hello from" in line for line in run.console), run
        assert any(line.endswith("app: tick 10") for line in run.console), run
        if PROJECT["log_file"]:  # the same lines went to the log file on the flash
            assert any("app: hello from" in line for line in run.log), run.log


def test_log_level_warning_silences_the_info_lines(firmware):
    run = firmware(ticks=3, config={"log_level": "WARNING"})
    assert run.rc == 0, run
    # Only the boot line comes before config.json is read.
    assert not [line for line in run.console if " INFO " in line and " INFO boot: " not in line], run


def test_a_bad_setting_means_setup_mode_and_the_app_never_starts(firmware):
    run = firmware(ticks=3, config={"loop_interval_ms": "fast"})
    assert run.rc == 1 and "setup mode although config.json was given" in run.stderr, run
    assert not any("sim: watchdog started" in line for line in run.console), run


def test_loop_logs_every_tenth_tick_on_the_host():
    if not EXAMPLE:
        pytest.skip("device/app.py is yours now: test its logic here, as this test did the example's")
    app = load_app()
    ctx = HostContext()
    app.setup(ctx)
    for ctx.tick in range(21):
        app.loop(ctx)
    assert ctx.log.lines == ["INFO app: hello from host", "INFO app: tick 0", "INFO app: tick 10", "INFO app: tick 20"]
