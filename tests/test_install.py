"""Installing minidiff for use, as the README says: build the wheelhouse (`dev.py wheels`),
then, in a fresh virtual environment, non-editable installs from it of `minidiff`,
`minidiff[linalg]`, `minidiff[mlx]`, `minidiff[dask]` and `minidiff[test]`, one after the other; `minidiff[all]`
is resolved without installing (CuPy needs a GPU to be of use). Then the tour and
`minidiff check numpy` run in that environment.

Slow (about a minute): one wheelhouse and one environment serve the whole module. Besides the
wheelhouse, pip needs a package index for numpy, pluggy, mlx, dask, pytest and setuptools: PyPI or
the local indexes pip is configured with. When pip cannot reach one the tests are skipped
with pip's error; every other failure fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest
from fresh_env import check_pip, clean_environment

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
MLX_PLATFORMS = ("linux", "darwin")  # MLX publishes wheels for these only

def _load_dev():
    spec = importlib.util.spec_from_file_location("minidiff_dev_script", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DEV = _load_dev()
VERSION = DEV.version()


@dataclass
class UserEnvironment:
    """A fresh venv with minidiff installed from the wheelhouse, and what each step installed."""

    venv: Path
    wheelhouse: Path
    installed: dict[str, dict[str, str]] = field(default_factory=dict)  # requirement -> {name: download URL}
    check_without_pytest: subprocess.CompletedProcess[str] | None = None

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a command of the venv, outside the repository so nothing of the checkout is importable."""
        bin_dir = self.venv / ("Scripts" if os.name == "nt" else "bin")
        environment = {**clean_environment(), "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
        return subprocess.run(
            [str(bin_dir / args[0]), *args[1:]], capture_output=True, text=True, timeout=600, env=environment,
            cwd=self.venv.parent,
        )

    def pip_install(self, requirement: str, *options: str) -> dict[str, str]:
        """`pip install --find-links WHEELHOUSE requirement`: what pip installed (or, with
        --dry-run, would install), name -> where it came from."""
        report = self.venv.parent / "pip-report.json"
        result = self.run(
            "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--retries", "2",
            "--find-links", str(self.wheelhouse), "--report", str(report), *options, requirement,
        )
        check_pip(result, f"install {requirement}")
        return {
            item["metadata"]["name"].lower(): item["download_info"]["url"]
            for item in json.loads(report.read_text())["install"]
        }


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's first step: every distribution's wheel, built by `dev.py wheels`."""
    dest = tmp_path_factory.mktemp("wheelhouse")
    DEV.wheels(dest, python=sys.executable)
    return dest


@pytest.fixture(scope="module")
def user(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> UserEnvironment:
    """A fresh venv that installs `minidiff`, then each extra, from the wheelhouse."""
    base = tmp_path_factory.mktemp("user")
    env = UserEnvironment(venv=base / "venv", wheelhouse=wheelhouse)
    subprocess.run([sys.executable, "-m", "venv", str(env.venv)], check=True, timeout=300, env=clean_environment())
    env.installed["minidiff"] = env.pip_install("minidiff")
    env.check_without_pytest = env.run("minidiff", "check", "numpy")
    extras = ["linalg", *(["mlx"] if sys.platform in MLX_PLATFORMS else []), "dask", "test"]
    for extra in extras:
        env.installed[f"minidiff[{extra}]"] = env.pip_install(f"minidiff[{extra}]")
    return env


def _metadata(wheel: Path) -> tuple[dict[str, list[str]], str, list[str]]:
    """A wheel's METADATA headers (name -> values), its description, and its file list."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        text = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    head, _, description = text.partition("\n\n")
    headers: dict[str, list[str]] = {}
    for line in head.splitlines():
        key, _, value = line.partition(": ")
        headers.setdefault(key, []).append(value)
    return headers, description, names


def test_the_wheelhouse_holds_one_wheel_per_distribution_at_the_release_version(wheelhouse):
    wheels = {wheel.name for wheel in wheelhouse.glob("*.whl")}
    expected = {
        "minidiff", "minidiff_core", "minidiff_numpy", "minidiff_cupy", "minidiff_mlx", "minidiff_ops_linalg", "minidiff_dask",
    }
    assert wheels == {f"{name}-{VERSION}-py3-none-any.whl" for name in expected}


def test_each_wheel_carries_its_readme_license_spdx_expression_and_py_typed(wheelhouse):
    for wheel in wheelhouse.glob("*.whl"):
        headers, description, names = _metadata(wheel)
        assert headers["Metadata-Version"] == ["2.4"], wheel.name
        assert headers["License-Expression"] == ["MIT"], wheel.name
        assert "License" not in headers, f"{wheel.name}: the deprecated License field is set"
        assert len(description) > 300 and headers["Description-Content-Type"] == ["text/markdown"], wheel.name
        assert "Typing :: Typed" in headers["Classifier"] and len(headers["Project-URL"]) >= 3, wheel.name
        licenses = [n for n in names if re.fullmatch(r"[^/]+\.dist-info/licenses/LICENSE", n)]
        assert licenses, f"{wheel.name} has no LICENSE"
        with zipfile.ZipFile(wheel) as archive:
            assert "minidiff contributors" in archive.read(licenses[0]).decode()
        packages = {n.split("/")[0] for n in names if n.endswith("/__init__.py") and n.count("/") == 1}
        assert all(f"{package}/py.typed" in names for package in packages), wheel.name
        assert bool(packages) == (not wheel.name.startswith(f"minidiff-{VERSION}")), wheel.name  # the meta: no code


def _from_wheelhouse(env: UserEnvironment, step: str) -> set[str]:
    """The minidiff distributions a step installed, each checked to come from the wheelhouse."""
    ours = {name: url for name, url in env.installed[step].items() if name.startswith("minidiff")}
    for name, url in ours.items():
        parts = urlsplit(url)
        assert parts.scheme == "file", (name, url)
        assert Path(url2pathname(parts.path)).resolve().parent == env.wheelhouse.resolve(), (name, url)
    return set(ours)


def test_minidiff_brings_the_core_and_the_numpy_backend(user):
    assert _from_wheelhouse(user, "minidiff") == {"minidiff", "minidiff-core", "minidiff-numpy"}
    assert set(user.installed["minidiff"]) - {"minidiff", "minidiff-core", "minidiff-numpy"} == {"numpy", "pluggy"}


def test_each_extra_adds_its_distributions(user):
    assert _from_wheelhouse(user, "minidiff[linalg]") == {"minidiff-ops-linalg"}
    assert set(user.installed["minidiff[linalg]"]) == {"minidiff-ops-linalg"}
    if sys.platform in MLX_PLATFORMS:
        assert _from_wheelhouse(user, "minidiff[mlx]") == {"minidiff-mlx"}
        assert {"mlx", *(["mlx-cpu"] if sys.platform == "linux" else [])} <= set(user.installed["minidiff[mlx]"])
    assert _from_wheelhouse(user, "minidiff[dask]") == {"minidiff-dask"}
    assert {"dask", "distributed"} <= set(user.installed["minidiff[dask]"])
    assert _from_wheelhouse(user, "minidiff[test]") == set()
    assert "pytest" in user.installed["minidiff[test]"]


def test_all_resolves_to_every_distribution_and_cuda_12s_cupy(user):
    # --ignore-installed: everything [all] brings, as in an empty environment
    would_install = user.installed["minidiff[all] --dry-run"] = user.pip_install(
        "minidiff[all]", "--dry-run", "--ignore-installed"
    )
    everything = {
        "minidiff", "minidiff-core", "minidiff-numpy", "minidiff-cupy", "minidiff-mlx", "minidiff-ops-linalg", "minidiff-dask",
    }
    assert _from_wheelhouse(user, "minidiff[all] --dry-run") == everything
    assert ("cupy-cuda12x" in would_install) == (sys.platform in ("linux", "win32"))
    assert ("mlx" in would_install) == (sys.platform in MLX_PLATFORMS)


def test_the_environment_imports_installed_copies_not_the_checkout(user):
    modules = [
        "minidiff", "minidiff_numpy", "minidiff_ops_linalg", "minidiff_dask",
        *(["minidiff_mlx"] if sys.platform in MLX_PLATFORMS else []),
    ]
    result = user.run("python", "-c", f"import {', '.join(modules)}; print({', '.join(m + '.__file__' for m in modules)})")
    assert result.returncode == 0, result.stderr
    for path in result.stdout.split():
        assert Path(path).resolve().is_relative_to(user.venv.resolve()), f"imported from outside the venv: {path}"
    editable = user.run("python", "-m", "pip", "list", "--editable", "--format", "json", "--disable-pip-version-check")
    assert json.loads(editable.stdout) == []


def test_check_without_pytest_names_the_install_command(user):
    result = user.check_without_pytest
    assert result.returncode == 2, result.stdout + result.stderr
    assert 'pip install "minidiff[test]"' in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_the_tour_runs(user):
    result = user.run("python", str(ROOT / "examples" / "tour.py"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "df/dx = 2*y*cos(x) - 2*x" in result.stdout and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "backend",
    [
        "numpy",
        pytest.param(
            "mlx", marks=pytest.mark.skipif(sys.platform not in MLX_PLATFORMS, reason="MLX has no wheels for this platform")
        ),
    ],
)
def test_minidiff_check_passes_on_the_installed_backends(user, backend):
    # the backend's expected failures ship in its distribution, so a correct install passes
    result = user.run("minidiff", "check", backend)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = re.search(rf"minidiff check {backend}: (\d+) ops, (\d+) checks passed, (\d+) failed", result.stdout)
    assert summary, result.stdout
    ops, passed, failed = map(int, summary.groups())
    assert ops > 100 and passed > 10 * ops and failed == 0, result.stdout


def test_minidiff_info_lists_what_was_installed(user):
    result = user.run("minidiff", "info")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^\s+numpy\s+usable\b", result.stdout, re.M), result.stdout
    assert f"minidiff-ops-linalg {VERSION}" in result.stdout, result.stdout
    if sys.platform in MLX_PLATFORMS:
        assert re.search(r"^\s+mlx\s+usable\b", result.stdout, re.M), result.stdout
    assert re.search(r"^\s+dask\s+usable\b", result.stdout, re.M), result.stdout
    assert "Plugins that failed to load: none" in result.stdout
