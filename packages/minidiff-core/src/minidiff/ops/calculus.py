"""Calculus op family: NumPy's functions on sampled data, the discrete counterparts of
differentiating, integrating and interpolating a function, and of convolving two.

`ediff1d trapezoid interp convolve correlate gradient`.

Every op here is a composite: a function built from ops that already have rules (getitem
slices, concatenate, pad, matmul, where, products and sums), differentiated through them,
so every order works with no rule of its own. Sample points and spacings (`trapezoid`'s
`x`, `interp`'s `xp`, `gradient`'s coordinates) are differentiable too. Where `interp`
picks a segment by comparing values, the index is computed on the values and used as a
constant: the choice is piecewise constant, so it carries no derivative.

Conventions at the points where the choice changes (the kinks), checked against PyTorch
and JAX: `interp` at a knot `x == xp[k]` differentiates along the segment to the right of
the knot (the one NumPy evaluates), at `xp[-1]` along the last segment; outside
`[xp[0], xp[-1]]` the value is `left`/`right` and the derivative in `x` is 0, as
jax.numpy.interp does.

Under `md.vmap` each op runs once on the whole batch (`rules.composite`): the functions
work along the last axis (or a given one) with any leading axes, so a batch is one more
leading axis; an operand shared by the batch broadcasts. `interp` with knots per example
finds every example's segments in one sort; `gradient` and `trapezoid` take spacings and
sample points per example too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minidiff as md
from minidiff.batching import rules
from minidiff.extend import HOLOMORPHIC, Op, hookimpl, sample
from minidiff.ops._axes import along, normalize_axis
from minidiff.ops._operands import as_tensor, as_tensors, to_host
from minidiff._tensor import Tensor

__all__ = ["OPS"]


# ---------------------------------------------------------------------------- differences and integrals


def ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Tensor:
    """`numpy.ediff1d`: differences of consecutive elements of the flattened array, with
    `to_begin` and `to_end` joined before and after."""
    ary = as_tensor(ary)

    def flat(values: Any) -> Any:
        return None if values is None else md.reshape(as_tensors(values, ary)[0], (-1,))

    return _differences(md.reshape(ary, (-1,)), flat(to_end), flat(to_begin))


def _differences(flat: Tensor, to_end: Any, to_begin: Any) -> Tensor:
    """ediff1d along the last axis of `flat` (leading axes: a batch), `to_end` and `to_begin`
    laid out the same way."""

    def extra(values: Tensor, name: str) -> Tensor:
        if not np.can_cast(values.dtype, flat.dtype, casting="same_kind"):
            raise TypeError(f"ediff1d: dtype of `{name}` must be compatible with input `ary` under the `same_kind` rule")
        return md.astype(values, dtype=flat.dtype)

    pieces = [flat[..., 1:] - flat[..., :-1]]
    if to_begin is not None:
        pieces.insert(0, extra(to_begin, "to_begin"))
    if to_end is not None:
        pieces.append(extra(to_end, "to_end"))
    return pieces[0] if len(pieces) == 1 else md.concatenate(pieces, axis=-1)


def _ediff1d_batch(call: Any, args: tuple, batched: tuple, params: dict) -> Tensor:
    # each example flattened into one row; a shared operand gives every row the same values
    size = rules.batch_size(args, batched)
    like = next(a for a, b in zip(args, batched) if b)

    def rows(values: Any, mapped: bool) -> Any:
        if values is None:
            return None
        if not mapped:
            values = rules.to_batched(md.reshape(as_tensors(values, like)[0], (-1,)), size)
        return md.reshape(values, (size, -1))

    ary, to_end, to_begin = (rows(a, b) for a, b in zip(args, batched))
    return _differences(ary, to_end, to_begin)


def trapezoid(y: Any, x: Any = None, dx: Any = 1.0, axis: int = -1) -> Tensor:
    """`numpy.trapezoid`: the integral of `y` along `axis` by the trapezoidal rule, at
    spacing `dx` or at sample points `x` (differentiable too).

    >>> import minidiff as md
    >>> md.trapezoid(md.Tensor([1.0, 2.0, 3.0]))
    minidiff.Tensor(4.)
    """
    y = as_tensor(y)
    axis = normalize_axis(axis, y.ndim)
    if x is None:
        d = dx
    else:
        x = as_tensor(x)
        if x.ndim == 1:
            d = md.diff(x)
            d = md.reshape(d, tuple(d.shape[0] if i == axis else 1 for i in range(y.ndim)))
        else:
            d = md.diff(x, axis=axis)
    upper = y[along(axis, slice(1, None))]
    lower = y[along(axis, slice(None, -1))]
    return md.sum(d * (upper + lower) / 2.0, axis=axis)


def _trapezoid_batch(call: Any, args: tuple, batched: tuple, params: dict) -> Tensor:
    # One call with the axis shifted past the batch; sample points given per example become
    # y's rank (their axis in place), and shared ones of y's rank get a broadcast batch axis.
    y, x, dx = args
    size = rules.batch_size(args, batched)
    like = next(a for a, b in zip(args, batched) if b)
    y = y if batched[0] else rules.to_batched(as_tensors(y, like)[0], size)
    ndim = y.ndim - 1
    axis = rules.shift_axis(params["axis"], ndim)
    if x is not None:
        x = as_tensors(x, like)[0]
        if batched[1] and x.ndim == 2:
            x = md.reshape(x, (size,) + tuple(-1 if d == axis else 1 for d in range(1, ndim + 1)))
        elif not batched[1] and x.ndim != 1:
            x = md.expand_dims(x, 0)
    if batched[2]:
        dx = rules.pad_to(dx, ndim)
    return call(y, x, dx, axis=axis)


# ---------------------------------------------------------------------------- interpolation


def interp(x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None, period: Any = None) -> Tensor:
    """`numpy.interp`: the piecewise-linear interpolant through `(xp, fp)` at `x`,
    differentiable in `x`, `fp` and the knots `xp`. At a knot the derivative in `x` is the
    slope of the segment to its right (the last segment's at `xp[-1]`); outside the knots
    the value is `left`/`right` (default `fp[0]`/`fp[-1]`), flat in `x`.

    >>> import minidiff as md
    >>> md.interp(md.Tensor([0.5, 2.5]), md.Tensor([0.0, 1.0, 2.0]), md.Tensor([0.0, 10.0, 0.0]))
    minidiff.Tensor([5., 0.])
    """
    x, knots, values = as_tensor(x), as_tensor(xp), as_tensor(fp)
    _check_knots(knots.shape, values.shape, values.dtype)
    row = (1, -1)
    out = _interp_rows(md.reshape(x, row), md.reshape(knots, row), md.reshape(values, row), left, right, period)
    return md.reshape(out, x.shape)


def _check_knots(knots: tuple[int, ...], values: tuple[int, ...], dtype: Any) -> None:
    """NumPy's checks of one example's `xp` and `fp` (their shapes, and fp's dtype)."""
    if len(knots) != 1 or len(values) != 1:
        raise ValueError(f"interp: data points must be 1-D sequences, got xp {knots} and fp {values}")
    if knots[0] != values[0]:
        raise ValueError(f"interp: fp and xp are not of the same length ({values[0]} != {knots[0]})")
    if knots[0] == 0:
        raise ValueError("interp: array of sample points is empty")
    if np.dtype(dtype).kind == "c":
        raise TypeError("interp: complex fp is not supported in minidiff")


def _interp_rows(x: Tensor, knots: Tensor, values: Tensor, left: Any, right: Any, period: Any) -> Tensor:
    """interp of each row of `x` (r, m) through its row of `knots` and `values` (r, n);
    `left` and `right` are numbers or one per row (r, 1)."""
    if period is not None:
        if period == 0:
            raise ValueError("interp: period must be a non-zero value")
        period = abs(period)
        left = right = None
        x, knots = x % period, knots % period
        order = np.argsort(to_host(knots), axis=-1, kind="stable")
        knots, values = md.take_along_axis(knots, order, axis=-1), md.take_along_axis(values, order, axis=-1)
        knots = md.concatenate([knots[:, -1:] - period, knots, knots[:, :1] + period], axis=-1)
        values = md.concatenate([values[:, -1:], values, values[:, :1]], axis=-1)
    n = knots.shape[-1]
    first, last = values[:, :1], values[:, n - 1 :]
    if n == 1:
        inside = md.broadcast_to(first, x.shape)
    else:
        # the segment [i - 1, i] NumPy evaluates: i is the first knot right of x
        i = np.clip(_search_rows(to_host(knots), to_host(x)), 1, n - 1)
        x0, x1 = md.take_along_axis(knots, i - 1, axis=-1), md.take_along_axis(knots, i, axis=-1)
        y0, y1 = md.take_along_axis(values, i - 1, axis=-1), md.take_along_axis(values, i, axis=-1)
        width = x1 - x0
        width = md.where(width == 0, 1.0, width)  # a repeated knot: never between its copies
        inside = y0 + (y1 - y0) / width * (x - x0)
    below = first if left is None else left
    above = last if right is None else right
    out = md.where(x < knots[:, :1], below, md.where(x > knots[:, n - 1 :], above, inside))
    return out if out.dtype == np.float64 else md.astype(out, dtype=np.float64)  # NumPy's interp gives float64


def _search_rows(knots: np.ndarray, x: np.ndarray) -> np.ndarray:
    """`numpy.searchsorted(knots[r], x[r], side="right")` for every row r, in one sort: each
    x is counted after the knots it equals (a stable sort of knots then x), so its count of
    knots before it is the number of knots <= x."""
    if knots.shape[0] == 1:
        return np.searchsorted(knots[0], x, side="right")
    n = knots.shape[-1]
    order = np.argsort(np.concatenate([knots, x], axis=-1), axis=-1, kind="stable")
    count = np.cumsum(order < n, axis=-1)
    places = np.empty_like(order)
    np.put_along_axis(places, order, count, axis=-1)
    return places[:, n:]


def _interp_batch(call: Any, args: tuple, batched: tuple, params: dict) -> Tensor:
    # Only x per example: interp is elementwise in x, so one call does. Otherwise each
    # example is a row, with its own knots, values, left and right: every row at once.
    x, knots, values, left, right = args
    if not any(batched[1:]):
        return call(x, knots, values, left, right, **params)
    size = rules.batch_size(args, batched)
    like = next(a for a, b in zip(args, batched) if b)
    x = x if batched[0] else rules.to_batched(as_tensors(x, like)[0], size)
    knots, values = (as_tensors(v, like)[0] for v in (knots, values))
    _check_knots(knots.shape[1:] if batched[1] else knots.shape, values.shape[1:] if batched[2] else values.shape, values.dtype)
    knots, values = (v if b else rules.to_batched(v, size) for v, b in zip((knots, values), batched[1:3]))
    left, right = (md.reshape(v, (size, 1)) if b else v for v, b in zip((left, right), batched[3:]))
    out = _interp_rows(md.reshape(x, (size, -1)), knots, values, left, right, params["period"])
    return md.reshape(out, x.shape)


# ---------------------------------------------------------------------------- convolution


def _correlate_full(a: Tensor, v: Tensor) -> Tensor:
    """Every lag of the cross-correlation along the last axes (leading axes broadcast: a
    batch), c[k] = sum_j a[k + j] v[j] for k = -(m - 1) .. n - 1, as a product of `v` with the
    windows of the zero-padded `a` (getitem with an index matrix)."""
    n, m = a.shape[-1], v.shape[-1]
    padded = md.pad(a, {-1: (m - 1, m - 1)})
    windows = padded[..., np.arange(n + m - 1)[:, None] + np.arange(m)[None, :]]
    if v.ndim == 1:
        return md.matmul(windows, v)
    return md.squeeze(md.matmul(windows, md.expand_dims(v, -1)), -1)  # each row its own v


_MODES = ("full", "same", "valid")


def _check_1d(name: str, a: tuple[int, ...], v: tuple[int, ...], mode: str) -> None:
    """NumPy's checks of `mode` and of the shapes of one example's operands."""
    if mode not in _MODES:
        raise ValueError(f"{name}: mode must be one of {_MODES}, got {mode!r}")
    if len(a) != 1 or len(v) != 1:
        raise ValueError(f"{name}: object too deep for desired array: inputs must be 1-D, got {a} and {v}")
    if a[0] == 0 or v[0] == 0:
        raise ValueError(f"{name}: inputs cannot be empty")


def _mode_slice(full: Tensor, n: int, m: int, mode: str) -> Tensor:
    """The part of the full correlation (length n + m - 1, last axis) NumPy returns for `mode`."""
    if mode == "full":
        return full
    longer, shorter = max(n, m), min(n, m)
    if mode == "valid":
        return full[..., shorter - 1 : longer]
    start = (shorter - 1) // 2 if n >= m else shorter // 2
    return full[..., start : start + longer]


def _correlate(a: Tensor, v: Tensor, mode: str) -> Tensor:
    if v.dtype.kind == "c":  # NumPy's correlate conjugates v (its convolve does not)
        v = md.conj(v)
    return _mode_slice(_correlate_full(a, v), a.shape[-1], v.shape[-1], mode)


def _convolve(a: Tensor, v: Tensor, mode: str) -> Tensor:
    if v.shape[-1] > a.shape[-1]:  # NumPy convolves the longer with the shorter
        a, v = v, a
    return _mode_slice(_correlate_full(a, md.flip(v, -1)), a.shape[-1], v.shape[-1], mode)


def correlate(a: Any, v: Any, mode: str = "valid") -> Tensor:
    """`numpy.correlate` of two 1-D sequences: `c[k] = sum_n a[n + k] conj(v[n])`, with NumPy's
    `mode` ("valid", "same" or "full").

    >>> import minidiff as md
    >>> md.correlate(md.Tensor([1.0, 2.0, 3.0]), md.Tensor([0.0, 1.0, 0.5]))
    minidiff.Tensor([3.5])
    """
    a, v = as_tensor(a), as_tensor(v)
    _check_1d("correlate", a.shape, v.shape, mode)
    return _correlate(a, v, mode)


def convolve(a: Any, v: Any, mode: str = "full") -> Tensor:
    """`numpy.convolve` of two 1-D sequences: `(a * v)[k] = sum_j a[j] v[k - j]`, with
    NumPy's `mode` ("full", "same" or "valid").

    >>> import minidiff as md
    >>> md.convolve(md.Tensor([1.0, 2.0]), md.Tensor([1.0, 1.0]))
    minidiff.Tensor([1., 3., 2.])
    """
    a, v = as_tensor(a), as_tensor(v)
    _check_1d("convolve", a.shape, v.shape, mode)
    return _convolve(a, v, mode)


def _pairwise_batch(name: str, along: Any) -> Any:
    """The rule of correlate (convolve): the same function on the last axes, the batch a
    leading axis of either operand or both (a shared one broadcasts)."""

    def rule(call: Any, args: tuple, batched: tuple, params: dict) -> Tensor:
        a, v = as_tensors(*args)
        shapes = [x.shape[1:] if b else x.shape for x, b in zip((a, v), batched)]
        _check_1d(name, *shapes, params["mode"])
        return along(a, v, params["mode"])

    rule.__name__ = f"{name}_batch"
    return rule


# ---------------------------------------------------------------------------- derivatives of sampled data


def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """`numpy.gradient`: second-order central differences inside, one-sided differences of
    order `edge_order` (1 or 2) at the ends, along each axis; spacings are scalars or
    coordinate arrays (differentiable too). One tensor for one axis, else a tuple.

    >>> import minidiff as md
    >>> md.gradient(md.Tensor([1.0, 2.0, 4.0, 7.0]))
    minidiff.Tensor([1. , 1.5, 2.5, 3. ])
    """
    f = _floating(as_tensor(f))
    axes = _gradient_axes(axis, f.ndim)
    steps = _spacings(f, axes, varargs, (False,) * len(varargs))
    return _gradient(f, axes, steps, edge_order)


def _floating(f: Tensor) -> Tensor:
    return md.astype(f, dtype=np.float64) if f.dtype.kind in "iub" else f


def _gradient_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    return tuple(normalize_axis(ax, ndim) for ax in ((axis,) if isinstance(axis, int) else axis))  # NumPy's order


def _spacings(f: Tensor, axes: tuple[int, ...], varargs: tuple, batched: tuple) -> list[tuple[Any, bool]]:
    """`(h, uniform)` for each axis, from `varargs` as NumPy reads them (none, one scalar for
    every axis, or one scalar or 1-D coordinates per axis). A spacing marked in `batched`
    has a batch in front, which is `f`'s axis 0 (`md.vmap`: each example its own spacing)."""
    own = [np.ndim(d) - b for d, b in zip(varargs, batched)]  # the ranks of one example's spacings
    if len(varargs) == 0:
        given = [(1.0, False)] * len(axes)
    elif len(varargs) == 1 and own[0] == 0:
        given = [(varargs[0], batched[0])] * len(axes)
    elif len(varargs) == len(axes):
        given = list(zip(varargs, batched))
    else:
        raise TypeError("gradient: invalid number of arguments")
    return [_spacing(f, ax, d, int(b)) for ax, (d, b) in zip(axes, given)]


def _spacing(f: Tensor, axis: int, distances: Any, lead: int) -> tuple[Any, bool]:
    """One axis's spacing as `_gradient_along` takes it: a step broadcasting against `f`
    (uniform), or the steps between coordinates laid along `axis` (not uniform). `lead` is 1
    when `distances` has a batch in front (f's axis 0)."""
    column = tuple(-1 if d == axis else 1 for d in range(lead, f.ndim))  # along `axis`, 1 elsewhere
    if np.ndim(distances) == lead:  # a scalar step (one per example)
        if lead:
            return md.reshape(distances, distances.shape + (1,) * (f.ndim - 1)), True
        return distances, True
    distances = as_tensor(distances)
    if distances.ndim != lead + 1:
        raise ValueError("gradient: distances must be either scalars or 1d")
    if distances.shape[-1] != f.shape[axis]:
        raise ValueError("gradient: when 1d, distances must match the length of the corresponding dimension")
    if distances.dtype.kind in "iu":
        distances = md.astype(distances, dtype=np.float64)
    steps = md.diff(distances, axis=-1)
    host = to_host(steps)
    # NumPy uses the uniform formulas when the steps are equal; not for coordinates that
    # need a gradient, whose derivative must see each step on its own
    if (host == host[..., :1]).all() and not distances.allow_grad:
        first = steps[..., 0]
        return (md.reshape(first, first.shape + (1,) * (f.ndim - 1)) if lead else first), True
    return md.reshape(steps, steps.shape[:lead] + column), False


def _gradient(f: Tensor, axes: tuple[int, ...], steps: list[tuple[Any, bool]], edge_order: int) -> Any:
    if edge_order not in (1, 2):
        raise ValueError(f"gradient: edge_order must be 1 or 2, got {edge_order}")
    out = [_gradient_along(f, ax, h, uniform, edge_order) for ax, (h, uniform) in zip(axes, steps)]
    return out[0] if len(out) == 1 else tuple(out)


def _gradient_along(f: Tensor, axis: int, h: Any, uniform: bool, edge_order: int) -> Tensor:
    # The formulas and their order are NumPy's (numpy/lib/_function_base_impl.py, gradient).
    # A uniform `h` broadcasts against `f`; otherwise `h` holds the steps along `axis`.
    if f.shape[axis] < edge_order + 1:
        raise ValueError(
            "gradient: shape of array too small to calculate a numerical gradient, at least "
            f"(edge_order + 1) = {edge_order + 1} elements are required along axis {axis}"
        )

    def at(start: Any, stop: Any = None) -> Tensor:
        return f[along(axis, slice(start, stop))]

    def step(start: Any, stop: Any = None) -> Tensor:  # steps along `axis`, kept as an axis
        return h[along(axis, slice(start, stop))]

    if uniform:
        inner = (at(2, None) - at(None, -2)) / (2.0 * h)
    else:
        h1, h2 = step(None, -1), step(1, None)
        a = -h2 / (h1 * (h1 + h2))
        b = (h2 - h1) / (h1 * h2)
        c = h1 / (h2 * (h1 + h2))
        inner = a * at(None, -2) + b * at(1, -1) + c * at(2, None)
    if edge_order == 1:
        first = (at(1, 2) - at(0, 1)) / (h if uniform else step(0, 1))
        last = (at(-1) - at(-2, -1)) / (h if uniform else step(-1))
    else:
        if uniform:
            a, b, c = -1.5 / h, 2.0 / h, -0.5 / h
        else:
            h1, h2 = step(0, 1), step(1, 2)
            a = -(2.0 * h1 + h2) / (h1 * (h1 + h2))
            b = (h1 + h2) / (h1 * h2)
            c = -h1 / (h2 * (h1 + h2))
        first = a * at(0, 1) + b * at(1, 2) + c * at(2, 3)
        if uniform:
            a, b, c = 0.5 / h, -2.0 / h, 1.5 / h
        else:
            h1, h2 = step(-2, -1), step(-1)
            a = h2 / (h1 * (h1 + h2))
            b = -(h2 + h1) / (h1 * h2)
            c = (2.0 * h2 + h1) / (h2 * (h1 + h2))
        last = a * at(-3, -2) + b * at(-2, -1) + c * at(-1)
    out = md.concatenate([first, inner, last], axis=axis)
    return out if out.dtype == f.dtype else md.astype(out, dtype=f.dtype)


def _gradient_batch(call: Any, args: tuple, batched: tuple, params: dict) -> Any:
    # The same computation on the batch, its axes shifted past it; spacings per example
    # keep their batch in front (`_spacings`).
    f, *varargs = args
    size = rules.batch_size(args, batched)
    like = next(a for a, b in zip(args, batched) if b)
    f = _floating(f if batched[0] else rules.to_batched(as_tensors(f, like)[0], size))
    axes = tuple(ax + 1 for ax in _gradient_axes(params.get("axis"), f.ndim - 1))
    steps = _spacings(f, axes, tuple(varargs), batched[1:])
    return _gradient(f, axes, steps, params.get("edge_order", 1))


# ---------------------------------------------------------------------------- the ops

_KNOTS = np.array([-1.5, -0.4, 0.3, 1.2, 1.7])

# Complex input (NumPy's interp takes complex fp only, which minidiff refuses: interp stays
# real only): ediff1d and correlate (which conjugates v) are linear in each operand with real
# coefficients (complex=True); trapezoid, convolve and gradient are complex differentiable in
# every operand (HOLOMORPHIC). Their parts carry their own declarations.
OPS = [
    Op(
        "ediff1d",
        composite=ediff1d,
        samples=(sample((5,)), sample((3, 4)), sample((4,), (2,), (1,)), sample((4,), to_begin=(3,))),
        batch=rules.composite(_ediff1d_batch, "ary", "to_end", "to_begin"),
        complex=True,
    ),
    Op(
        "trapezoid",
        composite=trapezoid,
        samples=(
            sample((5,)),
            sample((3, 4), dx=0.5, axis=0),
            sample((3, 4), (4,)),
            sample((2, 3, 4), (2, 3, 4), axis=1),
            sample((3, 4), (3,), axis=0),
            sample((2, 3), None, np.array([[0.5], [2.0]])),  # a spacing per row (broadcast)
        ),
        batch=rules.composite(_trapezoid_batch, "y", "x", "dx"),
        complex=HOLOMORPHIC,
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
            sample((2, 3), _KNOTS, (5,), np.array(-3.0), np.array(4.0)),  # left and right as tensors
        ),
        batch=rules.composite(_interp_batch, "x", "xp", "fp", "left", "right"),
    ),
    Op(
        "correlate",
        composite=correlate,
        samples=tuple(
            sample((n,), (m,), mode=mode) for n, m in ((5, 3), (3, 5), (4, 4), (6, 2)) for mode in _MODES
        ) + (sample((5,), (3,)),),
        batch=rules.composite(_pairwise_batch("correlate", _correlate), "a", "v"),
        complex=True,
    ),
    Op(
        "convolve",
        composite=convolve,
        samples=tuple(
            sample((n,), (m,), mode=mode) for n, m in ((5, 3), (3, 5), (4, 4), (6, 1)) for mode in _MODES
        ) + (sample((5,), (3,)),),
        batch=rules.composite(_pairwise_batch("convolve", _convolve), "a", "v"),
        complex=HOLOMORPHIC,
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
            sample((4, 3), np.array(0.5), np.array([0.0, 1.0, 3.0])),  # a scalar step as a tensor
        ),
        batch=rules.plain(_gradient_batch),
        complex=HOLOMORPHIC,
    ),
]


@hookimpl
def minidiff_register_ops(registry) -> None:
    for op in OPS:
        registry.add_op(op)
