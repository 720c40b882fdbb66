"""Arrangement op family: NumPy's functions that reorder, split, combine or pick the
elements of an array.

`roll rot90 flipud fliplr rollaxis append array_split vsplit hsplit dsplit broadcast_arrays
meshgrid take put_along_axis select kron cross`.

Every op here is a composite: a function built from ops that already have rules (getitem
slices, concatenate, reshape, flip, transpose, where, products), differentiated through
them, so every order works with no rule of its own. Indices (`take`, `put_along_axis`) are
constants: the gradient flows to the elements they pick. Where `put_along_axis` writes
twice at one place, the last value wins, as in NumPy, and only that value gets a gradient.
Sorting and partitioning are in `minidiff.ops.ordering`; differences, integrals,
interpolation and convolution in `minidiff.ops.calculus`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import minidiff as md
from minidiff.batching.tensor import BatchedTensor
from minidiff.extend import HOLOMORPHIC, Op, hookimpl, sample
from minidiff.ops._axes import along, normalize_axis
from minidiff.ops._operands import as_tensor, as_tensors, to_host
from minidiff._tensor import Tensor

__all__ = ["OPS"]


def _copy(x: Tensor) -> Tensor:
    # Always an op, so the result is a new tensor (no grad under md.no_grad()).
    return md.reshape(x, x.shape)


# ---------------------------------------------------------------------------- rolling and rotating


def roll(a: Any, shift: Any, axis: Any = None) -> Tensor:
    """`numpy.roll`: elements shifted along `axis` (the flattened array for None), those
    that fall off one end coming back at the other. Two slices, joined.

    >>> import minidiff as md
    >>> md.roll(md.Tensor([1.0, 2.0, 3.0]), 1)
    minidiff.Tensor([3., 1., 2.])
    """
    a = as_tensor(a)
    if axis is None:
        return md.reshape(roll(md.reshape(a, (-1,)), shift, 0), a.shape)
    shifts: dict[int, int] = {}
    for s, ax in np.broadcast(shift, axis):  # NumPy adds the shifts of a repeated axis
        ax = normalize_axis(int(ax), a.ndim)
        shifts[ax] = shifts.get(ax, 0) + int(s)
    out = a
    for ax, s in shifts.items():
        n = a.shape[ax]
        s = s % n if n else 0
        if s:
            out = md.concatenate([out[along(ax, slice(n - s, None))], out[along(ax, slice(0, n - s))]], axis=ax)
    return _copy(a) if out is a else out


def rot90(m: Any, k: int = 1, axes: Any = (0, 1)) -> Tensor:
    """`numpy.rot90`: rotated by 90 degrees `k` times in the plane of `axes`, from the
    first axis towards the second; a flip and a transpose.

    >>> import minidiff as md
    >>> md.rot90(md.Tensor([[1.0, 2.0], [3.0, 4.0]]))
    minidiff.Tensor([[2., 4.],
                     [1., 3.]])
    """
    m = as_tensor(m)
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError("rot90: len(axes) must be 2")
    if axes[0] == axes[1] or abs(axes[0] - axes[1]) == m.ndim:
        raise ValueError(f"rot90: the axes {axes} must be different")
    first, second = (normalize_axis(ax, m.ndim) for ax in axes)
    k %= 4
    if k == 0:
        return _copy(m)
    if k == 2:
        return md.flip(md.flip(m, first), second)
    order = list(range(m.ndim))
    order[first], order[second] = order[second], order[first]
    if k == 1:
        return md.transpose(md.flip(m, second), tuple(order))
    return md.flip(md.transpose(m, tuple(order)), second)


def flipud(m: Any) -> Tensor:
    """`numpy.flipud`: the order of the rows (axis 0) reversed."""
    m = as_tensor(m)
    if m.ndim < 1:
        raise ValueError("flipud: the input must be at least 1-D")
    return md.flip(m, 0)


def fliplr(m: Any) -> Tensor:
    """`numpy.fliplr`: the order of the columns (axis 1) reversed."""
    m = as_tensor(m)
    if m.ndim < 2:
        raise ValueError(f"fliplr: the input must be at least 2-D, got shape {m.shape}")
    return md.flip(m, 1)


def rollaxis(a: Any, axis: int, start: int = 0) -> Tensor:
    """`numpy.rollaxis`: `axis` moved to sit before position `start`."""
    a = as_tensor(a)
    n = a.ndim
    axis = normalize_axis(axis, n)
    if start < 0:
        start += n
    if not 0 <= start < n + 1:
        raise np.exceptions.AxisError(f"rollaxis: 'start' arg requires {-n} <= start < {n + 1}, but {start} was passed in")
    if axis < start:
        start -= 1
    if axis == start:
        return _copy(a)
    order = [d for d in range(n) if d != axis]
    order.insert(start, axis)
    return md.transpose(a, tuple(order))


# ---------------------------------------------------------------------------- joining and splitting


def append(arr: Any, values: Any, axis: Any = None) -> Tensor:
    """`numpy.append`: `values` joined after `arr` along `axis` (both flattened for None)."""
    arr, values = as_tensors(arr, values)
    if axis is None:
        return md.concatenate([md.reshape(arr, (-1,)), md.reshape(values, (-1,))], axis=0)
    return md.concatenate([arr, values], axis=axis)


def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """`numpy.array_split`: like `split`, but `n` sections need not divide the axis: the
    first `length % n` sections get one element more.

    >>> import minidiff as md
    >>> [p.shape for p in md.array_split(md.ones(5), 3)]
    [(2,), (2,), (1,)]
    """
    ary = as_tensor(ary)
    axis = normalize_axis(axis, ary.ndim)
    total = ary.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"array_split: the number of sections must be larger than 0, got {sections}")
        each, extras = divmod(total, sections)
        sizes = [each + 1] * extras + [each] * (sections - extras)
        bounds = [0, *np.cumsum(sizes).tolist()]
    else:
        bounds = [0, *(int(i) for i in indices_or_sections), total]
    return [ary[along(axis, slice(start, stop))] for start, stop in zip(bounds[:-1], bounds[1:])]


def vsplit(ary: Any, indices_or_sections: Any) -> list[Tensor]:
    """`numpy.vsplit`: `split` along axis 0, for arrays of 2 or more dimensions."""
    ary = as_tensor(ary)
    if ary.ndim < 2:
        raise ValueError(f"vsplit only works on arrays of 2 or more dimensions, got shape {ary.shape}")
    return md.split(ary, indices_or_sections, 0)


def hsplit(ary: Any, indices_or_sections: Any) -> list[Tensor]:
    """`numpy.hsplit`: `split` along axis 1 (axis 0 for 1-D arrays)."""
    ary = as_tensor(ary)
    if ary.ndim == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return md.split(ary, indices_or_sections, 1 if ary.ndim > 1 else 0)


def dsplit(ary: Any, indices_or_sections: Any) -> list[Tensor]:
    """`numpy.dsplit`: `split` along axis 2, for arrays of 3 or more dimensions."""
    ary = as_tensor(ary)
    if ary.ndim < 3:
        raise ValueError(f"dsplit only works on arrays of 3 or more dimensions, got shape {ary.shape}")
    return md.split(ary, indices_or_sections, 2)


def broadcast_arrays(*args: Any, subok: bool = False) -> list[Tensor]:
    """`numpy.broadcast_arrays`: every input broadcast to their common shape."""
    tensors = [as_tensor(a) for a in args]
    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    return [md.broadcast_to(t, shape) for t in tensors]  # a list, as the Array API asks (NumPy gives a tuple)


def meshgrid(*xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> list[Tensor]:
    """`numpy.meshgrid`: coordinate arrays from coordinate vectors, `"xy"` (Cartesian,
    the first two axes swapped) or `"ij"` (matrix) indexing, full or `sparse`.

    >>> import minidiff as md
    >>> [g.shape for g in md.meshgrid(md.ones(3), md.ones(2))]
    [(2, 3), (2, 3)]
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: valid values for `indexing` are 'xy' and 'ij', got {indexing!r}")
    ndim = len(xi)
    ones = (1,) * ndim
    out = [md.reshape(as_tensor(x), ones[:i] + (-1,) + ones[i + 1 :]) for i, x in enumerate(xi)]
    if indexing == "xy" and ndim > 1:
        out[0] = md.reshape(out[0], (1, -1) + ones[2:])
        out[1] = md.reshape(out[1], (-1, 1) + ones[2:])
    return broadcast_arrays(*out) if not sparse else out  # a list, as the Array API asks (NumPy gives a tuple)


