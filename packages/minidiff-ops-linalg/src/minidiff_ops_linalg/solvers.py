"""More of `numpy.linalg`: `lstsq`, `multi_dot`, `tensorsolve`, `tensorinv`, `cond`,
`matrix_rank`, and `eig`/`eigvals` for general real matrices whose eigenvalues are real;
and the matrix exponential `expm` (SciPy's name; NumPy has none).

Most are composites of the ops in `ops.py` (`pinv`, `solve`, `inv`, `svdvals`, `norm`),
so their gradients are those ops' gradients, to every order:

- `lstsq(a, b)` is `pinv(a) @ b` (NumPy's minimum-norm least-squares solution). For `a`
  of full rank (column rank for M >= N, row rank for M < N) that is the exact gradient
  with respect to `a` and `b`; for a rank-deficient `a`, whose solution jumps under most
  perturbations, it is the gradient with the rank held fixed, as `pinv`'s.
- `cond(x, p)` is `s_max / s_min` from `svdvals` (p = None, 2, -2: differentiable where
  those singular values are simple) or `norm(x, p) * norm(inv(x), p)` (the norms'
  subgradients at ties). A singular `x` gives inf (0 for p = -2), as in NumPy, with no
  gradient.
- `matrix_rank` is integer-valued: non-differentiable (its output never allows grad).
- `expm` is Higham's scaling and squaring with a degree-13 Padé approximant, written in
  minidiff ops: its gradient is the derivative of that approximant, as accurate as the
  forward (Al-Mohy & Higham 2009).
- `eig` has its own rule (below): real, distinct eigenvalues only. A matrix with complex
  eigenvalues raises LinAlgError (eig is real-only; the other ops take complex matrices), and so does the backward
  where two eigenvalues tie and the result depends on their eigenvectors.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Sequence

import numpy as np
from numpy.linalg import LinAlgError

import minidiff as md
from minidiff.batching import rules
from minidiff.batching.rules import batch_size
from minidiff.extend import Op, sample
from minidiff.optable import ops
from minidiff._tensor import Tensor
from minidiff_ops_linalg import _samples as S
from minidiff_ops_linalg.ops import _check_matrices, _check_real, _diag_embed, _mT, _reciprocal_gaps, _tensor

__all__ = ["SOLVER_OPS", "cond", "eigvals", "expm", "lstsq", "multi_dot", "tensorinv", "tensorsolve"]


# ---------------------------------------------------------------------------- lstsq


def lstsq(a: Any, b: Any, rcond: Any = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """`numpy.linalg.lstsq`: `(x, residuals, rank, s)`, `x` minimizing ‖b - a x‖ (the one
    of least norm when several do), for a 2-D `a` (M, N) and `b` of shape (M,) or (M, K).

    `residuals` holds the squared residual norm of each column of `b` when `a` has rank N
    and M > N, and is empty otherwise; `rank` is a 0-d integer tensor; `s` are the singular
    values of `a`. Singular values at most `rcond` times the largest count as zero
    (`rcond=None`: machine precision times max(M, N), as NumPy).

    Gradients reach `a` and `b` through `x = pinv(a) @ b`, `residuals` and `s`: exact for
    `a` of full rank; for a rank-deficient `a`, the gradient with the rank held fixed.

    >>> import minidiff as md
    >>> a = md.Tensor([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]], allow_grad=True)
    >>> x, residuals, rank, s = md.linalg.lstsq(a, md.Tensor([1.0, 2.0, 2.0]))
    >>> x
    minidiff.Tensor([1.16666667, 0.5       ], allow_grad=True)
    """
    a, b = _tensor(a), _tensor(b)
    if a.ndim != 2:
        raise LinAlgError(f"lstsq: a must be one matrix (M, N), got an array of shape {a.shape}")
    m, n = a.shape
    if b.ndim not in (1, 2) or b.shape[0] != m:
        raise LinAlgError(
            f"lstsq: a has shape {a.shape}, so b must have shape ({m},) or ({m}, K); got {b.shape}"
        )
    eps = float(np.finfo(np.result_type(a.dtype, b.dtype, np.float32)).eps)
    if rcond is None:
        rcond = eps * max(m, n)
    elif rcond < 0:
        rcond = eps  # NumPy's "machine precision"
    s = md.linalg.svdvals(a)
    s_host = s.backend.to_host(s.data)
    rank = int(np.count_nonzero(s_host > rcond * s_host.max())) if s_host.size else 0
    x = md.linalg.pinv(a, rcond=rcond) @ b
    if rank == n and m > n:
        r = b - a @ x
        squares = md.real(r * md.conj(r)) if "complex" in str(r.dtype) else r * r  # |r|², real
        residuals = md.reshape(md.sum(squares, axis=0), (-1,))
    else:
        residuals = md.zeros((0,), dtype=s.dtype, backend=x.backend.name)
    # NumPy gives LAPACK's int32; a 0-d tensor of it, so that every output is a Tensor
    rank_tensor = Tensor(np.asarray(rank, dtype=np.int32), backend=a.backend.name)
    return x, residuals, rank_tensor, s


def _lstsq_reference(a, b, rcond=None):
    x, residuals, rank, s = np.linalg.lstsq(a, b, rcond=rcond)
    return x, residuals, np.asarray(rank, dtype=np.int32), s


# ---------------------------------------------------------------------------- multi_dot


def _chain_order(shapes: Sequence[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Where to split each sub-chain i..j of matrices for the fewest multiplications
    (Cormen et al., "Introduction to Algorithms", sec. 15.2; the order NumPy picks)."""
    dims = [shape[0] for shape in shapes] + [shapes[-1][1]]
    n = len(shapes)
    cost = {(i, i): 0 for i in range(n)}
    split: dict[tuple[int, int], int] = {}
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i, j] = math.inf
            for k in range(i, j):
                q = cost[i, k] + cost[k + 1, j] + dims[i] * dims[k + 1] * dims[j + 1]
                if q < cost[i, j]:
                    cost[i, j], split[i, j] = q, k
    return split


