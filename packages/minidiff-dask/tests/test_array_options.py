"""`chunks=` through minidiff's own constructors, `t.compute()`, and the lazy formulas rules
choose so that building a gradient computes nothing."""

from __future__ import annotations

import numpy as np
import pytest

import minidiff as md


def test_tensor_and_to_take_the_chunks():
    t = md.Tensor(np.arange(12.0).reshape(6, 2), backend="dask", chunks=(3, 2), allow_grad=True)
    assert t.data.chunks == ((3, 3), (2,))
    moved = md.Tensor(np.arange(6.0)).to("dask", chunks=2)
    assert moved.data.chunks == ((2, 2, 2),)
    rechunked = moved.to("dask", chunks=3)
    assert rechunked.data.chunks == ((3, 3),) and rechunked is not moved
    assert moved.to("dask") is moved
    np.testing.assert_array_equal(rechunked.compute(), np.arange(6.0))


def test_an_option_the_backend_does_not_take_is_refused():
    with pytest.raises(TypeError, match="backend 'numpy' takes no array option 'chunks' \\(it takes none\\)"):
        md.Tensor([1.0], chunks=1)
    with pytest.raises(TypeError, match="backend 'dask' takes no array option 'blocks' \\(it takes chunks\\)"):
        md.Tensor([1.0]).to("dask", blocks=1)


def test_compute_and_md_compute_agree_with_numpy():
    x = md.Tensor(np.linspace(0.0, 1.0, 8), backend="dask", chunks=4, allow_grad=True)
    loss = md.sum(x ** 3)
    loss.backward()
    value, grad = md.compute(loss, x.grad)
    np.testing.assert_allclose(value, np.sum(np.linspace(0.0, 1.0, 8) ** 3))
    np.testing.assert_allclose(x.grad.compute(), 3 * np.linspace(0.0, 1.0, 8) ** 2)
    np.testing.assert_allclose(grad, x.grad.compute())


@pytest.mark.parametrize(
    "f",
    [lambda x: md.sum(x ** x), lambda x: md.prod(x), lambda x: md.std(x)],
    ids=["power", "prod", "std"],
)
def test_rules_that_would_read_a_value_build_the_gradient_without_computing(f, monkeypatch):
    import dask

    x = md.Tensor(np.linspace(0.5, 2.0, 6), backend="dask", chunks=3, allow_grad=True)
    computed = []

    def refuse(*args, **kwargs):
        computed.append(True)
        raise AssertionError("the gradient's graph was computed while it was built")

    with dask.config.set(scheduler=refuse):
        out = f(x)
        g = md.grad(f)(x)
    assert not computed
    expected = md.grad(f)(md.Tensor(np.linspace(0.5, 2.0, 6))).numpy()
    np.testing.assert_allclose(g.compute(), expected, rtol=1e-12)
    assert out.shape == ()
