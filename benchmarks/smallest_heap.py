"""Prints, per board, the smallest --heap at which `tools sim --ticks 100` succeeds.

Run: python benchmarks/smallest_heap.py [board ...]   (renders each board with Wi-Fi and file logs)
"""
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import copier
import yaml

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = yaml.safe_load((ROOT / "data" / "boards.yml").read_text())["boards"]


def runs(project, board, heap):
    with tempfile.TemporaryDirectory() as flash:
        Path(flash, "config.json").write_text(json.dumps({"wifi_ssid": "bench"}))
        out = subprocess.run([sys.executable, "-m", "tools", "sim", "--board", board, "--flash", flash,
                              "--ticks", "100", "--heap", str(heap)], cwd=project, capture_output=True, text=True)
        return out.returncode == 0 and "100 ticks done" in out.stdout


def smallest(project, board):
    lo, hi = 1024, CATALOGUE[board]["heap_kib"] * 1024 * 4
    if not runs(project, board, hi):
        return None
    while hi - lo > 256:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if runs(project, board, mid) else (mid, hi)
    return hi


def main(boards):
    print(f"{'board':<14} {'smallest heap (unix port)':>26} {'modeled heap':>13} {'copy s':>7}")
    for board in boards or sorted(CATALOGUE):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            copier.run_copy(str(ROOT), tmp, data={"boards": [board], "wifi": CATALOGUE[board]["wifi"]},
                            defaults=True, vcs_ref="HEAD", quiet=True)
            copy_s = time.perf_counter() - t0
            heap = smallest(tmp, board)
            print(f"{board:<14} {heap if heap else 'fails':>26} {CATALOGUE[board]['heap_kib'] * 1024:>13} {copy_s:>7.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
