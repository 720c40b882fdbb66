"""Code written for the original minidiff (0.x) runs unchanged: its README example verbatim,
a training loop written in its API, and every alias of docs/coming-from-minidiff-0.x.md
doing what the table says. Values are checked against closed forms and finite differences."""

from __future__ import annotations

import importlib
import re
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest

import minidiff as md
import minidiff.ops.wrapping as wrapping
from minidiff import compat
from minidiff.testing import gradcheck

DOC = Path(__file__).resolve().parents[3] / "docs" / "coming-from-minidiff-0.x.md"

# The original README's usage example, block by block, exactly as it is written there.
README_BLOCKS = (
    """
x = md.Tensor([[0, 2, -2, 1], [-1, -1, -2, -2]], allow_grad=True)
y = md.Tensor([[2, 3, 4, 5], [0, -1, -3, 2]], allow_grad=True)
""",
    """
f = 2 * y * md.sin(x) - x**2
""",
    """
f.backward(allow_higher_order=True)
# first order partial derivatives
# df/dx
print(x.grad)
# df/dy
print(y.grad)
""",
    """
x.grad.backward()
print("second order")
# now d^2f/dx^2
print(x.grad)
# now d^2f/dxdy
print(y.grad)
""",
)

X = np.array([[0, 2, -2, 1], [-1, -1, -2, -2]], dtype=float)
Y = np.array([[2, 3, 4, 5], [0, -1, -3, 2]], dtype=float)


def test_the_original_readme_example_gives_the_closed_forms(capsys):
    scope = {"md": md}
    for block in README_BLOCKS[:3]:
        exec(block, scope)
    np.testing.assert_allclose(scope["x"].grad.numpy(), 2 * Y * np.cos(X) - 2 * X, rtol=1e-12)  # df/dx
    np.testing.assert_allclose(scope["y"].grad.numpy(), 2 * np.sin(X), rtol=1e-12)  # df/dy
    exec(README_BLOCKS[3], scope)
    # x.grad.backward() differentiates sum(df/dx) = sum(2y cos x - 2x)
    np.testing.assert_allclose(scope["x"].grad.numpy(), -2 * Y * np.sin(X) - 2, rtol=1e-12)
    np.testing.assert_allclose(scope["y"].grad.numpy(), 2 * np.cos(X), rtol=1e-12)
    printed = capsys.readouterr().out
    assert printed.count("minidiff.Tensor(") == 4 and "second order" in printed


# ---------------------------------------------------------------------------- a training loop in the old API


def _old_api_logistic_regression(features, labels, steps):
    """Logistic regression written only with the original minidiff's API."""
    from minidiff.ops.wrapping import as_minidiff, create_unary_op_func

    sigmoid = create_unary_op_func(
        forward_func=as_minidiff(lambda z: 1 / (1 + np.exp(-z))),
        grad=lambda z, grad: grad * sigmoid(z) * (1 - sigmoid(z)),
    )
    X = md.Tensor(features).astype(md.float64)
    Y = md.Tensor(labels)[:, md.newaxis]
    w = md.Tensor(md.randn(features.shape[1], 1).as_numpy() * 0.1, allow_grad=True)
    b = md.zeros((1,), allow_grad=True)

    def loss_func(w, b):
        p = sigmoid(md.matmul(X, w) + b)
        return -md.mean(Y * md.log(p + 1e-12) + (1 - Y) * md.log(1 - p + 1e-12))

    losses = []
    for _ in range(steps):
        loss = loss_func(w, b)
        loss.backward(retain_grads=False, cleanup_mode="destroy")
        losses.append(loss.item())
        with md.disable_new_grads():
            w -= 0.5 * w.grad
            b -= 0.5 * b.grad
    md.set_allow_grad(False)
    try:
        predicted = sigmoid(md.matmul(X, w) + b) > 0.5
        assert not md.grad_allowed_()
        accuracy = len(md.argwhere(predicted == (Y > 0.5))) / len(Y)
    finally:
        md.set_allow_grad(True)
    return w, b, loss_func, losses, accuracy


