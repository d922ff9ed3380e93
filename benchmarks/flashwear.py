"""Flash wear of the log: erases and page programs per 100 log lines, on the virtual board.

It renders the template twice for one board (rp2_pico: a 4 KB littlefs block, as measured on a
real RP2040) with file logging on: at this checkout (HEAD) and at an earlier commit (before the
log wrote in batches), puts HEAD's flash model (tools/vm/simflash.py, counting what littlefs
does to the chip) into both, and runs an app that logs N lines per tick for 100 ticks with
MPSIM_FLASH_STATS=1. It prints, per app, both renderings' erases and page programs per 100 log
lines (boot lines included) and the log's size on flash.

Measured (rp2_pico, 100 ticks, boot lines included; a 512-byte buffer):
  lines/tick   before: erases, page programs      after: erases, page programs   (per 100 lines)
   1           102, 845                           98, 821   (one write per tick either way)
   3           101, 928                           34, 319
  10           101, 949                           20, 199   (the buffer fills: two writes a tick)
Before, every line cost an erase (~66 ms of flash time on a W25Q16); after, a tick's lines cost
one, so the wear follows the tick rate, not the logging rate.

Run: python benchmarks/flashwear.py [BEFORE_REF]   (default: the commit before batched logs)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import copier

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "5ec7d9e"  # integ before the log wrote in batches
BOARD = "rp2_pico"
TICKS = 100
LINE = re.compile(r"^\d+\.\d{3} (DEBUG|INFO|WARNING|ERROR) ", re.MULTILINE)
APP = """def setup(ctx):
    pass


def loop(ctx):
    for i in range({n}):
        ctx.log.info("app: tick %d, reading %d of {n}: 21.5 C", ctx.tick, i)
"""


def render(ref, dest):
    copier.run_copy(str(ROOT), str(dest), data={"boards": [BOARD], "log_to_file": True}, defaults=True,
                    vcs_ref=ref, quiet=True, unsafe=False)


def wear(project, per_tick):
    (project / "device" / "app.py").write_text(APP.format(n=per_tick))
    flash = project / ".sim" / "wear"
    shutil.rmtree(flash, ignore_errors=True)
    flash.mkdir(parents=True)
    (flash / "config.json").write_text("{}")
    out = subprocess.run([sys.executable, "-m", "tools", "sim", "--ticks", str(TICKS), "--flash", str(flash)],
                         cwd=project, env=dict(os.environ, MPSIM_FLASH_STATS="1"), capture_output=True, text=True, check=False)
    stats = re.findall(r"sim: flash (\d+) erases, (\d+) page programs", out.stdout)
    if out.returncode != 0 or not stats:
        raise SystemExit(f"the sim failed in {project}:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    lines = len(LINE.findall(out.stdout))
    erases, programs = (sum(int(s[i]) for s in stats) for i in (0, 1))
    size = sum(p.stat().st_size for p in flash.glob("log.txt*"))
    return lines, 100 * erases / lines, 100 * programs / lines, size


def main(argv):
    before = argv[0] if argv else BEFORE
    with tempfile.TemporaryDirectory() as tmp:
        projects = {"before": Path(tmp, "before"), "after": Path(tmp, "after")}
        render(before, projects["before"])
        render("HEAD", projects["after"])
        for name in ("simflash.py", "simboot.py"):  # the same flash model for both
            shutil.copyfile(projects["after"] / "tools" / "vm" / name, projects["before"] / "tools" / "vm" / name)
        print(f"{BOARD}, {TICKS} ticks; per 100 log lines: erases, page programs")
        for per_tick in (1, 3, 10):
            row = [f"{per_tick:2d} lines/tick"]
            for name, project in projects.items():
                lines, erases, programs, size = wear(project, per_tick)
                row.append(f"{name}: {erases:5.0f} erases {programs:5.0f} programs ({lines} lines, {size} B)")
            print("  ".join(row), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
