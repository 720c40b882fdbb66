"""Statistics op family: cumulative products, NaN-ignoring reductions, order statistics
and weighted averages.

`cumprod nansum nanmean nanmax nanmin median quantile percentile average ptp`, and the
running maximum and minimum behind `numpy.maximum.accumulate` / `numpy.minimum.accumulate`.

`cumprod` has its own rule; the others are composites of ops that have rules (`where`,
`sum`, `max`, `sort`, getitem), differentiated through them, so every order works.

Conventions at the points where a choice changes (the kinks), each checked against
PyTorch and JAX:

- NaN-ignoring reductions: a NaN element gets a zero gradient (torch.nansum, torch.nanmean
  and jax agree); an all-NaN slice gives NaN (or `initial`) and no gradient, as in jax.
  `nanmax`/`nanmin` split `g` evenly between tied elements, as `max`/`min` do and
  jax.numpy.nanmax does (torch has no nanmax).
- `median`, `quantile`, `percentile`: the input is sorted stably, so among tied elements
  the one first in the input takes the lowest sorted place, and the gradient goes to the
  elements at the interpolated places, as jax.numpy.median/quantile and torch.quantile do
  (torch.median instead splits `g` between all the tied elements).
- The derivative in a Tensor `q` where (n - 1) q is a whole number is the one from the
  right (the next element's weight grows from 0, NumPy's `linear` method), consistent
  with `interp` at a knot; torch.quantile and jax give 0 there.
- `ptp` is `max - min`, each splitting `g` between its ties (as jax.numpy.ptp).
- Running maximum / minimum (`numpy.maximum.accumulate`): each output takes its gradient
  from the first element that reached the running extremum, the element `argmax` of the
  prefix names (torch.cummax takes the latest tied element, jax.lax.cummax a mix of both).
- `cumprod` with zeros is exact at every order (first and second derivatives agree with
  torch.cumprod's).

Under `md.vmap` each op runs once on the whole batch with its axes shifted past it
(`axis=None`: every axis of one example); the composites read values on the host (NaN
masks, sorting places, running extrema), so they take the batch whole rather than through
their parts (`rules.composite`). A `q` per example takes each example's quantiles at its
own places, and `average`'s weights in any of NumPy's forms become weights of the batch's
full shape.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import minidiff as md
from minidiff.batching import rules
from minidiff.extend import HOLOMORPHIC, Op, hookimpl, sample
from minidiff.ops._operands import as_tensor, to_host
from minidiff.ops._axes import kept_shape, normalize_axes, normalize_axis, reduced_size
from minidiff.ops.reductions import needs_exact_products
from minidiff._tensor import Tensor, make_tensor

__all__ = ["OPS"]


def _constant(values: Any, like: Tensor, dtype: Any = None) -> Tensor:
    """Host values as a tensor of `like`'s backend that carries no gradient."""
    return make_tensor(like.backend.asarray(np.asarray(values), dtype=dtype), like.backend, None)


def _no_out(name: str, out: Any) -> None:
    if out is not None:
        raise TypeError(f"{name}: minidiff returns a new tensor; out= is for numpy.{name} called on Tensors")


def _float(x: Tensor) -> Tensor:
    """Integers and booleans as float64, as NumPy's means and quantiles give."""
    return x if x.dtype.kind in "fc" else md.astype(x, dtype=np.float64)


def _empty_reduction(x: Tensor, axis: Any, keepdims: bool, initial: Any) -> Tensor:
    """`initial` in the shape of a reduction over no elements, still connected to `x`."""
    return md.sum(x, axis=axis, keepdims=keepdims) * 0 + initial


# ---------------------------------------------------------------------------- cumprod


def _cumprod(xp, x, axis):
    if axis is None:  # NumPy flattens first
        return xp.cumprod(xp.reshape(x, (-1,)), axis=0)
    return xp.cumprod(x, axis=axis)