def test_a_training_loop_written_against_the_old_api_learns():
    md.random.seed(3)
    rng = np.random.default_rng(0)
    features = rng.normal(size=(80, 2))
    labels = (features @ np.array([2.0, -1.0]) + 0.3 > 0).astype(float)
    w, b, loss_func, losses, accuracy = _old_api_logistic_regression(features, labels, steps=60)
    assert losses[-1] < 0.5 * losses[0]
    assert all(later <= earlier + 1e-12 for earlier, later in zip(losses, losses[1:]))  # gradient descent, small step
    assert accuracy >= 0.9
    # at the trained weights, the old API's own gradient check agrees with finite differences
    manual, automatic = md.utils.compute_grads(w, b, func=loss_func, h=1e-6)
    for fd, exact in zip(manual, automatic):
        np.testing.assert_allclose(exact.numpy(), fd.numpy(), rtol=1e-5, atol=1e-8)


# ---------------------------------------------------------------------------- the doc table's aliases


def test_every_old_name_in_the_doc_table_exists():
    carried_over = DOC.read_text().split("## Not carried over")[0]
    rows = [line for line in carried_over.splitlines() if line.startswith("| `")]
    assert len(rows) > 25
    for row in rows:
        for old in re.findall(r"`([^`]+)`", row.split("|")[1]):
            path = re.sub(r"\(.*", "", old)
            owner, _, attribute = path.rpartition(".")
            if owner == "t":
                target = md.Tensor([1.0])
            else:
                target = importlib.import_module("minidiff" + owner.removeprefix("md").removeprefix("minidiff"))
            assert hasattr(target, attribute), f"{old} (table row {row!r}) does not exist"


def test_grad_mode_aliases_set_what_today_s_names_read():
    assert md.grad_allowed_() is md.is_grad_enabled() is True
    md.set_allow_grad(False)
    try:
        assert not md.is_grad_enabled()
        assert not (md.Tensor([1.0], allow_grad=True) * 2).allow_grad
    finally:
        md.set_allow_grad(True)
    assert md.is_grad_enabled()
    with md.disable_new_grads():
        assert not md.grad_allowed_() and not md.new_grads_allowed_()
        assert not (md.Tensor([1.0], allow_grad=True) * 2).allow_grad
    assert md.grad_allowed_() and md.new_grads_allowed_()
    md.set_allow_new_grads(False)
    try:
        assert not md.new_grads_allowed_() and md.grad_allowed_()  # a flag only, as in the original
    finally:
        md.set_allow_new_grads(True)


def test_set_allow_grad_is_per_thread_like_no_grad():
    seen = []
    worker = threading.Thread(target=lambda: (md.set_allow_grad(False), seen.append(md.grad_allowed_())))
    worker.start()
    worker.join()
    assert seen == [False] and md.grad_allowed_()


def test_as_numpy_is_numpy():
    t = md.Tensor([[1.0, 2.0]])
    assert isinstance(t.as_numpy(), np.ndarray)
    np.testing.assert_array_equal(t.as_numpy(), t.numpy())
    assert np.shares_memory(t.as_numpy(), t.data)  # the NumPy backend's own memory, as numpy()


def test_wipe_makes_a_computed_tensor_a_leaf_where_backward_stops():
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    h = md.exp(x)
    h.wipe()
    assert h.is_leaf and h.allow_grad
    (h**2).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * np.exp([1.0, 2.0]))
    assert x.grad is None


def test_cleanup_mode_keep_keeps_the_graph_for_another_backward():
    x = md.Tensor([0.5, 1.5], allow_grad=True)
    f = (md.sin(x) * x).sum()
    f.backward(cleanup_mode="keep")
    f.backward(cleanup_mode="keep", reset_grads=False)
    np.testing.assert_allclose(x.grad.numpy(), 2 * (np.cos([0.5, 1.5]) * [0.5, 1.5] + np.sin([0.5, 1.5])))


@pytest.mark.parametrize("mode", ["prune", "destroy"])
def test_cleanup_modes_that_free_free_the_graph(mode):
    x = md.Tensor([0.5, 1.5], allow_grad=True)
    f = (md.sin(x) * x).sum()
    f.backward(retain_grads=True, cleanup_mode=mode)
    np.testing.assert_allclose(x.grad.numpy(), np.cos([0.5, 1.5]) * [0.5, 1.5] + np.sin([0.5, 1.5]))
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        f.backward()


def test_higher_order_with_destroy_keeps_what_it_needs_as_the_original_did():
    x = md.Tensor(0.7, allow_grad=True)
    (x**4).backward(allow_higher_order=True, cleanup_mode="destroy")
    x.grad.backward()
    assert x.grad.item() == pytest.approx(12 * 0.7**2)


