"""Over-the-air updates on the virtual board, against releases served on loopback.

One rendering (a Pico W), releases made with the project's own `python -m tools release`: 1.0,
2.0 (a changed app and 24 new modules), 3.0 (an app whose setup crashes). Each test puts
1.0 (or 2.0) on a fresh flash, points latest.json at a release, and boots the flash in the
MicroPython unix port at the board's modeled heap, rebooting on machine.reset() as `sim` does
(but without sim's install step, which would put the project's build back).
"""
import functools
import hashlib
import http.server
import json
import random
import shutil
import subprocess
import sys
import threading

import pytest
from conftest import CATALOGUE, tool, tools_env

BOARD = "rp2_pico_w"
TIMEOUT = 60
REBOOTS = {42: "HARD_RESET", 44: "WDT_RESET"}  # tools/sim.py: the fake machine's reset exit codes
FAKES_HEAP = 20480  # tools/sim.py: the fakes' share of the unix port's heap
KILL_SEED, KILL_POINTS = 19, 40  # the fault test: its seed and how many cut points it tries


def project_tool(project, *args):
    out = subprocess.run(check=False, args=[sys.executable, "-m", "tools", *args], cwd=project, env=tools_env(),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def releases(renderings, tmp_path_factory):
    """The project, with releases 1.0, 2.0 and 3.0 in dist/ota/ and each one's latest.json kept."""
    project = tmp_path_factory.mktemp("ota") / "p"
    shutil.copytree(renderings(boards=[BOARD]), project)
    app = project / "device" / "app.py"
    pointers = {}

    def release(version):
        project_tool(project, "release", "--version", version)
        pointers[version] = (project / "dist" / "ota" / BOARD / "latest.json").read_text()

    release("1.0")
    app.write_text(app.read_text().replace('"app: hello', '"app 2.0: hello'))
    extra = project / "device" / "lib" / "extra"
    extra.mkdir()
    for i in range(24):  # many files: many steps in the switch for the fault test
        (extra / f"m{i}.py").write_text(f"VALUE = {i}\n")
    release("2.0")
    app.write_text(app.read_text() + "\n\ndef setup(ctx):\n    raise RuntimeError('3.0 is broken')\n")
    release("3.0")
    return project, pointers


@pytest.fixture(scope="module")
def host(releases):
    """An HTTP server on loopback serving a copy of dist/ (tests change it: tamper, re-point)."""
    project, _ = releases
    root = project / "served"
    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/ota/"
    server.shutdown()


@pytest.fixture(scope="module")
def tls_host(host, tmp_path_factory):
    """The same folder over https, with a self-signed certificate (which a board does not check)."""
    import ssl

    root, _ = host
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    where = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017 (datetime.UTC is 3.11+; the README says 3.10)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    (where / "cert").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (where / "key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(where / "cert", where / "key")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}/ota/"
    server.shutdown()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served(releases, host):
    """serve(version): latest.json points at that release; the folder as `release` wrote it."""
    project, pointers = releases
    root, url = host
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(project / "dist", root)
    here = root / "ota" / BOARD

    def serve(version):
        (here / "latest.json").write_text(pointers[version])
        return here
    return serve, url


def files_of(project, version):
    return project / "dist" / "ota" / BOARD / version / "files"


def flash_with(project, version, url, tmp_path, install="now"):
    flash = tmp_path / "flash"
    shutil.copytree(files_of(project, version), flash)
    (flash / "config.json").write_text(json.dumps({"wifi_ssid": "lab", "ota_url": url, "ota_install": install}))
    return flash


def vm_env(project, ticks, cause="PWRON_RESET"):
    """The environment `python -m tools sim` gives the interpreter, from the project's own tools."""
    forget = [m for m in sys.modules if m == "tools" or m.startswith("tools.")]
    for name in forget:
        del sys.modules[name]
    sys.path.insert(0, str(project))
    try:
        from tools import sim

        return sim.vm_env(BOARD, ticks, cause, False, "ok")
    finally:
        sys.path.pop(0)
        for name in [m for m in sys.modules if m == "tools" or m.startswith("tools.")]:
            del sys.modules[name]


def run(project, flash, ticks, script="import simboot", cause="PWRON_RESET", boots=8, **env):
    """Boot the flash, rebooting on machine.reset(), until a boot ends otherwise; (exit, output)."""
    heap = CATALOGUE[BOARD]["heap_kib"] * 1024 + FAKES_HEAP
    text = ""
    for _ in range(boots):
        out = subprocess.run(check=False, args=[tool("micropython"), "-X", f"heapsize={heap}", "-c", script], cwd=flash,
                             env=dict(vm_env(project, ticks, cause), **env), capture_output=True, text=True,
                             timeout=TIMEOUT)
        text += out.stdout + out.stderr
        if out.returncode not in REBOOTS:
            return out.returncode, text
        cause = REBOOTS[out.returncode]
    return None, text


def firmware(flash):
    """{path: sha256} of the firmware on the flash: all but .ota/, the config, logs and counters."""
    out = {}
    for p in flash.rglob("*"):
        rel = p.relative_to(flash).as_posix()
        if p.is_file() and not rel.startswith(".ota/") and not rel.startswith("config.json") \
                and not rel.startswith("log") and rel not in ("boot_count",):
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def state(flash):
    return json.loads((flash / ".ota" / "state.json").read_text())


def test_release_layout_and_signature(releases):
    project, pointers = releases
    # The host's check and an independent one (openssl) agree that the pointer is signed.
    sys.path.insert(0, str(project))
    try:
        from tools import release, signing

        n = signing.public_key(project / "release-key.pub")
        p = json.loads(pointers["2.0"])
        text = release.signed_text(p["board"], p["version"], p["serial"], p["manifest"])
        assert signing.verify(text, p["sig"], n)
        assert not signing.verify(text.replace(b"2.0", b"2.1"), p["sig"], n)
    finally:
        sys.path.pop(0)
        for name in [m for m in sys.modules if m == "tools" or m.startswith("tools.")]:
            del sys.modules[name]
    assert [json.loads(pointers[v])["serial"] for v in ("1.0", "2.0", "3.0")] == [1, 2, 3]
    manifest = project / "dist" / "ota" / BOARD / "2.0" / "manifest.json"
    assert hashlib.sha256(manifest.read_bytes()).hexdigest() == p["manifest"]
    m = json.loads(manifest.read_text())
    assert m["version"] == "2.0" and m["board"] == BOARD and m["mpy"][0] == 6
    for f in m["files"]:
        data = (files_of(project, "2.0") / f["path"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (f["size"], f["sha256"])
    assert "lib/runtime/otakey.mpy" in {f["path"] for f in m["files"]}  # the key travels in the build
    assert (project / ".release-key.pem").stat().st_mode & 0o077 == 0
    if shutil.which("openssl"):  # the key and the signature are standard ones
        work = project / "openssl"
        work.mkdir(exist_ok=True)
        (work / "sig").write_bytes(bytes.fromhex(p["sig"]))
        (work / "msg").write_bytes(text)
        for cmd in (["rsa", "-in", str(project / ".release-key.pem"), "-check", "-pubout", "-out", str(work / "pub")],
                    ["dgst", "-sha256", "-verify", str(work / "pub"), "-signature", str(work / "sig"),
                     str(work / "msg")]):
            out = subprocess.run(check=False, args=["openssl", *cmd], capture_output=True, text=True)
            assert out.returncode == 0, out.stdout + out.stderr
    # A version is never rewritten with other files.
    bad = subprocess.run(check=False, args=[sys.executable, "-m", "tools", "release", "--version", "2.0"], cwd=project,
                         env=tools_env(), capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "already released with other files" in bad.stderr


def updated_to_2(project, serve, url, tmp_path, ticks):
    """A board on 1.0 with 2.0 served at url runs `ticks` ticks: it installs 2.0 and runs it."""
    serve("2.0")
    flash = flash_with(project, "1.0", url, tmp_path)
    code, out = run(project, flash, ticks)
    assert code == 0, out
    assert "ota: installed 2.0 (release 2)" in out and "app 2.0: hello" in out, out
    assert firmware(flash) == firmware(files_of(project, "2.0"))
    return flash, out


def test_update_then_a_crashing_version_is_rolled_back_and_not_retried(releases, served, tmp_path):
    project, _ = releases
    serve, url = served
    flash, out = updated_to_2(project, serve, url, tmp_path, 12)
    assert "2.0 runs stably" in out and "trial" not in state(flash)

    serve("3.0")
    code, out = run(project, flash, 12)
    assert code == 0, out
    assert "3.0 is broken" in out and "rolled back 3.0 (release 3) to 2.0" in out, out
    assert firmware(flash) == firmware(files_of(project, "2.0"))
    assert state(flash)["bad"] == [3] and state(flash)["version"] == "2.0"
    code, out = run(project, flash, 12)  # 3.0 is still the latest: never tried again
    assert code == 0 and "3.0 (release 3) found" not in out and "app 2.0: hello" in out, out
    assert firmware(flash) == firmware(files_of(project, "2.0"))


def tamper_file(here):
    f = here / "2.0" / "files" / "app.mpy"
    data = f.read_bytes()
    f.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit, same size


def tamper_length(here):
    f = here / "2.0" / "files" / "app.mpy"
    f.write_bytes(f.read_bytes() + b"\0" * 100000)  # more than the manifest says: refused as it arrives


def tamper_manifest(here):
    m = here / "2.0" / "manifest.json"
    data = json.loads(m.read_text())
    data["files"][0]["sha256"] = "0" * 64
    m.write_text(json.dumps(data))


def tamper_signature(here):
    p = json.loads((here / "latest.json").read_text())
    p["sig"] = ("%x" % (int(p["sig"], 16) ^ 1)).rjust(len(p["sig"]), "0")
    (here / "latest.json").write_text(json.dumps(p))


def unsigned(here):
    p = json.loads((here / "latest.json").read_text())
    del p["sig"]
    (here / "latest.json").write_text(json.dumps(p))


def replayed_serial(here):
    # A replayed pointer cannot claim a higher number: changing it breaks the signature.
    p = json.loads((here / "latest.json").read_text())
    p["serial"] = 99
    (here / "latest.json").write_text(json.dumps(p))


@pytest.mark.parametrize(("damage", "said"), [
    (tamper_file, "app.mpy of 2.0 does not match the manifest, release refused"),
    (tamper_length, "2.0/files/app.mpy is longer than the manifest says, release refused"),
    (tamper_manifest, "manifest of 2.0 does not match its signature, release refused"),
    (tamper_signature, "latest.json: bad signature, release refused"),
    (unsigned, "latest.json: bad signature, release refused"),
    (replayed_serial, "latest.json: bad signature, release refused"),
])
def test_a_tampered_release_is_refused(releases, served, tmp_path, damage, said):
    project, _ = releases
    serve, url = served
    damage(serve("2.0"))
    flash = flash_with(project, "1.0", url, tmp_path)
    code, out = run(project, flash, 3)
    assert code == 0, out
    assert f"WARNING ota: {said}" in out, out
    assert "app: hello" in out and "app 2.0" not in out
    assert firmware(flash) == firmware(files_of(project, "1.0"))
    assert not (flash / ".ota" / "new").exists()


def test_an_older_release_is_never_installed(releases, served, tmp_path):
    project, _ = releases
    serve, url = served
    serve("2.0")
    flash = flash_with(project, "1.0", url, tmp_path)
    assert run(project, flash, 12)[0] == 0 and state(flash)["version"] == "2.0"
    serve("1.0")  # the signed pointer of release 1, replayed
    code, out = run(project, flash, 3)
    assert code == 0 and "found" not in out and "app 2.0: hello" in out, out
    assert firmware(flash) == firmware(files_of(project, "2.0"))


def test_a_full_flash_refuses_the_update_and_runs_on(releases, served, tmp_path):
    project, _ = releases
    serve, url = served
    serve("2.0")
    flash = flash_with(project, "1.0", url, tmp_path)
    blocks = sum(-(-p.stat().st_size // 4096) if p.is_file() else 2 for p in flash.rglob("*")) + 2
    code, out = run(project, flash, 3, MPSIM_FS_BYTES=str((blocks + 2) * 4096), MPSIM_FS_BLOCK="4096")
    assert code == 0, out
    assert "bytes of flash" in out and "update refused" in out, out
    assert "app: hello" in out and firmware(flash) == firmware(files_of(project, "1.0"))


CUT = """
import sys, simos
_n = [%d]
def _cut():
    _n[0] -= 1
    if _n[0] < 0:
        print("cut: power lost")
        sys.exit(9)
def _wrap(f):
    def g(*a):
        _cut()
        return f(*a)
    return g
simos.rename, simos.remove, simos.mkdir = _wrap(simos.rename), _wrap(simos.remove), _wrap(simos.mkdir)
sys.modules["os"] = simos
import simboot
"""


def test_a_reset_at_any_step_of_the_switch_boots_a_whole_version(releases, served, tmp_path):
    """Seed KILL_SEED, KILL_POINTS cuts: 1.0 with 2.0 staged (ota_install "boot"), then the boot
    that switches loses power after k file-system steps, and the boot after that after j more
    (k covers every step of the switch, j drawn from the seed); a last boot runs to its end. The
    flash then holds all of 1.0 or all of 2.0, and the version that runs is the one recorded."""
    project, _ = releases
    serve, url = served
    serve("2.0")
    staged = flash_with(project, "1.0", url, tmp_path / "staged", install="boot")
    code, out = run(project, staged, 3)
    assert code == 0 and "2.0 staged" in out, out
    v1, v2 = firmware(files_of(project, "1.0")), firmware(files_of(project, "2.0"))
    assert firmware(staged) == v1
    # Count the steps of a whole switch, so the cuts cover all of them.
    probe = tmp_path / "probe"
    shutil.copytree(staged, probe)
    steps = 0
    while run(project, probe, 1, script=CUT % steps, boots=1)[0] == 9:
        shutil.rmtree(probe)
        shutil.copytree(staged, probe)
        steps += 1
    assert steps >= 30, f"the switch has only {steps} steps: the fault test needs at least 30 points"
    rng = random.Random(KILL_SEED)
    points = list(range(steps)) + [rng.randrange(steps) for _ in range(max(0, KILL_POINTS - steps))]
    for k in points:
        flash = tmp_path / f"cut{k}"
        shutil.rmtree(flash, ignore_errors=True)
        shutil.copytree(staged, flash)
        assert run(project, flash, 1, script=CUT % k, boots=1)[0] == 9
        j = rng.randrange(steps)
        run(project, flash, 1, script=CUT % j, boots=1)  # a second cut, in the repair if there is one
        code, out = run(project, flash, 12)
        assert code == 0, f"cut after {k} then {j} steps (seed {KILL_SEED}): {out}"
        now = firmware(flash)
        assert now in (v1, v2), f"cut after {k} then {j} steps (seed {KILL_SEED}): a mix of versions"
        assert ("app 2.0: hello" in out) == (now == v2), out
        if now == v2:
            assert state(flash)["version"] == "2.0"


def test_release_says_what_is_wrong(releases, tmp_path):
    project, _ = releases

    def release(*args):
        return subprocess.run(check=False, args=[sys.executable, "-m", "tools", "release", *args], cwd=project,
                              env=tools_env(), capture_output=True, text=True, timeout=300)

    out = release("--version", "1.0 beta")
    assert out.returncode == 1 and "version '1.0 beta' is not usable" in out.stderr, out.stderr
    out = release("--point", "9.9")
    assert out.returncode == 1 and "9.9 was never released for rp2_pico_w" in out.stderr, out.stderr
    out = release("--point", "2.0", "--version", "2.0")
    assert out.returncode == 2, out.stderr
    # --point: 2.0 again under a new release number (a fleet's way back), without a build
    pointer = project / "dist" / "ota" / BOARD / "latest.json"
    before = json.loads(pointer.read_text())
    out = release("--point", "2.0")
    assert out.returncode == 0, out.stderr
    after = json.loads(pointer.read_text())
    assert (after["version"], after["serial"]) == ("2.0", before["serial"] + 1) and after["sig"] != before["sig"]
    pointer.write_text(json.dumps(before))  # as the other tests expect it


@pytest.mark.parametrize(("setting", "problem"), [
    ({"ota_url": "ftp://updates.lan/ota/"}, "ota_url should start with http:// or https://, or be empty"),
    ({"ota_url": "updates.lan/ota/"}, "ota_url should start with http:// or https://, or be empty"),
    ({"ota_url": 5}, "ota_url should be str"),
    ({"ota_check_ms": 1000}, "ota_check_ms should be int from 60000 to 536870911"),
    ({"ota_install": "later"}, "ota_install should be one of now, boot"),
    ({"ota_url": "http://updates.lan/ota/", "ota_install": "boot", "ota_check_ms": 60000}, None),
    ({"ota_url": "https://updates.lan/ota/", "ota_install": "boot"}, None),
])
def test_the_ota_settings_are_checked(releases, setting, problem):
    """The one validator (runtime/config), run by the host tools as by the board."""
    project, _ = releases
    sys.path.insert(0, str(project / "device" / "lib"))
    try:
        from runtime import config

        defaults = json.loads((project / "config.example.json").read_text())
        conf, said = config.check(dict(setting, wifi_ssid="lab"), defaults, ("wifi_ssid",))
    finally:
        sys.path.pop(0)
        for name in [m for m in sys.modules if m == "runtime" or m.startswith("runtime.")]:
            del sys.modules[name]
    if problem is None:
        assert said is None and conf["ota_install"] == "boot", said
    else:
        assert conf is None and problem in said, said


def test_an_update_over_https(releases, served, tls_host, tmp_path):
    project, _ = releases
    serve, _ = served
    updated_to_2(project, serve, tls_host, tmp_path, 3)
