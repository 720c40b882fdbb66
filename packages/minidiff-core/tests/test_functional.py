"""Functional transforms (`md.grad`, `value_and_grad`, `jacobian`, `hessian`, `vjp`, `jvp`,
`hvp`) against closed forms and central finite differences at orders 1 to 3, composed with
each other, with argnums, on every kind of argument, and leaving the caller's `.grad` alone.

Expected values never come from minidiff's own output: closed forms, or finite differences
of NumPy code (or of a lower-order transform, itself checked the same way)."""

from __future__ import annotations

import doctest
import math
import warnings

import numpy as np
import pytest

import minidiff as md
from minidiff import functional, transform_args, vectorized
from minidiff.testing import gradcheck, gradgradcheck

EPS = 1e-5


def numeric_gradient(f, x: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Central differences of `f` (array -> array) at `x`: shape f(x).shape + x.shape."""
    x = np.asarray(x, dtype=np.float64)
    columns = []
    for index in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        columns.append((np.asarray(f(up), dtype=np.float64) - np.asarray(f(down), dtype=np.float64)) / (2 * eps))
    out_shape = np.shape(f(x))
    return np.moveaxis(np.array(columns).reshape(x.shape + out_shape), range(x.ndim), range(-x.ndim, 0)) if x.ndim else columns[0]


def as_numpy(f):
    """A minidiff-valued function of a Tensor as a NumPy function, for finite differences."""
    return lambda x: f(x).numpy()


def f_np(x):
    return np.sum(np.sin(x) * x**2) + np.prod(np.cos(x[:2]))


def f_md(x):
    return md.sum(md.sin(x) * x**2) + md.prod(md.cos(x[:2]))


X = np.array([0.3, -0.7, 1.1, 0.5])


# ---------------------------------------------------------------------------- orders 1 to 3


def test_grad_matches_finite_differences(rng):
    x = rng.uniform(-1.5, 1.5, size=4)
    np.testing.assert_allclose(md.grad(f_md)(x).numpy(), numeric_gradient(f_np, x), rtol=1e-7, atol=1e-8)


def test_scalar_derivatives_of_order_one_to_three_match_closed_forms():
    f = lambda x: md.sin(x) * md.exp(x)  # noqa: E731
    # (e^x sin x)' = e^x (sin + cos), '' = 2 e^x cos, ''' = 2 e^x (cos - sin)
    d1, d2, d3 = md.grad(f), md.grad(md.grad(f)), md.grad(md.grad(md.grad(f)))
    for x in (-1.3, 0.0, 0.4, 2.0):
        e, s, c = np.exp(x), np.sin(x), np.cos(x)
        assert d1(x).item() == pytest.approx(e * (s + c), rel=1e-12)
        assert d2(x).item() == pytest.approx(2 * e * c, rel=1e-12, abs=1e-12)
        assert d3(x).item() == pytest.approx(2 * e * (c - s), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_each_order_is_the_finite_difference_of_the_one_below(order):
    f = lambda x: md.tanh(x) * x**3 + md.log1p(x * x)  # noqa: E731
    lower = f
    for _ in range(order - 1):
        lower = md.grad(lower)
    derivative = md.grad(lower)
    for x in (-0.8, 0.3, 1.2):
        expected = (lower(x + EPS).item() - lower(x - EPS).item()) / (2 * EPS)
        assert derivative(x).item() == pytest.approx(expected, rel=1e-6, abs=1e-7)


def test_hessian_matches_finite_differences_of_the_gradient():
    hessian = md.hessian(f_md)(X).numpy()
    expected = numeric_gradient(as_numpy(md.grad(f_md)), X)
    assert hessian.shape == (4, 4)
    np.testing.assert_allclose(hessian, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(hessian, hessian.T, rtol=1e-12, atol=1e-12)


def test_third_order_tensor_is_the_jacobian_of_the_hessian():
    third = md.jacobian(md.hessian(f_md))(X).numpy()
    expected = numeric_gradient(as_numpy(md.hessian(f_md)), X)
    assert third.shape == (4, 4, 4)
    np.testing.assert_allclose(third, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(third, np.transpose(third, (1, 2, 0)), rtol=1e-10, atol=1e-10)


def test_grad_results_are_differentiable_when_the_input_allows_grad():
    # gradcheck passes Tensors that allow grad and differentiates md.grad(f)'s output
    gradcheck(md.grad(f_md), X)
    gradgradcheck(md.grad(f_md), X)


def test_jacobian_has_shape_out_plus_input_and_matches_finite_differences(rng):
    x = rng.uniform(-1.0, 1.0, size=(2, 3))
    f = lambda x: md.sin(x).T @ x  # (3, 3) from (2, 3)  # noqa: E731
    jac = md.jacobian(f)(x)
    assert jac.shape == (3, 3, 2, 3)
    np.testing.assert_allclose(jac.numpy(), numeric_gradient(as_numpy(f), x), rtol=1e-7, atol=1e-8)


def test_jacobian_of_a_constant_or_empty_output_is_zeros():
    with pytest.warns(functional.IndependentOutputWarning):
        jac = md.jacobian(lambda x: md.ones(3))(np.ones(2))
    assert jac.shape == (3, 2) and not jac.numpy().any()
    assert md.jacobian(lambda x: x[:0])(np.ones(2)).shape == (0, 2)


def test_jacobian_with_tuple_argnums_and_tuple_outputs():
    f = lambda x, y: (x * y, md.sum(x) + y)  # noqa: E731
    x, y = np.array([1.0, 2.0]), 3.0
    (jxx, jxy), (jsx, jsy) = md.jacobian(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(jxx.numpy(), 3.0 * np.eye(2))
    np.testing.assert_allclose(jxy.numpy(), x)
    np.testing.assert_allclose(jsx.numpy(), [1.0, 1.0])
    assert jsy.item() == 1.0 and jsy.shape == ()


def test_hessian_blocks_with_tuple_argnums():
    f = lambda x, y: md.sum(x**2 * y**3)  # noqa: E731
    x, y = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    (hxx, hxy), (hyx, hyy) = md.hessian(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(hxx.numpy(), np.diag(2 * y**3))
    np.testing.assert_allclose(hxy.numpy(), np.diag(6 * x * y**2))
    np.testing.assert_allclose(hyx.numpy(), np.diag(6 * x * y**2))
    np.testing.assert_allclose(hyy.numpy(), np.diag(6 * x**2 * y))


# ---------------------------------------------------------------------------- vjp, jvp, hvp


def g_md(x, y):
    return md.sin(x) * y + x**2


def test_vjp_is_the_cotangent_times_the_jacobian(rng):
    x, y = rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 3)
    out, vjp_fn = md.vjp(g_md, x, y)
    np.testing.assert_allclose(out.numpy(), np.sin(x) * y + x**2)
    assert not out.allow_grad
    for _ in range(2):  # the forward ran once; the VJP can be taken many times
        u = rng.standard_normal(3)
        gx, gy = vjp_fn(u)
        np.testing.assert_allclose(gx.numpy(), u @ numeric_gradient(lambda a: g_md(a, y).numpy(), x), rtol=1e-7)
        np.testing.assert_allclose(gy.numpy(), u @ numeric_gradient(lambda b: g_md(x, b).numpy(), y), rtol=1e-7)


def test_vjp_of_a_tuple_output_takes_a_tuple_of_cotangents():
    _, vjp_fn = md.vjp(lambda x: (x * 2.0, md.sum(x**2)), np.array([1.0, 2.0]))
    (gx,) = vjp_fn((np.array([1.0, 1.0]), 1.0))
    np.testing.assert_allclose(gx.numpy(), [2.0 + 2.0, 2.0 + 4.0])
    with pytest.raises(ValueError, match="shape"):
        vjp_fn((np.ones(3), 1.0))


def test_jvp_is_the_jacobian_times_the_tangent(rng):
    x, y = rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 3)
    vx, vy = rng.standard_normal(3), rng.standard_normal(3)
    out, tangent = md.jvp(g_md, (x, y), (vx, vy))
    jx = numeric_gradient(lambda a: g_md(a, y).numpy(), x)
    jy = numeric_gradient(lambda b: g_md(x, b).numpy(), y)
    np.testing.assert_allclose(out.numpy(), np.sin(x) * y + x**2)
    np.testing.assert_allclose(tangent.numpy(), jx @ vx + jy @ vy, rtol=1e-7, atol=1e-9)


def test_jvp_of_a_function_that_ignores_its_input_is_zero():
    with pytest.warns(functional.IndependentOutputWarning):
        out, tangent = md.jvp(lambda x: md.ones(2) * 3.0, (np.ones(2),), (np.ones(2),))
    np.testing.assert_array_equal(tangent.numpy(), [0.0, 0.0])


def test_jvp_of_several_outputs_sharing_an_intermediate():
    f = lambda x: ((s := md.exp(x)) * 1.0, s * 2.0, md.sin(s))  # noqa: E731
    x, v = np.array([0.3, -0.7]), np.array([1.0, 2.0])
    _, (t1, t2, t3) = md.jvp(f, (x,), (v,))
    np.testing.assert_allclose(t1.numpy(), np.exp(x) * v)
    np.testing.assert_allclose(t2.numpy(), 2 * np.exp(x) * v)
    np.testing.assert_allclose(t3.numpy(), np.cos(np.exp(x)) * np.exp(x) * v)
    # and recorded, under an enclosing transform: d/dx of the second tangent along v = 1
    second = md.grad(lambda x: md.sum(md.jvp(f, (x,), (np.ones(2),))[1][1]))(x)
    np.testing.assert_allclose(second.numpy(), 2 * np.exp(x))


def test_hvp_is_the_hessian_times_the_tangent(rng):
    x, v = rng.uniform(-1, 1, 4), rng.standard_normal(4)
    value, hv = md.hvp(f_md, x, v)
    assert value.item() == pytest.approx(f_np(x))
    np.testing.assert_allclose(hv.numpy(), numeric_gradient(as_numpy(md.grad(f_md)), x) @ v, rtol=1e-6, atol=1e-7)
    _, (hx, hy) = md.hvp(lambda a, b: md.sum(a**2 * b), (np.array([1.0]), np.array([2.0])), (np.array([1.0]), np.array([0.0])))
    assert hx.item() == pytest.approx(4.0) and hy.item() == pytest.approx(2.0)


# ---------------------------------------------------------------------------- composition


def test_transforms_compose():
    x = np.array([0.4, -0.3])
    # the gradient of a JVP is the Hessian applied to the tangent
    v = np.array([1.0, 2.0])
    grad_of_jvp = md.grad(lambda x: md.jvp(md.grad(f_md), (x,), (v,))[1] @ np.array([1.0, -1.0]))(x)
    third = md.jacobian(md.hessian(f_md))(x).numpy()
    np.testing.assert_allclose(grad_of_jvp.numpy(), np.einsum("ijk,j,i->k", third, v, [1.0, -1.0]), rtol=1e-9)
    # jacobian(grad) is hessian; grad of a vjp; value_and_grad inside grad
    np.testing.assert_allclose(md.jacobian(md.grad(f_md))(x).numpy(), md.hessian(f_md)(x).numpy())
    grad_of_vjp = md.grad(lambda x: md.sum(md.vjp(lambda z: z**3, x)[1](np.ones(2))[0]))(x)
    np.testing.assert_allclose(grad_of_vjp.numpy(), 6 * x)
    inner = lambda x: md.value_and_grad(lambda z: md.sum(z**3))(x)[1].sum()  # noqa: E731
    np.testing.assert_allclose(md.grad(inner)(x).numpy(), 6 * x)


def test_an_inner_grad_over_an_outer_variable_is_not_confused():
    # d/dx [x * d/dy (x y)] = d/dx x^2 = 2x: the inner grad must not differentiate x
    assert md.grad(lambda x: x * md.grad(lambda y: x * y)(1.0))(3.0).item() == pytest.approx(6.0)
    # d/dx [d/dy (x y) at y = x] = d/dx x = 1, although the same value flows into both
    assert md.grad(lambda x: md.grad(lambda y: x * y)(x))(3.0).item() == pytest.approx(1.0)


def test_argnums_tuple_and_the_same_tensor_twice():
    f = lambda x, y, z: md.sum(x * y**2) + z  # noqa: E731
    gx, gy = md.grad(f, argnums=(0, 1))([1.0, 2.0], [3.0, 4.0], 5.0)
    np.testing.assert_allclose(gx.numpy(), [9.0, 16.0])
    np.testing.assert_allclose(gy.numpy(), [6.0, 16.0])
    assert md.grad(f, argnums=-1)(1.0, 1.0, 5.0).item() == 1.0
    t = md.Tensor([1.0, 2.0], allow_grad=True)
    ga, gb = md.grad(lambda a, b: md.sum(a * b**2), argnums=(0, 1))(t, t)  # separate partials
    np.testing.assert_allclose(ga.numpy(), [1.0, 4.0])
    np.testing.assert_allclose(gb.numpy(), [2.0, 8.0])


@pytest.mark.parametrize("argnums, error", [((), ValueError), ((0, 0), ValueError), ("x", TypeError), (3, ValueError)])
def test_bad_argnums(argnums, error):
    with pytest.raises(error, match="argnums"):
        md.grad(lambda x: md.sum(x), argnums=argnums)(1.0)


def test_value_and_grad():
    value, (gx, gy) = md.value_and_grad(lambda x, y: md.sum(x * y), argnums=(0, 1))([1.0, 2.0], [3.0, 4.0])
    assert value.item() == 11.0 and not value.allow_grad
    np.testing.assert_allclose(gx.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(gy.numpy(), [1.0, 2.0])


# ---------------------------------------------------------------------------- arguments and errors


@pytest.mark.parametrize(
    "arg, expected",
    [
        (1.5, 3.0),
        (2, 4.0),  # an int argument is differentiated as a float
        (np.float64(0.5), 1.0),
        ([1.0, 2.0], [2.0, 4.0]),
        (np.array([[1.0], [3.0]]), [[2.0], [6.0]]),
        (md.Tensor([1.0, -1.0]), [2.0, -2.0]),
        (md.Tensor([1, 2]), [2.0, 4.0]),
    ],
)
def test_arguments_may_be_tensors_arrays_lists_and_numbers(arg, expected):
    g = md.grad(lambda x: md.sum(x * x))(arg)
    assert isinstance(g, md.Tensor) and g.dtype == np.float64
    np.testing.assert_allclose(g.numpy(), expected)


def test_grad_of_a_non_scalar_function_points_to_jacobian_and_vjp():
    with pytest.raises(ValueError, match=r"shape \(3,\).*md\.jacobian.*md\.vjp"):
        md.grad(lambda x: x * 2.0)(np.ones(3))
    with pytest.raises(TypeError, match="md.jacobian"):
        md.grad(lambda x: (md.sum(x), md.sum(x)))(np.ones(3))
    with pytest.raises(TypeError, match="floating-point"):
        md.grad(lambda x: md.argmax(x))(np.ones(3))
    with pytest.raises(ValueError, match="tangent of shape"):
        md.jvp(lambda x: x, (np.ones(3),), (np.ones(2),))
    with pytest.raises(ValueError, match="1 primal"):
        md.jvp(lambda x: x, (np.ones(3),), (np.ones(3), np.ones(3)))


def test_a_size_one_output_counts_as_scalar():
    assert md.grad(lambda x: (x * x).reshape(1, 1))(3.0).item() == 6.0


def test_the_callers_grad_is_left_alone():
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    w = md.Tensor([3.0, 4.0], allow_grad=True)
    x.grad, w.grad = md.Tensor([7.0, 7.0]), md.Tensor([8.0, 8.0])
    f = lambda x: md.sum(w * x**2)  # noqa: E731
    for transform in (md.grad(f), md.hessian(f), md.jacobian(lambda x: w * x), lambda x: md.hvp(f, x, np.ones(2))):
        transform(x)
        transform(x.numpy())
    md.vjp(lambda x: w * x, x)[1](np.ones(2))
    md.jvp(lambda x: w * x, (x,), (np.ones(2),))
    np.testing.assert_array_equal(x.grad.numpy(), [7.0, 7.0])
    np.testing.assert_array_equal(w.grad.numpy(), [8.0, 8.0])


def test_results_carry_a_graph_only_when_something_outside_needs_it():
    # from plain values: plain results, so calling md.grad in a loop does not grow a graph
    g = md.grad(lambda x: md.sum(x**3))(np.array([1.0, 2.0]))
    assert not g.allow_grad and g.node is None
    # from a tensor that allows grad: the gradient is a function of it, ready for backward
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    g = md.grad(lambda x: md.sum(x**3))(x)
    assert g.allow_grad
    md.sum(g).backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])
    # a closed-over tensor counts too
    w = md.Tensor(2.0, allow_grad=True)
    md.grad(lambda x: md.sum(w * x**2))(np.array([1.0, 3.0])).sum().backward()
    assert w.grad.item() == pytest.approx(8.0)


def test_under_no_grad_results_are_plain_and_the_callers_graph_survives():
    w = md.Tensor([1.0, 2.0], allow_grad=True)
    h = w * 2.0
    with md.no_grad():
        g = md.grad(lambda x: md.sum(h * x**2))(np.ones(2))
        second = md.grad(md.grad(lambda x: x**3))(2.0)
    assert not g.allow_grad and second.item() == pytest.approx(12.0)
    np.testing.assert_allclose(g.numpy(), [4.0, 8.0])
    md.sum(h).backward()  # h's graph was not freed by the transform
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 2.0])


def test_a_transform_in_a_loop_does_not_chain_graphs():
    p = np.array([0.5, 0.5])
    for _ in range(5):
        p = p - 0.1 * md.grad(lambda x: md.sum(x**2))(p)
    assert isinstance(p, md.Tensor) and not p.allow_grad and p.node is None


# ---------------------------------------------------------------------------- vectorized=True


def rosenbrock(x):
    """Written for a leading batch axis (`...`, axis=-1), as vectorized=True needs."""
    return md.sum(100.0 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1.0 - x[..., :-1]) ** 2, axis=-1)


def rosenbrock_hessian(x: np.ndarray) -> np.ndarray:
    """The closed form, tridiagonal: term i, 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2, gives
    d2/dx[i]^2 = 1200 x[i]^2 - 400 x[i+1] + 2, d2/dx[i+1]^2 = 200, d2/dx[i]dx[i+1] = -400 x[i]."""
    diagonal = np.zeros_like(x)
    diagonal[:-1] += 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    diagonal[1:] += 200.0
    off = -400.0 * x[:-1]
    return np.diag(diagonal) + np.diag(off, 1) + np.diag(off, -1)


def sin_x2(x):
    return md.sum(md.sin(x) * x**2, axis=-1)


V = np.array([0.5, -1.0, 2.0])


def matrix_input(w):
    """A scalar function of a (2, 3) matrix, through a matrix-vector product."""
    return md.sum(md.tanh(w @ V) ** 2, axis=-1) + md.sum(md.sin(w) * w, axis=(-2, -1))


@pytest.mark.parametrize("n", [2, 7, 50])
def test_vectorized_hessian_of_rosenbrock_is_the_closed_form(rng, n):
    x = rng.uniform(-1.5, 1.5, n)
    hessian = md.hessian(rosenbrock, vectorized=True)(x)
    assert hessian.shape == (n, n) and hessian.dtype == np.float64 and not hessian.allow_grad
    np.testing.assert_allclose(hessian.numpy(), rosenbrock_hessian(x), rtol=1e-12, atol=1e-10)


def test_vectorized_results_in_several_chunks(rng, monkeypatch):
    # room for three stacked copies of a (7,) float64 input: rows in chunks of 3, 3 and 1
    monkeypatch.setattr(vectorized, "_CHUNK_BYTES", 3 * 7 * 8)
    x = rng.uniform(-1.5, 1.5, 7)
    assert vectorized._chunks(7, [md.Tensor(x)]) == [(0, 3), (3, 3), (6, 1)]
    np.testing.assert_allclose(
        md.hessian(rosenbrock, vectorized=True)(x).numpy(), rosenbrock_hessian(x), rtol=1e-12, atol=1e-10
    )
    f = lambda x: md.sin(x[..., 1:]) * x[..., :-1]  # noqa: E731
    np.testing.assert_allclose(md.jacobian(f)(x).numpy(), md.jacobian(f, vectorized=False)(x).numpy(), rtol=1e-14)


@pytest.mark.parametrize(
    "f, shape", [(sin_x2, (5,)), (matrix_input, (2, 3)), (lambda x: md.prod(md.cos(x), axis=-1), (4,))]
)
def test_vectorized_hessian_equals_the_row_by_row_one(rng, f, shape):
    x = rng.uniform(-1.0, 1.0, shape)
    vectorized = md.hessian(f, vectorized=True)(x).numpy()
    assert vectorized.shape == shape + shape
    np.testing.assert_allclose(vectorized, md.hessian(f, vectorized=False)(x).numpy(), rtol=1e-12, atol=1e-12)
    expected = numeric_gradient(as_numpy(md.grad(lambda x: md.sum(f(x)))), x)
    np.testing.assert_allclose(vectorized, expected, rtol=1e-6, atol=1e-7)


def test_vectorized_jacobian_equals_the_row_by_row_one(rng):
    a = rng.uniform(-1.0, 1.0, (2, 3))
    gram = lambda a: a @ md.swapaxes(a, -1, -2)  # (2, 2) from (2, 3)  # noqa: E731
    jac = md.jacobian(gram, vectorized=True)(a)
    assert jac.shape == (2, 2, 2, 3)
    np.testing.assert_allclose(jac.numpy(), md.jacobian(gram, vectorized=False)(a).numpy(), rtol=1e-14)
    np.testing.assert_allclose(jac.numpy(), numeric_gradient(as_numpy(gram), a), rtol=1e-7, atol=1e-9)
    # a scalar output: the Jacobian is the gradient
    np.testing.assert_allclose(
        md.jacobian(sin_x2, vectorized=True)(a[0]).numpy(), md.grad(sin_x2)(a[0]).numpy(), rtol=1e-14
    )


def test_vectorized_with_tuple_argnums_tuple_outputs_and_unstacked_arguments():
    x, y, w = np.array([1.0, 2.0]), np.array([0.5, -1.0, 3.0]), np.array([2.0, 3.0])
    f = lambda x, y: (x[..., :, None] * y[..., None, :], md.sum(x**2, axis=-1) * y[..., 0])  # noqa: E731
    vectorized = md.jacobian(f, argnums=(0, 1), vectorized=True)(x, y)
    for got_blocks, expected_blocks in zip(vectorized, md.jacobian(f, argnums=(0, 1), vectorized=False)(x, y)):
        for got, expected in zip(got_blocks, expected_blocks):
            assert got.shape == expected.shape
            np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-14)
    g = lambda x, y: md.sum(x**2 * y[..., :2] ** 3, axis=-1)  # noqa: E731
    (hxx, hxy), (hyx, hyy) = md.hessian(g, argnums=(0, 1), vectorized=True)(x, y)
    np.testing.assert_allclose(hxx.numpy(), np.diag(2 * y[:2] ** 3))
    np.testing.assert_allclose(hxy.numpy(), np.c_[np.diag(6 * x * y[:2] ** 2), [0.0, 0.0]])
    np.testing.assert_allclose(hyx.numpy(), hxy.numpy().T)
    np.testing.assert_allclose(hyy.numpy(), np.diag([*(6 * x**2 * y[:2]), 0.0]))
    # the argument that is not differentiated is passed as it is, not stacked
    h = md.hessian(lambda x, w: md.sum(w * x**3, axis=-1), vectorized=True)(x, w)
    np.testing.assert_allclose(h.numpy(), np.diag(6 * w * x))


@pytest.mark.parametrize(
    "f",
    [
        # written for one example, not for a leading batch axis: md.vmap batches them anyway
        lambda x: md.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2),
        lambda x: md.sum(x**3, axis=0),
        lambda x: md.sum(x**3) * md.sum(md.ones(x.shape[:-1])),
    ],
)
def test_any_function_gets_the_row_by_row_hessian(f):
    x = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    np.testing.assert_allclose(md.hessian(f)(x).numpy(), md.hessian(f, vectorized=False)(x).numpy(), rtol=1e-13)


def test_any_function_gets_the_row_by_row_jacobian():
    x = np.array([1.0, 2.0, 4.0])
    a = np.arange(9.0).reshape(3, 3)
    for f in (lambda x: x - md.mean(x, axis=0), lambda x: md.Tensor(a) @ x, lambda x: x @ md.Tensor(a.T)):
        np.testing.assert_allclose(md.jacobian(f)(x).numpy(), md.jacobian(f, vectorized=False)(x).numpy(), rtol=1e-14)
    np.testing.assert_allclose(md.jacobian(lambda x: md.Tensor(a) @ x)(x).numpy(), a)
    with pytest.raises(ValueError, match="scalar output"):
        md.hessian(lambda x: x * 2.0)(x)
    with pytest.raises(TypeError):
        md.hessian(rosenbrock, 0, True)  # keyword-only


def test_vectorized_hessian_at_higher_order(rng):
    x = rng.uniform(-1.0, 1.0, 4)
    third = md.jacobian(md.hessian(rosenbrock, vectorized=True))(x).numpy()
    np.testing.assert_allclose(third, numeric_gradient(rosenbrock_hessian, x), rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(
        md.jacobian(md.hessian(sin_x2))(x).numpy(), md.jacobian(md.hessian(sin_x2, vectorized=False), vectorized=False)(x).numpy(),
        rtol=1e-12, atol=1e-12,
    )
    gradcheck(md.hessian(sin_x2, vectorized=True), x)
    gradcheck(md.jacobian(lambda x: md.sin(x) * x[..., ::-1], vectorized=True), x)


def test_vectorized_results_carry_a_graph_only_when_something_outside_needs_it():
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    h = md.hessian(lambda x: md.sum(x**4, axis=-1), vectorized=True)(x)  # diag(12 x^2)
    assert h.allow_grad
    md.sum(h).backward()
    np.testing.assert_allclose(x.grad.numpy(), [24.0, 48.0])
    w = md.Tensor([2.0, 3.0], allow_grad=True)
    h = md.hessian(lambda x: md.sum(w * x**3, axis=-1), vectorized=True)(np.array([1.0, -1.0]))
    md.sum(h).backward()  # the sum of diag(6 w x) is 6 <w, x>
    np.testing.assert_allclose(w.grad.numpy(), [6.0, -6.0])
    plain = md.hessian(rosenbrock, vectorized=True)(np.ones(3))
    assert not plain.allow_grad and plain.node is None
    # under no_grad: a plain result, and the caller's graph that f closes over survives
    v = md.Tensor([1.0, 2.0], allow_grad=True)
    u = v * 2.0
    with md.no_grad():
        j = md.jacobian(lambda x: u * x**2, vectorized=True)(np.ones(2))
    assert not j.allow_grad
    np.testing.assert_allclose(j.numpy(), np.diag([4.0, 8.0]))
    md.sum(u).backward()
    np.testing.assert_allclose(v.grad.numpy(), [2.0, 2.0])


def test_vectorized_of_an_empty_input():
    assert md.hessian(lambda x: md.sum(x**2, axis=-1), vectorized=True)(np.ones(0)).shape == (0, 0)
    assert md.jacobian(lambda x: x[..., :0], vectorized=True)(np.ones(2)).shape == (0, 2)


def test_gradients_share_no_array_with_each_other():
    gx, gy = md.grad(lambda x, y: md.sum(x + y), argnums=(0, 1))(np.ones(3), np.ones(3))
    assert not np.shares_memory(gx.numpy(), gy.numpy())
    _, vjp_fn = md.vjp(lambda x, y: x + y, np.ones(3), np.ones(3))
    seed = md.Tensor(np.ones(3))
    vx, vy = vjp_fn(seed)
    arrays = [seed.numpy(), vx.numpy(), vy.numpy()]
    assert not any(np.shares_memory(p, q) for i, p in enumerate(arrays) for q in arrays[i + 1 :])


# ---------------------------------------------------------------------------- output independent of the input

LEAVES_THE_GRAPH = lambda x: md.Tensor(math.sin(float(x[0])))  # noqa: E731  (float() leaves the graph)

INDEPENDENT = {
    "grad": lambda: md.grad(lambda x: math.sin(x))(1.0),
    "grad of .item()": lambda: md.grad(lambda x: md.Tensor(x.item()) * 2.0)(1.0),
    "value_and_grad": lambda: md.value_and_grad(lambda x: md.Tensor(float(x)))(1.0),
    "grad, argnums=1": lambda: md.grad(lambda x, y: x * 2.0, argnums=1)(1.0, 2.0),
    "jacobian": lambda: md.jacobian(LEAVES_THE_GRAPH)(np.ones(2)),
    "jacobian, vectorized": lambda: md.jacobian(lambda x: md.ones(x.shape[:-1] + (1,)), vectorized=True)(np.ones(2)),
    "hessian": lambda: md.hessian(LEAVES_THE_GRAPH)(np.ones(2)),
    "hessian, vectorized": lambda: md.hessian(lambda x: md.sum(md.ones(x.shape), axis=-1), vectorized=True)(np.ones(2)),
    "vjp": lambda: md.vjp(LEAVES_THE_GRAPH, np.ones(2)),
    "jvp": lambda: md.jvp(LEAVES_THE_GRAPH, (np.ones(2),), (np.ones(2),)),
    "hvp": lambda: md.hvp(LEAVES_THE_GRAPH, np.ones(2), np.ones(2)),
}


@pytest.mark.parametrize("call", INDEPENDENT.values(), ids=INDEPENDENT.keys())
def test_an_output_independent_of_the_input_warns(call):
    with pytest.warns(md.IndependentOutputWarning, match="output seems independent of input") as caught:
        call()
    assert md.IndependentOutputWarning is functional.IndependentOutputWarning
    assert issubclass(md.IndependentOutputWarning, UserWarning)
    assert len(caught) == 1  # once per call, not per row or per output
    assert caught[0].filename == __file__  # pointing at the caller's line
    assert "float(t), t.item() and math.*" in str(caught[0].message)


DEPENDENT = {
    "grad": lambda: md.grad(lambda x: md.sin(x))(1.0),
    "one of two argnums used": lambda: md.grad(lambda x, y: x * 2.0, argnums=(0, 1))(1.0, 2.0),
    "the identity": lambda: md.grad(lambda x: md.sum(x))(np.ones(2)),
    "hessian of a linear function": lambda: md.hessian(lambda x: md.sum(3.0 * x))(np.ones(2)),
    "vectorized hessian of a linear function": lambda: md.hessian(
        lambda x: md.sum(3.0 * x, axis=-1), vectorized=True
    )(np.ones(2)),
    "nested": lambda: md.grad(md.grad(lambda x: x**3))(1.0),
    "one output of two": lambda: md.jacobian(lambda x: (x * 2.0, md.ones(2)))(np.ones(2)),
    "jvp": lambda: md.jvp(lambda x: x * 2.0, (np.ones(2),), (np.ones(2),)),
    "a tensor passed in": lambda: md.grad(lambda x: x * 2.0)(md.Tensor(1.0, allow_grad=True)),
}


@pytest.mark.parametrize("call", DEPENDENT.values(), ids=DEPENDENT.keys())
def test_an_output_that_depends_on_the_input_does_not_warn(call):
    with warnings.catch_warnings():
        warnings.simplefilter("error", functional.IndependentOutputWarning)
        call()


def test_docstring_examples_run():
    result = doctest.testmod(functional, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 10
    result = doctest.testmod(transform_args, optionflags=doctest.ELLIPSIS)  # IndependentOutputWarning's
    assert result.failed == 0 and result.attempted > 0
