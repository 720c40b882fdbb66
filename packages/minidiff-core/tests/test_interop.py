"""NumPy interop: NumPy's functions and ufuncs on Tensors return differentiable Tensors.

Every check compares the values with NumPy's on plain arrays and the gradients with
central finite differences (`gradcheck`), including a function written only against
NumPy, `out=` and `where=` on ufuncs and reductions, and the errors for what minidiff
cannot differentiate."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import minidiff as md
from minidiff import interop, plugins
from minidiff.interop.protocol import _lookup
from minidiff.interop.report import _numpy_function
from minidiff.optable import functions
from minidiff.testing import gradcheck, gradgradcheck

ROOT = Path(__file__).resolve().parents[3]

# A third-party function written against NumPy only: no minidiff in its source or namespace.
NUMPY_ONLY = textwrap.dedent(
    """
    import numpy as np

    def model(w, x):
        h = np.tanh(x @ w)
        h = np.concatenate([h, np.ones((h.shape[0], 1))], axis=1)
        scores = np.einsum("ij,j->i", h, np.linspace(0.5, 1.5, h.shape[1]))
        gram = w @ w.T
        penalty = np.sum(np.square(w)) + np.trace(np.outer(w[0], w[1])) + np.sum(np.tril(gram)) - np.sum(np.diag(gram))
        stacked = np.vstack([w, np.hstack([w[:, :2], w[:, 2:]])])
        spread = np.std(h[:, :-1], axis=0).mean() + np.max(np.abs(np.diff(scores)))
        return np.mean(np.log1p(np.exp(-scores))) + 0.1 * penalty + spread + 0.01 * np.sum(stacked ** 2)
    """
)


def numpy_only_model():
    namespace: dict = {}
    exec(compile(NUMPY_ONLY, "<numpy-only>", "exec"), namespace)
    assert "minidiff" not in NUMPY_ONLY and "md" not in namespace
    return namespace["model"]


def test_a_function_written_only_against_numpy_is_differentiated_through_tensors(rng):
    model = numpy_only_model()
    w, x = rng.standard_normal((3, 4)), rng.standard_normal((5, 3))
    value = model(md.Tensor(w), md.Tensor(x))
    assert isinstance(value, md.Tensor)
    assert value.item() == pytest.approx(float(model(w, x)), rel=1e-12)  # the same function on arrays
    gradcheck(model, w, x)
    gradgradcheck(model, w, x, mode="direction")


def test_numpy_only_function_under_the_transforms(rng):
    model = numpy_only_model()
    w, x = rng.standard_normal((3, 4)), rng.standard_normal((5, 3))
    g = md.grad(model)(w, x)
    assert g.shape == (3, 4)
    hv = md.hvp(lambda w: model(w, x), w, np.ones((3, 4)))[1]
    expected = (md.grad(model)(w + 1e-5, x).numpy() - md.grad(model)(w - 1e-5, x).numpy()) / 2e-5
    np.testing.assert_allclose(hv.numpy(), expected, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- one call at a time

A34, B42, C23 = (3, 4), (4, 2), (2, 3)
CALLS = {
    "sin": (lambda a: np.sin(a), [A34]),
    "exp-log": (lambda a: np.log(np.exp(a) + 1.0), [A34]),
    "sum-axis": (lambda a: np.sum(a, axis=0), [A34]),
    "sum-keepdims": (lambda a: np.sum(a, axis=(0, 1), keepdims=True), [(2, 3, 4)]),
    "mean": (lambda a: np.mean(a, axis=1), [A34]),
    "prod": (lambda a: np.prod(a, axis=-1), [A34]),
    "max": (lambda a: np.max(a, axis=0), [A34]),
    "amin": (lambda a: np.amin(a), [A34]),
    "var": (lambda a: np.var(a, axis=0, ddof=1), [A34]),
    "std": (lambda a: np.std(a), [A34]),
    "cumsum": (lambda a: np.cumsum(a, axis=1), [A34]),
    "average": (lambda a: np.average(a, axis=1, weights=np.array([1.0, 2.0, 3.0, 4.0])), [A34]),
    "matmul": (lambda a, b: np.matmul(a, b), [A34, B42]),
    "dot": (lambda a, b: np.dot(a, b), [A34, B42]),
    "einsum": (lambda a, b: np.einsum("ij,jk->ik", a, b), [A34, B42]),
    "tensordot": (lambda a, b: np.tensordot(a, b, axes=1), [A34, B42]),
    "outer": (lambda a, b: np.outer(a, b), [(3,), (4,)]),
    "inner": (lambda a, b: np.inner(a, b), [A34, (2, 4)]),
    "trace": (lambda a: np.trace(a, offset=1), [A34]),
    "concatenate": (lambda a, b: np.concatenate([a, b], axis=1), [C23, (2, 2)]),
    "stack": (lambda a, b: np.stack([a, b], axis=-1), [C23, C23]),
    "vstack": (lambda a, b: np.vstack([a, b]), [C23, (3,)]),
    "hstack": (lambda a, b: np.hstack([a, b]), [C23, (2, 1)]),
    "where": (lambda a, b: np.where(a > 0, a, b), [A34, A34]),
    "clip": (lambda a: np.clip(a, -0.5, 0.5), [A34]),
    "transpose": (lambda a: np.transpose(a, (1, 0)), [A34]),
    "reshape": (lambda a: np.reshape(a, (4, 3)), [A34]),
    "ravel": (lambda a: np.ravel(a), [A34]),
    "tril": (lambda a: np.tril(a, -1), [A34]),
    "triu": (lambda a: np.triu(a, 1), [A34]),
    "diag-2d": (lambda a: np.diag(a), [A34]),
    "diag-1d": (lambda v: np.diag(v, 1), [(3,)]),
    "diagonal": (lambda a: np.diagonal(a, 0, 2, 0), [(2, 3, 4)]),
    "atleast_2d": (lambda a: np.atleast_2d(a), [(3,)]),
    "diff": (lambda a: np.diff(a, n=2, axis=1), [A34]),
    "swapaxes-flip": (lambda a: np.flip(np.swapaxes(a, 0, 1), axis=0), [A34]),
    "pad": (lambda a: np.pad(a, 1), [A34]),
    "power": (lambda a: np.power(a, 3), [A34]),
    "abs-maximum": (lambda a, b: np.maximum(np.abs(a), b), [A34, A34]),
    "ndarray-left": (lambda a: np.arange(12.0).reshape(3, 4) * a + np.ones(4) - a / np.full(4, 2.0), [A34]),
    "ndarray-matmul": (lambda a: np.arange(6.0).reshape(2, 3) @ a, [A34]),
    "copy": (lambda a: np.copy(a) * 2, [A34]),
    "add.reduce": (lambda a: np.add.reduce(a, axis=1), [A34]),
    "maximum.reduce": (lambda a: np.maximum.reduce(a), [A34]),
    "add.accumulate": (lambda a: np.add.accumulate(a), [A34]),
    "multiply.outer": (lambda a, b: np.multiply.outer(a, b), [(3,), (2,)]),
    "dtype": (lambda a: np.multiply(a, a, dtype=np.float64), [A34]),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_numpy_call_on_tensors_matches_numpy_and_finite_differences(name, rng):
    f, shapes = CALLS[name]
    inputs = [rng.uniform(-2.0, 2.0, size=shape) for shape in shapes]
    got = f(*[md.Tensor(a) for a in inputs])
    expected = f(*inputs)
    assert isinstance(got, md.Tensor), f"np call {name} returned {type(got).__name__}"
    assert got.shape == np.shape(expected) and got.dtype == np.asarray(expected).dtype
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-12)
    gradcheck(f, *inputs)


def test_numpy_linalg_maps_to_md_linalg(rng):
    plugins.load()
    if "linalg.solve" not in functions:
        pytest.skip("no installed op pack registers md.linalg.solve")
    a = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((3, 2))
    got = np.linalg.solve(md.Tensor(a), md.Tensor(b))
    assert isinstance(got, md.Tensor)
    np.testing.assert_allclose(got.numpy(), np.linalg.solve(a, b), rtol=1e-10)
    gradcheck(lambda a, b: np.linalg.solve(a, b), a, b)


def test_any_linalg_op_is_reached_by_its_numpy_name(monkeypatch):
    # the mapping is by name, straight from the registry: numpy.linalg.X -> md.linalg.X
    plugins.load()
    fake = functions["add"]
    monkeypatch.setitem(functions, "linalg.cross", fake)
    x = md.Tensor([[1.0, 2.0, 3.0]], allow_grad=True)
    out = np.linalg.cross(x, x)
    assert out.node is not None and out.node.op.name == "add"


def test_ndarray_on_the_left_gives_tensors():
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    a = np.array([3.0, 4.0])
    for result in (a + x, a * x, a - x, a / x, a @ x, a**x, np.float64(2.0) * x):
        assert isinstance(result, md.Tensor) and result.allow_grad
    assert isinstance(a == x, md.Tensor) and not (a == x).allow_grad
    (a @ x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), a)


def test_asarray_gives_the_host_array():
    x = md.Tensor([[1.0, 2.0]], allow_grad=True)
    host = np.asarray(x)
    assert type(host) is np.ndarray and host.dtype == np.float64
    np.testing.assert_array_equal(host, [[1.0, 2.0]])
    assert np.asarray(x, dtype=np.float32).dtype == np.float32


def test_queries_just_answer():
    x = md.Tensor(np.arange(12, dtype=np.float32).reshape(3, 4), allow_grad=True)
    assert np.shape(x) == (3, 4) and np.ndim(x) == 2 and np.size(x) == 12 and np.size(x, 1) == 4
    assert np.result_type(x, 1.0) == np.float32
    assert np.result_type(x, np.float64) == np.float64
    assert np.allclose(x, x.numpy()) and np.array_equal(x, np.arange(12).reshape(3, 4))
    np.testing.assert_array_equal(np.argsort(md.Tensor([3.0, 1.0, 2.0])), [1, 2, 0])
    np.testing.assert_array_equal(np.count_nonzero(x > 5), 6)
    assert "array(" in np.array_repr(x)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda x: np.nanmedian(x), "numpy.nanmedian"),
        (lambda x: np.nancumprod(x), "numpy.nancumprod"),
        (lambda x: np.unwrap(x), "numpy.unwrap"),
        (lambda x: np.i0(x), "numpy.i0"),
        (lambda x: np.fmod(x, 1.5), "numpy.fmod"),
        (lambda x: np.modf(x), "numpy.modf"),
        (lambda x: np.add.at(x, [0], 1.0), "numpy.add.at"),
        (lambda x: np.linspace(x, x + 1, 3), "numpy.linspace"),
    ],
)
def test_unsupported_numpy_functions_raise_a_minidiff_error(call, name):
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    with pytest.raises(TypeError, match="not differentiable in minidiff") as info:
        call(x)
    assert name in str(info.value)


def test_unsupported_linalg_names_the_op_pack(monkeypatch):
    plugins.load()
    monkeypatch.delitem(functions, "linalg.slogdet", raising=False)
    with pytest.raises(TypeError, match=r"numpy\.linalg\.slogdet is not differentiable in minidiff.*minidiff-ops-linalg"):
        np.linalg.slogdet(md.Tensor(np.eye(2), allow_grad=True))


# ---------------------------------------------------------------------------- out= and where= on ufuncs


def test_ufunc_out_tensor_becomes_the_result_in_the_graph():
    x = md.Tensor([1.0, 2.0, 3.0], allow_grad=True)
    out = md.zeros(3)
    result = np.multiply(x, x, out=out)
    assert result is out and out.allow_grad
    np.testing.assert_array_equal(out.numpy(), [1.0, 4.0, 9.0])
    np.sum(out).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])


def test_ufunc_out_accumulates_through_its_old_value(rng):
    def f(x):
        acc = np.zeros_like(x)
        for k in range(1, 4):
            np.add(acc, np.sin(k * x), out=acc)
        np.multiply(acc, acc, out=acc)
        return np.sum(acc)

    x = rng.uniform(-1, 1, 4)
    assert f(md.Tensor(x)).item() == pytest.approx(f(x))
    gradcheck(f, x)
    gradgradcheck(f, x)


def test_ufunc_out_casts_and_broadcasts_as_numpy_does():
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    out32 = md.zeros((2, 2), dtype=np.float32)
    np.add(x, 1.0, out=out32)  # float64 result into float32: same kind
    assert out32.dtype == np.float32 and out32.allow_grad
    np.testing.assert_array_equal(out32.numpy(), [[2.0, 3.0], [2.0, 3.0]])
    np.sum(out32).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    with pytest.raises(TypeError, match="cannot cast"):
        np.add(x, 1.0, out=md.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match="does not fit out="):
        np.add(x, 1.0, out=md.zeros(3))


def test_ufunc_out_refuses_what_would_lose_a_gradient():
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    with pytest.raises(RuntimeError, match="allows grad"):
        np.add(x, 1.0, out=x)
    host = np.zeros(2)
    with pytest.raises(TypeError, match="NumPy array cannot hold"):
        np.add(x, 1.0, out=host)
    with pytest.raises(TypeError, match="NumPy array cannot hold"):
        host += x
    # without a gradient to lose, NumPy's semantics: the array is written
    np.add(md.Tensor([1.0, 2.0]), 1.0, out=host)
    np.testing.assert_array_equal(host, [2.0, 3.0])
    # a parameter update in no-grad mode writes the values and keeps the leaf
    with md.no_grad():
        np.subtract(x, 0.5, out=x)
    assert x.is_leaf and x.allow_grad
    np.testing.assert_array_equal(x.numpy(), [0.5, 1.5])


def test_ufunc_where_computes_only_where_true_and_keeps_out_elsewhere():
    x = md.Tensor([-1.0, 0.0, 2.0, 4.0], allow_grad=True)
    y = md.Tensor([10.0, 20.0, 30.0, 40.0], allow_grad=True)
    out = y * 1.0
    with np.errstate(all="raise"):  # log is never evaluated at -1 or 0
        np.log(x, where=np.asarray(x) > 0, out=out)
    np.testing.assert_allclose(out.numpy(), [10.0, 20.0, np.log(2.0), np.log(4.0)])
    np.sum(out).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0, 0.5, 0.25])  # no NaN from the masked-out log
    np.testing.assert_allclose(y.grad.numpy(), [1.0, 1.0, 0.0, 0.0])


def test_ufunc_where_without_out_and_with_a_tensor_mask(rng):
    mask = np.array([True, False, True, True])
    result = np.sqrt(md.Tensor([4.0, -1.0, 9.0, 1.0]), where=md.Tensor(mask))
    np.testing.assert_array_equal(result.numpy(), [2.0, 0.0, 3.0, 1.0])  # zeros where NumPy leaves garbage
    x, y = rng.uniform(0.5, 2, (3, 4)), rng.uniform(0.5, 2, 4)
    m = rng.uniform(size=(3, 4)) > 0.5
    gradcheck(lambda x, y: np.divide(x, y, where=m), x, y)
    gradgradcheck(lambda x, y: np.divide(x, y, where=m), x, y)


# ---------------------------------------------------------------------------- where= on reductions

MASK = np.array([[True, False, True, True], [False, True, True, False], [True, True, False, True]])
REDUCTIONS = {
    "sum": lambda a: np.sum(a, where=MASK),
    "sum-axis-initial": lambda a: np.sum(a, axis=1, where=MASK, initial=0.5),
    "mean": lambda a: np.mean(a, where=MASK),
    "mean-axis": lambda a: np.mean(a, axis=0, where=MASK, keepdims=True),
    "prod": lambda a: np.prod(a, axis=1, where=MASK),
    "var": lambda a: np.var(a, axis=1, where=MASK),
    "std-ddof": lambda a: np.std(a, where=MASK, ddof=1),
    "max": lambda a: np.max(a, axis=0, where=MASK, initial=-5.0),
    "min": lambda a: np.min(a, where=MASK, initial=5.0),
    "row-mask": lambda a: np.sum(a, axis=0, where=np.array([True, False, True, False])),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions_with_where_match_numpy_and_finite_differences(name, rng):
    f = REDUCTIONS[name]
    x = rng.uniform(0.5, 2.0, (3, 4))
    np.testing.assert_allclose(f(md.Tensor(x)).numpy(), f(x), rtol=1e-12)
    gradcheck(f, x)


def test_masked_out_infinities_do_not_reach_the_gradient():
    mask = np.array([True, False, True])
    for f in (lambda a: np.sum(a * 2.0, where=mask), lambda a: np.mean(a, where=mask), lambda a: np.var(a, where=mask)):
        x = md.Tensor([1.0, np.inf, 3.0], allow_grad=True)
        value = f(x)
        assert np.isfinite(value.item())
        value.backward()
        assert np.isfinite(x.grad.numpy()).all() and x.grad.numpy()[1] == 0.0


def test_where_mask_must_fit_the_input():
    with pytest.raises(ValueError, match="does not broadcast"):
        np.sum(md.Tensor(np.ones((2, 3))), where=np.ones((4, 3), dtype=bool))
    with pytest.raises(ValueError, match="initial"):
        np.max(md.Tensor(np.ones(3)), where=np.array([True, False, True]))


def test_reduction_out():
    x = md.Tensor(np.arange(6.0).reshape(2, 3), allow_grad=True)
    out = md.zeros(3)
    assert np.sum(x, axis=0, out=out) is out
    np.testing.assert_array_equal(out.numpy(), [3.0, 5.0, 7.0])
    np.sum(out * np.array([1.0, 2.0, 3.0])).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])


def test_where_with_one_argument_gives_indices():
    rows, cols = np.where(md.Tensor([[0.0, 1.0], [2.0, 0.0]]) > 0)
    np.testing.assert_array_equal(rows.numpy(), [0, 1])
    np.testing.assert_array_equal(cols.numpy(), [1, 0])


# ---------------------------------------------------------------------------- the generated list


@pytest.mark.skipif(np.lib.NumpyVersion(np.__version__) < "2.4.0",
                    reason="the committed list is of NumPy 2.4's functions; an older NumPy has fewer")
def test_the_committed_list_matches_the_registry():
    committed = (ROOT / "docs" / "numpy-interop.md").read_text()
    assert committed == interop.markdown(), "docs/numpy-interop.md is stale: run python -m minidiff.interop --markdown > docs/numpy-interop.md"


def test_the_list_is_printed_by_the_module():
    result = subprocess.run([sys.executable, "-m", "minidiff.interop", "--markdown"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == interop.markdown()


def test_every_listed_function_is_supported():
    for name, _, kind, _ in interop.supported():
        function = _numpy_function(name)
        assert function is not None, name
        assert kind == "ufunc" or _lookup(name, function) is not None, name


# every module of the package but `__main__`, which runs the command
MODULES = [interop] + [
    importlib.import_module(f"minidiff.interop.{info.name}")
    for info in pkgutil.iter_modules(interop.__path__)
    if info.name != "__main__"
]


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.failed == 0


def test_the_docstrings_have_examples():
    attempted = {module.__name__: doctest.testmod(module).attempted for module in MODULES}
    assert attempted["minidiff.interop"] >= 5 and attempted["minidiff.interop.report"] >= 1, attempted
