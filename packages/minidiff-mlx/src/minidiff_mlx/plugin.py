"""Registers the `mlx` backend and its kernels through minidiff's plugin hooks.

This module must not import MLX: the backend is built, and MLX imported, on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from minidiff.backend import BackendUnavailable
from minidiff.extend import hookimpl

if TYPE_CHECKING:
    from minidiff.backend import Backend
    from minidiff.registry import PluginRegistry

#: how to get MLX (on Linux the extra brings `mlx[cpu]`, MLX's CPU build)
INSTALL = 'pip install "minidiff[mlx]"'


def make_backend() -> Backend:
    try:
        import mlx.core  # noqa: F401
    except ImportError as exc:
        raise BackendUnavailable(f"MLX cannot be imported ({exc})", install=INSTALL) from exc
    from minidiff_mlx.backend import MlxBackend

    return MlxBackend()


_FLOAT32_DEFAULT = (
    "MLX's default float is float32 where NumPy's is float64: a creation op without dtype= "
    "gives float32 on this backend, by design"
)

#: Conformance checks known to fail on MLX, with why (`minidiff.testing.expected`): its own
#: tests and `minidiff check mlx` read this. Only the default float differs; every other
#: check passes on MLX's CPU in float64.
EXPECTED_FAILURES: dict[str, str] = {
    f"test_forward[{case}]": _FLOAT32_DEFAULT
    for case in (
        "zeros-0", "zeros-1", "zeros-2", "zeros-3",
        "ones-0", "ones-1", "ones-2", "ones-3",
        "full-0", "full-3", "empty-0", "arange-1",
        "linspace-0", "linspace-1", "linspace-2",
        "eye-0", "eye-1", "eye-2",
    )
}
# a cast to complex128, which MLX lacks (its complex dtype is complex64)
EXPECTED_FAILURES.update({
    f"test_{check}[astype-2]": "MLX has no complex128"
    for check in ("forward", "first_order", "second_order", "no_grad", "float32", "batching",
                  "complex_first_order", "complex_second_order")
})
# md.fft of a float64 input: MLX transforms it in complex64 (float32 for irfft's output), so
# its forward is not NumPy's complex128 and finite differences in float64 cannot check it;
# the float32, complex64 and batching checks run these transforms on MLX.
_FFT_SAMPLES = {"fft": 6, "ifft": 6, "fftn": 6, "ifftn": 6, "rfft": 7, "irfft": 6, "rfftn": 7, "irfftn": 5,
                "hfft": 6, "ihfft": 7, "fft2": 2, "ifft2": 2, "rfft2": 2, "irfft2": 2}
EXPECTED_FAILURES.update({
    f"test_{check}[fft.{name}-{index}]": "MLX has no complex128: a float64 input is transformed in complex64"
    for name, count in _FFT_SAMPLES.items()
    for index in range(count)
    for check in ("forward", "first_order")
})
EXPECTED_FAILURES.update({f"test_forward[fft.{name}-{index}]": _FLOAT32_DEFAULT
                          for name in ("fftfreq", "rfftfreq") for index in (0, 1)})


@hookimpl
def minidiff_register_backends(registry: PluginRegistry) -> None:
    registry.add_backend("mlx", make_backend, description="MLX arrays (Apple silicon GPU, or the CPU)")


# Ops whose generic forward works on raw arrays in ways mlx.core does not: indexing with
# host index arrays and boolean masks, `add.at`, `.astype(numpy dtype)`. Each kernel gets
# the backend's `xp` (minidiff_mlx.xp) first, as every forward does.
KERNELS: dict[str, Callable[..., Any]] = {
    "getitem": lambda xp, x, key: xp.getitem(x, key),
    "scatter_add": lambda xp, values, shape, key: xp.scatter_add(values, shape, key),
    "astype": lambda xp, x, dtype, copy=True, device=None: _astype(xp, x, dtype, device),
}


def _astype(xp: Any, x: Any, dtype: Any, device: Any) -> Any:
    from minidiff.array_api.tensor_protocol import check_device

    check_device(xp, device, "astype")  # the Array API's keywords, as the generic kernel takes them
    return xp.astype(x, dtype)


@hookimpl
def minidiff_register_kernels(registry: PluginRegistry) -> None:
    for qualname, kernel in KERNELS.items():
        registry.add_kernel(qualname, "mlx", kernel)
