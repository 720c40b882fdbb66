"""Fit the complex taps of a filter by gradient descent on complex tensors.

A complex baseband signal x passes through an unknown 4-tap filter h and picks up noise:
y[n] = sum_k h[k] x[n - k] + noise. The taps are estimated by minimizing the squared error
L(h) = sum_n |y[n] - sum_k h[k] x[n - k]|^2 with plain gradient descent on the complex
tensor h: minidiff's gradient is dL/d(Re h) + i dL/d(Im h) (docs/gradient-conventions.md),
so `h -= lr * h.grad` goes downhill. The result is compared with the least-squares
solution NumPy computes directly.

    .venv/bin/python examples/complex_fit.py
"""

from __future__ import annotations

import numpy as np

import minidiff as md

TAPS = 4


def lagged(x: np.ndarray, taps: int) -> np.ndarray:
    """The matrix whose row n holds x[n], x[n-1], ..., x[n-taps+1] (zeros before the start)."""
    return np.stack([np.concatenate([np.zeros(k, dtype=x.dtype), x[: len(x) - k]]) for k in range(taps)], axis=1)


def main() -> None:
    rng = np.random.default_rng(0)
    x = (rng.normal(size=400) + 1j * rng.normal(size=400)) / np.sqrt(2)
    true_taps = np.array([1.0, 0.5 - 0.3j, -0.2 + 0.4j, 0.1j])
    noise = 0.05 * (rng.normal(size=400) + 1j * rng.normal(size=400))
    rows = lagged(x, TAPS)
    y = rows @ true_taps + noise

    rows_t, y_t = md.Tensor(rows), md.Tensor(y)
    h = md.Tensor(np.zeros(TAPS, dtype=complex), allow_grad=True)
    lr = 0.5 / (2 * np.linalg.norm(rows, 2) ** 2)  # below 1/Lipschitz of the gradient 2 X^H (X h - y)
    for step in range(61):
        residual = md.sum(rows_t * h, axis=1) - y_t  # X h, as a sum of products per row
        loss = md.sum(md.abs(residual) ** 2)
        h.grad = None
        loss.backward()
        with md.no_grad():
            h -= lr * h.grad
        if step % 10 == 0:
            print(f"step {step:3d}  loss {loss.item():.6f}")

    best = np.linalg.lstsq(rows, y, rcond=None)[0]
    np.set_printoptions(precision=4, suppress=True)
    print("fitted taps:  ", h.numpy())
    print("least squares:", best)
    print("true taps:    ", true_taps)
    print(f"max |fitted - least squares| = {np.abs(h.numpy() - best).max():.2e}")


if __name__ == "__main__":
    main()