def multi_dot(arrays: Sequence[Any], *, out: Any = None) -> Tensor:
    """`numpy.linalg.multi_dot`: the product of two or more matrices, multiplied in the
    order that needs the fewest scalar multiplications. The first argument may be 1-D (a
    row vector) and the last 1-D (a column vector); the others must be 2-D.

    >>> import minidiff as md
    >>> md.linalg.multi_dot([md.ones((2, 3)), md.ones((3, 4)), md.ones(4)])
    minidiff.Tensor([12., 12.])
    """
    if out is not None:
        raise TypeError("multi_dot: out= is not supported; use the returned tensor")
    if isinstance(arrays, Tensor) or len(arrays) < 2:
        raise ValueError("multi_dot: expecting a sequence of at least two arrays")
    tensors = [_tensor(a) for a in arrays]
    first_1d, last_1d = tensors[0].ndim == 1, tensors[-1].ndim == 1
    if first_1d:
        tensors[0] = md.reshape(tensors[0], (1, -1))
    if last_1d:
        tensors[-1] = md.reshape(tensors[-1], (-1, 1))
    for position, t in enumerate(tensors):
        if t.ndim != 2:
            raise LinAlgError(
                f"multi_dot: array {position} has shape {tuple(arrays[position].shape) if hasattr(arrays[position], 'shape') else t.shape}; "
                f"all but the first and last must be 2-D, and those 1-D or 2-D"
            )
    for position in range(len(tensors) - 1):
        if tensors[position].shape[1] != tensors[position + 1].shape[0]:
            raise ValueError(
                f"multi_dot: shapes {tensors[position].shape} (array {position}) and "
                f"{tensors[position + 1].shape} (array {position + 1}) are not aligned"
            )
    split = _chain_order([t.shape for t in tensors])

    def product(i: int, j: int) -> Tensor:
        if i == j:
            return tensors[i]
        k = split[i, j]
        return md.matmul(product(i, k), product(k + 1, j))

    result = product(0, len(tensors) - 1)
    if first_1d and last_1d:
        return md.reshape(result, ())
    if first_1d or last_1d:
        return md.reshape(result, (-1,))
    return result


# ---------------------------------------------------------------------------- tensorsolve, tensorinv


