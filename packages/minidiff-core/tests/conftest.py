"""Fixtures shared by the core tests."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import minidiff as md


@pytest.fixture
def no_gc():
    """Reference counting alone must free the graph: no cycles left for the collector."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.fixture
def a34():
    """A seeded (3, 4) float64 array for the NumPy call-form tests."""
    return np.random.default_rng(7).normal(size=(3, 4))


@pytest.fixture
def grad_of():
    """`grad_of(f, values)`: the gradient of `sum(f(x))` at `values`, as a host array."""

    def gradient(f, values):
        x = md.Tensor(np.array(values, dtype=float), allow_grad=True)
        md.sum(f(x)).backward()
        return x.grad.numpy()

    return gradient


@pytest.fixture(params=["numpy", "mlx"])
def backend(request):
    """Each test on NumPy and on MLX (skipped where MLX is not installed), as the default backend."""
    if request.param == "mlx":
        pytest.importorskip("minidiff_mlx")
        pytest.importorskip("mlx.core")
    with md.use_backend(request.param):
        yield request.param
