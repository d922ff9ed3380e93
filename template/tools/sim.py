"""`python -m tools sim`: the virtual board, the build run in the MicroPython unix port."""
import os
import shutil
import socket
import subprocess
from pathlib import Path

from . import build
from .project import BUILD, FACTS, ROOT, Failure, find

VM = Path(__file__).parent / "vm"
# Exit codes of the fake machine module (tools/vm/machine.py): the reset cause of the next boot.
REBOOTS = {42: "HARD_RESET", 43: "DEEPSLEEP_RESET", 44: "WDT_RESET"}


def install(build_dir, flash):
    """Copy the build onto the flash: changed files only; config.json, logs and data stay."""
    flash.mkdir(parents=True, exist_ok=True)
    for src in build_dir.rglob("*"):
        if src.is_file():
            dst = flash / src.relative_to(build_dir)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not dst.exists() or dst.read_bytes() != src.read_bytes():
                shutil.copyfile(src, dst)


def vm_modules():
    """The fakes of the hardware, compiled to .mpy: on a board these modules live in ROM and cost
    no heap, so the virtual board must not spend the board's heap compiling them."""
    out = BUILD / "vm"
    out.mkdir(parents=True, exist_ok=True)
    for src in VM.glob("*.py"):
        dst = out / (src.stem + ".mpy")
        if not dst.exists() or dst.stat().st_mtime < max(src.stat().st_mtime, Path(build.__file__).stat().st_mtime):
            build.compile_mpy(src, dst, src.name)  # for the host: no -march
    return out


def vm_env(board, ticks, cause, hold_button, wifi, state, flash_bytes=0):
    # The import path of a board: the fakes (in ROM there), the flash, the firmware's frozen
    # modules (asyncio ...: the unix port keeps them under .frozen), then lib/.
    env = dict(os.environ, MICROPYPATH=f"{vm_modules()}::.frozen:lib", MPSIM_RESET_CAUSE=cause, MPSIM_PORT=FACTS[board]["port"],
               MPSIM_TICKS=str(ticks), MPSIM_STATE=str(state), MPSIM_WIFI=wifi,
               MPSIM_FLASH_BYTES=str(flash_bytes or 0))
    if hold_button:
        env[f"MPSIM_PIN_{FACTS[board]['button']}"] = "0"
    return env


def free_port():
    """A TCP port on loopback that nothing listens on now: the setup page's, on the virtual board."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(board, build_dir, flash, ticks, heap, hold_button, wifi, flash_bytes=0, cause="PWRON_RESET", serve=False,
        http_port=0):
    """Run the build on the virtual board; with serve, behind a serial port (see serve.py).

    build_dir None leaves the flash as it is (`sim --serve --blank`: deploy onto it)."""
    if flash:
        flash = Path(flash)
        if flash.exists() and not flash.is_dir():
            raise Failure(f"--flash {flash} is a file: give a folder (it is the board's filesystem)")
    else:
        flash = ROOT / ".sim" / board
    if build_dir is None:
        flash.mkdir(parents=True, exist_ok=True)
    else:
        install(build_dir, flash)
        # The default flash starts from the project's config.json, when there is one.
        if flash == ROOT / ".sim" / board and (ROOT / "config.json").exists() and not (flash / "config.json").exists():
            shutil.copyfile(ROOT / "config.json", flash / "config.json")
    heap = heap or FACTS[board]["heap_kib"] * 1024
    flash = flash.resolve()  # the VM runs inside it: a relative --flash DIR would point elsewhere there
    http_port = str(http_port or free_port())  # the setup page's port, the same across reboots
    if serve:
        if os.name != "posix":
            raise Failure("sim --serve needs a POSIX system (Linux or macOS) for its pty; "
                          "use `sim` without --serve here")
        from . import serve as served

        env = dict(vm_env(board, 0, cause, hold_button, wifi, "", flash_bytes), MPSIM_HTTP_PORT=http_port)
        return served.serve(env, flash, heap)
    state = flash.parent / f".{flash.name}.ticks"
    done = 0
    while True:
        state.write_text("0")
        env = vm_env(board, ticks - done if ticks else 0, cause, hold_button, wifi, state, flash_bytes)
        env["MPSIM_HTTP_PORT"] = http_port
        vm = subprocess.Popen([find("micropython"), "-X", f"heapsize={heap}", "-c", "import simboot"],
                              cwd=flash, env=env)
        try:
            rc = vm.wait()
        except KeyboardInterrupt:  # Ctrl-C reached the VM too: let it stop at its REPL
            try:
                vm.wait(timeout=5)
            except subprocess.TimeoutExpired:
                vm.kill()
                vm.wait()
            state.unlink(missing_ok=True)
            return 130
        done += int(state.read_text() or 0)
        if rc not in REBOOTS:
            state.unlink(missing_ok=True)
            return rc
        cause = REBOOTS[rc]
        print(f"sim: rebooting ({cause})", flush=True)
