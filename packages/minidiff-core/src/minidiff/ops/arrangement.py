"""Arrangement op family: NumPy's functions that reorder, split, combine or sample an array.

`roll rot90 flipud fliplr rollaxis append array_split vsplit hsplit dsplit sort partition
take put_along_axis select kron cross meshgrid broadcast_arrays ediff1d trapezoid interp
convolve correlate gradient`.

Every op here is a composite: a function built from ops that already have rules (getitem
slices, concatenate, reshape, take_along_axis, where, products and sums), differentiated
through them, so every order works with no rule of its own. Where an op picks elements by
comparing values (`sort`, `partition`, `interp`), the indices are computed on the values
and passed to take_along_axis or getitem as constants: the choice is piecewise constant,
so it carries no derivative, and the gradient is the one of the elements picked.

Conventions at the points where the choice changes (the kinks), checked against PyTorch
and JAX:

- `sort`, `partition`: tied elements are ordered stably (the first in the input takes the
  first place), so each tie receives the cotangent of one output position, as torch.sort
  (stable=True) and jax.numpy.sort do.
- `interp` at a knot `x == xp[k]` differentiates along the segment to the right of the
  knot (the one NumPy evaluates), at `xp[-1]` along the last segment; outside
  `[xp[0], xp[-1]]` the value is `left`/`right` and the derivative in `x` is 0, as
  jax.numpy.interp does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import minidiff as md
from minidiff.extend import Op, hookimpl, sample
from minidiff.ops._axes import normalize_axis
from minidiff._tensor import Tensor, make_tensor

__all__ = ["OPS"]


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _tensors(*xs: Any) -> list[Tensor]:
    """Each argument as a Tensor, arrays and numbers on the backend of the Tensors among them."""
    backend = next((x.backend.name for x in xs if isinstance(x, Tensor)), None)
    return [x if isinstance(x, Tensor) else Tensor(x, backend=backend) for x in xs]


def _host(x: Any) -> np.ndarray:
    """The values of `x` as a host array (for choosing indices, which carry no gradient)."""
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


def _along(axis: int, key: Any) -> tuple:
    """The getitem key that applies `key` on `axis` and takes everything on the axes before."""
    return (slice(None),) * axis + (key,)


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
    a = _tensor(a)
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
            out = md.concatenate([out[_along(ax, slice(n - s, None))], out[_along(ax, slice(0, n - s))]], axis=ax)
    return _copy(a) if out is a else out


def rot90(m: Any, k: int = 1, axes: Any = (0, 1)) -> Tensor:
    """`numpy.rot90`: rotated by 90 degrees `k` times in the plane of `axes`, from the
    first axis towards the second; a flip and a transpose.

    >>> import minidiff as md
    >>> md.rot90(md.Tensor([[1.0, 2.0], [3.0, 4.0]]))
    minidiff.Tensor([[2., 4.],
                     [1., 3.]])
    """
    m = _tensor(m)
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
    m = _tensor(m)
    if m.ndim < 1:
        raise ValueError("flipud: the input must be at least 1-D")
    return md.flip(m, 0)


def fliplr(m: Any) -> Tensor:
    """`numpy.fliplr`: the order of the columns (axis 1) reversed."""
    m = _tensor(m)
    if m.ndim < 2:
        raise ValueError(f"fliplr: the input must be at least 2-D, got shape {m.shape}")
    return md.flip(m, 1)


def rollaxis(a: Any, axis: int, start: int = 0) -> Tensor:
    """`numpy.rollaxis`: `axis` moved to sit before position `start`."""
    a = _tensor(a)
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
    arr, values = _tensors(arr, values)
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
    ary = _tensor(ary)
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
    return [ary[_along(axis, slice(start, stop))] for start, stop in zip(bounds[:-1], bounds[1:])]


def vsplit(ary: Any, indices_or_sections: Any) -> list[Tensor]:
    """`numpy.vsplit`: `split` along axis 0, for arrays of 2 or more dimensions."""
    ary = _tensor(ary)
    if ary.ndim < 2:
        raise ValueError(f"vsplit only works on arrays of 2 or more dimensions, got shape {ary.shape}")
    return md.split(ary, indices_or_sections, 0)


def hsplit(ary: Any, indices_or_sections: Any) -> list[Tensor]:
    """`numpy.hsplit`: `split` along axis 1 (axis 0 for 1-D arrays)."""
    ary = _tensor(ary)
    if ary.ndim == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return md.split(ary, indices_or_sections, 1 if ary.ndim > 1 else 0)


def dsplit(ary: Any, indices_or_sections: Any) -> list[Tensor]:
    """`numpy.dsplit`: `split` along axis 2, for arrays of 3 or more dimensions."""
    ary = _tensor(ary)
    if ary.ndim < 3:
        raise ValueError(f"dsplit only works on arrays of 3 or more dimensions, got shape {ary.shape}")
    return md.split(ary, indices_or_sections, 2)


def broadcast_arrays(*args: Any, subok: bool = False) -> tuple[Tensor, ...]:
    """`numpy.broadcast_arrays`: every input broadcast to their common shape."""
    tensors = [_tensor(a) for a in args]
    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    return tuple(md.broadcast_to(t, shape) for t in tensors)


def meshgrid(*xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> tuple[Tensor, ...]:
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
    out = [md.reshape(_tensor(x), ones[:i] + (-1,) + ones[i + 1 :]) for i, x in enumerate(xi)]
    if indexing == "xy" and ndim > 1:
        out[0] = md.reshape(out[0], (1, -1) + ones[2:])
        out[1] = md.reshape(out[1], (-1, 1) + ones[2:])
    return broadcast_arrays(*out) if not sparse else tuple(out)


# ---------------------------------------------------------------------------- order


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
    a = _tensor(a)
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
    a = _tensor(a)
    if axis is None:
        a, axis = md.reshape(a, (-1,)), 0
    axis = normalize_axis(axis, a.ndim)
    indices = np.argpartition(_host(a), _host(kth), axis=axis, kind=kind)
    return md.take_along_axis(a, indices, axis=axis)


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
    a = _tensor(a)
    if axis is None:
        a, axis = md.reshape(a, (-1,)), 0
    axis = normalize_axis(axis, a.ndim)
    index = _host(indices)
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
    return a[_along(axis, index if index.ndim else int(index))]


def _along_axis_key(shape: tuple[int, ...], indices: np.ndarray, axis: int) -> tuple:
    """The host fancy index of `arr[take_along_axis positions]`: `indices` on `axis`,
    broadcasting aranges on the other axes."""
    return tuple(
        indices if d == axis else np.arange(n).reshape((1,) * d + (n,) + (1,) * (len(shape) - d - 1))
        for d, n in enumerate(shape)
    )


def put_along_axis(arr: Any, indices: Any, values: Any, axis: Any) -> Tensor:
    """`numpy.put_along_axis` as a function: a new tensor, `arr` with `values` written at
    `indices` along `axis` (NumPy writes into `arr` and returns None; so does
    `numpy.put_along_axis(tensor, ...)`). Where an index repeats, the last value wins, as
    in NumPy; the gradient reaches only the values that were kept.

    >>> import minidiff as md
    >>> md.put_along_axis(md.zeros((2, 3)), md.Tensor([[1], [2]]), 5.0, axis=1)
    minidiff.Tensor([[0., 5., 0.],
                     [0., 0., 5.]])
    """
    arr, values = _tensors(arr, values)
    index = _host(indices)
    if axis is None:
        if index.ndim != 1:
            raise ValueError(f"put_along_axis: with axis=None, indices must be 1-D, got shape {index.shape}")
        return md.reshape(put_along_axis(md.reshape(arr, (-1,)), index, values, 0), arr.shape)
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
        dtype = cond.dtype if isinstance(cond, Tensor) else np.asarray(cond).dtype
        if dtype != np.bool_:
            raise TypeError(f"select: invalid entry {i} in condlist: should be boolean ndarray, got dtype {dtype}")
    choices = _tensors(*choicelist, *condlist)[: len(choicelist)]
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
    a, b = _tensors(a, b)
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
    a, b = _tensors(a, b)
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


# ---------------------------------------------------------------------------- differences and integrals


def ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Tensor:
    """`numpy.ediff1d`: differences of consecutive elements of the flattened array, with
    `to_begin` and `to_end` joined before and after."""
    ary = _tensor(ary)
    flat = md.reshape(ary, (-1,))

    def extra(values: Any, name: str) -> Tensor:
        values = md.reshape(_tensors(values, ary)[0], (-1,))
        if not np.can_cast(values.dtype, flat.dtype, casting="same_kind"):
            raise TypeError(f"ediff1d: dtype of `{name}` must be compatible with input `ary` under the `same_kind` rule")
        return md.astype(values, dtype=flat.dtype)

    pieces = [flat[1:] - flat[:-1]]
    if to_begin is not None:
        pieces.insert(0, extra(to_begin, "to_begin"))
    if to_end is not None:
        pieces.append(extra(to_end, "to_end"))
    return pieces[0] if len(pieces) == 1 else md.concatenate(pieces, axis=0)


def trapezoid(y: Any, x: Any = None, dx: Any = 1.0, axis: int = -1) -> Tensor:
    """`numpy.trapezoid`: the integral of `y` along `axis` by the trapezoidal rule, at
    spacing `dx` or at sample points `x` (differentiable too).

    >>> import minidiff as md
    >>> md.trapezoid(md.Tensor([1.0, 2.0, 3.0]))
    minidiff.Tensor(4.)
    """
    y = _tensor(y)
    axis = normalize_axis(axis, y.ndim)
    if x is None:
        d = dx
    else:
        x = _tensor(x)
        if x.ndim == 1:
            d = md.diff(x)
            d = md.reshape(d, tuple(d.shape[0] if i == axis else 1 for i in range(y.ndim)))
        else:
            d = md.diff(x, axis=axis)
    upper = y[_along(axis, slice(1, None))]
    lower = y[_along(axis, slice(None, -1))]
    return md.sum(d * (upper + lower) / 2.0, axis=axis)


def interp(x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None, period: Any = None) -> Tensor:
    """`numpy.interp`: the piecewise-linear interpolant through `(xp, fp)` at `x`,
    differentiable in `x`, `fp` and the knots `xp`. At a knot the derivative in `x` is the
    slope of the segment to its right (the last segment's at `xp[-1]`); outside the knots
    the value is `left`/`right` (default `fp[0]`/`fp[-1]`), flat in `x`.

    >>> import minidiff as md
    >>> md.interp(md.Tensor([0.5, 2.5]), md.Tensor([0.0, 1.0, 2.0]), md.Tensor([0.0, 10.0, 0.0]))
    minidiff.Tensor([5., 0.])
    """
    x, knots, values = _tensor(x), _tensor(xp), _tensor(fp)
    if knots.ndim != 1 or values.ndim != 1:
        raise ValueError(f"interp: data points must be 1-D sequences, got xp {knots.shape} and fp {values.shape}")
    if knots.shape[0] != values.shape[0]:
        raise ValueError(f"interp: fp and xp are not of the same length ({values.shape[0]} != {knots.shape[0]})")
    if knots.shape[0] == 0:
        raise ValueError("interp: array of sample points is empty")
    if values.dtype.kind == "c":
        raise TypeError("interp: complex fp is not supported in minidiff")
    if period is not None:
        if period == 0:
            raise ValueError("interp: period must be a non-zero value")
        period = abs(period)
        left = right = None
        x, knots = x % period, knots % period
        order = np.argsort(_host(knots), kind="stable")
        knots, values = knots[order], values[order]
        knots = md.concatenate([knots[-1:] - period, knots, knots[:1] + period])
        values = md.concatenate([values[-1:], values, values[:1]])
    n = knots.shape[0]
    first, last = values[0], values[n - 1]
    if n == 1:
        inside = md.broadcast_to(first, x.shape)
    else:
        # the segment [i - 1, i] NumPy evaluates: i is the first knot right of x
        i = np.clip(np.searchsorted(_host(knots), _host(x), side="right"), 1, n - 1)
        x0, x1, y0, y1 = knots[i - 1], knots[i], values[i - 1], values[i]
        width = x1 - x0
        width = md.where(width == 0, 1.0, width)  # a repeated knot: never between its copies
        inside = y0 + (y1 - y0) / width * (x - x0)
    below = first if left is None else left
    above = last if right is None else right
    out = md.where(x < knots[0], below, md.where(x > knots[n - 1], above, inside))
    return out if out.dtype == np.float64 else md.astype(out, dtype=np.float64)  # NumPy's interp gives float64


def _correlate_full(a: Tensor, v: Tensor) -> Tensor:
    """Every lag of the cross-correlation, c[k] = sum_j a[k + j] v[j] for k = -(m - 1) .. n - 1,
    as a product of `v` with the windows of the zero-padded `a` (getitem with an index matrix)."""
    n, m = a.shape[0], v.shape[0]
    padded = md.pad(a, (m - 1, m - 1))
    windows = padded[np.arange(n + m - 1)[:, None] + np.arange(m)[None, :]]
    return md.matmul(windows, v)


_MODES = ("full", "same", "valid")


def _check_1d(name: str, a: Tensor, v: Tensor, mode: str) -> None:
    if mode not in _MODES:
        raise ValueError(f"{name}: mode must be one of {_MODES}, got {mode!r}")
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError(f"{name}: object too deep for desired array: inputs must be 1-D, got {a.shape} and {v.shape}")
    if a.shape[0] == 0 or v.shape[0] == 0:
        raise ValueError(f"{name}: inputs cannot be empty")


def _mode_slice(full: Tensor, n: int, m: int, mode: str) -> Tensor:
    """The part of the full correlation (length n + m - 1) NumPy returns for `mode`."""
    if mode == "full":
        return full
    longer, shorter = max(n, m), min(n, m)
    if mode == "valid":
        return full[shorter - 1 : longer]
    start = (shorter - 1) // 2 if n >= m else shorter // 2
    return full[start : start + longer]


def correlate(a: Any, v: Any, mode: str = "valid") -> Tensor:
    """`numpy.correlate` of two 1-D sequences: `c[k] = sum_n a[n + k] v[n]`, with NumPy's
    `mode` ("valid", "same" or "full").

    >>> import minidiff as md
    >>> md.correlate(md.Tensor([1.0, 2.0, 3.0]), md.Tensor([0.0, 1.0, 0.5]))
    minidiff.Tensor(3.5)
    """
    a, v = _tensor(a), _tensor(v)
    _check_1d("correlate", a, v, mode)
    n, m = a.shape[0], v.shape[0]
    return _mode_slice(_correlate_full(a, v), n, m, mode)


def convolve(a: Any, v: Any, mode: str = "full") -> Tensor:
    """`numpy.convolve` of two 1-D sequences: `(a * v)[k] = sum_j a[j] v[k - j]`, with
    NumPy's `mode` ("full", "same" or "valid").

    >>> import minidiff as md
    >>> md.convolve(md.Tensor([1.0, 2.0]), md.Tensor([1.0, 1.0]))
    minidiff.Tensor([1., 3., 2.])
    """
    a, v = _tensor(a), _tensor(v)
    _check_1d("convolve", a, v, mode)
    if v.shape[0] > a.shape[0]:  # NumPy convolves the longer with the shorter
        a, v = v, a
    return _mode_slice(_correlate_full(a, md.flip(v, 0)), a.shape[0], v.shape[0], mode)


def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """`numpy.gradient`: second-order central differences inside, one-sided differences of
    order `edge_order` (1 or 2) at the ends, along each axis; spacings are scalars or
    coordinate arrays (differentiable too). One tensor for one axis, else a tuple.

    >>> import minidiff as md
    >>> md.gradient(md.Tensor([1.0, 2.0, 4.0, 7.0]))
    minidiff.Tensor([1. , 1.5, 2.5, 3. ])
    """
    f = _tensor(f)
    if f.dtype.kind in "iub":
        f = md.astype(f, dtype=np.float64)
    if axis is None:
        axes = tuple(range(f.ndim))
    else:  # NumPy keeps the order given
        axes = tuple(normalize_axis(ax, f.ndim) for ax in ((axis,) if isinstance(axis, int) else axis))
    if len(varargs) == 0:
        spacings: list[Any] = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(_host(varargs[0])) == 0:
        spacings = [varargs[0]] * len(axes)
    elif len(varargs) == len(axes):
        spacings = []
        for ax, distances in zip(axes, varargs):
            if np.ndim(_host(distances)) == 0:
                spacings.append(distances)
                continue
            distances = _tensor(distances)
            if distances.ndim != 1:
                raise ValueError("gradient: distances must be either scalars or 1d")
            if distances.shape[0] != f.shape[ax]:
                raise ValueError("gradient: when 1d, distances must match the length of the corresponding dimension")
            if distances.dtype.kind in "iu":
                distances = md.astype(distances, dtype=np.float64)
            steps = md.diff(distances)
            host = _host(steps)
            # NumPy uses the uniform formulas when the steps are equal; not for coordinates that
            # need a gradient, whose derivative must see each step on its own
            uniform = (host == host[0]).all() and not distances.allow_grad
            spacings.append(steps[0] if uniform else steps)
    else:
        raise TypeError("gradient: invalid number of arguments")
    if edge_order not in (1, 2):
        raise ValueError(f"gradient: edge_order must be 1 or 2, got {edge_order}")
    out = [_gradient_along(f, ax, h, edge_order) for ax, h in zip(axes, spacings)]
    return out[0] if len(out) == 1 else tuple(out)


def _gradient_along(f: Tensor, axis: int, h: Any, edge_order: int) -> Tensor:
    # The formulas and their order are NumPy's (numpy/lib/_function_base_impl.py, gradient).
    if f.shape[axis] < edge_order + 1:
        raise ValueError(
            "gradient: shape of array too small to calculate a numerical gradient, at least "
            f"(edge_order + 1) = {edge_order + 1} elements are required along axis {axis}"
        )

    def at(start: Any, stop: Any = None) -> Tensor:
        return f[_along(axis, slice(start, stop))]

    def column(values: Tensor) -> Any:  # spacings along `axis`, broadcast over the others
        return md.reshape(values, tuple(-1 if d == axis else 1 for d in range(f.ndim)))

    uniform = not (isinstance(h, Tensor) and h.ndim == 1)
    if uniform:
        inner = (at(2, None) - at(None, -2)) / (2.0 * h)
    else:
        h1, h2 = h[:-1], h[1:]
        a = -h2 / (h1 * (h1 + h2))
        b = (h2 - h1) / (h1 * h2)
        c = h1 / (h2 * (h1 + h2))
        inner = column(a) * at(None, -2) + column(b) * at(1, -1) + column(c) * at(2, None)
    if edge_order == 1:
        first = (at(1, 2) - at(0, 1)) / (h if uniform else h[0])
        last = (at(-1) - at(-2, -1)) / (h if uniform else h[-1])
    else:
        if uniform:
            a, b, c = -1.5 / h, 2.0 / h, -0.5 / h
        else:
            h1, h2 = h[0], h[1]
            a = -(2.0 * h1 + h2) / (h1 * (h1 + h2))
            b = (h1 + h2) / (h1 * h2)
            c = -h1 / (h2 * (h1 + h2))
        first = a * at(0, 1) + b * at(1, 2) + c * at(2, 3)
        if uniform:
            a, b, c = 0.5 / h, -2.0 / h, 1.5 / h
        else:
            h1, h2 = h[-2], h[-1]
            a = h2 / (h1 * (h1 + h2))
            b = -(h2 + h1) / (h1 * h2)
            c = (2.0 * h2 + h1) / (h2 * (h1 + h2))
        last = a * at(-3, -2) + b * at(-2, -1) + c * at(-1)
    out = md.concatenate([first, inner, last], axis=axis)
    return out if out.dtype == f.dtype else md.astype(out, dtype=f.dtype)


# ---------------------------------------------------------------------------- the ops

# Sorting samples: distinct values (differentiated) and ties (the forward only).
_TIES = np.array([[1.0, 3.0, 3.0, -1.0], [2.0, 2.0, 2.0, 0.5], [0.0, -4.0, -4.0, 1.0]])
_KNOTS = np.array([-1.5, -0.4, 0.3, 1.2, 1.7])
# A tuple, not a list: the kit reads a list of arrays as differentiable operands.
_SELECT_CONDS = (
    np.array([[True, False, False, True], [False, False, True, True], [True, True, False, False]]),
    np.array([[True, True, False, False], [False, True, True, False], [False, True, False, True]]),
)

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
    ),
    Op(
        "rot90",
        composite=rot90,
        samples=(sample((3, 4)), sample((3, 4), 2), sample((3, 4), -1), sample((2, 3, 4), 3, axes=(2, 0)), sample((3, 4), 4)),
    ),
    Op("flipud", composite=flipud, samples=(sample((3, 4)), sample((5,)))),
    Op("fliplr", composite=fliplr, samples=(sample((3, 4)), sample((2, 3, 4)))),
    Op(
        "rollaxis",
        composite=rollaxis,
        samples=(sample((2, 3, 4), 2), sample((2, 3, 4), 0, 3), sample((2, 3, 4), -1, 1), sample((2, 3, 4), 1, 2)),
    ),
    Op(
        "append",
        composite=append,
        samples=(sample((3, 4), (5,)), sample((3, 4), (2, 4), axis=0), sample((3, 4), (3, 1), axis=-1)),
    ),
    Op(
        "array_split",
        composite=array_split,
        samples=(sample((5, 2), 3), sample((2, 7), 4, axis=1), sample((6,), [1, 4, 9]), sample((3, 2), 3)),
    ),
    Op("vsplit", composite=vsplit, samples=(sample((4, 3), 2), sample((5, 2), [1, 3]))),
    Op("hsplit", composite=hsplit, samples=(sample((2, 6), 3), sample((6,), [2]))),
    Op("dsplit", composite=dsplit, samples=(sample((2, 3, 4), 2), sample((1, 2, 5), [1, 4]))),
    Op(
        "broadcast_arrays",
        composite=broadcast_arrays,
        samples=(sample((3, 1), (4,)), sample((2, 1, 3), (4, 1), ()), sample((3,))),
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
    ),
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
    ),
    Op(
        "select",
        composite=select,
        samples=(
            sample(_SELECT_CONDS, [(3, 4), (3, 4)]),
            sample(_SELECT_CONDS, [(3, 4), (4,)], 1.5),
            sample(_SELECT_CONDS[:1], [(1, 4)], np.linspace(-1.0, 1.0, 12).reshape(3, 4)),
        ),
    ),
    Op(
        "kron",
        composite=kron,
        samples=(sample((2, 3), (3, 2)), sample((3,), (2,)), sample((2, 2), (3,)), sample((2,), (2, 1, 2)), sample((), (3,))),
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
    ),
    Op("ediff1d", composite=ediff1d, samples=(sample((5,)), sample((3, 4)), sample((4,), (2,), (1,)), sample((4,), to_begin=(3,)))),
    Op(
        "trapezoid",
        composite=trapezoid,
        samples=(
            sample((5,)),
            sample((3, 4), dx=0.5, axis=0),
            sample((3, 4), (4,)),
            sample((2, 3, 4), (2, 3, 4), axis=1),
            sample((3, 4), (3,), axis=0),
        ),
    ),
    Op(
        "interp",
        composite=interp,
        samples=(
            sample((3, 4), _KNOTS, (5,)),
            sample((7,), _KNOTS, (5,), -3.0, 4.0),
            sample((3,), np.array([0.5]), (1,)),
            sample((6,), _KNOTS, (5,), period=2.5),
            sample(np.concatenate([_KNOTS, [-2.0, 2.0]]), _KNOTS, (5,), order=0),  # at the knots, outside
        ),
    ),
    Op(
        "correlate",
        composite=correlate,
        samples=tuple(
            sample((n,), (m,), mode=mode) for n, m in ((5, 3), (3, 5), (4, 4), (6, 2)) for mode in _MODES
        ) + (sample((5,), (3,)),),
    ),
    Op(
        "convolve",
        composite=convolve,
        samples=tuple(
            sample((n,), (m,), mode=mode) for n, m in ((5, 3), (3, 5), (4, 4), (6, 1)) for mode in _MODES
        ) + (sample((5,), (3,)),),
    ),
    Op(
        "gradient",
        composite=gradient,
        samples=(
            sample((6,)),
            sample((6,), 0.5),
            sample((3, 4)),
            sample((3, 4), axis=0),
            sample((3, 5), 2.0, axis=1, edge_order=2),
            sample((5,), np.array([0.0, 0.5, 1.5, 1.7, 3.0])),
            sample((5,), np.array([0.0, 0.5, 1.5, 1.7, 3.0]), edge_order=2),
            sample((3, 4), 2.0, np.array([0.0, 1.0, 3.0, 3.5]), edge_order=2),
            sample((3, 4), np.array([0.0, 2.0, 4.0]), axis=0),  # uniform coordinates
            sample((4, 3), axis=(1, 0)),
        ),
    ),
]


@hookimpl
def minidiff_register_ops(registry) -> None:
    for op in OPS:
        registry.add_op(op)
