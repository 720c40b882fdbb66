"""The statistics ops beyond what the conformance kit checks from their samples: NumPy's
call forms (through `numpy.<name>(tensor)`, ufunc methods, `initial=`/`where=`), NaN and
empty-input edge cases, errors, and the gradients at the kinks. Expected values come
from NumPy, finite differences, or are derived by hand next to them."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minidiff as md
from minidiff.testing import gradcheck

NAN = math.nan


# ---------------------------------------------------------------------------- NumPy dispatches here


@pytest.mark.parametrize(
    "call",
    [
        lambda a: np.cumprod(a, axis=1),
        lambda a: np.nansum(a, axis=0, keepdims=True),
        lambda a: np.nanmean(a, axis=1),
        lambda a: np.nanmax(a, axis=1, initial=0.3),
        lambda a: np.nanmin(a),
        lambda a: np.median(a, axis=0),
        lambda a: np.quantile(a, [0.1, 0.8], axis=1, keepdims=True),
        lambda a: np.percentile(a, 33.0),
        lambda a: np.average(a, axis=1, weights=[1.0, 2.0, 3.0, 4.0]),
        lambda a: np.ptp(a, axis=0),
        lambda a: np.multiply.accumulate(a, axis=1),
        lambda a: np.maximum.accumulate(a),
        lambda a: np.minimum.accumulate(a, axis=1),
        lambda a: np.maximum.reduce(a, axis=None),
        lambda a: np.max(a, axis=1, initial=0.5),
        lambda a: np.min(a, axis=0, where=a > -0.5, initial=9.0),
    ],
)
def test_numpy_functions_on_tensors_match_numpy(call, a34):
    got = call(md.Tensor(a34, allow_grad=True))
    assert isinstance(got, md.Tensor) and got.allow_grad
    np.testing.assert_allclose(got.numpy(), call(a34), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ufunc", [np.add, np.multiply, np.maximum, np.minimum])
def test_ufunc_accumulate_and_reduce_differentiate(ufunc, a34):
    gradcheck(lambda x: ufunc.accumulate(x, axis=1), a34)
    gradcheck(lambda x: ufunc.reduce(x, axis=0), a34)


def test_empty_reductions_give_initial_as_numpy_does():
    empty = md.Tensor(np.zeros((0,)), allow_grad=True)
    assert np.max(empty, initial=-np.inf).item() == -np.inf
    assert np.min(empty, initial=3.0).item() == 3.0
    assert np.maximum.reduce(empty, initial=-1.0).item() == -1.0
    np.testing.assert_array_equal(np.max(md.Tensor(np.zeros((2, 0))), axis=1, initial=5.0).numpy(), [5.0, 5.0])
    assert md.nanmax(empty, initial=2.0).item() == 2.0
    np.max(empty, initial=0.0).backward()
    assert empty.grad.shape == (0,)


def test_average_returned_and_weight_gradient():
    a, w = np.array([[1.0, 2.0, 4.0], [3.0, 0.0, 1.0]]), np.array([1.0, 2.0, 5.0])
    avg, scale = md.average(md.Tensor(a), axis=1, weights=md.Tensor(w), returned=True)
    np.testing.assert_allclose(avg.numpy(), [25.0 / 8.0, 8.0 / 8.0])  # (1 + 4 + 20) / 8, (3 + 0 + 5) / 8
    np.testing.assert_array_equal(scale.numpy(), [8.0, 8.0])
    gradcheck(lambda a, w: md.average(a, axis=1, weights=w), a, w)
    with pytest.raises(ZeroDivisionError, match="sum to zero"):
        md.average(md.Tensor(a), axis=1, weights=[1.0, -1.0, 0.0])
    with pytest.raises(TypeError, match="axis must be specified"):
        md.average(md.Tensor(a), weights=w)
    with pytest.raises(ValueError, match="consistent"):
        md.average(md.Tensor(a), axis=0, weights=w)


# ---------------------------------------------------------------------------- cumprod with zeros


def test_cumprod_first_and_second_derivatives_with_zeros(grad_of):
    z = [1.5, 0.0, 2.0, 0.0, 3.0]
    # d/dx_i sum_k cumprod(x)_k = sum_{k >= i} prod_{j <= k, j != i} x_j:
    # i = 0: 1 (k = 0; every later term holds x_1 = 0); i = 1: 1.5 + 1.5 * 2 = 4.5; i >= 2: 0
    np.testing.assert_allclose(grad_of(md.cumprod, z), [1.0, 4.5, 0.0, 0.0, 0.0])
    hessian = md.hessian(lambda x: md.sum(md.cumprod(x)))(md.Tensor(z)).numpy()
    # f = x0 + x0 x1 + x0 x1 x2 + x0 x1 x2 x3 + x0 x1 x2 x3 x4; at z every term without x1 in
    # its derivative vanishes except:
    expected = np.zeros((5, 5))
    expected[0, 1] = expected[1, 0] = 1.0 + 2.0  # 1 + x2 (+ x2 x3 + x2 x3 x4 = 0)
    expected[1, 2] = expected[2, 1] = 1.5  # x0 (+ x0 x3 + x0 x3 x4 = 0)
    expected[1, 3] = expected[3, 1] = 12.0  # x0 x2 + x0 x2 x4 = 3 + 9 (torch.cumprod agrees)
    np.testing.assert_allclose(hessian, expected)


def test_cumprod_of_integers_and_float32_keeps_numpy_dtypes():
    assert md.cumprod(md.Tensor([1, 2, 3])).dtype == np.cumprod(np.array([1, 2, 3])).dtype
    x = md.Tensor(np.array([1.0, 0.0, 2.0], dtype=np.float32), allow_grad=True)
    md.sum(md.cumprod(x)).backward()
    assert x.grad.dtype == np.float32


# ---------------------------------------------------------------------------- NaN handling


def test_nan_reductions_give_zero_gradient_to_nans(grad_of):
    values = [1.0, NAN, 3.0]
    np.testing.assert_array_equal(grad_of(md.nansum, values), [1.0, 0.0, 1.0])  # torch.nansum agrees
    np.testing.assert_array_equal(grad_of(md.nanmean, values), [0.5, 0.0, 0.5])  # torch.nanmean agrees
    np.testing.assert_array_equal(grad_of(md.nanmax, [1.0, NAN, 3.0, 3.0]), [0.0, 0.0, 0.5, 0.5])  # ties split, as jax
    np.testing.assert_array_equal(grad_of(md.nanmin, [NAN, NAN]), [0.0, 0.0])


def test_all_nan_slices_give_nan_or_initial():
    a = np.array([[NAN, NAN], [1.0, NAN]])
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        np.testing.assert_array_equal(md.nanmax(md.Tensor(a), axis=1).numpy(), np.nanmax(a, axis=1))
    np.testing.assert_array_equal(md.nanmax(md.Tensor(a), axis=1, initial=0.0).numpy(), [0.0, 1.0])
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        np.testing.assert_array_equal(md.nanmean(md.Tensor(a), axis=1).numpy(), np.nanmean(a, axis=1))
    with pytest.raises(ValueError, match="initial"):
        md.nanmax(md.Tensor(a), where=np.array([True, False]))


def test_median_and_quantile_of_a_slice_with_nan_are_nan():
    a = np.array([[1.0, NAN, 2.0], [3.0, 1.0, 2.0]])
    np.testing.assert_array_equal(md.median(md.Tensor(a), axis=1).numpy(), [NAN, 2.0])
    np.testing.assert_array_equal(md.quantile(md.Tensor(a), 0.0, axis=1).numpy(), [NAN, 1.0])


# ---------------------------------------------------------------------------- order statistics


def test_median_and_quantile_ties_follow_the_stable_order(grad_of):
    # [2, 1, 2] sorts stably to [1, 2 (index 0), 2 (index 2)]: the median is index 0's
    # (jax.numpy.median and torch.quantile agree; torch.median splits between the ties)
    np.testing.assert_array_equal(grad_of(md.median, [2.0, 1.0, 2.0]), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(grad_of(md.median, [2.0, 1.0, 2.0, 2.0]), [0.5, 0.0, 0.5, 0.0])
    # q = 0.3 of 4 elements: position 0.9 between sorted places 0 (index 1) and 1 (index 0)
    np.testing.assert_allclose(grad_of(lambda x: md.quantile(x, 0.3), [2.0, 1.0, 2.0, 2.0]), [0.9, 0.1, 0.0, 0.0])


def test_quantile_gradient_in_q():
    data = md.Tensor([4.0, 1.0, 2.0])
    q = md.Tensor(0.25, allow_grad=True)
    md.quantile(data, q).backward()
    assert q.grad.item() == pytest.approx(2.0)  # (n - 1) * (2 - 1) between sorted places 0 and 1
    q = md.Tensor(0.5, allow_grad=True)
    md.quantile(data, q).backward()
    assert q.grad.item() == pytest.approx(4.0)  # at a whole position: the slope to the right, (n - 1) * (4 - 2)


def test_quantile_methods_match_numpy(a34):
    for method in ("linear", "lower", "higher", "nearest", "midpoint"):
        for q in (0.0, 0.2, 0.5, 0.625, 1.0, [0.1, 0.9]):
            got = md.quantile(md.Tensor(a34), q, axis=1, method=method)
            np.testing.assert_allclose(got.numpy(), np.quantile(a34, q, axis=1, method=method), rtol=1e-12)


def test_quantile_errors():
    x = md.Tensor([1.0, 2.0])
    with pytest.raises(ValueError, match="range"):
        md.quantile(x, 1.5)
    with pytest.raises(ValueError, match="range"):
        md.percentile(x, -1)
    with pytest.raises(ValueError, match="methods"):
        md.quantile(x, 0.5, method="hazen")
    with pytest.raises(NotImplementedError, match="weights"):
        md.quantile(x, 0.5, weights=[1.0, 1.0])


def test_integer_input_gives_float64_as_numpy():
    ints = np.array([[3, 1, 2], [5, 5, 0]])
    for name, call in (("median", lambda a: np.median(a, axis=1)), ("quantile", lambda a: np.quantile(a, 0.3)),
                       ("nanmean", lambda a: np.nanmean(a)), ("average", lambda a: np.average(a, axis=0))):
        got = call(md.Tensor(ints))
        assert got.dtype == call(ints).dtype, name
        np.testing.assert_allclose(got.numpy(), call(ints))


def test_ptp_at_a_constant_slice_is_flat(grad_of):
    # max and min each split g evenly over the same elements: their difference is 0 (jax.numpy.ptp agrees)
    np.testing.assert_array_equal(grad_of(md.ptp, [2.0, 2.0, 2.0]), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(grad_of(md.ptp, [1.0, 3.0, 3.0, 1.0]), [-0.5, 0.5, 0.5, -0.5])


def test_running_maximum_gradient_goes_to_the_first_element_that_reached_it(grad_of):
    # outputs [1, 3, 3, 3, 5] come from indices [0, 1, 1, 1, 4]
    np.testing.assert_array_equal(grad_of(np.maximum.accumulate, [1.0, 3.0, 3.0, 2.0, 5.0]), [1.0, 3.0, 0.0, 0.0, 1.0])
    with np.errstate(invalid="ignore"):
        a = np.array([1.0, NAN, 0.5, 4.0])
        np.testing.assert_array_equal(np.maximum.accumulate(md.Tensor(a)).numpy(), np.maximum.accumulate(a))


@pytest.mark.parametrize("x", [np.array([2.0, 0.75, -1e-12]), np.array([1e-133, 1.3, 0.5]), np.array([[0.5, 1e-10], [2.0, -1.5]])])
def test_cumprod_second_order_next_to_a_tiny_element(x):
    # dividing by a tiny element cancels two huge terms in the second derivative; the exact
    # product of the others is used there, as in prod's rule
    from minidiff.testing import gradcheck, gradgradcheck

    gradcheck(lambda t: md.cumprod(t, axis=-1), x)
    gradgradcheck(lambda t: md.cumprod(t, axis=-1), x)