def _reversed_cumsum(t: Tensor, axis: int) -> Tensor:
    # sum_{k >= i} t_k, written as total - cumsum + t so that it needs no flip
    return md.sum(t, axis=axis, keepdims=True) - md.cumsum(t, axis=axis) + t


def cumprod_vjp(g: Tensor, ans: Tensor, x: Tensor, axis: Any) -> Tensor:
    # d ans_k / d x_i = prod_{j <= k, j != i} x_j for k >= i. Without zeros that is ans_k / x_i;
    # with a zero (or a tiny element, whose division loses the higher orders as in prod's
    # rule) it is computed exactly: for each i, the cumulative product of x with x_i set
    # to 1 (O(n^2) per slice, only then). Each formula is exact in a neighbourhood of the
    # point, so the branch taken on the values is right at every order (as prod's rule).
    shape = x.shape
    if axis is None:
        x, along = md.reshape(x, (-1,)), 0
    else:
        along = normalize_axis(axis, x.ndim)
    if not needs_exact_products(x):
        return md.reshape(_reversed_cumsum(g * ans, along) / x, shape)
    xp = x.backend.xp
    xm, gm = md.moveaxis(x, along, -1), md.moveaxis(g, along, -1)
    n = xm.shape[-1]
    eye = xp.eye(n, dtype=bool)  # constant index patterns: raw arrays are fine
    later = xp.triu(xp.ones((n, n), dtype=bool))  # [i, k]: k >= i
    others = md.cumprod(md.where(eye, 1, md.expand_dims(xm, -2)), axis=-1)  # [..., i, k]
    grad = md.sum(md.where(later, md.expand_dims(gm, -2) * others, 0), axis=-1)
    return md.reshape(md.moveaxis(grad, -1, along), shape)


# ---------------------------------------------------------------------------- NaN-ignoring reductions


def _mask(where: Any, x: Tensor, name: str) -> Any:
    """A `where=` argument as a boolean array of `x`'s backend, broadcast to `x`'s shape."""
    mask = to_host(where).astype(bool)
    try:
        mask = np.broadcast_to(mask, x.shape)
    except ValueError:
        raise ValueError(f"{name}: the where= mask of shape {mask.shape} does not broadcast to the input's shape {x.shape}") from None
    return x.backend.asarray(mask)


def _nan_free(x: Tensor, fill: Any, where: Any, name: str) -> tuple[Tensor, Any]:
    """`x` with NaNs (and elements outside `where=`) replaced by `fill`, and the mask of the
    elements kept (None when all are)."""
    xp = x.backend.xp
    keep = None
    if x.dtype.kind in "fc":
        keep = xp.logical_not(xp.isnan(x.data))
    if where is not True:
        selected = _mask(where, x, name)
        keep = selected if keep is None else xp.logical_and(keep, selected)
    return (x if keep is None else md.where(keep, x, fill)), keep


def nansum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
           initial: Any = None, where: Any = True) -> Tensor:
    """`numpy.nansum`: the sum with NaNs counted as zero (they get a zero gradient).

    >>> import minidiff as md
    >>> md.nansum(md.Tensor([1.0, float("nan"), 2.0]))
    minidiff.Tensor(3.)
    """
    _no_out("nansum", out)
    x = as_tensor(a)
    if dtype is not None:
        x = md.astype(x, dtype=dtype)
    clean, _ = _nan_free(x, 0, where, "nansum")
    result = md.sum(clean, axis=axis, keepdims=keepdims)
    return result if initial is None else result + initial


def nanmean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, *,
            where: Any = True) -> Tensor:
    """`numpy.nanmean`: the mean of the elements that are not NaN (NaN for a slice with
    none, as in NumPy)."""
    _no_out("nanmean", out)
    x = _float(as_tensor(a))
    if dtype is not None:
        x = md.astype(x, dtype=dtype)
    clean, keep = _nan_free(x, 0, where, "nanmean")
    total = md.sum(clean, axis=axis, keepdims=keepdims)
    if keep is None:
        return total / reduced_size(x.shape, axis)
    counts = x.backend.xp.sum(keep, axis=axis, keepdims=keepdims)
    with np.errstate(invalid="ignore", divide="ignore"):  # an all-NaN slice is NaN, as in NumPy
        return total / _constant(counts, x, dtype=x.data.dtype)


