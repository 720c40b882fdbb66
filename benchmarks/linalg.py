#!/usr/bin/env python3
"""The gradient of a Gaussian negative log-likelihood (d=100, N=500) with md.linalg, next to
NumPy by hand, PyTorch and HIPS autograd.

The workload is nll(Σ) = N/2 log|Σ| + 1/2 Σ_i x_iᵀ Σ⁻¹ x_i for N=500 samples of dimension
d=100 in float64, written once for every library with its `slogdet` and `solve`, and its
gradient with respect to Σ. Unlike `overhead.py`, the arithmetic dominates here (LU
factorizations and d x d x N triangular solves and products), so this measures how much
each library adds to the linear algebra itself and whether its backward does extra work.

Each library runs in its own process with one thread, checks its value and gradient against
the closed form N/2 Σ⁻¹ - 1/2 Σ⁻¹ XᵀX Σ⁻¹, then times `--repeats` runs of the forward pass and
of forward + backward after a warmup, and reports the median.

    python benchmarks/linalg.py                 # the table
    python benchmarks/linalg.py --repeats 50 --json results.json
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

# Run as a script, benchmarks/ is on sys.path: the harness is the file next to this one.
from _harness import NOT_IMPORTABLE, Entry, Suite, SummaryRow, Unit, backward_entry, distribution_version, main

D, N = 100, 500


def problem() -> tuple[np.ndarray, np.ndarray]:
    """A well-conditioned covariance Σ (d x d) and N samples X (N x d), the same in every process."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((D, D))
    sigma = a @ a.T / D + np.eye(D)
    x = rng.standard_normal((N, D)) @ np.linalg.cholesky(sigma).T
    return sigma, x


SIGMA, X = problem()


def nll(sigma: Any, x: Any, slogdet: Callable[..., Any], solve: Callable[..., Any], total: Callable[..., Any]) -> Any:
    """The benchmarked function, written once for every library."""
    _, logdet = slogdet(sigma)
    return 0.5 * x.shape[0] * logdet + 0.5 * total(x.T * solve(sigma, x.T))


def numpy_value_and_grad(sigma: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """The NLL and its closed-form gradient N/2 Σ⁻¹ - 1/2 (Σ⁻¹Xᵀ)(Σ⁻¹Xᵀ)ᵀ, sharing Z = Σ⁻¹Xᵀ."""
    _, logdet = np.linalg.slogdet(sigma)
    z = np.linalg.solve(sigma, x.T)
    value = 0.5 * len(x) * logdet + 0.5 * np.sum(x.T * z)
    return value, 0.5 * len(x) * np.linalg.inv(sigma) - 0.5 * z @ z.T


# --------------------------------------------------------------------------- one function per library


def bench_numpy() -> Entry:
    """The floor: the NumPy forward, and the forward with the closed-form gradient."""
    return Entry(
        "numpy (by hand)",
        np.__version__,
        numpy_value_and_grad(SIGMA, X),
        forward=lambda: nll(SIGMA, X, np.linalg.slogdet, np.linalg.solve, np.sum),
        forward_backward=lambda: numpy_value_and_grad(SIGMA, X),
    )


def bench_minidiff() -> Entry:
    import minidiff as md

    sigma, x = md.Tensor(SIGMA, allow_grad=True), md.Tensor(X)

    def forward() -> Any:
        return nll(sigma, x, md.linalg.slogdet, md.linalg.solve, md.sum)

    return backward_entry("minidiff", md.__version__, forward, sigma)


def bench_torch() -> Entry:
    import torch

    torch.set_num_threads(1)
    sigma = torch.tensor(SIGMA, dtype=torch.float64, requires_grad=True)
    x = torch.tensor(X, dtype=torch.float64)

    def forward() -> Any:
        return nll(sigma, x, torch.linalg.slogdet, torch.linalg.solve, torch.sum)

    return backward_entry("torch (CPU)", torch.__version__, forward, sigma, reset_grad=True)


def bench_autograd() -> Entry:
    """HIPS autograd traces only inside `grad`: its forward column is the untraced autograd.numpy call."""
    import autograd
    import autograd.numpy as anp

    def f(sigma: Any) -> Any:
        return nll(sigma, X, anp.linalg.slogdet, anp.linalg.solve, anp.sum)

    value_and_grad = autograd.value_and_grad(f)
    return Entry(
        "autograd",
        distribution_version("autograd"),
        value_and_grad(SIGMA),
        forward=lambda: f(SIGMA),
        forward_backward=lambda: value_and_grad(SIGMA),
    )


# --------------------------------------------------------------------------- the check and the suite


def check(library: str, value: Any, gradient: Any) -> None:
    """Fail the run, rather than time a wrong answer, unless `value` and `gradient` match the closed form."""
    expected_value, expected_gradient = numpy_value_and_grad(SIGMA, X)
    np.testing.assert_allclose(float(value), expected_value, rtol=1e-10, err_msg=f"{library}: forward value")
    scale = float(np.max(np.abs(expected_gradient)))
    np.testing.assert_allclose(
        np.asarray(gradient, dtype=np.float64), expected_gradient, rtol=1e-8, atol=1e-10 * scale,
        err_msg=f"{library}: gradient",
    )


SUITE = Suite(
    script=__file__,
    description=__doc__.splitlines()[0],
    benchmarks={"numpy": bench_numpy, "minidiff": bench_minidiff, "torch": bench_torch, "autograd": bench_autograd},
    check=check,
    unit=Unit(key="ms", label="ms", scale=1e3, digits=3),
    intro=(
        "Gradient of the Gaussian NLL N/2 log|S| + 1/2 sum_i x_i' S^-1 x_i with respect to S,",
        f"d={D}, N={N}, float64, through each library's slogdet and solve.",
    ),
    numpy_note="numpy (by hand): fwd is the NumPy forward, fwd+bwd the forward with the closed-form gradient.",
    config={"d": D, "n": N, "dtype": "float64"},
    # md.linalg comes from the minidiff-ops-linalg pack: a minidiff without it is skipped, like a missing library.
    skips={**NOT_IMPORTABLE, AttributeError: "no md.linalg ({error}); pip install minidiff-ops-linalg"},
    summary=(SummaryRow(f"W5 Gaussian NLL gradient, d={D}, N={N}", measure="fwd_bwd", against="torch", target=1.0),),
)


if __name__ == "__main__":
    sys.exit(main(SUITE))