def tensorsolve(a: Any, b: Any, axes: Any = None) -> Tensor:
    """`numpy.linalg.tensorsolve`: `x` with `tensordot(a, x, x.ndim) == b`, where `x` has
    the shape of `a`'s trailing axes (after moving `axes` to the end). Reshapes to one
    square system and solves it, so the gradient is `solve`'s."""
    a, b = _tensor(a), _tensor(b)
    if axes is not None:
        order = list(range(a.ndim))
        for k in axes:
            order.remove(operator.index(k) % a.ndim)
            order.append(operator.index(k) % a.ndim)
        a = md.transpose(a, tuple(order))
    shape = a.shape[b.ndim:]
    size = math.prod(shape)
    if a.size != size * size or math.prod(a.shape[: b.ndim]) != size:
        raise LinAlgError(
            f"tensorsolve: a (shape {a.shape}) must have as many elements in its leading {b.ndim} axes "
            f"(b's shape {b.shape}) as in its other axes {shape}"
        )
    x = md.linalg.solve(md.reshape(a, (size, size)), md.reshape(b, (size,)))
    return md.reshape(x, shape)


def tensorinv(a: Any, ind: int = 2) -> Tensor:
    """`numpy.linalg.tensorinv`: the inverse of `a` for `tensordot(..., ind)`: its first
    `ind` axes against the rest, reshaped to one square matrix and inverted."""
    a = _tensor(a)
    ind = operator.index(ind)
    if ind <= 0:
        raise ValueError(f"tensorinv: ind must be a positive integer, got {ind}")
    rows, cols = math.prod(a.shape[:ind]), math.prod(a.shape[ind:])
    if rows != cols:
        raise LinAlgError(
            f"tensorinv: the first {ind} axes of a (shape {a.shape}) hold {rows} elements and the rest "
            f"{cols}; they must be equal"
        )
    inverse = md.linalg.inv(md.reshape(a, (rows, cols)))
    return md.reshape(inverse, a.shape[ind:] + a.shape[:ind])


# ---------------------------------------------------------------------------- cond, matrix_rank


def cond(x: Any, p: Any = None) -> Tensor:
    """`numpy.linalg.cond`: the condition number of each matrix in the `p` norm.

    p = None, 2 or -2: the ratio of the extreme singular values (any M x N); differentiable
    where those are simple, through `svdvals`. Other p ("fro", "nuc", 1, -1, inf, -inf,
    square matrices only): `norm(x, p) * norm(inv(x), p)`, with the norms' subgradients at
    ties. A singular matrix gives inf (0 for p = -2), as NumPy, and no gradient.

    >>> import minidiff as md
    >>> md.linalg.cond(md.Tensor([[2.0, 0.0], [0.0, 0.5]]))
    minidiff.Tensor(4.)
    """
    x = _tensor(x)
    _check_matrices(x, square=p not in (None, 2, -2))
    if p in (None, 2, -2):
        s = md.linalg.svdvals(x)
        if bool(np.any(x.backend.to_host(s.data)[..., -1] == 0)):
            return _singular(x, p)
        return s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
    try:
        inverse = md.linalg.inv(x)
    except LinAlgError:
        return _singular(x, p)
    return md.linalg.norm(x, p, axis=(-2, -1)) * md.linalg.norm(inverse, p, axis=(-2, -1))


def _singular(x: Tensor, p: Any) -> Tensor:
    """NumPy's answer where a matrix of the stack is singular (inf there; 0 for p = -2), as
    a constant: the condition number has no gradient at a singular matrix. (NumPy 2.4
    raises "SVD did not converge" for p = "nuc" at a singular matrix; this gives inf.)"""
    host = x.backend.to_host(x.data)
    values = np.empty(host.shape[:-2], dtype=x.dtype)
    for index in np.ndindex(*values.shape):
        try:
            with np.errstate(all="ignore"):
                values[index] = np.linalg.cond(host[index], p)
        except LinAlgError:
            values[index] = math.inf
    return Tensor(values, backend=x.backend.name)


def _matrix_rank(xp: Any, A: Any, tol: Any, hermitian: bool, rtol: Any) -> Any:
    _check_real(A, "matrix_rank")
    return xp.linalg.matrix_rank(A, tol=tol, hermitian=hermitian, rtol=rtol)


# ---------------------------------------------------------------------------- eig


