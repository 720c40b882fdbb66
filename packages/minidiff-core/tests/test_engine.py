"""The backward engine's semantics: accumulation, unbroadcasting, dtypes, seeds, graph
lifetime, higher orders, grad mode, leaves, in-place safety and the Tensor protocol.

Expected values come from closed forms or from finite differences
(`minidiff.testing.gradcheck`), never from minidiff's own output. Only elementwise ops,
sums, reshape and broadcast_to are used, so these tests do not depend on other op families.
"""

from __future__ import annotations

import contextvars
import threading

import numpy as np
import pytest

import minidiff as md
from minidiff import plugins
from minidiff.engine import grad
from minidiff.optable import ops
from minidiff.testing import gradcheck, gradgradcheck

X = np.array([-1.3, -0.4, 0.6, 1.7])


def leaf(values, dtype=None) -> md.Tensor:
    return md.Tensor(np.array(values, dtype=dtype), allow_grad=True)


def backward_of(f, values):
    """`x.grad` after `f(x).sum().backward()`, as a NumPy array."""
    x = leaf(values)
    f(x).sum().backward()
    return x.grad.numpy()


def require_op(name: str) -> None:
    plugins.load()
    if not hasattr(ops, name):
        pytest.skip(f"op {name!r} is not registered yet")


# ---------------------------------------------------------------------------- accumulation


@pytest.mark.parametrize(
    "f, expected",
    [
        (lambda x: x - x, lambda x: np.zeros_like(x)),
        (lambda x: x / x, lambda x: np.zeros_like(x)),
        (lambda x: x * x, lambda x: 2 * x),
        (lambda x: x + x * x, lambda x: 1 + 2 * x),
        (lambda x: x + x + x, lambda x: 3 * np.ones_like(x)),
        (lambda x: x * x * x, lambda x: 3 * x**2),
    ],
    ids=["x-x", "x/x", "x*x", "x+x*x", "x+x+x", "x*x*x"],
)
def test_a_tensor_used_several_times_gets_every_contribution(f, expected):
    np.testing.assert_allclose(backward_of(f, X), expected(X), rtol=1e-12, atol=1e-12)


def test_diamond_graph_sums_both_paths():
    # y = sin(x) feeds z twice (through y*y and y): dz/dx = (2 sin x + 1) cos x.
    def f(x):
        y = md.sin(x)
        return y * y + y

    np.testing.assert_allclose(backward_of(f, X), (2 * np.sin(X) + 1) * np.cos(X), rtol=1e-12)
    assert gradcheck(f, X)


def test_a_leaf_reached_through_intermediates_and_directly():
    # f = x * exp(x) + exp(x): f' = exp(x) (x + 2).
    f = lambda x: x * md.exp(x) + md.exp(x)  # noqa: E731
    np.testing.assert_allclose(backward_of(f, X), np.exp(X) * (X + 2), rtol=1e-12)


def test_a_deep_chain_needs_no_recursion():
    x = leaf([1.5])
    w = x
    for _ in range(100_000):
        w = w * 1.0
    w.backward()
    assert x.grad.numpy().tolist() == [1.0]


def test_gradcheck_on_a_composite_of_two_inputs():
    def f(x, y):
        return md.sin(x) * md.exp(y) / (1.0 + x * x) - (x - y) ** 2

    x, y = np.array([[0.3, -1.1, 0.8]]), np.array([[0.5], [-0.2]])
    assert gradcheck(f, x, y)
    assert gradgradcheck(f, x, y)


# ---------------------------------------------------------------------------- unbroadcasting


def test_broadcast_operands_get_gradients_of_their_own_shapes():
    a = md.Tensor(np.arange(3.0).reshape(3, 1) + 1, allow_grad=True)
    b = md.Tensor(np.arange(4.0) - 1.5, allow_grad=True)
    (a + b).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,)
    np.testing.assert_array_equal(a.grad.numpy(), np.full((3, 1), 4.0))
    np.testing.assert_array_equal(b.grad.numpy(), np.full(4, 3.0))

    a.grad = b.grad = None
    (a * b).sum().backward()
    # d/da sum_ij a_i b_j = sum_j b_j; d/db = sum_i a_i.
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 1), b.numpy().sum()))
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, a.numpy().sum()))


