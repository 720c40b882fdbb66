"""The `linalg` op family: `md.linalg.solve`, `inv`, `det`, `slogdet`, `cholesky`, `eigh`,
`eigvalsh`, `svd`, `svdvals`, `qr`, `pinv`, `matrix_power`, `norm`, `vector_norm` and
`matrix_norm`, with NumPy's signatures, batched over leading axes.

Each gradient rule is written with minidiff ops (`md.matmul`, `md.linalg.solve`, ...), so
it is differentiated again like any computation: Hessians and third derivatives come out
of the same table. Matrix-calculus results are cited where they are used. Conventions:

- Complex matrices (complex64, complex128) are differentiated in PyTorch's convention
  (docs/gradient-conventions.md): `solve`, `inv` and `det` are holomorphic and keep the
  real formulas (`Op(complex=HOLOMORPHIC)`); the others' rules hold conjugate transposes
  (`_mH`, a plain transpose for real matrices). Hermitian routines (`eigh`, `cholesky`,
  `hermitian=True`) read one triangle and the real part of the diagonal, as LAPACK does.
  Complex eigenvectors and singular vectors have a free phase each: a loss that depends
  on those phases has no gradient, and the backward raises ValueError, as PyTorch does.
- `cholesky`, `eigh` (and `svd`/`pinv` with `hermitian=True`) read one triangle of their
  input, as NumPy does; their gradients are the gradients of exactly that function, so
  they are zero on the triangle that is not read (`_read_triangle`). On a path where the
  input is built symmetric (Σ = B Bᵀ) this agrees with the usual symmetric gradient.
- Where a gradient does not exist (repeated eigenvalues or singular values that the
  result depends on, `logabsdet` of a singular matrix, `qr` of a rank-deficient matrix,
  `full_matrices`/`complete` columns that are arbitrary), the backward raises a
  ValueError (or NumPy's `LinAlgError`, a ValueError) saying why. Where a subgradient is
  the convention (`norm` at zero, ties in `ord=inf` norms), it is the one PyTorch returns;
  the second derivative of a p-norm at zero, unbounded nearby, is NaN
  (docs/gradient-conventions.md lists each such point with PyTorch's and JAX's values).

Forwards are NumPy's `xp.linalg.*` functions after checking shapes; another backend
replaces any of them with `minidiff_register_kernels` (see this package's README).
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np
from numpy.linalg import LinAlgError

import minidiff as md
from minidiff.batching import rules
from minidiff.batching.rules import logical_ndim, pad_to
from minidiff.batching.tensor import BatchedTensor
from minidiff.extend import HOLOMORPHIC, Op, hookimpl, sample
from minidiff.ops._axes import kept_shape, normalize_axis
from minidiff.optable import functions
from minidiff._tensor import Tensor
from minidiff_ops_linalg import _samples as S

# ---------------------------------------------------------------------------- helpers


def _mT(x: Tensor) -> Tensor:
    """The transpose of each matrix in a stack."""
    return md.swapaxes(x, -1, -2)


def _is_complex(x: Any) -> bool:
    # By name: every backend spells its complex dtypes "complex64"/"complex128".
    return "complex" in str(getattr(x, "dtype", ""))


def _mH(x: Tensor) -> Tensor:
    """The conjugate transpose of each matrix in a stack (the transpose of a real one)."""
    return md.conj(_mT(x)) if _is_complex(x) else _mT(x)


def _tensor(a: Any) -> Tensor:
    return a if isinstance(a, (Tensor, BatchedTensor)) else Tensor(a)


def _diag_embed(v: Tensor) -> Tensor:
    """Diagonal matrices with `v` on their diagonals: (..., n) -> (..., n, n)."""
    n = v.shape[-1]
    return md.expand_dims(v, -2) * md.eye(n, dtype=v.dtype, backend=v.backend.name)


def _phi(x: Tensor) -> Tensor:
    """Murray 2016's Φ: the lower triangle of each matrix, its diagonal halved."""
    xp, n = x.backend.xp, x.shape[-1]
    # A constant pattern (no derivative flows through it), so a raw array is fine.
    weights = xp.tri(n, dtype=x.dtype) - 0.5 * xp.eye(n, dtype=x.dtype)
    return x * weights


def _read_triangle(grad: Tensor, lower: bool) -> Tensor:
    """The gradient of f(sym(A)), where sym builds a symmetric (Hermitian) matrix from A's
    lower (or upper) triangle as LAPACK does, from `grad`, the gradient of f at sym(A): an
    entry below the diagonal stands for two entries of sym(A) (the one above it is its
    conjugate), one on it for one (its real part only, for a complex A), and one above it
    for none."""
    read = _phi(grad + _mH(grad))
    return read if lower else _mH(read)


def _expand_matrix(x: Tensor) -> Tensor:
    """A stack of scalars (...) as a stack of 1 x 1 matrices, to scale matrices."""
    return md.expand_dims(x, (-2, -1))


def _host(x: Tensor) -> np.ndarray:
    return x.backend.to_host(x.data)


def _reciprocal_gaps(values: Tensor, coupling: Tensor, op: str, what: str) -> Tensor:
    """F[..., i, j] = 1 / (values[j] - values[i]) off the diagonal, 0 on it.

    Where two values tie, the gradient of the vectors that go with them is undefined,
    unless the cotangent does not couple them: `coupling[..., i, j]` (the entries F
    multiplies, made antisymmetric) is exactly zero there. Then F is 0 at the tie, which
    is the limit for every cotangent that is blind to the choice of basis; otherwise this
    raises, rather than return the inf or NaN the formula gives.
    """
    xp, n = values.backend.xp, values.shape[-1]
    gaps = md.expand_dims(values, -2) - md.expand_dims(values, -1)
    off_diagonal = ~xp.eye(n, dtype=bool)
    ties = off_diagonal & (gaps.data == 0)
    if bool(xp.any(ties)):
        coupled = ties & (coupling.data != 0)
        if bool(xp.any(coupled)):
            *batch, i, j = (int(k) for k in np.argwhere(values.backend.to_host(coupled))[0])
            where = f" in matrix {tuple(batch)} of the stack" if batch else ""
            raise ValueError(
                f"{op}: the gradient is undefined: {what} {i} and {j}{where} are equal "
                f"({float(_host(values)[(*batch, i)])!r}), and the result depends on which vectors "
                f"span their shared subspace"
            )
    apart = off_diagonal & ~ties
    return md.where(apart, 1.0 / md.where(apart, gaps, 1.0), 0.0)


def _refuse_nonzero(cotangent: Tensor, op: str, what: str) -> None:
    """Raise if `cotangent`, the cotangent of outputs that are arbitrary, is not all zero."""
    if bool(cotangent.backend.xp.any(cotangent.data != 0)):
        raise ValueError(f"{op}: the gradient is undefined: the result depends on {what}")


