"""The quiet app's own tests: its tasks count while the heartbeat ticks."""


def test_silent_at_info(firmware):
    run = firmware(ticks=8, config={"loop_interval_ms": 50})
    assert run.rc == 0, run
    assert not any("count" in line for line in run.console), run


def test_the_tasks_count_between_ticks(firmware):
    run = firmware(ticks=8, config={"loop_interval_ms": 50, "log_level": "DEBUG"})
    assert run.rc == 0, run
    counts = [int(line.rsplit(" ", 1)[1]) for line in run.console if " count " in line]
    assert len(counts) == 8 and counts == sorted(counts) and counts[-1] > counts[0], run
