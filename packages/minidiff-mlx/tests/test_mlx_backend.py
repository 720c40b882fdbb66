"""The MLX backend: the conformance kit on every registered op, plus what is particular to MLX
(dtypes, lazy evaluation, indexing without boolean masks or bounds checks, linalg, random)."""

from __future__ import annotations

import mlx.core as mx
import numpy as np
import pytest

import minidiff as md
from minidiff import plugins
from minidiff.testing import BackendSuite, gradcheck
from minidiff_mlx import xp as mlx_xp
from minidiff_mlx.backend import MlxBackend


class TestMlxBackend(BackendSuite):
    """The conformance kit: creation, dtypes, round trips, scatter-add, lazy import, and
    every registered op (built-in families and installed packs) on MLX. The checks known to
    fail are declared by the plugin itself (`minidiff_mlx.plugin.EXPECTED_FAILURES`), so
    `minidiff check mlx` on a user's install expects the same ones."""

    backend = "mlx"
    array_module = "mlx.core"


def test_registered_through_its_entry_point():
    registry = plugins.load()
    assert registry.backends["mlx"].plugin == "mlx"
    assert isinstance(md.get_backend("mlx"), MlxBackend)
    assert "mlx" in md.available_backends()
    assert {key for key in registry.kernels if key[1] == "mlx"} == {
        ("getitem", "mlx"), ("scatter_add", "mlx"), ("astype", "mlx")
    }


# ---------------------------------------------------------------------------- dtypes


def test_tensors_hold_mlx_arrays_with_numpy_dtypes():
    t = md.Tensor([[1.0, 2.0]], backend="mlx")
    assert type(t.data) is mx.array and t.backend.name == "mlx"
    assert t.dtype == np.float32  # Python floats: MLX's default float
    assert md.Tensor([1, 2], backend="mlx").dtype == np.int64  # Python ints: int64, as NumPy
    assert md.Tensor([True], backend="mlx").dtype == np.bool_
    assert md.Tensor(np.ones(2), backend="mlx").dtype == np.float64  # a host array keeps its dtype
    assert md.Tensor([1, 2], dtype=np.float16, backend="mlx").dtype == np.float16
    assert md.Tensor([1, 2], allow_grad=True, backend="mlx").dtype == np.float32
    assert md.zeros(3, backend="mlx").dtype == np.float32 and md.arange(3, backend="mlx").dtype == np.int64


def test_dtypes_mlx_cannot_hold_are_refused():
    with pytest.raises(TypeError, match="no complex128"):
        md.Tensor(np.ones(2, dtype=np.complex128), backend="mlx")
    with pytest.raises(TypeError, match="bfloat16"):
        md.Tensor(mx.ones(2, dtype=mx.bfloat16), backend="mlx")


def test_float64_is_refused_where_the_device_has_none(monkeypatch):
    monkeypatch.setattr(mlx_xp, "float64_supported", False)  # as on Apple GPUs
    with pytest.raises(TypeError, match="no float64 .* use float32"):
        md.Tensor(np.ones(2), backend="mlx")
    with pytest.raises(TypeError, match="no float64"):
        md.zeros(2, dtype=np.float64, backend="mlx")
    assert md.Tensor(np.ones(2, dtype=np.float32), backend="mlx").dtype == np.float32


