"""NumPy extras: the rest of the NumPy functions that everyday NumPy code reaches for.

Triangles and diagonals (`tril`, `triu`, `diagonal`, `diag`), stacking (`vstack`,
`hstack`, `dstack`, `column_stack`, `atleast_1d/2d/3d`), `ravel`, `inner`, `diff` and
the angle conversions. With these registered, a function written against `numpy` alone
can be differentiated by passing it Tensors (see `minidiff.interop`).

Most are composite ops: built from reshape, concatenate, getitem and scatter_add, and
differentiated through them, so every order works with no rule of their own. `tril`,
`triu` and `diagonal` have rules: a triangle's gradient is the same triangle of `g`, a
diagonal's is `g` scattered back onto the diagonal.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import minidiff as md
from minidiff.batching import rules
from minidiff.batching.tensor import BatchedTensor
from minidiff.extend import HOLOMORPHIC, Op, hookimpl, sample
from minidiff.ops._operands import as_tensor
from minidiff.ops._axes import normalize_axis
from minidiff.ops.linear import DIAGONAL_SAMPLES, diagonal_plane_batch
from minidiff.optable import ops
from minidiff._tensor import Tensor

__all__ = ["OPS"]


def _diagonal_positions(length: int, offset: int, like: Tensor) -> tuple[Any, Any]:
    """Row and column indices of the `offset` diagonal's `length` elements, on `like`'s backend."""
    xp = like.backend.xp
    steps = xp.arange(length)
    return steps + max(-offset, 0), steps + max(offset, 0)


# ---------------------------------------------------------------------------- diagonals


def _diagonal_vjp(g: Tensor, ans: Tensor, x: Tensor, offset: int, axis1: int, axis2: int) -> Tensor:
    # diagonal(x) reads x[..., i, i + offset] with the two axes moved last; the gradient
    # scatters g back to those positions (scatter_add's own gradient is getitem again).
    axis1, axis2 = normalize_axis(axis1, x.ndim), normalize_axis(axis2, x.ndim)
    moved = tuple(n for i, n in enumerate(x.shape) if i not in (axis1, axis2)) + (x.shape[axis1], x.shape[axis2])
    rows, cols = _diagonal_positions(g.shape[-1], offset, g)
    spread = ops.scatter_add(g, shape=moved, key=(Ellipsis, rows, cols))
    return md.moveaxis(spread, (-2, -1), (axis1, axis2))


def diag(v: Any, k: int = 0) -> Tensor:
    """`numpy.diag`: a 1-D `v` placed on the `k`-th diagonal of a square matrix, or the
    `k`-th diagonal of a 2-D `v`.

    >>> import minidiff as md
    >>> md.diag(md.Tensor([1.0, 2.0]))
    minidiff.Tensor([[1., 0.],
                     [0., 2.]])
    """
    v = as_tensor(v)
    if v.ndim == 2:
        return md.diagonal(v, offset=k)
    if v.ndim != 1:
        raise ValueError(f"diag: the input must be 1-D or 2-D, got shape {v.shape}")
    n = v.shape[0] + abs(k)
    rows, cols = _diagonal_positions(v.shape[0], k, v)
    return ops.scatter_add(v, shape=(n, n), key=(rows, cols))


# ---------------------------------------------------------------------------- stacking


def _at_least(ndim: int, arys: tuple, place: Any) -> Any:
    # Always an op, even when nothing changes, so the result is a new tensor (no grad
    # under md.no_grad(), like every other op's output).
    out = []
    for a in arys:
        a = as_tensor(a)
        shape = place(a.shape) if a.ndim < ndim else a.shape
        out.append(md.reshape(a, shape))
    return out[0] if len(out) == 1 else tuple(out)


def atleast_1d(*arys: Any) -> Any:
    """`numpy.atleast_1d`: 0-d inputs become shape (1,); one result per input."""
    return _at_least(1, arys, lambda shape: (1,))


def atleast_2d(*arys: Any) -> Any:
    """`numpy.atleast_2d`: (N,) becomes (1, N), 0-d becomes (1, 1)."""
    return _at_least(2, arys, lambda shape: (1,) * (2 - len(shape)) + shape)


def atleast_3d(*arys: Any) -> Any:
    """`numpy.atleast_3d`: (N,) becomes (1, N, 1), (M, N) becomes (M, N, 1), 0-d (1, 1, 1)."""
    return _at_least(3, arys, lambda shape: {0: (1, 1, 1), 1: (1, *shape, 1), 2: (*shape, 1)}[len(shape)])


def _joined(arrays: Any, axis: int, dtype: Any) -> Tensor:
    out = md.concatenate(arrays, axis=axis)
    return out if dtype is None else md.astype(out, dtype=dtype)


def _as_sequence(tup: Any, name: str) -> list[Any]:
    """The arrays to join. One array is, as in NumPy, the sequence of its rows (its
    slices along the first axis), each row a differentiable `x[i]`."""
    if isinstance(tup, (Tensor, BatchedTensor, np.ndarray)):
        if tup.ndim == 0:
            raise TypeError(f"{name}() takes a sequence of arrays; a 0-d array is not one (it has no rows)")
        return [tup[i] for i in range(tup.shape[0])]
    if not isinstance(tup, (list, tuple)):
        raise TypeError(f"{name}() takes a sequence of arrays, got {type(tup).__name__!r}")
    return list(tup)


def vstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Tensor:
    """`numpy.vstack`: join along the first axis, 1-D inputs as rows."""
    return _joined([atleast_2d(a) for a in _as_sequence(tup, "vstack")], 0, dtype)


def hstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Tensor:
    """`numpy.hstack`: join along the second axis (the first, for 1-D inputs)."""
    arrays = [atleast_1d(a) for a in _as_sequence(tup, "hstack")]
    return _joined(arrays, 0 if arrays and arrays[0].ndim == 1 else 1, dtype)


def dstack(tup: Any) -> Tensor:
    """`numpy.dstack`: join along the third axis, inputs made at least 3-D."""
    return _joined([atleast_3d(a) for a in _as_sequence(tup, "dstack")], 2, None)


def column_stack(tup: Any) -> Tensor:
    """`numpy.column_stack`: 1-D inputs become columns, then join along the second axis."""
    columns = []
    for a in _as_sequence(tup, "column_stack"):
        a = as_tensor(a)
        columns.append(md.reshape(a, (-1, 1)) if a.ndim < 2 else a)
    return md.concatenate(columns, axis=1)


# ---------------------------------------------------------------------------- the rest


def ravel(a: Any, order: str = "C") -> Tensor:
    """`numpy.ravel`: the elements as a 1-D tensor, in C order."""
    if order not in ("C", "K", "A"):
        raise ValueError(f"ravel: minidiff flattens in C order only, got order={order!r}")
    return md.reshape(as_tensor(a), (-1,))


def inner(a: Any, b: Any) -> Tensor:
    """`numpy.inner`: contraction over the last axis of both operands (a product for 0-d)."""
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return md.tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 1]))


def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Tensor:
    """`numpy.diff`: the `n`-th forward difference along `axis`, built from two slices;
    `prepend`/`append` values (a scalar fills one slice) are joined to `a` first."""
    a = as_tensor(a)
    if n < 0:
        raise ValueError(f"diff: the order n must be non-negative, got {n}")
    axis = normalize_axis(axis, a.ndim)
    if prepend is not None or append is not None:

        def edge(values: Any) -> Tensor:
            # a host array keeps NumPy's dtype (0.5 is float64, as np.asanyarray makes it)
            if not isinstance(values, (Tensor, BatchedTensor)):
                values = Tensor(np.asarray(values), backend=a.backend.name)
            if values.ndim == 0:
                values = md.broadcast_to(values, tuple(1 if d == axis else m for d, m in enumerate(a.shape)))
            return values

        pieces = [edge(prepend)] if prepend is not None else []
        pieces += [a] + ([edge(append)] if append is not None else [])
        a = md.concatenate(pieces, axis=axis)
    if n == 0:
        return md.reshape(a, a.shape)  # a new tensor, as every op returns
    before = (slice(None),) * axis
    for _ in range(n):
        a = a[before + (slice(1, None),)] - a[before + (slice(None, -1),)]
    return a


# ---------------------------------------------------------------------------- batching rules (md.vmap)


def _triangle_batch(call, args, batched, params):
    """tril/triu act on the last two axes of a stack; a 1-D example is first repeated into
    the square matrix NumPy makes of it (each row a copy)."""
    (x,) = args
    if x.ndim == 2:
        n = x.shape[1]
        x = md.broadcast_to(md.expand_dims(x, 1), (x.shape[0], n, n))
    return call(x, **params)


_RADIANS_PER_DEGREE = math.pi / 180.0

# Complex input: the triangles, diagonals, stacks and differences are linear with real
# coefficients (complex=True), `inner` is a product without conjugates (HOLOMORPHIC), as
# NumPy's; NumPy's deg2rad and rad2deg refuse complex numbers, so they stay real only.
OPS = [
    Op(
        "tril",
        "tril",
        vjp=(lambda g, ans, x, k: md.tril(g, k=k),),  # a mask: linear and self-adjoint
        params={"k": 0},
        batch=_triangle_batch,
        samples=(sample((3, 4)), sample((3, 4), k=1), sample((2, 3, 4), k=-1), sample((4, 3), k=-2)),
        complex=True,
    ),
    Op(
        "triu",
        "triu",
        vjp=(lambda g, ans, x, k: md.triu(g, k=k),),
        params={"k": 0},
        batch=_triangle_batch,
        samples=(sample((3, 4)), sample((3, 4), k=1), sample((2, 3, 4), k=-1), sample((4, 3), k=-2)),
        complex=True,
    ),
    Op(
        "diagonal",
        "diagonal",
        view=True,
        vjp=(_diagonal_vjp,),
        params={"offset": 0, "axis1": 0, "axis2": 1},
        batch=diagonal_plane_batch,
        samples=DIAGONAL_SAMPLES,
        complex=True,
    ),
    Op(
        "diag",
        composite=diag,
        samples=(sample((4,)), sample((3,), 1), sample((3,), -2), sample((3, 4)), sample((4, 3), -1)),
        complex=True,
    ),
    Op(
        "atleast_1d",
        composite=atleast_1d,
        samples=(sample(()), sample((3,)), sample((2, 3)), sample((), (3,), (2, 3))),
        complex=True,
    ),
    Op(
        "atleast_2d",
        composite=atleast_2d,
        samples=(sample(()), sample((3,)), sample((2, 3)), sample((), (3,), (2, 3, 1))),
        complex=True,
    ),
    Op(
        "atleast_3d",
        composite=atleast_3d,
        samples=(sample(()), sample((3,)), sample((2, 3)), sample((2, 1, 3, 2)), sample((3,), (2, 3), ())),
        complex=True,
    ),
    Op(
        "vstack",
        composite=vstack,
        # one array is the sequence of its rows, as in NumPy
        samples=(
            sample([(3,), (3,)]),
            sample([(2, 3), (1, 3)]),
            sample([(2, 3, 2), (1, 3, 2)]),
            sample((4,)),
            sample((2, 3)),
            sample((2, 3, 2)),
        ),
        complex=True,
    ),
    Op(
        "hstack",
        composite=hstack,
        samples=(sample([(2,), (3,)]), sample([(2, 3), (2, 1)]), sample([(), ()]), sample((4,)), sample((2, 3, 2))),
        complex=True,
    ),
    Op("dstack", composite=dstack, samples=(sample([(2, 3), (2, 3)]), sample([(3,), (3,)]), sample((2, 3, 2))),
       complex=True),
    Op(
        "column_stack",
        composite=column_stack,
        samples=(sample([(3,), (3, 2)]), sample([(2,), (2,)]), sample((3,)), sample((2, 3, 2))),
        complex=True,
    ),
    Op("ravel", composite=ravel, samples=(sample((3, 4)), sample((2, 3, 4)), sample(())), complex=True),
    Op(
        "inner",
        composite=inner,
        samples=(sample((4,), (4,)), sample((3, 4), (4,)), sample((2, 4), (3, 4)), sample((3, 4), ())),
        complex=HOLOMORPHIC,
    ),
    Op(
        "diff",
        composite=diff,
        samples=(
            sample((5,)),
            sample((3, 4), axis=0),
            sample((3, 5), n=2),
            sample((2, 3, 4), n=0),
            sample((3, 4), 1, 0, (1, 4), (2, 4)),
            sample((3, 4), 2, -1, 0.5),
            sample((3, 4), append=1.0),
        ),
        complex=True,
    ),
    # A product rather than xp.deg2rad: not every array namespace has the angle functions.
    Op(
        "deg2rad",
        lambda xp, x: x * _RADIANS_PER_DEGREE,
        vjp=(lambda g, ans, x: g * _RADIANS_PER_DEGREE,),
        batch=rules.elementwise,
        samples=(sample((3, 4), domain=(-180.0, 180.0)), sample(())),
    ),
    Op(
        "rad2deg",
        lambda xp, x: x / _RADIANS_PER_DEGREE,
        vjp=(lambda g, ans, x: g / _RADIANS_PER_DEGREE,),
        batch=rules.elementwise,
        samples=(sample((3, 4)), sample(())),
    ),
]


@hookimpl
def minidiff_register_ops(registry) -> None:
    for op in OPS:
        registry.add_op(op)
