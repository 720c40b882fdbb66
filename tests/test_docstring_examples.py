"""Every example in a docstring of the shipped modules runs and prints what it shows.

Docstrings are the first documentation a user reads (`help(md.sum)`, an IDE's hover), so a
stale example is a wrong answer too. Each module of each distribution is one test case.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("minidiff", "minidiff_numpy", "minidiff_mlx", "minidiff_cupy", "minidiff_dask", "minidiff_ops_linalg")


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        root = importlib.import_module(package)
        names.append(package)
        names += [info.name for info in pkgutil.walk_packages(root.__path__, package + ".")]
    # `__main__` modules run a command when imported
    return [name for name in names if not name.endswith("__main__")]


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name):
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != "cupy":
            raise
        pytest.skip(f"{name} imports CuPy, which is not installed here (it needs an NVIDIA GPU)")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples in {name} failed (printed above)"