def _refuse_phase_dependent(coupling: Tensor, op: str, what: str) -> None:
    """Complex eigenvectors (singular vectors) are defined up to a phase e^{iφ} each, which
    LAPACK picks by its own rule: a loss has a gradient only if it does not depend on those
    phases, that is if the imaginary part of the diagonal of `coupling` (Vᴴ V̄; for svd
    Uᴴ Ū + Vᴴ V̄) is zero. As in PyTorch's linalg_eig_backward, raise otherwise, rather
    than return the gradient for some other choice of phases."""
    xp = coupling.backend.xp
    data = coupling.data
    drift = xp.abs(xp.imag(xp.diagonal(data, axis1=-2, axis2=-1)))
    scale = 1.0 + xp.max(xp.abs(data))
    if bool(xp.any(drift > math.sqrt(np.finfo(coupling.dtype).eps) * scale)):
        raise ValueError(
            f"{op}: the gradient is undefined: complex {what} are defined up to a phase each, and the loss depends "
            f"on those phases (Im diag of the coupling is {float(xp.max(drift))!r}); use a loss that is invariant "
            f"under v -> v e^{{iφ}}, such as one of v vᴴ or |v|"
        )


# ---------------------------------------------------------------------------- checking forwards


def _check_real(a: Any, op: str) -> None:
    """For the few ops that take real matrices only (`eig`, `lstsq`, `matrix_rank`)."""
    if _is_complex(a):
        raise TypeError(f"{op}: complex matrices are not supported (got dtype {a.dtype})")


def _check_matrices(a: Any, square: bool = True) -> tuple[int, ...]:
    """`a`'s shape, after checking that it is a (stack of) matrices, square if asked."""
    shape = tuple(a.shape)
    if len(shape) < 2:
        raise LinAlgError(f"expected a matrix or a stack of matrices (..., M, N), got an array of shape {shape}")
    if square and shape[-1] != shape[-2]:
        raise LinAlgError(
            f"expected square matrices (..., M, M), got an array of shape {shape} (its matrices are "
            f"{shape[-2]} x {shape[-1]})"
        )
    return shape


def _reraise(exc: LinAlgError, shape: tuple[int, ...]) -> LinAlgError:
    return LinAlgError(f"{exc} (input of shape {shape})")


def _broadcast_batches(batch_a: tuple[int, ...], batch_b: tuple[int, ...]) -> bool:
    return all(n == m or 1 in (n, m) for n, m in zip(reversed(batch_a), reversed(batch_b)))


# ---------------------------------------------------------------------------- solve


def _solve(xp: Any, a: Any, b: Any) -> Any:
    shape_a, shape_b = _check_matrices(a), tuple(b.shape)
    m = shape_a[-1]
    if not shape_b:
        raise ValueError(f"b must be a vector (M,) or a stack of matrices (..., M, K), got a 0-d b; a has shape {shape_a}")
    rows = shape_b[0] if len(shape_b) == 1 else shape_b[-2]
    if rows != m:
        where = "its only axis" if len(shape_b) == 1 else "its second-to-last axis"
        raise ValueError(
            f"a has shape {shape_a}, so b needs {m} rows, but b has shape {shape_b} ({where} has {rows}); "
            f"a 1-D b is one vector, any other b a stack of matrices (..., M, K)"
        )
    if len(shape_b) > 1 and not _broadcast_batches(shape_a[:-2], shape_b[:-2]):
        raise ValueError(
            f"the batch axes of a {shape_a[:-2]} and of b {shape_b[:-2]} (all but the last two) do not broadcast"
        )
    try:
        return xp.linalg.solve(a, b)
    except LinAlgError as exc:
        raise _reraise(exc, shape_a) from exc


def _as_columns(x: Tensor, b: Any) -> Tensor:
    """A solve's cotangent or answer as a stack of matrices, also when b was one vector."""
    return md.expand_dims(x, -1) if b.ndim == 1 else x


# Giles 2008, sec. 2.3.1: C = A⁻¹B gives B̄ = A⁻ᵀC̄ and Ā = -B̄Cᵀ.
def _solve_vjp_b(g: Tensor, ans: Tensor, a: Tensor, b: Tensor) -> Tensor:
    gb = md.linalg.solve(_mT(a), _as_columns(g, b))
    return gb[..., 0] if b.ndim == 1 else gb


def _solve_vjp_a(g: Tensor, ans: Tensor, a: Tensor, b: Tensor) -> Tensor:
    g, x = _as_columns(g, b), _as_columns(ans, b)
    if g.shape[-1] > a.shape[-1]:
        # More right-hand sides K than rows M: -A⁻ᵀ (C̄ Cᵀ) solves for M columns instead of K.
        return -md.linalg.solve(_mT(a), g @ _mT(x))
    return -(md.linalg.solve(_mT(a), g) @ _mT(x))


# ---------------------------------------------------------------------------- inv, det, slogdet


def _det(xp: Any, a: Any) -> Any:
    _check_matrices(a)
    return xp.linalg.det(a)


def _slogdet(xp: Any, a: Any) -> tuple:
    _check_matrices(a)
    return tuple(xp.linalg.slogdet(a))


def _inv(xp: Any, a: Any) -> Any:
    shape = _check_matrices(a)
    try:
        return xp.linalg.inv(a)
    except LinAlgError as exc:
        raise _reraise(exc, shape) from exc


def _cofactors(a: Tensor) -> Tensor:
    """The cofactor matrix (the gradient of det), also where `a` is singular:
    cof(U S Vᵀ) = det(U) det(V) U diag(∏_{j≠i} s_j) Vᵀ."""
    u, s, vh = md.linalg.svd(a, full_matrices=False)
    n = s.shape[-1]
    others = md.prod(md.where(s.backend.xp.eye(n, dtype=bool), 1.0, md.expand_dims(s, -2)), axis=-1)
    sign = md.linalg.det(u) * md.linalg.det(vh)
    body = (u * md.expand_dims(others, -2)) @ vh
    # A complex A has A⁻ᵀ = conj(U) S⁻¹ conj(Vh): the cofactors are the conjugate of that body.
    return _expand_matrix(sign) * (md.conj(body) if _is_complex(body) else body)


def _det_vjp(g: Tensor, ans: Tensor, a: Tensor) -> Tensor:
    # Giles 2008, sec. 2.2.4: Ā = C̄ det(A) A⁻ᵀ, the cofactor matrix. That formula loses all
    # accuracy near a singular matrix; there, as PyTorch does (|det| < 100 eps), the
    # cofactors come from an SVD instead, which is exact at singular matrices too.
    if bool(ans.backend.xp.any(abs(ans.data) < 100 * np.finfo(ans.dtype).eps)):
        return _expand_matrix(g) * _cofactors(a)
    return _expand_matrix(g * ans) * _mT(md.linalg.inv(a))


