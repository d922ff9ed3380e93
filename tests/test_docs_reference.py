"""The docs site keeps up with the code it describes: every validator and every sim option is documented."""
import ast
import functools
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from conftest import ROOT, tools_alone


def check_codes():
    """(code, level) of every finding hooks/checks.py can report, read from its p.add(...) calls."""
    tree = ast.parse((ROOT / "hooks" / "checks.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add"
                and len(node.args) >= 2 and isinstance(node.args[0], ast.Name)
                and isinstance(node.args[1], ast.Constant)):
            found.add((node.args[1].value, node.args[0].id.lower()))
    return found


# Prints {option: choices} of every command, read from the parser that `python -m tools` builds
# from its table of commands (a subcommand's options under "commands").
DUMP = r"""
import argparse, json
from tools.__main__ import parser

def options(p):
    out = {}
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            out["commands"] = {name: options(sub) for name, sub in action.choices.items()}
        for option in action.option_strings:
            if option.startswith("--") and option != "--help":
                out[option] = list(action.choices or ())
    return out

print(json.dumps(options(parser())["commands"]))
"""


@functools.cache
def commands():
    """{command: {option: choices}} of the project's tools, from template/tools as a project has it."""
    where = tools_alone(Path(tempfile.mkdtemp(prefix="tools-parser-")), json.dumps({"boards": ["a_board"], "facts": {}}))
    out = subprocess.run([sys.executable, "-c", DUMP], cwd=where, capture_output=True, text=True, timeout=60)
    shutil.rmtree(where)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def cli_options():
    """(sim options, options of the other commands but deps)."""
    found = commands()
    sim = set(found["sim"]) - {"--board"}
    every = {option for name, options in found.items() if name != "deps" for option in options}
    return sim, every - sim - {"--board", "--format"}


def deps_options():
    """(subcommands, options) of `deps`."""
    subs = commands()["deps"]["commands"]
    return set(subs), {option for options in subs.values() for option in options}


def sim_options():
    return cli_options()[0] | {"--board"}


def test_every_deploy_config_and_logs_option_is_documented():
    others = cli_options()[1]
    assert {"--port", "--dry-run", "--py", "--follow", "--push"} <= others
    page = (ROOT / "docs" / "deploy.md").read_text()
    table = set(re.findall(r"^\| `(--[\w-]+)", page, re.M))
    assert others <= table, f"docs/deploy.md lacks: {', '.join(sorted(others - table))}"


def test_every_deps_command_and_option_is_documented_on_the_libraries_page():
    commands, options = deps_options()
    assert {"add", "remove", "install", "update", "list"} <= commands and "--index" in options
    page = (ROOT / "docs" / "libraries.md").read_text()
    missing = sorted(c for c in commands if f"python -m tools deps {c}" not in page)
    assert not missing, f"docs/libraries.md shows no example of: {', '.join(missing)}"
    table = set(re.findall(r"^\| `(--[\w-]+)", page, re.M))
    assert options <= table, f"docs/libraries.md lacks: {', '.join(sorted(options - table))}"


def test_every_validator_is_documented_with_its_level():
    codes = check_codes()
    assert {("boot-exit", "error"), ("except-all", "error"), ("big-module", "warning")} <= codes
    page = (ROOT / "docs" / "checks.md").read_text()
    rows = dict(re.findall(r"^\| `([\w-]+)` \| (error|warning) \|", page, re.M))
    missing = sorted(code for code, _ in codes if code not in rows)
    assert not missing, f"docs/checks.md has no row for: {', '.join(missing)}"
    wrong = sorted(code for code, level in codes if rows[code] != level)
    assert not wrong, f"docs/checks.md gives the wrong level for: {', '.join(wrong)}"
    stale = sorted(set(rows) - {code for code, _ in codes})
    assert not stale, f"docs/checks.md documents checks that do not exist: {', '.join(stale)}"


def test_every_sim_option_is_documented_on_the_virtual_board_page():
    options = sim_options()
    assert {"--flash", "--ticks", "--wifi", "--flash-size", "--hold-button"} <= options
    page = (ROOT / "docs" / "virtual-board.md").read_text()
    table = set(re.findall(r"^\| `(--[\w-]+)", page, re.M))
    assert options <= table, f"docs/virtual-board.md lacks: {', '.join(sorted(options - table))}"
    modes = commands()["sim"]["--wifi"]
    assert {"ok", "fail", "drop"} <= set(modes)
    for mode in modes:
        assert f"`--wifi {mode}`" in page, f"docs/virtual-board.md: no row for --wifi {mode}"