def test_broadcasting_against_finite_differences():
    assert gradcheck(lambda a, b: md.sin(a) * b + a / (b * b + 1.0), np.ones((3, 1)) * 0.3, np.linspace(-1, 1, 4))
    assert gradcheck(lambda a, b: a * b, np.array([[0.5, -0.2]]), np.array([[1.0], [2.0], [-3.0]]))


@pytest.mark.parametrize("small_shape", [(1,), (), (1, 1)], ids=str)
def test_scalar_like_operands(small_shape):
    s = md.Tensor(np.full(small_shape, 3.0), allow_grad=True)
    m = md.Tensor(np.arange(6.0).reshape(2, 3), allow_grad=True)
    (s * m).sum().backward()
    assert s.grad.shape == small_shape
    np.testing.assert_allclose(s.grad.numpy(), np.full(small_shape, 15.0))
    np.testing.assert_allclose(m.grad.numpy(), np.full((2, 3), 3.0))


def test_an_operand_broadcast_by_broadcast_to_and_reshape():
    assert gradcheck(lambda x: md.broadcast_to(x, (2, 3, 4)) * md.sin(x), np.linspace(-1, 1, 4).reshape(1, 4))
    assert gradcheck(lambda x: md.reshape(x, (3, 2)) ** 2, np.linspace(-1, 1, 6).reshape(2, 3))
    x = leaf(np.arange(4.0).reshape(1, 4))
    md.broadcast_to(x, (3, 4)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((1, 4), 3.0))


# ---------------------------------------------------------------------------- dtypes


def test_float32_times_a_python_float_stays_float32():
    x = leaf([1.0, 2.0], dtype=np.float32)
    y = x * 2.5
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), np.float32([2.5, 2.5]))


def test_each_gradient_has_its_own_inputs_dtype():
    x32 = leaf([1.0, 2.0], dtype=np.float32)
    x64 = leaf([3.0, 4.0], dtype=np.float64)
    y = x32 * x64
    assert y.dtype == np.float64  # NumPy's promotion
    y.sum().backward()
    assert x32.grad.dtype == np.float32 and x64.grad.dtype == np.float64
    np.testing.assert_array_equal(x32.grad.numpy(), np.float32([3.0, 4.0]))
    np.testing.assert_array_equal(x64.grad.numpy(), [1.0, 2.0])


def test_a_float64_seed_for_a_float32_output_gives_float32_gradients():
    x = leaf([1.0, 2.0], dtype=np.float32)
    (x * x).backward(grad=np.array([1.0, 0.5]))
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


# ---------------------------------------------------------------------------- the seed


def test_backward_with_a_seed_of_matching_shape():
    x = leaf(X)
    v = np.array([0.5, -1.0, 2.0, 3.0])
    md.sin(x).backward(grad=v)
    np.testing.assert_allclose(x.grad.numpy(), v * np.cos(X), rtol=1e-12)

    x.grad = None
    md.sin(x).backward(grad=md.Tensor(v))
    np.testing.assert_allclose(x.grad.numpy(), v * np.cos(X), rtol=1e-12)


def test_backward_with_a_seed_of_the_wrong_shape_names_both_shapes():
    x = leaf(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)|\(2, 3\).*\(3, 2\)"):
        (x * x).backward(grad=np.ones((3, 2)))


def test_a_non_scalar_output_without_a_seed_is_seeded_with_ones():
    x = leaf(X)
    (x * x).backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * X)


def test_backward_on_a_leaf_gives_the_seed():
    x = leaf(X)
    x.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(4))


# ---------------------------------------------------------------------------- reset_grads


def test_backward_replaces_grad_by_default():
    x = leaf(X)
    for _ in range(3):
        (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * X)


