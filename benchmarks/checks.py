"""Time of `python -m tools check`'s validators on very long inputs: the checks must stay linear.

For each size (10k, 100k and 1M characters) and each kind of input it prints the seconds the
validators take (every check but the mpy-cross compile, which is a separate program):
  - line: a README.md with one line of that many letters (a word that never ends);
  - name: a project name that long, written into README.md, pyproject.toml and a device string;
  - string: device/app.py assigning a Python string that long to a name ending in _pass;
  - comment: device/app.py with a comment line that long.
A case that takes longer than the timeout (60 s) is printed as `>60`.

Run: python benchmarks/checks.py [path/to/checks.py]   (default: hooks/checks.py, to compare versions)

Measured on a shared two-core machine (seconds; rows line/name/string/comment, columns 10k/100k/1M):
  before (a backtracking pattern for secrets)   after (syntax tree and a one-pass scanner)
  line      5.5    >60   >60                     0.009  0.011  0.019
  name     25.0    >60   >60                     0.012  0.016  0.067
  string   14.2    >60   >60                     0.010  0.014  0.054
  comment  22.9    >60   >60                     0.011  0.020  0.040
"""
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10_000, 100_000, 1_000_000)
TIMEOUT = 60

CASES = {
    "line": lambda n: {"README.md": "# " + "a" * n + "\n"},
    "name": lambda n: {"README.md": f"# {'N' * n}\n\nA project named {'N' * n}.\n",
                       "pyproject.toml": f'[project]\nname = "{"n" * n}"\n',
                       "device/app.py": f'NAME = "{"N" * n}"\n'},
    "string": lambda n: {"device/app.py": f'WIFI_PASS = "{"x" * n}"\n'},
    "comment": lambda n: {"device/app.py": "# " + "a" * n + "\n"},
}

RUN = """
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("checks", sys.argv[1])
checks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(checks)
facts = {"rp2_pico_w": {"port": "rp2", "fs_kib": 848, "chip_free_kib": 160}}
p = checks.Project(sys.argv[2], ["rp2_pico_w"], facts)
started = time.perf_counter()
for name in ("check_boot", "check_excepts", "check_names", "check_config", "check_secrets", "check_drivers",
             "check_leftovers"):
    getattr(checks, name)(p)
print(time.perf_counter() - started)
"""


def project(root, files):
    (root / "device" / "drivers" / "linux").mkdir(parents=True)
    (root / "device" / "drivers" / "rp2").mkdir()
    for port in ("linux", "rp2"):
        (root / "device" / "drivers" / port / "__init__.py").write_text("def idle(ms):\n    pass\n")
    (root / "device" / "boot.py").write_text("import micropython\n")
    (root / "device" / "app.py").write_text("def setup(ctx):\n    pass\n")
    (root / "config.example.json").write_text('{"wifi_password": ""}\n')
    (root / ".gitignore").write_text("config.json\n")
    for rel, text in files.items():
        (root / rel).write_text(text)


def seconds(checks_py, files):
    with tempfile.TemporaryDirectory() as tmp:
        project(Path(tmp), files)
        try:
            out = subprocess.run([sys.executable, "-c", RUN, str(checks_py), tmp], capture_output=True, text=True,
                                 timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            return f">{TIMEOUT}"
        if out.returncode:
            return "failed: " + (out.stderr.strip().splitlines() or ["?"])[-1]
        return f"{float(out.stdout):.3f}"


def main():
    checks_py = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "hooks" / "checks.py"
    print(f"validators of {checks_py}, seconds (mpy-cross not included)")
    print(f"{'input':<10}" + "".join(f"{n:>12,}" for n in SIZES))
    for kind, make in CASES.items():
        print(f"{kind:<10}" + "".join(f"{seconds(checks_py, make(n)):>12}" for n in SIZES), flush=True)


if __name__ == "__main__":
    main()