def _nan_extremum(name: str, a: Any, axis: Any, out: Any, keepdims: bool, initial: Any, where: Any) -> Tensor:
    _no_out(name, out)
    x = as_tensor(a)
    reduce, pairwise = (md.max, md.maximum) if name == "nanmax" else (md.min, md.minimum)
    if where is not True and initial is None:
        raise ValueError(f"{name}: a where= mask needs initial= (there is no identity), as in NumPy")
    if initial is not None and reduced_size(x.shape, axis) == 0:
        return _empty_reduction(x, axis, keepdims, initial)
    empty_fill = -math.inf if name == "nanmax" else math.inf
    clean, keep = _nan_free(x, empty_fill, where, name)
    result = reduce(clean, axis=axis, keepdims=keepdims)
    if initial is not None:
        return pairwise(result, initial)
    if keep is None:
        return result
    # a slice with nothing but NaN: NaN, as NumPy gives
    none_kept = x.backend.xp.logical_not(x.backend.xp.any(keep, axis=axis, keepdims=keepdims))
    return md.where(none_kept, math.nan, result)


def nanmax(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, initial: Any = None,
           where: Any = True) -> Tensor:
    """`numpy.nanmax`: the maximum ignoring NaNs; ties split the gradient evenly.

    >>> import minidiff as md
    >>> md.nanmax(md.Tensor([1.0, float("nan"), 2.0]))
    minidiff.Tensor(2.)
    """
    return _nan_extremum("nanmax", a, axis, out, keepdims, initial, where)


def nanmin(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, initial: Any = None,
           where: Any = True) -> Tensor:
    """`numpy.nanmin`: the minimum ignoring NaNs; ties split the gradient evenly."""
    return _nan_extremum("nanmin", a, axis, out, keepdims, initial, where)


