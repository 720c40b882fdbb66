"""Reduction op family: sum, mean, prod, max, min, var, std, logsumexp, cumsum and the
non-differentiable argmax, argmin, all, any.

NumPy's names and semantics: `axis` is None (every axis), an int or a tuple (negatives
allowed) and `keepdims` keeps the reduced axes as size 1. A rule first puts the reduced
axes back into `g` (and `ans`) as size 1 (`_restore`), so they broadcast against `x`.
Under `md.vmap` each op shifts its axes past the batch (`rules.axis`); `axis=None` means
every axis of one example, or its flattened elements for `cumsum`, `argmax` and `argmin`.
"""

from __future__ import annotations

import math

import numpy as np

import minidiff as md
from minidiff.batching import rules
from minidiff.extend import HOLOMORPHIC, Op, hookimpl, sample
from minidiff.lazy import reads_values_ok
from minidiff.ops._axes import kept_shape, normalize_axes, reduced_size

AXIS_PARAMS = {"axis": None, "keepdims": False}
# `dtype=` of sum and prod; `correction=`, the array API standard's name for `ddof`, of var and std
DTYPE_PARAMS = {"axis": None, "keepdims": False, "dtype": None}
DDOF_PARAMS = {"axis": None, "ddof": 0, "keepdims": False, "correction": None}


def _restore(g, x, axis):
    """`g` with the reduced axes put back as size 1, so it broadcasts against `x`."""
    return md.reshape(g, kept_shape(x.shape, axis))


# ------------------------------------------------------------------------------ sum, prod


def _with_dtype(name):
    """The forward of sum or prod with NumPy's `dtype=`: the elements are cast to `dtype`
    before they are combined (float32 accumulates in float32) and the result after (an int8
    sum wraps as in NumPy, since wrapping commutes with the cast); not every backend's sum
    takes `dtype`."""

    def forward(xp, x, axis, keepdims, dtype):
        if dtype is None:
            return getattr(xp, name)(x, axis=axis, keepdims=keepdims)
        # the namespace's astype where it has one: MLX's array method takes MLX dtypes only
        cast = getattr(xp, "astype", None) or (lambda a, d: a.astype(d))
        # asarray: a full reduction gives a scalar, which NumPy 2.0's astype refuses
        return cast(xp.asarray(getattr(xp, name)(cast(x, dtype), axis=axis, keepdims=keepdims)), dtype)

    forward.__name__ = name
    return forward



def _prod_of_others(x, axis):
    """Each element's product of the other elements it is reduced with, exact with zeros.

    A reduced axis d of length n becomes two axes (i, j) of lengths (n, n): `x` is read
    along j, the diagonal i == j is masked to 1, and the product over the j axes leaves
    x's own shape. This costs O(n^2) per output in the number n of reduced elements, so it is only
    used when some input is exactly zero.
    """
    axes = normalize_axes(axis, x.ndim)
    xp = x.backend.xp
    view: list[int] = []
    j_axes: list[int] = []
    mask = xp.ones((), dtype=bool)
    for d, n in enumerate(x.shape):
        if d in axes:
            j_axes.append(len(view) + 1)
            view += [1, n]
            # A constant index pattern (no derivative flows through it), so raw arrays are fine.
            eye = xp.eye(n, dtype=bool).reshape((1,) * (len(view) - 2) + (n, n))
            mask = mask[..., None, None] & eye
        else:
            view.append(n)
            mask = mask[..., None]
    return md.prod(md.where(mask, 1.0, md.reshape(x, tuple(view))), axis=tuple(j_axes))


def prod_vjp(g, ans, x, axis, keepdims, dtype):
    # ans / x is the product of the others only where x != 0. Its derivative is
    # ans / (x_i x_j) off the diagonal and (ans / x_i) / x_i - ans / x_i^2 = 0 on it, two terms
    # of size |ans| / x_i^2 that cancel to within their rounding, about 1e-16 |ans| / x_i^2:
    # far more than the Hessian's scale when some |x_i| is tiny (prod([1e-133]) would give
    # -8e115, not 0). So with a zero, or an element under 1e-8 times the largest (or under
    # 1e-8), the product of the others is computed exactly instead. The branch is taken on the values, which is
    # sound because each formula is exact in a neighborhood of the point, so higher orders
    # come out right too.
    if needs_exact_products(x):
        return _restore(g, x, axis) * _prod_of_others(x, axis)
    return _restore(g, x, axis) * _restore(ans, x, axis) / x


