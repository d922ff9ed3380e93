"""Memory and boot time of the generated firmware on the virtual board, per board.

For each board's rendering (Wi-Fi where the board has it, file logging on) it prints:
  - the smallest unix-port heap at which boot + 100 ticks succeed, for the .mpy build and for
    an all-.py build, and whether 1000 ticks also run at the .mpy figure (no growth per tick);
  - setup: on a Wi-Fi board, the smallest heap at which setup mode (empty flash) serves the setup
    page three times and saves its form (.mpy build);
  - the heap held after boot (gc.mem_alloc() after a collect at tick 1), and the part of it
    taken by the fakes of machine/network (in ROM on a board, so not the firmware's);
  - the growth per tick between tick 10 and tick 1000 (bytes held after a collect);
  - boot to first tick: interpreter start to the first app.loop call, in ms;
  - async: the smallest heap for 100 ticks of an app whose setup and loop are `async def` (one
    asyncio event loop, runtime/tasks), and async+: what it costs over the plain app;
  - vb floor: the smallest heap of the virtual board without firmware (simboot and the fakes of
    machine/network imported by an empty main.py), and firmware: the 100-tick .mpy figure less
    that floor, the share a board (whose machine and network are in ROM) would spend;
then, per board, what each module of the firmware holds: the heap it takes when imported in the
firmware's order (a module's figure leaves out what the modules before it hold), the names it
interns (qstrs: never freed, even when the module is dropped) and whether it is still resident
after boot (normal mode, tick 1); the objects the running firmware holds besides (log buffer,
ctx, Wi-Fi link) are the rest of the held figure. Last, what the virtual board alone holds (simboot
and the fakes, in ROM on a board) beside the FAKES_HEAP that `sim` adds to the modeled heap for it;
and, as the floor, the smallest heap of a bare interpreter running an empty main.py, and beside
it the same interpreter running an empty coroutine with asyncio.run(): what asyncio itself costs.

Near its smallest heap a run passes or fails by how the heap happens to be laid out (the unix
port's collector is conservative, and a setup page's buffers need contiguous room): the
smallest-heap figures move by 1-3 KB from run to run, the setup column most. Compare several
runs, and the held figures, which do not move.

Run: python benchmarks/footprint.py [board ...]
"""
import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import copier
import yaml

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = yaml.safe_load((ROOT / "data" / "boards.yml").read_text())["boards"]
PERIOD = 1 << 30  # MicroPython's time.ticks_ms() wraps here
PROBE = """import gc, utime
def setup(ctx):
    pass
def loop(ctx):
    if ctx.tick == 0:
        print("bench: first tick", utime.ticks_ms())  # the host's clock (time is the board's virtual one)
    if ctx.tick in (1, 10, 1000):
        gc.collect()
        print("bench: tick", ctx.tick, gc.mem_alloc())
"""
ASYNC_APP = """async def setup(ctx):
    pass
async def loop(ctx):
    pass
"""
ASYNC_MAIN = "import asyncio\nasync def main():\n    await asyncio.sleep_ms(1)\nasyncio.run(main())\n"