def ptp(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Tensor:
    """`numpy.ptp`: the range, `max - min`, along `axis`."""
    _no_out("ptp", out)
    x = as_tensor(a)
    return md.max(x, axis=axis, keepdims=keepdims) - md.min(x, axis=axis, keepdims=keepdims)


# ---------------------------------------------------------------------------- quantiles

# NumPy's discrete methods: how the virtual index (n - 1) q becomes the weight of the
# upper neighbour (numpy/lib/_function_base_impl.py, _QuantileMethods)
_METHODS = ("linear", "lower", "higher", "nearest", "midpoint")


def _upper_weight(method: str, position: np.ndarray, below: np.ndarray) -> np.ndarray:
    fraction = position - below
    if method == "lower":
        return np.zeros_like(fraction)
    if method == "higher":
        return (fraction > 0).astype(fraction.dtype)
    if method == "nearest":
        return (np.around(position) > below).astype(fraction.dtype)  # halves round to even
    return np.where(fraction > 0, 0.5, 0.0)  # midpoint


def quantile(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
             method: str = "linear", keepdims: bool = False, *, weights: Any = None,
             interpolation: Any = None) -> Tensor:
    """`numpy.quantile`: the `q`-th quantiles along `axis`, by NumPy's default `linear`
    method (also `lower`, `higher`, `nearest`, `midpoint`); differentiable in `a` and, for
    `linear`, in a Tensor `q`. The result has `q`'s shape in front.

    >>> import minidiff as md
    >>> md.quantile(md.Tensor([3.0, 1.0, 2.0, 4.0]), 0.25)
    minidiff.Tensor(1.75)
    """
    _no_out("quantile", out)
    method = _method(method, weights, interpolation)
    x = _float(as_tensor(a))
    return _quantile(x, q, _q_values(q), normalize_axes(axis, x.ndim), method, keepdims)


def _method(method: str, weights: Any, interpolation: Any) -> str:
    if interpolation is not None:
        method = interpolation
    if method not in _METHODS:
        raise ValueError(f"quantile: minidiff supports the methods {_METHODS}, got method={method!r}")
    if weights is not None:
        raise NotImplementedError("quantile: weights= is not supported in minidiff")
    return method


def _q_values(q: Any) -> np.ndarray:
    """`q` on the host, checked: real numbers in [0, 1]."""
    q_values = to_host(q)
    if q_values.dtype.kind not in "iuf":
        raise TypeError(f"quantile: q must be real numbers, got dtype {q_values.dtype}")
    if np.any(q_values < 0) or np.any(q_values > 1) or np.any(np.isnan(q_values)):
        raise ValueError("quantile: quantiles must be in the range [0, 1]")
    return q_values


def _quantile(x: Tensor, q: Any, q_values: np.ndarray, axes: tuple[int, ...], method: str, keepdims: bool,
              shared: int = 0) -> Tensor:
    """The quantiles of `x` over `axes` (sorted non-negative ints). The first `shared` axes
    of `q` are the first axes of `x` (kept ones): a batch of examples, each with its own
    quantiles (`md.vmap`), which stay in front of the result, before `q`'s own axes."""
    dtype = np.result_type(x.dtype, q if isinstance(q, (int, float)) else q_values.dtype)
    kept = tuple(d for d in range(x.ndim) if d not in axes)
    # the reduced axes moved last and merged into one of length n
    moved = md.transpose(x, kept + axes) if x.ndim else x
    moved = md.reshape(moved, tuple(x.shape[d] for d in kept) + (-1,))
    n = moved.shape[-1]
    if n == 0:
        raise IndexError(f"quantile: cannot take a quantile of an empty reduction (shape {x.shape}, axis {axes})")
    ordered = md.sort(moved, axis=-1)
    own = q_values.ndim - shared  # q's own axes, which go after the kept axes of x for now

    def aligned(values: Any) -> Any:
        """Values of q's shape laid out to broadcast against [*kept, *q's own axes]."""
        shape = q_values.shape[:shared] + (1,) * (len(kept) - shared) + q_values.shape[shared:]
        return md.reshape(values, shape) if isinstance(values, Tensor) else np.reshape(values, shape)

    position = (n - 1) * q_values.astype(np.float64)
    below = np.clip(np.floor(position), 0, n - 1).astype(np.intp)
    above = np.minimum(below + 1, n - 1)
    low, high = _gather(ordered, below, shared), _gather(ordered, above, shared)  # [*kept, *q's own axes]
    if method == "linear":
        if isinstance(q, Tensor):
            weight = aligned((n - 1) * md.astype(q, dtype=dtype) - below.astype(dtype))
        else:
            weight = _constant(aligned(position - below), x, dtype=dtype)
        # NumPy's _lerp: from the nearer end, so that weight 1 gives `high` exactly
        step = high - low
        value = md.where(weight >= 0.5, high - step * (1 - weight), low + step * weight)
    else:
        weight = _constant(aligned(_upper_weight(method, position, below)), x, dtype=dtype)
        value = low + (high - low) * weight
    # NumPy's quantile of a slice holding a NaN is NaN
    xp = x.backend.xp
    has_nan = xp.any(xp.isnan(moved.data), axis=-1)
    value = md.where(xp.reshape(has_nan, tuple(has_nan.shape) + (1,) * own), math.nan, value)
    if own:  # q's own axes in front (after the shared ones)
        value = md.moveaxis(value, tuple(range(len(kept), value.ndim)), tuple(range(shared, shared + own)))
    if keepdims:
        value = md.reshape(value, q_values.shape + kept_shape(x.shape, axes)[shared:])
    return value if value.dtype == dtype else md.astype(value, dtype=dtype)


def _gather(ordered: Tensor, index: np.ndarray, shared: int) -> Tensor:
    """`ordered[..., index]` ([*leading, *index.shape]); with `shared`, the first `shared`
    axes of `index` are those of `ordered`, so each example takes its own places."""
    if not shared:
        return ordered[..., index]
    leading = ordered.shape[:-1]
    own = index.shape[shared:]
    flat = index.reshape(index.shape[:shared] + (1,) * (len(leading) - shared) + (-1,))
    flat = np.broadcast_to(flat, leading + flat.shape[-1:])
    return md.reshape(md.take_along_axis(ordered, flat, axis=-1), leading + own)


def _quantile_rule(scale: float) -> Any:
    """The batching rule of quantile (`scale` 1) and percentile (100): one call on the batch,
    whose axis is then moved behind `q`'s; with a `q` per example too, each example's
    quantiles taken at its own places."""

    def rule(call: Any, args: tuple, batched: tuple, params: dict) -> Any:
        x, q = args
        if not batched[0]:  # a shared `a`: the batch of q leads the result already
            return call(x, q, **params)
        axes = rules.shift_axes(params["axis"], x.ndim - 1)
        if not batched[1]:
            out = call(x, q, **{**params, "axis": axes})
            return md.moveaxis(out, q.ndim if hasattr(q, "ndim") else np.ndim(q), 0)
        _no_out("quantile", params["out"])
        method = _method(params["method"], params["weights"], params["interpolation"])
        if scale != 1 and (np.any(to_host(q) < 0) or np.any(to_host(q) > scale)):
            raise ValueError("percentile: percentiles must be in the range [0, 100]")
        q = q / scale if scale != 1 else q
        axes = axes if isinstance(axes, tuple) else (axes,)
        return _quantile(_float(x), q, _q_values(q), tuple(sorted(axes)), method, params["keepdims"], shared=1)

    rule.__name__ = "percentile_rule" if scale != 1 else "quantile_rule"
    return rule


def percentile(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
               method: str = "linear", keepdims: bool = False, *, weights: Any = None,
               interpolation: Any = None) -> Tensor:
    """`numpy.percentile`: `quantile` with `q` in percent (0 to 100)."""
    # a Tensor stays differentiable, a Python number weakly typed (as in NumPy)
    q_fraction = q / 100 if isinstance(q, (Tensor, int, float)) else np.true_divide(q, 100)
    if np.any(to_host(q) < 0) or np.any(to_host(q) > 100):
        raise ValueError("percentile: percentiles must be in the range [0, 100]")
    return quantile(a, q_fraction, axis, out, overwrite_input, method, keepdims, weights=weights,
                    interpolation=interpolation)


def median(a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False, keepdims: bool = False) -> Tensor:
    """`numpy.median`: the middle element along `axis`, or the mean of the two middle
    ones; a NaN in a slice makes its median NaN.

    >>> import minidiff as md
    >>> md.median(md.Tensor([3.0, 1.0, 2.0, 10.0]))
    minidiff.Tensor(2.5)
    """
    return quantile(a, 0.5, axis, out, overwrite_input, "linear", keepdims)


# ---------------------------------------------------------------------------- average


def average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *, keepdims: bool = False) -> Any:
    """`numpy.average`: the mean, or the `weights`-weighted mean along `axis`; with
    `returned=True` also the sum of the weights (differentiable in the weights too).

    >>> import minidiff as md
    >>> md.average(md.Tensor([1.0, 3.0]), weights=md.Tensor([3.0, 1.0]))
    minidiff.Tensor(1.5)
    """
    x = _float(as_tensor(a))
    if isinstance(axis, list):
        axis = tuple(axis)
    if weights is None:
        avg = md.mean(x, axis=axis, keepdims=keepdims)
        scale = _constant(np.full(avg.shape, x.size / max(avg.size, 1)), x, dtype=x.data.dtype)
        return (avg, scale) if returned else avg
    w = weights if isinstance(weights, Tensor) else Tensor(np.asarray(weights), backend=x.backend.name)
    w = _weights_along(w, x.shape, axis)
    if w.dtype.kind not in "fc":
        w = md.astype(w, dtype=np.float64)
    scale = md.sum(md.broadcast_to(w, x.shape), axis=axis, keepdims=keepdims)
    if np.any(to_host(scale) == 0.0):
        raise ZeroDivisionError("average: weights sum to zero, can't be normalized")
    avg = md.sum(x * w, axis=axis, keepdims=keepdims) / scale
    if returned and scale.dtype != avg.dtype:  # NumPy sums the weights in the result's dtype (complex for complex a)
        scale = md.astype(scale, dtype=avg.dtype)
    return (avg, md.broadcast_to(scale, avg.shape)) if returned else avg


