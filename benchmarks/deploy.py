"""Times `tools deploy` against the virtual board (`sim --serve`), beside the connection floor
(`mpremote connect PORT resume exec pass`) and a plain `mpremote cp -r` of the same build.

Scenarios: the first deploy (blank flash), a redeploy with no change, a redeploy after one
module changed. Each is run REPEAT times; the median is printed, in seconds. Every timed
command starts SETTLE_S after the previous one, with the firmware running (a command that
races a reboot waits up to 0.25 s more: see tools/serve.py).
Columns:
  deploy      python -m tools deploy: check + build + sync + reset, what a user runs
  sync        the sync alone (deploy.deploy() on a prebuilt build, in a fresh python process)
  cp -r       mpremote connect PORT fs cp -r build/<board>/. : + reset
  floor       mpremote connect PORT resume exec pass
  execs, KiB  what the sync sends: raw-REPL commands and their bytes (load-independent)
  @115200     those bytes at 115200 baud plus 10 ms a command: the sync on a UART board
The pty has no baud rate and the machine may be busy, so compare the times as ratios to the
floor, and the last three columns as they are.

Run: python benchmarks/deploy.py [board]      (default esp8266; renders HEAD of this repo)
"""
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import copier

ROOT = Path(__file__).resolve().parent.parent
REPEAT = 5
SETTLE_S = 0.5


WIRE = []  # (commands, bytes) of each timed sync


def timed(cmd, cwd, settle=SETTLE_S):
    time.sleep(settle)  # the firmware runs a while between two commands, as it does for a user
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    took = time.perf_counter() - t0
    if out.returncode:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{out.stdout}\n{out.stderr}")
    for line in out.stdout.splitlines():
        if line.startswith("WIRE "):
            WIRE.append(tuple(map(int, line.split()[1:])))
    return took


# Counts what mpremote sends as raw-REPL commands, then runs the sync.
COUNTED = """import sys
from mpremote import transport_serial as ts
sent = [0, 0]
send = ts.SerialTransport.exec_raw_no_follow
def counted(self, code):
    sent[0] += 1
    sent[1] += len(code)
    return send(self, code)
ts.SerialTransport.exec_raw_no_follow = counted
from tools import deploy, project
deploy.deploy(%r, project.BUILD / %r, %r, say=lambda s: None)
print("WIRE", *sent)
"""


class Served:
    def __init__(self, project, flash):
        self.proc = subprocess.Popen([sys.executable, "-m", "tools", "sim", "--serve", "--blank", "--flash",
                                      str(flash)], cwd=project, stdout=subprocess.PIPE, text=True)
        self.port = self.proc.stdout.readline().strip()
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()  # keep the pipe drained

    def stop(self):
        self.proc.terminate()
        self.proc.wait(15)


def wipe(flash):
    for p in flash.iterdir():
        shutil.rmtree(p) if p.is_dir() else p.unlink()


def main(board="esp8266"):
    mpremote = shutil.which("mpremote") or str(Path(sys.executable).parent / "mpremote")
    with tempfile.TemporaryDirectory() as tmp:
        project, flash = Path(tmp) / "p", Path(tmp) / "flash"
        flash.mkdir()
        copier.run_copy(str(ROOT), str(project), data={"boards": [board]}, defaults=True, vcs_ref="HEAD",
                        quiet=True)
        build = project / "build" / board
        app = project / "device" / "app.py"
        served = Served(project, flash)
        port = served.port
        py = sys.executable
        deploy = [py, "-m", "tools", "deploy", "--board", board, "--port", port]
        sync = [py, "-c", COUNTED % (board, board, port)]
        rebuild = [py, "-m", "tools", "build", "--board", board]
        cp = [mpremote, "connect", port, "fs", "cp", "-r", f"{build}/.", ":", "+", "reset"]
        floor = [mpremote, "connect", port, "resume", "exec", "pass"]
        rows = {}
        try:
            timed(rebuild, project, 0)
            edits = iter(range(1000))

            def change_one():
                app.write_text(app.read_text() + f"\n\ndef bench_{next(edits)}():\n    return 1\n")

            scenarios = (
                ("first deploy (blank flash)", lambda: wipe(flash), lambda: wipe(flash)),
                ("no-change redeploy", lambda: None, lambda: None),
                ("one-file redeploy", change_one, lambda: (change_one(), timed(rebuild, project, 0))),
            )
            timed(deploy, project)
            for name, before_deploy, before_sync in scenarios:
                t = {"deploy": [], "sync": [], "cp -r": [], "floor": []}
                WIRE.clear()
                for _ in range(REPEAT):
                    before_deploy()
                    t["deploy"].append(timed(deploy, project))
                    before_sync()
                    t["sync"].append(timed(sync, project))
                    before_sync()
                    t["cp -r"].append(timed(cp, project))
                    t["floor"].append(timed(floor, project))
                rows[name] = {k: statistics.median(v) for k, v in t.items()}
                rows[name]["execs"], rows[name]["bytes"] = WIRE[len(WIRE) // 2]
        finally:
            served.stop()
    print(f"deploy to the virtual board ({board}), median of {REPEAT}, seconds")
    print(f"{'scenario':<28} {'deploy':>7} {'sync':>7} {'cp -r':>7} {'floor':>7} {'deploy/floor':>13} "
          f"{'sync/floor':>11} {'execs':>6} {'KiB':>6} {'@115200':>8}")
    for name, r in rows.items():
        uart = r["bytes"] * 10 / 115200 + r["execs"] * 0.010
        print(f"{name:<28} {r['deploy']:>7.3f} {r['sync']:>7.3f} {r['cp -r']:>7.3f} {r['floor']:>7.3f} "
              f"{r['deploy'] / r['floor']:>12.2f}x {r['sync'] / r['floor']:>10.2f}x {r['execs']:>6} "
              f"{r['bytes'] / 1024:>6.1f} {uart:>7.2f}s")


if __name__ == "__main__":
    main(*sys.argv[1:])
