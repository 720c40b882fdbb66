"""Elementwise op family: arithmetic, exponentials, trigonometry, comparisons.

One line per op: its NumPy name, its gradient rule for each operand (written with
minidiff ops, so it differentiates again), and the domain its samples are drawn from.
Broadcasting and dtype promotion are undone by the engine, not here. Every op here batches
under `md.vmap` by broadcasting (`rules.elementwise`): the batch stays in front.
"""

from __future__ import annotations

import functools
import math
import operator
from typing import Any

import numpy as np

import minidiff as md
from minidiff.array_api.tensor_protocol import check_device
from minidiff.batching import rules
from minidiff.extend import HOLOMORPHIC, Op, Sample, hookimpl, sample
from minidiff.lazy import reads_values_ok
from minidiff._tensor import Tensor

# Where a function's derivative blows up (log at 0, arcsin at ±1), samples keep away.
POSITIVE = (0.2, 3.0)
OPEN_UNIT = (-0.9, 0.9)
# Exact zeros in a base, where x**0, x**1 and x**3 are smooth but y x**(y-1) is 0 * inf.
_ZERO_BASE = np.array([[0.0, 0.5, -1.5], [1.2, 0.0, -0.3]])


def _power_vjp_x(g: Any, ans: Any, x: Any, y: Any) -> Any:
    """d/dx x**y = y x**(y-1).

    At x = 0 with y = 0 that formula is 0 * inf, but x**0 is the constant 1: its derivative
    is 0 (PyTorch and HIPS autograd give 0; JAX gives 0 for an int exponent, NaN for 0.0).
    A Python exponent 0 returns zeros. A tensor exponent is masked where x = 0 and y = 0
    only, so the formula stays exact elsewhere (at y = 0 with x != 0 its y-derivative is
    1/x); inside the mask the exponent is read as 1, so the masked branch holds no inf
    whose zero cotangent would make 0 * inf at the next order. The second derivative of
    x**1 at 0 then comes out 0, from the exponent-0 case.
    For x ** 2, the commonest power, 2 x skips a second power op in every pass (about a
    fifth of a vectorized Rosenbrock Hessian's time). docs/gradient-conventions.md lists
    power's edge points with PyTorch's and JAX's values.
    """
    if not isinstance(y, Tensor):
        if y == 2:
            return g * (2 * x)
        if y == 0:
            return md.zeros_like(g)
        return g * y * x ** (y - 1)
    if not _has_zero(x):
        return g * y * x ** (y - 1)
    at_zero = (x == 0) & (y == 0)
    return g * md.where(at_zero, 0.0, y * x ** (md.where(at_zero, 1, y) - 1))


def _power_vjp_y(g: Any, ans: Any, x: Any, y: Any) -> Any:
    """d/dy x**y = x**y log x.

    At x = 0, 0**y is 0 for every y > 0, so its y-derivative is 0; at y = 0, where 0**y
    jumps from 1, PyTorch's convention 0 is kept (JAX and HIPS autograd give 0 at both).
    `log` reads 1 there instead of 0, so no 0 * -inf appears, at any order. For x < 0, log x is NaN and so is the
    gradient (PyTorch and JAX give NaN as well): x**y is not real for non-integer y near it.
    """
    if not _has_zero(x):
        return g * ans * md.log(x)
    flat = (y >= 0) & (x == 0)
    return g * ans * md.log(md.where(flat, 1.0, x))


def _has_zero(x: Any) -> bool:
    """Whether x holds an exact 0. Without one, the masks of power's rules change nothing, and
    skipping them is exact at every order too: the plain formula holds in a neighborhood."""
    if isinstance(x, Tensor):
        if not reads_values_ok(x.backend):  # lazy or tracing md.compile: the masked formula is exact anyway
            return True
        return bool(x.backend.xp.any(x.data == 0).item())
    return x == 0


def _abs_vjp(g: Any, ans: Any, x: Any) -> Any:
    """sign(x) for real x (a constant, so 0 at the next order); z / |z| for complex z, which
    is not constant, so it is spelled with differentiable ops (0 at z = 0, as PyTorch's sgn)."""
    if x.dtype.kind != "c":
        return g * md.sign(x)
    return g * x / md.where(ans == 0, 1.0, ans)


