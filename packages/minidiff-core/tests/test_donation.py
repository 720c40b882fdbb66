"""Cotangents computed in place (`minidiff.engine._Donated`): a first-order backward may run a
rule's `g * ...` in the memory of a large cotangent only the engine holds. These tests build
graphs where a cotangent is seen by someone else (the caller's seed, a gradient handed out, a
captured result, two pending inputs, a user's tensor) and check that no such array changes and
that every gradient still matches its formula; the arrays are above the engine's size
threshold, so the in-place path is the one taken."""

from __future__ import annotations

import numpy as np
import pytest

import minidiff as md
from minidiff.engine import DONATE_BYTES, grad
from minidiff.saved import cotangent_operators

N = 2 * DONATE_BYTES // 8  # float64 elements: twice the threshold


@pytest.fixture
def xs():
    rng = np.random.default_rng(17)
    return rng.uniform(-1.0, 1.0, N), rng.uniform(0.5, 1.5, N)


def test_chain_gradient_and_user_tensors_unchanged(xs):
    x0, _ = xs
    x = md.Tensor(x0, allow_grad=True)
    u = x * 1.5 + -1.0
    e = md.exp(md.sin(u))
    t = md.tanh(e)
    kept = [a.numpy().copy() for a in (u, e, t)]
    md.sum(t * 2.0).backward()
    u0 = 1.5 * x0 - 1.0
    e0 = np.exp(np.sin(u0))
    expected = 2.0 * (1.0 - np.tanh(e0) ** 2) * e0 * np.cos(u0) * 1.5
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)
    for before, after in zip(kept, (u, e, t)):
        np.testing.assert_array_equal(after.numpy(), before)  # the user's tensors were not written


def test_seed_is_never_written(xs):
    x0, s0 = xs
    x = md.Tensor(x0, allow_grad=True)
    y = md.sin(x * 3.0)
    seed = md.Tensor(s0.copy())
    y.backward(seed)
    np.testing.assert_array_equal(seed.numpy(), s0)
    np.testing.assert_allclose(x.grad.numpy(), 3.0 * np.cos(3.0 * x0) * s0, rtol=1e-12)
    assert not np.shares_memory(x.grad.numpy(), seed.numpy())
    # a seed that goes straight into a donating rule, as a raw array
    x.grad = None
    raw = s0.copy()
    (x * 3.0).backward(raw)
    np.testing.assert_array_equal(raw, s0)
    np.testing.assert_allclose(x.grad.numpy(), 3.0 * s0, rtol=1e-15)


def test_one_cotangent_for_two_inputs(xs):
    """`a + b` sends the same cotangent to both: the first rule to run must not change it."""
    x0, _ = xs
    x = md.Tensor(x0, allow_grad=True)
    w = md.exp(md.sin(x) + md.cos(x))
    md.sum(w).backward()
    expected = np.exp(np.sin(x0) + np.cos(x0)) * (np.cos(x0) - np.sin(x0))
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, atol=1e-14)  # cos - sin cancels near pi/4


def test_sums_of_cotangents(xs):
    """A value used twice gets the sum of two cotangents, added in place into the first; a leaf
    used twice, and `y + y` (one cotangent object for both operands), likewise."""
    x0, _ = xs
    x = md.Tensor(x0, allow_grad=True)
    y = md.exp(x * 2.0)
    first = md.sin(y)
    kept = first.numpy().copy()
    md.sum((first * md.cos(y) + (y + y)) * 3.0 + x * x).backward()
    y0 = np.exp(2.0 * x0)
    expected = 3.0 * (np.cos(y0) ** 2 - np.sin(y0) ** 2 + 2.0) * y0 * 2.0 + 2.0 * x0
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(first.numpy(), kept)


@pytest.mark.parametrize("order", ["shared first", "shared last"])
def test_sum_into_a_cotangent_another_input_shares(xs, order):
    """`u + v` hands one cotangent object to both u and v: adding u's other cotangent (from
    `u * 3.0`) into it must leave v's alone."""
    x0, _ = xs
    x = md.Tensor(x0, allow_grad=True)
    y = md.exp(x * 2.0)
    u, v = md.sin(y), md.cos(y)
    out = (u + v) + u * 3.0 if order == "shared first" else u * 3.0 + (u + v)
    md.sum(out * 2.0).backward()
    y0 = np.exp(2.0 * x0)
    expected = 2.0 * (4.0 * np.cos(y0) - np.sin(y0)) * y0 * 2.0
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, atol=1e-13)