def _slogdet_vjp(gs: tuple, ans: tuple, a: Tensor) -> Tensor:
    # Giles 2008, sec. 2.2.4: d log det A = tr(A⁻¹ dA), whose real part moves logabsdet and
    # whose imaginary part turns a complex sign: d sign = i sign Im tr(A⁻¹ dA). So a real
    # loss has gradient (ḡ_logabsdet - i Im(conj(ḡ_sign) sign)) A⁻ᴴ; a real sign is
    # piecewise constant. (The same result as PyTorch's slogdet_backward, by another route.)
    sign, g = ans[0], gs[1]
    if bool(sign.backend.xp.any((sign.data == 0) & (g.data != 0))):
        raise LinAlgError(
            "slogdet: the gradient of logabsdet at a singular matrix (logabsdet = -inf) is infinite"
        )
    if _is_complex(sign):
        g = g - 1j * md.imag(md.conj(gs[0]) * sign)
    return _expand_matrix(g) * _mH(md.linalg.inv(a))


# ---------------------------------------------------------------------------- cholesky


def _cholesky(xp: Any, a: Any, upper: bool) -> Any:
    shape = _check_matrices(a)
    try:
        return xp.linalg.cholesky(a, upper=True) if upper else xp.linalg.cholesky(a)
    except LinAlgError as exc:
        raise LinAlgError(
            f"a matrix of the input (shape {shape}) is not positive definite ({exc}); NumPy reads "
            f"its {'upper' if upper else 'lower'} triangle"
        ) from exc


def _cholesky_vjp(g: Tensor, ans: Tensor, a: Tensor, upper: bool) -> Tensor:
    # Murray 2016, "Differentiation of the Cholesky decomposition", eq. 10: for A = L Lᴴ,
    # the gradient for Hermitian perturbations is L⁻ᴴ Φ(Lᴴ L̄) L⁻¹ (with conjugate
    # transposes for complex A, whose L has a real diagonal; Φ is a real mask, so it is its
    # own adjoint); NumPy reads the lower triangle only. The upper factor is U = chol(Aᴴ)ᴴ
    # read from the upper triangle.
    lower, g = (_mH(ans), _mH(g)) if upper else (ans, g)
    lh = _mH(lower)
    inner = md.linalg.solve(lh, _phi(lh @ g))  # L⁻ᴴ Φ(Lᴴ L̄)
    grad = _read_triangle(_mH(md.linalg.solve(lh, _mH(inner))), lower=True)  # ... L⁻¹
    return _mH(grad) if upper else grad


# ---------------------------------------------------------------------------- eigh


def _uplo(UPLO: str) -> str:
    if not isinstance(UPLO, str) or UPLO.upper() not in ("L", "U"):
        raise ValueError(f"UPLO must be 'L' or 'U', got {UPLO!r}")
    return UPLO.upper()


def _eigh(xp: Any, a: Any, UPLO: str) -> tuple:
    _check_matrices(a)
    return tuple(xp.linalg.eigh(a, UPLO=_uplo(UPLO)))


def _eigh_vjp(gs: tuple, ans: tuple, a: Tensor, UPLO: str) -> Tensor:
    # Giles 2008, sec. 3.1: for A = V diag(w) Vᴴ, Ā = V (diag(w̄) + F ∘ VᴴV̄) Vᴴ with
    # F_ij = 1 / (w_j - w_i), for Hermitian perturbations; NumPy reads one triangle. For a
    # complex A the eigenvalues stay real and the formula holds with conjugate transposes,
    # for losses that do not depend on the eigenvectors' phases (checked, as in PyTorch's
    # linalg_eig_backward).
    gw, gv = gs
    w, v = ans
    vh = _mH(v)
    coupling = vh @ gv
    if _is_complex(coupling):
        _refuse_phase_dependent(coupling, "eigh", "eigenvectors")
    f = _reciprocal_gaps(w, coupling - _mH(coupling), "eigh", "eigenvalues")
    grad = v @ (f * coupling + _diag_embed(gw)) @ vh
    return _read_triangle(grad, lower=_uplo(UPLO) == "L")


# ---------------------------------------------------------------------------- svd


def _svd_factors(xp: Any, a: Any, full_matrices: bool, hermitian: bool) -> tuple:
    shape = _check_matrices(a, square=hermitian)
    try:
        return tuple(xp.linalg.svd(a, full_matrices=full_matrices, compute_uv=True, hermitian=hermitian))
    except LinAlgError as exc:
        raise _reraise(exc, shape) from exc


def _svd_vjp(gs: tuple, ans: tuple, a: Tensor, full_matrices: bool, hermitian: bool) -> Tensor:
    """Townsend 2016, "Differentiating the singular value decomposition", for A = U S Vᴴ
    (m x n, k = min(m, n)), with J = UᴴŪ - ŪᴴU, K = VᴴV̄ - V̄ᴴV and F_ij = 1/(s_j² - s_i²):

        Ā = U [(F∘J) S + diag(S̄) + S (F∘K) + D] Vᴴ + (I - UUᴴ) Ū S⁻¹ Vᴴ + U S⁻¹ V̄ᴴ (I - VVᴴ)

    For a complex A (conjugate transposes), D = diag(J - K) / (4 S) is the imaginary part
    that the phases of U's and V's columns pass on to each other, as in PyTorch's
    svd_backward; the loss must not depend on those phases (checked). D is 0 for a real A.
    """
    gu, gs_, gvh = gs
    u, s, vh = ans
    m, n = a.shape[-2:]
    k = min(m, n)
    if u.shape[-1] > k:  # full_matrices: columns k: of U are any basis of what U[:, :k] leaves out
        _refuse_nonzero(gu[..., :, k:], "svd", "columns of U beyond min(M, N), which full_matrices=True leaves arbitrary")
        u, gu = u[..., :, :k], gu[..., :, :k]
    if vh.shape[-2] > k:
        _refuse_nonzero(gvh[..., k:, :], "svd", "rows of Vh beyond min(M, N), which full_matrices=True leaves arbitrary")
        vh, gvh = vh[..., :k, :], gvh[..., :k, :]
    v = _mH(vh)
    j, kk = _mH(u) @ gu, vh @ _mH(gvh)
    if _is_complex(j):
        _refuse_phase_dependent(j + kk, "svd", "singular vectors")
    j, kk = j - _mH(j), kk - _mH(kk)
    # At tied singular values, the entry (i, j) of the bracket is F_ij s (J_ij + K_ij).
    f = _reciprocal_gaps(s * s, j + kk, "svd", "singular values")
    inner = (f * j) * md.expand_dims(s, -2) + md.expand_dims(s, -1) * (f * kk) + _diag_embed(gs_)
    if _is_complex(j):
        nonzero = s != 0  # where s is 0 the phases are free, and the loss may not move them
        phases = md.diagonal(j - kk, axis1=-2, axis2=-1) / (4 * md.where(nonzero, s, 1.0))
        inner = inner + _diag_embed(md.where(nonzero, phases, 0.0))
    grad = u @ inner @ vh
    if m != n:
        # The terms with S⁻¹ are there only for a non-square A; a zero singular value
        # leaves them undefined unless U's and V's cotangents vanish.
        if bool(s.backend.xp.any(s.data == 0)):
            _refuse_nonzero(gu if m > n else gvh, "svd", "singular vectors of a zero singular value of a non-square matrix")
        if m > n:
            grad = grad + ((gu - u @ (_mH(u) @ gu)) / md.expand_dims(s, -2)) @ vh
        else:
            grad = grad + u @ ((gvh - (gvh @ v) @ vh) / md.expand_dims(s, -1))
    return _read_triangle(grad, lower=True) if hermitian else grad