def test_float64_is_float64_accurate_on_the_cpu():
    # MLX 0.32 computes float64 exp, sin, cos and logaddexp in single precision on the CPU;
    # the backend computes those on the host, so float64 results match NumPy's.
    x = np.linspace(-3.0, 3.0, 101)
    t = md.Tensor(x, backend="mlx")
    for name in ("exp", "sin", "cos", "tan", "tanh"):
        np.testing.assert_allclose(getattr(md, name)(t).numpy(), getattr(np, name)(x), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(md.logaddexp(t, t[::-1]).numpy(), np.logaddexp(x, x[::-1]), rtol=1e-14)
    assert md.exp(t.astype(np.float32)).dtype == np.float32  # float32 stays on MLX


def test_nan_sign_and_integer_sums_follow_numpy():
    t = md.Tensor([np.nan, -2.0, 0.0], backend="mlx")
    np.testing.assert_array_equal(md.sign(t).numpy(), [np.nan, -1.0, 0.0])
    assert md.sum(md.Tensor([True, True], backend="mlx")).dtype == np.int64
    assert md.argmax(md.Tensor([1.0, 3.0], backend="mlx")).dtype == np.int64


# ---------------------------------------------------------------------------- host and laziness


def test_host_copies_are_copies():
    t = md.Tensor([1.0, 2.0], backend="mlx")
    host = t.numpy()
    host[0] = 99.0  # np.asarray of an MLX array would be a view of MLX's buffer
    assert t.numpy()[0] == 1.0
    source = np.zeros(2)
    from_source = md.Tensor(source, backend="mlx")
    source[0] = 5.0
    assert from_source.numpy()[0] == 0.0


def test_lazy_results_are_evaluated_on_the_way_to_the_host():
    x = md.Tensor(np.arange(4.0), allow_grad=True, backend="mlx")
    y = (md.exp(x.astype(np.float32)) * 2.0).sum()
    y.backward()
    md.get_backend("mlx").synchronize(x.grad.data)
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(np.arange(4.0)), rtol=1e-6)
    assert isinstance(y.item(), float) and "backend='mlx'" in repr(y)


def test_to_numpy_and_back_keeps_values_and_dtype():
    for dtype in (np.float32, np.float64, np.int32, np.int64, np.bool_):
        t = md.Tensor(np.array([[0, 1], [1, 0]], dtype=dtype), backend="mlx")
        there = t.to("numpy")
        back = there.to("mlx")
        assert there.backend.name == "numpy" and there.dtype == dtype and back.dtype == dtype
        np.testing.assert_array_equal(back.numpy(), t.numpy())


def test_operands_from_two_backends_raise_with_a_to_hint():
    with pytest.raises(ValueError, match=r"different backends.*\.to\('mlx'\)"):
        md.Tensor([1.0], backend="mlx") + md.Tensor([1.0], backend="numpy")


# ---------------------------------------------------------------------------- indexing


def test_boolean_masks_select_through_their_nonzero_indices():
    x_host = np.arange(12.0).reshape(3, 4)
    x = md.Tensor(x_host, allow_grad=True, backend="mlx")
    mask = x_host % 3 == 0
    np.testing.assert_array_equal(x[mask].numpy(), x_host[mask])
    np.testing.assert_array_equal(x[x > 5.0].numpy(), x_host[x_host > 5.0])  # a mask on the device
    x[mask].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), mask.astype(float))
    with pytest.raises(IndexError, match="boolean index did not match"):
        x[np.array([True, False])]


@pytest.mark.parametrize(
    "key",
    [5, -4, (0, 4), np.array([0, 3]), (slice(None), np.array([[0, 4]])), [2, -5]],
    ids=["int", "negative int", "second axis", "array", "array on axis 1", "list"],
)
def test_out_of_bounds_indices_raise_index_error(key):
    # MLX checks no bounds (it would read stray memory); the backend raises as NumPy does.
    x = md.Tensor(np.zeros((3, 4)), backend="mlx")
    with pytest.raises(IndexError, match="out of bounds"):
        x[key]
    with pytest.raises(IndexError, match="out of bounds"):
        np.zeros((3, 4))[key]


def test_out_of_bounds_device_indices_and_take_along_axis_raise():
    x = md.Tensor(np.zeros((3, 4)), backend="mlx")
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0"):
        x[md.Tensor([0, 3], backend="mlx")]
    with pytest.raises(IndexError, match="out of bounds"):
        md.take_along_axis(x, np.array([[0, 4, 1, 1]]), axis=1)