class VirtualBoard:
    def __init__(self, project, board):
        sys.path.insert(0, str(project))
        from tools import build, project as facts, sim  # the rendered project's own tools

        self.sim, self.board = sim, board
        self.builds = {}
        for as_py in (False, True):  # both builds write build/<board>/: keep each in its own folder
            self.builds[as_py] = Path(project) / f"bench-{'py' if as_py else 'mpy'}"
            shutil.copytree(build.build(board, as_py=as_py), self.builds[as_py])
        self.micropython = facts.find("micropython")

    def run(self, heap, ticks, as_py=False, app=None):
        with tempfile.TemporaryDirectory() as flash:
            flash = Path(flash)
            self.sim.install(self.builds[as_py], flash)
            # An async app's ticks take real time (its tasks' sleeps are real): 1 ms ticks for it.
            (flash / "config.json").write_text(json.dumps({"wifi_ssid": "bench", "loop_interval_ms": 1}
                                                          if app == ASYNC_APP else {"wifi_ssid": "bench"}))
            if app:
                (flash / "app.py").write_text(app)
            env = self.sim.vm_env(self.board, ticks, "PWRON_RESET", False, "ok")
            started = time.monotonic()
            out = subprocess.run([self.micropython, "-X", f"heapsize={heap}", "-c", "import simboot"],
                                 cwd=flash, env=env, capture_output=True, text=True, timeout=120)
            return started, out

    def serves(self, heap):
        # Setup mode on an empty flash: three GET / answered, then the form saved and the reset (exit 42).
        with tempfile.TemporaryDirectory() as flash:
            flash = Path(flash)
            self.sim.install(self.builds[False], flash)
            env = self.sim.vm_env(self.board, 0, "PWRON_RESET", False, "ok")
            env["MPSIM_HTTP_PORT"] = str(self.sim.free_port())
            vm = subprocess.Popen([self.micropython, "-X", f"heapsize={heap}", "-c", "import simboot"], cwd=flash,
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                for line in vm.stdout:
                    if line.startswith("setup page: "):
                        break
                    if line.startswith("setup mode: waiting"):  # no page: it fell back to console setup
                        return False
                else:
                    return False
                port = int(env["MPSIM_HTTP_PORT"])
                for method, path, body in [("GET", "/", None)] * 3 + [("POST", "/save", "ssid=bench&password=")]:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    conn.request(method, path, body, {"Content-Type": "application/x-www-form-urlencoded"})
                    if conn.getresponse().status != 200:
                        return False
                    conn.close()
                return vm.wait(timeout=10) == 42 and (flash / "config.json").exists()
            except (OSError, http.client.HTTPException, subprocess.TimeoutExpired):
                return False
            finally:
                vm.kill()
                vm.wait()

    def smallest_setup(self):
        return bisect(self.serves, 2048, CATALOGUE[self.board]["heap_kib"] * 1024 * 2)

    def ok(self, heap, ticks, as_py=False, app=None):
        _, out = self.run(heap, ticks, as_py, app)
        return out.returncode == 0 and f"sim: {ticks} ticks done" in out.stdout

    def smallest(self, ticks, as_py=False, app=None):
        return bisect(lambda heap: self.ok(heap, ticks, as_py, app), 2048,
                      CATALOGUE[self.board]["heap_kib"] * 1024 * 2)

    def probe(self):
        started, out = self.run(CATALOGUE[self.board]["heap_kib"] * 1024, 1001, app=PROBE)
        held, first = {}, None
        for line in out.stdout.splitlines():
            words = line.split()
            if line.startswith("bench: tick"):
                held[int(words[2])] = int(words[3])
            elif line.startswith("bench: first tick"):
                first = (int(words[3]) - int(started * 1000)) % PERIOD
        return held, first

    def floor(self):
        """The virtual board without firmware: simboot and the fakes, a main.py importing them."""
        wifi = CATALOGUE[self.board]["wifi"]
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "main.py").write_text("import machine, network\n" if wifi else "import machine\n")
            env = self.sim.vm_env(self.board, 0, "PWRON_RESET", False, "ok")

            def ok(heap):
                out = subprocess.run([self.micropython, "-X", f"heapsize={heap}", "-c", "import simboot"],
                                     cwd=tmp, env=env, capture_output=True, text=True)
                # simboot exits 3 when the firmware returns to the REPL (tools/vm/simboot.py)
                return out.returncode == 3 and "sim: firmware returned to the REPL" in out.stdout

            return bisect(ok, 256, 65536)

    def modules(self):
        """[(module, heap, qstrs, qstr bytes, resident after boot)]: what each firmware module holds."""
        port = CATALOGUE[self.board]["port"]
        build = self.builds[False]
        order = [name.format(port=port) for name in ORDER]
        found = {"asyncio", "app"}
        for path in build.rglob("*.mpy"):
            parts = path.relative_to(build).with_suffix("").parts
            parts = parts[1:] if parts[0] == "lib" else parts
            found.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        names = [n for n in order if n in found] + sorted(set(found) - set(order) - {"drivers.linux"})
        names = [n for n in names if not (n.startswith("drivers.") and n.split(".")[1] not in ("gpio", port))]
        with tempfile.TemporaryDirectory() as flash:
            flash = Path(flash)
            self.sim.install(build, flash)
            (flash / "config.json").write_text(json.dumps({"wifi_ssid": "bench"}))
            env = self.sim.vm_env(self.board, 0, "PWRON_RESET", False, "ok")
            script = MODULES.format(network=", network" if CATALOGUE[self.board]["wifi"] else "", names=names)
            out = subprocess.run([self.micropython, "-X", "heapsize=256K", "-c", script], cwd=flash, env=env,
                                 capture_output=True, text=True, timeout=60).stdout
            (flash / "app.py").write_text(RESIDENT)
            env = self.sim.vm_env(self.board, 2, "PWRON_RESET", False, "ok")
            boot = subprocess.run([self.micropython, "-X", "heapsize=256K", "-c", "import simboot"], cwd=flash,
                                  env=env, capture_output=True, text=True, timeout=60).stdout
        resident = set()
        for line in boot.splitlines():
            if line.startswith("bench: resident"):
                resident = set(line.split()[2:])
        rows, last = [], None
        for line in out.splitlines():
            if line.startswith("bench: module"):
                name, alloc = line.split()[2], int(line.split()[3])
            elif line.startswith("qstr pool:"):
                fields = dict(f.strip().split("=") for f in line.split(":", 1)[1].split(","))
                now = (alloc, int(fields["n_qstr"]), int(fields["n_total_bytes"]))
                if last:
                    rows.append((name, now[0] - last[0], now[1] - last[1], now[2] - last[2], name in resident))
                last = now
        return rows

    def held_alone(self):
        """What the virtual board holds without firmware (simboot, the fakes): bytes after a collect."""
        fakes = "machine, network" if CATALOGUE[self.board]["wifi"] else "machine"
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "main.py").write_text(f"import {fakes}\nimport gc\ngc.collect()\nprint('held', gc.mem_alloc())\n")
            env = self.sim.vm_env(self.board, 0, "PWRON_RESET", False, "ok")
            out = subprocess.run([self.micropython, "-X", "heapsize=256K", "-c", "import simboot"], cwd=tmp, env=env,
                                 capture_output=True, text=True)
        return int(out.stdout.split()[1])

    def fakes(self):
        fakes = "machine, network" if CATALOGUE[self.board]["wifi"] else "machine"  # no network on a plain Pico
        script = (f"import gc; gc.collect(); a = gc.mem_alloc(); import {fakes}; gc.collect(); "
                  "print(gc.mem_alloc() - a)")
        with tempfile.TemporaryDirectory() as tmp:
            env = self.sim.vm_env(self.board, 0, "PWRON_RESET", False, "ok")
            out = subprocess.run([self.micropython, "-X", "heapsize=256K", "-c", script], env=env, cwd=tmp,
                                 capture_output=True, text=True)
        return int(out.stdout.split()[-1])


