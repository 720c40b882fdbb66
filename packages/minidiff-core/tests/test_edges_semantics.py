"""Edge semantics of recorded graphs that used to give silently wrong gradients.

- Integer and bool results are constants: `x.astype(int)` does not allow grad, so
  `(x.astype(int) * x).sum()` has the gradient `x.astype(int)`, not `2x`.
- A node keeps what the forward used: an index array, a mask, a Tensor used as an index,
  `repeat` counts, `tile` reps or `pad` widths changed after the call leave backward alone.
- `np.array(t)` is a copy; `np.asarray(t)`, `t.numpy()` and `t.data` share the NumPy
  backend's memory (documented as bypassing the in-place check).

Expected gradients are closed forms computed with NumPy from the values the forward used.
"""

from __future__ import annotations

import numpy as np
import pytest

import minidiff as md

X0 = np.array([[1.5, -2.5, 0.25, 3.0], [-0.75, 2.0, -1.25, 0.5], [0.0, 1.75, -3.5, 2.25]])


def _mlx_usable() -> bool:
    try:
        md.get_backend("mlx")
    except Exception:  # not installed, or cannot run here: the MLX cases are skipped
        return False
    return True


BACKENDS = ["numpy", pytest.param("mlx", marks=pytest.mark.skipif(not _mlx_usable(), reason="MLX is not usable here"))]
# MLX computes in float32 by default
TOL = {"numpy": 1e-12, "mlx": 1e-6}


def leaf(backend: str, values: np.ndarray = X0) -> md.Tensor:
    return md.Tensor(values, allow_grad=True, backend=backend)


def backend_array(backend: str, values: np.ndarray):
    """`values` as an array of `backend` (an index array as a user of that backend has one)."""
    return md.get_backend(backend).asarray(values)


def assert_grad(x: md.Tensor, expected: np.ndarray, backend: str) -> None:
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=TOL[backend], atol=TOL[backend])


