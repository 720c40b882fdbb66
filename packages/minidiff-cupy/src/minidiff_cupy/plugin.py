"""Registers the `cupy` backend and its kernels through minidiff's plugin hooks.

This module must not import CuPy: the backend is built, and CuPy imported, on first use,
so the distribution installs and imports on machines without CUDA.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from minidiff.backend import BackendUnavailable
from minidiff.extend import hookimpl
from minidiff_cupy import kernels

if TYPE_CHECKING:
    from minidiff.backend import Backend
    from minidiff.registry import PluginRegistry

#: how to get CuPy: the extra brings the CUDA 12 wheel; CUDA 13 users pick theirs
INSTALL = 'pip install "minidiff[cuda]" (CUDA 12; on CUDA 13: pip install minidiff-cupy cupy-cuda13x)'

#: Conformance checks known to fail on CuPy, with why (`minidiff.testing.expected`): its own
#: tests and `minidiff check cupy` read this. None known; CuPy's default float is float64,
#: as NumPy's.
EXPECTED_FAILURES: dict[str, str] = {}


def make_backend() -> Backend:
    try:
        import cupy
    except Exception as exc:  # ImportError, or a CuPy wheel that finds no CUDA libraries
        raise BackendUnavailable(f"CuPy cannot be imported ({type(exc).__name__}: {exc})", install=INSTALL) from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # no driver, or a driver older than the CuPy wheel's CUDA
        raise BackendUnavailable(f"CuPy finds no usable CUDA GPU ({type(exc).__name__}: {exc})") from exc
    if count == 0:
        raise BackendUnavailable("CuPy finds no CUDA GPU on this machine")
    from minidiff_cupy.backend import CupyBackend

    return CupyBackend()


@hookimpl
def minidiff_register_backends(registry: PluginRegistry) -> None:
    registry.add_backend("cupy", make_backend, description="CuPy arrays on an NVIDIA GPU (CUDA)")


@hookimpl
def minidiff_register_kernels(registry: PluginRegistry) -> None:
    for qualname, kernel in kernels.KERNELS.items():
        registry.add_kernel(qualname, "cupy", kernel)
