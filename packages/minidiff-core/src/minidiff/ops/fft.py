"""FFT op family: the Array API standard's `fft` extension, as `md.fft.*`.

`fft ifft fftn ifftn rfft irfft rfftn irfftn hfft ihfft` run the backend's own `xp.fft`
and are listed as non-differentiable for now: their gradients are complex-linear maps
(the adjoint transform) that belong with minidiff's complex gradient rules, so a backward
through them raises rather than dropping their contribution. `fftshift` and `ifftshift`
are composites over `roll`, differentiable at every order; `fftfreq` and `rfftfreq` make
new tensors, as `arange` does.

>>> import minidiff as md
>>> md.fft.fft(md.Tensor([1.0, 0.0, 0.0, 0.0]))
minidiff.Tensor([1.+0.j, 1.+0.j, 1.+0.j, 1.+0.j], dtype=complex128)
>>> md.fft.fftshift(md.fft.fftfreq(4))
minidiff.Tensor([-0.5 , -0.25,  0.  ,  0.25])
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minidiff as md
from minidiff.extend import Op, hookimpl, sample
from minidiff.ops._axes import normalize_axis
from minidiff.ops._operands import as_tensor
from minidiff._tensor import Tensor

__all__ = ["OPS", "fftshift", "ifftshift"]

_NORMS = ("backward", "ortho", "forward")


def _check_norm(norm: str) -> None:
    if norm not in _NORMS:
        raise ValueError(f"fft: norm must be one of {', '.join(map(repr, _NORMS))}, got {norm!r}")


def _one_axis(name: str) -> Any:
    def forward(xp: Any, x: Any, n: int | None = None, axis: int = -1, norm: str = "backward") -> Any:
        _check_norm(norm)
        return getattr(xp.fft, name)(x, n=n, axis=axis, norm=norm)

    forward.__name__ = name
    return forward


def _many_axes(name: str) -> Any:
    def forward(xp: Any, x: Any, s: Any = None, axes: Any = None, norm: str = "backward") -> Any:
        _check_norm(norm)
        return getattr(xp.fft, name)(x, s=s, axes=axes, norm=norm)

    forward.__name__ = name
    return forward


def _reference(name: str) -> Any:
    return getattr(np.fft, name)


def _freq(name: str) -> Any:
    def forward(xp: Any, n: int, d: float = 1.0, dtype: Any = None) -> Any:
        out = getattr(xp.fft, name)(n, d=d)
        return out if dtype is None else out.astype(dtype)

    forward.__name__ = name
    return forward


def _freq_reference(name: str) -> Any:
    def reference(n: int, d: float = 1.0, dtype: Any = None) -> Any:
        out = getattr(np.fft, name)(n, d=d)
        return out if dtype is None else out.astype(dtype)

    return reference


def _shift(x: Any, axes: Any, sign: int) -> Tensor:
    x = as_tensor(x)
    if axes is None:
        axes = tuple(range(x.ndim))
    elif isinstance(axes, int):
        axes = (axes,)
    axes = tuple(normalize_axis(a, x.ndim) for a in axes)
    if not axes:
        return md.reshape(x, x.shape)
    # fftshift rolls by n // 2; ifftshift undoes it, rolling by -(n // 2)
    return md.roll(x, tuple(sign * (x.shape[a] // 2) for a in axes), axis=axes)


def fftshift(x: Any, /, *, axes: Any = None) -> Tensor:
    """The zero-frequency term moved to the middle along `axes` (all by default).

    >>> import minidiff as md
    >>> md.fft.fftshift(md.Tensor([0.0, 1.0, 2.0, -2.0, -1.0]))
    minidiff.Tensor([-2., -1.,  0.,  1.,  2.])
    """
    return _shift(x, axes, 1)


def ifftshift(x: Any, /, *, axes: Any = None) -> Tensor:
    """The inverse of `fftshift`: the middle term moved back to the front.

    >>> import minidiff as md
    >>> md.fft.ifftshift(md.Tensor([-2.0, -1.0, 0.0, 1.0, 2.0]))
    minidiff.Tensor([ 0.,  1.,  2., -2., -1.])
    """
    return _shift(x, axes, -1)


# ---------------------------------------------------------------------------- the ops

_ONE_AXIS_SAMPLES = (sample((8,)), sample((3, 5), axis=0), sample((4, 6), n=5, norm="ortho"), sample((6,), n=9, norm="forward"))
_MANY_AXES_SAMPLES = (sample((4, 6)), sample((2, 3, 4), axes=(0, 2)), sample((4, 5), s=(3, 6), axes=(0, 1), norm="ortho"))

# Complex-valued transforms: non-differentiable until the complex gradient rules take them.
NON_DIFFERENTIABLE = [
    *(
        Op(name, _one_axis(name), namespace="fft", params={"n": None, "axis": -1, "norm": "backward"},
           samples=_ONE_AXIS_SAMPLES, reference=_reference(name))
        for name in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft")
    ),
    *(
        Op(name, _many_axes(name), namespace="fft", params={"s": None, "axes": None, "norm": "backward"},
           samples=_MANY_AXES_SAMPLES, reference=_reference(name))
        for name in ("fftn", "ifftn", "rfftn", "irfftn")
    ),
]

DIFFERENTIABLE = [
    Op("fftshift", composite=fftshift, namespace="fft", reference=np.fft.fftshift,
       samples=(sample((5,)), sample((4, 3)), sample((4, 5), axes=1), sample((2, 3, 4), axes=(0, 2)))),
    Op("ifftshift", composite=ifftshift, namespace="fft", reference=np.fft.ifftshift,
       samples=(sample((5,)), sample((4, 3)), sample((4, 5), axes=1), sample((2, 3, 4), axes=(0, 2)))),
]

CREATION = [
    Op(name, _freq(name), namespace="fft", creation=True, nargs=0, reference=_freq_reference(name),
       samples=(sample(8), sample(5, d=0.5), sample(6, dtype=np.float32)))
    for name in ("fftfreq", "rfftfreq")
]

OPS = [*NON_DIFFERENTIABLE, *DIFFERENTIABLE, *CREATION]


@hookimpl
def minidiff_register_ops(registry) -> None:
    for op in OPS:
        registry.add_op(op)
