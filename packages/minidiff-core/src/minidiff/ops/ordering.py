"""Ordering op family: NumPy's sorting functions, `sort` and `partition`.

Both are composites: the sorting indices are computed on the values and passed to
take_along_axis as constants. The choice of order is piecewise constant, so it carries no
derivative, and each element gets the cotangent of the place it moved to; every order
works through take_along_axis's rule.

Convention where the order changes (the kinks), checked against PyTorch and JAX: tied
elements are ordered stably (the first in the input takes the first place), so each tie
receives the cotangent of one output position, as torch.sort(stable=True) and
jax.numpy.sort do. `partition` arranges its elements exactly as NumPy's `argpartition`
does on the values, on every backend.

Under `md.vmap` each runs once on the whole batch with its axis shifted past the batch
(`axis=None` sorts each example's flattened elements): the indices come from the values,
so the op cannot be built from batched parts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minidiff as md
from minidiff.batching import rules
from minidiff.extend import Op, hookimpl, sample
from minidiff.ops._axes import normalize_axis
from minidiff.ops._operands import as_tensor, to_host
from minidiff._tensor import Tensor, make_tensor

__all__ = ["OPS"]


def _argsort(x: Tensor, axis: int) -> Any:
    """Stable sorting indices on `x`'s backend (ties keep their input order)."""
    xp = x.backend.xp
    try:
        return xp.argsort(x.data, axis=axis, kind="stable")
    except TypeError:  # a namespace without `kind` (MLX): its own sort
        return xp.argsort(x.data, axis=axis)


def sort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None) -> Tensor:
    """`numpy.sort`: sorted along `axis` (the flattened array for None). The values are
    taken at the sorting indices, so each gets the cotangent of the place it moved to.

    >>> import minidiff as md
    >>> md.sort(md.Tensor([2.0, 3.0, 1.0]))
    minidiff.Tensor([1., 2., 3.])
    """
    if order is not None:
        raise ValueError("sort: order= applies to structured arrays, which minidiff does not have")
    a = as_tensor(a)
    if axis is None:
        a, axis = md.reshape(a, (-1,)), 0
    axis = normalize_axis(axis, a.ndim)
    indices = make_tensor(_argsort(a, axis), a.backend, None)
    return md.take_along_axis(a, indices, axis=axis)


def partition(a: Any, kth: Any, axis: Any = -1, kind: str = "introselect", order: Any = None) -> Tensor:
    """`numpy.partition`: the `kth` element(s) in their sorted place, smaller ones before,
    larger ones after. The arrangement is NumPy's own (its `argpartition` on the values),
    so every backend returns exactly what NumPy does."""
    if order is not None:
        raise ValueError("partition: order= applies to structured arrays, which minidiff does not have")
    a = as_tensor(a)
    if axis is None:
        a, axis = md.reshape(a, (-1,)), 0
    axis = normalize_axis(axis, a.ndim)
    indices = np.argpartition(to_host(a), to_host(kth), axis=axis, kind=kind)
    return md.take_along_axis(a, indices, axis=axis)


# ---------------------------------------------------------------------------- the ops

# Distinct values (differentiated) and ties (the forward only).
_TIES = np.array([[1.0, 3.0, 3.0, -1.0], [2.0, 2.0, 2.0, 0.5], [0.0, -4.0, -4.0, 1.0]])

OPS = [
    Op(
        "sort",
        composite=sort,
        samples=(
            sample((5,)),
            sample((3, 4), axis=0),
            sample((2, 3, 4)),
            sample((3, 4), axis=None),
            sample(_TIES, order=0),
            sample(_TIES, axis=0, order=0),
        ),
        batch=rules.composite(rules.axis(none="flatten"), "a"),
    ),
    Op(
        "partition",
        composite=partition,
        samples=(
            sample((7,), 3),
            sample((3, 5), 1, axis=0),
            sample((3, 5), [1, 3]),
            sample((3, 4), 5, axis=None),
            sample(_TIES, 2, order=0),
        ),
        batch=rules.composite(rules.axis(none="flatten"), "a"),
    ),
]


@hookimpl
def minidiff_register_ops(registry) -> None:
    for op in OPS:
        registry.add_op(op)
