"""Gradients through SciPy: fit models whose losses are SciPy's own functions, run on
minidiff Tensors.

With `SCIPY_ARRAY_API=1`, SciPy's Array API-aware functions compute with the namespace of
their input; a Tensor's is `minidiff`, so `scipy.special.logsumexp(logits, axis=1)` or
`scipy.stats.skew(y)` builds a minidiff graph and `.backward()` differentiates it.

1. Softmax regression whose negative log-likelihood is written with
   `scipy.special.logsumexp`, trained by gradient descent; its gradient is checked against
   the closed form X^T (softmax(XW) - onehot(y)).
2. A power transform y = (x^lam - 1) / lam that makes skewed data look Gaussian: lam is
   found by gradient descent on `scipy.stats.skew(y)^2 + scipy.stats.kurtosis(y)^2`, and
   checked against a grid search of the same loss computed by SciPy on NumPy arrays.

Run it with `.venv/bin/python examples/scipy_gradients.py` (needs the root distribution's
`array-api-libs` extra: SciPy); docs/array-api-libraries.md lists the functions that work.
"""

from __future__ import annotations

import os

os.environ["SCIPY_ARRAY_API"] = "1"  # SciPy reads it once, at its first import

import numpy as np  # noqa: E402
import scipy.special  # noqa: E402
import scipy.stats  # noqa: E402

import minidiff as md  # noqa: E402

CLASSES, FEATURES, SAMPLES = 3, 4, 300


def softmax_nll(w: md.Tensor, x: md.Tensor, onehot: md.Tensor) -> md.Tensor:
    """The mean negative log-likelihood of softmax regression: mean(logsumexp(xW) - <xW, onehot>)."""
    logits = x @ w
    return md.mean(scipy.special.logsumexp(logits, axis=1) - md.sum(logits * onehot, axis=1))


def fit_softmax_regression(rng: np.random.Generator) -> None:
    true_w = rng.standard_normal((FEATURES, CLASSES)) * 2.0
    x = rng.standard_normal((SAMPLES, FEATURES))
    labels = np.argmax(x @ true_w + rng.gumbel(size=(SAMPLES, CLASSES)), axis=1)
    onehot = np.eye(CLASSES)[labels]

    w = md.Tensor(np.zeros((FEATURES, CLASSES)), allow_grad=True)
    softmax_nll(w, md.Tensor(x), md.Tensor(onehot)).backward()
    closed_form = x.T @ (scipy.special.softmax(x @ w.numpy(), axis=1) - onehot) / SAMPLES
    print(f"softmax regression: gradient vs closed form, max abs difference {np.abs(w.grad.numpy() - closed_form).max():.3e}")

    for step in range(101):
        loss = softmax_nll(w, md.Tensor(x), md.Tensor(onehot))
        loss.backward()
        with md.no_grad():
            w -= 0.5 * w.grad
        if step % 25 == 0:
            print(f"  step {step:3d}  loss {loss.item():.4f}")
    accuracy = np.mean(np.argmax(x @ w.numpy(), axis=1) == labels)
    print(f"softmax regression: final loss {loss.item():.4f}, training accuracy {100 * accuracy:.1f}%")


def non_gaussianity(lam: md.Tensor, x: md.Tensor) -> md.Tensor:
    """skew^2 + excess kurtosis^2 of the power transform (x^lam - 1) / lam (Box-Cox)."""
    y = (x**lam - 1.0) / lam
    return scipy.stats.skew(y) ** 2 + scipy.stats.kurtosis(y) ** 2


def fit_power_transform(rng: np.random.Generator) -> None:
    x = md.Tensor((5.0 + rng.standard_normal(2000)) ** 2)  # the square of a Gaussian: skewed
    lam = md.Tensor(1.0, allow_grad=True)
    print(f"power transform: skew {scipy.stats.skew(x).item():.3f}, excess kurtosis {scipy.stats.kurtosis(x).item():.3f} before")
    for step in range(151):
        loss = non_gaussianity(lam, x)
        loss.backward()
        with md.no_grad():
            lam -= 0.2 * lam.grad
        if step % 50 == 0:
            print(f"  step {step:3d}  lam {lam.item():.4f}  skew^2 + kurtosis^2 {loss.item():.3e}")
    y = (x**lam - 1.0) / lam
    print(f"power transform: lam {lam.item():.4f}; skew {scipy.stats.skew(y).item():.3f}, "
          f"excess kurtosis {scipy.stats.kurtosis(y).item():.3f} after")

    # The same loss on NumPy arrays (SciPy's own computation, no minidiff), on a grid.
    grid = np.linspace(0.05, 1.0, 951)
    data = x.numpy()
    losses = [scipy.stats.skew((data**g - 1) / g) ** 2 + scipy.stats.kurtosis((data**g - 1) / g) ** 2 for g in grid]
    print(f"power transform: grid search on NumPy finds lam {grid[int(np.argmin(losses))]:.4f} (grid step 0.001)")


def main() -> None:
    rng = np.random.default_rng(0)
    fit_softmax_regression(rng)
    fit_power_transform(rng)


if __name__ == "__main__":
    main()
