"""`python -m tools build`: device/ compiled with mpy-cross into build/<board>/."""
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from . import checks, deps
from .project import BOARDS, BUILD, DEVICE, FACTS, PROJECT, ROOT, Failure, mpy_cross

# Only files literally named boot.py and main.py run at boot, so they stay .py.
KEEP_AS_PY = ("boot.py", "main.py")
HELP = "check, then compile device/ into build/<board>/"


def add_arguments(p):
    board_argument(p)


def board_argument(p, help="board id (default: %(default)s)"):
    p.add_argument("--board", default=BOARDS[0], choices=BOARDS, help=help)


def run(args):
    print(f"built {checked_build(args.board)}")
    return 0


def checked_build(board, as_py=False):
    from . import check

    if not check.check(board):
        raise Failure("check failed; fix the problems above before building")
    return build(board, as_py)


# Set by tests/conftest.py for the template's own tests (tests/runtime): they run the runtime
# with a test app of their own, so your app's settings (a required one would keep their boards in
# setup mode) are left out of their builds. Your tests (tests/app) build with them.
WITHOUT_APP_SETTINGS = "BUILD_WITHOUT_APP_SETTINGS"


def settings():
    """(defaults, required, ranges, choices, secrets): the runtime's settings (config.example.json,
    the template's) merged with the app's (app-settings.json, yours), as the firmware validates them."""
    try:
        defaults = json.loads((ROOT / "config.example.json").read_text())
    except (OSError, ValueError) as e:
        raise Failure(f"config.example.json cannot be read ({e}): restore it from git") from None
    app, problems = checks.app_settings(ROOT, defaults)
    if problems:
        raise Failure(problems[0])
    if os.environ.get(WITHOUT_APP_SETTINGS) == "1":  # the template's tests: the runtime alone
        app = {}
    required = [k for k in ("wifi_ssid",) if k in defaults]
    ranges, choices, secrets = {}, {}, [k for k in ("wifi_password",) if k in defaults]
    for name, spec in app.items():
        defaults[name] = spec["default"]
        if spec.get("required"):
            required.append(name)
        if spec.get("secret"):
            secrets.append(name)
        if "min" in spec or "max" in spec:
            ranges[name] = (spec.get("min", -1e300), spec.get("max", 1e300))
        if "choices" in spec:
            choices[name] = tuple(spec["choices"])
    return defaults, tuple(required), ranges, choices, tuple(secrets)


def has_wifi(board):
    return bool(PROJECT["wifi"] and FACTS[board]["wifi"])  # a board without a radio has no `network` module


def target_source(board):
    """runtime/target: this build's board facts, read by the firmware (ctx.board)."""
    facts = FACTS[board]
    values = {
        "PROJECT": PROJECT["project"], "BOARD": board, "LABEL": facts["label"], "LED": facts["led"],
        "LED_ACTIVE_LOW": facts["led_active_low"], "BUTTON": facts["button"], "WDT_MAX_MS": facts["wdt_max_ms"],
        "WIFI": has_wifi(board), "COUNTRY": PROJECT["country"], "WATCHDOG": PROJECT["watchdog"],
        "LOG_LEVEL": PROJECT["log_level"], "LOG_FILE": PROJECT["log_file"],
        "LOG_MAX_BYTES": PROJECT["log_max_bytes"], "LOG_BACKUPS": PROJECT["log_backups"],
    }
    return _module("this build's board facts", values)


def schema_source(board):
    """runtime/schema: what config.json may hold, read by the firmware's validator at boot and by the
    setup page (then dropped: the validated settings are ctx.config)."""
    defaults, required, ranges, choices, secrets = settings()
    if not has_wifi(board):  # no Wi-Fi in this build: nothing asks for the network's name
        required = tuple(k for k in required if k != "wifi_ssid")
    values = {"DEFAULTS": defaults, "REQUIRED": required, "RANGES": ranges, "CHOICES": choices, "SECRETS": secrets}
    return _module("the config rules: defaults, required keys, ranges, choices, secrets", values)