# The firmware's modules in the order it imports them (a module first, then those importing it);
# any other module of the build follows, in name order.
ORDER = ["runtime", "runtime.target", "runtime.log", "runtime.jsonscan", "runtime.schema", "runtime.config", "runtime.safety",
         "runtime.startup", "drivers", "drivers.gpio", "drivers.{port}", "drivers.linux", "runtime.net",
         "runtime.heartbeat", "runtime.launch", "runtime.net_boot", "app", "asyncio", "runtime.tasks", "runtime.keep", "runtime.setup_page",
         "runtime.setup_form", "runtime.provision"]
MODULES = """import gc, micropython, sys
import simos, simsys, simtime
sys.modules["os"], sys.modules["time"], sys.modules["sys"] = simos, simtime, simsys
def mark(name):
    gc.collect()
    print("bench: module", name, gc.mem_alloc())
    micropython.qstr_info()
mark("-")
import machine{network}
mark("fakes")
for name in {names!r}:
    __import__(name)
    mark(name)
"""
RESIDENT = """import gc, sys
def setup(ctx):
    pass
def loop(ctx):
    if ctx.tick == 1:
        print("bench: resident", " ".join(sorted(sys.modules)))
"""


SETUP_ONLY = ("runtime.keep", "runtime.setup_page", "runtime.setup_form", "runtime.provision")
ASYNC_ONLY = ("asyncio", "runtime.tasks")


def when(name, resident):
    """When a module of the table is in memory."""
    if resident or name == "fakes":
        return "resident"
    if name in SETUP_ONLY:
        return "setup mode only"
    if name in ASYNC_ONLY:
        return "async apps only"
    return "boot only (dropped; its qstrs stay)"