# ---------------------------------------------------------------------------- integer and bool results


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.int8])
def test_a_cast_to_integers_is_a_constant(backend, dtype):
    values = np.abs(X0) if np.dtype(dtype).kind == "u" else X0
    x = leaf(backend, values)
    integers = x.astype(dtype)
    assert not integers.allow_grad and integers.node is None
    (integers * x).sum().backward()
    # d/dx sum(c * x) = c, with c = the integers the cast made (truncated toward zero)
    assert_grad(x, values.astype(dtype).astype(np.float64), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cast_to_bool_is_a_constant(backend):
    x = leaf(backend)
    mask = x.astype(bool)
    assert not mask.allow_grad and mask.node is None
    (mask * x * x).sum().backward()
    assert_grad(x, 2 * X0 * (X0 != 0), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cast_between_floats_keeps_the_gradient(backend):
    x = leaf(backend)
    half = x.astype(np.float16)
    assert half.allow_grad
    (half.astype(np.float32) * 3.0).sum().backward()
    assert x.grad.dtype == x.dtype
    assert_grad(x, np.full(X0.shape, 3.0), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cast_to_integers_inside_a_higher_order_graph(backend):
    x = leaf(backend)
    # f = sum(c * x**2) with c = int(x): f' = 2 c x, f'' = 2 c
    f = (x.astype(np.int64) * x * x).sum()
    f.backward(allow_higher_order=True)
    c = X0.astype(np.int64).astype(np.float64)
    assert_grad(x, 2 * c * X0, backend)
    x.grad.backward()
    assert_grad(x, 2 * c, backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "op",
    [
        lambda x: md.floor(x), lambda x: md.sign(x), lambda x: md.round(x, 1), lambda x: x > 0,
        lambda x: md.equal(x, x), lambda x: md.argmax(x, axis=1), lambda x: md.isnan(x),
        lambda x: md.floor_divide(x, 2.0), lambda x: md.any(x > 1), lambda x: x.astype(np.int16),
        lambda x: md.sum(x > 0, axis=0), lambda x: (x > 0)[1:],
    ],
    ids=["floor", "sign", "round", "greater", "equal", "argmax", "isnan", "floor_divide", "any", "astype",
         "sum_of_bools", "slice_of_bools"],
)
def test_integer_and_bool_valued_ops_do_not_allow_grad(backend, op):
    out = op(leaf(backend))
    assert not out.allow_grad and out.node is None


def test_a_custom_op_with_integer_results_records_no_node():
    # create_op_func takes the generic path: a differentiable op whose result is integer
    quantize = md.create_op_func(
        lambda x, step=1.0: np.floor(x / step).astype(np.int64), lambda g, ans, x, step=1.0: g / step
    )
    x = leaf("numpy")
    levels = quantize(x, step=0.5)
    assert levels.dtype == np.int64 and not levels.allow_grad and levels.node is None
    (levels * x).sum().backward()
    assert_grad(x, np.floor(X0 / 0.5), "numpy")


def test_an_integer_result_of_mixed_operands_is_a_constant():
    # where(c, x, y) with integer branches: no gradient even though the condition came from x
    x = leaf("numpy")
    picked = md.where(x > 0, x.astype(np.int64), 0)
    assert not picked.allow_grad
    (picked * x).sum().backward()
    assert_grad(x, np.where(X0 > 0, X0.astype(np.int64), 0).astype(np.float64), "numpy")


# ---------------------------------------------------------------------------- operands changed after the call


def _gather_grad(shape, key, seed) -> np.ndarray:
    """The closed form of d/dx sum(seed * x[key]): seed added at key, repeats accumulating."""
    out = np.zeros(shape)
    np.add.at(out, key, seed)
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_index_array_changed_after_the_call(backend):
    x = leaf(backend)
    original = np.array([0, 2, 2])
    idx = original.copy()
    y = x[idx]
    idx[:] = [1, 1, 0]
    seed = np.arange(12.0).reshape(3, 4)
    y.backward(seed)
    assert_grad(x, _gather_grad(X0.shape, original, seed), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_backend_index_array_changed_after_the_call(backend):
    x = leaf(backend)
    idx = backend_array(backend, np.array([2, 0, 0]))
    y = x[idx]
    idx[0] = 1  # in place on the backend's own array (MLX arrays are writable too)
    seed = np.arange(12.0).reshape(3, 4)
    y.backward(seed)
    assert_grad(x, _gather_grad(X0.shape, np.array([2, 0, 0]), seed), backend)


def test_an_index_list_changed_after_the_call():
    x = leaf("numpy")
    idx = [3, 0, 3]
    y = x[:, idx]
    idx[0] = 1
    seed = np.arange(9.0).reshape(3, 3)
    y.backward(seed)
    assert_grad(x, _gather_grad(X0.shape, (slice(None), [3, 0, 3]), seed), "numpy")


def test_index_arrays_in_a_tuple_changed_after_the_call():
    x = leaf("numpy")
    rows, cols = np.array([0, 2, 2]), np.array([1, 3, 3])
    y = x[rows, cols]
    rows[0], cols[:] = 1, 0
    seed = np.array([1.0, 10.0, 100.0])
    y.backward(seed)
    assert_grad(x, _gather_grad(X0.shape, (np.array([0, 2, 2]), np.array([1, 3, 3])), seed), "numpy")


def test_a_boolean_mask_changed_after_the_call():
    x = leaf("numpy")
    original = X0 > 0
    mask = original.copy()
    y = x[mask]
    mask[:] = True
    seed = np.arange(1.0, 1.0 + original.sum())
    y.backward(seed)
    expected = np.zeros(X0.shape)
    expected[original] = seed
    assert_grad(x, expected, "numpy")


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_index_tensor_changed_in_place_after_the_call(backend):
    x = leaf(backend)
    t = md.Tensor([0, 2], backend=backend)
    y = x[t]
    t[0] = 1  # allowed: t does not allow grad
    seed = np.arange(8.0).reshape(2, 4)
    y.backward(seed)
    assert_grad(x, _gather_grad(X0.shape, np.array([0, 2]), seed), backend)


def test_an_index_tensor_changed_through_its_data_after_the_call():
    x = leaf("numpy")
    t = md.Tensor([1, 1])
    y = x[:, t]
    t.data[:] = [0, 3]
    seed = np.arange(6.0).reshape(3, 2)
    y.backward(seed)
    assert_grad(x, _gather_grad(X0.shape, (slice(None), np.array([1, 1])), seed), "numpy")


def test_an_index_changed_between_first_and_second_order():
    x = leaf("numpy")
    idx = np.array([0, 0, 2])
    (x[idx] ** 3).sum().backward(allow_higher_order=True)
    idx[:] = 1
    x.grad.backward()
    # f = sum(x[idx]**3): f'' summed over the first derivative's entries is 6 x at each pick
    assert_grad(x, _gather_grad(X0.shape, np.array([0, 0, 2]), 6 * X0[[0, 0, 2]]), "numpy")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["array", "list"])
def test_repeat_counts_changed_after_the_call(backend, kind):
    x = leaf(backend)
    original = [2, 0, 1]
    counts = np.array(original) if kind == "array" else list(original)
    y = md.repeat(x, counts, axis=0)
    counts[0], counts[1] = 0, 3
    seed = np.arange(12.0).reshape(3, 4)
    y.backward(seed)
    # row i of x is read original[i] times in a row: its gradient sums those rows of seed
    source = np.repeat(np.arange(3), original)
    assert_grad(x, _gather_grad(X0.shape, source, seed), backend)


def test_tile_reps_changed_after_the_call():
    x = leaf("numpy")
    reps = [2, 1]
    y = md.tile(x, reps)
    reps[0] = 3
    y.backward(np.ones((6, 4)))
    assert_grad(x, np.full(X0.shape, 2.0), "numpy")  # each element copied twice


def test_pad_widths_changed_after_the_call():
    x = leaf("numpy")
    widths = np.array([[1, 2], [0, 3]])
    y = md.pad(x, widths)
    widths[:] = 0
    seed = np.arange(6.0 * 7).reshape(6, 7)
    y.backward(seed)
    assert_grad(x, seed[1:4, 0:4], "numpy")  # the padded region gets no gradient


def test_transpose_axes_changed_after_the_call():
    x = md.Tensor(np.arange(24.0).reshape(2, 3, 4), allow_grad=True)
    axes = [2, 0, 1]
    y = md.transpose(x, axes)
    axes.reverse()
    seed = np.arange(24.0).reshape(4, 2, 3)
    y.backward(seed)
    assert_grad(x, np.transpose(seed, (1, 2, 0)), "numpy")  # the inverse of (2, 0, 1)


def test_tensordot_axes_lists_changed_after_the_call():
    a = md.Tensor(np.arange(6.0).reshape(2, 3), allow_grad=True)
    b = np.arange(12.0).reshape(3, 4)
    axes = ([1], [0])
    out = md.tensordot(a, b, axes)
    axes[0][0], axes[1][0] = 0, 1
    out.sum().backward()
    assert_grad(a, np.broadcast_to(b.sum(axis=1), (2, 3)), "numpy")  # d/da sum(a @ b) = 1 b^T


@pytest.mark.parametrize("backend", BACKENDS)
def test_take_along_axis_indices_changed_after_the_call(backend):
    x = leaf(backend)
    original = np.array([[0, 0], [3, 1], [2, 2]])
    indices = original.copy()
    y = md.take_along_axis(x, indices, axis=1)
    indices[:] = 0
    seed = np.arange(6.0).reshape(3, 2)
    y.backward(seed)
    assert_grad(x, _gather_grad(X0.shape, (np.arange(3)[:, None], original), seed), backend)


def test_take_along_axis_index_tensor_changed_in_place_raises():
    # a Tensor operand is version-checked, as every tensor a node keeps
    x = leaf("numpy")
    indices = md.Tensor([[0], [1], [2]])
    y = md.take_along_axis(x, indices, axis=1)
    indices[0, 0] = 3
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()


def test_a_custom_op_option_changed_after_the_call():
    weigh = md.create_op_func(lambda x, w=None: x * w, lambda g, ans, x, w=None: g * w)
    x = leaf("numpy")
    w = np.linspace(1.0, 2.0, 4)
    y = weigh(x, w=w)
    w[:] = 0.0
    y.sum().backward()
    assert_grad(x, np.broadcast_to(np.linspace(1.0, 2.0, 4), X0.shape), "numpy")


def test_plain_parameters_are_kept_as_they_are():
    # what costs nothing to keep is not copied: a shape, an axis, a key of slices and ints
    x = leaf("numpy")
    shape = (4, 3)
    assert md.reshape(x, shape).node.params["shape"] is shape
    key = (slice(1, None), 2)
    assert x[key].node.params["key"] is key
    idx = np.array([0, 1])
    assert x[idx].node.params["key"] is not idx  # an array is copied


def test_the_parameters_a_node_looks_at_are_those_its_rules_read():
    from minidiff.extend import Op
    from minidiff.saved import params_read

    def op(*rules):
        return Op("f", forward="sum", params={"axis": None, "keepdims": False, "key": None}, vjp=rules)

    assert params_read(md.reshape.op) == ()  # the rule reads x.shape, not the parameter
    assert params_read(md.sum.op) == ("axis",)
    assert params_read(op(lambda g, ans, x, axis, keepdims, key: g[key])) == ("key",)

    def captures(g, ans, x, axis, keepdims, key):
        return (lambda: g[key])()  # read inside an inner function

    assert params_read(op(captures)) == ("key",)
    assert params_read(op(lambda g, ans, x, **params: g)) == ("axis", "keepdims", "key")  # could read any
    assert params_read(op(lambda g, ans, x, axis, keepdims, key: g, None)) == ()


# ---------------------------------------------------------------------------- NumPy views of a tensor


def test_np_array_of_a_tensor_is_a_copy():
    t = md.Tensor([1.0, 2.0, 3.0])
    copied = np.array(t)
    copied[0] = 5.0
    assert t.numpy().tolist() == [1.0, 2.0, 3.0]
    assert np.array(t, copy=True) is not t.data


def test_np_asarray_of_a_tensor_shares_memory_on_numpy():
    # documented: writing through it bypasses the in-place check, as through t.numpy()
    t = md.Tensor([1.0, 2.0, 3.0])
    assert np.shares_memory(np.asarray(t), t.data)
    assert np.shares_memory(t.numpy(), t.data)
    assert np.asarray(t, dtype=np.float32).dtype == np.float32


@pytest.mark.skipif(not _mlx_usable(), reason="MLX is not usable here")
def test_np_asarray_without_copy_of_an_mlx_tensor_raises():
    t = md.Tensor([1.0, 2.0], backend="mlx")
    np.testing.assert_array_equal(np.asarray(t), [1.0, 2.0])
    with pytest.raises(ValueError, match="copy"):
        np.asarray(t, copy=False)
