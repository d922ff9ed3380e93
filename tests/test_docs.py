"""The documentation site: it builds strictly, documents every question, and shows every board's facts."""
import html
import importlib.util
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import CATALOGUE, ROOT

HOOK = ROOT / "docs" / "hooks" / "boards.py"


def mkdocs_build(project, site):
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=project, capture_output=True, text=True, timeout=300, env=env)


def text_of(page):
    """The visible text of a built page, tags removed and whitespace collapsed."""
    raw = re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8"))
    return re.sub(r"\s+", " ", html.unescape(raw))


def hook_module():
    spec = importlib.util.spec_from_file_location("docs_boards_hook", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _IncludeLoader(yaml.SafeLoader):
    pass


_IncludeLoader.add_constructor("!include", lambda loader, node: None)


def copier_questions():
    """The questions of copier.yml, read here independently of the docs hook."""
    spec = {}
    for doc in yaml.load_all((ROOT / "copier.yml").read_text(encoding="utf-8"), Loader=_IncludeLoader):
        spec.update(doc or {})
    questions = []
    for name, q in spec.items():
        when = q.get("when") if isinstance(q, dict) else None
        if name.startswith("_") or when is False or str(when).strip().lower() == "false":
            continue
        questions.append(name)
    return questions


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    out = mkdocs_build(ROOT, site)
    assert out.returncode == 0, f"mkdocs build --strict failed:\n{out.stdout}\n{out.stderr}"
    return site


def test_docs_build_strictly(site):
    for page in ("index.html", "questions/index.html", "boards/index.html", "troubleshooting/index.html",
                 "comparison/index.html", "deploy/index.html", "virtual-board/index.html"):
        assert (site / page).is_file(), page


def test_every_question_of_copier_yml_has_an_entry():
    questions = copier_questions()
    assert {"project_name", "boards", "wifi", "log_level", "watchdog", "loop_interval_ms"} <= set(questions)
    assert "catalogue" not in questions and "stubs_board" not in questions
    page = (ROOT / "docs" / "questions.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"<!--\s*question:\s*([\w-]+)\s*-->", page))
    missing = [q for q in questions if q not in documented]
    assert not missing, f"docs/questions.md has no entry for: {', '.join(missing)}"
    for q in questions:
        assert re.search(rf"^### `{q}`$", page, re.M), f"docs/questions.md: no heading for {q}"


def test_questions_page_shows_copier_help_texts(site):
    text = text_of(site / "questions" / "index.html")
    spec = {}
    for doc in yaml.load_all((ROOT / "copier.yml").read_text(encoding="utf-8"), Loader=_IncludeLoader):
        spec.update(doc or {})
    for q in copier_questions():
        assert spec[q]["help"].split("(")[0].strip() in text, q


def test_hook_finds_undocumented_questions(tmp_path):
    hook = hook_module()
    (tmp_path / "copier.yml").write_text(
        "_min_copier_version: '9.15.0'\n"
        "catalogue:\n  type: yaml\n  when: false\n  default: !include data/boards.yml\n"
        "name:\n  type: str\n  help: Name\n"
        "extra:\n  type: bool\n  help: Extra\n  when: '{{ name }}'\n"
        "derived:\n  type: str\n  when: 'false'\n  default: x\n")
    questions = hook.load_questions(tmp_path)
    assert list(questions) == ["name", "extra"]
    assert hook.undocumented(questions, "### `name`\n<!-- question:name -->\n") == ["extra"]
    assert hook.undocumented(questions, "<!-- question:name --> <!-- question: extra -->") == []


def test_strict_build_fails_when_a_question_lacks_its_entry(tmp_path):
    for item in ("docs", "data"):
        shutil.copytree(ROOT / item, tmp_path / item)
    shutil.copy(ROOT / "mkdocs.yml", tmp_path)
    copier_yml = (ROOT / "copier.yml").read_text(encoding="utf-8")
    (tmp_path / "copier.yml").write_text(copier_yml + "\nundocumented_knob:\n  type: bool\n  help: A new knob\n")
    out = mkdocs_build(tmp_path, tmp_path / "site")
    assert out.returncode != 0
    assert "undocumented_knob" in out.stdout + out.stderr


@pytest.mark.parametrize("board", sorted(CATALOGUE))
def test_every_board_has_a_page_with_its_catalogue_facts(site, board):
    facts = CATALOGUE[board]
    page = site / "boards" / board / "index.html"
    assert page.is_file(), f"no page for board {board}"
    text = text_of(page)
    expected = [facts["label"], board, facts["port"], facts["march"], facts["stubs"],
                f"{facts['chip_free_kib']} KiB", f"{facts['heap_kib']} KiB", f"{facts['fs_kib']} KiB",
                f"{facts['fs_kib'] * 256} bytes"]
    if facts["wdt_max_ms"] is not None:
        expected.append(f"{facts['wdt_max_ms']} ms")
    expected += [facts["safe_mode_press"][1:], f"{facts['button_window_ms']} ms after the reset"]
    for value in expected:
        assert str(value) in text, f"boards/{board}: {value!r} missing"


def test_board_overview_and_memory_page_list_every_board(site):
    overview = (site / "boards" / "index.html").read_text(encoding="utf-8")
    memory = text_of(site / "memory" / "index.html")
    for board, facts in CATALOGUE.items():
        assert f'href="{board}/"' in overview, board
        assert f"{facts['heap_kib']} KiB" in memory and f"{facts['fs_kib'] * 256} bytes" in memory, board


def test_no_marker_is_left_unrendered(site):
    for page in site.rglob("*.html"):
        assert not re.search(r"&lt;!--\s*(boards|question|fact):|<!--\s*(boards|question|fact):",
                             page.read_text(encoding="utf-8")), page


@pytest.mark.parametrize("board", sorted(CATALOGUE))
def test_the_safe_mode_press_names_its_window_and_never_says_hold_at_reset(board):
    facts = CATALOGUE[board]
    press = facts["safe_mode_press"]
    assert f"within {facts['button_window_ms'] / 1000:g} s" in press, f"{board}: {press!r} misses its window"
    assert press.startswith("reset, then press ") and "hold" not in press.lower(), press
    assert ("LED is lit" in press) == (facts["led"] is not None), f"{board}: the LED shows the window when there is one"


@pytest.mark.parametrize("board", sorted(CATALOGUE))
def test_the_board_prose_agrees_with_the_facts_it_describes(board):
    # led_text, button_at_reset and machine_reset_reads are written once in data/boards.yml and
    # rendered as they are by the README, the behaviour pages and the docs site.
    f = CATALOGUE[board]
    led = f["led"]
    if led is None:
        assert f["led_text"].startswith("none"), f["led_text"]
    elif f["port"] == "pyboard":
        assert f"`pyb.LED({led})`" in f["led_text"]
    elif isinstance(led, int):
        assert f["led_text"].startswith(f"GPIO{led}")
    else:
        assert f'`Pin("{led}")`' in f["led_text"]
    assert ("lit when low" in f["led_text"]) == bool(f["led_active_low"]), f["led_text"]
    assert ("wired to the Wi-Fi chip" in f["led_text"]) == (led == "LED" and f["wifi"]), f["led_text"]
    loader = {"rp2": "the USB bootloader", "pyboard": "the pyboard's boot menu"}.get(f["port"], "the ROM download mode")
    assert f["button_at_reset"].startswith(loader), f["button_at_reset"]
    assert f["machine_reset_reads"] == ("WDT_RESET" if f["port"] == "rp2" else "HARD_RESET")
