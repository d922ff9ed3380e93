"""The sensor node's own tests."""

from conftest import load_app


def test_reports_every_few_ticks_in_its_own_format(firmware):
    run = firmware(ticks=7, config={"report_every": 2, "node_name": "attic"})
    assert run.rc == 0, run
    assert any("[node attic] ready, reporting every 2 ticks" in line for line in run.console), run
    reports = [line for line in run.console if "[node] t=" in line]
    assert [line.split("[node] ")[1].split()[0] for line in reports] == ["t=0", "t=2", "t=4", "t=6"], run


def test_celsius_on_the_host():
    units = load_app("units")
    assert units.celsius(200) == "0.0C"
    assert units.celsius(1023) == "82.3C"
    assert units.celsius(0) == "-20.0C"
