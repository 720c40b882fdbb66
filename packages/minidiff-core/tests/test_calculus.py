"""The calculus ops beyond what the conformance kit checks from their samples: NumPy's call
forms (through `numpy.<name>(tensor)` too), edge cases, errors, and the gradients at the
kinks (interp at its knots). Expected values come from NumPy or are derived by hand next
to them."""

from __future__ import annotations

import numpy as np
import pytest

import minidiff as md
from minidiff.testing import gradcheck


# ---------------------------------------------------------------------------- NumPy dispatches here


@pytest.mark.parametrize(
    "call",
    [
        lambda a: np.ediff1d(a, to_begin=[0.0], to_end=[9.0, 8.0]),
        lambda a: np.trapezoid(a, dx=0.1),
        lambda a: np.interp(a, [-1.0, 0.0, 2.0], [1.0, -1.0, 3.0], left=-9.0),
        lambda a: np.convolve(a[0], a[1], "same"),
        lambda a: np.correlate(a[0], a[2, :2], "full"),
        lambda a: np.gradient(a, 0.5, axis=1),
    ],
)
def test_numpy_functions_on_tensors_match_numpy(call, a34):
    got = call(md.Tensor(a34, allow_grad=True))
    assert isinstance(got, md.Tensor) and got.allow_grad
    np.testing.assert_allclose(got.numpy(), call(a34), rtol=1e-12, atol=1e-12)


def test_gradient_along_every_axis_returns_one_tensor_each(a34):
    got, expected = np.gradient(md.Tensor(a34, allow_grad=True)), np.gradient(a34)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.numpy(), e, rtol=1e-12)


# ---------------------------------------------------------------------------- conventions at kinks


def test_interp_slopes_at_knots_and_outside(grad_of):
    knots, values = md.Tensor([0.0, 1.0, 2.0]), md.Tensor([0.0, 10.0, 30.0])
    slopes = [grad_of(lambda x: md.interp(x, knots, values), v).item() for v in (1.0, 2.0, 0.0, 0.5, -1.0, 3.0)]
    # the segment right of a knot, the last one at xp[-1], flat outside (as jax.numpy.interp)
    assert slopes == [20.0, 20.0, 10.0, 10.0, 0.0, 0.0]


def test_interp_gradient_in_fp_xp_and_left_right():
    x = np.array([-3.0, 0.25, 1.5, 5.0])
    knots = np.array([0.0, 1.0, 2.0])
    values = np.array([1.0, -1.0, 2.0])
    gradcheck(lambda x, xp, fp, lo, hi: md.interp(x, xp, fp, lo, hi), x, knots, values, np.array(-2.0), np.array(7.0))
    np.testing.assert_array_equal(md.interp(md.Tensor(x), knots, values).numpy(), np.interp(x, knots, values))
    assert md.interp(md.Tensor(np.float32(0.5)), knots, values).dtype == np.float64  # as NumPy's


def test_interp_with_a_period_matches_numpy():
    x = np.linspace(-7.0, 7.0, 29)
    knots, values = np.array([350.0, 10.0, 90.0, 200.0]), np.array([1.0, 2.0, -1.0, 0.5])
    got = md.interp(md.Tensor(x), knots, values, period=360.0)
    np.testing.assert_allclose(got.numpy(), np.interp(x, knots, values, period=360.0), rtol=1e-12)


# ---------------------------------------------------------------------------- call forms and edge cases


def test_gradient_errors_and_integer_input():
    np.testing.assert_allclose(md.gradient(md.Tensor([1, 4, 9, 16])).numpy(), np.gradient(np.array([1, 4, 9, 16])))
    with pytest.raises(ValueError, match="at least"):
        md.gradient(md.ones(2), edge_order=2)
    with pytest.raises(ValueError, match="must match the length"):
        md.gradient(md.ones(4), np.arange(3.0))
    with pytest.raises(TypeError, match="invalid number of arguments"):
        md.gradient(md.ones((3, 3)), 1.0, 2.0, 3.0)


def test_convolve_and_correlate_reject_what_numpy_rejects():
    with pytest.raises(ValueError, match="mode"):
        md.convolve(md.ones(3), md.ones(2), mode="circular")
    with pytest.raises(ValueError, match="1-D"):
        md.correlate(md.ones((2, 2)), md.ones(2))
    with pytest.raises(ValueError, match="empty"):
        md.convolve(md.ones(3), md.ones(0))


def test_convolve_gradient_is_a_correlation():
    # d/da sum(w * convolve(a, v)) = correlate(w, v, "valid"), by the definition of convolution
    a, v, w = np.array([1.0, -2.0, 0.5, 3.0]), np.array([0.5, 2.0]), np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    x = md.Tensor(a, allow_grad=True)
    md.sum(md.convolve(x, v) * w).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.correlate(w, v, "valid"))


def test_trapezoid_matches_numpy_with_sample_points_and_differentiates_in_them():
    y, x = np.array([1.0, 3.0, 2.0, 5.0]), np.array([0.0, 0.5, 2.0, 2.5])
    np.testing.assert_allclose(md.trapezoid(md.Tensor(y), md.Tensor(x)).numpy(), np.trapezoid(y, x))
    gradcheck(lambda y, x: md.trapezoid(y, x), y, x)


def _on_mlx(a):
    pytest.importorskip("mlx.core")
    if "mlx" not in md.available_backends():
        pytest.skip("the MLX backend is not usable here")
    return md.Tensor(a, backend="mlx")


def test_calculus_ops_run_on_mlx():
    a = np.array([[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]])
    np.testing.assert_allclose(md.ediff1d(_on_mlx(a), to_begin=[5.0]).numpy(), np.ediff1d(a, to_begin=[5.0]))
