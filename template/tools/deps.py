"""`python -m tools deps`: device libraries, as `mip` names them, vendored so a build needs no network.

Two files of yours at the project root, made by this command (never by `copier update`):

- device-deps.json: the libraries you asked for, {"packages": {NAME: SPEC}} and the "index";
- device-deps.lock.json: what they resolved to, dependencies included: each package's name,
  version and source, and each file's path on the board, URL and sha256.

The files themselves live in vendor/, under their paths in the board's lib/ folder (where
`mip install` would put them): the build compiles them into build/<board>/lib/ like your own
modules, and refuses a vendored file that does not match the lock. vendor/ is third-party code:
ruff, the type checker and check's style rules leave it alone.

A SPEC is what `mip install` takes: a micropython-lib name with an optional @version,
github:org/repo[/path][@ref] (also gitlab:, codeberg:), an http(s):// URL of a .py file or a
package.json (or of the folder holding one), or a local path to either.
"""
import functools
import hashlib
import json
import re
import subprocess
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath

from .project import ROOT, Failure, mpy_cross

DECLARED = ROOT / "device-deps.json"
LOCK = ROOT / "device-deps.lock.json"
VENDOR = ROOT / "vendor"
TARGET = "lib"  # where mip installs on the board, and where the build puts vendor/
TIMEOUT = 30  # seconds per request
DEFAULT_INDEX = "https://micropython.org/pi/v2"  # mip's (mpremote.mip._PACKAGE_INDEX)

NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
SPEC_HELP = ("give a micropython-lib name[@version], github:org/repo[/path][@ref], gitlab:org/repo[/path][@ref], "
             "an https:// URL of a .py or package.json, or a local path")


@functools.cache
def mip():
    """mpremote's own mip helpers: its URL schemes, and github:/gitlab:/codeberg: shorthands
    rewritten to raw-file URLs exactly as `mpremote mip install` does (only the commands that
    fetch need mpremote; the build does not)."""
    try:
        from mpremote import mip
    except ImportError:
        raise Failure("mpremote is not installed: run `python -m pip install -r requirements-dev.txt`") from None
    return mip


def url_prefixes():
    return mip()._ALLOWED_MIP_URL_PREFIXES


def rewrite_url(url, ref):
    return mip()._rewrite_url(url, ref)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------
# Specs


def split_version(spec):
    """'name@1.0' -> ('name', '1.0'); a path or URL keeps an @ that is not its last part's."""
    head, at, version = spec.rpartition("@")
    if not at or "/" in version or (":" in version and not spec.startswith(url_prefixes())):
        return spec, None
    if not version:
        raise Failure(f"bad SPEC {spec!r}: nothing after @; {SPEC_HELP}")
    return head, version


def kind_of(spec):
    """('index' | 'url' | 'path', where, version) for a SPEC, or Failure naming what is wrong."""
    if not spec or spec != spec.strip() or any(c.isspace() for c in spec):
        raise Failure(f"bad SPEC {spec!r}: {SPEC_HELP}")
    where, version = split_version(spec)
    if where.startswith(url_prefixes()):
        rest = where.split(":", 1)[1].lstrip("/")
        if where.startswith(("http://", "https://")) and not rest.split("/")[0]:
            raise Failure(f"bad SPEC {spec!r}: the URL has no host; {SPEC_HELP}")
        if not where.startswith(("http://", "https://")) and len([p for p in rest.split("/") if p]) < 2:
            raise Failure(f"bad SPEC {spec!r}: name the repository as org/repo; {SPEC_HELP}")
        return "url", where, version
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.\-]+):", where)  # two letters at least: C:\ is a Windows path
    if scheme:
        raise Failure(f"bad SPEC {spec!r}: unknown scheme {scheme.group(1)}:; {SPEC_HELP}")
    local = Path(where).expanduser()
    if not local.is_absolute():
        local = ROOT / local
    if "/" in where or "\\" in where or where.endswith((".py", ".json", ".mpy")):  # a path: ./mylib, not mylib
        if not local.exists():
            raise Failure(f"bad SPEC {spec!r}: no such file or folder {where}; {SPEC_HELP}")
        return "path", where, version
    if not NAME.fullmatch(where):
        raise Failure(f"bad SPEC {spec!r}: {SPEC_HELP}")
    return "index", where, version


