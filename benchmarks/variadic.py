#!/usr/bin/env python3
"""Forward + backward of `concatenate` and `stack` over many tensors (W7): time per input, next to NumPy by hand and
PyTorch.

The workload joins n leaf tensors of shape (4,) twice, `concatenate(xs)` and `stack(xs)`, weights each result by a
fixed array and sums, then takes the gradient of every input. A variadic op's backward must cost O(n): its rule
gives every input's cotangent in one call (minidiff once called it per input, with all n inputs, which cost O(n^2):
7 s at n = 10,000). The time per input is the number to watch: it should be the same at n = 10,000
(`--size small`) and n = 100,000 (the default); a quadratic backward would make it 10 times larger at the larger n.
HIPS autograd is left out: its concatenate gradient is quadratic too (over 5 minutes at n = 10,000).

Each library runs in its own process with one thread and checks its value and gradient against the hand-written
backward, then times `--repeats` runs of the forward and of forward + backward after a warmup; medians.

    python benchmarks/variadic.py                 # n = 100,000
    python benchmarks/variadic.py --size small    # n = 10,000
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

# Run as a script, benchmarks/ is on sys.path: the harness is the file next to this one.
from _harness import Entry, Suite, SummaryRow, Unit, backward_entry, main

WIDTH = 4  # elements per input
SIZES = {"full": 100_000, "small": 10_000}


def inputs(n: int) -> list[np.ndarray]:
    return list(np.linspace(-1.0, 1.0, n * WIDTH).reshape(n, WIDTH))


def weights(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The fixed weights of the concatenated and the stacked result (not symmetric, so every input's gradient
    differs)."""
    k = np.arange(n * WIDTH, dtype=np.float64)
    return np.cos(k), np.sin(k).reshape(n, WIDTH)


def joined(xs: list[Any], xp: Any, w: Any, v: Any) -> Any:
    """The benchmarked function, written once for every library: `xp` is its NumPy-like namespace."""
    return xp.sum(xp.concatenate(xs) * w) + xp.sum(xp.stack(xs) * v)


def numpy_forward_backward(xs: list[np.ndarray], w: np.ndarray, v: np.ndarray) -> tuple[float, np.ndarray]:
    """The value, and the gradient of every input as one (n, WIDTH) array: the weights, split back per input."""
    value = joined(xs, np, w, v)
    grads = np.split(w, len(xs)) + v  # d/dx_i: its slice of w, plus its row of v
    return value, grads


def make_suite(size: str) -> Suite:
    """The suite for n = SIZES[size] inputs."""
    n = SIZES[size]

    def bench_numpy() -> Entry:
        """The floor: NumPy's forward, and the hand-written forward + backward."""
        xs, (w, v) = inputs(n), weights(n)
        return Entry(
            "numpy (by hand)",
            np.__version__,
            numpy_forward_backward(xs, w, v),
            forward=lambda: joined(xs, np, w, v),
            forward_backward=lambda: numpy_forward_backward(xs, w, v),
        )

    def bench_minidiff() -> Entry:
        import minidiff as md

        xs = [md.Tensor(x, allow_grad=True) for x in inputs(n)]
        w, v = (md.Tensor(a) for a in weights(n))
        entry = backward_entry("minidiff", md.__version__, lambda: joined(xs, md, w, v), xs[0])
        return _with_every_gradient(entry, lambda: np.stack([x.grad.numpy() for x in xs]))

    def bench_torch() -> Entry:
        import torch

        torch.set_num_threads(1)
        xs = [torch.tensor(x, requires_grad=True) for x in inputs(n)]
        w, v = (torch.tensor(a) for a in weights(n))

        def forward_backward() -> Any:
            for x in xs:
                x.grad = None
            value = joined(xs, torch, w, v)
            value.backward()
            return value

        value = forward_backward()
        return Entry(
            "torch (CPU)", torch.__version__, (value.item(), np.stack([x.grad.numpy() for x in xs])),
            forward=lambda: joined(xs, torch, w, v), forward_backward=forward_backward,
        )

    def check(library: str, value: Any, grad: Any) -> None:
        """Fail the run, rather than time a wrong answer, unless `value` and every input's gradient match."""
        expected_value, expected_grad = numpy_forward_backward(inputs(n), *weights(n))
        np.testing.assert_allclose(value, expected_value, rtol=1e-9, atol=1e-9, err_msg=f"{library}: forward value")
        np.testing.assert_allclose(np.asarray(grad), expected_grad, rtol=1e-12, err_msg=f"{library}: gradient")

    return Suite(
        script=__file__,
        description=__doc__.splitlines()[0],
        benchmarks={"numpy": bench_numpy, "minidiff": bench_minidiff, "torch": bench_torch},
        check=check,
        unit=Unit(key="us_per_input", label="us/input", scale=1e6 / n, digits=2),
        intro=(
            f"concatenate and stack of {n:,} tensors of shape ({WIDTH},), weighted sums, gradient of every input;",
            f"time per input = time of the pass / {n:,} (linear time: the same at every n).",
        ),
        numpy_note="numpy (by hand): fwd is NumPy's forward (the floor), fwd+bwd adds the weights split per input.",
        config={"inputs": n, "width": WIDTH, "dtype": "float64"},
        reference="numpy",
        # both are linear in n; PyTorch's per-input bookkeeping is C++, minidiff's Python
        summary=(SummaryRow(f"W7 concatenate+stack of {n:,} inputs", measure="fwd_bwd", against="torch", target=1.5),),
        repeats=5,
        warmup=1,
    )


def _with_every_gradient(entry: Entry, gradients: Any) -> Entry:
    """`entry` with the gradient of every input to check, not only the first input's."""
    return Entry(entry.library, entry.version, (entry.value_and_grad[0], gradients()), entry.forward,
                 entry.forward_backward)


if __name__ == "__main__":
    sys.exit(main(make_suite))