def _weights_along(w: Tensor, shape: tuple[int, ...], axis: Any, shared: int = 0) -> Tensor:
    """`numpy.average`'s weights as they broadcast against `a` of `shape`: unchanged when they
    have its shape, else laid out along `axis` (one weight per element of the axes averaged).
    The first `shared` axes of `w` are a batch (`md.vmap`) that leads both `w` and `shape`."""
    if w.shape[shared:] == shape[shared:]:
        return w
    if axis is None:
        raise TypeError("average: axis must be specified when shapes of a and weights differ")
    ndim = len(shape) - shared
    axes = tuple(normalize_axis(ax, ndim) for ax in ((axis,) if isinstance(axis, int) else axis))
    if w.shape[shared:] != tuple(shape[shared + ax] for ax in axes):
        raise ValueError(
            f"average: shape of weights {w.shape[shared:]} must be consistent with shape of a {shape[shared:]} "
            f"along the specified axis {axis}"
        )
    if len(axes) > 1:  # NumPy's order of the axes
        w = md.transpose(w, tuple(range(shared)) + tuple(shared + int(d) for d in np.argsort(axes)))
    return md.reshape(w, w.shape[:shared] + tuple(n if d in axes else 1 for d, n in enumerate(shape[shared:])))


def _average_batch(call: Any, args: tuple, batched: tuple, params: dict) -> Any:
    # Weights in any of NumPy's forms become weights of the batch's full shape, so the one
    # call needs no axis bookkeeping for them.
    x, w = args
    size = rules.batch_size(args, batched)
    like = x if batched[0] else w
    x = x if batched[0] else rules.to_batched(_on_backend(x, like), size)
    axis = rules.shift_axes(params["axis"], x.ndim - 1)
    if w is not None:
        if batched[1]:
            w = _weights_along(w, x.shape, params["axis"], shared=1)
        else:
            w = md.expand_dims(_weights_along(_on_backend(w, like), x.shape[1:], params["axis"]), axis=0)
        w = md.broadcast_to(w, x.shape)
    return call(x, w, **{**params, "axis": axis})


