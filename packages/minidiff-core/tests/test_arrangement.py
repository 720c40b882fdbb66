"""The arrangement ops beyond what the conformance kit checks from their samples: NumPy's
call forms (through `numpy.<name>(tensor)` too), edge cases, errors, and the gradients at
the kinks (ties in sort, interp at its knots). Expected values come from NumPy or are
derived by hand next to them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import minidiff as md
from minidiff.testing import gradcheck


def _grad(f, values):
    x = md.Tensor(np.array(values, dtype=float), allow_grad=True)
    md.sum(f(x)).backward()
    return x.grad.numpy()


@pytest.fixture
def a34():
    return np.random.default_rng(7).normal(size=(3, 4))


# ---------------------------------------------------------------------------- NumPy dispatches here


@pytest.mark.parametrize(
    "call",
    [
        lambda a: np.roll(a, -2),
        lambda a: np.roll(a, (1, -1), axis=(0, 1)),
        lambda a: np.rot90(a, 3),
        lambda a: np.flipud(a),
        lambda a: np.fliplr(a),
        lambda a: np.rollaxis(a, 1),
        lambda a: np.append(a, [[1.0, 2.0, 3.0, 4.0]], axis=0),
        lambda a: np.sort(a, axis=0),
        lambda a: np.partition(a, 2),
        lambda a: np.take(a, [[0, 5], [11, 2]]),
        lambda a: np.kron(a, np.eye(2)),
        lambda a: np.cross(a[:, :3], a[:, 1:]),
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


def test_functions_returning_several_tensors(a34):
    x = md.Tensor(a34, allow_grad=True)
    for call in (lambda a: np.array_split(a, 3, axis=1), lambda a: np.hsplit(a, [1, 3]), lambda a: np.vsplit(a, 3),
                 lambda a: np.meshgrid(a[0], a[1, :3], indexing="ij"), lambda a: np.broadcast_arrays(a, a[0]),
                 lambda a: np.gradient(a)):
        got, expected = call(x), call(a34)
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g.numpy(), e, rtol=1e-12)


def test_put_along_axis_through_numpy_writes_into_the_tensor():
    x = md.Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], allow_grad=True)
    v = md.Tensor([[10.0], [20.0]], allow_grad=True)
    y = x * 1.0
    assert np.put_along_axis(y, np.array([[2], [0]]), v, axis=1) is None
    np.testing.assert_array_equal(y.numpy(), [[1.0, 2.0, 10.0], [20.0, 5.0, 6.0]])
    md.sum(y * md.Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).backward()
    # overwritten elements get no gradient; each value gets the weight of where it went
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 2.0, 0.0], [0.0, 5.0, 6.0]])
    np.testing.assert_array_equal(v.grad.numpy(), [[3.0], [4.0]])


def test_put_along_axis_into_a_parameter_or_a_numpy_array_that_would_drop_a_gradient_raises():
    w = md.Tensor(np.zeros((2, 3)), allow_grad=True)
    with pytest.raises(RuntimeError, match="put_along_axis"):
        np.put_along_axis(w, np.array([[0], [1]]), 1.0, axis=1)
    with pytest.raises(TypeError, match="put_along_axis"):
        np.put_along_axis(np.zeros((2, 3)), np.array([[0], [1]]), md.Tensor([[1.0], [2.0]], allow_grad=True), axis=1)


def test_put_along_axis_keeps_the_last_of_repeated_indices_and_arr_dtype():
    arr = md.Tensor(np.zeros((1, 3), dtype=np.float32), allow_grad=True)
    values = md.Tensor([[1.0, 2.0, 3.0]], allow_grad=True)
    out = md.put_along_axis(arr, np.array([[1, 1, 0]]), values, axis=1)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), [[3.0, 2.0, 0.0]])
    md.sum(out).backward()
    np.testing.assert_array_equal(values.grad.numpy(), [[0.0, 1.0, 1.0]])  # the first write was lost
    np.testing.assert_array_equal(arr.grad.numpy(), [[0.0, 0.0, 1.0]])


# ---------------------------------------------------------------------------- conventions at kinks


def test_sort_sends_each_tie_the_cotangent_of_its_stable_place():
    # [2, 1, 2, 0.5] sorts stably to [0.5, 1, 2 (index 0), 2 (index 2)]; torch.sort(stable=True)
    # and jax.numpy.sort give the same gradient
    weights = md.Tensor([1.0, 10.0, 100.0, 1000.0])
    np.testing.assert_array_equal(_grad(lambda x: md.sort(x) * weights, [2.0, 1.0, 2.0, 0.5]), [100.0, 10.0, 1000.0, 1.0])


def test_interp_slopes_at_knots_and_outside():
    knots, values = md.Tensor([0.0, 1.0, 2.0]), md.Tensor([0.0, 10.0, 30.0])
    slopes = [_grad(lambda x: md.interp(x, knots, values), v).item() for v in (1.0, 2.0, 0.0, 0.5, -1.0, 3.0)]
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


def test_roll_and_rot90_forms(a34):
    x = md.Tensor(a34)
    np.testing.assert_array_equal(md.roll(x, 1, axis=(0, 0)).numpy(), np.roll(a34, 1, axis=(0, 0)))  # shifts add
    np.testing.assert_array_equal(md.roll(x, 13).numpy(), np.roll(a34, 13))
    np.testing.assert_array_equal(md.rot90(x, 1, axes=(1, 0)).numpy(), np.rot90(a34, 1, axes=(1, 0)))
    with pytest.raises(ValueError, match="different"):
        md.rot90(x, axes=(0, 0))


def test_cross_with_two_component_vectors():
    a, b = np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([[3.0, 4.0, 5.0], [1.0, 1.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # NumPy 2 deprecates 2-vectors
        for x, y in ((a, a[::-1]), (a, b), (b, a)):
            np.testing.assert_allclose(md.cross(md.Tensor(x), md.Tensor(y)).numpy(), np.cross(x, y))
            gradcheck(lambda u, v: md.cross(u, v), x, y)
    with pytest.raises(ValueError, match="dimension must be 2 or 3"):
        md.cross(md.ones(4), md.ones(4))


def test_take_modes_and_errors(a34):
    x = md.Tensor(a34)
    np.testing.assert_array_equal(md.take(x, 5).numpy(), np.take(a34, 5))
    np.testing.assert_array_equal(md.take(x, [-1, 4], axis=1, mode="wrap").numpy(), np.take(a34, [-1, 4], 1, mode="wrap"))
    with pytest.raises(IndexError, match="out of bounds"):
        md.take(x, [12])
    with pytest.raises(ValueError, match="mode"):
        md.take(x, [0], mode="bogus")


def test_select_errors_and_default_broadcasting():
    x = md.Tensor([-1.0, 0.5, 2.0], allow_grad=True)
    out = md.select([x.numpy() < 0, x.numpy() > 1], [x * 2, x * 3], default=md.Tensor([7.0, 8.0, 9.0]))
    np.testing.assert_array_equal(out.numpy(), [-2.0, 8.0, 6.0])
    with pytest.raises(ValueError, match="same length"):
        md.select([x.numpy() < 0], [x, x])
    with pytest.raises(TypeError, match="boolean"):
        md.select([np.array([1, 0, 1])], [x])


def test_split_family_errors():
    with pytest.raises(ValueError, match="vsplit only works on arrays of 2"):
        md.vsplit(md.ones(4), 2)
    with pytest.raises(ValueError, match="dsplit only works on arrays of 3"):
        md.dsplit(md.ones((2, 2)), 2)
    with pytest.raises(ValueError, match="equal sections"):
        md.hsplit(md.ones((2, 5)), 2)
    with pytest.raises(ValueError, match="larger than 0"):
        md.array_split(md.ones(3), 0)
    assert [p.shape for p in md.array_split(md.ones(3), 5)] == [(1,), (1,), (1,), (0,), (0,)]


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


def test_meshgrid_and_broadcast_arrays_gradients_sum_the_copies():
    x, y = md.Tensor([1.0, 2.0, 3.0], allow_grad=True), md.Tensor([4.0, 5.0], allow_grad=True)
    gx, gy = md.meshgrid(x, y)
    md.sum(gx * gy).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [9.0, 9.0, 9.0])  # sum of y, for each x
    np.testing.assert_array_equal(y.grad.numpy(), [6.0, 6.0])  # sum of x, for each y
    with pytest.raises(ValueError, match="indexing"):
        md.meshgrid(x, y, indexing="xyz")


def test_trapezoid_matches_numpy_with_sample_points_and_differentiates_in_them():
    y, x = np.array([1.0, 3.0, 2.0, 5.0]), np.array([0.0, 0.5, 2.0, 2.5])
    np.testing.assert_allclose(md.trapezoid(md.Tensor(y), md.Tensor(x)).numpy(), np.trapezoid(y, x))
    gradcheck(lambda y, x: md.trapezoid(y, x), y, x)


def test_arrangement_ops_run_on_mlx():
    pytest.importorskip("mlx.core")
    if "mlx" not in md.available_backends():
        pytest.skip("the MLX backend is not usable here")
    a = np.array([[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]])
    x = md.Tensor(a, backend="mlx")
    np.testing.assert_allclose(md.append(x, [[7.0, 8.0, 9.0]], axis=0).numpy(), np.append(a, [[7.0, 8.0, 9.0]], axis=0))
    np.testing.assert_allclose(md.ediff1d(x, to_begin=[5.0]).numpy(), np.ediff1d(a, to_begin=[5.0]))
    np.testing.assert_allclose(md.sort(x, axis=None).numpy(), np.sort(a, axis=None))
