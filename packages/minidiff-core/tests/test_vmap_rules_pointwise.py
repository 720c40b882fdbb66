"""md.vmap through the batching rules of the pointwise op families (elementwise, reductions,
statistics, special, calculus, creation's `*_like`, ordering), beyond the conformance kit's
check (batch on axis 0 of every input, or of the first only): random shapes and axes (None,
negative, tuples, keepdims), batch axes other than 0, operands shared at some levels,
nested vmaps, and gradients, each against a Python loop over the examples. And a rule runs
the op once on the batch: the recorded graph does not grow with the batch size."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minidiff as md
from minidiff.graph import FuncNode, input_sources
from minidiff.optable import functions

# every op here has a rule: a loop fallback is a missing or broken one
pytestmark = pytest.mark.filterwarnings("error::minidiff.batching.apply.BatchingFallbackWarning")

RTOL, ATOL = 1e-10, 1e-12


@pytest.fixture
def rng():
    return np.random.default_rng(14)


def looped(f: Callable[..., Any], args: list[np.ndarray], in_axes: tuple) -> Any:
    """`f` on each example, stacked on a new axis 0 (per output, for several)."""
    size = next(np.shape(a)[ax] for a, ax in zip(args, in_axes) if ax is not None)
    outs = []
    for i in range(size):
        one = [md.Tensor(a if ax is None else np.take(a, i, axis=ax)) for a, ax in zip(args, in_axes)]
        outs.append(f(*one))
    if isinstance(outs[0], tuple):
        return tuple(np.stack([o[k].numpy() for o in outs]) for k in range(len(outs[0])))
    return np.stack([o.numpy() for o in outs])


def assert_same(got: Any, expected: Any) -> None:
    if isinstance(expected, tuple):
        assert isinstance(got, tuple) and len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_same(g, e)
        return
    got = got.numpy()
    assert got.shape == expected.shape and got.dtype == expected.dtype, (got.shape, got.dtype, expected.shape, expected.dtype)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def check(f: Callable[..., Any], args: list[np.ndarray], in_axes: tuple) -> None:
    """vmap of `f` over `args` (batch on `in_axes`) equals the loop, in values and gradients."""
    floating = [i for i, a in enumerate(args) if np.asarray(a).dtype.kind == "f"]
    got = md.vmap(f, in_axes=in_axes)(*[md.Tensor(a, allow_grad=i in floating) for i, a in enumerate(args)])
    assert_same(got, looped(f, args, in_axes))
    if not all(out.allow_grad for out in (got if isinstance(got, tuple) else (got,))):
        return  # a non-differentiable op (or output)

    def total(*xs: Any) -> Any:  # a scalar of every output, with a different weight per element
        out = f(*xs)
        return sum(md.sum(md.sin(o * 1.3 + 0.1)) for o in (out if isinstance(out, tuple) else (out,)))

    # a shared input (in_axes None) gets a gradient per example too, as in the loop
    grad = md.grad(total, argnums=tuple(floating))
    assert_same(md.vmap(grad, in_axes=in_axes)(*[md.Tensor(a) for a in args]), looped(grad, args, in_axes))


def batch_at(example_batch: np.ndarray, axis: int) -> np.ndarray:
    """An array whose axis `axis` is the batch (axis 0 of `example_batch`)."""
    return np.moveaxis(example_batch, 0, axis)


shapes = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)


@st.composite
def axes_of(draw: Any, ndim: int, tuples: bool = True) -> Any:
    """None, an int (negative or not), or a tuple of distinct axes (some negative)."""
    if ndim == 0:
        return None
    kind = draw(st.sampled_from(["none", "int", "tuple"] if tuples else ["none", "int"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    picked = draw(st.lists(st.integers(0, ndim - 1), unique=True, min_size=1, max_size=ndim))
    return tuple(a - ndim if draw(st.booleans()) else a for a in picked)


# ------------------------------------------------------------------------------ reductions

# axis: None, an int or a tuple; keepdims
TUPLE_AXIS = [
    "sum", "mean", "prod", "max", "min", "var", "std", "logsumexp", "all", "any", "nansum", "nanmean",
    "nanmax", "nanmin", "ptp", "median",
]
# axis: None or an int, keepdims
ARG = ["argmax", "argmin"]
# axis: None (the flattened example) or an int
FLAT_AXIS = ["cumsum", "cumprod", "sort"]


@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_reductions_over_random_axes_equal_the_loop(data):
    name = data.draw(st.sampled_from([*TUPLE_AXIS, *ARG, *FLAT_AXIS, "softmax", "log_softmax", "quantile", "cummax"]))
    shape = data.draw(shapes.filter(lambda s: len(s) > 0) if name in ("softmax", "log_softmax", "cummax") else shapes)
    ndim = len(shape)
    batch, in_axis = data.draw(st.integers(1, 4)), data.draw(st.integers(0, ndim))
    values = np.random.default_rng(data.draw(st.integers(0, 2**16))).normal(size=(batch, *shape))
    if name.startswith("nan"):
        values[np.random.default_rng(1).random(values.shape) < 0.2] = np.nan
    params: dict[str, Any] = {}
    if name in TUPLE_AXIS or name == "quantile":
        params = {"axis": data.draw(axes_of(ndim)), "keepdims": data.draw(st.booleans())}
    elif name in ARG:
        params = {"axis": data.draw(axes_of(ndim, tuples=False)), "keepdims": data.draw(st.booleans())}
    elif name in FLAT_AXIS:
        params = {"axis": data.draw(axes_of(ndim, tuples=False))}
    elif name in ("softmax", "log_softmax"):
        params = {"axis": data.draw(axes_of(ndim))}
    else:  # cummax: an int axis
        params = {"axis": data.draw(st.integers(-ndim, ndim - 1))}
    function = functions[name]
    if name == "quantile":
        q = data.draw(st.sampled_from([0.3, [0.1, 0.9], [[0.5], [0.25]]]))
        f = lambda x: function(x, q, **params)  # noqa: E731
    else:
        f = lambda x: function(x, **params)  # noqa: E731
    check(f, [batch_at(values, in_axis)], (in_axis,))


# ------------------------------------------------------------------------------ elementwise

BINARY = [md.add, md.multiply, md.maximum, md.arctan2, md.hypot, md.logaddexp2, md.fmax, md.copysign, md.float_power]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_binary_elementwise_ops_broadcast_per_example_at_any_batch_axis(data):
    op = data.draw(st.sampled_from(BINARY))
    x_shape = data.draw(shapes)
    # y broadcasts against x: a suffix of x's shape with some axes of size 1, or a longer shape
    start = data.draw(st.integers(0, len(x_shape)))
    y_shape = tuple(n if data.draw(st.booleans()) else 1 for n in x_shape[start:])
    if start == 0 and data.draw(st.booleans()):
        y_shape = (data.draw(st.integers(1, 3)),) + y_shape
    batch = data.draw(st.integers(1, 3))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x, y = rng.uniform(0.5, 2.0, size=(batch, *x_shape)), rng.uniform(0.5, 2.0, size=(batch, *y_shape))
    args, in_axes = [], []
    for values, mapped in zip((x, y), data.draw(st.sampled_from([(True, True), (True, False), (False, True)]))):
        axis = data.draw(st.integers(0, values.ndim - 1)) if mapped else None
        args.append(values[0] if axis is None else batch_at(values, axis))
        in_axes.append(axis)
    check(op, args, tuple(in_axes))


def test_where_and_clip_with_a_batched_condition_and_bounds(rng):
    x, lo, hi = rng.normal(size=(3, 4)), rng.normal(size=(3, 1)) - 1.0, rng.normal(size=(4,)) + 1.0
    cond = rng.random((3, 4)) < 0.5
    check(lambda c, a: md.where(c, a, 0.0), [cond, x], (0, None))
    check(lambda c, a: md.where(c, a, -a), [cond, x.T], (0, 1))
    check(lambda a, low, high: md.clip(a, low, high), [x, lo, hi], (0, 0, None))
    check(lambda a, low: md.clip(a, min=low), [x, lo], (1, None))


# ------------------------------------------------------------------------------ operands shared or mapped

KNOTS = np.array([-1.5, -0.4, 0.3, 1.2, 1.7])


def _knots(rng: np.random.Generator, batch: int) -> np.ndarray:
    return np.cumsum(rng.uniform(0.2, 1.0, size=(batch, 5)), axis=1) - 2.0  # increasing per example


# (function of the operands, operands for a batch of 3, each with its batch on axis 0)
CASES: dict[str, tuple[Callable[..., Any], Callable[[np.random.Generator], list[np.ndarray]]]] = {
    "quantile q per example": (lambda x, q: md.quantile(x, q, axis=-1), lambda r: [r.normal(size=(3, 2, 5)), r.random((3, 4))]),
    "quantile keepdims": (
        lambda x, q: md.quantile(x, q, axis=(0, 2), keepdims=True), lambda r: [r.normal(size=(3, 2, 3, 4)), r.random((3, 2))]
    ),
    "quantile nearest": (
        lambda x, q: md.quantile(x, q, axis=0, method="nearest"), lambda r: [r.normal(size=(3, 6, 2)), r.random((3,))]
    ),
    "percentile": (lambda x, q: md.percentile(x, q, axis=None), lambda r: [r.normal(size=(3, 7)), 100 * r.random((3, 2))]),
    "median": (lambda x: md.median(x, axis=(-1, 0), keepdims=True), lambda r: [r.normal(size=(3, 4, 2, 3))]),
    "average full weights": (lambda x, w: md.average(x, 1, w), lambda r: [r.normal(size=(3, 2, 4)), r.uniform(0.5, 2, (3, 2, 4))]),
    "average weights along axes": (
        lambda x, w: md.average(x, (2, 0), w, True),
        lambda r: [r.normal(size=(3, 2, 3, 4)), r.uniform(0.5, 2, (3, 4, 2))],
    ),
    "average keepdims": (lambda x: md.average(x, axis=-1, keepdims=True), lambda r: [r.normal(size=(3, 2, 4))]),
    "nanmean with a mask": (
        lambda x: md.nanmean(x, axis=1, where=np.array([True, False, True])), lambda r: [r.normal(size=(3, 2, 3))]
    ),
    "nanmax with initial": (lambda x: md.nanmax(x, axis=0, initial=0.5), lambda r: [r.normal(size=(3, 4, 2))]),
    "partition": (lambda x: md.partition(x, [1, 3], axis=0), lambda r: [r.normal(size=(3, 5, 2))]),
    "cummin": (lambda x: functions["cummin"](x, axis=-1), lambda r: [r.normal(size=(3, 2, 5))]),
    "interp knots per example": (
        lambda x, xp, fp: md.interp(x, xp, fp), lambda r: [r.uniform(-2.5, 2.5, (3, 2, 4)), _knots(r, 3), r.normal(size=(3, 5))]
    ),
    "interp left and right per example": (
        lambda x, fp, left, right: md.interp(x, KNOTS, fp, left, right),
        lambda r: [r.uniform(-2.5, 2.5, (3, 6)), r.normal(size=(3, 5)), r.normal(size=3), r.normal(size=3)],
    ),
    "interp with a period": (
        lambda x, xp, fp: md.interp(x, xp, fp, period=2.5), lambda r: [r.uniform(-3, 3, (3, 4)), _knots(r, 3), r.normal(size=(3, 5))]
    ),
    "correlate same": (lambda a, v: md.correlate(a, v, mode="same"), lambda r: [r.normal(size=(3, 6)), r.normal(size=(3, 4))]),
    "convolve valid": (lambda a, v: md.convolve(a, v, mode="valid"), lambda r: [r.normal(size=(3, 3)), r.normal(size=(3, 5))]),
    "convolve full": (lambda a, v: md.convolve(a, v), lambda r: [r.normal(size=(3, 5)), r.normal(size=(3, 2))]),
    "gradient coordinates per example": (
        lambda f, xs: md.gradient(f, 2.0, xs, edge_order=2),
        lambda r: [r.normal(size=(3, 4, 5)), np.cumsum(r.uniform(0.5, 1.0, (3, 5)), axis=1)],
    ),
    "gradient step per example": (lambda f, h: md.gradient(f, h, axis=0), lambda r: [r.normal(size=(3, 4, 2)), r.uniform(0.5, 1, 3)]),
    "gradient every axis": (lambda f: md.gradient(f, axis=(-1, 0)), lambda r: [r.normal(size=(3, 3, 4))]),
    "trapezoid sample points per example": (
        lambda y, x: md.trapezoid(y, x, axis=0), lambda r: [r.normal(size=(3, 4, 2)), np.cumsum(r.uniform(0.1, 1, (3, 4)), axis=1)]
    ),
    "trapezoid sample points of y's shape": (
        lambda y, x: md.trapezoid(y, x), lambda r: [r.normal(size=(3, 2, 4)), np.cumsum(r.uniform(0.1, 1, (3, 2, 4)), axis=-1)]
    ),
    "trapezoid dx per example": (
        lambda y, dx: md.trapezoid(y, None, dx, axis=-1), lambda r: [r.normal(size=(3, 2, 4)), r.uniform(0.5, 2, 3)]
    ),
    "ediff1d": (lambda a, e, b: md.ediff1d(a, e, b), lambda r: [r.normal(size=(3, 2, 3)), r.normal(size=(3, 2)), r.normal(size=(3, 1))]),
    "full_like": (lambda x, fill: md.full_like(x, fill), lambda r: [r.normal(size=(3, 2, 3)), r.normal(size=(3, 3))]),
    "zeros_like": (lambda x: md.zeros_like(x, dtype=np.float32), lambda r: [r.normal(size=(3, 2))]),
    "softmax": (lambda x: md.softmax(x, axis=(0, -1)), lambda r: [r.normal(size=(3, 2, 3, 2))]),
}


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(CASES)), data=st.data())
def test_operands_mapped_or_shared_in_any_combination(name, data):
    f, make = CASES[name]
    args = make(np.random.default_rng(data.draw(st.integers(0, 2**16))))
    mapped = data.draw(st.lists(st.booleans(), min_size=len(args), max_size=len(args)).filter(any))
    final, in_axes = [], []
    for values, m in zip(args, mapped):
        if not m:
            final.append(values[0])
            in_axes.append(None)
            continue
        axis = data.draw(st.integers(-values.ndim, values.ndim - 1))
        final.append(batch_at(values, axis))
        in_axes.append(axis)
    check(f, final, tuple(in_axes))


def test_a_composite_operand_given_by_keyword_batches(rng):
    x, w = rng.normal(size=(3, 2, 4)), rng.uniform(0.5, 2.0, size=(3, 4))
    check(lambda a, weights: md.average(a, axis=-1, weights=weights), [x, w], (0, 0))


# ------------------------------------------------------------------------------ nested vmaps

ONE_OPERAND = {
    "sum keepdims": lambda x: md.sum(x, axis=-1, keepdims=True),
    "var": lambda x: md.var(x, axis=(-1,), ddof=1, keepdims=True),
    "argmax": lambda x: md.argmax(x, keepdims=True),
    "cumsum": lambda x: md.cumsum(x),
    "sort": lambda x: md.sort(x, axis=0),
    "sort flattened": lambda x: md.sort(x, axis=None),
    "median": lambda x: md.median(x, axis=-1),
    "quantile": lambda x: md.quantile(x, [0.2, 0.7], axis=0, keepdims=True),
    "nanmin": lambda x: md.nanmin(x, axis=0),
    "ptp": lambda x: md.ptp(x),
    "cummax": lambda x: functions["cummax"](x, axis=-1),
    "average": lambda x: md.average(x, axis=0),
    "softmax": lambda x: md.softmax(x, axis=None),
    "gradient": lambda x: md.gradient(x, axis=-1),
    "trapezoid": lambda x: md.trapezoid(x, axis=0),
    "ediff1d": lambda x: md.ediff1d(x, to_begin=np.array([1.0])),
    "sinc": md.sinc,
    "ones_like": md.ones_like,
}


@settings(max_examples=80, deadline=None)
@given(name=st.sampled_from(sorted(ONE_OPERAND)), data=st.data())
def test_vmap_of_vmap_at_any_batch_axes_equals_a_double_loop(name, data):
    f = ONE_OPERAND[name]
    shape = data.draw(st.lists(st.integers(2, 4), min_size=1, max_size=2).map(tuple))
    outer, inner = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    values = np.random.default_rng(data.draw(st.integers(0, 2**16))).normal(size=(outer, inner, *shape))
    inner_axis = data.draw(st.integers(0, len(shape)))
    outer_axis = data.draw(st.integers(0, len(shape) + 1))
    # example (i, j) is values[i, j]; the inner vmap sees the inner batch on inner_axis
    physical = np.moveaxis(np.moveaxis(values, 1, 1 + inner_axis), 0, outer_axis)
    got = md.vmap(md.vmap(f, in_axes=inner_axis), in_axes=outer_axis)(md.Tensor(physical))
    expected = np.stack([np.stack([f(md.Tensor(values[i, j])).numpy() for j in range(inner)]) for i in range(outer)])
    assert_same(got, expected)
    # and the per-example gradients, through both levels
    if name not in ("argmax", "ones_like"):
        grad = md.grad(lambda x: md.sum(md.sin(f(x))))
        got_grads = md.vmap(md.vmap(grad, in_axes=inner_axis), in_axes=outer_axis)(md.Tensor(physical))
        expected = np.stack([np.stack([grad(md.Tensor(values[i, j])).numpy() for j in range(inner)]) for i in range(outer)])
        assert_same(got_grads, expected)


# two operands, each mapped at one level only: result[i, j] = f(x[i], y[j])
TWO_OPERANDS = {
    "quantile": (lambda x, q: md.quantile(x, q, axis=-1), (2, 5), (2,), lambda r, s: r.random(s)),
    "interp": (lambda x, xp: md.interp(x, xp, md.Tensor([0.0, 1.0, -1.0, 2.0, 0.5])), (4,), (5,), None),
    "average": (lambda x, w: md.average(x, 0, w), (3, 2), (3,), lambda r, s: r.uniform(0.5, 2, s)),
    "correlate": (lambda a, v: md.correlate(a, v, mode="full"), (5,), (3,), None),
    "gradient": (lambda f, xs: md.gradient(f, xs), (5,), (5,), None),
    "trapezoid": (lambda y, x: md.trapezoid(y, x), (2, 4), (4,), None),
    "full_like": (lambda x, fill: md.full_like(x, fill), (2, 3), (3,), None),
    "maximum": (md.maximum, (2, 3), (3,), None),
}


@pytest.mark.parametrize("name", sorted(TWO_OPERANDS))
@pytest.mark.parametrize("levels", [((0, None), (None, 0)), ((None, 0), (0, None)), ((0, 0), (None, 0))])
def test_nested_vmap_with_operands_mapped_at_different_levels(rng, name, levels):
    f, x_shape, y_shape, draw_y = TWO_OPERANDS[name]
    inner_axes, outer_axes = levels
    outer, inner = 2, 3

    def draw(shape: tuple, maker: Any, increasing: bool) -> np.ndarray:
        values = maker(rng, shape) if maker else rng.normal(size=shape)
        return np.sort(values, axis=-1) if increasing else values

    increasing = name in ("interp", "gradient", "trapezoid")  # knots and sample points
    # the operand mapped at a level gets that level's batch axis in front, outer first
    x_levels = [size for size, axes in ((outer, outer_axes), (inner, inner_axes)) if axes[0] == 0]
    y_levels = [size for size, axes in ((outer, outer_axes), (inner, inner_axes)) if axes[1] == 0]
    x = draw((*x_levels, *x_shape), None, False)
    y = draw((*y_levels, *y_shape), draw_y, increasing)
    got = md.vmap(md.vmap(f, in_axes=inner_axes), in_axes=outer_axes)(md.Tensor(x), md.Tensor(y))

    def example(values: np.ndarray, axes: list[int], i: int, j: int) -> md.Tensor:
        index = [k for k, mapped in zip((i, j), (outer_axes, inner_axes)) if mapped[axes] == 0]
        return md.Tensor(values[tuple(index)])

    expected = np.stack([
        np.stack([f(example(x, 0, i, j), example(y, 1, i, j)).numpy() for j in range(inner)]) for i in range(outer)
    ])
    assert_same(got, expected)


# ------------------------------------------------------------------------------ one call per batch


def graph_size(out: md.Tensor) -> int:
    """How many op applications the graph that made `out` records."""
    seen, stack = set(), [out.node]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(source for source in input_sources(node) if type(source) is FuncNode)
    return len(seen)


# each with operands x and y of one example's shape (2, 5)
ONE_CALL = {
    "add": md.add,
    "hypot": md.hypot,
    "logsumexp": lambda x, y: md.logsumexp(x * y, axis=(0, -1)),
    "cumprod": lambda x, y: md.cumprod(x + y),
    "argmax": lambda x, y: md.argmax(x * y, keepdims=True) + x,
    "nansum": lambda x, y: md.nansum(x * y, axis=0),
    "quantile": lambda x, y: md.quantile(x, md.sigmoid(y), axis=-1),
    "average": lambda x, y: md.average(x, -1, md.exp(y)),
    "sort": lambda x, y: md.sort(x - y, axis=None),
    "partition": lambda x, y: md.partition(x - y, 2),
    "softmax": lambda x, y: md.log_softmax(x * y, axis=0),
    "interp": lambda x, y: md.interp(x, md.cumsum(md.exp(y)), md.cumsum(y)),  # knots and values (10,)
    "convolve": lambda x, y: md.convolve(md.sum(x, axis=0), md.sum(y, axis=0), mode="same"),
    "gradient": lambda x, y: md.gradient(x, md.cumsum(md.exp(md.sum(y, axis=0))), axis=-1),
    "trapezoid": lambda x, y: md.trapezoid(x, md.cumsum(md.exp(y), axis=-1)),
    "ediff1d": lambda x, y: md.ediff1d(x, y, x),
    "full_like": lambda x, y: md.full_like(x, 2.0) * y,
}


@pytest.mark.parametrize("name", sorted(ONE_CALL))
def test_a_rule_records_the_same_graph_for_any_batch_size(rng, name):
    f = ONE_CALL[name]

    def size_for(batch: int) -> int:
        x = md.Tensor(rng.normal(size=(batch, 2, 5)), allow_grad=True)
        y = md.Tensor(rng.normal(size=(batch, 2, 5)), allow_grad=True)
        return graph_size(md.vmap(f)(x, y))

    assert size_for(2) == size_for(5)


# ------------------------------------------------------------------------------ MLX


@pytest.mark.skipif("mlx" not in md.available_backends(), reason="MLX is not installed")
@pytest.mark.parametrize("name", ["quantile q per example", "interp knots per example", "gradient coordinates per example", "average weights along axes", "correlate same"])
def test_rules_on_mlx_equal_the_loop(rng, name):
    f, make = CASES[name]
    args = [md.Tensor(a.astype(np.float32), backend="mlx") for a in make(rng)]
    got = md.vmap(f, in_axes=(0,) + (None,) * (len(args) - 1))(args[0], *[a[0] for a in args[1:]])
    got = got if isinstance(got, tuple) else (got,)
    for i in range(3):
        one = f(args[0][i], *[a[0] for a in args[1:]])
        for g, e in zip(got, one if isinstance(one, tuple) else (one,)):
            np.testing.assert_allclose(g.numpy()[i], e.numpy(), rtol=1e-5, atol=1e-5)
