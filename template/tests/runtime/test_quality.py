"""Quality gates, as pre-commit and CI run them: ruff on all code, the type checker on device/."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tools import build  # noqa: E402
from tools.project import BOARDS  # noqa: E402


def run(*args):
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_passes():
    out = run("ruff", "check", ".")
    assert out.returncode == 0, out.stdout + out.stderr


def test_type_checker_passes_on_device():
    out = run("tools", "typecheck")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr
    assert "0 errors" in out.stdout


@pytest.mark.parametrize("name", ["target", "schema"])
def test_generated_module_stubs_declare_what_build_writes(name):
    # device/lib/runtime/<name>.pyi stands in for the module that `tools build` generates.
    stub = ast.parse((ROOT / f"device/lib/runtime/{name}.pyi").read_text())
    declared = {node.target.id for node in stub.body if isinstance(node, ast.AnnAssign)}
    for board in BOARDS:
        source = getattr(build, f"{name}_source")(board)
        written = {node.targets[0].id for node in ast.parse(source).body}
        assert declared == written, f"{board}: stub lacks {written - declared}, has extra {declared - written}"


def test_pre_commit_config_is_valid():
    out = run("pre_commit", "validate-config", ".pre-commit-config.yaml")
    assert out.returncode == 0, out.stdout + out.stderr
