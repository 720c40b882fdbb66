"""What a release publishes agrees with itself: one version for every distribution, exact
pins between them, the NumPy floor that CI tests, and the files each distribution must carry.

The release workflow is .github/workflows/release.yml; `python3 dev.py version NEW` is the
one way to change the version.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
FOLDERS = [ROOT, *sorted(path.parent for path in (ROOT / "packages").glob("*/pyproject.toml"))]
VERSION_ATTRIBUTE = ROOT / "packages/minidiff-core/src/minidiff/__init__.py"


def _load_dev():
    spec = importlib.util.spec_from_file_location("minidiff_dev_script", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _project(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text())["project"]


def _requirements(project: dict) -> list[Requirement]:
    texts = [*project.get("dependencies", [])]
    for extra in project.get("optional-dependencies", {}).values():
        texts += extra
    return [Requirement(text) for text in texts]


def _version_attribute(path: Path) -> str:
    return re.search(r'(?m)^__version__ = "([^"]+)"$', path.read_text()).group(1)


def test_dev_py_builds_and_sets_up_the_same_distributions():
    assert {ROOT / folder for folder in _load_dev().DISTRIBUTIONS} == set(FOLDERS)


def test_every_distribution_has_the_release_version():
    version = _load_dev().version()
    assert {folder.name: _project(folder)["version"] for folder in FOLDERS} == {folder.name: version for folder in FOLDERS}
    assert _version_attribute(VERSION_ATTRIBUTE) == version  # minidiff.__version__


def test_distributions_pin_each_other_exactly():
    version = _load_dev().version()
    pins = [(folder.name, req) for folder in FOLDERS for req in _requirements(_project(folder))
            if req.name.startswith("minidiff-")]
    assert len(pins) >= 11  # numpy, linalg, cupy, mlx, dask on the core; the meta-distribution on all
    for folder, req in pins:
        assert str(req.specifier) == f"=={version}", f"{folder}: {req} is not pinned to =={version}"


def test_set_version_rewrites_every_version_pin_and_version_attribute(tmp_path, monkeypatch):
    dev = _load_dev()
    for folder in FOLDERS:
        target = tmp_path / folder.relative_to(ROOT) / "pyproject.toml"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(folder / "pyproject.toml", target)
    attribute = tmp_path / VERSION_ATTRIBUTE.relative_to(ROOT)
    attribute.parent.mkdir(parents=True)
    shutil.copy(VERSION_ATTRIBUTE, attribute)
    monkeypatch.setattr(dev, "ROOT", tmp_path)
    monkeypatch.setattr(dev, "VERSION_ATTRIBUTE", attribute)

    dev.set_version("12.3.4rc1")

    assert dev.version() == "12.3.4rc1"
    assert _version_attribute(attribute) == "12.3.4rc1"
    for folder in FOLDERS:
        before, after = _project(folder), _project(tmp_path / folder.relative_to(ROOT))
        assert after["version"] == "12.3.4rc1"
        for old, new in zip(_requirements(before), _requirements(after), strict=True):
            if old.name.startswith("minidiff-"):
                assert (new.name, new.extras, str(new.specifier)) == (old.name, old.extras, "==12.3.4rc1")
            else:  # numpy, mlx, cupy, pluggy, pytest: untouched
                assert str(new) == str(old)


def test_declared_numpy_floor_is_the_one_the_workflow_tests():
    floor = re.search(r'(?m)^\s+NUMPY_FLOOR:\s*"([^"]+)"', WORKFLOW.read_text())
    assert floor, f"{WORKFLOW.name} sets no NUMPY_FLOOR"
    for folder in FOLDERS[1:]:  # the meta-distribution takes NumPy from the core
        numpy = [req for req in _requirements(_project(folder)) if req.name == "numpy"]
        assert len(numpy) == 1, f"{folder.name} does not declare its NumPy floor"
        (spec,) = numpy[0].specifier
        assert spec.operator == ">=" and Version(spec.version) == Version(floor.group(1)), (
            f"{folder.name} says numpy{spec}; the numpy-floor job tests {floor.group(1)}"
        )


def test_workflow_publishes_only_tagged_tested_wheels_by_trusted_publishing():
    text = WORKFLOW.read_text()
    publish = text[text.index("\n  publish:"):]
    assert "if: startsWith(github.ref, 'refs/tags/v')" in publish
    assert re.search(r"needs: \[wheels, test, numpy-floor\]", publish)
    assert "id-token: write" in publish and "pypa/gh-action-pypi-publish@" in publish
    assert "password" not in publish and "secrets." not in text  # trusted publishing needs no token
    assert 'test "v$version" = "$GITHUB_REF_NAME"' in text  # the tag names the version it publishes
    assert "python3 dev.py wheels" in text and re.search(r"os: \[ubuntu-latest, macos-latest\]", text)


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_distribution_carries_readme_license_and_metadata(folder):
    project = _project(folder)
    build = tomllib.loads((folder / "pyproject.toml").read_text())["build-system"]
    assert len((folder / project["readme"]).read_text()) > 300, "the README is the page PyPI shows"
    license_text = (folder / "LICENSE").read_text()
    assert license_text.startswith("MIT License") and "minidiff contributors" in license_text
    assert (project["license"], project["license-files"]) == ("MIT", ["LICENSE"])
    # SPDX license expressions need setuptools 77; a "License ::" classifier next to one is an error
    assert build["requires"] == ["setuptools>=77"]
    assert not any(c.startswith("License ::") for c in project["classifiers"])
    assert "Typing :: Typed" in project["classifiers"]
    assert {"Homepage", "Source", "Issues", "Documentation"} <= set(project["urls"])
    tested = set(re.search(r'python: \[([^\]]+)\]', WORKFLOW.read_text()).group(1).replace('"', "").split(", "))
    claimed = {c.rsplit(" :: ", 1)[1] for c in project["classifiers"] if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)}
    assert claimed == tested, "the Python versions claimed are the ones CI tests"
    assert Version(min(claimed, key=Version)) == Version(project["requires-python"].removeprefix(">="))


@pytest.mark.parametrize("folder", FOLDERS[1:], ids=lambda folder: folder.name)
def test_package_readmes_link_absolutely(folder):
    # the README is the distribution's PyPI page, where a link relative to the repository breaks
    relative = re.findall(r"\]\((?!https?://|#)([^)]+)\)", (folder / "README.md").read_text())
    assert not relative, f"{folder.name}/README.md links {relative}"


@pytest.mark.parametrize("folder", FOLDERS[1:], ids=lambda folder: folder.name)
def test_every_import_package_is_marked_typed(folder):
    packages = [init.parent for init in (folder / "src").glob("*/__init__.py")]
    assert packages
    for package in packages:
        assert (package / "py.typed").is_file(), f"{package.name} has no py.typed"