def _eig(xp: Any, a: Any) -> tuple:
    shape = _check_matrices(a)
    _check_real(a, "eig")
    w, v = xp.linalg.eig(a)
    if "complex" in str(w.dtype):
        raise LinAlgError(
            f"eig: a matrix of the input (shape {shape}) has complex eigenvalues; minidiff.linalg.eig is real-only "
            f"and supports eig only where every eigenvalue is real (eigh for symmetric matrices always is)"
        )
    return w, v


def _eig_vjp(gs: tuple, ans: tuple, a: Tensor) -> Tensor:
    # For A = V diag(w) V⁻¹ with V's columns of unit norm (NumPy's normalization), as in
    # PyTorch's linalg_eig_backward (after Giles 2008, sec. 3.1, which leaves V unnormalized):
    # Ā = V⁻ᵀ (diag(w̄) + F ∘ (VᵀV̄ - VᵀV diag(diag(VᵀV̄)))) Vᵀ, F_ij = 1 / (w_j - w_i).
    gw, gv = gs
    w, v = ans
    vt = _mT(v)
    coupling = vt @ gv
    coupling = coupling - (vt @ v) * md.expand_dims(md.diagonal(coupling, axis1=-2, axis2=-1), -2)
    f = _reciprocal_gaps(w, coupling, "eig", "eigenvalues")
    return md.linalg.solve(vt, (f * coupling + _diag_embed(gw)) @ vt)


def eigvals(a: Any) -> Tensor:
    """`numpy.linalg.eigvals`: the eigenvalues of general real matrices, where they are
    real (complex ones raise LinAlgError). Computed with the eigenvectors, which the
    gradient V⁻ᵀ diag(w̄) Vᵀ needs."""
    return md.linalg.eig(a)[0]


# ---------------------------------------------------------------------------- expm

# Higham 2005, "The scaling and squaring method for the matrix exponential revisited":
# the [13/13] Padé coefficients, and the 1-norm up to which that approximant is accurate to
# double precision without scaling.
_PADE_13 = (
    64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
    10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0,
)
_THETA_13 = 5.371920351148152


def expm(a: Any) -> Tensor:
    """The matrix exponential of each square matrix in a stack (`scipy.linalg.expm`):
    a scaled by 2⁻ˢ so that its 1-norm is at most 5.37, the [13/13] Padé approximant, then
    squared s times (Higham 2005). Built from matmul and solve, so it is differentiable to
    every order; its gradient is the approximant's, accurate to about the forward's error.

    >>> import minidiff as md
    >>> md.linalg.expm(md.Tensor([[0.0, 1.0], [0.0, 0.0]]))
    minidiff.Tensor([[1., 1.],
                     [0., 1.]])
    """
    a = _tensor(a)
    _check_matrices(a)
    host = a.backend.to_host(a.data)
    norm = float(np.max(np.sum(np.abs(host), axis=-2))) if host.size else 0.0
    if not math.isfinite(norm):
        raise ValueError(f"expm: the input (shape {a.shape}) has infinite or NaN entries")
    squarings = max(0, math.ceil(math.log2(norm / _THETA_13))) if norm > _THETA_13 else 0
    x = a / 2.0**squarings if squarings else a
    b = _PADE_13
    eye = md.eye(a.shape[-1], dtype=a.dtype, backend=a.backend.name)
    x2 = x @ x
    x4 = x2 @ x2
    x6 = x4 @ x2
    u = x @ (x6 @ (b[13] * x6 + b[11] * x4 + b[9] * x2) + b[7] * x6 + b[5] * x4 + b[3] * x2 + b[1] * eye)
    v = x6 @ (b[12] * x6 + b[10] * x4 + b[8] * x2) + b[6] * x6 + b[4] * x4 + b[2] * x2 + b[0] * eye
    result = md.linalg.solve(v - u, v + u)
    for _ in range(squarings):
        result = result @ result
    return result