def test_reset_grads_false_accumulates():
    x = leaf(X)
    (x * x).sum().backward(reset_grads=False)  # no .grad yet: it is set
    np.testing.assert_allclose(x.grad.numpy(), 2 * X)
    md.sin(x).sum().backward(reset_grads=False)
    np.testing.assert_allclose(x.grad.numpy(), 2 * X + np.cos(X), rtol=1e-12)
    (x * x).sum().backward()  # and the default replaces again
    np.testing.assert_allclose(x.grad.numpy(), 2 * X)


def test_a_leaf_the_output_does_not_depend_on_keeps_its_grad():
    x, z = leaf(X), leaf(X)
    (z * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), np.full(4, 2.0))
    np.testing.assert_allclose(x.grad.numpy(), np.full(4, 3.0))


def test_each_leafs_grad_is_its_own_array():
    x, z = leaf(X), leaf(X)
    (x + z).backward()
    with md.no_grad():
        x.grad *= 0.5  # per-parameter gradient scaling
    np.testing.assert_array_equal(z.grad.numpy(), np.ones(4))

    seed = md.Tensor(np.ones(4))
    (x + 0.0).backward(grad=seed)
    with md.no_grad():
        x.grad *= 0.5
    np.testing.assert_array_equal(seed.numpy(), np.ones(4))


@pytest.mark.parametrize("higher_order", [False, True])
def test_no_two_grads_share_an_array_nor_the_seed(higher_order):
    a, b, x = leaf(X), leaf(X), leaf(X)
    seed = md.Tensor(np.ones(4))
    (a + b).backward(grad=seed, allow_higher_order=higher_order)
    x.backward(grad=seed, allow_higher_order=higher_order)  # a leaf's own backward gets the seed
    grads = [a.grad, b.grad, x.grad]
    arrays = [seed.numpy(), *(g.numpy() for g in grads)]
    assert not any(np.shares_memory(p, q) for i, p in enumerate(arrays) for q in arrays[i + 1 :])
    with md.no_grad():
        a.grad *= 0.5
    for t in (b.grad, x.grad, seed):
        np.testing.assert_array_equal(t.numpy(), np.ones(4))


def test_the_copy_of_a_shared_gradient_stays_in_the_higher_order_graph():
    # d(a.grad)/ds = 1 for f = a + b seeded with s: the copy that gives a its own .grad
    # must be recorded, or s would get no gradient
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    s = leaf([0.5, -2.0])
    (a * 3.0 + b).backward(grad=s, allow_higher_order=True)
    np.testing.assert_array_equal(b.grad.numpy(), [0.5, -2.0])
    assert b.grad is not s and b.grad.allow_grad
    (b.grad * b.grad).sum().backward()
    np.testing.assert_array_equal(s.grad.numpy(), [1.0, -4.0])  # d sum(s^2) / ds = 2 s


def test_engine_grad_results_share_no_array_with_each_other_or_the_seed():
    a, b = leaf(X), leaf(X)
    seed = md.Tensor(np.ones(4))
    ga, gb, ga2 = grad(a + b, [a, b, a], seed)
    arrays = [seed.numpy(), ga.numpy(), gb.numpy(), ga2.numpy()]
    assert not any(np.shares_memory(p, q) for i, p in enumerate(arrays) for q in arrays[i + 1 :])
    (gx,) = grad(a, [a], seed)  # the output itself: its gradient is the seed, copied
    assert not np.shares_memory(gx.numpy(), seed.numpy())
    np.testing.assert_array_equal(gx.numpy(), np.ones(4))


def test_a_grad_can_be_scaled_in_place():
    x = leaf(X)
    x.sum().backward()
    with md.no_grad():
        x.grad *= 0.5
    np.testing.assert_array_equal(x.grad.numpy(), np.full(4, 0.5))


# ---------------------------------------------------------------------------- graph lifetime


def test_a_second_backward_through_a_freed_graph_raises():
    x = leaf(X)
    y = md.sin(md.exp(x)).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        y.backward()


