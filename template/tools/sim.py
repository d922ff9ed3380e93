"""`python -m tools sim`: the virtual board, the build run in the MicroPython unix port."""
import os
import shutil
import subprocess
from pathlib import Path

from .project import FACTS, ROOT, Failure, find

VM = Path(__file__).parent / "vm"
REBOOT = 42  # exit code of the fake machine.reset()


def install(build_dir, flash):
    """Copy the build onto the flash: changed files only; config.json, logs and data stay."""
    flash.mkdir(parents=True, exist_ok=True)
    for src in build_dir.rglob("*"):
        if src.is_file():
            dst = flash / src.relative_to(build_dir)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not dst.exists() or dst.read_bytes() != src.read_bytes():
                shutil.copyfile(src, dst)
    if (ROOT / "config.json").exists() and not (flash / "config.json").exists():
        shutil.copyfile(ROOT / "config.json", flash / "config.json")


def vm_env(board, flash, ticks, cause, hold_button, wifi, state):
    env = dict(os.environ, MICROPYPATH=f"{VM}::lib", MPSIM_RESET_CAUSE=cause,
               MPSIM_TICKS=str(ticks), MPSIM_STATE=str(state), MPSIM_WIFI=wifi)
    if hold_button:
        env[f"MPSIM_PIN_{FACTS[board]['button']}"] = "0"
    return env


def run(board, build_dir, flash, ticks, heap, hold_button, wifi, serve=False):
    """Run the build on the virtual board; with serve, behind a serial port (see serve.py).

    build_dir None leaves the flash as it is (`sim --serve --blank`: deploy onto it)."""
    flash = Path(flash) if flash else ROOT / ".sim" / board
    if build_dir is None:
        flash.mkdir(parents=True, exist_ok=True)
    else:
        install(build_dir, flash)
    heap = heap or FACTS[board]["heap_kib"] * 1024
    if serve:
        if os.name != "posix":
            raise Failure("sim --serve needs a POSIX system (Linux or macOS) for its pty; "
                          "use `sim` without --serve here")
        from . import serve as served

        return served.serve(vm_env(board, flash, 0, "PWRON_RESET", hold_button, wifi, ""), flash.resolve(), heap)
    state = flash.parent / f".{flash.name}.ticks"
    done, cause = 0, "PWRON_RESET"
    while True:
        state.write_text("0")
        env = vm_env(board, flash, ticks - done if ticks else 0, cause, hold_button, wifi, state)
        rc = subprocess.run([find("micropython"), "-X", f"heapsize={heap}", "-c", "import simboot"],
                            cwd=flash, env=env).returncode
        done += int(state.read_text() or 0)
        if rc != REBOOT:
            state.unlink(missing_ok=True)
            return rc
        cause = "HARD_RESET"
        print("sim: machine.reset(): rebooting", flush=True)
