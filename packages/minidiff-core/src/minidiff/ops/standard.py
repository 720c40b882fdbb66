"""Array API op family: the functions of the Python Array API standard (2023.12) that
minidiff's NumPy names did not cover.

`matrix_transpose vecdot cumulative_sum unstack` are composites over ops that already have
rules (swapaxes, multiply and sum, cumsum and concatenate, getitem), so every order of
derivative works through them. `left_shift right_shift signbit searchsorted` give integers
or booleans and are listed once, below, as non-differentiable. The standard's other
spellings of NumPy names (`acos`, `concat`, `bitwise_left_shift`, ...) are aliases, bound
by `minidiff.array_api.names`; docs/array-api.md lists them.

>>> import minidiff as md
>>> x = md.Tensor([[1.0, 2.0], [3.0, 4.0]], allow_grad=True)
>>> md.vecdot(x, x).sum().backward()
>>> x.grad
minidiff.Tensor([[2., 4.],
                 [6., 8.]])
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minidiff as md
from minidiff.batching import rules
from minidiff.extend import Op, hookimpl, sample
from minidiff.ops._axes import normalize_axis
from minidiff.ops._operands import as_tensor
from minidiff._tensor import Tensor

__all__ = ["OPS", "cumulative_sum", "matrix_transpose", "unstack", "vecdot"]


def matrix_transpose(x: Any, /) -> Tensor:
    """The last two axes swapped: each matrix of a stack transposed (the standard's `x.mT`).

    >>> import minidiff as md
    >>> md.matrix_transpose(md.zeros((5, 2, 3))).shape
    (5, 3, 2)
    """
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose needs a tensor of at least 2 dimensions, got shape {x.shape}")
    return md.swapaxes(x, -1, -2)


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Tensor:
    """The dot product of vectors along `axis` (broadcasting the other axes), conjugating
    `x1` when complex: `sum(conj(x1) * x2, axis)`.

    >>> import minidiff as md
    >>> md.vecdot(md.Tensor([[1.0, 2.0]]), md.Tensor([3.0, 4.0]))
    minidiff.Tensor([11.])
    """
    x1, x2 = as_tensor(x1), as_tensor(x2)
    ndim = max(x1.ndim, x2.ndim)
    if not -ndim <= axis < ndim:
        raise ValueError(f"vecdot: axis {axis} is out of range for shapes {x1.shape} and {x2.shape}")
    last = axis - ndim if axis >= 0 else axis  # counted from the end, as the shapes broadcast
    # the reduced axis does not broadcast: both operands must have it, of one length
    if last < -min(x1.ndim, x2.ndim) or x1.shape[last] != x2.shape[last]:
        raise ValueError(f"vecdot: shapes {x1.shape} and {x2.shape} differ along axis {axis}")
    if x1.dtype.kind == "c":
        x1 = md.conj(x1)
    product = x1 * x2
    # the product's dtype, as the standard asks (a sum alone widens small integers)
    return md.sum(product, axis=axis, dtype=product.dtype if product.dtype.kind in "iu" else None)


def cumulative_sum(x: Any, /, *, axis: int | None = None, dtype: Any = None, include_initial: bool = False) -> Tensor:
    """The running sum along `axis` (which may be left out for a 1-d `x` only), with a
    leading zero when `include_initial`.

    >>> import minidiff as md
    >>> md.cumulative_sum(md.Tensor([1.0, 2.0, 3.0]), include_initial=True)
    minidiff.Tensor([0., 1., 3., 6.])
    """
    x = as_tensor(x)
    if axis is None:
        if x.ndim != 1:
            raise ValueError(f"cumulative_sum: axis= is required for a tensor of shape {x.shape} (only 1-d may omit it)")
        axis = 0
    axis = normalize_axis(axis, x.ndim)
    if dtype is not None and np.dtype(dtype) != x.dtype:
        x = md.astype(x, dtype)
    out = md.cumsum(x, axis=axis)
    if dtype is not None and out.dtype != np.dtype(dtype):
        out = md.astype(out, dtype)  # NumPy's cumsum widens small integers; dtype= asks for these (wrapping alike)
    if include_initial:
        shape = x.shape[:axis] + (1,) + x.shape[axis + 1 :]
        out = md.concatenate([md.zeros(shape, dtype=out.dtype, backend=x.backend.name), out], axis=axis)
    return out


def unstack(x: Any, /, *, axis: int = 0) -> tuple[Tensor, ...]:
    """The slices of `x` along `axis`, as a tuple (the inverse of `stack`).

    >>> import minidiff as md
    >>> [t.shape for t in md.unstack(md.zeros((2, 3)), axis=1)]
    [(2,), (2,), (2,)]
    """
    x = as_tensor(x)
    axis = normalize_axis(axis, x.ndim)
    lead = (slice(None),) * axis
    return tuple(x[lead + (i,)] for i in range(x.shape[axis]))


def _searchsorted(xp: Any, x1: Any, x2: Any, *, side: str = "left", sorter: Any = None) -> Any:
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    if sorter is not None:  # x1 in the order `sorter` gives (MLX's searchsorted has no sorter=)
        x1 = xp.take(x1, sorter)
    found = xp.searchsorted(x1, x2, side=side)
    if str(found.dtype).rsplit(".", 1)[-1] != "int64":  # MLX's indices are uint32; the standard's are the default int
        found = xp.astype(found, np.int64)
    return found


def _signbit(xp: Any, x: Any) -> Any:
    native = getattr(xp, "signbit", None)
    if native is not None:
        return native(x)
    # a namespace without signbit (MLX): the sign bit read through an integer view of the
    # same width, which also tells -0.0 and -nan from +0.0 and nan
    dtype = np.dtype(str(x.dtype).rsplit(".", 1)[-1])
    if dtype.kind != "f":
        return x < 0
    return xp.view(x, getattr(xp, f"int{8 * dtype.itemsize}")) < 0


def _searchsorted_batch(call: Any, args: tuple, batched: tuple, params: dict) -> Any:
    # values to find, batched: one call (x2 may have any shape); a batch of sorted x1: a loop
    if not batched[0]:
        return call(*args, **params)
    return rules.per_example(call, args, batched, params)


def _searchsorted_reference(x1: Any, x2: Any, *, side: str = "left", sorter: Any = None) -> Any:
    return np.searchsorted(x1, x2, side=side, sorter=sorter)


# ---------------------------------------------------------------------------- the ops

_INTS = (np.array([[1, 7, -3], [0, 12, 5]]), np.array([3, 0, 2]))
_SORTED = np.array([-1.0, 0.0, 0.5, 2.0, 2.0])

DIFFERENTIABLE = [
    Op("matrix_transpose", composite=matrix_transpose, samples=(sample((3, 4)), sample((2, 3, 4)))),
    Op(
        "vecdot",
        composite=vecdot,
        samples=(sample((3,), (3,)), sample((2, 3), (3,)), sample((4, 1), (4, 3), axis=0), sample((2, 3, 4), (3, 4), axis=-2)),
    ),
    Op(
        "cumulative_sum",
        composite=cumulative_sum,
        samples=(
            sample((5,)),
            sample((3, 4), axis=1),
            sample((3, 4), axis=0, include_initial=True),
            sample((4,), include_initial=True),
            sample(np.array([200, 100, 7], dtype=np.uint8), dtype=np.uint8, include_initial=True, order=0),
        ),
    ),
    Op("unstack", composite=unstack, samples=(sample((3, 2)), sample((2, 3, 4), axis=-1))),
]

# Integer- or boolean-valued: their outputs never allow grad.
NON_DIFFERENTIABLE = [
    *(Op(name, name, nargs=2, samples=(sample(*_INTS),), batch=rules.elementwise) for name in ("left_shift", "right_shift")),
    Op("signbit", _signbit, reference=np.signbit, samples=(sample(np.array([-1.0, -0.0, 0.0, 2.0, -np.inf, np.nan])),), batch=rules.elementwise),
    Op(
        "searchsorted",
        _searchsorted,
        nargs=2,
        params={"side": "left", "sorter": None},
        samples=(sample(_SORTED, (2, 3)), sample(_SORTED, (4,), side="right")),
        reference=_searchsorted_reference,
        batch=_searchsorted_batch,
    ),
]


@hookimpl
def minidiff_register_ops(registry) -> None:
    for op in (*DIFFERENTIABLE, *NON_DIFFERENTIABLE):
        registry.add_op(op)


OPS = [*DIFFERENTIABLE, *NON_DIFFERENTIABLE]