def bisect(ok, lo, hi, step=64):
    """The smallest heap in (lo, hi] at which ok(heap) holds, to `step` bytes; None if not even at hi."""
    if not ok(hi):
        return None
    while hi - lo > step:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def floor(micropython, main=""):
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "main.py").write_text(main)

        def ok(heap):
            out = subprocess.run([micropython, "-X", f"heapsize={heap}", "-c", "import main"], cwd=tmp,
                                 capture_output=True, env={"MICROPYPATH": ".frozen"})
            return out.returncode == 0

        return bisect(ok, 256, 65536)


def main(boards):
    print(f"{'board':<12} {'100 ticks .mpy':>14} {'.py':>7} {'setup':>7} {'1000 same':>9} {'held':>7} {'fakes':>6} "
          f"{'vb floor':>8} {'firmware':>8} {'grow/tick':>9} {'boot ms':>7} {'async':>7} {'async+':>7} {'modeled':>8}")
    micropython = None
    for board in boards or sorted(CATALOGUE):
        with tempfile.TemporaryDirectory() as tmp:
            copier.run_copy(str(ROOT), tmp, data={"boards": [board], "wifi": CATALOGUE[board]["wifi"],
                                                  "log_to_file": True},
                            defaults=True, vcs_ref="HEAD", quiet=True)
            vb = VirtualBoard(tmp, board)
            micropython = vb.micropython
            mpy, py = vb.smallest(100), vb.smallest(100, as_py=True)
            setup = (vb.smallest_setup() or "fails") if CATALOGUE[board]["wifi"] else "-"
            same = "yes" if mpy and vb.ok(mpy, 1000) else "no"
            held, first = vb.probe()
            grow = (held[1000] - held[10]) / 990 if 10 in held and 1000 in held else float("nan")
            vb_floor = vb.floor()
            asynced = vb.smallest(100, app=ASYNC_APP)
            print(f"{board:<12} {mpy or 'fails':>14} {py or 'fails':>7} {setup:>7} {same:>9} {held.get(1, 0):>7} "
                  f"{vb.fakes():>6} {vb_floor:>8} {mpy - vb_floor if mpy else '-':>8} {grow:>9.2f} "
                  f"{first if first is not None else '-':>7} {asynced or 'fails':>7} "
                  f"{asynced - mpy if asynced and mpy else '-':>7} "
                  f"{CATALOGUE[board]['heap_kib'] * 1024:>8}", flush=True)
            table = vb.modules()
            print(f"  {'module':<22} {'heap':>7} {'qstrs':>6} {'qstr B':>7} {'code+objects':>12}  after boot")
            for name, heap, qstrs, qbytes, resident in table:
                print(f"  {name:<22} {heap:>7} {qstrs:>6} {qbytes:>7} {heap - qbytes:>12}  {when(name, resident)}")
            kept = sum(row[1] for row in table if row[4])
            names = sum(row[3] for row in table if when(row[0], row[4]).startswith("boot"))
            alone = vb.held_alone()
            print(f"  resident modules {kept} B, qstrs left by boot-only ones {names} B; held after boot "
                  f"{held.get(1, 0)} B, of which the virtual board alone (simboot, fakes) {alone} B and the "
                  f"firmware {held.get(1, 0) - alone} B; `sim` adds FAKES_HEAP = {vb.sim.FAKES_HEAP} B to the "
                  f"modeled heap for the virtual board's part", flush=True)
            sys.path.pop(0)
            for name in [m for m in sys.modules if m == "tools" or m.startswith("tools.")]:
                del sys.modules[name]
    bare = floor(micropython)
    print(f"{'floor':<12} {bare:>14}   (bare interpreter, empty main.py)")
    with_asyncio = floor(micropython, ASYNC_MAIN)
    print(f"{'floor async':<12} {with_asyncio:>14}   (bare interpreter, asyncio.run of an empty coroutine: "
          f"asyncio costs {with_asyncio - bare})")
    print("bytes of unix-port heap (64-bit objects: about twice a 32-bit board's figure)")


if __name__ == "__main__":
    main(sys.argv[1:])
