#!/usr/bin/env python3
"""Set up the minidiff workspace and run something in it.

    python3 dev.py tour      # set up, then run examples/tour.py
    python3 dev.py test      # set up, then run every test of every distribution
    python3 dev.py bench     # set up, then run the benchmarks
    python3 dev.py setup     # only set up
    python3 dev.py wheels    # build every distribution's wheel into dist/ (no setup needed)
    python3 dev.py version   # print the release version; `version 0.2.0` sets it everywhere

Setting up makes `.venv` (with the standard library's venv) and installs every distribution
of packages/ in editable mode, plus the test tools. It needs only Python 3.11+ and network
access to PyPI, and is skipped when nothing it depends on has changed since the last run.

`wheels` builds what a release publishes: then `pip install --find-links dist "minidiff[linalg]"`
installs from those wheels exactly what `pip install "minidiff[linalg]"` will from PyPI.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / "minidiff-setup.sha256"

# Installed in this order, each editable: the core first, then what plugs into it.
DISTRIBUTIONS = [
    "packages/minidiff-core",
    "packages/minidiff-numpy",
    "packages/minidiff-ops-linalg",
    "packages/minidiff-cupy",
    "packages/minidiff-mlx",
    "packages/minidiff-dask",
    ".",
]
DEV_TOOLS = ["pytest>=8", "hypothesis>=6", "numexpr>=2.8"]  # numexpr: md.compile's fusion is tested too
# Extras of the root distribution the workspace installs: tests/test_array_api_libraries.py needs SciPy.
DEV_EXTRAS = "[array-api-libs]"
# What goes into the `minidiff` meta-distribution's wheel: it holds no code, only requirements.
META_FILES = ["pyproject.toml", "README.md", "LICENSE"]


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(repr((sys.version_info[:2], DISTRIBUTIONS, DEV_TOOLS, DEV_EXTRAS)).encode())
    for folder in DISTRIBUTIONS:
        digest.update((ROOT / folder / "pyproject.toml").read_bytes())
    return digest.hexdigest()


def setup() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"minidiff needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    fingerprint = _fingerprint()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    print(f"setting up {VENV.relative_to(ROOT)} ...", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    editable = [arg for folder in DISTRIBUTIONS for arg in ("-e", str(ROOT / folder) + (DEV_EXTRAS if folder == "." else ""))]
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *editable, *DEV_TOOLS],
        check=True,
    )
    STAMP.write_text(fingerprint)


def wheels(dest: Path = ROOT / "dist", python: str | None = None) -> list[Path]:
    """Build the wheel of every distribution into `dest` and return their paths.

    Each is built from a clean copy of its folder, so a stale `build/` left in the checkout
    cannot slip deleted modules into a wheel, and building writes nothing into the checkout.
    `python` is the interpreter whose pip builds them: this one if it has pip, else the
    workspace's. Older wheels of these distributions in `dest` are removed first.
    """
    if python is None and importlib.util.find_spec("pip") is None:
        setup()  # this Python has no pip; the workspace's has
        python = str(PYTHON)
    python = python or sys.executable
    dest.mkdir(parents=True, exist_ok=True)
    names = {_wheel_name(folder) for folder in DISTRIBUTIONS}
    for old in dest.glob("*.whl"):
        if old.name.split("-")[0] in names:
            old.unlink()
    ignore = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".venv")
    with tempfile.TemporaryDirectory(prefix="minidiff-wheels-") as scratch:
        copies = []
        for folder in DISTRIBUTIONS:
            copy = Path(scratch) / (Path(folder).name if folder != "." else "minidiff")
            if folder == ".":
                copy.mkdir()
                for name in META_FILES:
                    shutil.copy2(ROOT / name, copy / name)
            else:
                shutil.copytree(ROOT / folder, copy, ignore=ignore)
            copies.append(str(copy))
        subprocess.run(
            [python, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--wheel-dir", str(dest), *copies],
            check=True,
        )
    return sorted(path for path in dest.glob("*.whl") if path.name.split("-")[0] in names)


def _wheel_name(folder: str) -> str:
    """The distribution's name as its wheel's file name spells it (PEP 427)."""
    name = tomllib.loads((ROOT / folder / "pyproject.toml").read_text())["project"]["name"]
    return re.sub(r"[-_.]+", "_", name).lower()


def version() -> str:
    """The release version, which every distribution shares."""
    return tomllib.loads((ROOT / DISTRIBUTIONS[0] / "pyproject.toml").read_text())["project"]["version"]


# `minidiff.__version__`, kept equal to the distributions' version by set_version().
VERSION_ATTRIBUTE = ROOT / "packages/minidiff-core/src/minidiff/__init__.py"


def set_version(new: str) -> None:
    """Give every distribution the version `new`, and pin each `minidiff-*` requirement to it."""
    if not re.fullmatch(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?", new):
        sys.exit(f"{new!r} is not a PEP 440 release version (e.g. 0.2.0, 1.0.0rc1)")
    for folder in DISTRIBUTIONS:
        path = ROOT / folder / "pyproject.toml"
        text = re.sub(r'(?m)^version = "[^"]*"$', f'version = "{new}"', path.read_text(), count=1)
        path.write_text(re.sub(r'("minidiff-[a-z-]+(?:\[[a-z0-9,]+\])?==)[^";]+', rf"\g<1>{new}", text))
    text = VERSION_ATTRIBUTE.read_text()
    VERSION_ATTRIBUTE.write_text(re.sub(r'(?m)^__version__ = "[^"]*"$', f'__version__ = "{new}"', text, count=1))


def run(*args: str) -> int:
    return subprocess.run([str(PYTHON), *args], cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("test", [])
    if command not in {"setup", "tour", "test", "bench", "wheels", "version"}:
        sys.exit(__doc__)
    if command == "wheels":
        start = time.perf_counter()
        built = wheels()
        print(*(path.relative_to(ROOT) for path in built), sep="\n")
        print(f"{len(built)} wheels in {time.perf_counter() - start:.0f} s; install with:")
        print('  pip install --find-links dist "minidiff[linalg]"   # or [mlx], [cuda], [dask], [all]')
        return 0
    if command == "version":
        if rest:
            set_version(rest[0])
        print(version())
        return 0
    setup()
    if command == "tour":
        return run("examples/tour.py", *rest)
    if command == "test":
        # pytest exits 5 when it collected no test: that fails here as any non-zero code does.
        return run("-m", "pytest", *rest)
    if command == "bench":
        return run("benchmarks/run.py", *rest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
