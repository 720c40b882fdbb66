"""NumPy's call forms and NumPy functions that need no gradient, on Tensors.

The call forms NumPy accepts (einsum's interleaved sublists, stacking one array, the array
API standard's keyword spellings) are compared with NumPy on plain arrays and their
gradients with central finite differences. NumPy functions minidiff has no op for are
answered by NumPy on the values when no gradient is lost, and raise, naming the function,
only when a floating-point answer would need one."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

import minidiff as md
from minidiff import interop
from minidiff.interop import NotDifferentiableError
from minidiff.testing import gradcheck, gradgradcheck

# ---------------------------------------------------------------------------- einsum's sublist form

SUBLIST_CASES = [
    # (NumPy's interleaved arguments with shapes in place of arrays, the same as subscripts)
    (((3, 4), [0, 1], (4, 5), [1, 2], [0, 2]), "ij,jk->ik"),
    (((3, 4), [0, 1], [1, 0]), "ij->ji"),
    (((3, 4), [1, 0]), "ji"),  # implicit output: the labels in increasing order
    (((3, 4), [30, 1], (4,), [1]), "ij,j"),
    (((2, 3, 3), [Ellipsis, 0, 0], [Ellipsis, 0]), "...ii->...i"),
    (((3,), [0], (3,), [0], []), "i,i->"),
]


def _arrays(spec, rng):
    return [rng.standard_normal(a) if isinstance(a, tuple) else a for a in spec]


@pytest.mark.parametrize("spec, subscripts", SUBLIST_CASES)
def test_einsum_sublist_form_matches_numpy_and_subscripts(spec, subscripts, rng):
    args = _arrays(spec, rng)
    expected = np.einsum(*args)
    operands = [a for a in args if isinstance(a, np.ndarray)]
    np.testing.assert_allclose(np.einsum(subscripts, *operands), expected)  # the case is what it says
    tensors = [md.Tensor(a, allow_grad=True) if isinstance(a, np.ndarray) else a for a in args]
    for got in (md.einsum(*tensors), np.einsum(*tensors)):
        assert isinstance(got, md.Tensor) and got.shape == expected.shape
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("spec, subscripts", SUBLIST_CASES[:5])
def test_einsum_sublist_form_gradients(spec, subscripts, rng):
    args = _arrays(spec, rng)
    positions = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]

    def f(*operands):
        filled = list(args)
        for i, x in zip(positions, operands):
            filled[i] = x
        return np.einsum(*filled)

    operands = [args[i] for i in positions]
    gradcheck(f, *operands)
    gradgradcheck(f, *operands)


# ---------------------------------------------------------------------------- stacking one array


@pytest.mark.parametrize("name", ["vstack", "hstack", "dstack", "column_stack"])
@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 3, 2)])
def test_stacking_one_array_joins_its_rows(name, shape, rng):
    a = rng.standard_normal(shape)
    expected = getattr(np, name)(a)
    for got in (getattr(np, name)(md.Tensor(a, allow_grad=True)), getattr(md, name)(md.Tensor(a)), getattr(md, name)(a)):
        assert isinstance(got, md.Tensor) and got.shape == expected.shape
        np.testing.assert_array_equal(got.numpy(), expected)
    gradcheck(lambda x: getattr(np, name)(x) * np.arange(expected.size).reshape(expected.shape), a)


def test_stacking_a_0d_array_is_refused_as_numpy_does():
    with pytest.raises(TypeError):
        np.vstack(np.float64(1.0))  # NumPy refuses it too
    with pytest.raises(TypeError, match="0-d"):
        md.vstack(md.Tensor(1.0))


def test_row_stack_follows_the_installed_numpy():
    a = np.arange(6.0).reshape(2, 3)
    if not hasattr(np, "row_stack"):
        pytest.skip("this NumPy has no row_stack")
    with warnings.catch_warnings(record=True) as expected_warnings:
        warnings.simplefilter("always")
        expected = np.row_stack(a)
    with warnings.catch_warnings(record=True) as got_warnings:
        warnings.simplefilter("always")
        got = np.row_stack(md.Tensor(a, allow_grad=True))
    assert [w.category for w in got_warnings] == [w.category for w in expected_warnings]
    assert isinstance(got, md.Tensor) and got.allow_grad
    np.testing.assert_array_equal(got.numpy(), expected)


# ---------------------------------------------------------------------------- keyword spellings


@pytest.mark.parametrize("name", ["var", "std"])
def test_correction_is_ddof(name, rng):
    a = rng.standard_normal((3, 4))
    expected = getattr(np, name)(a, axis=1, correction=1)
    for function in (getattr(md, name), getattr(np, name)):
        got = function(md.Tensor(a), axis=1, correction=1)
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    gradcheck(lambda x: getattr(md, name)(x, axis=0, correction=2), a)
    gradgradcheck(lambda x: getattr(md, name)(x, correction=1), a)
    with pytest.raises(ValueError, match="not both"):
        getattr(md, name)(md.Tensor(a), ddof=1, correction=1)


# NumPy's clip takes min=/max= and an omitted bound from 2.1 on
NUMPY_CLIP_TAKES_MIN_MAX = np.lib.NumpyVersion(np.__version__) >= "2.1.0"


def test_clip_min_max_keywords(rng):
    a = rng.standard_normal((3, 4))
    expected = np.clip(a, -0.5, 0.5)
    for function in (md.clip, np.clip) if NUMPY_CLIP_TAKES_MIN_MAX else (md.clip,):
        np.testing.assert_array_equal(function(md.Tensor(a), min=-0.5, max=0.5).numpy(), expected)
        np.testing.assert_array_equal(function(md.Tensor(a), max=0.2).numpy(), np.clip(a, None, 0.2))
    gradcheck(lambda x: md.clip(x, min=-0.5) * np.arange(12.0).reshape(3, 4), a)
    with pytest.raises(TypeError, match="multiple values for argument 'min'"):  # min is the standard's positional name
        md.clip(md.Tensor(a), -1.0, 1.0, min=0.0)
    with pytest.raises(ValueError, match="not both"):
        md.clip(md.Tensor(a), -1.0, a_max=1.0)
    with pytest.raises(TypeError, match="unexpected"):
        md.clip(md.Tensor(a), low=0.0)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int64])
def test_clip_with_an_omitted_bound_keeps_an_integer_dtype(dtype):
    a = np.array([0, 3, 7, 100], dtype=dtype)
    calls = [lambda x: np.clip(x, None, 5), lambda x: np.clip(x, 2, None)]
    if NUMPY_CLIP_TAKES_MIN_MAX:
        calls.append(lambda x: np.clip(x, max=5))
    for call in calls:
        expected = call(a)
        for got in (call(md.Tensor(a)),):
            assert got.dtype == expected.dtype == dtype
            np.testing.assert_array_equal(got.numpy(), expected)
    assert md.clip(md.Tensor(a), min=2).dtype == dtype
    assert md.clip(md.Tensor(a), None, 2.5).dtype == np.clip(a, None, 2.5).dtype  # a float bound promotes


@pytest.mark.parametrize("name", ["sum", "prod"])
def test_sum_and_prod_take_dtype(name, rng):
    a = rng.uniform(0.5, 1.5, (3, 4))
    for dtype in (np.float32, np.float64):
        expected = getattr(np, name)(a, axis=0, dtype=dtype)
        for function in (getattr(md, name), getattr(np, name)):
            got = function(md.Tensor(a), axis=0, dtype=dtype)
            assert got.dtype == expected.dtype
            np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)
    small = np.array([100, 100, 100], dtype=np.int8)
    wrapped = getattr(np, name)(small, dtype=np.int8)  # int8 accumulation wraps
    assert getattr(md, name)(md.Tensor(small), dtype=np.int8).numpy() == wrapped
    gradcheck(lambda x: getattr(md, name)(x, axis=1, dtype=np.float64), a)
    gradgradcheck(lambda x: getattr(md, name)(x, dtype=np.float64), a)


# ---------------------------------------------------------------------------- NumPy on the values


def test_without_grad_numpy_answers_on_the_values(tmp_path, rng):
    a = rng.standard_normal((4, 5))
    t = md.Tensor(a)
    counts, edges = np.histogram(t, bins=3)
    expected_counts, expected_edges = np.histogram(a, bins=3)
    assert type(counts) is np.ndarray and type(edges) is np.ndarray  # NumPy's own answer
    np.testing.assert_array_equal(counts, expected_counts)
    np.testing.assert_array_equal(edges, expected_edges)
    np.testing.assert_array_equal(np.unique(t), np.unique(a))
    np.testing.assert_allclose(np.cov(t), np.cov(a))
    np.testing.assert_allclose(np.linspace(md.Tensor(0.0), md.Tensor(1.0), 5), np.linspace(0.0, 1.0, 5))
    np.save(tmp_path / "t.npy", t)
    np.testing.assert_array_equal(np.load(tmp_path / "t.npy"), a)
    # a ufunc without an op, with two outputs
    mantissa, exponent = np.frexp(t)
    np.testing.assert_array_equal(mantissa, np.frexp(a)[0])
    np.testing.assert_array_equal(exponent, np.frexp(a)[1])


def test_under_no_grad_tensors_that_allow_grad_pass_too(rng):
    a = rng.standard_normal((4, 5))
    x = md.Tensor(a, allow_grad=True)
    with md.no_grad():
        np.testing.assert_allclose(np.cov(x), np.cov(a))
        np.testing.assert_array_equal(np.fmod(x, 0.5), np.fmod(a, 0.5))
    with pytest.raises(NotDifferentiableError):
        np.cov(x)


def test_integer_and_boolean_answers_pass_with_grad(rng):
    a = rng.standard_normal((3, 4))
    x = md.Tensor(a, allow_grad=True)
    checks = [
        (np.argsort(x, axis=1), np.argsort(a, axis=1)),
        (np.searchsorted(md.Tensor(np.sort(a[0]), allow_grad=True), x[1]), np.searchsorted(np.sort(a[0]), a[1])),
        (np.isclose(x, a + 1e-12), np.isclose(a, a + 1e-12)),
        (np.count_nonzero(x > 0), np.count_nonzero(a > 0)),
        (np.argpartition(x, 1, axis=None), np.argpartition(a, 1, axis=None)),
    ]
    for got, expected in checks:
        assert not isinstance(got, md.Tensor)
        np.testing.assert_array_equal(got, expected)
    assert np.allclose(x, a) and np.array_equal(x, a)
    # md.signbit (the Array API's) answers the ufunc np.signbit, as md.isnan answers np.isnan
    sign = np.signbit(x)
    assert isinstance(sign, md.Tensor) and not sign.allow_grad
    np.testing.assert_array_equal(sign.numpy(), np.signbit(a))
    # md.isin answers np.isin: a bool Tensor that never allows grad
    found = np.isin(x, a[0])
    assert isinstance(found, md.Tensor) and not found.allow_grad
    np.testing.assert_array_equal(found.numpy(), np.isin(a, a[0]))
    assert np.nonzero(x > 0)[0].tolist() == np.nonzero(a > 0)[0].tolist()


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda x: np.histogram(x), "numpy.histogram"),
        (lambda x: np.unique(x), "numpy.unique"),
        (lambda x: np.unique(x, return_counts=True), "numpy.unique"),  # counts are fine, the values are not
        (lambda x: np.cov(x), "numpy.cov"),
        (lambda x: np.frexp(x), "numpy.frexp"),
        (lambda x: np.fill_diagonal(x, 0.0), "numpy.fill_diagonal"),
        (lambda x: np.add.at(x, [0], 1.0), "numpy.add.at"),
    ],
)
def test_a_float_answer_that_needs_a_gradient_raises_naming_the_function(call, name, rng):
    x = md.Tensor(rng.standard_normal((3, 3)), allow_grad=True)
    before = x.numpy().copy()
    with pytest.raises(TypeError, match="not differentiable in minidiff") as info:
        call(x)
    message = str(info.value)
    assert isinstance(info.value, NotDifferentiableError)
    assert message.startswith(name + " ")
    # points at what an installed minidiff has, not at a file of the repository
    assert "python -m minidiff.interop" in message and "https://" in message
    assert "md.no_grad()" in message and ".detach()" in message
    np.testing.assert_array_equal(x.numpy(), before)  # nothing was written


def test_functions_that_write_into_a_tensor_go_through_its_in_place_check():
    t = md.Tensor(np.zeros((3, 3)))
    np.fill_diagonal(t, 2.0)
    np.testing.assert_array_equal(t.numpy(), 2.0 * np.eye(3))
    v = md.Tensor(np.zeros(4))
    np.add.at(v, [0, 0, 2], 1.0)  # repeated indices accumulate
    np.testing.assert_array_equal(v.numpy(), [2.0, 0.0, 1.0, 0.0])
    # a tensor a recorded graph saved: changing it makes backward raise, not lie
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    c = md.Tensor([3.0, 4.0])
    y = md.sum(x * c)
    np.copyto(c, np.array([5.0, 6.0]))
    np.testing.assert_array_equal(c.numpy(), [5.0, 6.0])
    with pytest.raises(RuntimeError):
        y.backward()


def test_writes_reach_tensors_whose_host_array_is_a_copy():
    pytest.importorskip("mlx.core")
    t = md.Tensor(np.zeros((2, 2)), backend="mlx")
    np.fill_diagonal(t, 1.0)
    np.testing.assert_array_equal(t.numpy(), np.eye(2))
    counts, _ = np.histogram(md.Tensor(np.array([0.0, 1.0, 1.0]), backend="mlx"), bins=2)
    np.testing.assert_array_equal(counts, [1, 2])


# ---------------------------------------------------------------------------- numpy.linalg's copies


def test_linalg_copies_of_array_api_functions(rng):
    a = rng.standard_normal((2, 3, 3))
    x = md.Tensor(a, allow_grad=True)
    np.testing.assert_allclose(np.linalg.trace(x, offset=1).numpy(), np.linalg.trace(a, offset=1))
    np.testing.assert_allclose(np.linalg.diagonal(x, offset=-1).numpy(), np.linalg.diagonal(a, offset=-1))
    np.testing.assert_allclose(np.linalg.matmul(x, x).numpy(), np.linalg.matmul(a, a))
    np.testing.assert_allclose(np.linalg.matrix_transpose(x).numpy(), np.linalg.matrix_transpose(a))
    np.testing.assert_allclose(np.linalg.outer(x[0, 0], x[0, 1]).numpy(), np.linalg.outer(a[0, 0], a[0, 1]))
    np.testing.assert_allclose(np.linalg.tensordot(x[0], x[1], axes=1).numpy(), np.linalg.tensordot(a[0], a[1], axes=1))
    gradcheck(lambda m: np.linalg.trace(np.linalg.matmul(m, m)) + np.sum(np.linalg.diagonal(m) ** 2), a)
    with pytest.raises(ValueError, match="1-D"):
        np.linalg.outer(x, x)


# ---------------------------------------------------------------------------- the count


def test_coverage_counts_every_public_function_once():
    kinds = interop.coverage()
    names = [name for group in kinds.values() for name in group]
    assert len(names) == len(set(names))
    public = {n for n in dir(np) if not n.startswith("_") and callable(getattr(np, n)) and not isinstance(getattr(np, n), type)}
    public |= {f"linalg.{n}" for n in dir(np.linalg)  # callable: NumPy < 2.4 still has the module linalg.linalg
               if not n.startswith("_") and callable(getattr(np.linalg, n)) and not isinstance(getattr(np.linalg, n), type)}
    added = {"expm1x"}  # numexpr sets numpy.expm1x when imported (md.compile's fusion imports it)
    assert set(names) == public - {"test", "linalg.test"} - added
    assert {"sum", "sin", "einsum", "vstack", "row_stack", "linalg.trace"} <= set(kinds["differentiated"])
    assert {"argsort", "count_nonzero", "isclose", "searchsorted"} <= set(kinds["passed through"])
    assert {"histogram", "unique", "cov", "fmod"} <= set(kinds["raises with grad"])
    assert {"argmax", "isnan", "signbit", "zeros"} <= set(kinds["answered by an op"])
    assert {"seterr", "asarray", "load"} <= set(kinds["not dispatched"])


def test_coverage_is_printed_and_in_the_docs():
    result = subprocess.run(
        [sys.executable, "-m", "minidiff.interop", "--coverage"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    kinds = interop.coverage()
    for kind, names in kinds.items():
        assert f"{len(names):5}  {kind}:" in result.stdout
    assert f"minidiff differentiates {len(kinds['differentiated'])}," in interop.markdown()