# ---------------------------------------------------------------------------- picking and writing elements


_TAKE_MODES = ("raise", "wrap", "clip")


def take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> Tensor:
    """`numpy.take`: the elements at `indices` along `axis` (of the flattened array for
    None); repeated indices accumulate in the gradient.

    >>> import minidiff as md
    >>> md.take(md.Tensor([[1.0, 2.0], [3.0, 4.0]]), [0, 0, 3])
    minidiff.Tensor([1., 1., 4.])
    """
    if out is not None:
        raise TypeError("take: minidiff returns a new tensor; out= is for numpy.take called on Tensors")
    if mode not in _TAKE_MODES:
        raise ValueError(f"take: mode must be one of {_TAKE_MODES}, got {mode!r}")
    a = as_tensor(a)
    if axis is None:
        a, axis = md.reshape(a, (-1,)), 0
    axis = normalize_axis(axis, a.ndim)
    index = to_host(indices)
    if index.dtype.kind not in "iu":
        raise IndexError(f"take: indices must be integers, got dtype {index.dtype}")
    n = a.shape[axis]
    if mode == "wrap":
        index = np.mod(index, n)
    elif mode == "clip":
        index = np.clip(index, 0, n - 1)
    elif index.size and (index.min() < -n or index.max() >= n):
        raise IndexError(f"take: index {int(index.max() if index.max() >= n else index.min())} is out of bounds "
                         f"for axis {axis} with size {n}")
    return a[along(axis, index if index.ndim else int(index))]


