"""The generated project's behaviour pages (docs/behaviour/): linked, complete, and true to the firmware.

Every rendering's README links to every page it has and to no page it lacks; a page exists exactly
when its behaviour exists in that project; each page documents its virtual-board commands with
flags `python -m tools sim` has; and the commands of each page, run in a rendered project, print
the console lines the page shows.
"""
import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Background, tools_env

BASE_PAGES = {"setup-mode.md", "corrupt-config.md", "interrupted-save.md", "loop-exception.md",
              "memory-error.md", "crash-loop.md", "safe-mode.md", "ctrl-c-and-watchdog.md", "reset-cause.md"}
WIFI_PAGES = {"wifi-never-connects.md", "wifi-drops.md"}
LOG_FILE_PAGES = {"flash-full.md"}

RENDERINGS = {
    "esp8266": {"boards": ["esp8266"]},
    "rp2_pico-nowifi": {"boards": ["rp2_pico"], "wifi": False},
    "esp32-console-log-no-watchdog": {"boards": ["esp32"], "log_to_file": False, "watchdog": False},
    "multi": {"boards": ["esp8266", "rp2_pico_w", "pyboard"], "wifi": True, "wifi_country": "DE"},
}
# Running every page's commands costs a few minutes per project: two projects cover both shapes.
RUN_RENDERINGS = ["esp8266", "rp2_pico-nowifi"]

FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
SIM = re.compile(r"python -m tools sim\b([^\n`]*)")
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.fixture(scope="module")
def projects(renderings):
    return lambda name: renderings(**RENDERINGS[name])


def answers_of(name):
    a = RENDERINGS[name]
    wifi = a.get("wifi", True)
    return wifi, a.get("log_to_file", True), a.get("watchdog", True)


def pages(project):
    return {p.name for p in (project / "docs" / "behaviour").glob("*.md") if p.name != "README.md"}


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_each_project_has_exactly_its_behaviour_pages(projects, name):
    wifi, log_file, _ = answers_of(name)
    expected = BASE_PAGES | (WIFI_PAGES if wifi else set()) | (LOG_FILE_PAGES if log_file else set())
    assert pages(projects(name)) == expected


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_readme_and_index_link_every_page_and_every_link_resolves(projects, name):
    project = projects(name)
    behaviour = project / "docs" / "behaviour"
    readme = (project / "README.md").read_text()
    assert "## What the firmware does when things go wrong" in readme
    from_readme = {m for m in LINK.findall(readme) if m.startswith("docs/behaviour/")}
    assert {Path(m).name for m in from_readme} == pages(project) | {"README.md"}
    index = (behaviour / "README.md").read_text()
    assert {m for m in LINK.findall(index) if not m.startswith("http")} == pages(project)
    for page in [behaviour / "README.md", *sorted(behaviour.glob("*.md"))]:
        for link in LINK.findall(page.read_text()):
            if link.startswith(("http://", "https://")):
                continue
            target, _, anchor = link.partition("#")
            path = (page.parent / target) if target else page
            assert path.is_file(), f"{page.name}: link to missing {link}"
            if anchor:
                slugs = {slug(h) for h in re.findall(r"^#+ (.+)$", path.read_text(), re.M)}
                assert anchor in slugs, f"{page.name}: no heading for #{anchor} in {path.name}"


def slug(heading):
    # GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes.
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_each_page_says_what_happens_how_to_trigger_and_recover_with_real_sim_flags(projects, name):
    project = projects(name)
    helptext = subprocess.run([sys.executable, "-m", "tools", "sim", "--help"], cwd=project,
                              capture_output=True, text=True, timeout=60, env=tools_env())
    assert helptext.returncode == 0, helptext.stderr
    known = set(re.findall(r"--[a-z][\w-]*", helptext.stdout))
    assert {"--flash", "--ticks", "--hold-button", "--wifi", "--flash-size"} <= known
    for page in sorted((project / "docs" / "behaviour").glob("*.md")):
        text = page.read_text()
        if page.name == "README.md":
            continue
        for heading in ("## What happens", "## How to trigger it", "## How to recover"):
            assert heading in text, f"{page.name}: no {heading!r}"
        commands = SIM.findall(text)
        assert commands, f"{page.name} names no `python -m tools sim` command"
        assert "mpremote" in text, f"{page.name} says nothing about a real board"
        for args in commands:
            unknown = set(re.findall(r"(?<!\S)--[a-z][\w-]*", args)) - known
            assert not unknown, f"{page.name}: `sim{args}` uses {unknown}, not in `sim --help`"
        assert "{{" not in text and "{%" not in text, f"{page.name}: Jinja left unrendered"