def test_a_freed_shared_subgraph_raises_too():
    x = leaf(X)
    s = md.sin(x)
    (s * 2.0).sum().backward()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        (s * 3.0).sum().backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf(X)
    y = md.sin(md.exp(x)).sum()
    expected = np.cos(np.exp(X)) * np.exp(X)
    y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)
    y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)
    y.backward(reset_grads=False)
    np.testing.assert_allclose(x.grad.numpy(), 2 * expected, rtol=1e-12)
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        y.backward()


# ---------------------------------------------------------------------------- higher orders


def test_third_order_of_a_cube():
    x0 = np.array([-1.5, 0.5, 2.0])
    x = leaf(x0)
    (x**3).sum().backward(allow_higher_order=True)
    g1 = x.grad
    np.testing.assert_allclose(g1.numpy(), 3 * x0**2)
    assert g1.allow_grad and not g1.is_leaf
    g1.sum().backward(allow_higher_order=True)
    g2 = x.grad
    np.testing.assert_allclose(g2.numpy(), 6 * x0)
    g2.sum().backward(allow_higher_order=True)
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 6.0))


def test_third_order_of_sin():
    x = leaf(X)
    md.sin(x).sum().backward(allow_higher_order=True)
    np.testing.assert_allclose(x.grad.numpy(), np.cos(X), rtol=1e-12)
    x.grad.sum().backward(allow_higher_order=True)
    np.testing.assert_allclose(x.grad.numpy(), -np.sin(X), rtol=1e-12)
    x.grad.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), -np.cos(X), rtol=1e-12)
    assert not x.grad.allow_grad  # the last pass was first order


def test_second_order_of_a_composite_against_closed_form():
    # f = exp(x) / x: f' = exp(x) (x - 1) / x^2, f'' = exp(x) (x^2 - 2x + 2) / x^3.
    x0 = np.array([0.5, 1.0, 2.5])
    x = leaf(x0)
    (g,) = grad(md.sum(md.exp(x) / x), [x], allow_higher_order=True)
    np.testing.assert_allclose(g.numpy(), np.exp(x0) * (x0 - 1) / x0**2, rtol=1e-12)
    (gg,) = grad(g.sum(), [x])
    np.testing.assert_allclose(gg.numpy(), np.exp(x0) * (x0**2 - 2 * x0 + 2) / x0**3, rtol=1e-12)


def test_mixed_partials():
    # f = x y^2: f_x = y^2, f_y = 2 x y, f_xy = f_yx = 2 y, f_yy = 2 x.
    x0, y0 = 1.5, -0.7
    x, y = md.Tensor(x0, allow_grad=True), md.Tensor(y0, allow_grad=True)
    (x * y * y).backward(allow_higher_order=True)
    fx, fy = x.grad, y.grad
    assert fx.item() == pytest.approx(y0**2) and fy.item() == pytest.approx(2 * x0 * y0)
    (fxy,) = grad(fx, [y], retain_graph=True)
    fyx, fyy = grad(fy, [x, y])
    assert fxy.item() == pytest.approx(2 * y0)
    assert fyx.item() == pytest.approx(2 * y0)
    assert fyy.item() == pytest.approx(2 * x0)


def test_allow_higher_order_keeps_the_graph():
    x = leaf(X)
    h = md.exp(x)
    y = md.sin(h).sum()
    y.backward(allow_higher_order=True)
    assert y.node.inputs is not None and h.node.inputs is not None
    y.backward()  # no retain_graph needed: the graph is still there
    np.testing.assert_allclose(x.grad.numpy(), np.cos(np.exp(X)) * np.exp(X), rtol=1e-12)


def test_second_order_against_finite_differences():
    assert gradgradcheck(lambda x: md.sin(x) * md.exp(-x * x), X)
    assert gradgradcheck(lambda x, y: x**3 / (y * y + 1.0), X, X[::-1].copy())


# ---------------------------------------------------------------------------- grad mode


