"""The use case of the Dask backend, checked on the graphs and on what runs, not only on values:
building a loss and its gradient computes nothing; reductions over chunked axes, the product
of a tall chunked matrix with a small one, and linear algebra on the small results never put
the tall data in one piece; several results computed together run their shared work once."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest

import minidiff as md
import minidiff_dask
from minidiff_dask.settings import DaskComputeWarning

ROWS, COLUMNS, CHUNK = 4000, 8, 500  # 8 chunks of 500 rows: one chunk is 32 kB, the whole X 256 kB
CHUNK_BYTES = CHUNK * COLUMNS * 8


@pytest.fixture
def X():
    """A tall float64 matrix in chunks of rows, made lazily (as on a cluster's workers)."""
    data = da.random.default_rng(5).standard_normal((ROWS, COLUMNS), chunks=(CHUNK, COLUMNS))
    return md.Tensor(data, backend="dask")


def _host(t):
    with dask.config.set(scheduler="sync"):
        return t.numpy()


def test_a_loss_and_its_gradient_are_built_without_computing(X, nothing_computed):
    w = md.Tensor(np.linspace(-1, 1, COLUMNS), allow_grad=True, backend="dask")
    loss = md.mean(md.logaddexp(0.0, X @ w) - 0.5 * (X @ w))
    loss.backward()
    assert w.grad.shape == (COLUMNS,) and loss.shape == ()
    with pytest.raises(Exception, match="was computed"):  # the fixture's scheduler does refuse
        w.grad.numpy()


def test_matmul_of_a_tall_chunked_matrix_and_its_gradient_work_chunk_by_chunk(X, recorder):
    w = md.Tensor(np.linspace(-1, 1, COLUMNS), allow_grad=True, backend="dask")
    z = X @ w
    assert z.data.chunks == ((CHUNK,) * (ROWS // CHUNK),)  # the product keeps X's row chunks
    loss = md.sum(md.sigmoid(z))
    loss.backward()
    value, gradient = md.compute(loss, w.grad)
    assert recorder.largest <= CHUNK_BYTES, f"a task returned {recorder.largest} bytes: X was put together"
    x = _host(X)
    s = 1.0 / (1.0 + np.exp(-(x @ np.linspace(-1, 1, COLUMNS))))
    np.testing.assert_allclose(value, s.sum(), rtol=1e-12)
    np.testing.assert_allclose(gradient, x.T @ (s * (1 - s)), rtol=1e-10)


@pytest.mark.parametrize("axis", [0, None, (0, 1)])
def test_reductions_over_the_chunked_axis_reduce_chunk_by_chunk(X, recorder, axis):
    x = md.Tensor(X.data, allow_grad=True, backend="dask")
    total = md.sum(md.var(x, axis=axis) + md.logsumexp(x, axis=axis) + md.max(x, axis=axis))
    total.backward()
    # the gradient of a reduction is broadcast back to X's shape in X's chunks, so it lines up
    # with X chunk by chunk (Dask's own broadcast_to would make one chunk of X's size)
    assert x.grad.data.chunks == X.data.chunks
    value, grad_norm = md.compute(total, md.sum(x.grad * x.grad))  # results small enough to ask for
    # every task of the forward works on a chunk, and so does every task of the gradient, which
    # has X's shape: the largest a task returns is one chunk of it
    assert recorder.largest <= CHUNK_BYTES, f"a task returned {recorder.largest} bytes"
    host = md.Tensor(_host(X), allow_grad=True)
    expected = md.sum(md.var(host, axis=axis) + md.logsumexp(host, axis=axis) + md.max(host, axis=axis))
    expected.backward()
    np.testing.assert_allclose([value, grad_norm], [expected.item(), (host.grad**2).sum().item()], rtol=1e-10)


def test_linalg_runs_on_the_small_matrices_a_chunked_reduction_makes(X, recorder):
    # one Newton step of least squares: H = X^T X and g = X^T (X w - y) come from the tall X
    # chunk by chunk; the solve then runs on the 8 x 8 block
    y = md.Tensor(da.ones(ROWS, chunks=CHUNK), backend="dask")
    w = md.Tensor(np.zeros(COLUMNS), allow_grad=True, backend="dask")
    residual = X @ w - y
    loss = 0.5 * md.sum(residual * residual)
    loss.backward()
    hessian = X.T @ X
    step = md.linalg.solve(hessian, w.grad)
    sign, logdet = md.linalg.slogdet(hessian)
    values = md.compute(step, logdet, md.linalg.inv(hessian), md.linalg.vector_norm(X, axis=0))
    assert recorder.largest <= CHUNK_BYTES, f"a task returned {recorder.largest} bytes"
    x = _host(X)
    np.testing.assert_allclose(values[0], np.linalg.solve(x.T @ x, -x.T @ np.ones(ROWS)), rtol=1e-10)
    np.testing.assert_allclose(values[1], np.linalg.slogdet(x.T @ x)[1], rtol=1e-12)
    np.testing.assert_allclose(values[3], np.linalg.norm(x, axis=0), rtol=1e-12)


def test_linalg_keeps_a_stack_of_matrices_chunked(nothing_computed):
    stack = md.Tensor(da.ones((6, 3, 3), chunks=(2, 3, 3)) + da.eye(3), backend="dask")
    assert md.linalg.inv(stack).data.chunks[0] == (2, 2, 2)  # one task per chunk of the stack
    assert md.linalg.det(stack).data.chunks == ((2, 2, 2),)


def test_compute_runs_shared_work_once(X, recorder):
    w = md.Tensor(np.ones(COLUMNS), allow_grad=True, backend="dask")
    loss = md.sum(md.exp(X @ w * 0.01))
    loss.backward()
    md.compute(loss, w.grad)
    together = len(recorder.nbytes)
    runs = {}
    with recorder.__class__() as alone:
        loss.numpy()
        runs["loss"] = len(alone.nbytes)
    with recorder.__class__() as alone:
        w.grad.numpy()
        runs["grad"] = len(alone.nbytes)
    # X @ w and its exp are tasks of both results: separately they run twice, together once
    assert together < runs["loss"] + runs["grad"], (together, runs)


def test_values_that_decide_shapes_are_computed_with_a_warning(nothing_computed):
    x = md.Tensor(np.arange(6.0), backend="dask")
    with pytest.raises(Exception, match="was computed"), pytest.warns(DaskComputeWarning, match="shape depends"):
        x[x > 2.0]
    with dask.config.set(scheduler="sync"), pytest.warns(DaskComputeWarning, match="shape depends on the values"):
        picked = x[x > 2.0]
    assert picked.shape == (3,)


def test_persist_cuts_the_graph_at_the_values():
    x = md.Tensor(da.arange(12.0, chunks=4), backend="dask") * 2.0
    (kept,) = minidiff_dask.persist(x)
    assert len(kept.data.dask) == kept.data.npartitions  # the values, one task per chunk
    np.testing.assert_array_equal(kept.numpy(), np.arange(12.0) * 2)