def _along_axis_key(shape: tuple[int, ...], indices: np.ndarray, axis: int) -> tuple:
    """The host fancy index of `arr[take_along_axis positions]`: `indices` on `axis`,
    broadcasting aranges on the other axes."""
    return tuple(
        indices if d == axis else np.arange(n).reshape((1,) * d + (n,) + (1,) * (len(shape) - d - 1))
        for d, n in enumerate(shape)
    )


def put_along_axis(arr: Any, indices: Any, values: Any, axis: Any) -> Tensor:
    """`numpy.put_along_axis`: `arr` with `values` written at `indices` along `axis`, returned
    as a new tensor that is differentiable in `arr` and `values`. When `arr` is a Tensor that
    does not allow grad, the result is also written into it, as NumPy (and the original
    minidiff) do; a tensor that allows grad is left as it is (writing into it would corrupt
    its gradient). Where an index repeats, the last value wins, as in NumPy; the gradient
    reaches only the values that were kept.

    >>> import minidiff as md
    >>> board = md.zeros((2, 3))
    >>> md.put_along_axis(board, md.Tensor([[1], [2]]), 5.0, axis=1)
    minidiff.Tensor([[0., 5., 0.],
                     [0., 0., 5.]])
    >>> board.numpy().sum()
    np.float64(10.0)
    """
    target = arr
    in_place = type(target) is Tensor and not target.allow_grad
    if in_place:  # computed from a copy: writing into `arr` itself would make the graph stale
        arr = md.copy(target)
    result = _put_along_axis(arr, indices, values, axis)
    if in_place:
        target[...] = result.detach()
    return result