def test_item_assignment_follows_numpy_and_checks_bounds():
    host = np.zeros((3, 4))
    t = md.Tensor(host, backend="mlx")
    for key, value in [
        (np.array([0, 1]), 1.0),
        ((slice(None), np.array([1, 3])), np.array([2.0, 3.0])),
        (host > 2.5, 0.5),  # a boolean mask
        ((np.array([0, 2]), None, slice(1, 3)), np.array([7.0, 8.0])),
    ]:
        t[key] = value
        host[key] = value
        np.testing.assert_array_equal(t.numpy(), host)
    t[t > 1.0] = -1.0  # a mask on the device
    host[host > 1.0] = -1.0
    np.testing.assert_array_equal(t.numpy(), host)
    with pytest.raises(IndexError, match="index 4 is out of bounds for axis 1"):
        t[1, 4] = 1.0  # MLX would write past the array


def test_scatter_add_with_newaxis_and_repeats():
    x_host = np.arange(6.0).reshape(2, 3)
    x = md.Tensor(x_host, allow_grad=True, backend="mlx")
    key = (np.array([0, 0, 1]), None, slice(None))
    np.testing.assert_array_equal(x[key].numpy(), x_host[key])
    assert gradcheck(lambda t: t[key] * t[key], x_host, backend="mlx")


def test_pad_modes_and_the_ones_mlx_lacks():
    x_host = np.arange(6.0).reshape(2, 3)
    x = md.Tensor(x_host, backend="mlx")
    for mode in ("edge", "reflect", "symmetric", "wrap"):
        np.testing.assert_array_equal(md.pad(x, ((1, 2), (3, 1)), mode=mode).numpy(), np.pad(x_host, ((1, 2), (3, 1)), mode=mode))
    np.testing.assert_array_equal(
        md.pad(x, 1, constant_values=((1.0, 2.0), (3.0, 4.0))).numpy(),
        np.pad(x_host, 1, constant_values=((1.0, 2.0), (3.0, 4.0))),
    )
    with pytest.raises(NotImplementedError, match="mode='median' is not available on the MLX backend"):
        md.pad(x, 1, mode="median")


# ---------------------------------------------------------------------------- linalg and random


def test_linalg_keeps_numpy_semantics():
    a = md.Tensor(np.array([[2.0, 1.0], [1.0, 3.0]]), allow_grad=True, backend="mlx")
    assert a.backend.xp.linalg.inv(a.data).dtype == mx.float64
    with pytest.raises(np.linalg.LinAlgError):
        a.backend.xp.linalg.cholesky(mx.array(-np.eye(2)))  # MLX's own returns garbage here
    w, v = a.backend.xp.linalg.eigh(a.data)
    np.testing.assert_allclose(np.array(w), np.linalg.eigh(a.numpy())[0])


def test_random_is_reproducible_and_independent_of_mlx_global_state():
    md.random.seed(7)
    first = md.random.randn(5, backend="mlx").numpy()
    ints = md.random.randint(10, size=4, backend="mlx")
    md.random.seed(7)
    mx.random.seed(123)  # MLX's own global state does not matter
    np.testing.assert_array_equal(md.random.randn(5, backend="mlx").numpy(), first)
    np.testing.assert_array_equal(md.random.randint(10, size=4, backend="mlx").numpy(), ints.numpy())
    assert first.dtype == np.float32 and ints.dtype == np.int64
    assert md.random.rand(2, 3, dtype=np.float64, backend="mlx").dtype == np.float64
    u = md.random.uniform(2.0, 3.0, size=1000, backend="mlx").numpy()
    assert 2.0 <= u.min() and u.max() < 3.0
    md.random.seed(None)


def test_views_act_as_numpy_views_by_functional_updates():
    x = md.Tensor(np.zeros((2, 3)), backend="mlx")
    y = x.reshape(3, 2)
    y[0] = 1.0  # as on NumPy, the write reaches x (MLX rebuilds x's array: minidiff.inplace)
    np.testing.assert_array_equal(x.numpy(), [[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    x[1, 2] = 3.0  # and a write to x reaches the view
    np.testing.assert_array_equal(y.numpy(), [[1.0, 1.0], [0.0, 0.0], [0.0, 3.0]])
    same = md.astype(x, np.float64)
    same[0, 0] = 5.0  # astype gives a new array, as in NumPy
    assert x.numpy()[0, 0] == 1.0
    d = x.detach()
    d[0, 0] = 7.0  # detach shares the array, as in NumPy
    assert x.numpy()[0, 0] == 7.0
