"""The `minidiff` meta-distribution's extras resolve to the right distributions.

Checked twice: in the root pyproject.toml as written, and in the metadata pip installed for
`minidiff` (importlib.metadata), which must agree with it. Each `minidiff-*` requirement
must name a distribution of packages/ at a version it accepts.
"""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRAS = ("cuda", "mlx", "linalg", "test", "all")
LINUX = {"sys_platform": "linux", "platform_system": "Linux"}
MACOS = {"sys_platform": "darwin", "platform_system": "Darwin"}


def _distributions() -> dict[str, str]:
    """The distributions of packages/: name -> version."""
    found = {}
    for pyproject in (ROOT / "packages").glob("*/pyproject.toml"):
        project = tomllib.loads(pyproject.read_text())["project"]
        found[project["name"]] = project["version"]
    return found


DISTRIBUTIONS = _distributions()


def resolve(requirements: list[Requirement], extra: str | None, platform: dict[str, str]) -> dict[str, Requirement]:
    """What installing `minidiff[extra]` brings on `platform`, following `minidiff[...]`
    self-references: requirement name -> requirement."""
    wanted, seen, pending = {}, set(), [None, extra]  # the base requirements, then the extra's
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for req in requirements:
            environment = {**platform, "extra": current or ""}
            if req.marker is not None and not req.marker.evaluate(environment):
                continue
            if req.marker is None and current is not None:
                continue  # the base requirements are found with extra None
            if req.name == "minidiff":
                pending.extend(req.extras)
            elif req.name in wanted:  # e.g. minidiff-core, and minidiff-core[test] from an extra
                both = wanted[req.name]
                extras = f"[{','.join(sorted(both.extras | req.extras))}]" if both.extras | req.extras else ""
                wanted[req.name] = Requirement(f"{req.name}{extras}{both.specifier & req.specifier}")
            else:
                wanted[req.name] = req
    return wanted


def declared() -> list[Requirement]:
    project = PYPROJECT["project"]
    requirements = [Requirement(text) for text in project["dependencies"]]
    for extra, texts in project["optional-dependencies"].items():
        for text in texts:
            req = Requirement(text)
            marker = f'({req.marker}) and extra == "{extra}"' if req.marker else f'extra == "{extra}"'
            requirements.append(Requirement(f"{str(req).split(';')[0]}; {marker}"))
    return requirements


def installed() -> list[Requirement]:
    try:
        return [Requirement(text) for text in requires("minidiff") or []]
    except PackageNotFoundError:
        pytest.skip("the minidiff meta-distribution is not installed (python3 dev.py setup installs it)")


def names(resolved: dict[str, Requirement]) -> dict[str, str]:
    """Requirement name -> its extras and version specifier, as text."""
    return {name: f"{sorted(req.extras)} {req.specifier}" for name, req in resolved.items()}


EXPECTED_LINUX = {
    None: {"minidiff-core", "minidiff-numpy"},
    "cuda": {"minidiff-core", "minidiff-numpy", "minidiff-cupy", "cupy-cuda12x"},
    "mlx": {"minidiff-core", "minidiff-numpy", "minidiff-mlx", "mlx"},
    "linalg": {"minidiff-core", "minidiff-numpy", "minidiff-ops-linalg"},
    "dask": {"minidiff-core", "minidiff-numpy", "minidiff-dask", "dask"},
    "test": {"minidiff-core", "minidiff-numpy"},  # minidiff-core[test]: checked below
    "all": {
        "minidiff-core", "minidiff-numpy", "minidiff-cupy", "cupy-cuda12x", "minidiff-mlx", "mlx", "minidiff-ops-linalg",
        "minidiff-dask", "dask",
    },
}
# CuPy has no macOS wheels: there the cuda extra brings minidiff-cupy alone (reporting the
# backend unusable), so that `minidiff[all]` still installs.
EXPECTED_MACOS = {extra: wanted - {"cupy-cuda12x"} for extra, wanted in EXPECTED_LINUX.items()}


@pytest.mark.parametrize("extra", [None, *EXTRAS])
def test_extras_declared_in_pyproject_resolve_to_the_right_distributions(extra):
    assert set(resolve(declared(), extra, LINUX)) == EXPECTED_LINUX[extra]
    assert set(resolve(declared(), extra, MACOS)) == EXPECTED_MACOS[extra]


@pytest.mark.parametrize("extra", [None, *EXTRAS])
def test_installed_metadata_agrees_with_pyproject(extra):
    for platform in (LINUX, MACOS):
        assert names(resolve(installed(), extra, platform)) == names(resolve(declared(), extra, platform))


def test_mlx_extra_brings_the_cpu_build_on_linux_only():
    for requirements in (declared(), installed()):
        assert resolve(requirements, "mlx", LINUX)["mlx"].extras == {"cpu"}
        assert resolve(requirements, "mlx", MACOS)["mlx"].extras == set()
        assert "mlx" not in resolve(requirements, "mlx", {"sys_platform": "win32", "platform_system": "Windows"})


def test_test_extra_brings_the_kits_runner_through_the_core():
    core = tomllib.loads((ROOT / "packages/minidiff-core/pyproject.toml").read_text())["project"]
    assert {Requirement(text).name for text in core["optional-dependencies"]["test"]} == {"pytest"}
    assert not any(Requirement(text).name == "pytest" for text in core["dependencies"])
    assert resolve(declared(), "test", LINUX)["minidiff-core"].extras == {"test"}
    assert "test" not in resolve(declared(), None, LINUX)["minidiff-core"].extras


def test_cuda_extra_brings_the_cuda_12_wheel_and_the_cupy_distribution_none():
    assert resolve(declared(), "cuda", LINUX)["cupy-cuda12x"].specifier.contains("13.0.0")
    cupy_dist = tomllib.loads((ROOT / "packages/minidiff-cupy/pyproject.toml").read_text())["project"]
    # minidiff-cupy must install without a GPU: CuPy comes from an extra, never by default
    assert not any(Requirement(text).name.startswith("cupy") for text in cupy_dist["dependencies"])
    assert {Requirement(t).name for t in cupy_dist["optional-dependencies"]["cuda13"]} == {"cupy-cuda13x"}


def test_minidiff_mlx_itself_depends_on_mlx_so_a_fresh_clone_gets_it():
    mlx_dist = tomllib.loads((ROOT / "packages/minidiff-mlx/pyproject.toml").read_text())["project"]
    requirements = [Requirement(text) for text in mlx_dist["dependencies"]]
    on_linux = [r for r in requirements if r.name == "mlx" and r.marker.evaluate(LINUX)]
    assert len(on_linux) == 1 and on_linux[0].extras == {"cpu"}


@pytest.mark.parametrize("extra", [None, *EXTRAS])
def test_minidiff_requirements_name_distributions_of_this_repository(extra):
    for name, req in resolve(declared(), extra, LINUX).items():
        if name.startswith("minidiff-"):
            assert name in DISTRIBUTIONS, f"{name} is not a distribution of packages/"
            assert req.specifier.contains(DISTRIBUTIONS[name]), f"{req} does not accept {name} {DISTRIBUTIONS[name]}"


def test_dev_setup_installs_every_distribution():
    import ast

    tree = ast.parse((ROOT / "dev.py").read_text())
    listed = next(
        ast.literal_eval(node.value) for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DISTRIBUTIONS"
    )
    assert {f"packages/{path.parent.name}" for path in (ROOT / "packages").glob("*/pyproject.toml")} <= set(listed)
