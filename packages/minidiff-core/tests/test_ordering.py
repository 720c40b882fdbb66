"""The ordering ops beyond what the conformance kit checks from their samples: NumPy's call
forms (through `numpy.<name>(tensor)`) and the gradient at ties. Expected values come from
NumPy or are derived by hand next to them."""

from __future__ import annotations

import numpy as np
import pytest

import minidiff as md


@pytest.mark.parametrize(
    "call",
    [
        lambda a: np.sort(a, axis=0),
        lambda a: np.partition(a, 2),
    ],
)
def test_numpy_functions_on_tensors_match_numpy(call, a34):
    got = call(md.Tensor(a34, allow_grad=True))
    assert isinstance(got, md.Tensor) and got.allow_grad
    np.testing.assert_allclose(got.numpy(), call(a34), rtol=1e-12, atol=1e-12)


def test_sort_sends_each_tie_the_cotangent_of_its_stable_place(grad_of):
    # [2, 1, 2, 0.5] sorts stably to [0.5, 1, 2 (index 0), 2 (index 2)]; torch.sort(stable=True)
    # and jax.numpy.sort give the same gradient
    weights = md.Tensor([1.0, 10.0, 100.0, 1000.0])
    np.testing.assert_array_equal(grad_of(lambda x: md.sort(x) * weights, [2.0, 1.0, 2.0, 0.5]), [100.0, 10.0, 1000.0, 1.0])


def _on_mlx(a):
    pytest.importorskip("mlx.core")
    if "mlx" not in md.available_backends():
        pytest.skip("the MLX backend is not usable here")
    return md.Tensor(a, backend="mlx")


def test_ordering_ops_run_on_mlx():
    a = np.array([[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]])
    np.testing.assert_allclose(md.sort(_on_mlx(a), axis=None).numpy(), np.sort(a, axis=None))
