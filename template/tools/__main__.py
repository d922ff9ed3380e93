"""python -m tools <command>: check, build and run the firmware on the virtual board."""
import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEVICE = ROOT / "device"
PROJECT = json.loads((Path(__file__).parent / "project.json").read_text())
REBOOT = 42  # exit code of the fake machine.reset()


def find(tool):
    found = shutil.which(tool) or shutil.which(tool, path=str(Path(sys.executable).parent))
    if not found:
        sys.exit(f"error: {tool} not found: run `python -m pip install -r requirements-dev.txt`")
    return found


def check(board):
    problems = []
    for src in sorted(DEVICE.rglob("*.py")):
        out = subprocess.run([find("mpy-cross"), "-o", os.devnull, str(src)], capture_output=True, text=True)
        if out.returncode:
            problems.append(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"{src}: mpy-cross failed")
    try:
        json.loads((ROOT / "config.example.json").read_text())
    except ValueError as e:
        problems.append(f"config.example.json: not valid JSON ({e})")
    for p in problems:
        print(p, file=sys.stderr)
    return not problems


def target_source(board):
    facts = PROJECT["facts"][board]
    defaults = json.loads((ROOT / "config.example.json").read_text())
    values = {
        "PROJECT": PROJECT["project"], "BOARD": board, "LABEL": facts["label"], "LED": facts["led"],
        "LED_ACTIVE_LOW": facts["led_active_low"], "BUTTON": facts["button"], "WDT_MAX_MS": facts["wdt_max_ms"],
        "WIFI": PROJECT["wifi"], "COUNTRY": PROJECT["country"], "WATCHDOG": PROJECT["watchdog"],
        "LOG_LEVEL": PROJECT["log_level"], "LOG_FILE": PROJECT["log_file"],
        "LOG_MAX_BYTES": PROJECT["log_max_bytes"], "LOG_BACKUPS": PROJECT["log_backups"],
        "DEFAULTS": defaults, "REQUIRED": ("wifi_ssid",) if PROJECT["wifi"] else (),
    }
    lines = ["# Written by `python -m tools build`: this build's board facts and config defaults."]
    lines += [f"{k} = {v!r}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def build(board):
    if not check(board):
        sys.exit("error: check failed; fix the problems above before building")
    port = PROJECT["facts"][board]["port"]
    out = ROOT / "build" / board
    shutil.rmtree(out, ignore_errors=True)
    for src in sorted(DEVICE.rglob("*.py")):
        rel = src.relative_to(DEVICE)
        if rel.parts[0] == "drivers" and len(rel.parts) > 2 and rel.parts[1] not in (port, "linux"):
            continue
        dst = out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if rel.as_posix() in ("boot.py", "main.py"):
            shutil.copyfile(src, dst)
        else:
            compile_mpy(src, dst.with_suffix(".mpy"), board)
    gen = out / "lib" / "runtime" / "target.py"
    gen.write_text(target_source(board))
    compile_mpy(gen, gen.with_suffix(".mpy"), board)
    gen.unlink()
    return out


def compile_mpy(src, dst, board):
    march = PROJECT["facts"][board]["march"]
    subprocess.run([find("mpy-cross"), f"-march={march}", "-o", str(dst), str(src)], check=True)


def sim(board, flash, ticks, heap, hold_button, wifi):
    out = build(board)
    flash = Path(flash) if flash else ROOT / ".sim" / board
    flash.mkdir(parents=True, exist_ok=True)
    for src in out.rglob("*"):
        if src.is_file():
            dst = flash / src.relative_to(out)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not dst.exists() or dst.read_bytes() != src.read_bytes():
                shutil.copyfile(src, dst)
    if (ROOT / "config.json").exists() and not (flash / "config.json").exists():
        shutil.copyfile(ROOT / "config.json", flash / "config.json")
    heap = heap or PROJECT["facts"][board]["heap_kib"] * 1024
    state = flash.parent / f".{flash.name}.ticks"
    done, cause = 0, "PWRON_RESET"
    while True:
        env = dict(os.environ, MICROPYPATH=f"{Path(__file__).parent / 'vm'}::lib", MPSIM_RESET_CAUSE=cause,
                   MPSIM_TICKS=str(ticks - done if ticks else 0), MPSIM_STATE=str(state), MPSIM_WIFI=wifi)
        if hold_button:
            env[f"MPSIM_PIN_{PROJECT['facts'][board]['button']}"] = "0"
        state.write_text("0")
        rc = subprocess.run([find("micropython"), "-X", f"heapsize={heap}", "-c", "import simboot"],
                            cwd=flash, env=env).returncode
        done += int(state.read_text() or 0)
        if rc != REBOOT:
            state.unlink(missing_ok=True)
            return rc
        cause = "HARD_RESET"
        print("sim: machine.reset(): rebooting")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ("check", "build", "sim"):
        p = sub.add_parser(name)
        p.add_argument("--board", default=PROJECT["boards"][0], choices=PROJECT["boards"])
        if name == "sim":
            p.add_argument("--flash")
            p.add_argument("--ticks", type=int, default=0)
            p.add_argument("--heap", type=int)
            p.add_argument("--hold-button", action="store_true")
            p.add_argument("--wifi", choices=("ok", "fail"), default="ok")
    a = ap.parse_args(argv)
    if a.command == "check":
        return 0 if check(a.board) else 1
    if a.command == "build":
        print(f"built {build(a.board)}")
        return 0
    return sim(a.board, a.flash, a.ticks, a.heap, a.hold_button, a.wifi)


if __name__ == "__main__":
    sys.exit(main())
