"""Registers the `dask` backend and its kernels through minidiff's plugin hooks.

This module must not import Dask: the backend is built, and Dask imported, on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from minidiff.backend import BackendUnavailable
from minidiff.extend import hookimpl

if TYPE_CHECKING:
    from minidiff.backend import Backend
    from minidiff.registry import PluginRegistry

#: how to get Dask
INSTALL = 'pip install "minidiff[dask]"'


def make_backend() -> Backend:
    try:
        import dask.array  # noqa: F401
    except ImportError as exc:
        raise BackendUnavailable(f"dask.array cannot be imported ({exc})", install=INSTALL) from exc
    from minidiff_dask.backend import DaskBackend

    return DaskBackend()


#: Conformance checks known to fail on Dask, with why (`minidiff.testing.expected`): its own
#: tests and `minidiff check dask` read this. None: every check of every registered op passes
#: (what Dask cannot do lazily is computed, with a `DaskComputeWarning`, rather than refused).
#: A gap found later goes here as `"test_<check>[<op>-<sample>]": "why"`.
EXPECTED_FAILURES: dict[str, str] = {}


@hookimpl
def minidiff_register_backends(registry: PluginRegistry) -> None:
    registry.add_backend("dask", make_backend, description="Dask arrays: lazy, chunked, on a Dask cluster or threads")


# Ops whose generic forward does not fit Dask: indexing beyond Dask's own (several index
# arrays), and the scatter-add that is its gradient (Dask has no `add.at`). Each kernel
# gets the backend's `xp` (minidiff_dask.xp) first, as every forward does.
KERNELS: dict[str, Callable[..., Any]] = {
    "getitem": lambda xp, x, key: xp.getitem(x, key),
    "scatter_add": lambda xp, values, shape, key: xp.scatter_add(values, shape, key),
}


@hookimpl
def minidiff_register_kernels(registry: PluginRegistry) -> None:
    for qualname, kernel in KERNELS.items():
        registry.add_kernel(qualname, "dask", kernel)