def name_of(spec):
    """The package's name: the micropython-lib name, or the .py file's or package folder's name."""
    kind, where, _ = kind_of(spec)
    if kind == "index":
        return where
    if kind == "url":
        parts = [p for p in where.split(":", 1)[1].split("/") if p]
        if where.startswith(("http://", "https://")):
            parts = parts[1:] or parts  # without the host
    else:
        local = Path(where).expanduser()
        parts = list((local if local.is_absolute() else ROOT / local).resolve().parts)
    last = parts[-1]
    if last.endswith((".py", ".mpy")):
        return last.rsplit(".", 1)[0]
    if last.endswith(".json") and len(parts) > 1:
        return parts[-2]
    return last


# ---------------------------------------------------------------------------------------------
# Fetching


def fetch(url, what):
    """The bytes at url (http(s) or a local path), or a one-line Failure saying what to do."""
    if not url.startswith(("http://", "https://")):
        path = Path(url).expanduser()
        path = path if path.is_absolute() else ROOT / path
        try:
            return path.read_bytes()
        except OSError as e:
            raise Failure(f"cannot read {url} ({e.strerror}) for {what}: check the path in the SPEC") from None
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.read()
    except urllib.error.HTTPError as e:
        if e.code == 404:
            raise Failure(f"{what} not found: {url} answered 404; check the name and version "
                          "(micropython-lib names are listed on https://micropython.org/pi/v2/index.json) "
                          "or the index given with --index") from None
        raise Failure(f"{url} answered HTTP {e.code} for {what}: try again later, or check --index") from None
    except (urllib.error.URLError, OSError) as e:  # refused, unknown host, timeout, no network
        reason = getattr(e, "reason", e)
        raise Failure(f"cannot reach {url.split('/')[2]} for {what} ({reason}): check the network and the index "
                      "URL; a build needs no network, and `deps install` only for files missing from vendor/") \
            from None


