"""`python -m tools release`: a signed over-the-air release in dist/ota/, served as it is.

    dist/ota/<board>/latest.json                 the signed pointer boards read first
    dist/ota/<board>/<version>/manifest.json     version, board, .mpy version, every file
    dist/ota/<board>/<version>/files/<path>      the build, as `deploy` would write it

latest.json names a version, a release number that only grows, and the SHA-256 of that
version's manifest, signed together with the release key (tools/signing.py); the manifest
names each file's size and SHA-256. A board that trusts the key so trusts every byte, and
refuses a pointer whose release number is not above the one it runs (no replay of an older
release). Older versions stay: `release --point V` makes an existing version the latest again
under a new number, which is how a fleet is rolled back (docs/ota.md).
"""
import hashlib
import json
import re
import shutil
import subprocess

from . import build, deploy, signing
from .project import ROOT, Failure, Usage

HELP = "check, build, then write a signed over-the-air release into dist/ota/<board>/"
DIST = ROOT / "dist" / "ota"
VERSION_FILE = ROOT / "VERSION"  # yours: the version when --version is not given (else git describe)
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,39}$")
POINTER = "latest.json"
FORMAT = "ota1"  # the first word of the signed text: a future format cannot be mistaken for this one


def add_arguments(p):
    build.board_argument(p)
    p.add_argument("--version", help="the release's version (default: the VERSION file, else `git describe`)")
    p.add_argument("--point", metavar="VERSION",
                   help="no build: make this already released version the latest again (rolls a fleet back)")


def run(args):
    if args.point and args.version:
        raise Usage("--point names an existing version; give it alone, without --version")
    if not build.has_wifi(args.board):
        raise Failure(f"{args.board} has no Wi-Fi in this project: over-the-air updates need it; "
                      "update it with `python -m tools deploy`")
    key = signing.private_key()
    folder = DIST / args.board
    if args.point:
        version = checked_version(args.point)
        manifest = folder / version / "manifest.json"
        if not manifest.is_file():
            raise Failure(f"{args.point} was never released for {args.board} (no {manifest.relative_to(ROOT)})")
    else:
        version = checked_version(args.version or default_version())
        manifest = publish(build.checked_build(args.board), folder / version, args.board, version)
    serial = point(folder, args.board, version, manifest, key)
    print(f"released {version} for {args.board} as release {serial}: {folder.relative_to(ROOT)}/")
    return 0


def default_version():
    if VERSION_FILE.is_file():
        return VERSION_FILE.read_text().strip()
    try:
        out = subprocess.run(["git", "describe", "--tags", "--always", "--dirty"], cwd=ROOT,
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        out = None
    if not out or out.returncode or not out.stdout.strip():
        raise Failure("no version: give --version V, write it in a VERSION file, or commit the project to git")
    return out.stdout.strip()


def checked_version(version):
    if not VERSION_RE.match(version):
        raise Failure(f"version {version!r} is not usable: letters, digits and . _ + - only, at most 40, "
                      "starting with a letter or digit")
    return version


def sha_file(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_of(build_dir, board, version):
    files = []
    for p in sorted(build_dir.rglob("*")):
        if p.is_file():
            files.append({"path": p.relative_to(build_dir).as_posix(), "size": p.stat().st_size,
                          "sha256": sha_file(p)})
    return {"version": version, "board": board, "mpy": deploy.mpy_version(build_dir), "files": files}


def publish(build_dir, out, board, version):
    """Write the version's files and manifest (once: a version never changes); its manifest path."""
    data = manifest_of(build_dir, board, version)
    manifest = out / "manifest.json"
    if manifest.is_file():
        try:
            old = json.loads(manifest.read_text())
        except ValueError:
            old = None
        if old != data:
            raise Failure(f"version {version} of {board} was already released with other files: "
                          "give the new build a new version (--version or VERSION)")
        return manifest  # the same build again: only the pointer moves
    shutil.rmtree(out, ignore_errors=True)  # what an interrupted release left
    for f in data["files"]:
        dst = out / "files" / f["path"]
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(build_dir / f["path"], dst)
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(manifest)  # last: a folder with a manifest is a whole release
    return manifest


def signed_text(board, version, serial, manifest_sha):
    """The bytes the signature covers; lib/runtime/ota.py builds the same from the pointer."""
    return f"{FORMAT} {board} {version} {serial} {manifest_sha}".encode()


def point(folder, board, version, manifest, key):
    """Write latest.json for version under the next release number; that number."""
    pointer = folder / POINTER
    serial = 1
    if pointer.is_file():
        try:
            serial = int(json.loads(pointer.read_text())["serial"]) + 1
        except (ValueError, KeyError, TypeError):
            raise Failure(f"{pointer.relative_to(ROOT)} is unreadable: restore it from where you host "
                          "releases (its release number must keep growing)") from None
    sha = sha_file(manifest)
    data = {"board": board, "version": version, "serial": serial, "manifest": sha,
            "sig": signing.sign(signed_text(board, version, serial, sha), key)}
    tmp = pointer.with_suffix(".tmp")
    tmp.write_text(json.dumps(data) + "\n")
    tmp.replace(pointer)
    return serial