def test_no_grad_records_nothing():
    x = leaf(X)
    with md.no_grad():
        assert not md.is_grad_enabled()
        y = md.sin(x) * 2.0
    assert md.is_grad_enabled()
    assert not y.allow_grad and y.node is None
    with pytest.raises(RuntimeError, match="allow_grad"):
        y.sum().backward()


def test_enable_grad_inside_no_grad_records():
    x = leaf(X)
    with md.no_grad():
        with md.enable_grad():
            assert md.is_grad_enabled()
            y = md.sin(x)
        assert not md.is_grad_enabled()
        z = md.sin(x)
    assert y.allow_grad and not z.allow_grad
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(X))


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(KeyError):
        with md.no_grad():
            raise KeyError("boom")
    assert md.is_grad_enabled()


def test_grad_mode_is_a_context_variable():
    seen = {}
    with md.no_grad():
        thread = threading.Thread(target=lambda: seen.setdefault("thread", md.is_grad_enabled()))
        thread.start()
        thread.join()
        seen["fresh context"] = contextvars.Context().run(md.is_grad_enabled)
        seen["copied context"] = contextvars.copy_context().run(md.is_grad_enabled)
    assert seen == {"thread": True, "fresh context": True, "copied context": False}


def test_no_grad_in_one_thread_does_not_leak_into_another():
    inside, release = threading.Event(), threading.Event()
    observed = {}

    def worker():
        with md.no_grad():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(5)
    x = leaf(X)
    observed["main"] = (x * 2.0).allow_grad
    release.set()
    thread.join()
    assert observed == {"main": True}


# ---------------------------------------------------------------------------- leaves


def test_is_leaf_and_grad_only_on_leaves():
    x = leaf(X)
    h = md.exp(x)
    y = md.sin(h).sum()
    assert x.is_leaf and not h.is_leaf and not y.is_leaf
    assert md.Tensor(X).is_leaf
    y.backward()
    assert x.grad is not None
    assert h.grad is None and y.grad is None


def test_detach_cuts_the_graph():
    x = leaf(X)
    d = x.detach()
    assert d.is_leaf and not d.allow_grad and d.grad is None
    np.testing.assert_array_equal(d.numpy(), X)
    # d(x * stop(x))/dx = stop(x): no gradient flows through the detached factor.
    (x * x.detach()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), X)
    with pytest.raises(RuntimeError, match="allow_grad"):
        (md.sin(x).detach() * 2.0).sum().backward()


def test_backward_on_a_constant_raises_with_a_hint():
    c = md.Tensor(X)
    with pytest.raises(RuntimeError, match=r"allow_grad=True.*no_grad|no_grad.*allow_grad=True"):
        (c * c).sum().backward()


def test_requires_grad_is_an_alias():
    x = md.Tensor(X, requires_grad=True)
    assert x.allow_grad
    md.sin(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(X))


# ---------------------------------------------------------------------------- in place


def test_in_place_on_a_grad_leaf_raises_outside_no_grad():
    x = leaf(X)
    with pytest.raises(RuntimeError, match="no_grad"):
        x += 1.0
    with pytest.raises(RuntimeError, match="no_grad"):
        x[0] = 5.0
    np.testing.assert_array_equal(x.numpy(), X)


def test_sgd_update_under_no_grad_keeps_the_parameter():
    w = leaf(X)
    before = id(w)
    (w * w).sum().backward()
    with md.no_grad():
        w -= 0.25 * w.grad
    assert id(w) == before and w.allow_grad and w.is_leaf
    np.testing.assert_allclose(w.numpy(), X - 0.25 * 2 * X)
    (w * w).sum().backward()  # the updated parameter is differentiated again
    np.testing.assert_allclose(w.grad.numpy(), 2 * (X - 0.5 * X))