def _internal(name: str) -> Any:
    """The bound function of an internal op of this family (`linalg._svd`)."""
    return functions[f"linalg.{name}"]


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False) -> Any:
    """`numpy.linalg.svd`: `(U, S, Vh)` with `a = U @ (S[..., None] * Vh)`, or `S` alone
    with `compute_uv=False`.

    Gradients (Townsend 2016) need distinct singular values where the result depends on
    the singular vectors that go with them, and, for a non-square `a`, nonzero singular
    values; otherwise the backward raises ValueError. With `full_matrices=True` the
    columns of U (rows of Vh) beyond min(M, N) are an arbitrary basis: a gradient through
    them raises ValueError too (PyTorch ignores them, JAX refuses). `S` alone is always
    differentiable; at tied singular values its gradient uses the singular vectors LAPACK
    returns (a subgradient for sums of the tied values). `hermitian=True` reads the lower
    triangle, and so does its gradient.
    """
    factors = _internal("_svd")(a, full_matrices=full_matrices and compute_uv, hermitian=hermitian)
    return factors if compute_uv else factors[1]


def svdvals(x: Any) -> Tensor:
    """`numpy.linalg.svdvals`: the singular values of each matrix, in descending order.
    Computed with the singular vectors, which the gradient U diag(S̄) Vᵀ needs."""
    return _internal("_svd")(x, full_matrices=False, hermitian=False)[1]


def eigvalsh(a: Any, UPLO: str = "L") -> Tensor:
    """`numpy.linalg.eigvalsh`: eigenvalues of symmetric matrices, ascending, read from one
    triangle. Computed with the eigenvectors, which the gradient V diag(w̄) Vᵀ needs; at
    repeated eigenvalues that gradient uses the eigenvectors LAPACK returns."""
    return md.linalg.eigh(a, UPLO=UPLO)[0]


# ---------------------------------------------------------------------------- fixed phases
# eigh's and svd's vectors have an arbitrary phase each (a sign, for real matrices), so only
# losses blind to it have a gradient. These internal ops fix the phase (the first entry of
# each vector of U or V becomes real and positive): functions with no arbitrary choice
# left, which the conformance kit checks with random cotangents, real and complex.


def _unit_phases(first_row: Any) -> Any:
    """e^{-iφ} for each entry re^{iφ} of `first_row` (Tensors or NumPy arrays alike)."""
    return (md.conj(first_row) if isinstance(first_row, Tensor) else np.conj(first_row)) / abs(first_row)


def _eigh_phase_fixed(a: Any, UPLO: str = "L") -> tuple[Tensor, Tensor]:
    """`eigh(a, UPLO)` with each eigenvector's first entry made real and positive."""
    w, v = md.linalg.eigh(a, UPLO=UPLO)
    return w, v * _unit_phases(v[..., :1, :])


def _eigh_phase_fixed_reference(a: np.ndarray, UPLO: str = "L") -> tuple[np.ndarray, np.ndarray]:
    w, v = np.linalg.eigh(a, UPLO=UPLO)
    return w, v * _unit_phases(v[..., :1, :])


