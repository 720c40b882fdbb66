"""The arrangement ops beyond what the conformance kit checks from their samples: NumPy's
call forms (through `numpy.<name>(tensor)` too), edge cases, errors, and the gradients of
the ops that pick or overwrite elements. Expected values come from NumPy or are derived by
hand next to them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import minidiff as md
from minidiff.testing import gradcheck


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
        lambda a: np.take(a, [[0, 5], [11, 2]]),
        lambda a: np.kron(a, np.eye(2)),
        lambda a: np.cross(a[:, :3], a[:, 1:]),
    ],
)
def test_numpy_functions_on_tensors_match_numpy(call, a34):
    got = call(md.Tensor(a34, allow_grad=True))
    assert isinstance(got, md.Tensor) and got.allow_grad
    np.testing.assert_allclose(got.numpy(), call(a34), rtol=1e-12, atol=1e-12)


def test_functions_returning_several_tensors(a34):
    x = md.Tensor(a34, allow_grad=True)
    for call in (lambda a: np.array_split(a, 3, axis=1), lambda a: np.hsplit(a, [1, 3]), lambda a: np.vsplit(a, 3),
                 lambda a: np.meshgrid(a[0], a[1, :3], indexing="ij"), lambda a: np.broadcast_arrays(a, a[0])):
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


def test_meshgrid_and_broadcast_arrays_gradients_sum_the_copies():
    x, y = md.Tensor([1.0, 2.0, 3.0], allow_grad=True), md.Tensor([4.0, 5.0], allow_grad=True)
    gx, gy = md.meshgrid(x, y)
    md.sum(gx * gy).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [9.0, 9.0, 9.0])  # sum of y, for each x
    np.testing.assert_array_equal(y.grad.numpy(), [6.0, 6.0])  # sum of x, for each y
    with pytest.raises(ValueError, match="indexing"):
        md.meshgrid(x, y, indexing="xyz")


def _on_mlx(a):
    pytest.importorskip("mlx.core")
    if "mlx" not in md.available_backends():
        pytest.skip("the MLX backend is not usable here")
    return md.Tensor(a, backend="mlx")


def test_arrangement_ops_run_on_mlx():
    a = np.array([[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]])
    x = _on_mlx(a)
    np.testing.assert_allclose(md.append(x, [[7.0, 8.0, 9.0]], axis=0).numpy(), np.append(a, [[7.0, 8.0, 9.0]], axis=0))