@pytest.mark.parametrize("mode", ["clear", "Keep", "", 0])
def test_an_unknown_cleanup_mode_raises_value_error(mode):
    f = (md.Tensor([1.0], allow_grad=True) * 2).sum()
    with pytest.raises(ValueError, match="cleanup_mode must be one of 'keep', 'prune', 'destroy'"):
        f.backward(cleanup_mode=mode)


def test_a_freeing_cleanup_mode_with_retain_graph_is_a_contradiction():
    f = (md.Tensor([1.0], allow_grad=True) * 2).sum()
    with pytest.raises(ValueError, match="pass one of them"):
        f.backward(retain_graph=True, cleanup_mode="prune")


def test_retain_grads_fills_leaves_only():
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    h = x * 3
    (h**2).sum().backward(retain_grads=True)
    np.testing.assert_allclose(x.grad.numpy(), 18 * np.array([1.0, 2.0]))
    assert h.grad is None  # documented: today only leaves get .grad


def test_try_unwrap_reaches_into_containers():
    t = md.Tensor([1.0, 2.0])
    out = md.try_unwrap({"a": (t, [t, 3]), "b": "text"})
    assert out["a"][0] is t.data and out["a"][1][0] is t.data and out["a"][1][1] == 3 and out["b"] == "text"


def test_the_top_level_random_names_are_md_random_s():
    md.random.seed(11)
    a, b, c = md.randn(2, 3), md.rand(4), md.randint(0, 10, size=5)
    md.random.seed(11)
    np.testing.assert_array_equal(a.numpy(), md.random.randn(2, 3).numpy())
    np.testing.assert_array_equal(b.numpy(), md.random.rand(4).numpy())
    np.testing.assert_array_equal(c.numpy(), md.random.randint(0, 10, size=5).numpy())


@pytest.mark.parametrize("name", ["choice", "permutation", "shuffle", "binomial"])
def test_the_other_random_names_forward_to_md_random(monkeypatch, name):
    calls = []
    monkeypatch.setattr(md.random, name, lambda *args, **kwargs: calls.append((args, kwargs)) or "drawn", raising=False)
    assert getattr(md, name)(5, size=3) == "drawn"
    assert calls == [((5,), {"size": 3})]


# ---------------------------------------------------------------------------- the original's op builders


def test_wrapping_is_the_compat_module_s_builders():
    for name in wrapping.__all__:
        assert getattr(wrapping, name) is getattr(compat, name)
    for name in ("create_unary_op_func", "create_binary_op_func", "create_ternary_op_func",
                 "unary_op_func", "binary_op_func", "ternary_op_func"):
        assert getattr(md, name) is getattr(compat, name)


def test_unary_builder_gradients_to_third_order():
    sin = md.create_unary_op_func(forward_func=wrapping.as_minidiff(np.sin), grad=lambda x, grad: grad * md.cos(x))
    x0 = 0.8
    assert md.grad(sin)(x0).item() == pytest.approx(np.cos(x0))
    assert md.grad(md.grad(sin))(x0).item() == pytest.approx(-np.sin(x0))
    assert md.grad(md.grad(md.grad(sin)))(x0).item() == pytest.approx(-np.cos(x0))
    gradcheck(sin, np.array([0.1, -1.2, 2.0]))


def test_binary_builder_with_broadcasting_and_a_number():
    power = md.create_binary_op_func(
        forward_func=wrapping.as_minidiff(np.power),
        grad_x=lambda x, y, grad: grad * y * x ** (y - 1),
        grad_y=lambda x, y, grad: grad * x**y * md.log(x),
    )
    gradcheck(power, np.array([[0.5, 1.5, 2.0]]), np.array([[1.0], [2.5]]))  # the engine sums broadcast axes
    x = md.Tensor([2.0, 3.0], allow_grad=True)
    power(x, 2).sum().backward()  # a number as an argument: passed to the rules as it is, not differentiated
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 6.0])


def test_ternary_builder_and_non_tensor_positional_arguments():
    swap = md.create_ternary_op_func(
        forward_func=wrapping.as_minidiff(np.swapaxes),
        grad_x=lambda x, a, b, grad: md.swapaxes(grad, a, b),
    )
    x = md.Tensor(np.arange(6.0).reshape(2, 3), allow_grad=True)
    out = swap(x, 0, 1)
    assert out.shape == (3, 2)
    (out * md.Tensor(np.arange(6.0).reshape(3, 2))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(6.0).reshape(3, 2).T)


