"""Special functions and activations: NumPy's remaining elementwise functions (`sinc`,
`logaddexp2`, `fmax`, `fmin`, `nan_to_num`, `heaviside`, `copysign`, `true_divide`,
`float_power`, `ldexp`), the error function (`erf`, `erfc`, without SciPy) and the
activations people reach for when they leave NumPy (`sigmoid`, `relu`, `softmax`,
`log_softmax`) and the classifier's loss built on them, `cross_entropy`.

Each op is one declaration with its gradient rule written in minidiff ops, so every order
works. Where a function has a kink or a jump, the comment above it says which value the
gradient takes there and what PyTorch (2.13) and JAX (0.10) do.

Forwards use the backend's own function where its namespace has one (NumPy has all of
NumPy's), and otherwise the same function built from `where`, `exp` and friends, so the
ops run on MLX too.

Under `md.vmap` the elementwise ones broadcast with the batch in front
(`rules.elementwise`), and `softmax`/`log_softmax` shift their axes past it (`axis=None`:
every element of one example); `true_divide` batches through `divide`; `cross_entropy`
computes every example's losses at once and reduces each example's apart.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

import minidiff as md
from minidiff._tensor import Tensor
from minidiff.batching import rules
from minidiff.lazy import reads_values_ok
from minidiff.extend import HOLOMORPHIC, Op, Sample, hookimpl, sample

__all__ = ["OPS"]

POSITIVE = (0.2, 3.0)
_LN2 = math.log(2.0)


def _native(xp: Any, name: str) -> Any:
    """`xp.<name>` where the array namespace has it (MLX lacks several), else None."""
    return getattr(xp, name, None)


def _binary_samples(domain: tuple[float, float] = (-2.0, 2.0)) -> tuple[Sample, ...]:
    return (
        sample((3, 4), (3, 4), domain=domain),
        sample((3, 1), (4,), domain=domain),  # broadcasting both ways
        sample((2, 3), (), domain=domain),
    )


# ---------------------------------------------------------------------------- sinc

# Maclaurin coefficients of sinc'(x) = sum_k c_k x^(2k-1), c_k = (-1)^k 2k π^(2k) / (2k+1)!;
# seven terms reach double precision for |x| < _SINC_SERIES.
_SINC_SLOPE_SERIES = tuple((-1) ** k * 2 * k * math.pi ** (2 * k) / math.factorial(2 * k + 1) for k in range(1, 8))
_SINC_SERIES = 0.1


def _sinc(xp: Any, x: Any) -> Any:
    # NumPy's own definition: sin(πx)/(πx) with x = 0 nudged to 1e-20, which gives exactly 1.
    y = math.pi * xp.where(x == 0, 1.0e-20, x)
    return xp.sin(y) / y


def _sinc_slope(x: Any) -> Any:
    """sinc'(x) = (cos(πx) - sinc(x)) / x. Near 0 that difference cancels (and is 0/0 at 0),
    so there the Maclaurin series is used instead: every derivative of it is right at 0
    too (sinc'(0) = 0, sinc''(0) = -π²/3), as JAX's `sinc` does with its own series."""
    near = md.abs(x) < _SINC_SERIES
    far = md.where(near, 1.0, x)  # keeps the formula's 0/0 out of the gradient
    x2, series = x * x, 0.0
    for c in reversed(_SINC_SLOPE_SERIES):
        series = series * x2 + c
    return md.where(near, x * series, (md.cos(math.pi * far) - md.sinc(far)) / far)


# ---------------------------------------------------------------------------- erf and erfc

# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23
# (1969), as in his CALERF routine (netlib specfun): erf on |x| <= 0.46875, erfc on
# 0.46875 < |x| <= 4 and on |x| > 4, each a rational function. Against math.erf on a grid of
# [-27, 27]: at most 4 ulps (erf) and 7 ulps (erfc, relative, where it is a normal float).
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02, 3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03)
_ERFC_C = (
    5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01, 2.98635138197400131e02,
    8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03,
    2.15311535474403846e-8,
)
_ERFC_D = (
    1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
    3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03,
)
_ERFC_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERFC_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1, 6.05183413124413191e-2, 2.33520497626869185e-3)
_ERF_SMALL = 0.46875
_ONE_OVER_SQRT_PI = 5.6418958354775628695e-1
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _rational(z: Any, num: tuple[float, ...], den: tuple[float, ...], terms: int) -> Any:
    """Cody's nested evaluation: (((num[-1] z + num[0]) z + num[1]) z ...) over the same for den."""
    top, bottom = num[-1] * z, z
    for i in range(terms):
        top = (top + num[i]) * z
        bottom = (bottom + den[i]) * z
    return top, bottom


def _erf_parts(xp: Any, x: Any) -> tuple[Any, Any, Any]:
    """(|x| <= 0.46875, erf(x) there, erfc(|x|) elsewhere), every branch on clamped inputs
    so that none overflows or divides by zero where it is not used."""
    y = xp.abs(x)
    small = y <= _ERF_SMALL
    # erf(x) = x R(x²) near 0
    ys = xp.minimum(y, _ERF_SMALL)
    top, bottom = _rational(ys * ys, _ERF_A, _ERF_B, 3)
    erf_small = x * (top + _ERF_A[3]) / (bottom + _ERF_B[3])
    # erfc(y) = exp(-y²) R(y) up to 4, exp(-y²) (1/√π - R(1/y²)/y²) / y beyond; erfc(40)
    # is 0 in double precision, and the clamp keeps y = inf from giving inf - inf.
    ym = xp.minimum(xp.maximum(y, _ERF_SMALL), 4.0)
    top, bottom = _rational(ym, _ERFC_C, _ERFC_D, 7)
    middle = (top + _ERFC_C[7]) / (bottom + _ERFC_D[7])
    yl = xp.minimum(xp.maximum(y, 4.0), 40.0)
    inverse = 1.0 / (yl * yl)
    top, bottom = _rational(inverse, _ERFC_P, _ERFC_Q, 4)
    large = (_ONE_OVER_SQRT_PI - inverse * (top + _ERFC_P[4]) / (bottom + _ERFC_Q[4])) / yl
    yt = xp.minimum(xp.maximum(y, _ERF_SMALL), 40.0)
    # exp(-y²) as exp(-r²) exp(-(y - r)(y + r)) with r = y rounded down to 1/16: r² is
    # exact, so y² loses no digits before the exponential magnifies them.
    r = xp.floor(yt * 16.0) / 16.0
    scale = xp.exp(-r * r) * xp.exp(-(yt - r) * (yt + r))
    erfc_abs = xp.where(y <= 4.0, middle, large) * scale
    erfc_abs = xp.where(y != y, y, erfc_abs)  # NaN stays NaN
    return small, erf_small, erfc_abs


def _erf(xp: Any, x: Any) -> Any:
    small, erf_small, erfc_abs = _erf_parts(xp, x)
    tail = (0.5 - erfc_abs) + 0.5
    return xp.where(small, erf_small, xp.where(x < 0, -tail, tail))


def _erfc(xp: Any, x: Any) -> Any:
    small, erf_small, erfc_abs = _erf_parts(xp, x)
    return xp.where(small, 1.0 - erf_small, xp.where(x < 0, 2.0 - erfc_abs, erfc_abs))


def _host_reference(function: Any) -> Any:
    """`function` (a scalar `math` function) on every element, in the input's dtype."""

    def reference(x: Any) -> np.ndarray:
        x = np.asarray(x)
        dtype = x.dtype if x.dtype.kind == "f" else np.float64
        return np.asarray(np.vectorize(function, otypes=[np.float64])(x), dtype=dtype)

    return reference


# ---------------------------------------------------------------------------- forwards MLX lacks


def _logaddexp2(xp: Any, x: Any, y: Any) -> Any:
    native = _native(xp, "logaddexp2")
    return native(x, y) if native else xp.logaddexp(x * _LN2, y * _LN2) / _LN2


def _fmax(xp: Any, x: Any, y: Any) -> Any:
    native = _native(xp, "fmax")
    if native:
        return native(x, y)
    return xp.where(y != y, x, xp.where(x != x, y, xp.maximum(x, y)))


def _fmin(xp: Any, x: Any, y: Any) -> Any:
    native = _native(xp, "fmin")
    if native:
        return native(x, y)
    return xp.where(y != y, x, xp.where(x != x, y, xp.minimum(x, y)))


def _heaviside(xp: Any, x1: Any, x2: Any) -> Any:
    native = _native(xp, "heaviside")
    if native:
        return native(x1, x2)
    if not xp.issubdtype(x1.dtype, np.floating):
        x1 = x1.astype(xp.float64)  # NumPy computes integer x1 in float64
    steps = xp.where(x1 < 0, 0.0, xp.where(x1 > 0, 1.0, x2))
    return xp.where(x1 != x1, x1, steps)


def _copysign(xp: Any, x1: Any, x2: Any) -> Any:
    native = _native(xp, "copysign")
    if native:
        return native(x1, x2)
    negative = (x2 < 0) | ((x2 == 0) & (1.0 / x2 < 0))  # -0.0 counts as negative
    return xp.where(negative, -xp.abs(x1), xp.abs(x1))


def _ldexp(xp: Any, x1: Any, x2: Any) -> Any:
    native = _native(xp, "ldexp")
    if native:
        return native(x1, x2)
    exponent = x2.astype(x1.dtype) if hasattr(x2, "astype") else float(x2)
    return x1 * xp.exp2(exponent)


def _float_power(xp: Any, x1: Any, x2: Any) -> Any:
    # NumPy computes float_power in float64 whatever the inputs, complex128 for complex ones
    # (complex64, the widest MLX has, there).
    complex_ = any(hasattr(v, "dtype") and xp.issubdtype(v.dtype, np.complexfloating) for v in (x1, x2))
    target = (getattr(xp, "complex128", None) or xp.complex64) if complex_ else xp.float64

    def wide(v: Any) -> Any:
        return v.astype(target) if hasattr(v, "astype") else complex(v) if isinstance(v, complex) else float(v)

    return xp.power(wide(x1), wide(x2))


def _nan_to_num(xp: Any, x: Any, copy: bool, nan: float, posinf: Any, neginf: Any) -> Any:
    # Always a new array: `copy=False` (in place, in NumPy) is accepted and means the same.
    if xp is np:
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)
    # Elsewhere built from `where`: MLX's own nan_to_num refuses float64.
    if xp.issubdtype(x.dtype, np.complexfloating):  # as NumPy: the real and imaginary parts apart
        real, imag = (_nan_to_num(xp, part(x), copy, nan, posinf, neginf) for part in (xp.real, xp.imag))
        return real + 1j * imag
    if not xp.issubdtype(x.dtype, np.floating):
        return x + 0  # no NaN or infinity in an integer array
    big = float(xp.finfo(x.dtype).max)
    x = xp.where(x == math.inf, big if posinf is None else posinf, x)
    x = xp.where(x == -math.inf, -big if neginf is None else neginf, x)
    return xp.where(x != x, nan, x)