def test_gradients_handed_out_share_no_memory(xs):
    x0, y0 = xs
    x = md.Tensor(x0, allow_grad=True)
    y = md.Tensor(y0, allow_grad=True)
    z = md.exp(x * y)
    u = z * 2.0
    gx, gy, gz = grad(md.sum(md.sin(u)), [x, y, z])
    z0 = np.exp(x0 * y0)
    g_z = np.cos(2.0 * z0) * 2.0
    np.testing.assert_allclose(gz.numpy(), g_z, rtol=1e-12)  # captured before z's rule ran
    np.testing.assert_allclose(gx.numpy(), g_z * z0 * y0, rtol=1e-12)
    np.testing.assert_allclose(gy.numpy(), g_z * z0 * x0, rtol=1e-12)
    arrays = [g.numpy() for g in (gx, gy, gz)]
    assert not any(np.shares_memory(a, b) for i, a in enumerate(arrays) for b in arrays[i + 1 :])


def test_rule_reading_g_twice(xs):
    """maximum's rule reads g twice (through a helper): it must see the same g both times."""
    x0, _ = xs
    x = md.Tensor(x0, allow_grad=True)
    y = md.Tensor(np.where(np.arange(N) % 3 == 0, x0, 0.0), allow_grad=True)  # ties every third element
    md.sum(md.maximum(md.exp(x) * 1.0, md.exp(y)) * 3.0).backward()
    ex, ey = np.exp(x0), np.exp(y.numpy())
    share = np.where(ex > ey, 1.0, np.where(ex == ey, 0.5, 0.0))
    np.testing.assert_allclose(x.grad.numpy(), 3.0 * share * ex, rtol=1e-12)
    np.testing.assert_allclose(y.grad.numpy(), 3.0 * (1.0 - share) * ey, rtol=1e-12)


def test_higher_order_and_retained_graph(xs):
    x0, _ = xs
    x = md.Tensor(x0, allow_grad=True)
    y = md.sum(md.sin(x * 2.0))
    (g,) = grad(y, [x], allow_higher_order=True)
    np.testing.assert_allclose(g.numpy(), 2.0 * np.cos(2.0 * x0), rtol=1e-12)
    md.sum(g).backward()
    np.testing.assert_allclose(x.grad.numpy(), -4.0 * np.sin(2.0 * x0), rtol=1e-12)
    z = md.sum(md.exp(x * 0.5))
    z.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    z.backward()
    np.testing.assert_array_equal(x.grad.numpy(), first)


def test_float32_cotangent_of_a_float64_rule():
    """A rule whose factor has a wider dtype than g is computed out of place, as written."""
    x = md.Tensor(np.linspace(0.1, 1.0, N, dtype=np.float32), allow_grad=True)
    w = md.Tensor(np.linspace(1.0, 2.0, N))  # float64: x * w is float64
    md.sum(md.exp(x * w)).backward()
    assert x.grad.dtype == np.float32
    expected = np.exp(x.numpy().astype(np.float64) * w.numpy()) * w.numpy()
    np.testing.assert_allclose(x.grad.numpy(), expected.astype(np.float32), rtol=1e-6)


@pytest.mark.parametrize(
    "rule, expected",
    [
        (lambda g, ans, x: g * (1.0 - ans * ans), ("multiply",)),
        (lambda g, ans, x, y: -g * ans / y, ("negative", "multiply", "divide")),
        (lambda g, ans, x: g / x, ("divide",)),
        (lambda g, ans, x: g * x + g, None),  # g read twice
        (lambda g, ans, x: x * g, None),  # g on the right
        (lambda g, ans, x: g.T * x, None),  # an attribute of g
        (lambda g, ans, x: g[0] * x, None),
        (lambda g, ans, x: md.exp(g) * x, None),  # g passed to a function
        (lambda g, ans, x: g, None),  # returned as it is: nothing to compute
        (lambda g, ans, x: g * (x if x.ndim else ans), None),  # a branch
        (lambda g, ans, x: g * (y := x) * y, None),  # an assignment expression
        (lambda g, ans, *inputs: g * inputs[0], None),  # *args
    ],
)
def test_cotangent_operators(rule, expected):
    assert cotangent_operators(rule) == expected


def test_cotangent_operators_of_a_function_rule():
    def statements_first(g, ans, x):
        t = 1.0 - ans * ans
        return g * t

    def stores_g(g, ans, x):
        h = g
        return h * x

    def closure(g, ans, x):
        return g * (lambda: g)()

    assert cotangent_operators(statements_first) == ("multiply",)
    assert cotangent_operators(stores_g) is None
    assert cotangent_operators(closure) is None