@pytest.mark.parametrize("how", ["setitem", "iadd", "imul"])
def test_modifying_a_constant_after_use_makes_backward_raise(how):
    x = leaf(X)
    c = md.Tensor([1.0, 2.0, 3.0, 4.0])
    y = (x * c).sum()
    if how == "setitem":
        c[0] = 5.0
    elif how == "iadd":
        c += 1.0
    else:
        c *= 2.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_modifying_a_parameter_after_use_makes_backward_raise():
    x = leaf(X)
    y = (x * x).sum()
    with md.no_grad():
        x += 1.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_modifying_an_intermediate_after_use_makes_backward_raise():
    x = leaf(X)
    h = md.exp(x)
    y = (h * h).sum()
    with md.no_grad():
        h += 1.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_modifying_a_constant_before_use_is_fine():
    x = leaf(X)
    c = md.Tensor(np.ones(4))
    c += 1.0
    c[0] = 3.0
    (x * c).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 2.0, 2.0, 2.0])


@pytest.mark.parametrize("alias", ["detach", "reshape"])
def test_modifying_an_alias_of_a_saved_tensor_makes_backward_raise(alias):
    x = leaf(X)
    c = md.Tensor(np.arange(4.0))
    y = (x * c).sum()
    view = c.detach() if alias == "detach" else md.reshape(c, (2, 2))
    view += 10.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_modifying_the_base_of_a_saved_view_makes_backward_raise():
    x = leaf(np.ones((2, 2)))
    c = md.Tensor(np.arange(4.0))
    y = (x * md.reshape(c, (2, 2))).sum()
    c += 10.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_changing_a_numpy_operand_after_use_does_not_change_the_gradient():
    x = leaf(X)
    a = np.arange(4.0)
    y = (x * a).sum()
    a[0] = 100.0
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(4.0))


def test_assigning_a_grad_tensor_into_a_constant_is_differentiated():
    t = md.Tensor(np.zeros(4))
    x = leaf(X)
    t[1:3] = x[:2] * 3.0  # the constant becomes a computed tensor
    assert t.allow_grad and not t.is_leaf
    (t * t).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [18.0 * X[0], 18.0 * X[1], 0.0, 0.0])
    c = md.Tensor(np.zeros(4))
    c[...] = md.Tensor(X)  # a constant assigned stays a constant
    assert not c.allow_grad
    np.testing.assert_array_equal(c.numpy(), X)


def test_in_place_with_a_result_of_another_shape_raises():
    t = md.Tensor(np.zeros(2))
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2,\)"):
        t += md.Tensor(np.ones((3, 1)))


def test_in_place_update_writes_into_the_same_buffer_and_keeps_its_dtype():
    w = md.Tensor(np.ones((2, 3), dtype=np.float32), allow_grad=True)
    buffer, view = w.data, w.detach()[0]
    with md.no_grad():
        w -= 0.25 * md.Tensor(np.full((2, 3), 2.0, dtype=np.float32))
        w *= md.Tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32))  # broadcast into w
    assert w.data is buffer and w.dtype == np.float32
    np.testing.assert_array_equal(w.numpy(), [[0.5, 1.0, 1.5]] * 2)
    np.testing.assert_array_equal(view.numpy(), [0.5, 1.0, 1.5])  # a view sees the change


def test_in_place_with_a_wider_result_casts_back_like_numpy_assignment():
    t = md.Tensor(np.array([1, 2, 3]))
    t += 0.5  # the float result is assigned into the integer tensor, truncated
    assert t.dtype == np.array([1]).dtype
    np.testing.assert_array_equal(t.numpy(), [1, 2, 3])


# ---------------------------------------------------------------------------- construction


@pytest.mark.parametrize("data", [[1, 2, 3], np.arange(3), 4, [True, False]], ids=["list", "array", "int", "bool"])
def test_integer_data_allowing_grad_becomes_float64(data):
    t = md.Tensor(data, allow_grad=True)
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.numpy(), np.asarray(data, dtype=np.float64))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_])
def test_an_explicit_integer_dtype_cannot_allow_grad(dtype):
    with pytest.raises(TypeError, match="floating"):
        md.Tensor([1, 2], allow_grad=True, dtype=dtype)


def test_integer_tensors_without_grad_keep_their_dtype():
    assert md.Tensor([1, 2]).dtype == np.asarray([1, 2]).dtype
    assert md.Tensor([1, 2], dtype=np.int32).dtype == np.int32