def _on_backend(value: Any, like: Any) -> Any:
    """A host value (array, list, number) as a Tensor on `like`'s backend."""
    return value if hasattr(value, "backend") else Tensor(np.asarray(value), backend=like.backend.name)


def _average_reference(a: Any, *args: Any, **kwargs: Any) -> Any:
    result = np.average(a, *args, **kwargs)
    return list(result) if isinstance(result, tuple) else result


# ---------------------------------------------------------------------------- running extrema


def _running(name: str, a: Any, axis: int) -> Tensor:
    """The running maximum (minimum) along `axis`: each output is the input element that
    first reached it, picked with take_along_axis."""
    x = as_tensor(a)
    axis = normalize_axis(axis, x.ndim)
    host = np.moveaxis(to_host(x), axis, -1)
    running = (np.maximum if name == "maximum" else np.minimum).accumulate(host, axis=-1)
    beyond = np.greater if name == "maximum" else np.less
    first = np.ones(host.shape, dtype=bool)  # where a new extremum (or a NaN, which sticks) is reached
    first[..., 1:] = beyond(host[..., 1:], running[..., :-1]) | np.isnan(host[..., 1:])
    first[..., 1:] &= ~np.isnan(running[..., :-1])
    source = np.maximum.accumulate(np.where(first, np.arange(host.shape[-1]), 0), axis=-1)
    return md.take_along_axis(x, np.moveaxis(source, -1, axis), axis=axis)