def test_the_validators_pass_with_the_pages_committed(projects):
    project = projects("multi")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    out = subprocess.run([sys.executable, "-m", "tools", "check"], cwd=project, capture_output=True, text=True,
                         timeout=300, env=tools_env())
    assert out.returncode == 0, out.stdout + out.stderr
    assert "docs/behaviour" not in out.stdout + out.stderr


def scenarios(page_text):
    """(shell block, the lines shown after it) for every block that runs the virtual board."""
    blocks = [(m.group(1), m.group(2)) for m in FENCE.finditer(page_text)]
    found = []
    for i, (lang, body) in enumerate(blocks):
        if lang != "sh" or "python -m tools sim" not in body:
            continue
        shown = None
        for lang2, body2 in blocks[i + 1:]:
            if lang2 == "sh":
                break
            if lang2 == "text":
                shown = body2.splitlines()
                break
        found.append((body, shown))
    return found


def normal(line):
    return re.sub(r"\d+", "0", line.strip())


def assert_shown(shown, output, where):
    """The shown lines appear in the output in order; adjacent shown lines are adjacent there
    too, except where the page writes `...` (any lines) or `...` inside a line (any text).
    Numbers are compared as numbers of any value: clocks, sizes and counts vary between runs."""
    out = [normal(line) for line in output.splitlines()]
    want = []  # (pattern, may skip lines before it)
    gap = True
    for line in shown:
        if line.strip() == "...":
            gap = True
            continue
        want.append((re.compile(".*".join(re.escape(part) for part in normal(line).split("...")) + r"\Z"), gap))
        gap = False

    @functools.lru_cache(maxsize=None)
    def fits(i, pos):
        if i == len(want):
            return True
        pattern, skip = want[i]
        starts = range(pos, len(out)) if skip else range(pos, min(pos + 1, len(out)))
        return any(pattern.match(out[p]) and fits(i + 1, p + 1) for p in starts)

    assert fits(0, 0), f"{where}: the page shows\n" + "\n".join(shown) + f"\nthe run printed:\n{output}"


def run_block(project, block):
    # `python` in the pages is the project's interpreter: the one running these tests (tools_env).
    if "--ticks" not in block:  # runs until Ctrl-C: press it once the app is running
        running = Background("-c", block, cwd=project, command=("bash",))
        running.wait_for("app: tick 20", 120)
        return running.ctrl_c(60) + "\n"
    out = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block], cwd=project, env=tools_env(),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"exit {out.returncode}:\n{block}\n{out.stdout}\n{out.stderr}"
    return out.stdout


def pages_of(name):
    """The behaviour pages a rendering has (test_each_project_has_the_pages_its_answers_call_for)."""
    answers = RENDERINGS[name]
    wifi = answers.get("wifi", True)
    return BASE_PAGES | (WIFI_PAGES if wifi else set()) | (LOG_FILE_PAGES if answers.get("log_to_file", True) else set())


@pytest.mark.parametrize(("name", "page"), [(n, p) for n in RUN_RENDERINGS for p in sorted(pages_of(n))])
def test_the_commands_of_each_page_print_what_it_shows(projects, name, page):
    path = projects(name) / "docs" / "behaviour" / page
    assert path.exists(), f"{page} is missing from the {name} project"
    runs = scenarios(path.read_text())
    assert runs, f"{page}: no runnable virtual-board block"
    for n, (block, shown) in enumerate(runs, 1):
        output = run_block(projects(name), block)
        if shown:
            assert_shown(shown, output, f"{page}, block {n}")