def test_the_constructor_copies_its_data():
    a = np.array([1.0, 2.0])
    t = md.Tensor(a)
    a[0] = 100.0
    assert t.numpy().tolist() == [1.0, 2.0]


# ---------------------------------------------------------------------------- operators


@pytest.mark.parametrize(
    "f, expected_value, expected_grad",
    [
        (lambda x: 2.0 + x, lambda x: 2 + x, lambda x: np.ones_like(x)),
        (lambda x: 2.0 - x, lambda x: 2 - x, lambda x: -np.ones_like(x)),
        (lambda x: 2.0 * x, lambda x: 2 * x, lambda x: np.full_like(x, 2.0)),
        (lambda x: 2.0 / x, lambda x: 2 / x, lambda x: -2 / x**2),
        (lambda x: 2.0**x, lambda x: 2**x, lambda x: 2**x * np.log(2.0)),
        (lambda x: x**2.0, lambda x: x**2, lambda x: 2 * x),
        (lambda x: x % 1.0, lambda x: x % 1.0, lambda x: np.ones_like(x)),
        (lambda x: np.array([1.0, 2.0, 3.0]) + x, lambda x: 1 + np.arange(3) + x, lambda x: np.ones_like(x)),
        (lambda x: np.array([1.0, 2.0, 3.0]) - x, lambda x: 1 + np.arange(3) - x, lambda x: -np.ones_like(x)),
        (lambda x: np.array([1.0, 2.0, 3.0]) * x, lambda x: (1 + np.arange(3)) * x, lambda x: 1.0 + np.arange(3)),
        (lambda x: np.array([1.0, 2.0, 3.0]) / x, lambda x: (1 + np.arange(3)) / x, lambda x: -(1 + np.arange(3)) / x**2),
        (
            lambda x: np.array([2.0, 3.0, 4.0]) ** x,
            lambda x: np.array([2.0, 3.0, 4.0]) ** x,
            lambda x: np.array([2.0, 3.0, 4.0]) ** x * np.log([2.0, 3.0, 4.0]),
        ),
        (lambda x: -x, lambda x: -x, lambda x: -np.ones_like(x)),
        (lambda x: +x, lambda x: x, lambda x: np.ones_like(x)),
        (lambda x: abs(x), lambda x: np.abs(x), lambda x: np.sign(x)),
    ],
    ids=[
        "radd", "rsub", "rmul", "rtruediv", "rpow", "pow", "mod",
        "np-radd", "np-rsub", "np-rmul", "np-rtruediv", "np-rpow", "neg", "pos", "abs",
    ],
)
def test_operators_with_scalars_and_arrays_on_either_side(f, expected_value, expected_grad):
    x0 = np.array([0.3, -1.7, 2.2])
    x = leaf(x0)
    y = f(x)
    assert type(y) is md.Tensor and y.allow_grad
    np.testing.assert_allclose(y.numpy(), expected_value(x0), rtol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), expected_grad(x0), rtol=1e-12)


