"""`deploy --port P1 --port P2 ...`: one build to several boards at once, against `sim --serve`
boards: one summary line each, and a board that fails does not stop the others."""
import os
import shutil
import subprocess
import sys

import pytest
from conftest import sim_in_background, tools_env

BOARD = "rp2_pico_w"


def serve(project, flash, *args):
    board = sim_in_background(project, "--board", BOARD, "--serve", "--blank", "--flash", str(flash), *args)
    line = board.wait_for("/dev/", 60)
    assert line and line.startswith("/dev/"), board.lines
    board.port = line.strip()
    return board


@pytest.mark.skipif(os.name != "posix", reason="sim --serve needs a pty (Linux or macOS)")
def test_a_fleet_deploy_reports_each_board_and_a_broken_one_does_not_stop_the_others(renderings, tmp_path):
    project = tmp_path / "p"
    shutil.copytree(renderings(boards=[BOARD]), project)
    flashes = [tmp_path / f"flash{i}" for i in range(3)]
    # The second board's flash is too small for the build: its deploy fails before writing.
    boards = [serve(project, flashes[0]), serve(project, flashes[1], "--flash-size", "65536"),
              serve(project, flashes[2])]
    try:
        ports = [b.port for b in boards]
        out = subprocess.run(check=False, args=[sys.executable, "-m", "tools", "deploy", *(a for p in ports for a in ("--port", p))],
                             cwd=project, env=tools_env(), capture_output=True, text=True, timeout=600)
    finally:
        for b in boards:
            b.ctrl_c()
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    summary = [next(line for line in lines if line.startswith(f"{p}: ")) for p in ports]
    assert summary[0].startswith(f"{ports[0]}: ok, ") and " written, " in summary[0], out.stdout
    assert summary[2].startswith(f"{ports[2]}: ok, ") and " written, " in summary[2], out.stdout
    assert summary[1].startswith(f"{ports[1]}: failed: ") and "flash" in summary[1], out.stdout
    assert "2 of 3 boards deployed, 1 failed" in out.stdout
    built = project / "build" / BOARD
    for flash in (flashes[0], flashes[2]):
        for f in built.rglob("*"):
            if f.is_file():
                assert (flash / f.relative_to(built)).read_bytes() == f.read_bytes(), f
    assert not (flashes[1] / "main.py").exists()


def test_all_and_port_together_is_a_usage_error(renderings, tmp_path):
    project = renderings(boards=[BOARD])
    out = subprocess.run(check=False, args=[sys.executable, "-m", "tools", "deploy", "--all", "--port", "/dev/null"], cwd=project,
                         env=tools_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "either --all or --port" in out.stderr, out.stderr


@pytest.mark.skipif(os.name != "posix", reason="sim --serve needs a pty (Linux or macOS)")
def test_all_skips_a_serial_device_that_is_no_micropython_board(renderings, tmp_path):
    # `--all` takes every USB serial port; here they are a virtual board and a pty whose other end
    # never answers (a USB-serial adapter, a GPS): the board is deployed, the other skipped.
    project = tmp_path / "p"
    shutil.copytree(renderings(boards=[BOARD]), project)
    silent_end, silent = os.openpty()
    other = os.ttyname(silent)
    board = serve(project, tmp_path / "flash")
    code = ("import sys; from tools import __main__ as cli, deploy; "
            f"deploy.usb_ports = lambda: [{board.port!r}, {other!r}]; "
            "sys.exit(cli.main(['deploy', '--all']))")
    try:
        out = subprocess.run(check=False, args=[sys.executable, "-c", code], cwd=project, env=tools_env(),
                             capture_output=True, text=True, timeout=600)
    finally:
        board.ctrl_c()
        os.close(silent_end)
        os.close(silent)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{board.port}: ok, " in out.stdout, out.stdout
    assert f"{other}: skipped: does not answer as MicroPython" in out.stdout, out.stdout
    assert "1 of 1 boards deployed; 1 other serial devices skipped" in out.stdout, out.stdout
    assert (tmp_path / "flash" / "main.py").read_bytes() == (project / "build" / BOARD / "main.py").read_bytes()