def _nan_to_num_vjp(g: Any, ans: Any, x: Any, copy: bool, nan: float, posinf: Any, neginf: Any) -> Any:
    """g where x is finite, 0 where it was replaced; for complex x the real and imaginary
    parts are replaced apart (as NumPy does), so each part of g is kept where that part of x
    is finite."""
    if x.dtype.kind != "c":
        return md.where(md.isfinite(x), g, 0.0)
    real = md.where(md.isfinite(md.real(x)), md.real(g), 0.0)
    return real + 1j * md.where(md.isfinite(md.imag(x)), md.imag(g), 0.0)


def _nan_to_num_reference(x, copy=True, nan=0.0, posinf=None, neginf=None):
    return np.nan_to_num(x, copy=True, nan=nan, posinf=posinf, neginf=neginf)


# ---------------------------------------------------------------------------- activations


def _sigmoid(xp: Any, x: Any) -> Any:
    # exp of a non-positive number only, so neither tail overflows.
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _shifted(xp: Any, x: Any, axis: Any) -> Any:
    """x minus its maximum along `axis` (0 where that maximum is infinite): the largest
    term becomes exp(0) = 1, so the sum of exponentials neither overflows nor vanishes."""
    top = xp.max(x, axis=axis, keepdims=True)
    return x - xp.where(xp.isfinite(top), top, 0.0)