def _put_along_axis(arr: Any, indices: Any, values: Any, axis: Any) -> Tensor:
    arr, values = as_tensors(arr, values)
    index = to_host(indices)
    if axis is None:
        if index.ndim != 1:
            raise ValueError(f"put_along_axis: with axis=None, indices must be 1-D, got shape {index.shape}")
        return md.reshape(_put_along_axis(md.reshape(arr, (-1,)), index, values, 0), arr.shape)
    if index.dtype.kind not in "iu":
        raise IndexError(f"put_along_axis: indices must be integers, got dtype {index.dtype}")
    if index.ndim != arr.ndim:
        raise ValueError(
            f"put_along_axis: indices (shape {index.shape}) and arr (shape {arr.shape}) must have the same "
            f"number of dimensions"
        )
    axis = normalize_axis(axis, arr.ndim)
    key = _along_axis_key(arr.shape, index, axis)
    written = np.broadcast_shapes(*(k.shape for k in key))
    # Which of the written values each element ends up with: NumPy's own assignment decides
    # (the last one where an index repeats); -1 where nothing is written.
    writer = np.full(arr.shape, -1, dtype=np.intp)
    writer[key] = np.arange(math.prod(written)).reshape(written)
    kept = writer >= 0
    flat = md.reshape(md.broadcast_to(values, written), (-1,))
    picked = md.reshape(flat[np.where(kept, writer, 0).reshape(-1)], arr.shape)
    if picked.dtype != arr.dtype:
        picked = md.astype(picked, dtype=arr.dtype)  # NumPy casts the values to arr's dtype
    return md.where(kept, picked, arr)


def _put_along_axis_reference(arr: Any, indices: Any, values: Any, axis: Any) -> np.ndarray:
    out = np.array(arr, copy=True)
    np.put_along_axis(out, indices, values, axis)
    return out


def select(condlist: Any, choicelist: Any, default: Any = 0) -> Tensor:
    """`numpy.select`: from each position, the element of the first choice whose
    condition holds there, else `default`. A chain of `where`s, the last condition first.

    >>> import minidiff as md
    >>> x = md.Tensor([-1.0, 0.5, 2.0])
    >>> md.select([x < 0, x > 1], [-x, x * 10], default=x)
    minidiff.Tensor([ 1. ,  0.5, 20. ])
    """
    condlist, choicelist = list(condlist), list(choicelist)
    if len(condlist) != len(choicelist):
        raise ValueError(
            f"select: list of cases must be same length as list of conditions ({len(choicelist)} != {len(condlist)})"
        )
    if not condlist:
        raise ValueError("select with an empty condition list is not possible")
    for i, cond in enumerate(condlist):
        dtype = cond.dtype if isinstance(cond, (Tensor, BatchedTensor)) else np.asarray(cond).dtype
        if dtype != np.bool_:
            raise TypeError(f"select: invalid entry {i} in condlist: should be boolean ndarray, got dtype {dtype}")
    choices = as_tensors(*choicelist, *condlist)[: len(choicelist)]
    result = default
    for cond, choice in zip(reversed(condlist), reversed(choices)):
        result = md.where(cond, choice, result)
    return result


# ---------------------------------------------------------------------------- products


def kron(a: Any, b: Any) -> Tensor:
    """`numpy.kron`: the Kronecker product, every element of `a` times all of `b`; an
    outer product with the axes interleaved, then merged.

    >>> import minidiff as md
    >>> md.kron(md.Tensor([1.0, 10.0]), md.Tensor([1.0, 2.0]))
    minidiff.Tensor([ 1.,  2., 10., 20.])
    """
    a, b = as_tensors(a, b)
    ndim = max(a.ndim, b.ndim)
    a_shape = (1,) * (ndim - a.ndim) + a.shape
    b_shape = (1,) * (ndim - b.ndim) + b.shape
    spread_a = md.reshape(a, tuple(m for n in a_shape for m in (n, 1)))
    spread_b = md.reshape(b, tuple(m for n in b_shape for m in (1, n)))
    return md.reshape(spread_a * spread_b, tuple(p * q for p, q in zip(a_shape, b_shape)))