def _expm_reference(a: np.ndarray) -> np.ndarray:
    """A plain Taylor series after scaling to norm 1/2, then squaring: not the algorithm
    above, so the two check each other."""
    norm = float(np.max(np.sum(np.abs(a), axis=-2)))
    squarings = max(0, math.ceil(math.log2(norm)) + 1) if norm > 0 else 0
    x = np.asarray(a, dtype=np.result_type(a.dtype, np.float64)) / 2.0**squarings
    term = total = np.broadcast_to(np.eye(a.shape[-1]), a.shape)
    for k in range(1, 30):
        term = term @ x / k
        total = total + term
    for _ in range(squarings):
        total = total @ total
    return total.astype(a.dtype)


# ---------------------------------------------------------------------------- batching rules (md.vmap)


def _lstsq_batch(call, args, batched, params):
    """One call per example: whether the residuals are empty depends on each `a`'s rank, so
    the outputs' shapes depend on the values."""
    size = batch_size(args, batched)
    results = [call(*(x[i] if flag else x for x, flag in zip(args, batched)), **params) for i in range(size)]
    shapes = sorted({tuple(r[1].shape) for r in results})
    if len(shapes) > 1:
        raise ValueError(
            f"md.vmap of lstsq: the residuals have shape {shapes[0]} for some examples and {shapes[-1]} for others "
            f"(they are empty unless a has full column rank and more rows than columns), so they do not stack; "
            f"compute them as md.sum((b - a @ x) ** 2, axis=0) from the solution x instead"
        )
    return tuple(md.stack([r[k] for r in results]) for k in range(len(results[0])))


def _cond_batch(call, args, batched, params):
    """cond maps over a stack, but one singular matrix makes the whole stack's result a
    constant: the examples whose matrices are all regular are computed again on their own,
    so that they keep their gradient, as they would one at a time."""
    (x,) = args
    out = call(x, **params)
    if out.allow_grad or not x.allow_grad:
        return out
    host = out.backend.to_host(out.data).reshape(out.shape[0], -1)
    regular = np.flatnonzero(np.all(np.isfinite(host) & (host != 0), axis=1))  # inf (0 for p=-2): singular
    if regular.size == 0:
        return out
    index = x.backend.asarray(regular)
    again = ops.scatter_add(call(x[index], **params), shape=out.shape, key=(index,))
    kept = np.zeros(out.shape[0], dtype=bool)
    kept[regular] = True
    return md.where(x.backend.asarray(kept.reshape((-1,) + (1,) * (out.ndim - 1))), again, out)


def _matrix_rank_batch(call, args, batched, params):
    (x,) = args
    if x.ndim - 1 < 2:  # NumPy's rank of a vector or a scalar: 1 unless it is all zeros, whatever the tolerance
        nonzero = md.any(x != 0, axis=tuple(range(1, x.ndim)))
        return md.astype(nonzero, dtype=np.asarray(0).dtype)  # the dtype of NumPy's Python int
    return call(x, **params)


# ---------------------------------------------------------------------------- the table

