#!/usr/bin/env python3
"""A masked update loop written in place (`y[mask] = a * y[mask] + b`) against its out-of-place spelling
(`y = md.where(mask, a * y + b, y)`), forward + backward, next to PyTorch and NumPy by hand (W10).

The workload starts from `y = x * 1` (a vector of n floats) and applies K masked affine updates, each on a fixed
random half of the elements, then takes `sum(y * y)` and its gradient with respect to x. In place, each update is
a recorded write (`minidiff.inplace`): the node keeps a mask of the surviving elements, and the gradient of the
written ones flows through the gathered `y[mask]`. Out of place, each update is a `where` over the whole vector.
The floor is NumPy by hand: the loop in place, and the gradient `2 y_K * prod_k where(mask_k, a, 1)`.

Each library runs in its own process with one thread and checks its value and gradient against the floor, then
times `--repeats` runs after a warmup; medians.

    python benchmarks/inplace.py                 # n = 100,000, K = 50
    python benchmarks/inplace.py --size small    # n = 1,000, K = 10
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

# Run as a script, benchmarks/ is on sys.path: the harness is the file next to this one.
from _harness import Entry, Suite, SummaryRow, Unit, backward_entry, main

SIZES = {"full": (100_000, 50), "small": (1_000, 10)}  # (n, K)
A, B = 0.9, 0.1  # each update: y -> A y + B on the masked elements


def data(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The starting vector and the K masks, from a fixed seed (the same in every process)."""
    rng = np.random.default_rng(0)
    return rng.uniform(-1.0, 1.0, n), rng.random((k, n)) < 0.5


def numpy_forward_backward(x: np.ndarray, masks: np.ndarray) -> tuple[float, np.ndarray]:
    """The floor: the loop in place, then the gradient by hand."""
    y = x.copy()
    scale = np.ones_like(x)
    for mask in masks:
        y[mask] = A * y[mask] + B
        scale[mask] *= A  # d y_K / d x, elementwise
    return float(np.sum(y * y)), 2.0 * y * scale


def make_suite(size: str) -> Suite:
    """The suite for (n, K) = SIZES[size]."""
    n, k = SIZES[size]

    def bench_numpy() -> Entry:
        x, masks = data(n, k)

        def forward() -> float:
            y = x.copy()
            for mask in masks:
                y[mask] = A * y[mask] + B
            return float(np.sum(y * y))

        return Entry("numpy (by hand)", np.__version__, numpy_forward_backward(x, masks), forward,
                     lambda: numpy_forward_backward(x, masks))

    def minidiff_entry(label: str, in_place: bool) -> Entry:
        import minidiff as md

        x0, masks = data(n, k)
        x = md.Tensor(x0, allow_grad=True)

        def forward() -> Any:
            y = x * 1
            for mask in masks:
                if in_place:
                    y[mask] = A * y[mask] + B
                else:
                    y = md.where(mask, A * y + B, y)
            return md.sum(y * y)

        return backward_entry(label, md.__version__, forward, x)

    def bench_torch() -> Entry:
        import torch

        torch.set_num_threads(1)
        x0, masks_np = data(n, k)
        x = torch.tensor(x0, requires_grad=True)
        masks = [torch.tensor(mask) for mask in masks_np]

        def forward() -> Any:
            y = x * 1
            for mask in masks:
                y[mask] = A * y[mask] + B
            return torch.sum(y * y)

        return backward_entry("torch (CPU, in place)", torch.__version__, forward, x, reset_grad=True)

    def check(library: str, value: Any, grad: Any) -> None:
        """Fail the run, rather than time a wrong answer, unless the value and the gradient match the floor's."""
        expected_value, expected_grad = numpy_forward_backward(*data(n, k))
        np.testing.assert_allclose(value, expected_value, rtol=1e-10, err_msg=f"{library}: forward value")
        np.testing.assert_allclose(np.asarray(grad), expected_grad, rtol=1e-10, err_msg=f"{library}: gradient")

    return Suite(
        script=__file__,
        description=__doc__.splitlines()[0],
        benchmarks={
            "numpy": bench_numpy,
            "minidiff": lambda: minidiff_entry("minidiff (in place)", True),
            "minidiff-where": lambda: minidiff_entry("minidiff (md.where)", False),
            "torch": bench_torch,
        },
        check=check,
        unit=Unit(key="ms", label="ms", scale=1e3, digits=2),
        intro=(f"{k} masked updates y[mask] = {A} y[mask] + {B} of a vector of {n:,} floats, sum(y * y), gradient;",
               "in place (a recorded write per update) and out of place (md.where over the whole vector)."),
        numpy_note="numpy (by hand): fwd is the loop in place (the floor), fwd+bwd adds the gradient by hand.",
        config={"n": n, "updates": k, "dtype": "float64"},
        reference="numpy",
        summary=(SummaryRow(f"W10 masked update loop, n={n:,}, K={k}", measure="fwd_bwd", against="torch"),),
        repeats=10,
        warmup=1,
    )


if __name__ == "__main__":
    sys.exit(main(make_suite))
