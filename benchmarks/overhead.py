#!/usr/bin/env python3
"""Per-op overhead of minidiff on small tensors, next to NumPy, PyTorch and HIPS autograd.

The workload is a chain of CHAIN_LENGTH elementwise ops on a (16,) float64 vector, cycling
`* 1.5`, `+ (-1)`, `sin`, `exp`, `tanh`, then a sum. On 16 elements the arithmetic is almost
free, so the time per op is what each library spends around it: dispatch, graph recording,
the backward pass's bookkeeping. The chain stays bounded (tanh right after exp keeps every
value in (0, 1)), so no library's numbers come from inf or NaN.

Each library runs in its own process (imports cannot interfere) with one thread, checks its
value and gradient against the hand-written NumPy backward, then times `--repeats` runs of the
forward pass and of forward + backward after a warmup, and reports the median per op.

    python benchmarks/overhead.py                 # the table
    python benchmarks/overhead.py --repeats 100 --json results.json
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

# Run as a script, benchmarks/ is on sys.path: the harness is the file next to this one.
from _harness import Entry, Suite, SummaryRow, Unit, backward_entry, distribution_version, main

CYCLE = ("* 1.5", "+ (-1)", "sin", "exp", "tanh")
CHAIN_LENGTH = 300  # a whole number of cycles
OPS = CHAIN_LENGTH + 1  # the chain, then the sum: times are divided by this
X0 = np.linspace(-1.0, 1.0, 16)


def chain(x: Any, xp: Any) -> Any:
    """The benchmarked function, written once for every library: `xp` is its NumPy-like namespace."""
    for _ in range(CHAIN_LENGTH // len(CYCLE)):
        x = xp.tanh(xp.exp(xp.sin(x * 1.5 + -1.0)))
    return xp.sum(x)


def numpy_forward_backward(x: np.ndarray) -> tuple[float, np.ndarray]:
    """The chain and its gradient by hand: a forward that keeps what the backward needs, then the backward."""
    tape = []
    for _ in range(CHAIN_LENGTH // len(CYCLE)):
        u = x * 1.5 + -1.0
        e = np.exp(np.sin(u))
        x = np.tanh(e)
        tape.append((u, e, x))
    value = np.sum(x)
    g = np.ones_like(x)
    for u, e, t in reversed(tape):
        # d tanh = 1 - tanh**2, d exp = exp, d sin = cos, d(1.5 x - 1) = 1.5
        g = g * (1.0 - t * t) * e * np.cos(u) * 1.5
    return value, g


# --------------------------------------------------------------------------- one function per library


def bench_numpy() -> Entry:
    """The floor: the raw NumPy forward, and the hand-written forward + backward."""
    return Entry(
        "numpy (by hand)",
        np.__version__,
        numpy_forward_backward(X0),
        forward=lambda: chain(X0, np),
        forward_backward=lambda: numpy_forward_backward(X0),
    )


def bench_minidiff() -> Entry:
    import minidiff as md

    x = md.Tensor(X0, allow_grad=True)
    return backward_entry("minidiff", md.__version__, lambda: chain(x, md), x)


def bench_torch() -> Entry:
    import torch

    torch.set_num_threads(1)
    x = torch.tensor(X0, dtype=torch.float64, requires_grad=True)
    return backward_entry("torch (CPU)", torch.__version__, lambda: chain(x, torch), x, reset_grad=True)


def bench_autograd() -> Entry:
    """HIPS autograd traces only inside `grad`: its forward column is the untraced autograd.numpy call."""
    import autograd
    import autograd.numpy as anp

    value_and_grad = autograd.value_and_grad(lambda v: chain(v, anp))
    return Entry(
        "autograd",
        distribution_version("autograd"),
        value_and_grad(X0),
        forward=lambda: chain(X0, anp),
        forward_backward=lambda: value_and_grad(X0),
    )


# --------------------------------------------------------------------------- the check and the suite


def check(library: str, value: Any, grad: Any) -> None:
    """Fail the run, rather than time a wrong answer, unless `value` and `grad` match the hand-written backward."""
    expected_value, expected_grad = numpy_forward_backward(X0)
    assert np.isfinite(value) and np.all(np.isfinite(grad)), f"{library}: the chain overflowed"
    np.testing.assert_allclose(value, expected_value, rtol=1e-8, err_msg=f"{library}: forward value")
    # The gradient is a product of 300 factors below 1 (about 1e-21 here), so agreement is
    # measured relative to its own scale.
    scale = float(np.max(np.abs(expected_grad)))
    np.testing.assert_allclose(
        np.asarray(grad, dtype=np.float64), expected_grad, rtol=1e-8, atol=1e-8 * scale, err_msg=f"{library}: gradient"
    )


SUITE = Suite(
    script=__file__,
    description=__doc__.splitlines()[0],
    benchmarks={"numpy": bench_numpy, "minidiff": bench_minidiff, "torch": bench_torch, "autograd": bench_autograd},
    check=check,
    # Microseconds per op: the time of a pass divided by the OPS ops in it.
    unit=Unit(key="us_per_op", label="us/op", scale=1e6 / OPS, digits=2),
    intro=(
        f"Per-op overhead: {CHAIN_LENGTH} chained ops cycling {', '.join(CYCLE)}, then a sum,",
        f"on shape {X0.shape} float64; time per op = time of the pass / {OPS}.",
    ),
    numpy_note="numpy (by hand): fwd is the raw NumPy forward (the floor), fwd+bwd the hand-written backward.",
    config={"chain_length": CHAIN_LENGTH, "ops": OPS, "shape": list(X0.shape), "dtype": "float64",
            "cycle": list(CYCLE)},
    summary=(SummaryRow("W1 per-op overhead, fwd+bwd", measure="fwd_bwd", against="torch", target=1.0),),
)


if __name__ == "__main__":
    sys.exit(main(SUITE))