def test_floor_divide_and_mod_values_and_floor_divide_is_not_differentiable():
    t0 = np.array([1.5, 2.0, 7.0])
    t = leaf(t0)
    np.testing.assert_array_equal((7.0 // t).numpy(), 7.0 // t0)
    np.testing.assert_array_equal((t // 2.0).numpy(), t0 // 2.0)
    np.testing.assert_array_equal((7.0 % t).numpy(), 7.0 % t0)
    np.testing.assert_array_equal((np.full(3, 7.0) % t).numpy(), 7.0 % t0)
    assert not (t // 2.0).allow_grad


def test_a_numpy_array_on_the_left_gives_a_tensor():
    t = md.Tensor([1.0, 2.0, 3.0])
    for result in (np.ones(3) + t, np.ones(3) - t, np.ones(3) * t, np.ones(3) / t, np.ones(3) ** t, np.ones(3) < t):
        assert type(result) is md.Tensor


def test_matmul_operator_if_registered():
    require_op("matmul")
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4) - 5
    np.testing.assert_allclose((md.Tensor(a) @ md.Tensor(b)).numpy(), a @ b)
    np.testing.assert_allclose((a @ md.Tensor(b)).numpy(), a @ b)
    x = leaf(a)
    (x @ b).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.ones((2, 4)) @ b.T)


def test_comparisons_return_bool_tensors_that_do_not_allow_grad():
    x = leaf([1.0, 2.0, 3.0])
    for result, expected in [
        (x < 2.0, [True, False, False]),
        (x <= 2.0, [True, True, False]),
        (x > 2.0, [False, False, True]),
        (x >= 2.0, [False, True, True]),
        (x == 2.0, [False, True, False]),
        (x != 2.0, [True, False, True]),
        (2.0 < x, [False, False, True]),
        (np.full(3, 2.0) >= x, [True, True, False]),
    ]:
        assert type(result) is md.Tensor and result.dtype == np.bool_ and not result.allow_grad
        assert result.numpy().tolist() == expected


def test_tensors_hash_by_identity():
    a, b = md.Tensor([1.0]), md.Tensor([1.0])
    assert len({a, b}) == 2 and {a: 1}[a] == 1


def test_python_protocol():
    t = md.Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert len(t) == 2
    with pytest.raises(TypeError):
        len(md.Tensor(1.0))
    one = md.Tensor([2.5])
    assert one.item() == 2.5 and isinstance(one.item(), float)
    assert float(one) == 2.5 and int(one) == 2
    assert bool(one) is True and bool(md.Tensor(0.0)) is False
    with pytest.raises(ValueError, match="ambiguous"):
        bool(t)
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        t.item()
    with pytest.raises(ValueError):
        if md.Tensor([1.0, 2.0]) < 3.0:
            pass


def test_iteration():
    require_op("getitem")
    t = md.Tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    rows = list(t)
    assert len(rows) == 3 and all(type(r) is md.Tensor for r in rows)
    assert [r.numpy().tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    with pytest.raises(TypeError):
        iter(md.Tensor(1.0))
    x = leaf([1.0, 2.0, 3.0])
    total = md.Tensor(0.0)
    for i, element in enumerate(x):
        total = total + element * (i + 1.0)
    total.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 3.0])


def test_repr():
    assert "minidiff.Tensor" in repr(md.Tensor([1.0, 2.0]))
    assert "allow_grad=True" not in repr(md.Tensor([1.0, 2.0]))
    assert "allow_grad=True" in repr(leaf([1.0, 2.0]))
    assert "float32" in repr(md.Tensor([1.0], dtype=np.float32))


# ---------------------------------------------------------------------------- non-finite values


def test_log_of_zero_warns_like_numpy_and_its_gradient_is_inf():
    x = leaf([0.0, 1.0])
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        y = md.log(x)
    assert y.numpy()[0] == -np.inf and y.numpy()[1] == 0.0
    with np.errstate(divide="ignore"):
        y.sum().backward()
    assert x.grad.numpy().tolist() == [np.inf, 1.0]


def test_zero_over_zero_warns_like_numpy_and_its_gradient_is_nan():
    x = leaf([0.0, 2.0])
    with pytest.warns(RuntimeWarning, match="invalid value"):
        y = x / x
    assert np.isnan(y.numpy()[0]) and y.numpy()[1] == 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        y.sum().backward()
    g = x.grad.numpy()
    assert np.isnan(g[0]) and g[1] == 0.0


def test_numpy_errstate_applies():
    with np.errstate(divide="raise"):
        with pytest.raises(FloatingPointError):
            md.log(md.Tensor([0.0]))
    with np.errstate(all="ignore"):
        assert md.log(md.Tensor([0.0])).numpy()[0] == -np.inf


def test_overflow_gives_infinite_gradients():
    x = leaf([1000.0, 0.0])
    with np.errstate(over="ignore"):
        y = md.exp(x)
        y.sum().backward()
    assert x.grad.numpy().tolist() == [np.inf, 1.0]
