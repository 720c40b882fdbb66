"""The special functions and activations (`minidiff.ops.special`) beyond the conformance
kit (test_conformance.py): values and gradients at kinks and jumps, NumPy's edge cases (NaN,
infinities, signed zeros), accuracy, call forms and NumPy interop."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minidiff as md
from minidiff.testing import gradcheck


def _grad(f, x):
    """d f / d x, elementwise, for an elementwise f (the gradient of sum(f(x)))."""
    return md.grad(lambda t: md.sum(f(t)))(md.Tensor(np.asarray(x, dtype=float), allow_grad=True)).numpy()


def _second(f, x):
    inner = md.grad(lambda t: md.sum(f(t)))
    return md.grad(lambda t: md.sum(inner(t)))(md.Tensor(np.asarray(x, dtype=float), allow_grad=True)).numpy()


# ---------------------------------------------------------------------------- sinc


def test_sinc_is_one_at_zero_with_every_derivative_right_there():
    assert md.sinc(md.Tensor(0.0)).item() == 1.0
    assert _grad(md.sinc, [0.0]) == [0.0]
    # sinc(x) = 1 - (πx)²/6 + ..., so sinc''(0) = -π²/3 and sinc'''(0) = 0
    np.testing.assert_allclose(_second(md.sinc, [0.0, 1e-9, -1e-5]), -math.pi**2 / 3, rtol=1e-9)
    third = md.grad(lambda t: md.sum(md.grad(lambda u: md.sum(md.grad(lambda v: md.sum(md.sinc(v)))(u)))(t)))
    assert abs(third(md.Tensor([0.0], allow_grad=True)).numpy()[0]) < 1e-12


@pytest.mark.parametrize("x", [0.0999, 0.1, 0.1001, -0.3, 0.7, 2.5])
def test_sinc_derivatives_match_their_closed_forms_on_both_sides_of_the_series(x):
    # f = sin(πx)/(πx): f' = (cos(πx) - f)/x and, from x f = sin(πx)/π, f'' = -π² f - 2 f'/x.
    f = math.sin(math.pi * x) / (math.pi * x)
    slope = (math.cos(math.pi * x) - f) / x
    np.testing.assert_allclose(_grad(md.sinc, [x]), slope, rtol=1e-12)
    np.testing.assert_allclose(_second(md.sinc, [x]), -math.pi**2 * f - 2 * slope / x, rtol=1e-8)


# ---------------------------------------------------------------------------- kinks and NaN rules


def test_relu_gradient_is_zero_at_zero():
    np.testing.assert_array_equal(_grad(md.relu, [-1.0, 0.0, 2.0]), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(md.relu(md.Tensor([-1.0, 0.0, np.nan, 3.0])).numpy(), [0.0, 0.0, np.nan, 3.0])
    assert md.relu(md.Tensor([-2, 3])).dtype == np.int64


def test_heaviside_gives_x2_at_zero_and_its_gradient_only_there():
    x1 = md.Tensor([-1.5, 0.0, 2.0, np.nan], allow_grad=True)
    x2 = md.Tensor([0.25, 0.25, 0.25, 0.25], allow_grad=True)
    out = md.heaviside(x1, x2)
    np.testing.assert_array_equal(out.numpy(), [0.0, 0.25, 1.0, np.nan])
    md.sum(out[:3]).backward()
    np.testing.assert_array_equal(x1.grad.numpy(), [0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(x2.grad.numpy(), [0.0, 1.0, 0.0, 0.0])


def test_fmax_and_fmin_ignore_nan_and_send_the_gradient_to_the_number():
    a = np.array([1.0, 2.0, np.nan, np.nan, 3.0, -1.0])
    b = np.array([1.0, 1.0, 2.0, np.nan, np.nan, 4.0])
    for name, x_share, y_share in (
        # tie, x wins, x NaN, both NaN, y NaN, y wins (fmax); fmin swaps the last row's winner
        ("fmax", [0.5, 1, 0, 1, 1, 0], [0.5, 0, 1, 0, 0, 1]),
        ("fmin", [0.5, 0, 0, 1, 1, 1], [0.5, 1, 1, 0, 0, 0]),
    ):
        x, y = md.Tensor(a, allow_grad=True), md.Tensor(b, allow_grad=True)
        out = getattr(md, name)(x, y)
        np.testing.assert_array_equal(out.numpy(), getattr(np, name)(a, b))
        out.backward()
        np.testing.assert_array_equal(x.grad.numpy(), x_share, err_msg=name)
        np.testing.assert_array_equal(y.grad.numpy(), y_share, err_msg=name)


def test_copysign_follows_signed_zeros_and_has_gradient_zero_at_zero():
    x1 = np.array([0.0, -0.0, 1.5, -2.0, 0.0, 3.0])
    x2 = np.array([1.0, -1.0, -2.0, 3.0, -0.0, np.nan])
    got = md.copysign(md.Tensor(x1), md.Tensor(x2)).numpy()
    np.testing.assert_array_equal(np.signbit(got), np.signbit(np.copysign(x1, x2)))
    np.testing.assert_array_equal(got, np.copysign(x1, x2))
    np.testing.assert_array_equal(_grad(lambda t: md.copysign(t, md.Tensor(x2[:5])), x1[:5]), [0.0, 0.0, -1.0, -1.0, 0.0])


def test_nan_to_num_defaults_and_its_gradient_at_replaced_values():
    values = np.array([np.nan, np.inf, -np.inf, 1.5, -2.0])
    x = md.Tensor(values, allow_grad=True)
    out = md.nan_to_num(x)
    np.testing.assert_array_equal(out.numpy(), [0.0, np.finfo(np.float64).max, -np.finfo(np.float64).max, 1.5, -2.0])
    (out * md.Tensor([1.0, 0.0, 0.0, 1.0, 1.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0, 1.0, 1.0])
    assert md.nan_to_num(x, copy=False) is not x  # always a new tensor
    np.testing.assert_array_equal(md.nan_to_num(x, True, 7.0).numpy()[0], 7.0)  # NumPy's positional order
    np.testing.assert_array_equal(md.nan_to_num(md.Tensor([1, 2])).numpy(), [1, 2])


def test_float_power_is_float64_and_its_gradient_keeps_the_input_dtype():
    x = md.Tensor(np.array([0.5, 2.0], dtype=np.float32), allow_grad=True)
    out = md.float_power(x, 3)
    assert out.dtype == np.float64
    out.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.array([0.5, 2.0]) ** 2, rtol=1e-6)
    # 0 ** y is constant (0) for y > 0, so its y-derivative is 0 there
    y = md.Tensor([2.0, 0.5], allow_grad=True)
    md.float_power(md.Tensor([0.0, 0.0]), y).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [0.0, 0.0])


def test_ldexp_gradient_is_two_to_the_exponent():
    exponents = np.array([3, -2, 0, 10])
    np.testing.assert_array_equal(
        _grad(lambda t: md.ldexp(t, exponents), [0.0, 1.5, -2.0, 3.0]), 2.0 ** exponents
    )
    x32 = np.array([1.0, 3.0], dtype=np.float32)
    assert md.ldexp(md.Tensor(x32), np.array([1, 2])).dtype == np.ldexp(x32, np.array([1, 2])).dtype


def test_true_divide_is_divide():
    a, b = np.array([1.0, -3.0]), np.array([4.0, 2.0])
    np.testing.assert_array_equal(md.true_divide(md.Tensor(a), md.Tensor(b)).numpy(), a / b)
    np.testing.assert_array_equal(_grad(lambda t: md.true_divide(t, md.Tensor(b)), a), 1 / b)


# ---------------------------------------------------------------------------- large arguments


def test_logaddexp2_and_sigmoid_do_not_overflow():
    np.testing.assert_array_equal(md.logaddexp2(md.Tensor([1000.0, -1000.0]), md.Tensor([1000.0, -1000.0])).numpy(), [1001.0, -999.0])
    np.testing.assert_array_equal(md.sigmoid(md.Tensor([-800.0, 800.0])).numpy(), [0.0, 1.0])
    # σ'(x) = e^-x / (1 + e^-x)²: relatively accurate far in the tail, where 1 - σ(x) is 0
    np.testing.assert_allclose(_grad(md.sigmoid, [40.0, -40.0]), math.exp(-40.0) / (1 + math.exp(-40.0)) ** 2, rtol=1e-14)


def test_softmax_axis_default_is_the_last_and_none_means_all():
    x = np.log(np.array([[1.0, 3.0], [2.0, 2.0]]))
    np.testing.assert_allclose(md.softmax(md.Tensor(x)).numpy(), [[0.25, 0.75], [0.5, 0.5]], rtol=1e-15)
    np.testing.assert_allclose(md.softmax(md.Tensor(x), axis=0).numpy(), [[1 / 3, 0.6], [2 / 3, 0.4]], rtol=1e-15)
    np.testing.assert_allclose(md.softmax(md.Tensor(x), axis=None).numpy(), [[0.125, 0.375], [0.25, 0.25]], rtol=1e-15)
    np.testing.assert_allclose(md.log_softmax(md.Tensor(x), None).numpy(), np.log([[0.125, 0.375], [0.25, 0.25]]), rtol=1e-14)


def test_softmax_and_log_softmax_are_stable_for_large_inputs():
    x = np.array([[1000.0, 1000.0 + math.log(3.0)], [-1000.0, -1000.0]])
    np.testing.assert_allclose(md.softmax(md.Tensor(x)).numpy(), [[0.25, 0.75], [0.5, 0.5]], rtol=1e-12)
    np.testing.assert_allclose(md.log_softmax(md.Tensor(x)).numpy(), np.log([[0.25, 0.75], [0.5, 0.5]]), rtol=1e-12)
    # -inf entries get probability 0 (log-probability -inf); the rest still sum to 1
    masked = md.softmax(md.Tensor([[-np.inf, 0.0, 0.0]])).numpy()
    np.testing.assert_array_equal(masked, [[0.0, 0.5, 0.5]])
    assert gradcheck(lambda t: md.log_softmax(t * 300.0, axis=0), np.array([[1.0, -2.0], [0.5, 3.0]]))


# ---------------------------------------------------------------------------- erf


def test_erf_and_erfc_agree_with_math_within_a_few_ulps():
    x = np.concatenate([np.linspace(-6.0, 6.0, 4001), np.linspace(-27.0, 27.0, 541), [1e-300, -1e-20, 0.46875, 4.0]])
    for name, exact, ulps in (("erf", math.erf, 4), ("erfc", math.erfc, 7)):
        expected = np.array([exact(v) for v in x])
        got = getattr(md, name)(md.Tensor(x)).numpy()
        normal = np.abs(expected) > np.finfo(np.float64).tiny
        assert np.all(np.abs(got - expected)[normal] <= ulps * np.spacing(np.abs(expected[normal]))), name
        assert np.all(np.abs(got - expected)[~normal] <= 1e-300), name


def test_erf_special_values_and_dtypes():
    t = md.Tensor([np.nan, np.inf, -np.inf, 0.0, -0.0])
    np.testing.assert_array_equal(md.erf(t).numpy(), [np.nan, 1.0, -1.0, 0.0, -0.0])
    assert np.signbit(md.erf(t).numpy()[4])
    np.testing.assert_array_equal(md.erfc(t).numpy(), [np.nan, 0.0, 2.0, 1.0, 1.0])
    x32 = md.Tensor(np.linspace(-3.0, 3.0, 7, dtype=np.float32))
    assert md.erf(x32).dtype == np.float32 and md.erfc(x32).dtype == np.float32
    np.testing.assert_allclose(md.erf(x32).numpy(), [math.erf(v) for v in np.linspace(-3.0, 3.0, 7)], rtol=1e-6)


def test_erf_gradients_are_the_gaussian():
    x = np.array([-2.0, -0.3, 0.0, 0.46875, 1.0, 4.5])
    gauss = 2.0 / math.sqrt(math.pi) * np.exp(-x * x)
    np.testing.assert_allclose(_grad(md.erf, x), gauss, rtol=1e-15)
    np.testing.assert_allclose(_grad(md.erfc, x), -gauss, rtol=1e-15)
    np.testing.assert_allclose(_second(md.erf, x), -2.0 * x * gauss, rtol=1e-14, atol=1e-300)


# ---------------------------------------------------------------------------- NumPy interop


@pytest.mark.parametrize(
    "call",
    [
        lambda t: np.sinc(t),
        lambda t: np.logaddexp2(t, 0.5 * t),
        lambda t: np.fmax(t, 0.3),
        lambda t: np.fmin(t, 0.3),
        lambda t: np.nan_to_num(t, nan=1.0),
        lambda t: np.heaviside(t, 0.5) * t,
        lambda t: np.copysign(t, -1.0),
        lambda t: np.hypot(t, 2.0),
        lambda t: np.deg2rad(t) + np.radians(t),
        lambda t: np.rad2deg(t) + np.degrees(t),
        lambda t: np.true_divide(t, 3.0),
        lambda t: np.float_power(t, 3),
        lambda t: np.ldexp(t, 3),
    ],
    ids=[
        "sinc", "logaddexp2", "fmax", "fmin", "nan_to_num", "heaviside", "copysign", "hypot",
        "deg2rad", "rad2deg", "true_divide", "float_power", "ldexp",
    ],
)
def test_numpy_functions_reach_the_ops(call):
    x = np.array([0.7, -1.2, 1.9])
    out = call(md.Tensor(x, allow_grad=True))
    assert isinstance(out, md.Tensor) and out.allow_grad
    np.testing.assert_allclose(out.numpy(), call(x), rtol=1e-14)
    assert gradcheck(call, x)