def _softmax(xp: Any, x: Any, axis: Any) -> Any:
    e = xp.exp(_shifted(xp, x, axis))
    return e / xp.sum(e, axis=axis, keepdims=True)


def _log_softmax(xp: Any, x: Any, axis: Any) -> Any:
    s = _shifted(xp, x, axis)
    return s - xp.log(xp.sum(xp.exp(s), axis=axis, keepdims=True))


def _softmax_reference(x, axis=-1):
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax_reference(x, axis=-1):
    return x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))


_SOFTMAX_SAMPLES = (
    sample((3, 4)),
    sample((5,)),
    sample((2, 3, 4), axis=1),
    sample((2, 3, 4), axis=(0, 2)),
    sample((3, 4), axis=None),
    sample((3, 4), axis=0, domain=(-30.0, 30.0)),
)


# ---------------------------------------------------------------------------- cross_entropy

_REDUCTIONS = ("mean", "sum", "none")


def _cross_entropy_parse(logits: Any, target: Any, axis: int = -1, reduction: str = "mean") -> tuple[tuple, dict]:
    """The call's operands and parameters, after the checks that need the target's values:
    each must name a class, 0 <= target < logits.shape[axis]. NumPy's indexing would wrap a
    negative one round to the last classes, a silent wrong loss; PyTorch raises (except for
    its ignore_index, -100). Skipped where values cannot be read (a lazy backend, a step
    `md.compile` traces); there a target at or above the class count still raises, in the
    backend's take_along_axis. The dtype and shapes are checked by the kernel."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if type(target) is Tensor:
        values = target.data if reads_values_ok(target.backend) else None
    elif isinstance(target, (np.ndarray, np.integer, int, list, tuple)):
        values = np.asarray(target)
    else:  # a BatchedTensor under md.vmap: the check runs on each example's call
        values = None
    ndim = getattr(logits, "ndim", 0)
    if values is not None and values.size and ndim and -ndim <= axis < ndim:
        classes = logits.shape[axis]
        if bool(values.min() < 0) or bool(values.max() >= classes):  # min and max: 2 us on 128 labels
            bad = np.asarray(target.numpy() if type(target) is Tensor else values).reshape(-1)
            bad = bad[(bad < 0) | (bad >= classes)]
            raise IndexError(
                f"cross_entropy: target {bad[0]} is out of bounds for {classes} classes (axis {axis}); "
                "targets are class indices 0 <= target < logits.shape[axis] (no ignore_index)"
            )
    return (logits, target), {"axis": axis, "reduction": reduction}


_cross_entropy_parse.__qualname__ = "cross_entropy"  # so that a wrong keyword's TypeError names md.cross_entropy


def _class_axis(xp: Any, logits: Any, target: Any, axis: int) -> int:
    """The class axis as a non-negative int, after checking the operands fit each other."""
    if not xp.issubdtype(target.dtype, np.integer):
        raise TypeError(
            f"cross_entropy: target must hold integer class indices, got dtype {target.dtype}; for class "
            "probabilities p write -md.sum(p * md.log_softmax(logits, axis=axis), axis=axis)"
        )
    if not -logits.ndim <= axis < logits.ndim:
        raise ValueError(f"axis {axis} is out of range for logits of shape {tuple(logits.shape)}")
    axis %= logits.ndim
    expected = tuple(logits.shape[:axis]) + tuple(logits.shape[axis + 1:])
    if tuple(target.shape) != expected:
        raise ValueError(
            f"target has shape {tuple(target.shape)}, but logits of shape {tuple(logits.shape)} "
            f"with classes on axis {axis} need a target of shape {expected}"
        )
    return axis


def _cross_entropy(xp: Any, logits: Any, target: Any, axis: int, reduction: str) -> Any:
    # -log softmax(x)[t] = logsumexp(x) - x[t], both from x minus its maximum
    axis = _class_axis(xp, logits, target, axis)
    s = _shifted(xp, logits, axis)
    kept = tuple(s.shape[:axis]) + (1,) + tuple(s.shape[axis + 1:])
    picked = xp.take_along_axis(s, xp.reshape(target, kept), axis=axis)  # reshape: NumPy's expand_dims costs 3x
    losses = xp.reshape(xp.log(xp.sum(xp.exp(s), axis=axis, keepdims=True)) - picked, target.shape)
    if reduction == "none":
        return losses
    total = xp.sum(losses)
    # the mean as NumPy's mean computes it (the sum over the count), without its Python layer
    return total / losses.size if reduction == "mean" else total


@functools.lru_cache(maxsize=64)
def _classes(backend: str, count: int, trailing: int) -> Tensor:
    """0, 1, ..., count - 1 along an axis followed by `trailing` axes: what a target is
    compared with to make its one-hot rows. Made once per shape: a rule runs every step."""
    return md.reshape(md.arange(count, backend=backend), (count,) + (1,) * trailing)


def _cross_entropy_vjp(g: Any, ans: Any, logits: Any, target: Any, axis: int, reduction: str) -> Any:
    """(softmax(x) - onehot(t)) times g, spread over the classes (divided by the number of
    losses for the mean), in minidiff ops: the Hessian is softmax's Jacobian."""
    axis %= logits.ndim
    classes = _classes(logits.backend.name, logits.shape[axis], logits.ndim - axis - 1)
    d = md.softmax(logits, axis=axis) - (md.expand_dims(target, axis) == classes)
    if reduction == "none":
        return d * md.expand_dims(g, axis)
    return d * (g / max(target.size, 1) if reduction == "mean" else g)