def test_decorator_forms_and_propagated_keywords():
    @md.unary_op_func(
        grad=lambda x, grad, axis=None: md.expand_dims(grad, axis) * md.ones_like(x), propagate_kwargs=True
    )
    def total(x, axis=None):
        return md.Tensor(np.sum(x.numpy(), axis=axis))

    x = md.Tensor(np.ones((2, 3)), allow_grad=True)
    (total(x, axis=1) * md.Tensor([1.0, 2.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0] * 3, [2.0] * 3])

    @md.binary_op_func(grad_x=lambda x, y, grad: grad * y, grad_y=lambda x, y, grad: grad * x)
    def mul(x, y):
        return md.Tensor(x.numpy() * y.numpy())

    gradcheck(mul, np.array([1.0, -2.0]), np.array([0.5, 3.0]))

    @md.ternary_op_func(grad_y=lambda c, y, z, grad: grad * c, grad_z=lambda c, y, z, grad: grad * (1 - c))
    def where(c, y, z):
        return md.Tensor(np.where(c.numpy(), y.numpy(), z.numpy()))

    c = md.Tensor([1.0, 0.0, 1.0])
    gradcheck(lambda y, z: where(c, y, z), np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]))


def test_a_rule_result_is_fitted_as_the_original_fitted_it():
    # a number and a flat result of the argument's size, as the original's unbroadcast took them
    double = md.create_unary_op_func(wrapping.as_minidiff(lambda x: 2 * x), grad=lambda x, grad: 2.0)
    flat = md.create_unary_op_func(
        wrapping.as_minidiff(lambda x: x * 1.0), grad=lambda x, grad: md.reshape(grad, (-1,))
    )
    x = md.Tensor(np.ones((2, 2)), allow_grad=True)
    double(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 2), 2.0))
    (flat(x) * md.Tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 2.0], [3.0, 4.0]])


def test_tensor_only_and_missing_tensors_raise_value_error():
    neg = md.create_unary_op_func(wrapping.as_minidiff(np.negative), grad=lambda x, grad: -grad)
    add = md.create_binary_op_func(wrapping.as_minidiff(np.add), lambda x, y, g: g, lambda x, y, g: g)
    with pytest.raises(ValueError, match="Tensors only"):
        neg(np.array([1.0]))
    with pytest.raises(ValueError, match="at least one minidiff Tensor"):
        add(1.0, 2.0)
    assert add(md.Tensor([1.0]), 2.0).item() == 3.0


def test_non_differentiable_builder_gives_constants():
    floor = compat.create_op_func(wrapping.as_minidiff(np.floor), [None], is_differentiable=False)
    out = floor(md.Tensor([1.5], allow_grad=True))
    assert out.item() == 1.0 and not out.allow_grad


def test_stateful_op_func_builds_fresh_state_per_call():
    class Scale(compat.UnaryOpClass):
        def create_forward(self):
            def forward(x, factor=1.0):
                self.factor = factor
                return x * factor

            return forward

        def create_grads(self):
            return [lambda x, grad, **kwargs: grad * self.factor]

    scale = compat.create_stateful_op_func(Scale)
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    a, b = scale(x, factor=3.0), scale(x, factor=5.0)
    (a + b).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [8.0, 8.0])


def test_old_as_minidiff_unwraps_everywhere_and_returns_a_constant():
    concat = wrapping.as_minidiff(np.concatenate)
    x = md.Tensor([1.0], allow_grad=True)
    out = concat([x, md.Tensor([2.0])], axis=0)
    np.testing.assert_array_equal(out.numpy(), [1.0, 2.0])
    assert not out.allow_grad


# ---------------------------------------------------------------------------- minidiff.utils' old helpers


def test_calculate_finite_differences_matches_the_closed_form():
    x = md.Tensor([0.3, -1.1], allow_grad=True)
    y = md.Tensor([2.0, 0.5], allow_grad=True)
    constant = md.Tensor([1.0, 1.0])
    dx, dy, dc, dn = md.utils.calculate_finite_differences(
        x, y, constant, 4.0, func=lambda x, y, c, k: k * x * y**2, h=1e-6
    )
    np.testing.assert_allclose(dx.numpy(), 4.0 * np.array([2.0, 0.5]) ** 2, rtol=1e-7)
    np.testing.assert_allclose(dy.numpy(), 8.0 * np.array([0.3, -1.1]) * [2.0, 0.5], rtol=1e-7)
    assert dc is None and dn is None
    (dx_only, dy_excluded) = md.utils.calculate_finite_differences(x, y, func=lambda x, y: x * y, exclude=[y])
    assert dy_excluded is None and dx_only is not None