def unary(name: str, rule, domain: tuple[float, float] = (-2.0, 2.0), complex=HOLOMORPHIC) -> Op:  # noqa: A002
    samples = (sample((3, 4), domain=domain), sample((), domain=domain))
    return Op(name, name, vjp=(rule,), samples=samples, batch=rules.elementwise, complex=complex)


def binary(
    name: str, rule_x, rule_y, domain: tuple[float, float] = (-2.0, 2.0), extra: tuple[Sample, ...] = (),
    inplace=None, complex=HOLOMORPHIC,  # noqa: A002
) -> Op:
    samples = (
        sample((3, 4), (3, 4), domain=domain),
        sample((3, 1), (4,), domain=domain),  # broadcasting both ways
        sample((2, 3), (), domain=domain),
        *extra,
    )
    return Op(
        name, name, vjp=(rule_x, rule_y), nargs=2, samples=samples, batch=rules.elementwise, inplace=inplace,
        complex=complex,
    )


def _astype(xp, x, dtype, copy=True, device=None):
    # the Array API's keywords: the result is always a new tensor (`copy=False` may share
    # memory in the standard; here it is only allowed), on x's backend
    check_device(xp, device, "astype")
    return x.astype(dtype)


def _tie_split(g, x, y):
    """Where x wins, all of g; where x and y tie, half (as PyTorch and JAX do)."""
    return md.where(x > y, g, md.where(x == y, g * 0.5, 0.0))


def _clip_parse(a, /, min=None, max=None, *, a_min=None, a_max=None):  # noqa: A002 (the standard's names)
    # `min`/`max` are the array API standard's names (positional too); NumPy's `a_min=`/`a_max=` still work.
    if a_min is not None or a_max is not None:
        if min is not None or max is not None:
            raise ValueError("clip(): give the bounds as min, max or as a_min=, a_max=, not both (as in NumPy)")
        min, max = a_min, a_max
    a_min, a_max = min, max
    # An omitted bound becomes an open one, so one rule covers every form of the call: the
    # dtype's extreme for integers (an infinity would make uint8 float64), else infinity.
    low, high = -math.inf, math.inf
    dtype = a.dtype if hasattr(a, "dtype") else np.asarray(a).dtype  # also a BatchedTensor, under md.vmap
    if dtype.kind in "iu":
        low, high = int(np.iinfo(dtype).min), int(np.iinfo(dtype).max)
    return (a, low if a_min is None else a_min, high if a_max is None else a_max), {}


_clip_parse.__qualname__ = "clip"  # so that a wrong keyword's TypeError names md.clip


@functools.wraps(np.clip)
def _clip_reference(a, a_min=None, a_max=None, **bounds):
    # spelled positionally: NumPy before 2.1 has no min=/max= and no omitted bound
    return np.clip(a, bounds.get("min", a_min), bounds.get("max", a_max))