def _cross_entropy_batch(call: Any, args: tuple, batched: tuple, params: dict) -> Any:
    """Every example's losses in one call (reduction "none", the class axis past the batch),
    then each example's own mean or sum."""
    size = rules.batch_size(args, batched)
    like = args[0] if batched[0] else args[1]
    # a shared operand as copies of it, on the batched one's backend (a host target, say)
    logits, target = (
        a if b else rules.to_batched(a if hasattr(a, "backend") else md.asarray(a, backend=like.backend.name), size)
        for a, b in zip(args, batched)
    )
    ndim = rules.logical_ndim(logits, True)
    losses = call(logits, target, axis=rules.shift_axis(params.get("axis", -1), ndim), reduction="none")
    reduction = params.get("reduction", "mean")
    if reduction == "none" or losses.ndim == 1:
        return losses
    reduce = md.mean if reduction == "mean" else md.sum
    return reduce(losses, axis=tuple(range(1, losses.ndim)))


def _cross_entropy_reference(logits, target, axis=-1, reduction="mean"):
    axis %= logits.ndim
    log_p = logits - np.log(np.sum(np.exp(logits), axis=axis, keepdims=True))
    losses = -np.squeeze(np.take_along_axis(log_p, np.expand_dims(target, axis), axis=axis), axis=axis)
    return {"mean": np.mean, "sum": np.sum}.get(reduction, np.asarray)(losses)


