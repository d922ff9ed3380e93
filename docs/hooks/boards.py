"""mkdocs hooks: board pages and question facts rendered from the template's own data.

Board facts are written once, in data/boards.yml; question types, defaults and help
texts once, in copier.yml. This file turns them into documentation at build time, so
the docs cannot drift from the template:

- one page per board, boards/<id>.md, generated in on_files (and listed in the nav
  under "Boards" by on_config), with the per-port notes of hooks/ports/<port>.md;
- markers in hand-written pages, replaced in on_page_markdown:
    <!-- boards:table -->     comparison of every board
    <!-- boards:memory -->    heap and flash figures of every board
    <!-- boards:safe-mode --> how each board's safe-mode button is pressed (its window)
    <!-- question:NAME -->    type, default and help text of a copier.yml question
    <!-- fact:BOARD.FIELD --> one value of the catalogue, inline (e.g. fact:esp8266.chip_free_kib)
- a warning (an error under `mkdocs build --strict`) for every question of copier.yml
  without a `<!-- question:NAME -->` entry in questions.md, and for unknown markers.
"""
import logging
import re
from pathlib import Path

import yaml
from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.boards")

MARKER = re.compile(r"<!--\s*(boards|question|fact):\s*([\w.-]*)\s*-->")
QUESTIONS_PAGE = "questions.md"
PORTS_DIR = Path(__file__).parent / "ports"


# ----------------------------------------------------------------------------
# Reading the template's data
# ----------------------------------------------------------------------------

class _CopierLoader(yaml.SafeLoader):
    """copier.yml with its `!include` tags read as null (the catalogue is read directly)."""


_CopierLoader.add_constructor("!include", lambda loader, node: None)


def load_catalogue(root):
    return yaml.safe_load((Path(root) / "data" / "boards.yml").read_text(encoding="utf-8"))["boards"]


def load_questions(root):
    """The questions of copier.yml, in order: settings (`_...`) and derived values
    (`when: false`) left out."""
    merged = {}
    text = (Path(root) / "copier.yml").read_text(encoding="utf-8")
    for doc in yaml.load_all(text, Loader=_CopierLoader):
        merged.update(doc or {})
    return {name: spec for name, spec in merged.items() if is_question(name, spec)}


def is_question(name, spec):
    if name.startswith("_"):
        return False
    when = spec.get("when") if isinstance(spec, dict) else None
    return not (when is False or (isinstance(when, str) and when.strip().lower() == "false"))


def documented_questions(markdown):
    return [name for kind, name in MARKER.findall(markdown) if kind == "question"]


def undocumented(questions, markdown):
    """Questions without an entry in the questions page, in copier.yml order."""
    have = set(documented_questions(markdown))
    return [name for name in questions if name not in have]


# ----------------------------------------------------------------------------
# Presenting facts
# ----------------------------------------------------------------------------

def short_label(board):
    return board["label"].split(" (")[0]


def kib(n):
    return f"{n} KiB"


def wifi_text(b):
    if not b["wifi"]:
        return "no"
    return "yes, needs `network.country()` first" if b["country"] else "yes"


def watchdog_text(b):
    if b["wdt_fixed"]:
        return f"fixed at about {b['wdt_max_ms']} ms (`WDT()` takes no timeout)"
    if b["wdt_max_ms"] is None:
        return "no practical limit"
    return f"at most {b['wdt_max_ms']} ms"


def button_text(b):
    button = b["button"]
    if button == "BOOTSEL":
        return "BOOTSEL, read with `rp2.bootsel_button()`"
    if button == "USR":
        return "USR switch, read with `pyb.Switch()`"
    return f"GPIO{button}, held means low"


def press_text(b):
    """How to reach safe mode with the button: pressed in a window just after the reset."""
    press = b["safe_mode_press"]
    return f"{press[0].upper()}{press[1:]} (the window ends {b['button_window_ms']} ms after the reset)"


def log_budget(b):
    """The most that all log files may take on this board (copier.yml: a quarter of the flash)."""
    return b["fs_kib"] * 1024 // 4