def cross(a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: Any = None) -> Tensor:
    """`numpy.cross`: the cross product of 3-vectors along the given axes (2-vectors
    count as having a zero third component; two 2-vectors give the scalar z component).

    >>> import minidiff as md
    >>> md.cross(md.Tensor([1.0, 0.0, 0.0]), md.Tensor([0.0, 1.0, 0.0]))
    minidiff.Tensor([0., 0., 1.])
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = as_tensors(a, b)
    a = md.moveaxis(a, normalize_axis(axisa, a.ndim), -1)
    b = md.moveaxis(b, normalize_axis(axisb, b.ndim), -1)
    if a.shape[-1] not in (2, 3) or b.shape[-1] not in (2, 3):
        raise ValueError(
            f"cross: incompatible dimensions for cross product (dimension must be 2 or 3), got vectors of "
            f"length {a.shape[-1]} and {b.shape[-1]}"
        )
    a0, a1, b0, b1 = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    z = a0 * b1 - a1 * b0
    if a.shape[-1] == 2 and b.shape[-1] == 2:
        return z
    if a.shape[-1] == 3 and b.shape[-1] == 3:
        a2, b2 = a[..., 2], b[..., 2]
        x, y = a1 * b2 - a2 * b1, a2 * b0 - a0 * b2
    elif a.shape[-1] == 2:
        b2 = b[..., 2]
        x, y = a1 * b2, -(a0 * b2)
    else:
        a2 = a[..., 2]
        x, y = -(a2 * b1), a2 * b0
    shape = np.broadcast_shapes(x.shape, y.shape, z.shape)
    out = md.stack([md.broadcast_to(c, shape) for c in (x, y, z)], axis=-1)
    return md.moveaxis(out, -1, normalize_axis(axisc, out.ndim))



# ---------------------------------------------------------------------------- the ops

# A tuple, not a list: the kit reads a list of arrays as differentiable operands.
_SELECT_CONDS = (
    np.array([[True, False, False, True], [False, False, True, True], [True, True, False, False]]),
    np.array([[True, True, False, False], [False, True, True, False], [False, True, False, True]]),
)

# Complex input: the engine differentiates a composite's parts, each by its own declaration;
# `complex=` here says what the kit checks on complex input: True for the ops that move
# elements (linear, real coefficients), HOLOMORPHIC for the products (kron, cross).
OPS = [
    Op(
        "roll",
        composite=roll,
        samples=(
            sample((5,), 2),
            sample((3, 4), -1, axis=1),
            sample((3, 4), 5),
            sample((2, 3, 4), [1, 2], axis=(0, -1)),
            sample((2, 3, 4), [1, 2], axis=(1, 1)),
            sample((3, 4), 0, axis=0),
            sample((), 1, axis=None),
        ),
        complex=True,
    ),
    Op(
        "rot90",
        composite=rot90,
        samples=(sample((3, 4)), sample((3, 4), 2), sample((3, 4), -1), sample((2, 3, 4), 3, axes=(2, 0)), sample((3, 4), 4)),
        complex=True,
    ),
    Op("flipud", composite=flipud, samples=(sample((3, 4)), sample((5,))), complex=True),
    Op("fliplr", composite=fliplr, samples=(sample((3, 4)), sample((2, 3, 4))), complex=True),
    Op(
        "rollaxis",
        composite=rollaxis,
        samples=(sample((2, 3, 4), 2), sample((2, 3, 4), 0, 3), sample((2, 3, 4), -1, 1), sample((2, 3, 4), 1, 2)),
        complex=True,
    ),
    Op(
        "append",
        composite=append,
        samples=(sample((3, 4), (5,)), sample((3, 4), (2, 4), axis=0), sample((3, 4), (3, 1), axis=-1)),
        complex=True,
    ),
    Op(
        "array_split",
        composite=array_split,
        samples=(sample((5, 2), 3), sample((2, 7), 4, axis=1), sample((6,), [1, 4, 9]), sample((3, 2), 3)),
        complex=True,
    ),
    Op("vsplit", composite=vsplit, samples=(sample((4, 3), 2), sample((5, 2), [1, 3])), complex=True),
    Op("hsplit", composite=hsplit, samples=(sample((2, 6), 3), sample((6,), [2])), complex=True),
    Op("dsplit", composite=dsplit, samples=(sample((2, 3, 4), 2), sample((1, 2, 5), [1, 4])), complex=True),
    Op(
        "broadcast_arrays",
        composite=broadcast_arrays,
        samples=(sample((3, 1), (4,)), sample((2, 1, 3), (4, 1), ()), sample((3,))),
        complex=True,
    ),
    Op(
        "meshgrid",
        composite=meshgrid,
        samples=(
            sample((3,), (4,)),
            sample((3,), (4,), indexing="ij"),
            sample((2,), (3,), (4,), sparse=True),
            sample((2, 2), (3,)),  # inputs are flattened
            sample((3,)),
        ),
        complex=True,
    ),
    Op(
        "take",
        composite=take,
        samples=(
            sample((3, 4), np.array([0, 5, 5, 11])),
            sample((3, 4), np.array([[2, 0], [2, -1]]), axis=0),
            sample((3, 4), 1, axis=1),
            sample((3, 4), np.array([4, -5, 7]), axis=1, mode="wrap"),
            sample((3, 4), np.array([4, -5, 2]), axis=-1, mode="clip"),
        ),
        complex=True,
    ),
    Op(
        "put_along_axis",
        composite=put_along_axis,
        reference=_put_along_axis_reference,
        samples=(
            sample((3, 4), np.array([[1], [0], [3]]), (3, 1), 1),
            sample((3, 4), np.array([[0, 2, 1, 0]]), (1, 4), 0),
            sample((3, 4), np.array([[1, 1], [0, 3], [2, 2]]), (3, 2), -1),  # repeats: the last value wins
            sample((3, 4), np.array([[2], [0], [1]]), (), 1),  # one value broadcast
            sample((3, 4), np.array([0, 11, 5]), (3,), None),
        ),
        complex=True,
    ),
    Op(
        "select",
        composite=select,
        samples=(
            sample(_SELECT_CONDS, [(3, 4), (3, 4)]),
            sample(_SELECT_CONDS, [(3, 4), (4,)], 1.5),
            sample(_SELECT_CONDS[:1], [(1, 4)], np.linspace(-1.0, 1.0, 12).reshape(3, 4)),
        ),
        complex=True,
    ),
    Op(
        "kron",
        composite=kron,
        samples=(sample((2, 3), (3, 2)), sample((3,), (2,)), sample((2, 2), (3,)), sample((2,), (2, 1, 2)), sample((), (3,))),
        complex=HOLOMORPHIC,
    ),
    Op(
        "cross",
        composite=cross,
        samples=(
            sample((3,), (3,)),
            sample((4, 3), (4, 3)),
            sample((2, 3), (3,)),
            sample((3, 4), (4, 3), axisa=0, axisc=0),
            sample((3, 2), (2, 3), axisa=0, axisb=1, axisc=-1),
            sample((3, 2), (3, 2), axis=0),
        ),
        complex=HOLOMORPHIC,
    ),
]


@hookimpl
def minidiff_register_ops(registry) -> None:
    for op in OPS:
        registry.add_op(op)
