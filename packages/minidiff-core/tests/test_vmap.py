"""md.vmap: JAX's in_axes/out_axes semantics, composition with the transforms and itself,
and the errors for what has no per-example meaning. Each result is checked against a Python
loop over the batch (or a closed form); the ops' own batching rules are checked one by one
by the conformance kit (`test_batching` in test_conformance.py)."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minidiff as md
from minidiff.batching.apply import BatchingFallbackWarning
from minidiff.batching.tensor import VmapError
from minidiff.extend import Op, sample

# every built-in op batches: a loop fallback here is a missing rule
pytestmark = pytest.mark.filterwarnings("error::minidiff.batching.apply.BatchingFallbackWarning")


@pytest.fixture
def rng():
    return np.random.default_rng(14)


def loop(f, *args, in_axes=0):
    """`f` per example, stacked: what vmap must equal."""
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    size = next(np.shape(a)[ax] for a, ax in zip(args, axes) if ax is not None)
    outs = []
    for i in range(size):
        one = [a if ax is None else np.take(np.asarray(a), i, axis=ax) for a, ax in zip(args, axes)]
        outs.append(f(*[md.Tensor(o) for o in one]).numpy())
    return np.stack(outs)


def test_vmap_equals_the_loop_for_a_small_program(rng):
    xs, ys = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))

    def f(x, y):
        return md.sum(md.sin(x) * y) + md.max(x) * md.mean(y ** 2)

    np.testing.assert_allclose(md.vmap(f)(xs, ys).numpy(), loop(f, xs, ys), rtol=1e-13)


@pytest.mark.parametrize("in_axes", [(0, None), (1, None), (None, 0), (-1, 1), [0, 0]])
def test_in_axes_per_argument(rng, in_axes):
    a = rng.normal(size=(4, 4))
    b = rng.normal(size=(4, 4))
    f = lambda x, y: x @ y  # noqa: E731
    got = md.vmap(f, in_axes=in_axes)(a, b).numpy()
    np.testing.assert_allclose(got, loop(f, a, b, in_axes=tuple(in_axes)), rtol=1e-13)


def test_in_axes_mirror_nested_arguments(rng):
    params = {"w": rng.normal(size=(3,)), "b": rng.normal(size=())}
    xs = rng.normal(size=(6, 3))

    def f(p, x):
        return md.sum(p["w"] * x) + p["b"]

    got = md.vmap(f, in_axes=({"w": None, "b": None}, 0))(params, xs).numpy()
    np.testing.assert_allclose(got, xs @ params["w"] + params["b"], rtol=1e-13)
    # a tuple argument, mapped item by item
    got = md.vmap(lambda pair: pair[0] * pair[1], in_axes=((0, None),))((xs, 2.0)).numpy()
    np.testing.assert_allclose(got, 2.0 * xs)


def test_keyword_arguments_are_mapped_over_axis_0(rng):
    xs = rng.normal(size=(4, 2))
    np.testing.assert_allclose(md.vmap(lambda x, *, y: x + y)(xs, y=xs * 3).numpy(), 4 * xs)


@pytest.mark.parametrize("out_axes", [0, 1, -1])
def test_out_axes(rng, out_axes):
    xs = rng.normal(size=(5, 3))
    got = md.vmap(lambda x: md.outer(x, x), out_axes=out_axes)(xs).numpy()
    expected = np.moveaxis(np.einsum("bi,bj->bij", xs, xs), 0, out_axes)
    np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_out_axes_for_several_outputs_and_unmapped_ones(rng):
    xs = rng.normal(size=(5, 3))
    w = md.Tensor(rng.normal(size=3))
    a, b, c = md.vmap(lambda x: (x * w, md.sum(w), 2.0), out_axes=(1, None, 0))(xs)
    np.testing.assert_allclose(a.numpy(), (xs * w.numpy()).T)
    assert b.shape == () and np.isclose(b.item(), w.numpy().sum())
    np.testing.assert_allclose(c.numpy(), np.full(5, 2.0))
    with pytest.raises(ValueError, match="out_axes is None for output.*depends on the mapped inputs"):
        md.vmap(lambda x: x, out_axes=None)(xs)


def test_axis_size_when_nothing_is_mapped():
    out = md.vmap(lambda x: x * 2.0, in_axes=None, axis_size=3)(md.Tensor([1.0, 2.0]))
    np.testing.assert_allclose(out.numpy(), [[2.0, 4.0]] * 3)
    with pytest.raises(ValueError, match="give axis_size="):
        md.vmap(lambda x: x, in_axes=None)(md.Tensor([1.0]))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: md.vmap(lambda x, y: x + y)(np.ones((3, 2)), np.ones((4, 2))), "different sizes: argument 0 has 3, argument 1 has 4"),
        (lambda: md.vmap(lambda x: x, in_axes=2)(np.ones((3, 2))), r"in_axes 2 for argument 0, of shape \(3, 2\), is out of range"),
        (lambda: md.vmap(lambda x, y: x, in_axes=(0,))(np.ones(3), np.ones(3)), "in_axes has 1 entries but the function was called with 2"),
        (lambda: md.vmap(lambda x: x)(1.0), "argument 0 is a float, which has no axis 0"),
        (lambda: md.vmap(lambda x: x, in_axes=({"a": 0},))({"b": np.ones(2)}), "do not match"),
        (lambda: md.vmap(lambda x: x, out_axes=3)(np.ones((2, 2))), "out_axes 3 for output"),
    ],
)
def test_bad_axes_name_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    "f, what",
    [
        (lambda x: float(x[0]), "float()"),
        (lambda x: x if x[0] > 0 else -x, "the truth value (`if`, `and`, `or`)"),
        (lambda x: x.numpy(), "numpy()"),
        (lambda x: x.item(), "item()"),
    ],
)
def test_reading_a_batched_value_raises(f, what):
    with pytest.raises(VmapError, match=re.escape(f"md.vmap: {what} of a batched tensor")):
        md.vmap(f)(np.ones((3, 2)))


def test_in_place_and_backward_inside_vmap_raise():
    def add_in_place(x):
        x += 1.0
        return x

    with pytest.raises(VmapError, match="in-place"):
        md.vmap(add_in_place)(np.ones((3, 2)))
    with pytest.raises(VmapError, match="use md.grad"):
        md.vmap(lambda x: md.sum(x).backward())(md.Tensor(np.ones((3, 2)), allow_grad=True))


# ------------------------------------------------------------------------------- nesting


def test_vmap_of_vmap_equals_a_double_loop(rng):
    a = rng.normal(size=(3, 4, 5))
    f = lambda x: md.sum(md.exp(x) * x[::-1]) - md.std(x)  # noqa: E731
    got = md.vmap(md.vmap(f))(a).numpy()
    expected = np.array([[f(md.Tensor(a[i, j])).item() for j in range(4)] for i in range(3)])
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    # the inner map over another axis of the outer example
    got = md.vmap(md.vmap(f, in_axes=1))(a).numpy()
    expected = np.array([[f(md.Tensor(a[i, :, k])).item() for k in range(5)] for i in range(3)])
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_nested_vmap_with_shared_arguments_at_each_level(rng):
    xs, ys = rng.normal(size=(3, 4)), rng.normal(size=(5, 4))
    distances = md.vmap(md.vmap(lambda x, y: md.sum((x - y) ** 2), in_axes=(None, 0)), in_axes=(0, None))(xs, ys)
    expected = ((xs[:, None, :] - ys[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(distances.numpy(), expected, rtol=1e-13)


# ------------------------------------------------------------------------- with transforms


def mlp_loss(w1, b1, w2, x, y):
    hidden = md.tanh(x @ w1 + b1)
    return md.sum((hidden @ w2 - y) ** 2)


def test_per_example_gradients_equal_the_loop(rng):
    params = (md.Tensor(rng.normal(size=(3, 4))), md.Tensor(rng.normal(size=4)), md.Tensor(rng.normal(size=(4, 2))))
    xs, ys = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    gradient = md.grad(mlp_loss, argnums=(0, 1, 2))
    per_example = md.vmap(gradient, in_axes=(None, None, None, 0, 0))(*params, xs, ys)
    for i in range(6):
        one = gradient(*params, md.Tensor(xs[i]), md.Tensor(ys[i]))
        for got, expected in zip(per_example, one):
            np.testing.assert_allclose(got.numpy()[i], expected.numpy(), rtol=1e-12)
    # and they sum to the gradient of the summed loss
    total = md.grad(lambda *p: mlp_loss(*p, md.Tensor(xs), md.Tensor(ys)), argnums=(0, 1, 2))(*params)
    for got, expected in zip(per_example, total):
        np.testing.assert_allclose(got.numpy().sum(0), expected.numpy(), rtol=1e-12)


def test_grad_of_vmap_and_value_and_grad_inside(rng):
    w = md.Tensor(rng.normal(size=3))
    xs = rng.normal(size=(5, 3))
    f = lambda w, x: md.sin(md.sum(w * x))  # noqa: E731
    g = md.grad(lambda w: md.sum(md.vmap(f, in_axes=(None, 0))(w, xs)))(w).numpy()
    np.testing.assert_allclose(g, (np.cos(xs @ w.numpy())[:, None] * xs).sum(0), rtol=1e-13)
    values, grads = md.vmap(md.value_and_grad(f), in_axes=(None, 0))(w, xs)
    np.testing.assert_allclose(values.numpy(), np.sin(xs @ w.numpy()), rtol=1e-13)
    np.testing.assert_allclose(grads.numpy(), np.cos(xs @ w.numpy())[:, None] * xs, rtol=1e-13)


def test_vmap_of_jacobian_and_hessian_equal_the_loop(rng):
    xs = rng.normal(size=(4, 3))
    f = lambda x: md.sin(x) * md.sum(x ** 2)  # noqa: E731
    scalar = lambda x: md.sum(md.exp(x[1:]) * x[:-1] ** 3)  # noqa: E731
    for transform, function in ((md.jacobian, f), (md.hessian, scalar)):
        got = md.vmap(transform(function))(xs).numpy()
        expected = np.stack([transform(function, vectorized=False)(md.Tensor(x)).numpy() for x in xs])
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_per_example_hessian_vector_products_and_vjps(rng):
    xs, vs = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    scalar = lambda x: md.sum(md.sin(x) * x[::-1])  # noqa: E731
    _, hv = md.vmap(lambda x, v: md.hvp(scalar, x, v))(xs, vs)
    for i in range(4):
        np.testing.assert_allclose(hv.numpy()[i], md.hessian(scalar, vectorized=False)(xs[i]).numpy() @ vs[i], rtol=1e-12)
    jv = md.vmap(lambda x, v: md.jvp(md.sin, (x,), (v,))[1])(xs, vs)
    np.testing.assert_allclose(jv.numpy(), np.cos(xs) * vs, rtol=1e-13)
    vj = md.vmap(lambda x, v: md.vjp(md.sin, x)[1](v)[0])(xs, vs)
    np.testing.assert_allclose(vj.numpy(), np.cos(xs) * vs, rtol=1e-13)


def test_second_order_through_vmap(rng):
    x = md.Tensor(rng.normal(size=(4, 3)), allow_grad=True)
    out = md.sum(md.vmap(lambda row: md.sum(md.sin(row) ** 2))(x))
    out.backward(allow_higher_order=True)
    first = x.grad
    np.testing.assert_allclose(first.numpy(), np.sin(2 * x.numpy()), rtol=1e-13)
    second = md.grad(lambda t: md.sum(md.vmap(md.grad(lambda r: md.sum(md.sin(r) ** 2)))(t)))(x.detach())
    np.testing.assert_allclose(second.numpy(), 2 * np.cos(2 * x.numpy()), rtol=1e-12)


def test_jacobian_and_hessian_default_to_vmap_for_any_function(rng):
    x = rng.normal(size=6)

    def not_broadcasting(x):  # slices and full reductions: no leading batch axis in mind
        return md.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    np.testing.assert_allclose(
        md.hessian(not_broadcasting)(x).numpy(), md.hessian(not_broadcasting, vectorized=False)(x).numpy(), rtol=1e-12
    )


def test_a_function_reading_numbers_falls_back_to_rows():
    # float() cannot run on a batch, so jacobian takes one reverse pass per row instead
    f = lambda x: x * float(md.sum(x).detach())  # noqa: E731
    got = md.jacobian(f)(md.Tensor([1.0, 2.0])).numpy()
    np.testing.assert_allclose(got, np.diag([3.0, 3.0]))


# ------------------------------------------------------------------- ops without a rule


def test_an_op_without_a_rule_loops_with_one_warning():
    from minidiff import plugins
    from minidiff.dispatch import bind

    cube = Op("cube_demo", forward=lambda xp, x: x ** 3, vjp=(lambda g, ans, x: 3 * g * x ** 2,),
              samples=(sample((3,)),), reference=lambda x: x ** 3)
    function = bind(cube, {})
    plugins.load()
    xs = md.Tensor(np.arange(6.0).reshape(3, 2), allow_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = md.vmap(function)(xs)
        md.vmap(function)(xs)
    fallbacks = [w for w in caught if w.category is BatchingFallbackWarning]
    assert fallbacks and "op 'cube_demo' has no batching rule, so it runs once per batch element (3 calls)" in str(fallbacks[0].message)
    np.testing.assert_allclose(out.numpy(), xs.numpy() ** 3)
    md.sum(out).backward()
    np.testing.assert_allclose(xs.grad.numpy(), 3 * xs.numpy() ** 2)


# ------------------------------------------------------------------- random programs


UNARY = [md.sin, md.exp, md.tanh, lambda x: x * x, lambda x: md.cumsum(x, axis=-1), lambda x: md.flip(x, axis=0)]
REDUCE = [md.sum, md.max, md.mean, lambda x: md.sum(x, axis=-1), lambda x: md.logsumexp(x, axis=0)]


@settings(max_examples=40, deadline=None)
@given(
    batch=st.integers(1, 4),
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
    steps=st.lists(st.integers(0, len(UNARY) - 1), min_size=1, max_size=4),
    reduce=st.integers(0, len(REDUCE) - 1),
    axis=st.integers(0, 3),
    seed=st.integers(0, 2**16),
)
def test_random_programs_and_their_gradients_equal_the_loop(batch, shape, steps, reduce, axis, seed):
    axis = min(axis, len(shape))
    data = np.random.default_rng(seed).normal(size=shape[:axis] + (batch,) + shape[axis:])

    def program(x):
        for step in steps:
            x = UNARY[step](x)
        return REDUCE[reduce](x)

    got = md.vmap(program, in_axes=axis)(data).numpy()
    np.testing.assert_allclose(got, loop(program, data, in_axes=axis), rtol=1e-12, atol=1e-12)
    grads = md.vmap(md.grad(lambda x: md.sum(program(x))), in_axes=axis)(data).numpy()
    expected = np.stack([md.grad(lambda x: md.sum(program(x)))(np.take(data, i, axis=axis)).numpy() for i in range(batch)])
    np.testing.assert_allclose(grads, expected, rtol=1e-11, atol=1e-12)


def test_math_functions_are_refused_not_silently_wrong():
    with pytest.raises((VmapError, TypeError)):
        md.vmap(lambda x: math.sin(x))(np.ones(3))


def test_every_builtin_op_declares_how_it_batches():
    # A composite batches through the ops it calls (the kit fails it if any of them loops);
    # a creation op without operands has nothing to batch. Every other op declares a rule.
    from minidiff import plugins

    registry = plugins.load()
    builtin = set(plugins.DEFAULT_PLUGINS) | {"linalg"}
    missing = sorted(
        qualname for qualname, entry in registry.ops.items()
        if entry.plugin in builtin and entry.value.batch is None and entry.value.composite is None
        and not entry.value.creation
    )
    assert not missing, f"built-in ops without a batching rule: {missing}"
