"""The Array API standard's `linalg` functions that NumPy keeps in its main namespace,
with the standard's conventions: they act on the last two axes (`trace`, `diagonal`) or
on one keyword `axis` (`cross`).

Each is a composite over ops that have rules (diagonal, sum, cross), so gradients of every
order come from those. `md.linalg.matmul`, `outer`, `tensordot`, `vecdot` and
`matrix_transpose` are the main namespace's functions themselves (bound by
`minidiff.array_api.names`).

>>> import minidiff as md
>>> x = md.Tensor([[[1.0, 2.0], [3.0, 4.0]]], allow_grad=True)
>>> md.linalg.trace(x)
minidiff.Tensor([5.], allow_grad=True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minidiff as md
from minidiff.extend import Op, sample
from minidiff.ops._operands import as_tensor, as_tensors
from minidiff._tensor import Tensor

__all__ = ["STANDARD_OPS", "cross", "diagonal", "trace"]


def trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Tensor:
    """The sum of each matrix's diagonal (`offset` above it, or below for negative), over
    the last two axes.

    >>> import minidiff as md
    >>> md.linalg.trace(md.ones((2, 3, 3)), offset=1)
    minidiff.Tensor([2., 2.])
    """
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"linalg.trace needs a tensor of at least 2 dimensions, got shape {x.shape}")
    return md.sum(md.diagonal(x, offset, -2, -1), axis=-1, dtype=dtype)


def diagonal(x: Any, /, *, offset: int = 0) -> Tensor:
    """Each matrix's diagonal (`offset` above it, or below for negative), over the last two axes.

    >>> import minidiff as md
    >>> md.linalg.diagonal(md.ones((2, 3, 4))).shape
    (2, 3)
    """
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"linalg.diagonal needs a tensor of at least 2 dimensions, got shape {x.shape}")
    return md.diagonal(x, offset, -2, -1)


def cross(x1: Any, x2: Any, /, *, axis: int = -1) -> Tensor:
    """The cross product of 3-vectors along `axis`, the other axes broadcast.

    >>> import minidiff as md
    >>> md.linalg.cross(md.Tensor([1.0, 0.0, 0.0]), md.Tensor([0.0, 1.0, 0.0]))
    minidiff.Tensor([0., 0., 1.])
    """
    x1, x2 = as_tensors(x1, x2)
    ndim = max(x1.ndim, x2.ndim)
    if not -ndim <= axis < ndim:
        raise ValueError(f"linalg.cross: axis {axis} is out of range for shapes {x1.shape} and {x2.shape}")
    last = axis - ndim if axis >= 0 else axis  # counted from the end, as the shapes broadcast
    for x in (x1, x2):
        if last < -x.ndim or x.shape[last] != 3:
            raise ValueError(f"linalg.cross needs 3-vectors along axis {axis}, got shapes {x1.shape} and {x2.shape}")
    x1, x2 = md.broadcast_arrays(x1, x2)
    return md.cross(x1, x2, axis=last)


def _cross_reference(x1: Any, x2: Any, axis: int = -1) -> Any:
    ndim = max(np.ndim(x1), np.ndim(x2))
    last = axis - ndim if axis >= 0 else axis
    if np.shape(x1)[last] != 3 or np.shape(x2)[last] != 3:  # the standard does not broadcast along `axis`
        raise ValueError("cross needs 3-vectors along axis")
    return np.cross(*np.broadcast_arrays(x1, x2), axis=axis)


def _trace_reference(x: Any, offset: int = 0, dtype: Any = None) -> Any:
    return np.trace(x, offset, -2, -1, dtype=dtype)


STANDARD_OPS = [
    Op(
        "trace",
        composite=trace,
        namespace="linalg",
        reference=_trace_reference,
        samples=(sample((3, 3)), sample((2, 3, 4), offset=1), sample((4, 3), offset=-1)),
    ),
    Op(
        "diagonal",
        composite=diagonal,
        namespace="linalg",
        reference=lambda x, offset=0: np.diagonal(x, offset, -2, -1),
        samples=(sample((3, 3)), sample((2, 3, 4), offset=1), sample((4, 3), offset=-2)),
    ),
    Op(
        "cross",
        composite=cross,
        namespace="linalg",
        reference=_cross_reference,
        samples=(sample((3,), (3,)), sample((2, 3), (3,)), sample((3, 2), (3, 2), axis=0)),
    ),
]
