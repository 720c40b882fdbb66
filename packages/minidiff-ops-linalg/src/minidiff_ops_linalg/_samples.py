"""Concrete, well-conditioned matrices for the ops' samples.

The conformance kit draws a shape's values uniformly from a box, which gives matrices of
any condition number. These are built instead from chosen singular values (or eigenvalues)
and random orthogonal factors, so every sample stays far from a singular matrix, from a
repeated eigenvalue and from a repeated singular value, where the gradients are undefined
or too steep for finite differences. Concrete float arrays are differentiated by the kit
exactly like drawn ones.
"""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng(20261122)


def _orthogonal(n: int, batch: tuple[int, ...] = ()) -> np.ndarray:
    q, r = np.linalg.qr(_rng.standard_normal((*batch, n, n)))
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def with_singular_values(m: int, n: int, values: tuple[float, ...], batch: tuple[int, ...] = ()) -> np.ndarray:
    """An m x n matrix (or a stack of them) whose singular values are `values`."""
    k = min(m, n)
    assert len(values) == k
    u, v = _orthogonal(m, batch)[..., :, :k], _orthogonal(n, batch)[..., :, :k]
    return (u * np.asarray(values)) @ np.swapaxes(v, -1, -2)


def symmetric(eigenvalues: tuple[float, ...], batch: tuple[int, ...] = ()) -> np.ndarray:
    """A symmetric matrix (or a stack of them) with these eigenvalues."""
    v = _orthogonal(len(eigenvalues), batch)
    return (v * np.asarray(eigenvalues)) @ np.swapaxes(v, -1, -2)


def junk_above(a: np.ndarray) -> np.ndarray:
    """`a`'s lower triangle with unrelated values above it: what a one-triangle routine
    (cholesky, eigh) must ignore, and what its gradient must be zero on."""
    return np.tril(a) + np.triu(_rng.uniform(-3.0, 3.0, a.shape), 1)


SQUARE = with_singular_values(3, 3, (2.5, 1.6, 0.9))
# A row flipped: the determinant changes sign, so slogdet's sign is -1 for this one.
SQUARE_NEGATIVE = SQUARE * np.array([[-1.0], [1.0], [1.0]]) * np.sign(np.linalg.det(SQUARE))
SQUARE_BATCH = with_singular_values(3, 3, (2.2, 1.4, 0.8), batch=(2,))
SQUARE_4 = with_singular_values(4, 4, (2.6, 1.9, 1.3, 0.8))
TALL = with_singular_values(4, 3, (2.4, 1.5, 0.9))
WIDE = with_singular_values(3, 4, (2.3, 1.6, 0.7))
WIDE_BATCH = with_singular_values(2, 3, (1.9, 0.8), batch=(2,))
TALL_BATCH = with_singular_values(3, 2, (2.1, 1.1), batch=(2,))
# Rank 2: det is 0 there, and its gradient (the cofactor matrix) is not.
SINGULAR = with_singular_values(3, 3, (2.0, 1.1, 0.0))

SPD = symmetric((3.0, 1.8, 0.7))
SPD_BATCH = symmetric((2.5, 1.5, 0.6), batch=(2,))
SYMMETRIC = symmetric((2.0, -0.6, -1.7))  # indefinite, distinct eigenvalues
SYMMETRIC_BATCH = symmetric((1.9, 0.4, -1.2), batch=(2,))

# Rank 2 of 3: lstsq's solution is the least-norm one, and jumps under most perturbations.
TALL_RANK_2 = with_singular_values(4, 3, (2.2, 1.3, 0.0))


def with_eigenvalues(eigenvalues: tuple[float, ...], batch: tuple[int, ...] = ()) -> np.ndarray:
    """A general (non-symmetric) real matrix, or a stack of them, with these real
    eigenvalues and well-conditioned eigenvectors (singular values 1.6 to 0.8)."""
    n = len(eigenvalues)
    p = with_singular_values(n, n, tuple(np.linspace(1.6, 0.8, n)), batch)
    return (p * np.asarray(eigenvalues)) @ np.linalg.inv(p)


NONSYMMETRIC = with_eigenvalues((2.1, -1.3, 0.6))
NONSYMMETRIC_BATCH = with_eigenvalues((1.8, 0.9, -0.7), batch=(2,))
NONSYMMETRIC_4 = with_eigenvalues((2.4, 1.2, -0.5, -1.6))


# ---------------------------------------------------------------------------- complex matrices
# Drawn from a generator of their own, so that the real samples above keep their values.
_complex_rng = np.random.default_rng(20261205)


def _unitary(n: int, batch: tuple[int, ...] = ()) -> np.ndarray:
    z = _complex_rng.standard_normal((*batch, n, n)) + 1j * _complex_rng.standard_normal((*batch, n, n))
    q, r = np.linalg.qr(z)
    diagonal = np.diagonal(r, axis1=-2, axis2=-1)
    return q * (diagonal / abs(diagonal))[..., None, :]


def complex_with_singular_values(
    m: int, n: int, values: tuple[float, ...], batch: tuple[int, ...] = ()
) -> np.ndarray:
    """A complex m x n matrix (or a stack of them) whose singular values are `values`."""
    k = min(m, n)
    assert len(values) == k
    u, v = _unitary(m, batch)[..., :, :k], _unitary(n, batch)[..., :, :k]
    return (u * np.asarray(values)) @ np.conj(np.swapaxes(v, -1, -2))


def hermitian(eigenvalues: tuple[float, ...], batch: tuple[int, ...] = ()) -> np.ndarray:
    """A complex Hermitian matrix (or a stack of them) with these eigenvalues."""
    v = _unitary(len(eigenvalues), batch)
    return (v * np.asarray(eigenvalues)) @ np.conj(np.swapaxes(v, -1, -2))


def complex_junk_above(a: np.ndarray) -> np.ndarray:
    """`junk_above` for a complex matrix: unrelated values above the diagonal, and an
    imaginary part on it, which LAPACK's Hermitian routines ignore as well."""
    junk = _complex_rng.uniform(-3.0, 3.0, a.shape) + 1j * _complex_rng.uniform(-3.0, 3.0, a.shape)
    n = a.shape[-1]
    return np.tril(a) + np.triu(junk, 1) + 1j * np.eye(n) * _complex_rng.uniform(-1.0, 1.0, a.shape)


SQUARE_C = complex_with_singular_values(3, 3, (2.5, 1.6, 0.9))
SQUARE_BATCH_C = complex_with_singular_values(3, 3, (2.2, 1.4, 0.8), batch=(2,))
TALL_C = complex_with_singular_values(4, 3, (2.4, 1.5, 0.9))
WIDE_C = complex_with_singular_values(3, 4, (2.3, 1.6, 0.7))
HERMITIAN = hermitian((2.0, -0.6, -1.7))
HERMITIAN_BATCH = hermitian((1.9, 0.4, -1.2), batch=(2,))
HPD = hermitian((3.0, 1.8, 0.7))
HPD_BATCH = hermitian((2.5, 1.5, 0.6), batch=(2,))