def table(header, rows):
    """A markdown table: the header cells, then one row of cells per board."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def board_table(cat):
    return table(["Board", "Id", "`sys.platform`", "Free heap (chip)", "Flash filesystem", "Wi-Fi", "Watchdog",
                  "Safe-mode button"],
                 [[f"[{short_label(b)}]({bid}.md)", f"`{bid}`", f"`{b['port']}`", kib(b["chip_free_kib"]),
                   kib(b["fs_kib"]), wifi_text(b), watchdog_text(b), button_text(b)] for bid, b in cat.items()])


def memory_table(cat, prefix="boards/"):
    return table(["Board", "Free heap after boot (chip)", "Heap of the virtual board", "Flash filesystem",
                  "Log budget (a quarter of the flash)"],
                 [[f"[{short_label(b)}]({prefix}{bid}.md)", f"about {kib(b['chip_free_kib'])}", kib(b["heap_kib"]),
                   kib(b["fs_kib"]), f"{log_budget(b)} bytes"] for bid, b in cat.items()])


def safe_mode_table(cat, prefix="boards/"):
    return table(["Board", "Safe mode with the button", "Window"],
                 [[f"[{short_label(b)}]({prefix}{bid}.md)", b["safe_mode_press"],
                   f"{b['button_window_ms']} ms after the reset"] for bid, b in cat.items()])


def board_page(bid, b):
    facts = [
        ("Board id (answer to `boards`)", f"`{bid}`"),
        ("`sys.platform`, driver folder", f"`{b['port']}`, `device/drivers/{b['port']}/`"),
        ("`mpy-cross -march`", f"`{b['march']}` (matters only for `@native` and `@viper` code)"),
        ("Typical free heap after boot", f"about {kib(b['chip_free_kib'])}"),
        ("Heap of the virtual board", f"{kib(b['heap_kib'])} (64-bit objects: about twice the chip's)"),
        ("Flash filesystem", kib(b["fs_kib"])),
        ("Log budget", f"{log_budget(b)} bytes: `log_max_bytes × (log_backups + 1)` may not exceed a quarter of the flash"),
        ("Wi-Fi", wifi_text(b)),
        ("Watchdog timeout", watchdog_text(b)),
        ("Safe-mode button", button_text(b)),
        ("Safe mode with the button", press_text(b)),
        ("Status LED", b["led_text"]),
        ("Type stubs (in the project's requirements-dev.txt)", f"`{b['stubs']}`"),
    ]
    lines = [f"# {b['label']}", "",
             "These facts come from the board catalogue, `data/boards.yml`, when the documentation is built.", "",
             "| Fact | Value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in facts]
    lines += ["", "## Choosing it", "",
              f"Answer `{bid}` to the [`boards`](../questions.md#boards) question (first in the list to make it the "
              f"primary board), or pass `--board {bid}` to `python -m tools build`, `sim` and `deploy` in a project that "
              "supports it."]
    if b["wdt_fixed"]:
        lines += ["", "With the watchdog on, `loop_interval_ms` must be at most 1000: the heartbeat feeds the watchdog "
                  "once per tick and the fixed timeout does not wait longer."]
    elif b["wdt_max_ms"]:
        lines += ["", f"`watchdog_timeout_ms` is refused above {b['wdt_max_ms']} ms when this board is chosen."]
    if b["country"]:
        lines += ["", "With Wi-Fi on, the [`wifi_country`](../questions.md#wifi_country) question is asked: the radio "
                  "needs the regulatory country before it starts."]
    notes = PORTS_DIR / f"{b['port']}.md"
    if notes.is_file():
        lines += ["", notes.read_text(encoding="utf-8").rstrip()]
    return "\n".join(lines) + "\n"


def _scalar(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value == "" or value is None:
        return "empty"
    return f"`{value}`"


def _templated(value):
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def question_facts(name, spec):
    qtype = f"`{spec.get('type', 'str')}`"
    if spec.get("multiselect"):
        qtype += ", several choices"
    default = spec.get("default")
    if _templated(default):
        default_text = "computed from the earlier answers"
    elif isinstance(default, list):
        default_text = ", ".join(f"`{v}`" for v in default) or "none"
    else:
        default_text = _scalar(default)
    choices = spec.get("choices")
    rows = [("Prompt", spec.get("help", "").strip()), ("Type", qtype), ("Default", default_text)]
    if isinstance(choices, dict):
        rows.append(("Choices", ", ".join(f"`{v}`" for v in choices.values())))
    elif isinstance(choices, list):
        rows.append(("Choices", ", ".join(f"`{v}`" for v in choices)))
    elif _templated(choices):
        rows.append(("Choices", "the boards of the catalogue, see [Boards](boards/index.md)"))
    if "when" in spec:
        rows.append(("Asked", "only in the cases explained below"))
    if spec.get("validator"):
        rows.append(("Checked", "yes: a bad answer is refused with a message naming it"))
    return "\n".join(f"- **{k}:** {v}" for k, v in rows)


# ----------------------------------------------------------------------------
# mkdocs events
# ----------------------------------------------------------------------------

def _root(config):
    return Path(config.config_file_path).parent


def on_config(config):
    """List the generated board pages in the nav, under the "Boards" entry."""
    cat = load_catalogue(_root(config))
    pages = ["boards/index.md"] + [{short_label(b): f"boards/{bid}.md"} for bid, b in cat.items()]
    for item in config.nav or []:
        if isinstance(item, dict) and "Boards" in item:
            item["Boards"] = pages
    return config


def on_files(files, config):
    cat = load_catalogue(_root(config))
    for bid, b in cat.items():
        files.append(File.generated(config, f"boards/{bid}.md", content=board_page(bid, b)))
    return files


def on_page_markdown(markdown, page, config, files):
    root = _root(config)
    cat, questions = load_catalogue(root), load_questions(root)  # small files: read fresh for `mkdocs serve`
    prefix = "../" * page.file.src_uri.count("/")

    def replace(match):
        kind, name = match.groups()
        if kind == "boards" and name == "table":
            return board_table(cat)
        if kind == "boards" and name == "memory":
            return memory_table(cat, prefix + "boards/")
        if kind == "boards" and name == "safe-mode":
            return safe_mode_table(cat, prefix + "boards/")
        if kind == "fact":
            board, _, field = name.partition(".")
            if board in cat and field in cat[board]:
                return str(cat[board][field])
            log.warning("%s: %s names no board field of data/boards.yml", page.file.src_uri, match.group(0))
            return match.group(0)
        if kind == "question":
            if name in questions:
                return question_facts(name, questions[name])
            log.info("%s: question %s is documented but not in copier.yml", page.file.src_uri, name)
            return ""
        log.warning("%s: unknown marker %s", page.file.src_uri, match.group(0))
        return match.group(0)

    if page.file.src_uri == QUESTIONS_PAGE:
        for name in undocumented(questions, markdown):
            log.warning("%s has no entry for the copier.yml question %s: add `<!-- question:%s -->` "
                        "with an explanation", QUESTIONS_PAGE, name, name)
    return MARKER.sub(replace, markdown)