def cummax(a: Any, axis: int = 0) -> Tensor:
    """The running maximum along `axis`: `numpy.maximum.accumulate`."""
    return _running("maximum", a, axis)


def cummin(a: Any, axis: int = 0) -> Tensor:
    """The running minimum along `axis`: `numpy.minimum.accumulate`."""
    return _running("minimum", a, axis)


# ---------------------------------------------------------------------------- the ops

_TIES = np.array([[1.0, 3.0, 3.0, -1.0], [2.0, 2.0, 2.0, 0.5], [0.0, -4.0, -4.0, 1.0]])
_NAN = math.nan
_WITH_NANS = np.array([[1.0, _NAN, -0.5, 0.3], [_NAN, _NAN, _NAN, _NAN], [0.7, -1.2, _NAN, 1.9]])
_SOME_NANS = np.array([[1.0, _NAN, -0.5, 0.3], [0.2, _NAN, 1.1, -1.4], [0.7, -1.2, _NAN, 1.9]])
_ZEROS = np.array([[1.5, 0.0, -0.7, 1.2], [0.8, -1.1, 0.0, 0.0], [1.4, 0.6, -1.7, 1.1]])
_MASK = np.array([[True, False, True, True], [False, True, True, False], [True, True, False, True]])

_AXES = (
    sample((3, 4)),
    sample((3, 4), axis=0),
    sample((2, 3, 4), axis=-1, keepdims=True),
    sample((2, 3, 4), axis=(0, 2)),
)

# the reductions among the composites: one call on the batch, their axes shifted past it
_REDUCTION = rules.composite(rules.axis(), "a")

# Complex input: cumprod's rule is the real formula, g times products of the others, complex
# differentiable (HOLOMORPHIC; its zero handling compares magnitudes); nansum, nanmean and
# average are linear in `a` with real coefficients (average is a ratio in complex weights:
# HOLOMORPHIC). The ops that order values (nanmax, nanmin, ptp, median, quantile, percentile,
# the running extrema) stay real only: NumPy orders complex numbers by real part first, an
# order with no derivative, and its quantile refuses complex input.