def needs_exact_products(x) -> bool:
    """Whether `x` has a zero, or an element under 1e-8 times the largest (or under 1e-8),
    where dividing a product by an element loses the higher orders (see `prod_vjp`)."""
    if not reads_values_ok(x.backend):  # lazy or tracing md.compile: the exact form is right everywhere
        return True
    xp = x.backend.xp
    magnitude = xp.abs(x.data)
    return bool(magnitude.size) and bool((xp.min(magnitude) <= 1e-8 * xp.maximum(xp.max(magnitude), 1.0)).item())


# ------------------------------------------------------------------------------ max, min


def extremum_vjp(g, ans, x, axis, keepdims):
    # Where several elements tie for the max (min), g is split evenly between them, as
    # PyTorch's amax and JAX do: the gradient is then the average of the one-sided ones.
    hit = x == _restore(ans, x, axis)
    return _restore(g, x, axis) * hit / md.sum(hit, axis=axis, keepdims=True)


# ------------------------------------------------------------------------------ var, std


def _centered(x, axis):
    return x - md.mean(x, axis=axis, keepdims=True)


def _ddof(ddof, correction):
    """`correction=` is the array API standard's `ddof=`; NumPy refuses both at once."""
    if correction is None:
        return ddof
    if ddof != 0:
        raise ValueError(f"var/std: give ddof= or correction= (the same thing), not both (got {ddof!r} and {correction!r})")
    return correction


def _moment(name):
    """The forward of var or std, with `correction=` read as `ddof=`."""

    def forward(xp, x, axis, ddof, keepdims, correction):
        return getattr(xp, name)(x, axis=axis, ddof=_ddof(ddof, correction), keepdims=keepdims)

    forward.__name__ = name
    return forward


def var_vjp(g, ans, x, axis, ddof, keepdims, correction):
    return _restore(g, x, axis) * 2.0 * _centered(x, axis) / (reduced_size(x.shape, axis) - _ddof(ddof, correction))


def std_vjp(g, ans, x, axis, ddof, keepdims, correction):
    ddof = _ddof(ddof, correction)
    n = reduced_size(x.shape, axis)
    if n == 1:
        return md.zeros_like(x)  # one element per output: x - mean is identically 0, so is std
    # d std = d var / (2 std) has no limit where the variance is zero (std is a norm of
    # x - mean, with a kink there like abs at 0). There the gradient is 0, the subgradient
    # PyTorch returns (JAX and HIPS autograd give NaN), and its own derivative is NaN, since
    # the second derivative is unbounded near that point (PyTorch gives 0, JAX NaN): the
    # inner `where` puts NaN, not 0, under the 0 the outer one selects. (The table of such
    # points: docs/gradient-conventions.md.)
    # (Without a zero std the masks change nothing, and skipping them is exact at every
    # order: the plain formula holds in a neighborhood.)
    ans = _restore(ans, x, axis)
    if reads_values_ok(x.backend) and not x.backend.xp.any(ans.data == 0).item():
        return _restore(g, x, axis) * _centered(x, axis) / ((n - ddof) * ans)
    flat = ans == 0
    slope = _centered(x, axis) / ((n - ddof) * md.where(flat, math.nan, ans))
    return _restore(g, x, axis) * md.where(flat, 0.0, slope)


# ------------------------------------------------------------------------------ logsumexp


