"""`python -m tools build`: device/ compiled with mpy-cross into build/<board>/."""
import json
import shutil
import subprocess

from .project import BUILD, DEVICE, FACTS, PROJECT, ROOT, Failure, mpy_cross

# Only files literally named boot.py and main.py run at boot, so they stay .py.
KEEP_AS_PY = ("boot.py", "main.py")


def target_source(board):
    """runtime/target: this build's board facts and config defaults, read by the firmware."""
    facts = FACTS[board]
    wifi = PROJECT["wifi"] and facts["wifi"]  # a board without a radio has no `network` module
    defaults = json.loads((ROOT / "config.example.json").read_text())
    values = {
        "PROJECT": PROJECT["project"], "BOARD": board, "LABEL": facts["label"], "LED": facts["led"],
        "LED_ACTIVE_LOW": facts["led_active_low"], "BUTTON": facts["button"], "WDT_MAX_MS": facts["wdt_max_ms"],
        "WIFI": wifi, "COUNTRY": PROJECT["country"], "WATCHDOG": PROJECT["watchdog"],
        "LOG_LEVEL": PROJECT["log_level"], "LOG_FILE": PROJECT["log_file"],
        "LOG_MAX_BYTES": PROJECT["log_max_bytes"], "LOG_BACKUPS": PROJECT["log_backups"],
        "DEFAULTS": defaults, "REQUIRED": ("wifi_ssid",) if wifi else (),
    }
    lines = ["# Written by `python -m tools build`: this build's board facts and config defaults."]
    lines += [f"{k} = {v!r}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def sources(board):
    """(source, path on the board) for every device file this board's build holds."""
    port = FACTS[board]["port"]
    for src in sorted(DEVICE.rglob("*.py")):
        rel = src.relative_to(DEVICE)
        if rel.parts[0] == "drivers" and len(rel.parts) > 2 and rel.parts[1] not in (port, "linux"):
            continue
        yield src, rel


def compile_mpy(src, dst, board):
    out = subprocess.run([mpy_cross(), f"-march={FACTS[board]['march']}", "-o", str(dst), str(src)],
                         capture_output=True, text=True)
    if out.returncode:
        raise Failure(f"mpy-cross could not compile {src}: {out.stderr.strip()}")


def build(board, as_py=False):
    """Write build/<board>/ and return its path; as_py keeps every module as source."""
    out = BUILD / board
    shutil.rmtree(out, ignore_errors=True)
    for src, rel in sources(board):
        dst = out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if as_py or rel.as_posix() in KEEP_AS_PY:
            shutil.copyfile(src, dst)
        else:
            compile_mpy(src, dst.with_suffix(".mpy"), board)
    for src in sorted(DEVICE.rglob("*")):  # data files (web pages, tables ...) travel as they are
        if src.is_file() and src.suffix not in (".py", ".pyi", ".mpy") and "__pycache__" not in src.parts:
            dst = out / src.relative_to(DEVICE)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    gen = out / "lib" / "runtime" / "target.py"
    gen.write_text(target_source(board))
    if not as_py:
        compile_mpy(gen, gen.with_suffix(".mpy"), board)
        gen.unlink()
    return out