def test_compute_grads_leaves_the_arguments_alone():
    x = md.Tensor([0.2, 0.9])  # does not allow grad: the copies do
    w = md.Tensor([1.5, -0.5], allow_grad=True)
    manual, automatic = md.utils.compute_grads(x, w, func=lambda x, w: md.tanh(x * w), h=1e-6)
    expected_x = np.array([1.5, -0.5]) / np.cosh([0.3, -0.45]) ** 2
    np.testing.assert_allclose(automatic[0].numpy(), expected_x, rtol=1e-12)
    np.testing.assert_allclose(manual[0].numpy(), expected_x, rtol=1e-6)
    np.testing.assert_allclose(manual[1].numpy(), automatic[1].numpy(), rtol=1e-6)
    assert x.grad is None and w.grad is None and not x.allow_grad
    manual, automatic = md.utils.compute_grads(x, w, 3, func=lambda x, w, k: k * x * w, exclude=[x])
    assert manual[0] is automatic[0] is None and manual[2] is automatic[2] is None


def test_draw_tensor_op_graph_labels_tensors_by_id(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # the DOT text path
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    y = md.Tensor([3.0, 4.0], allow_grad=True)
    f = md.sin(x) * y
    dot = md.utils.draw_tensor_op_graph(f, {id(x): "x", id(y): "y", id(f): "f"}, insert_intermediates=True)
    assert dot == md.utils.graph_dot(f, names={"x": x, "y": y, "f": f})
    with pytest.raises(ImportError, match="pip install graphviz"):
        md.utils.draw_tensor_op_graph(f, format="svg")


def test_draw_tensor_op_graph_draws_into_a_given_graph(monkeypatch):
    class Digraph:
        def __init__(self, *args, **kwargs):
            self.kwargs, self.parts = kwargs, []

        def node(self, *args, **kwargs):
            self.parts.append(("node", args))

        def edge(self, *args):
            self.parts.append(("edge", args))

        def subgraph(self, other):
            self.parts.append(("subgraph", other))

    monkeypatch.setitem(sys.modules, "graphviz", types.SimpleNamespace(Digraph=Digraph))
    x = md.Tensor([1.0], allow_grad=True)
    outer = Digraph()
    assert md.utils.draw_tensor_op_graph(md.exp(x), graph=outer) is outer
    (kind, inner), = outer.parts
    assert kind == "subgraph" and any(part[0] == "edge" for part in inner.parts)
    made = md.utils.draw_tensor_op_graph(md.exp(x), format="svg")
    assert made.kwargs == {"format": "svg"} and made.parts[0][0] == "subgraph"


def test_enable_grad_and_detach_take_the_original_arguments():
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    with md.enable_grad(False):
        assert not (x * 2).allow_grad
    with md.no_grad(), md.enable_grad(True):
        assert (x * 2).allow_grad
    leaf = (x * 2).detach(allow_grad=True)
    assert leaf.is_leaf and leaf.allow_grad
    md.sum(leaf * leaf).backward()
    np.testing.assert_allclose(leaf.grad.numpy(), [4.0, 8.0])


def test_put_along_axis_writes_into_a_tensor_that_does_not_allow_grad():
    board = md.zeros((2, 3))
    values = md.Tensor([[1.0], [2.0]], allow_grad=True)
    out = md.put_along_axis(board, md.Tensor([[1], [2]]), values, axis=1)
    expected = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])
    np.testing.assert_array_equal(board.numpy(), expected)
    np.testing.assert_array_equal(out.numpy(), expected)
    md.sum(out * md.Tensor([[1.0, 10.0, 100.0], [1.0, 10.0, 100.0]])).backward()
    np.testing.assert_array_equal(values.grad.numpy(), [[10.0], [100.0]])
    # a tensor that allows grad is not written into
    weights = md.zeros((2, 3), allow_grad=True)
    md.put_along_axis(weights, md.Tensor([[1], [2]]), 5.0, axis=1)
    assert weights.numpy().sum() == 0.0