def _svd_phase_fixed(a: Any, hermitian: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """The reduced `svd(a)` with the first entry of each column of U made real and
    positive, and Vh's rows turned by the same phases, so that U S Vh is still `a`."""
    u, s, vh = _internal("_svd")(a, full_matrices=False, hermitian=hermitian)
    turn = _unit_phases(u[..., :1, :])
    return u * turn, s, vh * md.conj(_mT(turn))


def _svd_phase_fixed_reference(a: np.ndarray, hermitian: bool = False) -> tuple:
    u, s, vh = np.linalg.svd(a, full_matrices=False, hermitian=hermitian)
    turn = _unit_phases(u[..., :1, :])
    return u * turn, s, vh * np.conj(np.swapaxes(turn, -1, -2))


# ---------------------------------------------------------------------------- qr

_QR_MODES = ("reduced", "complete")


def _qr_factors(xp: Any, a: Any, mode: str) -> tuple:
    _check_matrices(a, square=False)
    return tuple(xp.linalg.qr(a, mode=mode))


def _refuse_rank_deficient(r: Tensor, rows: int) -> None:
    """Q is not unique, nor differentiable, where R is (numerically) singular: a diagonal
    entry at most max(M, N) eps times the largest, the cutoff `matrix_rank` uses."""
    xp = r.backend.xp
    diagonal = abs(xp.diagonal(r.data, axis1=-2, axis2=-1))
    cutoff = max(rows, r.shape[-1]) * np.finfo(r.dtype).eps * xp.max(diagonal, axis=-1, keepdims=True)
    if bool(xp.any(diagonal <= cutoff)):
        raise LinAlgError(
            f"qr: the gradient is undefined: the matrix (or its leading {r.shape[-1]} x {r.shape[-1]} block) is "
            f"rank-deficient (a diagonal entry of R is {float(xp.min(diagonal))!r}), so Q is not unique"
        )


def _qr_tall_vjp(gq: Tensor, gr: Tensor, q: Tensor, r: Tensor) -> Tensor:
    # Walter & Lehmann 2018, sec. 3.3, and Seeger et al. 2017, "Auto-differentiating linear
    # algebra": for A = QR with m >= n, Ā = (Q̄ + Q copyutl(R̄Rᴴ - QᴴQ̄)) R⁻ᴴ, where copyutl
    # mirrors the upper triangle onto the lower one (conjugated). For a complex A, LAPACK's
    # R has a real diagonal, which leaves Q̄'s phase part nowhere to go: copyutl keeps the
    # real part of the diagonal (as PyTorch's linalg_qr_backward). A singular R raises in
    # the solve.
    n = r.shape[-1]
    _refuse_rank_deficient(r, q.shape[-2])
    m = gr @ _mH(r) - _mH(q) @ gq
    xp, mh = m.backend.xp, _mH(m)
    mirrored = md.where(xp.tri(n, k=-1, dtype=bool), mh, md.where(xp.eye(n, dtype=bool), (m + mh) / 2, m))
    return _mH(md.linalg.solve(r, _mH(gq + q @ mirrored)))


def _qr_vjp(gs: tuple, ans: tuple, a: Tensor, mode: str) -> Tensor:
    gq, gr = gs
    q, r = ans
    m, n = a.shape[-2:]
    if m >= n:
        if q.shape[-1] > n:  # mode="complete": columns n: of Q are any basis of the rest
            _refuse_nonzero(gq[..., :, n:], "qr", "columns of Q beyond N, which mode='complete' leaves arbitrary")
            q, gq, r, gr = q[..., :, :n], gq[..., :, :n], r[..., :n, :], gr[..., :n, :]
        return _qr_tall_vjp(gq, gr, q, r)
    # Wide A = [X | Y]: X = Q R₁ is a square QR and R₂ = QᵀY (Liao et al. 2019,
    # "Differentiable programming tensor networks", sec. III).
    x_rest, r1, gr1, gr2 = a[..., :, m:], r[..., :, :m], gr[..., :, :m], gr[..., :, m:]
    gx = _qr_tall_vjp(gq + x_rest @ _mH(gr2), gr1, q, r1)
    return md.concatenate([gx, q @ gr2], axis=-1)


def qr(a: Any, mode: str = "reduced") -> Any:
    """`numpy.linalg.qr`: `(Q, R)` for mode "reduced" or "complete", `R` for mode "r".

    The gradient (Walter & Lehmann 2018; Liao et al. 2019 for wide matrices) needs the
    leading square block of `a` to have full rank; otherwise the backward raises
    LinAlgError. With mode "complete" and M > N the columns of Q beyond N are arbitrary: a
    gradient through them raises ValueError. Mode "raw" (Householder reflectors) is not
    supported.
    """
    if mode == "r":
        return _internal("_qr")(a, mode="reduced")[1]
    if mode == "raw":
        raise NotImplementedError("qr: mode='raw' is not supported; use 'reduced', 'complete' or 'r'")
    if mode not in _QR_MODES:
        raise ValueError(f"qr: unrecognized mode {mode!r}; expected 'reduced', 'complete' or 'r'")
    return _internal("_qr")(a, mode=mode)


# ---------------------------------------------------------------------------- pinv


def _pinv(xp: Any, a: Any, rcond: Any, hermitian: bool, rtol: Any = None) -> Any:
    _check_matrices(a, square=hermitian)
    if rtol is not None:  # the Array API's name for the same relative cutoff
        if rcond is not None:
            raise ValueError("pinv: give the cutoff as rcond= or rtol=, not both")
        rcond = rtol
    # rcond=None means NumPy's own default cutoff, which only an absent rcond gives.
    if rcond is None:
        return xp.linalg.pinv(a, hermitian=hermitian)
    return xp.linalg.pinv(a, rcond=rcond, hermitian=hermitian)


def _pinv_vjp(g: Tensor, ans: Tensor, a: Tensor, rcond: Any, hermitian: bool, rtol: Any = None) -> Tensor:
    # Golub & Pereyra 1973, Theorem 4.3: where the rank is locally constant,
    # dA⁺ = -A⁺ dA A⁺ + A⁺A⁺ᴴ dAᴴ (I - AA⁺) + (I - A⁺A) dAᴴ A⁺ᴴA⁺, so
    # Ā = -A⁺ᴴ Ḡ A⁺ᴴ + (I - AA⁺) Ḡᴴ A⁺A⁺ᴴ + A⁺ᴴA⁺ Ḡᴴ (I - A⁺A) (transposes for a real A).
    if hermitian:  # the matrix NumPy inverted: a's lower triangle, mirrored (real diagonal)
        xp, n, ah = a.backend.xp, a.shape[-1], _mH(a)
        a = md.where(xp.tri(n, k=-1, dtype=bool), a, md.where(xp.eye(n, dtype=bool), (a + ah) / 2, ah))
    p, pt, gt = ans, _mH(ans), _mH(g)
    left = gt @ (p @ pt)
    right = (pt @ p) @ gt
    grad = -(pt @ g @ pt) + (left - a @ (p @ left)) + (right - (right @ p) @ a)
    return _read_triangle(grad, lower=True) if hermitian else grad


# ---------------------------------------------------------------------------- matrix_power


def matrix_power(a: Any, n: int) -> Tensor:
    """`numpy.linalg.matrix_power`: `a` multiplied by itself `n` times (by repeated
    squaring); a negative `n` inverts first, `n = 0` gives identities. Differentiated
    through the matmuls and the inverse."""
    a = _tensor(a)
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"matrix_power: the exponent must be an integer, got {type(n).__name__!r}") from None
    _check_matrices(a)
    if n == 0:
        return md.zeros_like(a) + md.eye(a.shape[-1], dtype=a.dtype, backend=a.backend.name)
    if n < 0:
        a, n = md.linalg.inv(a), -n
    result, power = None, a
    while True:
        if n & 1:
            result = power if result is None else result @ power
        n >>= 1
        if not n:
            # n = 1 gives a new tensor (of a's values), not the input itself
            return md.positive(result) if result is a else result
        power = power @ power


# ---------------------------------------------------------------------------- norms


def _vector_norm(xp: Any, x: Any, axis: Any, keepdims: bool, ord: Any) -> Any:
    if isinstance(ord, str):
        raise ValueError(f"invalid norm order {ord!r} for vectors")
    return xp.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)


def _vector_norm_vjp(g: Tensor, ans: Tensor, x: Tensor, axis: Any, keepdims: bool, ord: Any) -> Tensor:
    g, ans = md.reshape(g, kept_shape(x.shape, axis)), md.reshape(ans, kept_shape(x.shape, axis))
    p = 2.0 if ord is None else float(ord)
    if p == 0:
        return md.zeros_like(x)  # a count of nonzeros: piecewise constant
    if p == 1:
        return g * _sgn(x)  # 0 at a zero entry: the subgradient PyTorch returns
    if math.isinf(p):
        # The entries of largest (smallest) magnitude share g evenly, as in PyTorch. Found
        # among |x| itself, not by comparing with `ans`: a backend whose norm kernel runs
        # elsewhere (MLX's, on the host) may round a complex |x| differently.
        magnitude = md.abs(x)
        extreme = md.max if p > 0 else md.min
        hit = magnitude == extreme(magnitude, axis=axis, keepdims=True)
        return g * _sgn(x) * hit / md.sum(hit, axis=axis, keepdims=True)
    if p < 1 and bool(x.backend.xp.any(x.data == 0)):
        raise ValueError(f"vector_norm: the gradient of the ord={ord!r} norm at a zero entry is infinite")
    # ∂‖x‖_p/∂x = sign(x) |x|^(p-1) / ‖x‖^(p-1). At ‖x‖ = 0 (a kink) it is 0, the subgradient
    # PyTorch returns (JAX and HIPS autograd give NaN). The Hessian is unbounded near 0 (‖x‖
    # is homogeneous of degree 1), so the derivative of that 0 is NaN: the inner `where`
    # divides by NaN, not by a stand-in 1 that would make the Hessian at 0 the identity /
    # 1. PyTorch gives NaN for p = 2 and 0 for other p; JAX gives NaN.
    zero = ans == 0
    nan_at_zero = md.where(zero, math.nan, ans)
    if p == 2:
        return g * md.where(zero, 0.0, x / nan_at_zero)
    return g * md.where(zero, 0.0, _sgn(x) * md.abs(x) ** (p - 1) / nan_at_zero ** (p - 1))


def _sgn(x: Tensor) -> Tensor:
    """x / |x| (0 at 0): the direction in which |x| grows. It is sign(x) for a real x,
    piecewise constant; for a complex x it varies with x's phase, so it is built from
    differentiable ops."""
    if not _is_complex(x):
        return md.sign(x)
    zero = x == 0
    return md.where(zero, 0.0, x / md.where(zero, 1.0, md.abs(x)))


