"""The Dask backend: the conformance kit (a representative part of it: see `TestDaskBackend`),
plus what is particular to Dask (laziness, chunks, computing, indexing, random numbers)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import warnings

import dask
import dask.array as da
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minidiff as md
import minidiff_dask
from minidiff import plugins
from minidiff.testing import BackendSuite, gradcheck
from minidiff_dask.backend import DaskBackend
from minidiff_dask.settings import DaskComputeWarning

#: Checks without finite differences cost little on a lazy backend: every case runs.
EVERY_CASE = frozenset({"forward", "no_grad", "float32", "refuses_gradients"})
#: Ops whose first sample runs every check (second order, broadcasting, the same operand
#: twice, batching): one or more per family, and each op with a Dask-specific forward or kernel.
REPRESENTATIVE = frozenset({
    "sin", "exp", "log1p", "multiply", "divide", "power", "maximum", "where", "clip", "heaviside",
    "sum", "mean", "var", "std", "prod", "max", "logsumexp", "cumsum", "cumprod",
    "reshape", "transpose", "concatenate", "pad", "repeat", "getitem", "take_along_axis", "sort", "broadcast_to",
    "matmul", "dot", "tensordot", "einsum",
    "linalg.solve", "linalg.inv", "linalg.det", "linalg.slogdet", "linalg.cholesky", "linalg.eigh", "linalg.svd",
    "linalg.qr", "linalg.vector_norm", "linalg.pinv",
})


class TestDaskBackend(BackendSuite):
    """The conformance kit on Dask, in the part that fits the test budget: every case of the
    checks without finite differences, the first sample of every op for first-order gradients,
    and every check of the first sample of the `REPRESENTATIVE` ops. A first- or second-order
    check computes one graph per element of each input (finite differences), which on Dask
    costs milliseconds each: the whole kit takes about 13 minutes on two cores, so it runs
    with `minidiff check dask` (docs/dask.md), not here. Known gaps are declared by the plugin
    (`minidiff_dask.plugin.EXPECTED_FAILURES`), so `minidiff check dask` expects the same ones."""

    backend = "dask"
    array_module = "dask.array"

    def _params(self, check, cases):
        if check not in EVERY_CASE:
            cases = [
                case for case in cases
                if case.index == 0 and (check == "first_order" or case.op.qualname in REPRESENTATIVE)
            ]
        return super()._params(check, cases)

    @pytest.fixture(autouse=True)
    def _in_this_thread(self):
        # Dask's synchronous scheduler: a conformance case is a small graph, and threads only add overhead
        with dask.config.set(scheduler="sync"), warnings.catch_warnings():
            warnings.simplefilter("ignore", DaskComputeWarning)  # told apart in the tests below
            yield


def test_the_representative_ops_exist():
    assert REPRESENTATIVE <= set(plugins.load().ops), REPRESENTATIVE - set(plugins.load().ops)


def test_registered_through_its_entry_point():
    registry = plugins.load()
    assert registry.backends["dask"].plugin == "dask"
    assert isinstance(md.get_backend("dask"), DaskBackend)
    assert "dask" in md.available_backends()
    assert {key for key in registry.kernels if key[1] == "dask"} == {("getitem", "dask"), ("scatter_add", "dask")}


@pytest.mark.parametrize("module", ["minidiff_dask", *(
    info.name for info in pkgutil.walk_packages(minidiff_dask.__path__, "minidiff_dask.")
)])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


# ---------------------------------------------------------------------------- laziness and computing


def test_ops_and_backward_build_graphs_and_values_compute(nothing_computed):
    x = md.Tensor(np.arange(1.0, 7.0).reshape(2, 3), allow_grad=True, backend="dask")
    y = md.sum(md.exp(x) * x, axis=1)
    y.backward(np.ones(2))
    assert isinstance(x.grad.data, da.Array) and x.grad.shape == (2, 3)
    for read in (x.grad.numpy, lambda: repr(y), y.sum().item, lambda: y.to("numpy")):
        with pytest.raises(Exception, match="was computed"):
            read()


def test_values_reach_the_host_by_every_way():
    host = np.arange(1.0, 7.0).reshape(2, 3)
    x = md.Tensor(host, allow_grad=True, backend="dask")
    y = (md.exp(x) * x).sum()
    y.backward()
    expected = np.exp(host) * (host + 1)
    np.testing.assert_allclose(x.grad.numpy(), expected)
    np.testing.assert_allclose(np.asarray(x.grad), expected)
    assert y.item() == pytest.approx((np.exp(host) * host).sum()) and float(y) == y.item()
    assert "backend='dask'" in repr(x.grad) and f"{y:.3f}" == f"{y.item():.3f}"
    moved = x.grad.to("numpy")
    assert moved.backend.name == "numpy" and moved.dtype == np.float64
    values = md.compute(y, x.grad, md.Tensor([1, 2]))
    assert [type(v) for v in values] == [np.ndarray] * 3
    np.testing.assert_allclose(values[1], expected)


def test_higher_orders_through_the_graph():
    f = lambda x: md.sum(md.sin(x) * x**3)  # noqa: E731
    hessian_diagonal = md.grad(lambda x: md.sum(md.grad(f)(x)))
    host = np.array([0.3, -1.2, 2.0])
    got = hessian_diagonal(md.Tensor(host, backend="dask"))
    expected = -np.sin(host) * host**3 + 6 * np.cos(host) * host**2 + 6 * host * np.sin(host)
    assert isinstance(got.data, da.Array)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    x = md.Tensor(host, allow_grad=True, backend="dask")
    (x**4).sum().backward(allow_higher_order=True)
    x.grad.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 12 * host**2)


# ---------------------------------------------------------------------------- chunks


def test_host_data_takes_the_chunks_setting_and_dask_arrays_keep_theirs():
    host = np.arange(24.0).reshape(6, 4)
    assert md.Tensor(host, backend="dask").data.chunks == ((6,), (4,))  # "auto": small is one chunk
    with minidiff_dask.chunks((2, -1)):
        assert md.Tensor(host, backend="dask").data.chunks == ((2, 2, 2), (4,))
        assert md.Tensor(host).to("dask").data.chunks == ((2, 2, 2), (4,))
        assert md.zeros((6, 4), backend="dask").data.chunks == ((2, 2, 2), (4,))
        assert md.random.randn(6, 4, backend="dask").data.chunks == ((2, 2, 2), (4,))
        given = md.Tensor(da.ones((6, 4), chunks=3), backend="dask")
        assert given.data.chunks == ((3, 3), (3, 1))


def test_results_agree_with_numpy_across_chunk_boundaries():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((7, 5)), rng.standard_normal((5, 3))
    with minidiff_dask.chunks(2):
        x, y = md.Tensor(a, allow_grad=True, backend="dask"), md.Tensor(b, allow_grad=True, backend="dask")
    loss = md.sum(md.cumsum(x @ y, axis=0) ** 2) + md.sum(md.sort(x, axis=0)[::2] * md.max(x, axis=0, keepdims=True))
    loss.backward()
    hx, hy = md.Tensor(a, allow_grad=True), md.Tensor(b, allow_grad=True)
    reference = md.sum(md.cumsum(hx @ hy, axis=0) ** 2) + md.sum(md.sort(hx, axis=0)[::2] * md.max(hx, axis=0, keepdims=True))
    reference.backward()
    got = md.compute(loss, x.grad, y.grad)
    for value, want in zip(got, (reference, hx.grad, hy.grad)):
        np.testing.assert_allclose(value, want.numpy(), rtol=1e-12)


# ---------------------------------------------------------------------------- indexing


def test_indexing_beyond_dasks_own_and_its_gradient():
    host = np.arange(12.0).reshape(3, 4)
    with minidiff_dask.chunks(2):
        x = md.Tensor(host, allow_grad=True, backend="dask")
    for key in [(np.array([0, 2, 2]), np.array([1, 3, 3])), np.array([[0, 1], [2, 2]]), (slice(None), np.array([[0, 3]]))]:
        np.testing.assert_array_equal(x[key].numpy(), host[key])
        assert gradcheck(lambda t: t[key] * t[key], host, backend="dask")


def test_boolean_masks_compute_with_a_warning_and_select_as_numpy():
    host = np.arange(12.0).reshape(3, 4)
    x = md.Tensor(host, allow_grad=True, backend="dask")
    with pytest.warns(DaskComputeWarning, match="shape depends on the values"):
        picked = x[x > 5.0]
    np.testing.assert_array_equal(picked.numpy(), host[host > 5.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DaskComputeWarning)  # the gradient takes the mask lazily
        picked.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (host > 5.0).astype(float))
    with pytest.warns(DaskComputeWarning):
        np.testing.assert_array_equal(md.argwhere(x > 5.0).numpy(), np.argwhere(host > 5.0))


def test_numpy_functions_dask_lacks_run_on_the_host_with_a_warning():
    a = np.array([[2.0, 1.0], [0.5, 3.0]])
    with pytest.warns(DaskComputeWarning, match="linalg.eig has no lazy Dask version"):
        w = md.linalg.eigvals(md.Tensor(a, backend="dask"))
    np.testing.assert_allclose(np.sort_complex(w.numpy()), np.sort_complex(np.linalg.eigvals(a)))


def test_item_assignment_and_in_place_updates():
    host = np.zeros((3, 4))
    with minidiff_dask.chunks(2):
        t = md.Tensor(host, backend="dask")
    for key, value in [
        (np.array([0, 1]), 1.0),
        ((np.array([0, 2]), np.array([1, 3])), np.array([2.0, 3.0])),  # two index arrays: one task
        ((slice(None), 2), np.array([7.0, 8.0, 9.0])),
    ]:
        t[key] = value
        host[key] = value
        np.testing.assert_array_equal(t.numpy(), host)
    t[host > 2.5] = np.array([5.0, 6.0, 7.0, 8.0])  # values through a boolean mask
    host[host > 2.5] = np.array([5.0, 6.0, 7.0, 8.0])
    np.testing.assert_array_equal(t.numpy(), host)
    t -= 1.0
    np.testing.assert_array_equal(t.numpy(), host - 1.0)


def test_scatter_add_is_lazy_and_accumulates(nothing_computed):
    backend = md.get_backend("dask")
    target = backend.from_host(np.zeros(4))
    backend.scatter_add(target, np.array([0, 0, 3, 0]), backend.from_host(np.array([1.0, 2.0, 3.0, 4.0])))
    with dask.config.set(scheduler="sync"):
        np.testing.assert_array_equal(backend.to_host(target), [7.0, 0.0, 0.0, 3.0])


# ---------------------------------------------------------------------------- random


def test_random_draws_are_lazy_and_reproducible(nothing_computed):
    md.random.seed(3)
    first = md.random.randn(1000, 3, backend="dask")
    md.random.seed(3)
    again = md.random.randn(1000, 3, backend="dask")
    state = md.random.get_state()
    after = md.random.uniform(size=5, backend="dask")
    md.random.set_state(state)
    resumed = md.random.uniform(size=5, backend="dask")
    with dask.config.set(scheduler="sync"):
        np.testing.assert_array_equal(first.numpy(), again.numpy())
        np.testing.assert_array_equal(after.numpy(), resumed.numpy())
        assert abs(first.numpy().mean()) < 0.1 and md.random.randint(5, size=3, backend="dask").dtype == np.int64
    md.random.seed(None)


# ---------------------------------------------------------------------------- any chunking


@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(1, 9),
    columns=st.integers(1, 5),
    row_chunk=st.integers(1, 9),
    column_chunk=st.integers(1, 5),
    axis=st.sampled_from([None, 0, 1, -1, (0, 1)]),
    seed=st.integers(0, 2**16),
)
def test_values_and_gradients_do_not_depend_on_the_chunks(rows, columns, row_chunk, column_chunk, axis, seed):
    # reductions across chunk boundaries, broadcasting back, a product with a small matrix,
    # sorting along an axis: the same values and gradients as the NumPy backend, whatever the chunks
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((rows, columns)), rng.standard_normal((columns, 2))

    def loss(x, y):
        centered = x - md.mean(x, axis=axis, keepdims=True)
        return md.sum(md.logsumexp(centered @ y, axis=0)) + md.sum(md.sort(x, axis=0) * md.max(x, axis=axis, keepdims=True))

    with minidiff_dask.chunks((row_chunk, column_chunk)):
        x, y = md.Tensor(a, allow_grad=True, backend="dask"), md.Tensor(b, allow_grad=True, backend="dask")
    value = loss(x, y)
    value.backward()
    hx, hy = md.Tensor(a, allow_grad=True), md.Tensor(b, allow_grad=True)
    expected = loss(hx, hy)
    expected.backward()
    with dask.config.set(scheduler="sync"):
        got = md.compute(value, x.grad, y.grad)
    for g, want in zip(got, (expected, hx.grad, hy.grad)):
        np.testing.assert_allclose(g, want.numpy(), rtol=1e-10, atol=1e-12)