DIFFERENTIABLE = [
    unary("negative", lambda g, ans, x: -g),
    unary("positive", lambda g, ans, x: g),
    unary("abs", _abs_vjp, complex=True),
    unary("exp", lambda g, ans, x: g * ans),
    unary("exp2", lambda g, ans, x: g * ans * math.log(2.0)),
    unary("expm1", lambda g, ans, x: g * (ans + 1.0)),
    unary("log", lambda g, ans, x: g / x, POSITIVE),
    unary("log2", lambda g, ans, x: g / (x * math.log(2.0)), POSITIVE),
    unary("log10", lambda g, ans, x: g / (x * math.log(10.0)), POSITIVE),
    unary("log1p", lambda g, ans, x: g / (x + 1.0), (-0.8, 3.0)),
    unary("sqrt", lambda g, ans, x: g / (2.0 * ans), POSITIVE),
    unary("cbrt", lambda g, ans, x: g / (3.0 * ans * ans), POSITIVE, complex=False),  # real only, as NumPy's
    unary("square", lambda g, ans, x: g * 2.0 * x),
    unary("reciprocal", lambda g, ans, x: -g * ans * ans, POSITIVE),
    unary("sin", lambda g, ans, x: g * md.cos(x)),
    unary("cos", lambda g, ans, x: -g * md.sin(x)),
    unary("tan", lambda g, ans, x: g * (1.0 + ans * ans), (-1.2, 1.2)),
    unary("arcsin", lambda g, ans, x: g / md.sqrt(1.0 - x * x), OPEN_UNIT),
    unary("arccos", lambda g, ans, x: -g / md.sqrt(1.0 - x * x), OPEN_UNIT),
    # arctan's and arcsinh's branch cuts run along the imaginary axis beyond +-i: the samples
    # keep |x| < 1, so the complex check's imaginary parts stay off them
    unary("arctan", lambda g, ans, x: g / (1.0 + x * x), OPEN_UNIT),
    unary("sinh", lambda g, ans, x: g * md.cosh(x)),
    unary("cosh", lambda g, ans, x: g * md.sinh(x)),
    unary("tanh", lambda g, ans, x: g * (1.0 - ans * ans)),
    unary("arcsinh", lambda g, ans, x: g / md.sqrt(x * x + 1.0), OPEN_UNIT),
    unary("arccosh", lambda g, ans, x: g / md.sqrt(x * x - 1.0), (1.2, 3.0)),
    unary("arctanh", lambda g, ans, x: g / (1.0 - x * x), OPEN_UNIT),
    binary("add", lambda g, ans, x, y: g, lambda g, ans, x, y: g, inplace=operator.iadd),
    binary("subtract", lambda g, ans, x, y: g, lambda g, ans, x, y: -g, inplace=operator.isub),
    binary("multiply", lambda g, ans, x, y: g * y, lambda g, ans, x, y: g * x, inplace=operator.imul),
    binary("divide", lambda g, ans, x, y: g / y, lambda g, ans, x, y: -g * ans / y, POSITIVE, inplace=operator.itruediv),
    binary(
        "power",
        _power_vjp_x,
        _power_vjp_y,
        POSITIVE,
        inplace=operator.ipow,
        extra=(
            sample((3, 4), 2, domain=(-2.0, 2.0)),
            sample((3, 4), 0.5, domain=POSITIVE),
            *(sample(_ZERO_BASE, y) for y in (0, 1, 1.0, 3)),
            # y-gradient at x = 0: 0 (0**y is flat for y > 0); first order only, since the
            # x-derivative of x**y log x, the mixed second derivative, is NaN for x < 0.
            sample(np.array([0.0, 0.0, 0.8, 1.3]), np.array([2.0, 3.0, 0.0, 1.0]), order=1),
        ),
    ),
    # mod(x, y) = x - floor(x / y) * y: the floor is piecewise constant.
    # Real only (NumPy refuses complex input to all but maximum/minimum, whose order on complex
    # numbers, by real part first, has no derivative): backward with a complex operand raises.
    binary("mod", lambda g, ans, x, y: g, lambda g, ans, x, y: -g * md.floor_divide(x, y), POSITIVE, complex=False),
    binary("maximum", lambda g, ans, x, y: _tie_split(g, x, y), lambda g, ans, x, y: _tie_split(g, y, x),
           complex=False),
    binary("minimum", lambda g, ans, x, y: _tie_split(g, y, x), lambda g, ans, x, y: _tie_split(g, x, y),
           complex=False),
    binary("logaddexp", lambda g, ans, x, y: g * md.exp(x - ans), lambda g, ans, x, y: g * md.exp(y - ans),
           complex=False),
    binary(
        "arctan2",
        lambda g, ans, x, y: g * y / (x * x + y * y),
        lambda g, ans, x, y: -g * x / (x * x + y * y),
        POSITIVE,
        complex=False,
    ),
    binary("hypot", lambda g, ans, x, y: g * x / ans, lambda g, ans, x, y: g * y / ans, POSITIVE, complex=False),
    Op(
        "where",
        "where",
        vjp=(None, lambda g, ans, c, x, y: md.where(c, g, 0.0), lambda g, ans, c, x, y: md.where(c, 0.0, g)),
        nargs=3,
        samples=(
            sample(np.array([[True, False, True, False]] * 3), (3, 4), (3, 4)),
            sample(np.array([True, False, False, True]), (3, 1), (4,)),
        ),
        batch=rules.elementwise,
        complex=True,  # linear, with real coefficients
    ),
    # clip(x, lo, hi) = minimum(maximum(x, lo), hi): each element's gradient goes to exactly
    # one operand, also when lo > hi.
    Op(
        "clip",
        "clip",
        vjp=(
            lambda g, ans, x, lo, hi: md.where((x >= lo) & (x <= hi), g, 0.0),
            lambda g, ans, x, lo, hi: md.where((lo > x) & (lo <= hi), g, 0.0),
            lambda g, ans, x, lo, hi: md.where((x > hi) | (lo > hi), g, 0.0),
        ),
        nargs=3,
        parse=_clip_parse,
        samples=(
            sample((3, 4), -0.5, 0.5),
            sample((3, 4), (3, 4), (3, 4)),
            sample((3, 4), None, 0.3),
            sample((3, 4), min=-0.3),
            sample((3, 4), min=-0.3, max=0.4),
            sample(np.arange(6, dtype=np.uint8), None, 3, order=0),  # an omitted bound keeps uint8
            sample(np.arange(-3, 3), min=-1, order=0),
        ),
        reference=_clip_reference,
        batch=rules.elementwise,
    ),
    Op(
        "astype",
        _astype,
        vjp=(lambda g, ans, x, dtype, **_: g,),  # the engine casts g back to x's dtype (its real part, for a real x)
        params={"dtype": None, "copy": True, "device": None},
        samples=(
            sample((3, 4), dtype=np.float64, complex=False),  # complex to float discards the imaginary part
            sample((3, 4), dtype=np.float32, order=0),
            sample((3, 4), dtype=np.complex128),
        ),
        reference=lambda x, dtype, copy=True, device=None: x.astype(dtype),
        batch=rules.elementwise,
        complex=True,
    ),
]