def matrix_norm(x: Any, keepdims: bool = False, ord: Any = "fro") -> Tensor:
    """`numpy.linalg.matrix_norm` over the last two axes: ord "fro", "nuc", 1, -1, 2, -2,
    inf or -inf. Built from `vector_norm`, `svdvals`, `abs`, `sum`, `max` and `min`, so
    its gradient is theirs: 0 at a zero matrix for "fro", ties in the max or min shared
    evenly (a subgradient, as in PyTorch), and U Vᵀ-type subgradients for "nuc" and ±2."""
    x = _tensor(x)
    _check_matrices(x, square=False)
    if ord in ("fro", None):
        out = md.linalg.vector_norm(x, axis=(-2, -1))
    elif ord == "nuc":
        out = md.sum(md.linalg.svdvals(x), axis=-1)
    elif ord in (2, -2):
        s = md.linalg.svdvals(x)
        out = md.max(s, axis=-1) if ord == 2 else md.min(s, axis=-1)
    elif ord in (1, -1, math.inf, -math.inf):
        # 1: the largest column sum of |x|; inf: the largest row sum.
        sums = md.sum(md.abs(x), axis=-2 if ord in (1, -1) else -1)
        out = md.max(sums, axis=-1) if ord > 0 else md.min(sums, axis=-1)
    else:
        raise ValueError(f"invalid norm order {ord!r} for matrices")
    return md.expand_dims(out, (-2, -1)) if keepdims else out


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor:
    """`numpy.linalg.norm`: a vector norm over one axis, a matrix norm over two, or with
    `axis=None` the 2-norm of all of `x` (`ord=None`) or the `ord` norm of a 1-D or 2-D `x`.

    Gradients where the norm has a kink: at zero, the 2-norm (and Frobenius norm) gives 0,
    and its second derivative there is NaN (unbounded nearby); ord=1 gives sign(x) (0 at
    zero entries); ties for the largest entry (ord=inf) or the largest column sum share the
    gradient evenly: the subgradients PyTorch returns. ord < 1 at a zero entry raises
    ValueError (its slope is infinite).
    """
    x = _tensor(x)
    if axis is None:
        if ord is None:
            return md.linalg.vector_norm(x, axis=None, keepdims=keepdims)
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: with ord={ord!r} and axis=None, x must be 1-D or 2-D, got shape {x.shape}")
        axis = tuple(range(x.ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if len(axes) == 1:
        axis = normalize_axis(axes[0], x.ndim)
        return md.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=2 if ord is None else ord)
    if len(axes) == 2:
        rows, cols = (normalize_axis(a, x.ndim) for a in axes)
        if rows == cols:
            raise ValueError(f"norm: duplicate axes given: {axis}")
        out = matrix_norm(md.moveaxis(x, (rows, cols), (-2, -1)), ord="fro" if ord is None else ord)
        return md.expand_dims(out, (rows, cols)) if keepdims else out
    raise ValueError(f"norm: axis must be None, an int or a pair of ints, got {axis!r}")


# ---------------------------------------------------------------------------- batching rules (md.vmap)
# Most ops here map over leading axes already (`rules.leading(2)`): the batch is one more.


def _solve_batch(call, args, batched, params):
    """A batched 1-D b is one vector per example: a column each, or the batch axis would be
    read as a stack of matrices. Batched operands get size-1 axes after the batch, so that
    their stacks broadcast against a shared operand's as one example's do."""
    a, b = args
    columns = batched[1] and logical_ndim(b, True) == 1
    if columns:
        b = md.expand_dims(b, -1)
    ndim_b = logical_ndim(b, batched[1])
    stacked = max(logical_ndim(a, batched[0]) - 2, ndim_b - 2 if ndim_b > 1 else 0)
    out = call(*(pad_to(x, stacked + 2) if flag else x for x, flag in zip((a, b), batched)))
    return md.squeeze(out, axis=-1) if columns else out


# ---------------------------------------------------------------------------- the table


def _svd_reference(a, full_matrices=True, hermitian=False):
    return np.linalg.svd(a, full_matrices=full_matrices, compute_uv=True, hermitian=hermitian)


def _pinv_reference(a, rcond=None, hermitian=False, rtol=None):
    rcond = rtol if rtol is not None else rcond
    if rcond is None:
        return np.linalg.pinv(a, hermitian=hermitian)
    return np.linalg.pinv(a, rcond=rcond, hermitian=hermitian)


OPS = [
    Op(
        "solve",
        _solve,
        vjp=(_solve_vjp_a, _solve_vjp_b),
        namespace="linalg",
        nargs=2,
        doc="solve(a, b): x with a @ x = b. A 1-D b is one vector; any other b is a stack of matrices "
        "(..., M, K), as in NumPy 2. A singular a raises LinAlgError; so does its gradient (Giles 2008).",
        batch=_solve_batch,
        complex=HOLOMORPHIC,
        samples=(
            sample(S.SQUARE, (3,)),
            sample(S.SQUARE, (3, 2)),
            sample(S.SQUARE_BATCH, (2, 3, 2)),
            sample(S.SQUARE_BATCH, (3,)),  # one vector, solved against every matrix
            sample(S.SQUARE, (2, 3, 4)),  # one matrix, many right-hand sides
            sample(S.SQUARE_C, (3, 2)),  # the kit makes b complex; a is complex already
            sample((3, 3), (3,)),  # random: the kit also runs it with complex a and b
            sample((3, 3), (3, 2)),
        ),
    ),
    Op(
        "inv",
        _inv,
        vjp=(lambda g, ans, a: -(_mT(ans) @ g @ _mT(ans)),),  # Giles 2008, sec. 2.2.3
        namespace="linalg",
        doc="inv(a): the inverse of each matrix. A singular matrix raises LinAlgError.",
        batch=rules.leading(2),
        complex=HOLOMORPHIC,
        samples=(sample(S.SQUARE), sample(S.SQUARE_BATCH), sample(S.SQUARE_4), sample(S.SQUARE_BATCH_C), sample((3, 3))),
    ),
    Op(
        "det",
        _det,
        vjp=(_det_vjp,),
        namespace="linalg",
        doc="det(a): the determinant of each matrix. Its gradient is the cofactor matrix, also at a singular "
        "matrix (computed from an SVD there, as in PyTorch and JAX); second order at a singular matrix needs "
        "distinct singular values.",
        batch=rules.leading(2),
        samples=(
            sample(S.SQUARE),
            sample(S.SQUARE_NEGATIVE),
            sample(S.SQUARE_BATCH),
            # At a singular matrix: first order only, since finite differences of the gradient
            # cross between the SVD and the inverse formulas, which differ by rounding.
            sample(S.SINGULAR, order=1),
            sample(S.SQUARE_C),
            sample(S.SINGULAR * (0.6 + 0.8j), order=1),
            sample((3, 3)),
        ),
        complex=HOLOMORPHIC,
    ),
    Op(
        "slogdet",
        _slogdet,
        vjp=(_slogdet_vjp,),
        namespace="linalg",
        nout=2,
        outputs=("sign", "logabsdet"),
        doc="slogdet(a) -> (sign, logabsdet). The gradient of logabsdet is A⁻ᵀ (Giles 2008); at a singular "
        "matrix (logabsdet = -inf) it is infinite and the backward raises LinAlgError. sign has gradient 0.",
        batch=rules.leading(2),
        complex=True,
        samples=(
            sample(S.SQUARE),
            sample(S.SQUARE_NEGATIVE),
            sample(S.SQUARE_BATCH),
            sample(S.SQUARE_BATCH_C),
            sample((3, 3)),  # complex: sign is a complex phase, with a gradient of its own
        ),
    ),
    Op(
        "cholesky",
        _cholesky,
        vjp=(_cholesky_vjp,),
        namespace="linalg",
        params={"upper": False},
        doc="cholesky(a, upper=False): L with a = L @ Lᵀ (or U with a = Uᵀ @ U), read from the lower (upper) "
        "triangle as NumPy does; the gradient (Murray 2016) is zero on the triangle not read. A matrix that is "
        "not positive definite raises LinAlgError.",
        batch=rules.leading(2),
        complex=True,
        samples=(
            sample(S.SPD),
            sample(S.SPD_BATCH),
            sample(S.junk_above(S.SPD)),  # the upper triangle is never read
            sample(np.swapaxes(S.junk_above(S.SPD), -1, -2), upper=True),
            sample(S.HPD_BATCH),
            sample(S.complex_junk_above(S.HPD)),  # nor the diagonal's imaginary part
            sample(np.swapaxes(S.complex_junk_above(S.HPD), -1, -2), upper=True),
        ),
    ),
    Op(
        "eigh",
        _eigh,
        vjp=(_eigh_vjp,),
        namespace="linalg",
        params={"UPLO": "L"},
        nout=2,
        outputs=("eigenvalues", "eigenvectors"),
        doc="eigh(a, UPLO='L') -> (eigenvalues, eigenvectors) of symmetric matrices read from one triangle. "
        "The gradient (Giles 2008) is zero on the other triangle; where two eigenvalues are equal and the "
        "result depends on their eigenvectors, the backward raises ValueError.",
        batch=rules.leading(2),
        complex=True,
        samples=(
            sample(S.SYMMETRIC),
            sample(S.SYMMETRIC_BATCH),
            sample(S.junk_above(S.SYMMETRIC)),
            sample(np.swapaxes(S.junk_above(S.SYMMETRIC), -1, -2), UPLO="U"),
            # Complex eigenvectors have free phases: a random cotangent depends on them, and
            # the backward refuses it, so these check the forward; `_eigh_phase_fixed` and
            # `eigvalsh` check the gradients.
            sample(S.HERMITIAN_BATCH, order=0),
            sample(S.complex_junk_above(S.HERMITIAN), UPLO="L", order=0),
        ),
    ),
    Op(
        "_eigh_phase_fixed",
        composite=_eigh_phase_fixed,
        namespace="linalg",
        params={"UPLO": "L"},
        public=False,
        reference=_eigh_phase_fixed_reference,
        complex=True,
        doc=_eigh_phase_fixed.__doc__,
        samples=(
            sample(S.HERMITIAN),
            sample(S.complex_junk_above(S.HERMITIAN_BATCH)),
            sample(np.swapaxes(S.complex_junk_above(S.HERMITIAN), -1, -2), UPLO="U"),
            sample((3, 3)),  # one triangle of a random matrix: symmetric, and Hermitian when complex
        ),
    ),
    Op(
        "eigvalsh",
        composite=eigvalsh,
        namespace="linalg",
        doc=eigvalsh.__doc__,
        complex=True,
        samples=(
            sample(S.SYMMETRIC),
            sample(S.junk_above(S.SYMMETRIC_BATCH[0])),
            sample(S.SPD, UPLO="U"),
            sample(S.complex_junk_above(S.HERMITIAN)),
            sample((2, 3, 3), UPLO="U"),
        ),
    ),
    Op(
        "_svd",
        _svd_factors,
        vjp=(_svd_vjp,),
        namespace="linalg",
        params={"full_matrices": True, "hermitian": False},
        nout=3,
        outputs=("U", "S", "Vh"),
        public=False,
        reference=_svd_reference,
        doc="svd's factors (U, S, Vh): what md.linalg.svd, svdvals and the matrix norms are built on.",
        batch=rules.leading(2),
        samples=(
            sample(S.SQUARE),
            sample(S.TALL, full_matrices=False),
            sample(S.WIDE, full_matrices=False),
            sample(S.SQUARE_BATCH),
            sample(S.TALL_BATCH, full_matrices=False),
            sample(S.WIDE_BATCH, full_matrices=False),
            sample(S.junk_above(S.SYMMETRIC), hermitian=True),
            # The extra columns are arbitrary, so no gradient flows through them.
            sample(S.TALL, order=0),
            sample(S.WIDE, order=0),
            # Complex singular vectors have free phases (see eigh): `_svd_phase_fixed` checks
            # the gradients.
            sample(S.TALL_C, order=0),
            sample(S.WIDE_C, full_matrices=False, order=0),
        ),
        complex=True,
    ),
    Op(
        "_svd_phase_fixed",
        composite=_svd_phase_fixed,
        namespace="linalg",
        params={"hermitian": False},
        public=False,
        reference=_svd_phase_fixed_reference,
        complex=True,
        doc=_svd_phase_fixed.__doc__,
        samples=(
            sample(S.SQUARE_C),
            sample(S.TALL_C),
            sample(S.WIDE_C),
            sample(S.SQUARE_BATCH_C),
            sample(S.complex_junk_above(S.HERMITIAN), hermitian=True),
            sample((3, 3)),
            sample((4, 3)),
            sample((2, 3)),
        ),
    ),
    Op(
        "svd",
        composite=svd,
        namespace="linalg",
        doc=svd.__doc__,
        complex=True,
        samples=(
            sample(S.SQUARE),
            sample(S.TALL, full_matrices=False),
            sample(S.WIDE, compute_uv=False),
            sample(S.TALL, order=0),
            sample(S.WIDE_C, compute_uv=False),
            sample((3, 4), compute_uv=False),
        ),
    ),
    Op(
        "svdvals",
        composite=svdvals,
        namespace="linalg",
        doc=svdvals.__doc__,
        complex=True,
        samples=(sample(S.TALL), sample(S.WIDE_BATCH), sample(S.TALL_C), sample((2, 3, 4))),
    ),
    Op(
        "_qr",
        _qr_factors,
        vjp=(_qr_vjp,),
        namespace="linalg",
        params={"mode": "reduced"},
        nout=2,
        outputs=("Q", "R"),
        public=False,
        reference=lambda a, mode="reduced": np.linalg.qr(a, mode=mode),
        doc="qr's factors (Q, R): what md.linalg.qr is built on.",
        batch=rules.leading(2),
        samples=(
            sample(S.SQUARE),
            sample(S.TALL),
            sample(S.WIDE),
            sample(S.TALL_BATCH),
            sample(S.WIDE_BATCH),
            sample(S.WIDE, mode="complete"),  # the same factors as "reduced" for a wide matrix
            sample(S.TALL, mode="complete", order=0),  # Q's last column is arbitrary
            # Complex: LAPACK's R has a real diagonal, which makes Q and R unique.
            sample(S.TALL_C),
            sample(S.WIDE_C),
            sample(S.SQUARE_BATCH_C),
            sample((4, 3)),
            sample((3, 4)),
        ),
        complex=True,
    ),
    Op(
        "qr",
        composite=qr,
        namespace="linalg",
        doc=qr.__doc__,
        complex=True,
        samples=(
            sample(S.TALL),
            sample(S.WIDE, mode="r"),
            sample(S.TALL, mode="complete", order=0),
            sample(S.TALL_C, mode="r"),
            sample((3, 3)),
        ),
    ),
    Op(
        "pinv",
        _pinv,
        vjp=(_pinv_vjp,),
        namespace="linalg",
        params={"rcond": None, "hermitian": False, "rtol": None},
        reference=_pinv_reference,
        doc="pinv(a, rcond=None, hermitian=False): the Moore-Penrose pseudo-inverse. Its gradient (Golub & "
        "Pereyra 1973) holds where the rank does not change: at a matrix whose rank would jump under a small "
        "perturbation, it is the gradient with the rank held fixed.",
        batch=rules.leading(2),
        samples=(
            sample(S.SQUARE),
            sample(S.TALL),
            sample(S.WIDE_BATCH),
            sample(S.junk_above(S.SYMMETRIC), hermitian=True),
            sample(S.WIDE_C),
            sample(S.complex_junk_above(S.HERMITIAN), hermitian=True),
            sample((4, 3)),
        ),
        complex=True,
    ),
    Op(
        "matrix_power",
        composite=matrix_power,
        namespace="linalg",
        doc=matrix_power.__doc__,
        samples=(
            sample(S.SQUARE, 0),
            sample(S.SQUARE, 1),
            sample(S.SQUARE, 3),
            sample(S.SQUARE_BATCH, 2),
            sample(S.SQUARE, -2),
            sample((3, 3), 3),
            sample((3, 3), -2),
        ),
        complex=True,
    ),
    Op(
        "vector_norm",
        _vector_norm,
        vjp=(_vector_norm_vjp,),
        namespace="linalg",
        params={"axis": None, "keepdims": False, "ord": 2},
        doc="vector_norm(x, axis=None, keepdims=False, ord=2): NumPy's vector norm (all of x when axis is None). "
        "At a kink it gives PyTorch's subgradient: 0 at zero for ord=2 and other p > 1 (with a NaN second "
        "derivative there), sign(x) for ord=1, ties sharing evenly for ord=±inf; ord=0 has gradient 0; ord < 1 at "
        "a zero entry raises ValueError.",
        batch=rules.axis("axis"),
        samples=(
            sample((3, 4)),
            sample((2, 3, 4), axis=-1),
            sample((3, 4), axis=0, keepdims=True),
            sample((2, 3, 4), axis=(0, 2)),
            sample((3, 4), axis=1, ord=1),
            sample((3, 4), axis=1, ord=math.inf),
            sample((3, 4), axis=0, ord=-math.inf),
            sample((3, 4), axis=1, ord=3),
            sample((3, 4), axis=1, ord=0.5, domain=(0.2, 2.0)),
            sample((3, 4), axis=1, ord=-1.5, domain=(0.2, 2.0)),
            sample((3, 4), axis=1, ord=0),
            # A zero vector: the 2-norm's subgradient 0 there (first order only: the
            # second derivative at zero is unbounded, and minidiff gives NaN).
            sample(np.array([[0.0, 0.0, 0.0], [0.5, -1.0, 2.0]]), axis=1, order=1),
            sample(np.array([[0.0, 0.0, 0.0], [0.5 - 1j, -1.0, 2.0j]]), axis=1, order=1),
        ),
        complex=True,
    ),
    Op(
        "matrix_norm",
        composite=matrix_norm,
        namespace="linalg",
        doc=matrix_norm.__doc__,
        samples=(
            sample(S.TALL),
            sample(S.SQUARE_BATCH, keepdims=True),
            sample(S.WIDE, ord="nuc"),
            sample(S.TALL, ord=2),
            sample(S.SQUARE_BATCH, ord=-2),
            sample((3, 4), ord=1),
            sample((3, 4), ord=-1),
            sample((2, 3, 4), ord=math.inf),
            sample((3, 4), ord=-math.inf),
            sample(S.WIDE_C, ord="nuc"),
        ),
        complex=True,
    ),
    Op(
        "norm",
        composite=norm,
        namespace="linalg",
        doc=norm.__doc__,
        samples=(
            sample((3, 4)),
            sample((2, 3, 4), keepdims=True),
            sample((4,), ord=1),
            sample((4,), ord=math.inf),
            sample((2, 3, 4), axis=1),
            sample((2, 3, 4), ord=3, axis=-1, keepdims=True),
            sample(S.TALL, ord=2),
            sample(S.SQUARE, ord="nuc"),
            sample((3, 4), ord="fro"),
            sample((3, 4), ord=1),
            sample((2, 3, 4), ord=math.inf, axis=(2, 0)),
            sample((2, 3, 4), ord=-1, axis=(0, 1), keepdims=True),
            sample(np.zeros(3), order=1),  # at zero: the subgradient 0
        ),
        complex=True,
    ),
]


def _complex128_samples(ops: list[Op], backend: str, reason: str) -> dict[str, str]:
    """Expected-failure keys (`minidiff.testing.expected`) for the checks of every sample
    that pins a complex128 matrix, on a backend that has no complex128."""
    found = {}
    for op in ops:
        for index, one in enumerate(op.samples):
            if not any(isinstance(arg, np.ndarray) and arg.dtype == np.complex128 for arg in one.args):
                continue
            checks = ["forward", "no_grad", "batching"]
            checks += ["first_order", "float32"] if one.order >= 1 else []
            checks += ["second_order"] if one.order >= 2 else []
            found.update({f"test_{check}[{op.qualname}-{index}-{backend}]": reason for check in checks})
    return found


def __getattr__(name: str) -> Any:
    # Built on first read, as the kit reads it: it covers solvers.py's ops, which import this module.
    if name == "EXPECTED_FAILURES":
        from minidiff_ops_linalg.solvers import SOLVER_OPS

        return _complex128_samples(
            [*OPS, *SOLVER_OPS], "mlx",
            "MLX has no complex128, the dtype of this sample's fixed complex matrices; the random samples' complex "
            "checks (test_complex_*) run MLX's complex64",
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hookimpl
def minidiff_register_ops(registry) -> None:
    from minidiff_ops_linalg.solvers import SOLVER_OPS  # imported here: it builds on this module
    from minidiff_ops_linalg.standard import STANDARD_OPS

    for op in (*OPS, *SOLVER_OPS, *STANDARD_OPS):
        registry.add_op(op)