SOLVER_OPS = [
    Op(
        "lstsq",
        composite=lstsq,
        namespace="linalg",
        reference=_lstsq_reference,
        doc=lstsq.__doc__,
        batch=rules.composite(_lstsq_batch, "a", "b"),
        samples=(
            sample(S.TALL, (4,)),
            sample(S.TALL, (4, 2)),
            sample(S.WIDE, (3,)),  # underdetermined: the least-norm solution
            sample(S.SQUARE, (3, 2), rcond=-1),
            sample(S.TALL_BATCH[0], (3,), rcond=1e-10),
            # Rank 2 of 3: the solution jumps under most perturbations (forward only)
            sample(S.TALL_RANK_2, (4,), order=0),
            sample(S.TALL_C, (4, 2)),
            sample(S.WIDE_C, (3,)),
            sample((4, 3), (4,)),
        ),
        complex=True,
    ),
    Op(
        "multi_dot",
        composite=multi_dot,
        namespace="linalg",
        reference=np.linalg.multi_dot,
        doc=multi_dot.__doc__,
        samples=(
            sample([(2, 3), (3, 4)]),
            sample([(4, 2), (2, 5), (5, 3)]),
            sample([(3,), (3, 4), (4, 2), (2,)]),
            sample([(2, 6), (6, 1), (1, 5), (5, 3)]),
            sample([(3,), (3, 2)]),
        ),
        complex=True,
    ),
    Op(
        "tensorsolve",
        composite=tensorsolve,
        namespace="linalg",
        doc=tensorsolve.__doc__,
        samples=(
            sample(S.SQUARE_4.reshape(2, 2, 4), (2, 2)),
            sample(S.SQUARE_4.reshape(4, 2, 2), (4,)),
            sample(S.SQUARE_4.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3), (2, 2), axes=(2,)),
            sample(S.SQUARE_C, (3,)),
        ),
        complex=True,
    ),
    Op(
        "tensorinv",
        composite=tensorinv,
        namespace="linalg",
        doc=tensorinv.__doc__,
        samples=(
            sample(S.SQUARE_4.reshape(2, 2, 2, 2)),
            sample(S.SQUARE_4.reshape(4, 2, 2), ind=1),
            sample(S.SQUARE, ind=1),
            sample(S.SQUARE_C, ind=1),
        ),
        complex=True,
    ),
    Op(
        "cond",
        composite=cond,
        namespace="linalg",
        doc=cond.__doc__,
        batch=rules.composite(_cond_batch, "x"),
        samples=(
            sample(S.SQUARE),
            sample(S.TALL),
            sample(S.SQUARE_BATCH, 2),
            sample(S.WIDE_BATCH, -2),
            sample(S.SQUARE, "fro"),
            sample(S.SQUARE_4, "nuc"),
            sample(S.SQUARE, 1),
            sample(S.SQUARE_BATCH, -1),
            sample(S.SQUARE, math.inf),
            sample(S.SQUARE, -math.inf),
            sample(S.SINGULAR, order=0),
            sample(S.SINGULAR, "fro", order=0),
            sample(S.SQUARE_C),
            sample(S.TALL_C, -2),
            sample(S.SQUARE_C, "fro"),
            sample(S.SQUARE_C, 1),
            sample(S.SQUARE_C, math.inf),
        ),
        complex=True,
    ),
    # Integer-valued: non-differentiable.
    Op(
        "matrix_rank",
        _matrix_rank,
        namespace="linalg",
        params={"tol": None, "hermitian": False, "rtol": None},
        batch=_matrix_rank_batch,
        samples=(
            sample(S.SQUARE),
            sample(S.SINGULAR),
            sample(S.TALL_BATCH),
            sample(S.SINGULAR, tol=0.5),
            sample(S.SINGULAR, rtol=0.45),
            sample(S.SPD, hermitian=True),
            sample(np.array([0.0, 1.0, 0.0])),
        ),
    ),
    Op(
        "eig",
        _eig,
        vjp=(_eig_vjp,),
        namespace="linalg",
        nout=2,
        doc="eig(a) -> (eigenvalues, eigenvectors) of general real matrices whose eigenvalues are real, the "
        "eigenvectors of unit norm as NumPy returns them. Complex eigenvalues raise LinAlgError, and so do complex "
        "matrices (TypeError): eig is real-only. The gradient (as PyTorch's) needs distinct eigenvalues where the result depends on "
        "their eigenvectors; otherwise the backward raises ValueError.",
        batch=rules.leading(2),
        samples=(
            sample(S.NONSYMMETRIC),
            sample(S.NONSYMMETRIC_BATCH),
            sample(S.NONSYMMETRIC_4),
            sample(S.SYMMETRIC),
        ),
    ),
    Op(
        "expm",
        composite=expm,
        namespace="linalg",
        reference=_expm_reference,
        doc=expm.__doc__,
        # reads its norm on the host: runs on the plain stack, scaled by the batch's largest norm
        batch=rules.composite(rules.leading(2), "a"),
        samples=(
            sample((3, 3)),
            sample((2, 4, 4), domain=(-0.5, 0.5)),
            sample(S.NONSYMMETRIC_4),
            sample(3.0 * S.SQUARE),  # 1-norm above 5.37: scaled and squared
            sample(np.array([[0.0, 1.0], [0.0, 0.0]])),
            sample(3.0 * S.SQUARE_C),
        ),
        complex=True,
    ),
    Op(
        "eigvals",
        composite=eigvals,
        namespace="linalg",
        doc=eigvals.__doc__,
        samples=(sample(S.NONSYMMETRIC), sample(S.NONSYMMETRIC_BATCH)),
    ),
]