_BOOLS = (np.array([[True, False], [True, True]]), np.array([[False, False], [True, False]]))

# Piecewise constant or boolean-valued: their outputs never allow grad (a zero gradient
# almost everywhere, which is what a constant contributes).
NON_DIFFERENTIABLE = [
    *(Op(name, name, samples=(sample((3, 4)),), batch=rules.elementwise) for name in ("sign", "floor", "ceil", "rint", "trunc")),
    *(
        Op(name, name, samples=(sample(np.array([1.0, np.nan, np.inf, -2.0])),), batch=rules.elementwise)
        for name in ("isnan", "isinf", "isfinite")
    ),
    Op("round", "round", params={"decimals": 0}, samples=(sample((3, 4)), sample((3, 4), decimals=2)), batch=rules.elementwise),
    Op("floor_divide", "floor_divide", nargs=2, samples=(sample((3, 4), (3, 4), domain=POSITIVE),), batch=rules.elementwise),
    *(
        Op(name, name, nargs=2, samples=(sample((3, 4), (3, 4)), sample((3, 1), (4,)), sample(np.arange(4.0), np.array([0.0, 1.0, 3.0, 3.0]))), batch=rules.elementwise)
        for name in ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal")
    ),
    *(Op(name, name, nargs=2, samples=(sample(*_BOOLS),), batch=rules.elementwise) for name in ("logical_and", "logical_or", "logical_xor")),
    *(Op(name, name, nargs=2, samples=(sample(*_BOOLS), sample(np.arange(4), np.array([3, 1, 2, 0]))), batch=rules.elementwise) for name in ("bitwise_and", "bitwise_or", "bitwise_xor")),
    Op("logical_not", "logical_not", samples=(sample(_BOOLS[0]),), batch=rules.elementwise),
    Op("invert", "invert", samples=(sample(_BOOLS[0]), sample(np.arange(4))), batch=rules.elementwise),
]


@hookimpl
def minidiff_register_ops(registry) -> None:
    for op in (*DIFFERENTIABLE, *NON_DIFFERENTIABLE):
        registry.add_op(op)
