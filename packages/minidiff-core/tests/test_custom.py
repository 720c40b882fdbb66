"""Custom ops: `md.custom_vjp` (forward -> (out, residuals), backward -> one cotangent per
input, nondiff_argnums), and the seed's `md.create_op_func` and `md.as_minidiff`, checked
against closed forms and finite differences, at first and higher orders."""

from __future__ import annotations

import doctest
import functools

import numpy as np
import pytest

import minidiff as md
from minidiff import custom
from minidiff.testing import gradcheck, gradgradcheck


def make_softplus() -> md.custom_vjp:
    """softplus(x) = log(1 + e^x) with a hand-written, stable backward: sigmoid(x)."""

    @md.custom_vjp
    def softplus(x):
        return md.logaddexp(0.0, x)

    def forward(x):
        return softplus(x), x  # residuals: the input, so the backward stays a function of it

    def backward(x, g):
        return (g / (1.0 + md.exp(-x)),)

    softplus.defvjp(forward, backward)
    return softplus


def test_custom_vjp_first_and_second_order_against_finite_differences(rng):
    softplus = make_softplus()
    x = rng.uniform(-2, 2, size=(3, 4))
    gradcheck(softplus, x)
    gradgradcheck(softplus, x)


def test_custom_vjp_to_third_order():
    softplus = make_softplus()
    s = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    for x in (-1.0, 0.0, 2.0):
        assert md.grad(softplus)(x).item() == pytest.approx(s(x))
        assert md.grad(md.grad(softplus))(x).item() == pytest.approx(s(x) * (1 - s(x)))
        assert md.grad(md.grad(md.grad(softplus)))(x).item() == pytest.approx(s(x) * (1 - s(x)) * (1 - 2 * s(x)))


def test_custom_vjp_replaces_the_gradient_and_the_primal_runs_without_grad():
    calls = []

    @md.custom_vjp
    def clip_gradient(x, bound):
        calls.append("primal")
        return x * 1.0

    def forward(x, bound):
        calls.append("forward")
        return x * 1.0, bound

    def backward(bound, g):
        return md.clip(g, -bound, bound), None

    clip_gradient.defvjp(forward, backward)
    assert md.grad(lambda x: 3.0 * clip_gradient(x, 0.5))(2.0).item() == 0.5
    assert calls == ["forward"]
    y = clip_gradient(md.Tensor([1.0]), 0.5)
    assert calls == ["forward", "primal"] and not y.allow_grad


def test_custom_vjp_with_several_inputs_and_backward_called_once(rng):
    calls = []

    @md.custom_vjp
    def mul(x, y):
        return x * y

    def backward(residuals, g):
        calls.append(1)
        x, y = residuals
        return g * y, g * x

    mul.defvjp(lambda x, y: (x * y, (x, y)), backward)
    x, y = rng.standard_normal(3), rng.standard_normal((2, 3))  # broadcast: the engine sums g back
    gradcheck(mul, x, y)
    gradgradcheck(mul, x, y)
    calls.clear()
    a, b = md.Tensor(x, allow_grad=True), md.Tensor(y, allow_grad=True)
    md.sum(mul(a, b)).backward()
    assert calls == [1]  # one backward call serves both inputs


def test_a_failed_backward_can_be_retried_with_the_same_seed():
    failures = [RuntimeError("a backward that fails once")]

    @md.custom_vjp
    def mul(x, y):
        return x * y

    def backward(residuals, g):
        if failures:
            raise failures.pop()
        x, y = residuals
        return g * y, g * x

    mul.defvjp(lambda x, y: (x * y, (x, y)), backward)
    a, b = md.Tensor([2.0], allow_grad=True), md.Tensor([3.0], allow_grad=True)
    out, seed = mul(a, b), md.Tensor([1.0])
    with pytest.raises(RuntimeError, match="fails once"):
        out.backward(grad=seed, retain_graph=True)
    out.backward(grad=seed)
    assert (a.grad.item(), b.grad.item()) == (3.0, 2.0)


def test_nondiff_argnums_are_passed_first_to_backward():
    @functools.partial(md.custom_vjp, nondiff_argnums=(0,))
    def power(n, x):
        return x**n

    def backward(n, x, g):
        return (g * n * x ** (n - 1),)

    power.defvjp(lambda n, x: (x**n, x), backward)
    assert md.grad(lambda x: power(3, x), argnums=0)(2.0).item() == pytest.approx(12.0)
    assert md.grad(md.grad(lambda x: power(3, x)))(2.0).item() == pytest.approx(12.0)
    assert power(2, x=md.Tensor(3.0, allow_grad=True)).item() == 9.0  # keywords go to their positions


def test_the_forward_calling_the_function_gets_the_primal():
    softplus = make_softplus()
    x = md.Tensor([0.0], allow_grad=True)
    softplus(x).sum().backward()
    assert x.grad.item() == pytest.approx(0.5)