_CROSS_ENTROPY_SAMPLES = (
    sample((4, 5), np.array([0, 4, 2, 2])),
    sample((4, 5), np.array([1, 0, 3, 4]), reduction="sum"),
    sample((4, 5), np.array([3, 3, 0, 1]), reduction="none"),
    sample((5,), np.array(3)),  # one example: a scalar target
    sample((2, 3, 4), np.array([[0, 2, 1, 1], [2, 2, 0, 1]]), axis=1),  # PyTorch's (N, C, d) layout
    sample((2, 3, 4), np.array([[0, 2, 1], [3, 3, 0]]), reduction="none"),
    sample((3, 4), np.array([1, 2, 0]), domain=(-30.0, 30.0)),  # far apart: the shift keeps exp finite
)


# ---------------------------------------------------------------------------- fmax and fmin


def _share(g: Any, mine: Any, other: Any, wins: Any, first: bool) -> Any:
    """One operand's share of g in fmax or fmin, where `wins` says it is strictly the
    chosen number: all of g there or where only the other is NaN, half at a tie (as
    md.maximum), and where both are NaN, all of it to the first operand."""
    mine_nan, other_nan = md.isnan(mine), md.isnan(other)
    takes = wins | (other_nan & ~mine_nan)
    if first:
        takes = takes | (mine_nan & other_nan)
    return md.where(takes, g, md.where(mine == other, g * 0.5, 0.0))


_WITH_NANS = (
    np.array([[1.0, np.nan, 3.0, -0.5], [0.5, -1.0, np.nan, 2.0]]),
    np.array([[np.nan, 2.0, -1.0, 0.75], [1.5, np.nan, 0.25, -2.0]]),
)


# ---------------------------------------------------------------------------- the table