def _logsumexp(xp, x, axis, keepdims):
    """log(sum(exp(x))), shifted by the max so that exp neither overflows nor underflows."""
    shift = xp.max(x, axis=axis, keepdims=True)
    shift = xp.where(xp.isfinite(shift), shift, 0)  # an all -inf (or +inf) slice: no inf - inf
    out = xp.log(xp.sum(xp.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else xp.squeeze(out, axis=axis)


def logsumexp_reference(x, axis=None, keepdims=False):
    """NumPy reference, computed differently from the forward: a pairwise logaddexp fold
    along the reduced axes moved to the end and flattened into one."""
    x = np.asarray(x)
    axes = normalize_axes(axis, x.ndim)
    kept = x.ndim - len(axes)
    moved = np.moveaxis(x, axes, tuple(range(kept, x.ndim)))
    out = np.logaddexp.reduce(moved.reshape(moved.shape[:kept] + (-1,)), axis=-1)
    return out.reshape(kept_shape(x.shape, axis)) if keepdims else out


# ------------------------------------------------------------------------------ cumsum


def cumsum_vjp(g, ans, x, axis):
    # The reversed cumulative sum of g, written as total - cumsum + g so that it needs no
    # flip; NumPy flattens x when axis is None, and so is g then.
    along = 0 if axis is None else axis
    reversed_cumsum = md.sum(g, axis=along, keepdims=True) - md.cumsum(g, axis=along) + g
    return md.reshape(reversed_cumsum, x.shape)


# ------------------------------------------------------------------------------ samples

# Every axis form: None, int, negative int, tuple (with a negative), keepdims, and 0-d.
REDUCTION_SAMPLES = (
    sample((3, 4)),
    sample((3, 4), keepdims=True),
    sample((3, 4), axis=0),
    sample((2, 3, 4), axis=-2),
    sample((2, 3, 4), axis=(0, -1)),
    sample((2, 3, 4), axis=(0, -1), keepdims=True),
    sample((3, 4), axis=-1, keepdims=True),
    sample(()),
)

# Ties, checked at order 0 only: the gradient is not differentiable there.
_TIES = np.array([[1.0, 3.0, 3.0, -1.0], [2.0, 2.0, 2.0, 0.5], [0.0, -4.0, -4.0, 1.0]])
TIE_SAMPLES = (sample(_TIES, order=0), sample(_TIES, axis=1, order=0), sample(_TIES, axis=(0, 1), keepdims=True, order=0))

# Exact zeros in prod's input (concrete float arrays are differentiated too).
_ONE_ZERO = np.array([[1.5, 0.0, -0.7, 1.2], [0.8, -1.1, 1.3, 0.9], [1.4, 0.6, -1.7, 1.1]])
_TWO_ZEROS = np.array([[1.5, 0.0, -0.7, 0.0], [0.8, -1.1, 1.3, 0.9], [1.4, 0.6, -1.7, 1.1]])
_ZEROS_3D = np.array([[[1.2, 0.0, -0.9], [0.7, 1.3, 0.0]], [[-1.4, 0.8, 1.1], [0.9, 0.0, 1.6]]])
PROD_ZERO_SAMPLES = (
    sample(_ONE_ZERO),
    sample(_ONE_ZERO, axis=1),
    sample(_ONE_ZERO, axis=0, keepdims=True),
    sample(_TWO_ZEROS),
    sample(_TWO_ZEROS, axis=-1),
    sample(_ZEROS_3D, axis=(0, -1)),
    sample(np.array(0.0)),
)

# A row of equal values: std's kink, where its gradient is the subgradient 0 (first order
# only: its second derivative is unbounded there).
_CONSTANT_ROW = np.array([[1.0, 1.0, 1.0, 1.0], [0.5, -1.0, 2.0, 0.25]])

VAR_SAMPLES = (
    *REDUCTION_SAMPLES,
    sample(_CONSTANT_ROW, axis=1, order=1),
    sample((3, 4), ddof=1),
    sample((3, 4), axis=0, ddof=1, keepdims=True),
    sample((2, 3, 4), axis=(0, -1), ddof=2),
    sample((3, 4), correction=1),
    sample((2, 3, 4), axis=-1, correction=2, keepdims=True),
)

# `dtype=`: accumulation in float32 (forward only: finite differences need float64) and
# integers summed into floats
DTYPE_SAMPLES = (
    sample((3, 4), dtype=np.float64, complex=False),  # a cast of complex to float drops the imaginary part
    sample((2, 3, 4), axis=1, dtype=np.float32, order=0, complex=False),
    sample(np.arange(12).reshape(3, 4) % 5, axis=0, dtype=np.float64, order=0),
    sample(np.array([100, 100, 100], dtype=np.int8), dtype=np.int8, order=0),  # wraps, as in NumPy
)

CUMSUM_SAMPLES = (
    sample((3, 4)),
    sample((3, 4), axis=0),
    sample((3, 4), axis=1),
    sample((2, 3, 4), axis=-2),
    sample(()),
)

_BOOLS = np.array([[True, False, True], [True, True, True]])
_WITH_ZEROS = np.array([[1.0, 0.0, 2.0], [3.0, -1.0, 0.5]])
LOGICAL_SAMPLES = (
    sample(_BOOLS),
    sample(_BOOLS, axis=0),
    sample(_BOOLS, axis=-1, keepdims=True),
    sample(_BOOLS, axis=(0, 1)),
    sample(_WITH_ZEROS, axis=1),
    sample(np.array(True)),
)

# NumPy's argmax takes a single axis, not a tuple.
ARG_SAMPLES = (
    sample((3, 4)),
    sample((3, 4), keepdims=True),
    sample((3, 4), axis=0),
    sample((2, 3, 4), axis=-1),
    sample((2, 3, 4), axis=1, keepdims=True),
    sample(()),
)

DIFFERENTIABLE = [
    Op(
        "sum",
        _with_dtype("sum"),
        vjp=(lambda g, ans, x, axis, keepdims, dtype: _restore(g, x, axis),),
        params=DTYPE_PARAMS,
        samples=(*REDUCTION_SAMPLES, *DTYPE_SAMPLES),
        batch=rules.axis(),
        complex=True,  # linear, with real coefficients
    ),
    Op(
        "mean",
        "mean",
        vjp=(lambda g, ans, x, axis, keepdims: _restore(g, x, axis) / reduced_size(x.shape, axis),),
        params=AXIS_PARAMS,
        samples=REDUCTION_SAMPLES,
        batch=rules.axis(),
        complex=True,
    ),
    Op(
        "prod",
        _with_dtype("prod"),
        vjp=(prod_vjp,),
        params=DTYPE_PARAMS,
        samples=(*REDUCTION_SAMPLES, *PROD_ZERO_SAMPLES, *DTYPE_SAMPLES),
        batch=rules.axis(),
        # g * (product of the others): the real formula, complex differentiable (its masks
        # compare with 0 and magnitudes, which complex numbers allow)
        complex=HOLOMORPHIC,
    ),
    # Real only: NumPy orders complex numbers by real part first, an order with no derivative.
    Op("max", "max", vjp=(extremum_vjp,), params=AXIS_PARAMS, samples=(*REDUCTION_SAMPLES, *TIE_SAMPLES), batch=rules.axis()),
    Op("min", "min", vjp=(extremum_vjp,), params=AXIS_PARAMS, samples=(*REDUCTION_SAMPLES, *TIE_SAMPLES), batch=rules.axis()),
    # var of complex x is real, mean |x - mean|^2: its derivatives along the real and imaginary
    # parts of x are 2 Re(x - mean) / (n - ddof) and 2 Im(x - mean) / (n - ddof), so the real
    # rule g * 2 (x - mean) / (n - ddof) is already the convention's gradient (g is real); so is
    # std's, g (x - mean) / ((n - ddof) std).
    Op("var", _moment("var"), vjp=(var_vjp,), params=DDOF_PARAMS, samples=VAR_SAMPLES, batch=rules.axis(),
       complex=True),
    Op("std", _moment("std"), vjp=(std_vjp,), params=DDOF_PARAMS, samples=VAR_SAMPLES, batch=rules.axis(),
       complex=True),
    # Real only: its shift is the max, and NumPy's logaddexp (the reference) refuses complex.
    Op(
        "logsumexp",
        _logsumexp,
        # d/dx log sum exp(x) = softmax(x) = exp(x - ans)
        vjp=(lambda g, ans, x, axis, keepdims: _restore(g, x, axis) * md.exp(x - _restore(ans, x, axis)),),
        params=AXIS_PARAMS,
        samples=REDUCTION_SAMPLES,
        reference=logsumexp_reference,
        batch=rules.axis(),
    ),
    Op(
        "cumsum", "cumsum", vjp=(cumsum_vjp,), params={"axis": None}, samples=CUMSUM_SAMPLES,
        batch=rules.axis(none="flatten"), complex=True,  # linear, with real coefficients
    ),
]

# Integer- or boolean-valued: their outputs never allow grad.
NON_DIFFERENTIABLE = [
    Op("argmax", "argmax", params=AXIS_PARAMS, samples=ARG_SAMPLES, batch=rules.axis(none="flatten")),
    Op("argmin", "argmin", params=AXIS_PARAMS, samples=ARG_SAMPLES, batch=rules.axis(none="flatten")),
    Op("all", "all", params=AXIS_PARAMS, samples=LOGICAL_SAMPLES, batch=rules.axis()),
    Op("any", "any", params=AXIS_PARAMS, samples=LOGICAL_SAMPLES, batch=rules.axis()),
]


@hookimpl
def minidiff_register_ops(registry) -> None:
    for op in (*DIFFERENTIABLE, *NON_DIFFERENTIABLE):
        registry.add_op(op)