def test_jvp_and_hessian_through_a_custom_op():
    softplus = make_softplus()
    _, tangent = md.jvp(softplus, (np.array([0.0, 1.0]),), (np.array([1.0, 2.0]),))
    s = 1 / (1 + np.exp(-np.array([0.0, 1.0])))
    np.testing.assert_allclose(tangent.numpy(), s * [1.0, 2.0])
    hessian = md.hessian(lambda x: md.sum(softplus(x)))(np.array([0.0, 1.0]))
    np.testing.assert_allclose(hessian.numpy(), np.diag(s * (1 - s)))


def test_custom_vjp_errors():
    @md.custom_vjp
    def f(x, y):
        return x * y

    with pytest.raises(TypeError, match="defvjp"):
        f(1.0, 2.0)
    f.defvjp(lambda x, y: (x * y, None), lambda r, g: (g,))
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    with pytest.raises(TypeError, match="1 cotangent.*2 differentiable"):
        md.sum(f(x, x)).backward()
    f.defvjp(lambda x, y: (x * y, None), lambda r, g: (md.ones(5), g))
    with pytest.raises(ValueError, match=r"shape \(5,\) for input 0 of shape \(2,\)"):
        md.sum(f(x, x)).backward()
    f.defvjp(lambda x, y: x * y, lambda r, g: (g, g))
    with pytest.raises(TypeError, match=r"\(out, residuals\)"):
        f(x, x)


def test_create_op_func_against_finite_differences(rng):
    cube = md.create_op_func(lambda x: x**3, lambda g, ans, x: g * 3.0 * x * x, name="cube")
    x = rng.uniform(-2, 2, size=(3, 4))
    gradcheck(cube, x)
    gradgradcheck(cube, x)
    assert cube.__name__ == "cube"
    assert md.grad(md.grad(md.grad(lambda x: cube(x))))(2.0).item() == pytest.approx(6.0)


def test_create_op_func_with_two_operands_and_options(rng):
    def forward(x, y, scale=1.0):
        return scale * np.hypot(x, y)

    hypot = md.create_op_func(
        forward,
        (lambda g, ans, x, y, scale=1.0: g * scale**2 * x / ans, lambda g, ans, x, y, scale=1.0: g * scale**2 * y / ans),
    )
    x, y = rng.uniform(0.5, 2, size=(3, 1)), rng.uniform(0.5, 2, size=(4,))
    gradcheck(lambda a, b: hypot(a, b, scale=2.0), x, y)
    gradgradcheck(lambda a, b: hypot(a, b, scale=2.0), x, y)
    out = hypot(np.array([3.0]), md.Tensor([4.0]), scale=2.0)  # NumPy arrays are operands too
    assert isinstance(out, md.Tensor) and out.item() == 10.0
    with pytest.raises(TypeError, match="takes 2 operand"):
        hypot(md.Tensor([1.0]))


def test_as_minidiff_makes_a_non_differentiable_function():
    argsort = md.as_minidiff(np.argsort)
    x = md.Tensor([3.0, 1.0, 2.0], allow_grad=True)
    order = argsort(x)
    assert isinstance(order, md.Tensor) and not order.allow_grad
    np.testing.assert_array_equal(order.numpy(), [1, 2, 0])
    np.testing.assert_array_equal(md.as_minidiff(np.sort)(md.Tensor([[2.0, 1.0]]), axis=-1).numpy(), [[1.0, 2.0]])
    # its constant output flows on without a gradient: x gets the gradient of the rest only
    (x * md.as_minidiff(np.round)(x)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 1.0, 2.0])


def test_docstring_examples_run():
    result = doctest.testmod(custom)
    assert result.failed == 0 and result.attempted > 10


def test_a_custom_vjp_with_an_integer_result_is_a_constant():
    # as for every op: an integer result never allows grad and records no node
    @md.custom_vjp
    def rounded(x):
        return md.floor(x).astype(np.int64)

    rounded.defvjp(lambda x: (rounded(x), None), lambda residuals, g: (g,))
    x = md.Tensor([1.5, 2.5], allow_grad=True)
    out = rounded(x)
    assert out.dtype == np.int64 and not out.allow_grad and out.node is None


def test_a_custom_vjp_keeps_its_own_copy_of_array_options():
    @functools.partial(md.custom_vjp, nondiff_argnums=(1,))
    def scaled(x, weights):
        return x * md.Tensor(weights)

    scaled.defvjp(lambda x, weights: (scaled(x, weights), None), lambda weights, residuals, g: (g * md.Tensor(weights),))
    weights = np.array([2.0, 3.0])
    x = md.Tensor([1.0, 1.0], allow_grad=True)
    y = scaled(x, weights)
    weights[0] = 100.0  # after the call: backward must use the values the forward used
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 3.0])
