"""What the elementwise-chain benchmarks (W3 `elementwise.py`, W6 `deep_chain.py`) share: one entry per library
for a chain written once against a NumPy-like namespace, and the check against the hand-written backward.

This file is not a benchmark: `run.py` skips files whose name starts with "_".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from _harness import Entry, backward_entry, distribution_version


def chain_benchmarks(
    x0: Callable[[], np.ndarray],
    chain: Callable[[Any, Any], Any],
    numpy_forward_backward: Callable[[np.ndarray], tuple[float, np.ndarray]],
) -> tuple[dict[str, Callable[[], Entry]], Callable[[str, Any, Any], None]]:
    """The `benchmarks` and `check` of a Suite for `chain(x, xp)` on the input `x0()`."""

    def bench_numpy() -> Entry:
        """The floor: the raw NumPy forward, and the hand-written forward + backward."""
        x = x0()
        return Entry(
            "numpy (by hand)",
            np.__version__,
            numpy_forward_backward(x),
            forward=lambda: chain(x, np),
            forward_backward=lambda: numpy_forward_backward(x),
        )

    def bench_minidiff() -> Entry:
        import minidiff as md

        x = md.Tensor(x0(), allow_grad=True)
        return backward_entry("minidiff", md.__version__, lambda: chain(x, md), x)

    def bench_torch() -> Entry:
        import torch

        torch.set_num_threads(1)
        x = torch.tensor(x0(), dtype=torch.float64, requires_grad=True)
        return backward_entry("torch (CPU)", torch.__version__, lambda: chain(x, torch), x, reset_grad=True)

    def bench_autograd() -> Entry:
        """HIPS autograd traces only inside `grad`: its forward column is the untraced autograd.numpy call."""
        import autograd
        import autograd.numpy as anp

        x = x0()
        value_and_grad = autograd.value_and_grad(lambda v: chain(v, anp))
        return Entry(
            "autograd",
            distribution_version("autograd"),
            value_and_grad(x),
            forward=lambda: chain(x, anp),
            forward_backward=lambda: value_and_grad(x),
        )

    def check(library: str, value: Any, grad: Any) -> None:
        """Fail the run, rather than time a wrong answer, unless `value` and `grad` match the hand-written
        backward."""
        expected_value, expected_grad = numpy_forward_backward(x0())
        assert np.isfinite(value) and np.all(np.isfinite(grad)), f"{library}: the chain overflowed"
        np.testing.assert_allclose(value, expected_value, rtol=1e-8, err_msg=f"{library}: forward value")
        scale = float(np.max(np.abs(expected_grad)))
        np.testing.assert_allclose(
            np.asarray(grad, dtype=np.float64), expected_grad, rtol=1e-8, atol=1e-8 * scale,
            err_msg=f"{library}: gradient",
        )

    benchmarks = {"numpy": bench_numpy, "minidiff": bench_minidiff, "torch": bench_torch, "autograd": bench_autograd}
    return benchmarks, check
