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
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minidiff as md
from minidiff.extend import Op, hookimpl, sample
from minidiff.ops._axes import along, normalize_axis
from minidiff.ops._operands import as_tensor, as_tensors, to_host
from minidiff._tensor import Tensor

__all__ = ["OPS"]


# ---------------------------------------------------------------------------- differences and integrals


def ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Tensor:
    """`numpy.ediff1d`: differences of consecutive elements of the flattened array, with
    `to_begin` and `to_end` joined before and after."""
    ary = as_tensor(ary)
    flat = md.reshape(ary, (-1,))

    def extra(values: Any, name: str) -> Tensor:
        values = md.reshape(as_tensors(values, ary)[0], (-1,))
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
        order = np.argsort(to_host(knots), kind="stable")
        knots, values = knots[order], values[order]
        knots = md.concatenate([knots[-1:] - period, knots, knots[:1] + period])
        values = md.concatenate([values[-1:], values, values[:1]])
    n = knots.shape[0]
    first, last = values[0], values[n - 1]
    if n == 1:
        inside = md.broadcast_to(first, x.shape)
    else:
        # the segment [i - 1, i] NumPy evaluates: i is the first knot right of x
        i = np.clip(np.searchsorted(to_host(knots), to_host(x), side="right"), 1, n - 1)
        x0, x1, y0, y1 = knots[i - 1], knots[i], values[i - 1], values[i]
        width = x1 - x0
        width = md.where(width == 0, 1.0, width)  # a repeated knot: never between its copies
        inside = y0 + (y1 - y0) / width * (x - x0)
    below = first if left is None else left
    above = last if right is None else right
    out = md.where(x < knots[0], below, md.where(x > knots[n - 1], above, inside))
    return out if out.dtype == np.float64 else md.astype(out, dtype=np.float64)  # NumPy's interp gives float64


# ---------------------------------------------------------------------------- convolution


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
    minidiff.Tensor([3.5])
    """
    a, v = as_tensor(a), as_tensor(v)
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
    a, v = as_tensor(a), as_tensor(v)
    _check_1d("convolve", a, v, mode)
    if v.shape[0] > a.shape[0]:  # NumPy convolves the longer with the shorter
        a, v = v, a
    return _mode_slice(_correlate_full(a, md.flip(v, 0)), a.shape[0], v.shape[0], mode)


# ---------------------------------------------------------------------------- derivatives of sampled data


def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """`numpy.gradient`: second-order central differences inside, one-sided differences of
    order `edge_order` (1 or 2) at the ends, along each axis; spacings are scalars or
    coordinate arrays (differentiable too). One tensor for one axis, else a tuple.

    >>> import minidiff as md
    >>> md.gradient(md.Tensor([1.0, 2.0, 4.0, 7.0]))
    minidiff.Tensor([1. , 1.5, 2.5, 3. ])
    """
    f = as_tensor(f)
    if f.dtype.kind in "iub":
        f = md.astype(f, dtype=np.float64)
    if axis is None:
        axes = tuple(range(f.ndim))
    else:  # NumPy keeps the order given
        axes = tuple(normalize_axis(ax, f.ndim) for ax in ((axis,) if isinstance(axis, int) else axis))
    if len(varargs) == 0:
        spacings: list[Any] = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(to_host(varargs[0])) == 0:
        spacings = [varargs[0]] * len(axes)
    elif len(varargs) == len(axes):
        spacings = []
        for ax, distances in zip(axes, varargs):
            if np.ndim(to_host(distances)) == 0:
                spacings.append(distances)
                continue
            distances = as_tensor(distances)
            if distances.ndim != 1:
                raise ValueError("gradient: distances must be either scalars or 1d")
            if distances.shape[0] != f.shape[ax]:
                raise ValueError("gradient: when 1d, distances must match the length of the corresponding dimension")
            if distances.dtype.kind in "iu":
                distances = md.astype(distances, dtype=np.float64)
            steps = md.diff(distances)
            host = to_host(steps)
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
        return f[along(axis, slice(start, stop))]

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

_KNOTS = np.array([-1.5, -0.4, 0.3, 1.2, 1.7])

OPS = [
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
