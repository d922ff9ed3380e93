"""The README's two commands set up a fresh machine: the first installs what the tests need."""
import re
import subprocess

from conftest import ROOT

SCRIPT = ROOT / "scripts" / "install-browser"


def readme_commands():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Set up"):text.index("## Questions")]
    return re.findall(r"^    (\S.*)$", section, re.M)


def test_the_first_command_installs_the_browser_and_ci_runs_the_same_steps():
    setup, test = readme_commands()[:2]
    assert setup.endswith("&& sh scripts/install-browser"), setup
    ci = (ROOT / ".ci" / "run").read_text()
    assert "\nsh scripts/install-browser\n" in ci
    assert ci.rstrip().endswith(test), "the last line of .ci/run is not the README's test command"


def fake_bin(where, *names, body='echo "${0##*/} $*" >> "$LOG"'):
    where.mkdir(parents=True, exist_ok=True)
    for name in names:
        (where / name).write_text(f"#!/bin/sh\n{body}\n")
        (where / name).chmod(0o755)
    return where


def install(tmp_path, *names, uid="1000"):
    bin_ = fake_bin(tmp_path / "bin", *names)
    fake_bin(bin_, "id", body=f"echo {uid}")
    fake_bin(bin_, "sudo", body='echo "sudo $*" >> "$LOG"; exec "$@"')
    log = tmp_path / "log"
    out = subprocess.run(["/bin/sh", str(SCRIPT)], capture_output=True, text=True, timeout=30,
                         env={"PATH": f"{bin_}:/nonexistent", "LOG": str(log)})
    return out, (log.read_text() if log.exists() else "")


def test_with_the_browser_installed_it_does_nothing(tmp_path):
    out, log = install(tmp_path, "chromium", "chromedriver", "apt-get")
    assert out.returncode == 0 and log == "" and out.stderr == ""


def test_on_debian_it_installs_chromium_and_its_driver_through_sudo_unless_root(tmp_path):
    out, log = install(tmp_path, "apt-get")
    assert out.returncode == 0, out.stderr
    assert "sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver" in log
    out, log = install(tmp_path / "root", "apt-get", uid="0")
    assert out.returncode == 0 and "sudo" not in log and "apt-get install" in log, log


def test_elsewhere_it_fails_naming_what_to_install(tmp_path):
    out, log = install(tmp_path)
    assert out.returncode == 1 and log == ""
    assert out.stderr.startswith("error: chromium and chromedriver are missing") and "dnf install" in out.stderr
