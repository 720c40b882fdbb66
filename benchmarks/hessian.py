#!/usr/bin/env python3
"""The dense Hessian of the Rosenbrock function at n=50 and n=200 in float64 (W4), next to torch.func.hessian, HIPS
autograd and the closed form in NumPy.

The workload is f(x) = sum(100 (x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2), written once for every library as a
function of one vector, and its full n x n Hessian. minidiff has two rows: the default `md.hessian(f)` (f run once
under `md.vmap` on a stack of copies of x, then two reverse passes, in a few chunks of rows) and
`vectorized=False` (one reverse pass per row); PyTorch's is `torch.func.hessian` (forward over reverse, vmapped),
autograd's `autograd.hessian`, and the floor the tridiagonal closed form written by hand in NumPy. The two timed
columns are the Hessian at the two sizes.

Each library runs in its own process with one thread and checks both Hessians against the closed form before
timing; then it times `--repeats` Hessians at each size after a warmup, and reports the medians.

    python benchmarks/hessian.py                 # the table
    python benchmarks/hessian.py --size small    # n=5 and n=12, for smoke tests
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

# Run as a script, benchmarks/ is on sys.path: the harness is the file next to this one.
from _batching import labeled, with_looped_ops
from _harness import Entry, Suite, SummaryRow, Unit, distribution_version, main

SIZES = {"full": (50, 200), "small": (5, 12)}  # the two n of each size: the two timed columns


def rosenbrock(x: Any, xp: Any) -> Any:
    """The benchmarked function, written once for every library: `xp` is its NumPy-like namespace. It is written
    for one vector, as a user would: the default `md.hessian` needs no broadcasting over a batch axis (it maps f
    with `md.vmap`)."""
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian(x: np.ndarray) -> np.ndarray:
    """The floor: the Hessian in closed form. Term i, 100 (x[i+1] - x[i]**2)**2 + (1 - x[i])**2, adds
    1200 x[i]**2 - 400 x[i+1] + 2 at (i, i), 200 at (i+1, i+1) and -400 x[i] at (i, i+1) and (i+1, i)."""
    n = x.shape[0]
    hessian = np.zeros((n, n))
    i = np.arange(n - 1)
    hessian[i, i] = 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    hessian[i + 1, i + 1] += 200.0
    hessian[i, i + 1] = hessian[i + 1, i] = -400.0 * x[:-1]
    return hessian


def point(n: int) -> np.ndarray:
    """The point the Hessian is taken at: uniform in [-2, 2]**n from a fixed seed, the same in every process."""
    return np.random.default_rng(n).uniform(-2.0, 2.0, n)


def make_suite(size: str) -> Suite:
    """The suite of the Hessians at the two n of SIZES[size]."""
    sizes = SIZES[size]
    points = [point(n) for n in sizes]

    def entry(
        library: str,
        version: str,
        hessian: Callable[[Any], Any],
        to_numpy: Callable[[Any], np.ndarray],
        convert: Callable[[np.ndarray], Any] = lambda x: x,
    ) -> Entry:
        """A library's Entry: its Hessian at the two points (`convert`ed to its arrays) are the two timed passes,
        and the two results, as NumPy arrays, what the check sees as the value and the gradient."""
        small, large = (convert(x) for x in points)
        return Entry(
            library,
            version,
            (to_numpy(hessian(small)), to_numpy(hessian(large))),
            forward=lambda: hessian(small),
            forward_backward=lambda: hessian(large),
        )

    def bench_numpy() -> Entry:
        return entry("numpy (closed form)", np.__version__, rosenbrock_hessian, np.asarray)

    def bench_minidiff() -> Entry:
        import minidiff as md

        hessian = md.hessian(lambda x: rosenbrock(x, md))  # the default: vectorized through md.vmap
        _, looped = with_looped_ops(lambda: [hessian(x) for x in points])
        return entry(labeled("minidiff (md.hessian)", looped), md.__version__, hessian, lambda h: h.numpy())

    def bench_minidiff_rows() -> Entry:
        import minidiff as md

        hessian = md.hessian(lambda x: rosenbrock(x, md), vectorized=False)
        return entry("minidiff (vectorized=False)", md.__version__, hessian, lambda h: h.numpy())

    def bench_torch() -> Entry:
        import torch

        torch.set_num_threads(1)
        hessian = torch.func.hessian(lambda x: rosenbrock(x, torch))
        return entry(
            "torch.func.hessian (CPU)", torch.__version__, hessian, lambda h: h.numpy(),
            lambda x: torch.tensor(x, dtype=torch.float64),
        )

    def bench_autograd() -> Entry:
        import autograd
        import autograd.numpy as anp

        hessian = autograd.hessian(lambda x: rosenbrock(x, anp))
        return entry("autograd", distribution_version("autograd"), hessian, np.asarray)

    def check(library: str, small: Any, large: Any) -> None:
        """Fail the run, rather than time a wrong answer, unless both Hessians match the closed form."""
        for x, hessian in zip(points, (small, large)):
            expected = rosenbrock_hessian(x)
            scale = float(np.max(np.abs(expected)))
            np.testing.assert_allclose(
                np.asarray(hessian, dtype=np.float64), expected, rtol=1e-10, atol=1e-12 * scale,
                err_msg=f"{library}: Hessian at n={x.shape[0]}",
            )

    return Suite(
        script=__file__,
        description=__doc__.splitlines()[0],
        benchmarks={
            "numpy": bench_numpy, "minidiff": bench_minidiff, "minidiff-rows": bench_minidiff_rows,
            "torch": bench_torch,
            # not "autograd": the harness's note on that key (its first column is an untraced forward) would be
            # wrong here, where both columns are Hessians
            "autograd-hessian": bench_autograd,
        },
        check=check,
        unit=Unit(key="ms", label="ms", scale=1e3, digits=3),
        intro=(
            "Dense Hessian of the Rosenbrock function, sum(100 (x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2),",
            f"float64, at n={sizes[0]} and n={sizes[1]}: each column is the time of one full Hessian.",
        ),
        numpy_note="numpy (closed form): the tridiagonal Hessian written by hand, the floor.",
        config={
            "sizes": list(sizes), "dtype": "float64",
            "columns": {"fwd_ms": f"Hessian at n={sizes[0]}", "fwd_bwd_ms": f"Hessian at n={sizes[1]}"},
        },
        reference="torch",
        passes=(f"n={sizes[0]}", f"n={sizes[1]}"),  # the two timed passes: one Hessian at each size
        summary=(
            SummaryRow(f"W4 Rosenbrock Hessian, n={sizes[0]}", measure="fwd", against="torch"),
            SummaryRow(f"W4 Rosenbrock Hessian, n={sizes[1]}", measure="fwd_bwd", against="torch", target=1.0),
        ),
        repeats=20,
        warmup=2,
    )


if __name__ == "__main__":
    sys.exit(main(make_suite))