# Complex input: sinc, true_divide and float_power are complex differentiable, their rules
# the real formulas (HOLOMORPHIC); nan_to_num is the identity where it keeps a value, with a
# rule for complex input (complex=True). The rest stay real only: NumPy's logaddexp2,
# heaviside, copysign and ldexp refuse complex numbers, fmax, fmin and relu order them (by
# real part first: no derivative), erf and erfc are real approximations (NumPy has neither,
# SciPy's complex erf is another algorithm), sigmoid's reference is logaddexp (real only),
# and softmax, log_softmax and cross_entropy shift by the max, which for complex numbers puts
# the logarithm on another branch than NumPy's (PyTorch refuses complex softmax too).
OPS = [
    # sinc(0) = 1 and its gradient there is 0, second derivative -π²/3 (see _sinc_slope).
    # PyTorch agrees at first order but gives NaN at second order at 0; JAX is right at 0
    # but its second derivative at 1e-9 is 201 instead of -3.29.
    Op(
        "sinc",
        _sinc,
        vjp=(lambda g, ans, x: g * _sinc_slope(x),),
        samples=(
            sample((3, 4)),
            sample(()),
            sample(np.array([0.0, 0.05, -0.1, 0.1, 0.1001, 1.0, -1.5, 2.5])),  # 0 and the series' edge
        ),
        batch=rules.elementwise,
        complex=HOLOMORPHIC,
    ),
    Op(
        "logaddexp2",
        _logaddexp2,
        vjp=(lambda g, ans, x, y: g * md.exp2(x - ans), lambda g, ans, x, y: g * md.exp2(y - ans)),
        nargs=2,
        samples=(*_binary_samples(), sample((3, 4), (3, 4), domain=(-900.0, 900.0), order=0)),
        batch=rules.elementwise,
    ),
    # NaN is ignored: the gradient goes to the number. Ties split g evenly, as md.maximum
    # does (and as PyTorch's and JAX's maximum do; their fmax give it all to x, PyTorch, or
    # to y, JAX). Both NaN: all of g to x, as in both.
    Op(
        "fmax",
        _fmax,
        vjp=(
            lambda g, ans, x, y: _share(g, x, y, x > y, first=True),
            lambda g, ans, x, y: _share(g, y, x, y > x, first=False),
        ),
        nargs=2,
        samples=(*_binary_samples(), sample(*_WITH_NANS), sample(np.array([1.0, 2.0]), np.array([1.0, 2.0]), order=0)),
        batch=rules.elementwise,
    ),
    Op(
        "fmin",
        _fmin,
        vjp=(
            lambda g, ans, x, y: _share(g, x, y, x < y, first=True),
            lambda g, ans, x, y: _share(g, y, x, y < x, first=False),
        ),
        nargs=2,
        samples=(*_binary_samples(), sample(*_WITH_NANS)),
        batch=rules.elementwise,
    ),
    # A replaced value (NaN, ±inf) takes no gradient, as in PyTorch and JAX.
    Op(
        "nan_to_num",
        _nan_to_num,
        vjp=(_nan_to_num_vjp,),
        params={"copy": True, "nan": 0.0, "posinf": None, "neginf": None},
        reference=_nan_to_num_reference,
        samples=(
            sample((3, 4)),
            sample(np.array([[np.nan, 1.5, -0.25], [0.75, -0.5, np.nan]])),
            # finite stand-ins for ±inf: NumPy's default, the largest float, would swamp the
            # finite differences of the other elements
            sample(np.array([np.nan, np.inf, -np.inf, 0.5]), nan=-1.0, posinf=9.0, neginf=-9.0),
        ),
        batch=rules.elementwise,
        complex=True,
    ),
    # Piecewise constant in x1, so 0 there (also at x1 = 0, where it jumps); x2 is the value
    # at x1 = 0 and gets g exactly there. As JAX; PyTorch has no derivative for heaviside.
    Op(
        "heaviside",
        _heaviside,
        vjp=(lambda g, ans, x1, x2: md.zeros_like(g), lambda g, ans, x1, x2: md.where(x1 == 0, g, 0.0)),
        nargs=2,
        samples=(
            sample((3, 4), (3, 4)),
            sample(np.array([[-2, 0, 3, 0], [0, 1, -1, 0]]), (2, 4)),  # integer x1: its zeros pick x2
            sample(np.array([-1.5, 0.0, 2.0]), 0.5, order=0),
        ),
        batch=rules.elementwise,
    ),
    # |x1| with x2's sign: d/dx1 = sign(x1) sign(x2) = sign(x1) sign(ans), 0 at x1 = 0 (md.abs's choice, and
    # PyTorch's; JAX gives ±1 there, the sign of x2). x2 only contributes a sign: 0.
    Op(
        "copysign",
        _copysign,
        vjp=(lambda g, ans, x1, x2: g * md.sign(x1) * md.sign(ans), lambda g, ans, x1, x2: md.zeros_like(g)),
        nargs=2,
        samples=(
            *_binary_samples(),
            # signed zeros in x2 (forward only: x2 = ±0 is where its sign, so the output, jumps)
            sample(np.array([1.5, -2.0, 0.5, -0.25]), np.array([-1.0, 2.0, -0.0, 0.0]), order=0),
        ),
        batch=rules.elementwise,
    ),
    Op(
        "true_divide",
        composite=lambda x1, x2: md.divide(x1, x2),
        samples=(sample((3, 4), (3, 4), domain=POSITIVE), sample((3, 1), (4,), domain=POSITIVE)),
        complex=HOLOMORPHIC,
    ),
    # Always float64, as NumPy. d/dx2 at x1 = 0 is 0 for x2 >= 0 (0**x2 is constant there),
    # as PyTorch and JAX give.
    Op(
        "float_power",
        _float_power,
        vjp=(
            lambda g, ans, x1, x2: g * x2 * md.float_power(x1, x2 - 1),
            lambda g, ans, x1, x2: g * ans * md.log(md.where(x1 == 0, 1.0, x1)),
        ),
        nargs=2,
        samples=(
            *_binary_samples(POSITIVE),
            sample((3, 4), 2, domain=(-2.0, 2.0)),
            sample((3, 4), 0.5, domain=POSITIVE),
        ),
        batch=rules.elementwise,
        complex=HOLOMORPHIC,
    ),
    # x1 * 2**x2 is linear in x1, so the rule is ldexp itself; x2 holds integers. (PyTorch
    # gets 0 for negative x2, rounding 2**x2 as an integer; JAX gets 1 at x1 = 0.)
    Op(
        "ldexp",
        _ldexp,
        vjp=(lambda g, ans, x1, x2: md.ldexp(g, x2), None),
        nargs=2,
        samples=(
            sample((3, 4), np.array([[2, -1, 0, 5], [1, 1, -3, 0], [0, 7, 2, -2]])),
            sample((3, 4), np.array([3, -2, 0, 1])),
            sample((3, 4), 4),
            sample(np.array([0.0, -0.0, 1.5]), np.array([3, 3, -1])),
        ),
        batch=rules.elementwise,
    ),
    Op(
        "erf",
        _erf,
        vjp=(lambda g, ans, x: g * _TWO_OVER_SQRT_PI * md.exp(-x * x),),
        reference=_host_reference(math.erf),
        samples=(sample((3, 4)), sample(()), sample((3, 4), domain=(-6.0, 6.0)), sample((40,), domain=(-30.0, 30.0), order=0)),
        doc="erf(x): the error function 2/√π ∫₀ˣ exp(-t²) dt, elementwise, from W. J. Cody's rational "
        "approximations (within 4 ulps of math.erf on [-27, 27]). Its gradient is 2/√π exp(-x²).",
        batch=rules.elementwise,
    ),
    Op(
        "erfc",
        _erfc,
        vjp=(lambda g, ans, x: -g * _TWO_OVER_SQRT_PI * md.exp(-x * x),),
        reference=_host_reference(math.erfc),
        samples=(sample((3, 4)), sample(()), sample((3, 4), domain=(-6.0, 6.0)), sample((40,), domain=(-30.0, 30.0), order=0)),
        doc="erfc(x) = 1 - erf(x), accurate also where it is tiny (relative error within 7 ulps of "
        "math.erfc up to x = 26, where it underflows; W. J. Cody's rational approximations). Its "
        "gradient is -2/√π exp(-x²).",
        batch=rules.elementwise,
    ),
    Op(
        "sigmoid",
        _sigmoid,
        # σ'(x) = σ(x) σ(-x): accurate in both tails, where 1 - σ(x) would round to 0.
        vjp=(lambda g, ans, x: g * ans * md.sigmoid(-x),),
        reference=lambda x: np.exp(-np.logaddexp(0.0, -x)),
        samples=(sample((3, 4)), sample(()), sample((3, 4), domain=(-40.0, 40.0)), sample((3, 4), domain=(-800.0, 800.0), order=0)),
        doc="sigmoid(x) = 1 / (1 + exp(-x)), the logistic function, without overflow for any x. "
        "Its gradient is sigmoid(x) sigmoid(-x).",
        batch=rules.elementwise,
    ),
    # relu'(0) = 0, as PyTorch and JAX.
    Op(
        "relu",
        lambda xp, x: xp.maximum(x, 0),
        vjp=(lambda g, ans, x: md.where(x > 0, g, 0.0),),
        reference=lambda x: np.where(x > 0, x, np.zeros_like(x)),
        samples=(sample((3, 4)), sample(()), sample(np.array([-1.0, 0.0, 2.0]), order=0)),
        doc="relu(x) = max(x, 0). Its gradient is 1 where x > 0 and 0 elsewhere, also at x = 0 "
        "(as PyTorch and JAX).",
        batch=rules.elementwise,
    ),
    Op(
        "softmax",
        _softmax,
        vjp=(lambda g, ans, x, axis: ans * (g - md.sum(g * ans, axis=axis, keepdims=True)),),
        params={"axis": -1},
        reference=_softmax_reference,
        samples=_SOFTMAX_SAMPLES,
        doc="softmax(x, axis=-1) = exp(x) / sum(exp(x), axis), computed from x minus its maximum so that "
        "nothing overflows. axis is an int, a tuple or None (all elements). The default is the last axis, "
        "as jax.nn.softmax; scipy.special.softmax defaults to axis=None and torch.softmax requires dim.",
        batch=rules.axis(),
    ),
    Op(
        "log_softmax",
        _log_softmax,
        vjp=(lambda g, ans, x, axis: g - md.exp(ans) * md.sum(g, axis=axis, keepdims=True),),
        params={"axis": -1},
        reference=_log_softmax_reference,
        samples=_SOFTMAX_SAMPLES,
        doc="log_softmax(x, axis=-1) = x - logsumexp(x, axis), stable for any x. axis is an int, a tuple or "
        "None (all elements); the default is the last axis, as jax.nn.log_softmax (scipy.special's defaults "
        "to None, torch's requires dim).",
        batch=rules.axis(),
    ),
    # Integer targets only, no weight, ignore_index or label_smoothing: a target outside
    # [0, classes) raises (PyTorch skips -100, its ignore_index); on a lazy backend (Dask) and
    # inside md.compile only one at or above the class count does (_cross_entropy_parse).
    # Checked against torch.nn.functional.cross_entropy (2.13): values, first and second
    # derivatives, float32 results, for every reduction and axis=1 on (N, C, d) logits.
    Op(
        "cross_entropy",
        _cross_entropy,
        vjp=(_cross_entropy_vjp, None),
        nargs=2,
        params={"axis": -1, "reduction": "mean"},
        parse=_cross_entropy_parse,
        reference=_cross_entropy_reference,
        samples=_CROSS_ENTROPY_SAMPLES,
        doc="cross_entropy(logits, target, axis=-1, reduction='mean'): the softmax cross-entropy of integer "
        "class labels, -log_softmax(logits, axis)[target] = logsumexp(logits, axis) - logits[target], for each "
        "example, then averaged (reduction='mean'), summed ('sum') or kept ('none', the shape of target). "
        "target has the shape of logits without the class axis and holds class indices 0 <= t < "
        "logits.shape[axis]. One op: its gradient is (softmax(logits) - onehot(target)) times the "
        "cotangent, written in minidiff ops so that second order works. As "
        "torch.nn.functional.cross_entropy(logits, target, reduction=...) for class-index targets, except "
        "that the classes are on the last axis by default (PyTorch's are on axis 1 of an (N, C, d1, ...) "
        "input: pass axis=1); no weight, ignore_index or label_smoothing.\n\n"
        ">>> import minidiff as md\n"
        ">>> logits = md.Tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]], allow_grad=True)\n"
        ">>> loss = md.cross_entropy(logits, md.Tensor([0, 2]))\n"
        ">>> loss\n"
        "minidiff.Tensor(0.66907853, allow_grad=True)\n"
        ">>> loss.backward()\n"
        ">>> logits.grad.numpy().round(4).tolist()  # (softmax - onehot) / 2\n"
        "[[-0.1065, 0.0533, 0.0533], [0.1667, 0.1667, -0.3333]]",
        batch=_cross_entropy_batch,
    ),
]


@hookimpl
def minidiff_register_ops(registry) -> None:
    for op in OPS:
        registry.add_op(op)