OPS = [
    Op(
        "cumprod",
        _cumprod,
        vjp=(cumprod_vjp,),
        params={"axis": None},
        samples=(
            sample((3, 4)),
            sample((3, 4), axis=0),
            sample((2, 3, 4), axis=-1),
            sample(()),
            sample(_ZEROS, axis=1),  # exact with zeros, one or two in a row
            sample(_ZEROS, axis=0),
            sample(_ZEROS),
        ),
        batch=rules.axis(none="flatten"),
        complex=HOLOMORPHIC,
    ),
    Op(
        "nansum",
        composite=nansum,
        samples=(
            *_AXES,
            sample(_SOME_NANS),  # a NaN's gradient is 0, as finite differences see
            sample(_WITH_NANS, axis=1),
            sample(_SOME_NANS, axis=0, initial=1.5),
            sample((3, 4), axis=1, where=_MASK),
        ),
        batch=_REDUCTION,
        complex=True,
    ),
    Op(
        "nanmean",
        composite=nanmean,
        samples=(*_AXES, sample(_SOME_NANS), sample(_SOME_NANS, axis=0), sample((3, 4), axis=1, where=_MASK)),
        batch=_REDUCTION,
        complex=True,
    ),
    Op(
        "nanmax",
        composite=nanmax,
        samples=(
            *_AXES,
            sample(_SOME_NANS, axis=1),
            sample(_SOME_NANS, axis=0, keepdims=True),
            sample((3, 4), axis=1, initial=0.5),
            sample((3, 4), axis=0, where=_MASK, initial=-1.0),
            sample(_WITH_NANS, axis=1, order=0),  # an all-NaN row: NaN
            sample(_TIES, axis=1, order=0),
        ),
        batch=_REDUCTION,
    ),
    Op(
        "nanmin",
        composite=nanmin,
        samples=(
            *_AXES,
            sample(_SOME_NANS, axis=1),
            sample((3, 4), axis=1, initial=-0.5),
            sample(_WITH_NANS, axis=1, order=0),
            sample(_TIES, axis=0, order=0),
        ),
        batch=_REDUCTION,
    ),
    Op("ptp", composite=ptp, samples=(*_AXES, sample(_TIES, axis=1, order=0)), batch=_REDUCTION),
    Op(
        "quantile",
        composite=quantile,
        samples=(
            sample((7,), 0.3),
            sample((3, 5), np.array([0.1, 0.45, 0.9]), axis=1),  # q is differentiated too (off the kinks)
            sample((2, 3, 4), 0.7, axis=(0, 2), keepdims=True),
            sample((3, 4), np.array([[0.2], [0.6]]), axis=0),
            sample((3, 5), 0.4, axis=-1, method="lower"),
            sample((3, 5), 0.4, axis=-1, method="higher"),
            sample((3, 6), np.array([0.15, 0.35, 0.85]), axis=1, method="nearest"),
            sample((3, 5), 0.6, axis=0, method="midpoint"),
            sample(_TIES, 0.5, axis=1, order=0),
            sample(_SOME_NANS, 0.5, axis=1, order=0),
            sample((4,), 1.0, order=0),
        ),
        batch=rules.composite(_quantile_rule(1), "a", "q"),
    ),
    Op(
        "percentile",
        composite=percentile,
        samples=(sample((7,), 30.0), sample((3, 5), np.array([10.0, 45.0, 90.0]), axis=1), sample((3, 4), 75, axis=0)),
        batch=rules.composite(_quantile_rule(100), "a", "q"),
    ),
    Op(
        "median",
        composite=median,
        samples=(
            sample((7,)),
            sample((3, 4)),
            sample((3, 4), axis=1),
            sample((2, 3, 5), axis=(0, 1), keepdims=True),
            sample(_TIES, axis=1, order=0),
            sample(_SOME_NANS, axis=0, order=0),
        ),
        batch=_REDUCTION,
    ),
    Op(
        "average",
        composite=average,
        reference=_average_reference,
        samples=(
            sample((3, 4)),
            sample((3, 4), axis=0),
            sample((3, 4), None, (3, 4), domain=(0.5, 2.0)),
            sample((3, 4), 1, (4,), domain=(0.5, 2.0)),
            sample((2, 3, 4), [0, 2], (2, 4), domain=(0.5, 2.0)),  # a list: a tuple of ints is a shape
            sample((3, 4), 0, (3,), True, domain=(0.5, 2.0)),
            sample((3, 4), axis=1, returned=True, keepdims=True),
        ),
        batch=rules.composite(_average_batch, "a", "weights"),
        complex=HOLOMORPHIC,
    ),
    Op(
        "cummax",
        composite=cummax,
        public=False,
        reference=lambda a, axis=0: np.maximum.accumulate(a, axis=axis),
        samples=(sample((6,)), sample((3, 4), axis=1), sample((2, 3, 4), axis=-2), sample(_TIES, axis=1, order=0),
                 sample(_SOME_NANS, axis=1, order=0)),
        batch=_REDUCTION,
    ),
    Op(
        "cummin",
        composite=cummin,
        public=False,
        reference=lambda a, axis=0: np.minimum.accumulate(a, axis=axis),
        samples=(sample((6,)), sample((3, 4), axis=0), sample(_TIES, axis=1, order=0), sample(_SOME_NANS, axis=0, order=0)),
        batch=_REDUCTION,
    ),
]


@hookimpl
def minidiff_register_ops(registry) -> None:
    for op in OPS:
        registry.add_op(op)