@functools.cache
def mpy_version():
    """(major, minor) of the .mpy files this project's mpy-cross writes (and its firmware loads)."""
    out = subprocess.run([mpy_cross(), "--version"], capture_output=True, text=True).stdout
    m = re.search(r"mpy v(\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (6, 3)


def check_mpy(path, data, url):
    """A vendored .mpy must be the version this project's firmware loads; source is always safer."""
    if not path.endswith(".mpy"):
        return
    want = mpy_version()
    have = (data[1], data[2] & 3) if len(data) > 3 and data[:1] == b"M" else None
    if have is None or have[0] != want[0] or (data[2] >> 2 and have[1] != want[1]):
        shown = f"v{have[0]}.{have[1]}" if have else "not an .mpy file"
        raise Failure(f"{url} is a compiled .mpy ({shown}) but this project's firmware loads mpy v{want[0]}.{want[1]}: "
                      "ask for the source instead (a micropython-lib name, or the .py file's URL)")


class Package:
    """One resolved package: name, version, source spec, files {path on the board: (url, bytes)}, deps."""

    def __init__(self, name, version, source):
        self.name, self.version, self.source = name, version, source
        self.files, self.deps = {}, []

    def add(self, dest, url, data, short_hash=None):
        dest = PurePosixPath(dest.lstrip("/"))
        if ".." in dest.parts or not dest.parts:
            raise Failure(f"{self.name} wants to write outside lib/ ({dest}): refusing it; report it to its author")
        if short_hash and not sha256(data).startswith(short_hash):
            raise Failure(f"{url} does not match its hash {short_hash} ({self.name}): the download is corrupt or "
                          "was tampered with; nothing was changed: try again, or report it to the index")
        check_mpy(dest.as_posix(), data, url)
        self.files[f"{TARGET}/{dest.as_posix()}"] = (url, data)

    def record(self):
        return {"name": self.name, "version": self.version, "source": self.source, "deps": sorted(self.deps),
                "files": [{"path": path, "url": url, "sha256": sha256(data)}
                          for path, (url, data) in sorted(self.files.items())]}


def load_package_json(pkg, url, index, version):
    """Fill pkg from the package.json at url (mip's format: hashes, urls, deps, version)."""
    try:
        meta = json.loads(fetch(url, pkg.name))
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
    except ValueError as e:
        raise Failure(f"{url} is not a package.json ({e}): check the SPEC") from None
    base = url.rpartition("/")[0]
    pkg.version = str(meta.get("version") or version or pkg.version)
    try:
        for dest, short_hash in meta.get("hashes", ()):
            pkg.add(dest, f"{index}/file/{short_hash[:2]}/{short_hash}",
                    fetch(f"{index}/file/{short_hash[:2]}/{short_hash}", f"{pkg.name}'s {dest}"), short_hash)
        for dest, file_url in meta.get("urls", ()):
            if not file_url.startswith(url_prefixes()):
                file_url = f"{base}/{file_url}"  # relative to the package.json, as mip reads it
            file_url = rewrite_url(file_url, version)
            pkg.add(dest, file_url, fetch(file_url, f"{pkg.name}'s {dest}"))
        return [(dep, None if dep_version in (None, "", "latest") else str(dep_version))
                for dep, dep_version in meta.get("deps", ())]
    except (TypeError, ValueError):
        raise Failure(f"{url} is not a valid package.json (hashes, urls and deps are lists of pairs): "
                      "report it to the package's author") from None


def fetch_package(spec, index, version):
    """Download one package (not its dependencies); returns (Package, [(dep spec, version)])."""
    kind, where, spec_version = kind_of(spec)
    version = version or spec_version
    pkg = Package(name_of(spec), version or "latest", spec)
    if kind == "index":
        url = f"{index}/package/py/{where}/{version or 'latest'}.json"  # py: source, built by our own mpy-cross
        return pkg, load_package_json(pkg, url, index, version)
    if kind == "path":
        local = Path(where).expanduser()
        full = local if local.is_absolute() else ROOT / local
        if full.is_dir():
            full, where = full / "package.json", f"{where.rstrip('/')}/package.json"
        if where.endswith((".py", ".mpy")):
            pkg.version = version or sha256(full.read_bytes())[:8]
            pkg.add(full.name, where, fetch(where, pkg.name))
            return pkg, []
        return pkg, load_package_json(pkg, where, index, version)
    if where.endswith((".py", ".mpy")):
        url = rewrite_url(where, version)
        pkg.version = version or ("HEAD" if url != where else "-")  # github: without @ref takes HEAD
        pkg.add(where.rsplit("/", 1)[-1], url, fetch(url, pkg.name))
        return pkg, []
    json_url = where if where.endswith(".json") else where.rstrip("/") + "/package.json"
    return pkg, load_package_json(pkg, rewrite_url(json_url, version), index, version)


def resolve(declared, index, pins=None):
    """{name: Package} for the declared specs and all their dependencies, de-duplicated.

    A dependency asked for at two different versions is a conflict (an error); `pins` holds the
    versions to keep for packages asked for without one (`deps update NAME` keeps the others)."""
    pins = pins or {}
    found, asked = {}, {}  # name -> Package; name -> (version, who asked)
    queue = [(spec, None, "device-deps.json") for spec in declared.values()]
    while queue:
        spec, version, who = queue.pop(0)
        name, explicit = name_of(spec), version or kind_of(spec)[2]
        if name in found:
            first_version, first_who = asked[name]
            if kind_of(spec)[0] != "index" or kind_of(found[name].source)[0] != "index":
                if split_version(spec)[0] != split_version(found[name].source)[0] or \
                        (explicit or None) != (first_version or None):
                    raise Failure(f"conflict: {first_who} takes {name} from {found[name].source}"
                                  f"{'@' + first_version if first_version and '@' not in found[name].source else ''}"
                                  f", {who} from {spec}{'@' + explicit if explicit and '@' not in spec else ''}: "
                                  "make them agree (declare the one you want in device-deps.json)")
            elif explicit and explicit != found[name].version:
                raise Failure(f"version conflict: {who} needs {name} {explicit}, {first_who} "
                              f"{'needs' if first_version else 'got'} {found[name].version}: make them agree (the "
                              "version in device-deps.json, or another version of the package that needs it)")
            continue
        print(f"deps: fetching {spec}{'@' + explicit if explicit and explicit != kind_of(spec)[2] else ''}")
        pkg, deps = fetch_package(spec, index, explicit or pins.get(name))
        found[name], asked[name] = pkg, (explicit, who)
        for dep, dep_version in deps:
            pkg.deps.append(name_of(dep))
            queue.append((dep, dep_version, name))
    taken = {}
    for pkg in found.values():
        for path, (_, data) in pkg.files.items():
            other = taken.setdefault(path, (pkg.name, data))
            if other[1] != data:
                raise Failure(f"{pkg.name} and {other[0]} both install {path} with different contents: "
                              "remove one of them")
    return found


# ---------------------------------------------------------------------------------------------
# The two files and vendor/


def read_declared():
    if not DECLARED.exists():
        return {"index": DEFAULT_INDEX, "packages": {}}
    try:
        data = json.loads(DECLARED.read_text())
        if not isinstance(data.get("packages", {}), dict):
            raise ValueError('"packages" must be an object {NAME: SPEC}')
    except (ValueError, AttributeError) as e:
        raise Failure(f"{DECLARED.name} is not valid ({e}): fix it, or delete it and add the packages again") from None
    data.setdefault("packages", {})
    data.setdefault("index", DEFAULT_INDEX)
    return data


def read_lock():
    if not LOCK.exists():
        return None
    try:
        lock = json.loads(LOCK.read_text())
        for pkg in lock["packages"]:
            for f in pkg["files"]:
                if not all(isinstance(f[k], str) for k in ("path", "url", "sha256")):
                    raise TypeError(f)
        return lock
    except (ValueError, KeyError, TypeError):
        raise Failure(f"{LOCK.name} is damaged: restore it from git, or run `python -m tools deps update`") from None


def write_json(path, data):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


def vendor_path(board_path):
    """vendor/<path in lib/> for a file whose path on the board is lib/<path>."""
    return VENDOR / PurePosixPath(board_path).relative_to(TARGET)


def vendored_files():
    if not VENDOR.is_dir():
        return []
    return sorted(p for p in VENDOR.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def save(declared, found):
    """Write vendor/ to hold exactly the resolved files, then the lock, then device-deps.json."""
    files = {path: data for pkg in found.values() for path, (_, data) in pkg.files.items()}
    clash = sorted(p for p in files if (ROOT / "device" / p).exists())
    if clash:
        raise Failure(f"device/{clash[0]} is yours and a library also installs {clash[0]}: rename yours")
    for path, data in files.items():
        dst = vendor_path(path)
        if not dst.is_file() or dst.read_bytes() != data:
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(data)
    prune(set(files))
    write_json(LOCK, {"comment": "Written by `python -m tools deps`; commit it with vendor/ and device-deps.json.",
                      "index": declared["index"], "declared": declared["packages"],
                      "packages": [found[n].record() for n in sorted(found)]})
    write_json(DECLARED, declared)


def prune(keep):
    """Remove vendored files not in `keep` (paths on the board), then empty folders."""
    for path in vendored_files():
        if f"{TARGET}/{path.relative_to(VENDOR).as_posix()}" not in keep:
            path.unlink()
    if VENDOR.is_dir():
        for folder in sorted((p for p in VENDOR.rglob("*") if p.is_dir()), reverse=True):
            if not any(folder.iterdir()):
                folder.rmdir()
        if not any(VENDOR.iterdir()):
            VENDOR.rmdir()


def verify():
    """Every vendored file as the lock has it; raise Failure naming the first one that is not.

    The build calls this: vendor/ is compiled into the firmware, so it must be what was locked."""
    lock = read_lock()
    locked = {f["path"]: f["sha256"] for pkg in (lock or {"packages": []})["packages"] for f in pkg["files"]}
    fix = "run `python -m tools deps install`"
    for path, digest in sorted(locked.items()):
        src = vendor_path(path)
        rel = src.relative_to(ROOT).as_posix()
        if not src.is_file():
            raise Failure(f"{rel} is missing (it is in {LOCK.name}): {fix}")
        if sha256(src.read_bytes()) != digest:
            raise Failure(f"{rel} does not match {LOCK.name}: {fix}")
        if (ROOT / "device" / path).exists():
            raise Failure(f"device/{path} and {rel} both land at {path} on the board: rename yours")
    for src in vendored_files():
        if f"{TARGET}/{src.relative_to(VENDOR).as_posix()}" not in locked:
            rel = src.relative_to(ROOT).as_posix()
            raise Failure(f"{rel} is not in {LOCK.name}: vendor/ holds locked libraries only; "
                          f"move your own code to device/lib/, or {fix}")


# ---------------------------------------------------------------------------------------------
# Commands


def add(spec, index=None):
    declared = read_declared()
    name = name_of(spec)
    if index:
        declared["index"] = index.rstrip("/")
    declared["packages"][name] = spec
    found = resolve(declared["packages"], declared["index"], locked_versions(exclude=name))
    save(declared, found)
    pkg = found[name]
    print(f"deps: added {name} {pkg.version} ({len(found)} package{'s' * (len(found) != 1)} locked)")


def remove(name):
    declared, lock = read_declared(), read_lock()
    match = [n for n, spec in declared["packages"].items() if name in (n, spec, split_version(spec)[0])]
    if not match:
        needed = [p["name"] for p in (lock or {"packages": []})["packages"] if name in p["deps"]]
        hint = f"it is a dependency of {', '.join(needed)}" if needed else "see `python -m tools deps list`"
        raise Failure(f"{name} is not declared in {DECLARED.name}: {hint}")
    del declared["packages"][match[0]]
    packages = {p["name"]: p for p in (lock or {"packages": []})["packages"]}
    keep, todo = set(), list(declared["packages"])
    while todo:  # what the remaining packages still need, from the lock: no network
        n = todo.pop()
        if n in packages and n not in keep:
            keep.add(n)
            todo.extend(packages[n]["deps"])
    lock = {**(lock or {}), "index": declared["index"], "declared": declared["packages"],
            "packages": [packages[n] for n in sorted(keep)]}
    prune({f["path"] for p in lock["packages"] for f in p["files"]})
    write_json(LOCK, lock)
    write_json(DECLARED, declared)
    print(f"deps: removed {match[0]} ({len(packages) - len(keep)} package{'s' * (len(packages) - len(keep) != 1)} "
          "dropped)")


def install():
    """Make vendor/ exactly what the lock says: fetch missing or changed files, verify every hash."""
    declared, lock = read_declared(), read_lock()
    if lock is None:
        if declared["packages"]:
            save(declared, resolve(declared["packages"], declared["index"]))
        print("deps: nothing to install" if not declared["packages"] else "deps: resolved and installed")
        return
    if lock.get("declared") != declared["packages"]:
        raise Failure(f"{DECLARED.name} changed since {LOCK.name} was written: "
                      "run `python -m tools deps update` to resolve it again")
    fetched = 0
    for pkg in lock["packages"]:
        for f in pkg["files"]:
            dst = vendor_path(f["path"])
            if dst.is_file() and sha256(dst.read_bytes()) == f["sha256"]:
                continue
            data = fetch(f["url"], f"{pkg['name']}'s {f['path']}")
            if sha256(data) != f["sha256"]:
                raise Failure(f"{f['url']} does not match the sha256 in {LOCK.name} ({pkg['name']}): the file "
                              "changed upstream or was tampered with; run `python -m tools deps update "
                              f"{pkg['name']}` if the change is expected")
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(data)
            fetched += 1
    prune({f["path"] for p in lock["packages"] for f in p["files"]})
    verify()
    print(f"deps: {len(lock['packages'])} package{'s' * (len(lock['packages']) != 1)} as locked "
          f"({fetched} file{'s' * (fetched != 1)} fetched)")


def locked_versions(exclude=None):
    """{name: locked version} of the index packages: what `add` and `update NAME` keep as they are."""
    lock = read_lock()
    return {p["name"]: p["version"] for p in (lock or {"packages": []})["packages"]
            if p["name"] != exclude and NAME.fullmatch(split_version(p["source"])[0])}


def update(name=None):
    declared, lock = read_declared(), read_lock()
    if name and name not in {p["name"] for p in (lock or {"packages": []})["packages"]} | set(declared["packages"]):
        raise Failure(f"{name} is not a locked package: see `python -m tools deps list`")
    before = {p["name"]: p["version"] for p in (lock or {"packages": []})["packages"]}
    found = resolve(declared["packages"], declared["index"], locked_versions(exclude=name) if name else {})
    save(declared, found)
    changed = [f"{n} {before.get(n, '-')} -> {p.version}" for n, p in sorted(found.items())
               if before.get(n) != p.version]
    print("deps: " + ("; ".join(changed) if changed else "everything is up to date"))


def listing():
    declared, lock = read_declared(), read_lock()
    if not declared["packages"]:
        print(f"deps: no libraries yet; add one with `python -m tools deps add NAME` (index {declared['index']})")
        return
    packages = (lock or {"packages": []})["packages"]
    for pkg in packages:
        direct = pkg["name"] in declared["packages"]
        users = [p["name"] for p in packages if pkg["name"] in p["deps"]]
        why = "" if direct else f"  (needed by {', '.join(users)})"
        print(f"{pkg['name']} {pkg['version']}  {pkg['source']}  {len(pkg['files'])} file"
              f"{'s' * (len(pkg['files']) != 1)}{why}")
    for name in sorted(set(declared["packages"]) - {p["name"] for p in packages}):
        print(f"{name}  {declared['packages'][name]}  not locked: run `python -m tools deps update`")


HELP = "device libraries as mip names them: declared, locked by sha256 and vendored into vendor/"


def add_arguments(p):
    deps = p.add_subparsers(dest="action", required=True)
    p = deps.add_parser("add", help="declare a library, resolve it with its dependencies, vendor and lock them")
    p.add_argument("spec", metavar="SPEC", help="a micropython-lib name[@version], github:org/repo[/path][@ref], "
                   "gitlab:..., an https:// URL of a .py or package.json, or a local path")
    p.add_argument("--index", metavar="URL", help="a mip package index, kept in device-deps.json "
                   "(default: https://micropython.org/pi/v2)")
    deps.add_parser("remove", help="drop a declared library and what only it needed (no network)") \
        .add_argument("name", metavar="NAME", help="the name `deps list` shows")
    deps.add_parser("install", help="make vendor/ exactly what device-deps.lock.json says, verifying every sha256")
    deps.add_parser("update", help="resolve again from the index: newer versions into the lock and vendor/") \
        .add_argument("name", metavar="NAME", nargs="?", help="only this package (default: all)")
    deps.add_parser("list", help="the locked libraries: name, version, source, files")


def run(a):
    if a.action == "add":
        add(a.spec, a.index)
    elif a.action == "remove":
        remove(a.name)
    elif a.action == "install":
        install()
    elif a.action == "update":
        update(a.name)
    else:
        listing()

