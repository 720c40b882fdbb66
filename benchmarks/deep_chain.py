#!/usr/bin/env python3
"""Peak memory and time of a 200-op deep chain on 1,000,000 float64 elements (W6), next to NumPy by hand,
PyTorch and HIPS autograd.

The workload alternates `sin` and `* 1.0001` 100 times each, then sums, and takes the gradient. A deep graph of
big arrays is where what a library keeps for the backward decides its memory: the floor is a hand-written forward
that keeps only the input of each sin (what sin's derivative needs; `* 1.0001` needs nothing) and a backward that
walks them in reverse, about 100 arrays of 8 MB. A library that also keeps each op's output, or the inputs of the
multiplications, needs about twice that.

Each library runs in its own process with one thread and checks its value and gradient against the hand-written
backward; then it measures the peak memory of one forward + backward pass above its baseline (see `_harness.py`),
times `--repeats` runs of the forward and of forward + backward after a warmup, and reports the medians.

    python benchmarks/deep_chain.py                 # the table
    python benchmarks/deep_chain.py --size small    # 50,000 elements, for smoke tests
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

# Run as a script, benchmarks/ is on sys.path: the harness is the file next to this one.
from _chain import chain_benchmarks
from _harness import Entry, Suite, SummaryRow, Unit, backward_entry, main

CHAIN_LENGTH = 200  # sin, * 1.0001, sin, * 1.0001, ...
FACTOR = 1.0001
SEGMENT = 20  # ops per checkpointed segment in the `md.checkpoint` rows
SIZES = {"full": 1_000_000, "small": 50_000}


def chain(x: Any, xp: Any) -> Any:
    """The benchmarked function, written once for every library: `xp` is its NumPy-like namespace."""
    for _ in range(CHAIN_LENGTH // 2):
        x = xp.sin(x) * FACTOR
    return xp.sum(x)


def checkpointed_chain(x: Any, xp: Any, checkpoint: Any) -> Any:
    """The same chain cut into segments of SEGMENT ops, each wrapped by `checkpoint(segment)(x)`."""

    def segment(x: Any) -> Any:
        for _ in range(SEGMENT // 2):
            x = xp.sin(x) * FACTOR
        return x

    for _ in range(CHAIN_LENGTH // SEGMENT):
        x = checkpoint(segment, x)
    return xp.sum(x)


def numpy_forward_backward(x: np.ndarray) -> tuple[float, np.ndarray]:
    """The chain and its gradient by hand: a forward that keeps the input of each sin, then the backward."""
    tape = []
    for _ in range(CHAIN_LENGTH // 2):
        tape.append(x)
        x = np.sin(x) * FACTOR
    value = np.sum(x)
    g = np.ones_like(x)
    for u in reversed(tape):
        g = g * FACTOR * np.cos(u)  # d(1.0001 sin u) = 1.0001 cos u
    return value, g


# the checkpointed rows fill the minidiff and PyTorch columns of their summary rows
CHECKPOINT_COLUMNS = (("minidiff", "minidiff_checkpoint"), ("torch", "torch_checkpoint"))


def checkpoint_benchmarks(x0: Any) -> dict[str, Any]:
    """minidiff with `md.checkpoint`, and PyTorch with `torch.utils.checkpoint` (non-reentrant), every SEGMENT ops."""

    def bench_minidiff_checkpoint() -> Entry:
        import minidiff as md

        x = md.Tensor(x0(), allow_grad=True)

        def checkpoint(segment: Any, x: Any) -> Any:
            return md.checkpoint(segment)(x)

        return backward_entry(
            f"minidiff + md.checkpoint /{SEGMENT}", md.__version__, lambda: checkpointed_chain(x, md, checkpoint), x
        )

    def bench_torch_checkpoint() -> Entry:
        import torch
        from torch.utils.checkpoint import checkpoint as torch_checkpoint

        torch.set_num_threads(1)
        x = torch.tensor(x0(), dtype=torch.float64, requires_grad=True)

        def checkpoint(segment: Any, x: Any) -> Any:
            return torch_checkpoint(segment, x, use_reentrant=False)

        return backward_entry(
            f"torch + checkpoint /{SEGMENT}", torch.__version__, lambda: checkpointed_chain(x, torch, checkpoint), x,
            reset_grad=True,
        )

    return {"minidiff_checkpoint": bench_minidiff_checkpoint, "torch_checkpoint": bench_torch_checkpoint}


def make_suite(size: str) -> Suite:
    """The suite of the chain on SIZES[size] elements."""
    n = SIZES[size]

    def x0() -> np.ndarray:
        return np.linspace(-1.0, 2.0, n)  # not symmetric: the sum of an odd chain would be 0

    benchmarks, check = chain_benchmarks(x0, chain, numpy_forward_backward)
    benchmarks.update(checkpoint_benchmarks(x0))

    return Suite(
        script=__file__,
        description=__doc__.splitlines()[0],
        benchmarks=benchmarks,
        check=check,
        unit=Unit(key="ms", label="ms", scale=1e3, digits=1),
        intro=(
            f"Deep chain: {CHAIN_LENGTH} ops alternating sin and * {FACTOR}, then a sum,",
            f"on {n:,} float64 elements ({n * 8 / 1e6:g} MB per array).",
        ),
        numpy_note=(
            "numpy (by hand): fwd is the raw NumPy forward (the floor), fwd+bwd a forward keeping the input of\n"
            "each sin, then the backward walking them in reverse."
        ),
        config={"chain_length": CHAIN_LENGTH, "size": n, "dtype": "float64", "factor": FACTOR},
        reference="numpy",
        memory=True,
        summary=(
            SummaryRow(f"W6 deep chain, {n:,} elements", measure="peak", against="numpy", target=1.0),
            SummaryRow(f"W6 deep chain, {n:,} elements", measure="fwd_bwd", against="numpy"),
            SummaryRow(f"W6 md.checkpoint every {SEGMENT} ops, {n:,}", measure="peak", against="numpy", target=0.2,
                       columns=CHECKPOINT_COLUMNS),
            SummaryRow(f"W6 md.checkpoint every {SEGMENT} ops, {n:,}", measure="fwd_bwd", against="numpy",
                       columns=CHECKPOINT_COLUMNS),
        ),
        repeats=5,
        warmup=1,
    )


if __name__ == "__main__":
    sys.exit(main(make_suite))
