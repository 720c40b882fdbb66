"""The third-party op-pack path, as a new user takes it: minidiff's wheels in a wheelhouse
(what `python3 dev.py wheels` builds, here only the two the pack needs), then in a fresh
virtual environment, from the pack's folder, the guide's `pip install --find-links
WHEELHOUSE ".[test]"` (non-editable, as users install), then the pack's own tests and
`minidiff check example` with that environment's Python.

This needs a package index for numpy, pluggy, pytest and setuptools; when pip cannot
reach one the tests are skipped with pip's error, and every other failure fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fresh_env import check_pip, clean_environment

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "minidiff-ops-example"
WHEELS = [ROOT / "packages" / "minidiff-core", ROOT / "packages" / "minidiff-numpy"]  # what the pack's [test] needs
EXAMPLE_OP_COUNT = 3  # softplus, huber, squared_difference

@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with the example pack and its test extra (the NumPy backend, pytest),
    installed from the pack's folder with minidiff's distributions found in a wheelhouse.
    Everything is built from copies of the folders, so nothing is written into the repository."""
    base = tmp_path_factory.mktemp("example_pack")
    ignore = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", ".pytest_cache")
    copies = [shutil.copytree(folder, base / "src" / folder.name, ignore=ignore) for folder in [*WHEELS, EXAMPLE]]
    wheelhouse = base / "dist"
    _pip(sys.executable, "wheel", "--no-deps", "--wheel-dir", str(wheelhouse), *map(str, copies[:-1]), cwd=base)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    # the guide's command, run in the pack's folder; [test] brings the NumPy backend and pytest
    _pip(str(python), "install", "--retries", "2", "--find-links", str(wheelhouse), ".[test]", cwd=copies[-1])
    return venv


def _pip(python: str, command: str, *args: str, cwd: Path) -> None:
    """`python -m pip command ...`; skips the tests when pip cannot reach a package index."""
    result = subprocess.run(
        [python, "-m", "pip", command, "--quiet", "--disable-pip-version-check", *args],
        capture_output=True, text=True, timeout=600, env=clean_environment(), cwd=cwd,
    )
    check_pip(result, command)


def _run(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    environment = {**clean_environment(), "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    # Run outside the repository, so nothing from the workspace is importable by accident.
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]], capture_output=True, text=True, timeout=300, env=environment,
        cwd=venv.parent,
    )


def test_the_fresh_environment_uses_installed_copies_not_the_workspace(fresh_venv: Path) -> None:
    code = "import minidiff, minidiff_ops_example; print(minidiff.__file__); print(minidiff_ops_example.__file__)"
    result = _run(fresh_venv, "python", "-c", code)
    assert result.returncode == 0, result.stderr
    for path in result.stdout.split():
        assert Path(path).resolve().is_relative_to(fresh_venv.resolve()), f"imported from outside the venv: {path}"


def test_the_packs_own_tests_pass(fresh_venv: Path) -> None:
    result = _run(fresh_venv, "python", "-m", "pytest", str(EXAMPLE / "tests"), "-q", "-p", "no:cacheprovider")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b\d+ passed\b", result.stdout), result.stdout
    assert "failed" not in result.stdout, result.stdout


def test_minidiff_check_example_passes_and_counts_the_ops(fresh_venv: Path) -> None:
    result = _run(fresh_venv, "minidiff", "check", "example")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = re.search(r"minidiff check example: (\d+) ops, (\d+) checks passed, (\d+) failed", result.stdout)
    assert summary, result.stdout
    ops, passed, failed = map(int, summary.groups())
    assert (ops, failed) == (EXAMPLE_OP_COUNT, 0), result.stdout
    assert passed > 0 and "FAILED" not in result.stdout


def test_minidiff_info_names_the_pack(fresh_venv: Path) -> None:
    result = _run(fresh_venv, "minidiff", "info")
    assert result.returncode == 0, result.stderr
    assert re.search(rf"^\s+example\s+minidiff-ops-example 0\.1\.0\s+{EXAMPLE_OP_COUNT} ops$", result.stdout, re.M), (
        result.stdout
    )
    assert "Plugins that failed to load: none" in result.stdout


def test_the_example_imports_only_the_public_extension_api() -> None:
    # The guide promises `minidiff.extend` (and `import minidiff as md`) is all a pack needs,
    # `minidiff.testing` in its tests; the example is the proof, so it may import nothing else.
    import ast

    allowed = {"minidiff", "minidiff.extend", "minidiff.testing"}
    for path in sorted(EXAMPLE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )
            for name in names:
                if name.split(".")[0] == "minidiff":
                    assert name in allowed, f"{path.relative_to(ROOT)} imports {name}"
