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


def _argsort(x: Tensor, axis: int, descending: bool = False) -> Any:
    """Stable sorting indices on `x`'s backend (ties keep their input order)."""
    return _stable_argsort(x.backend.xp, x.data, axis, descending)


def _stable_argsort(xp: Any, data: Any, axis: int, descending: bool) -> Any:
    # descending and stable: the reversed input sorted stably, read backwards
    if descending:
        data = xp.flip(data, axis=axis)
    try:
        order = xp.argsort(data, axis=axis, kind="stable")
    except TypeError:  # a namespace without `kind` (MLX): its own sort
        order = xp.argsort(data, axis=axis)
    if descending:
        order = (data.shape[axis] - 1) - xp.flip(order, axis=axis)
    return order


def _argsort_forward(xp: Any, x: Any, axis: int = -1, descending: bool = False, stable: bool = True) -> Any:
    if x.ndim == 0:
        raise ValueError("argsort of a 0-d tensor: there is no axis to sort along")
    order = _stable_argsort(xp, x, axis if axis >= 0 else axis + x.ndim, descending)
    if str(order.dtype).rsplit(".", 1)[-1] != "int64":  # MLX's indices are uint32; the standard's are the default int
        order = xp.astype(order, np.int64)
    return order


def _argsort_reference(x: Any, axis: int = -1, descending: bool = False, stable: bool = True) -> Any:
    # -x sorted stably is x in descending order with ties in input order (float samples)
    return np.argsort(-x if descending else x, axis=axis, kind="stable")


def sort(
    a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, descending: bool = False, stable: Any = None
) -> Tensor:
    """`numpy.sort`: sorted along `axis` (the flattened array for None), largest first with
    `descending=True` (the Array API's keyword). The values are taken at the sorting
    indices, so each gets the cotangent of the place it moved to.

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
    indices = make_tensor(_argsort(a, axis, descending), a.backend, None)
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


def _sort_reference(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, descending: bool = False, stable: Any = None) -> Any:
    out = np.sort(a, axis=axis, kind=kind, order=order, stable=stable)
    return np.flip(out, axis=-1 if axis is None else axis) if descending else out


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
            sample((3, 4), descending=True),
        ),
        reference=_sort_reference,
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


# Integer-valued: indices never allow grad. The Array API's `argsort`, with its keywords
# (`axis` keyword-only, `descending`, `stable`; the sort is always stable).
NON_DIFFERENTIABLE = [
    Op(
        "argsort",
        _argsort_forward,
        params={"axis": -1, "descending": False, "stable": True},
        samples=(sample((5,)), sample(_TIES, axis=0), sample(_TIES, descending=True), sample((2, 3, 4), axis=1)),
        reference=_argsort_reference,
        batch=rules.axis(),
    ),
]


@hookimpl
def minidiff_register_ops(registry) -> None:
    for op in (*OPS, *NON_DIFFERENTIABLE):
        registry.add_op(op)