def _module(what, values):
    lines = [f"# Written by `python -m tools build`: {what}."]
    lines += [f"{k} = {v!r}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def boot_source(board):
    """boot.py with this board's safe-mode button and log facts: it reads them before any module."""
    facts = FACTS[board]
    button = (facts["button"], facts["button_window_ms"], facts["led"], facts["led_active_low"])
    log = (PROJECT["log_file"], PROJECT["log_max_bytes"]) if PROJECT["log_file"] else None
    text = (DEVICE / "boot.py").read_text()
    text = text.replace("\nBUTTON = None\n", f"\nBUTTON = {button!r}\n", 1)
    return text.replace("\nLOG = None\n", f"\nLOG = {log!r}\n", 1)


def sources(board):
    """(source, path on the board) for every device file this board's build holds."""
    port = FACTS[board]["port"]
    skip = () if has_wifi(board) else checks.WIFI_MODULES  # the setup page and Wi-Fi: radio boards only
    for src in sorted(DEVICE.rglob("*.py")):
        rel = src.relative_to(DEVICE)
        if rel.parts[0] == "drivers" and len(rel.parts) > 2 and rel.parts[1] not in (port, "linux"):
            continue
        if rel.as_posix() in skip:
            continue
        yield src, rel
    for src in deps.vendored_files():  # libraries (`python -m tools deps`) go to lib/, as mip puts them
        if src.suffix == ".py":
            yield src, deps.TARGET / src.relative_to(deps.VENDOR)


def data_files():
    """(source, path on the board) of the files other than Python that travel as they are (web pages,
    tables ...); vendored .mpy files too (`deps` took only those of the firmware's .mpy version)."""
    for src in sorted(DEVICE.rglob("*")):
        if src.is_file() and src.suffix not in (".py", ".pyi", ".mpy") and "__pycache__" not in src.parts:
            yield src, src.relative_to(DEVICE)
    for src in deps.vendored_files():
        if src.suffix not in (".py", ".pyi"):
            yield src, deps.TARGET / src.relative_to(deps.VENDOR)


def compile_mpy(src, dst, name, march=None):
    # name: the path on the board, which tracebacks show (and the only one the board's heap holds).
    arch = [f"-march={march}"] if march else []
    out = subprocess.run([mpy_cross(), *arch, "-s", name, "-o", str(dst), str(src)], capture_output=True, text=True)
    if out.returncode:
        raise Failure(f"mpy-cross could not compile {src}: {out.stderr.strip()}")


def plan(board, as_py):
    """{path in the build: source file, or the text of runtime/target or schema} for this board's build."""
    stray = sorted(p.name for p in DEVICE.glob("config.json*"))
    if stray:  # it would replace the board's config unchecked: the project root is its place
        raise Failure(f"device/{stray[0]} would be copied over the board's config.json: move it to the "
                      "project root, where deploy and `config --push` check it before sending it")
    files = {}
    for src, rel in sources(board):
        keep = as_py or rel.as_posix() in KEEP_AS_PY
        files[(rel if keep else rel.with_suffix(".mpy")).as_posix()] = src
    for src, rel in data_files():
        files[rel.as_posix()] = src
    files["lib/runtime/target." + ("py" if as_py else "mpy")] = target_source(board)
    files["lib/runtime/schema." + ("py" if as_py else "mpy")] = schema_source(board)
    if has_wifi(board):  # over-the-air updates: what checks a release's signature (`release` makes the key)
        from . import signing

        key = signing.public_key()
        if key:
            files["lib/runtime/otakey." + ("py" if as_py else "mpy")] = signing.key_module(key)
    files["boot.py"] = boot_source(board)
    return files


def stamp_of(what):
    """What the output depends on: the contents of a source file, or generated text."""
    return hashlib.sha256(what.encode() if isinstance(what, str) else what.read_bytes()).hexdigest()


def build(board, as_py=False):
    """Write build/<board>/ and return its path; as_py keeps every module as source.

    Incremental: build/.stamps/<board>.json remembers what each output was made from, so only
    files whose source changed are compiled again, and files the build no longer has are removed."""
    deps.verify()  # vendored libraries as locked, or no build
    out, stamps = BUILD / board, BUILD / ".stamps" / f"{board}.json"
    # A new mpy-cross, target architecture or build rule: everything again.
    tool = [as_py, FACTS[board]["march"], mpy_cross(), stamp_of(Path(mpy_cross())), stamp_of(Path(__file__))]
    try:
        old = json.loads(stamps.read_text())
        made = old["files"] if old["tool"] == tool else {}
    except (OSError, ValueError, KeyError, TypeError):
        made = {}
    if not made:
        shutil.rmtree(out, ignore_errors=True)
    new = {}
    for rel, what in plan(board, as_py).items():
        dst, new[rel] = out / rel, stamp_of(what)
        if made.get(rel) == new[rel] and dst.is_file():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(what, str):  # runtime/target or schema, generated
            src = dst.with_suffix(".py")
            src.write_text(what)
            if dst.suffix == ".mpy":
                compile_mpy(src, dst, src.relative_to(out).as_posix(), FACTS[board]["march"])
                src.unlink()
        elif dst.suffix == ".mpy" and what.suffix == ".py":
            compile_mpy(what, dst, Path(rel).with_suffix(".py").as_posix(), FACTS[board]["march"])
        else:
            shutil.copyfile(what, dst)
    for path in sorted(out.rglob("*"), reverse=True):  # what the build no longer has: files, then empty folders
        rel = path.relative_to(out).as_posix()
        if path.is_file() and rel not in new:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    stamps.parent.mkdir(parents=True, exist_ok=True)
    stamps.write_text(json.dumps({"tool": tool, "files": new}))
    return out
