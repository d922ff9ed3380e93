"""`python -m tools` itself: its table of commands, and a broken tools/project.json."""
import subprocess
import sys

import pytest

from conftest import tools_alone


def tools(where, *args):
    return subprocess.run([sys.executable, "-m", "tools", *args], cwd=where, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("broken", ["{", ""])
def test_a_broken_project_json_leaves_help_working_and_fails_a_command_in_one_line(tmp_path, broken):
    where = tools_alone(tmp_path, broken)
    out = tools(where, "--help")
    assert out.returncode == 0, out.stderr
    assert "sim" in out.stdout and "deploy" in out.stdout
    for args in (["check"], ["sim", "--ticks", "2"], ["build", "--board", "x"]):
        out = tools(where, *args)
        assert out.returncode == 1, (args, out.stdout, out.stderr)
        assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: tools/project.json is unreadable"), \
            out.stderr
        assert "Traceback" not in out.stderr


def test_every_command_of_the_table_declares_help_arguments_and_run(tmp_path):
    where = tools_alone(tmp_path, '{"boards": ["a_board"], "facts": {}}')
    script = ("from tools.__main__ import COMMANDS\n"
              "for name, command in COMMANDS.items():\n"
              "    assert command.HELP and callable(command.add_arguments) and callable(command.run), name\n"
              "print(' '.join(COMMANDS))")
    out = subprocess.run([sys.executable, "-c", script], cwd=where, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    names = out.stdout.split()
    assert {"check", "build", "deploy", "sim", "config", "logs", "typecheck", "deps"} <= set(names), names
    out = tools(where, "sim", "--serve", "--ticks", "3")
    assert out.returncode == 2 and "--ticks does not apply to --serve" in out.stderr
