#!/usr/bin/env python3
"""Time and peak memory of a 20-op elementwise chain on 2,000,000 float64 elements (W3), next to NumPy by hand,
PyTorch and HIPS autograd.

The workload is the chain of `overhead.py` at a size where the arithmetic and the memory dominate: 20 ops cycling
`* 1.5`, `+ (-1)`, `sin`, `exp`, `tanh`, then a sum, and its gradient. The floor is a hand-written forward that
keeps in a list only what its backward needs (the input of each sin, the output of each exp and tanh) and a
backward that walks that list in reverse: a library that keeps more, or copies more, shows it in both columns.

Each library runs in its own process with one thread and checks its value and gradient against the hand-written
backward; then it measures the peak memory of one forward + backward pass above its baseline (see `_harness.py`),
times `--repeats` runs of the forward and of forward + backward after a warmup, and reports the medians.

    python benchmarks/elementwise.py                 # the table
    python benchmarks/elementwise.py --size small    # 50,000 elements, for smoke tests
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

# Run as a script, benchmarks/ is on sys.path: the harness is the file next to this one.
from _chain import chain_benchmarks
from _harness import Suite, SummaryRow, Unit, main

CYCLE = ("* 1.5", "+ (-1)", "sin", "exp", "tanh")
CHAIN_LENGTH = 20  # a whole number of cycles
SIZES = {"full": 2_000_000, "small": 50_000}


def chain(x: Any, xp: Any) -> Any:
    """The benchmarked function, written once for every library: `xp` is its NumPy-like namespace."""
    for _ in range(CHAIN_LENGTH // len(CYCLE)):
        x = xp.tanh(xp.exp(xp.sin(x * 1.5 + -1.0)))
    return xp.sum(x)


def numpy_forward_backward(x: np.ndarray) -> tuple[float, np.ndarray]:
    """The chain and its gradient by hand: a forward that keeps what the backward needs, then the backward."""
    tape = []  # per cycle: the input of sin, the output of exp, the output of tanh
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


def make_suite(size: str) -> Suite:
    """The suite of the chain on SIZES[size] elements."""
    n = SIZES[size]

    def x0() -> np.ndarray:
        return np.linspace(-1.0, 1.0, n)

    benchmarks, check = chain_benchmarks(x0, chain, numpy_forward_backward)

    return Suite(
        script=__file__,
        description=__doc__.splitlines()[0],
        benchmarks=benchmarks,
        check=check,
        unit=Unit(key="ms", label="ms", scale=1e3, digits=1),
        intro=(
            f"Elementwise chain: {CHAIN_LENGTH} ops cycling {', '.join(CYCLE)}, then a sum,",
            f"on {n:,} float64 elements ({n * 8 / 1e6:g} MB per array).",
        ),
        numpy_note=(
            "numpy (by hand): fwd is the raw NumPy forward (the floor), fwd+bwd a forward keeping the input of\n"
            "each sin and the output of each exp and tanh, then the backward walking them in reverse."
        ),
        config={"chain_length": CHAIN_LENGTH, "size": n, "dtype": "float64", "cycle": list(CYCLE)},
        reference="numpy",
        memory=True,
        summary=(
            SummaryRow(f"W3 elementwise chain, {n:,} elements", measure="fwd_bwd", against="numpy", target=1.0),
            SummaryRow(f"W3 elementwise chain, {n:,} elements", measure="peak", against="numpy", target=0.8),
        ),
        repeats=10,
        warmup=2,
    )


if __name__ == "__main__":
    sys.exit(main(make_suite))
