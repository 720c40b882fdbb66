#!/usr/bin/env python3
"""Set up the minidiff workspace and run something in it.

    python3 dev.py tour      # set up, then run examples/tour.py
    python3 dev.py test      # set up, then run every test of every distribution
    python3 dev.py bench     # set up, then run the benchmarks
    python3 dev.py setup     # only set up

Setting up makes `.venv` (with the standard library's venv) and installs every distribution
of packages/ in editable mode, plus the test tools. It needs only Python 3.11+ and network
access to PyPI, and is skipped when nothing it depends on has changed since the last run.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
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
    ".",
]
DEV_TOOLS = ["pytest>=8", "hypothesis>=6"]


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(repr((sys.version_info[:2], DISTRIBUTIONS, DEV_TOOLS)).encode())
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
    editable = [arg for folder in DISTRIBUTIONS for arg in ("-e", str(ROOT / folder))]
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *editable, *DEV_TOOLS],
        check=True,
    )
    STAMP.write_text(fingerprint)


def run(*args: str) -> int:
    return subprocess.run([str(PYTHON), *args], cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("test", [])
    if command not in {"setup", "tour", "test", "bench"}:
        sys.exit(__doc__)
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
