"""minidiff as an Array API (2023.12) namespace: the protocol, the standard's names, the
inspection object, dtype functions against NumPy's answers, named tuples, and gradients
through code written against the standard."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import minidiff as md
from minidiff.array_api.names import ALIASES, LINALG_ALIASES

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64", "complex64", "complex128"]
KINDS = ["bool", "signed integer", "unsigned integer", "integral", "real floating", "complex floating", "numeric"]


# ---------------------------------------------------------------------------- the protocol


def test_namespace_is_minidiff_itself():
    x = md.Tensor([1.0, 2.0])
    assert x.__array_namespace__() is md
    assert x.__array_namespace__(api_version="2023.12") is md
    assert md.__array_api_version__ == "2023.12"
    with pytest.raises(ValueError, match="2099.01"):
        x.__array_namespace__(api_version="2099.01")


def test_device_is_the_backend_and_creation_takes_it():
    x = md.ones((2, 3))
    assert x.device == "numpy"
    assert x.to_device(x.device) is x
    assert md.zeros(3, device=x.device).device == x.device
    assert md.asarray([1.0], device="numpy").device == "numpy"
    with pytest.raises(ValueError, match="two backends"):
        md.zeros(3, device="numpy", backend="dask")
    with pytest.raises(TypeError, match="backend name"):
        md.zeros(3, device=object())


def test_mT_swaps_the_last_two_axes_with_a_gradient():
    x = md.Tensor(np.arange(24.0).reshape(2, 3, 4), allow_grad=True)
    np.testing.assert_array_equal(x.mT.numpy(), np.swapaxes(x.numpy(), -1, -2))
    (x.mT * md.Tensor(np.arange(24.0).reshape(2, 4, 3))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.swapaxes(np.arange(24.0).reshape(2, 4, 3), -1, -2))
    with pytest.raises(ValueError, match="2 dimensions"):
        md.ones(3).mT


def test_dlpack_both_ways_shares_memory_on_numpy():
    a = np.arange(4.0)
    t = md.from_dlpack(a)
    assert np.shares_memory(t.data, a) and not t.allow_grad
    assert np.shares_memory(np.from_dlpack(t), t.data)
    assert t.__dlpack_device__() == a.__dlpack_device__()


def test_info_object():
    info = md.__array_namespace_info__()
    assert info.default_device() == "numpy"
    assert "numpy" in info.devices()
    assert info.default_dtypes() == {
        "real floating": np.dtype("float64"),
        "complex floating": np.dtype("complex128"),
        "integral": np.dtype("int64"),
        "indexing": np.dtype(np.intp),
    }
    assert list(info.dtypes()) == DTYPES
    assert list(info.dtypes(kind=("bool", "complex floating"))) == ["bool", "complex64", "complex128"]
    assert info.capabilities()["data-dependent shapes"] is True
    with pytest.raises(ValueError, match="unknown dtype kind"):
        info.dtypes(kind="floating")


# ---------------------------------------------------------------------------- names


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_an_alias_is_the_same_function(alias):
    assert getattr(md, alias) is getattr(md, ALIASES[alias])


@pytest.mark.parametrize("alias", sorted(LINALG_ALIASES))
def test_a_linalg_alias_is_the_main_namespace_function(alias):
    assert getattr(md.linalg, alias) is getattr(md, LINALG_ALIASES[alias])


def test_keywords_are_spelled_as_the_standard_does():
    for function, keywords in [
        (md.sum, {"axis", "dtype", "keepdims"}),
        (md.argsort, {"axis", "descending", "stable"}),
        (md.sort, {"axis", "descending", "stable"}),
        (md.clip, {"min", "max"}),
        (md.astype, {"copy", "device"}),
        (md.full_like, {"fill_value", "dtype", "device"}),
        (md.linspace, {"endpoint", "device", "dtype"}),
        (md.linalg.pinv, {"rtol"}),
        (md.linalg.cholesky, {"upper"}),
    ]:
        assert keywords <= set(inspect.signature(function).parameters), function.__name__
    x = md.Tensor([3.0, -1.0, 2.0])
    np.testing.assert_array_equal(md.clip(x, min=0.0, max=2.5).numpy(), [2.5, 0.0, 2.0])
    np.testing.assert_array_equal(md.sort(x, descending=True).numpy(), [3.0, 2.0, -1.0])


def test_stable_descending_argsort_keeps_ties_in_input_order():
    x = np.array([1.0, 3.0, 1.0, 3.0, 2.0])
    expected = np.argsort(-x, kind="stable")  # NumPy has no descending=: negation sorts the other way
    np.testing.assert_array_equal(md.argsort(md.Tensor(x), descending=True).numpy(), expected)
    assert md.argsort(md.Tensor(x)).allow_grad is False


def test_linalg_functions_on_the_last_two_axes():
    a = np.random.default_rng(0).standard_normal((2, 3, 4))
    np.testing.assert_allclose(md.linalg.trace(md.Tensor(a), offset=1).numpy(), np.trace(a, 1, -2, -1))
    np.testing.assert_allclose(md.linalg.diagonal(md.Tensor(a)).numpy(), np.diagonal(a, 0, -2, -1))
    u, v = np.eye(3)[0], np.eye(3)[1]
    np.testing.assert_array_equal(md.linalg.cross(md.Tensor(u), md.Tensor(v)).numpy(), [0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="3-vectors"):
        md.linalg.cross(md.ones(2), md.ones(2))


# ---------------------------------------------------------------------------- dtype functions


@pytest.mark.parametrize("dtype", DTYPES)
def test_isdtype_agrees_with_numpy(dtype):
    for kind in KINDS:
        assert md.isdtype(getattr(md, dtype), kind) == np.isdtype(np.dtype(dtype), kind), (dtype, kind)


def test_result_type_and_can_cast_agree_with_numpy():
    for a in DTYPES:
        for b in DTYPES:
            assert md.result_type(getattr(md, a), getattr(md, b)) == np.result_type(np.dtype(a), np.dtype(b))
            assert md.can_cast(getattr(md, a), getattr(md, b)) == np.can_cast(np.dtype(a), np.dtype(b))
    assert md.result_type(md.zeros(2, dtype=md.float32), 1.0) == np.float32  # a Python scalar takes the tensor's dtype


def test_finfo_and_iinfo_give_python_numbers():
    f = md.finfo(md.float32)
    assert isinstance(f.eps, float) and f.eps == float(np.finfo(np.float32).eps)
    assert f.smallest_normal == float(np.finfo(np.float32).smallest_normal) and f.bits == 32
    assert md.finfo(md.complex64).dtype == np.float32
    i = md.iinfo(md.ones(2, dtype=md.uint8))
    assert (i.min, i.max, i.bits) == (0, 255, 8)


# ---------------------------------------------------------------------------- data-dependent results


def test_unique_functions_and_nonzero_against_numpy():
    x = np.array([[3.0, 1.0, np.nan], [3.0, np.nan, 2.0]])
    got = md.unique_all(md.Tensor(x))
    want = np.unique_all(x)
    for name in ("values", "indices", "inverse_indices", "counts"):
        np.testing.assert_array_equal(getattr(got, name).numpy(), getattr(want, name))
    assert md.unique_counts(md.Tensor(x)).counts.shape == (5,)  # each NaN is distinct
    np.testing.assert_array_equal(md.unique_values(md.Tensor(x)).numpy(), np.unique_values(x))
    for got_axis, want_axis in zip(md.nonzero(md.Tensor(x)), np.nonzero(x)):
        np.testing.assert_array_equal(got_axis.numpy(), want_axis)


def test_unique_values_pass_the_gradient_to_first_occurrences():
    x = md.Tensor([2.0, 1.0, 2.0], allow_grad=True)
    (md.unique_values(x) * md.Tensor([10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [100.0, 10.0, 0.0])


def test_searchsorted_against_numpy():
    a, v = np.array([1.0, 2.0, 2.0, 5.0]), np.array([[2.0, 0.0], [6.0, 2.5]])
    for side in ("left", "right"):
        np.testing.assert_array_equal(md.searchsorted(md.Tensor(a), md.Tensor(v), side=side).numpy(),
                                      np.searchsorted(a, v, side=side))


# ---------------------------------------------------------------------------- named tuples


def test_linalg_results_are_named_tuples():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 3))
    spd = a @ a.T + 3 * np.eye(3)
    eigh = md.linalg.eigh(md.Tensor(spd))
    np.testing.assert_allclose(eigh.eigenvalues.numpy(), np.linalg.eigvalsh(spd))
    assert eigh[0] is eigh.eigenvalues and isinstance(eigh, tuple)
    svd = md.linalg.svd(md.Tensor(a), full_matrices=False)
    np.testing.assert_allclose((svd.U * svd.S[None, :]) @ svd.Vh, md.Tensor(a), atol=1e-12)
    qr = md.linalg.qr(md.Tensor(a))
    np.testing.assert_allclose((qr.Q @ qr.R).numpy(), a, atol=1e-12)
    sign, logabsdet = np.linalg.slogdet(a)
    got = md.linalg.slogdet(md.Tensor(a))
    assert got.sign.item() == sign and got.logabsdet.item() == pytest.approx(logabsdet)


# ---------------------------------------------------------------------------- gradients through the standard's names


def test_gradient_through_standard_spelled_code():
    x = md.Tensor([[1.0, -2.0], [0.5, 3.0]], allow_grad=True)
    xp = x.__array_namespace__()
    y = xp.sum(xp.pow(x, 2), axis=0)  # column sums of squares
    xp.sum(y * xp.asarray([1.0, 10.0])).backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() * np.array([1.0, 10.0]))


def test_gradients_of_the_new_composites_match_closed_forms():
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    x = md.Tensor(a, allow_grad=True)
    md.sum(md.vecdot(x, x)).backward()  # d/dx sum(x . x) = 2x
    np.testing.assert_allclose(x.grad.numpy(), 2 * a)
    md.sum(md.cumulative_sum(x, axis=1, include_initial=True)).backward()  # element j counts n - j times
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to([3.0, 2.0, 1.0], a.shape))
    md.sum(md.unstack(x, axis=1)[2] * md.acos(md.asarray(0.5))).backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, 0.0, np.pi / 3]] * 2)
    md.sum(md.matrix_transpose(x) * md.Tensor(a.T)).backward()
    np.testing.assert_allclose(x.grad.numpy(), a)
