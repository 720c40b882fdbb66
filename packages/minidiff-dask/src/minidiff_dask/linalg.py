"""`xp.linalg` of the Dask backend: NumPy's LAPACK on each matrix of a stack, lazily.

`md.linalg` works on stacks of small matrices (a Hessian, a covariance, a batch of 16 x 16
blocks). Each function here is a generalized ufunc over Dask (`dask.array.apply_gufunc`):
the two matrix axes are put in one chunk, the stack axes keep their chunks, and NumPy's own
function runs on each block when the graph is computed. So results, dtypes and errors are
NumPy's (a singular matrix raises `LinAlgError` when the result is computed, not when the op
is called), and nothing is computed until then.

Norms are reductions, and stay chunked: `vector_norm` of a tall chunked vector is a tree of
partial sums, never one block. `eig`, `eigvals` and `lstsq`, whose results' dtype or shape
depend on the values, run on the host with a `DaskComputeWarning` (see `minidiff_dask.xp`).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import dask.array as da
import numpy as np

from minidiff_dask.xp import _on_host, asarray, wrap

__all__ = [
    "cholesky", "det", "eig", "eigh", "eigvals", "eigvalsh", "inv", "lstsq", "matrix_rank", "norm", "pinv", "qr",
    "slogdet", "solve", "svd", "svdvals", "vector_norm", "LinAlgError",
]

LinAlgError = np.linalg.LinAlgError


def _float(dtype: np.dtype) -> np.dtype:
    """The dtype LAPACK computes `dtype` in, as NumPy picks it (integers go to float64)."""
    return dtype if dtype.kind in "fc" else np.dtype(np.float64)


def _real(dtype: np.dtype) -> np.dtype:
    return np.finfo(_float(dtype)).dtype


def _gufunc(name: str, function: Callable[..., Any], signature: str, a: Any, *rest: Any, dtypes: Any,
            sizes: dict[str, int] | None = None) -> Any:
    out = da.apply_gufunc(
        function, signature, asarray(a), *(asarray(r) for r in rest), output_dtypes=dtypes, output_sizes=sizes,
        allow_rechunk=True,  # the matrix axes go in one chunk; the stack axes keep theirs
    )
    return wrap(out, f"linalg.{name}")


def inv(a: Any) -> Any:
    a = asarray(a)
    return _gufunc("inv", np.linalg.inv, "(n,n)->(n,n)", a, dtypes=_float(a.dtype))


def det(a: Any) -> Any:
    a = asarray(a)
    return _gufunc("det", np.linalg.det, "(n,n)->()", a, dtypes=_float(a.dtype))


def slogdet(a: Any) -> tuple[Any, Any]:
    a = asarray(a)
    dtype = _float(a.dtype)
    return _gufunc("slogdet", lambda m: tuple(np.linalg.slogdet(m)), "(n,n)->(),()", a, dtypes=(dtype, _real(dtype)))


def solve(a: Any, b: Any) -> Any:
    """NumPy 2's `solve`: `b` is a vector only when it is 1-D, else a stack of matrices."""
    a, b = asarray(a), asarray(b)
    dtype = _float(np.result_type(a.dtype, b.dtype))
    signature = "(n,n),(n)->(n)" if b.ndim == 1 else "(n,n),(n,k)->(n,k)"
    return _gufunc("solve", np.linalg.solve, signature, a, b, dtypes=dtype)


def cholesky(a: Any, upper: bool = False) -> Any:
    a = asarray(a)
    return _gufunc("cholesky", lambda m: np.linalg.cholesky(m, upper=upper), "(n,n)->(n,n)", a, dtypes=_float(a.dtype))


def eigh(a: Any, UPLO: str = "L") -> tuple[Any, Any]:  # noqa: N803 - NumPy's name
    a = asarray(a)
    dtype = _float(a.dtype)
    return _gufunc("eigh", lambda m: tuple(np.linalg.eigh(m, UPLO=UPLO)), "(n,n)->(n),(n,n)", a, dtypes=(_real(dtype), dtype))


def eigvalsh(a: Any, UPLO: str = "L") -> Any:  # noqa: N803
    a = asarray(a)
    return _gufunc("eigvalsh", lambda m: np.linalg.eigvalsh(m, UPLO=UPLO), "(n,n)->(n)", a, dtypes=_real(a.dtype))


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False) -> Any:
    a = asarray(a)
    dtype = _float(a.dtype)
    m, n = a.shape[-2:]
    k = min(m, n)
    if not compute_uv:
        return svdvals(a) if not hermitian else _gufunc(
            "svd", lambda x: np.linalg.svd(x, compute_uv=False, hermitian=True), "(m,n)->(k)", a,
            dtypes=_real(dtype), sizes={"k": k},
        )

    def function(x: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(np.linalg.svd(x, full_matrices=full_matrices, hermitian=hermitian))

    if full_matrices:
        return _gufunc("svd", function, "(m,n)->(m,p),(k),(q,n)", a, dtypes=(dtype, _real(dtype), dtype),
                       sizes={"p": m, "k": k, "q": n})
    return _gufunc("svd", function, "(m,n)->(m,k),(k),(k,n)", a, dtypes=(dtype, _real(dtype), dtype), sizes={"k": k})


def svdvals(a: Any) -> Any:
    a = asarray(a)
    k = min(a.shape[-2:])
    return _gufunc("svdvals", lambda x: np.linalg.svd(x, compute_uv=False), "(m,n)->(k)", a, dtypes=_real(a.dtype),
                   sizes={"k": k})


def qr(a: Any, mode: str = "reduced") -> Any:
    a = asarray(a)
    dtype = _float(a.dtype)
    m, n = a.shape[-2:]
    k = min(m, n)
    if mode == "r":
        return _gufunc("qr", lambda x: np.linalg.qr(x, mode="r"), "(m,n)->(k,n)", a, dtypes=dtype, sizes={"k": k})
    if mode == "complete":
        return _gufunc("qr", lambda x: tuple(np.linalg.qr(x, mode="complete")), "(m,n)->(m,p),(m,n)", a,
                       dtypes=(dtype, dtype), sizes={"p": m})
    if mode != "reduced":
        raise ValueError(f"qr: mode must be 'reduced', 'complete' or 'r' on the dask backend, got {mode!r}")
    return _gufunc("qr", lambda x: tuple(np.linalg.qr(x)), "(m,n)->(m,k),(k,n)", a, dtypes=(dtype, dtype), sizes={"k": k})


def pinv(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = None) -> Any:
    a = asarray(a)
    options: dict[str, Any] = {"hermitian": hermitian}
    if rcond is not None:
        options["rcond"] = rcond
    if rtol is not None:
        options["rtol"] = rtol
    return _gufunc("pinv", lambda x: np.linalg.pinv(x, **options), "(m,n)->(n,m)", a, dtypes=_float(a.dtype))


def matrix_rank(A: Any, tol: Any = None, hermitian: bool = False, *, rtol: Any = None) -> Any:  # noqa: N803
    A = asarray(A)
    if A.ndim < 2:  # NumPy: a vector has rank 1 unless it is all zeros
        return wrap(da.any(A != 0).astype(np.int64), "linalg.matrix_rank")

    def function(x: np.ndarray) -> np.ndarray:
        return np.asarray(np.linalg.matrix_rank(x, tol=tol, hermitian=hermitian, rtol=rtol), dtype=np.int64)

    return _gufunc("matrix_rank", function, "(m,n)->()", A, dtypes=np.int64)


def vector_norm(x: Any, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:  # noqa: A002 - NumPy's name
    """NumPy's `vector_norm` as Dask reductions: chunked axes are reduced chunk by chunk."""
    x = asarray(x)
    if axis is None:
        shape = (1,) * x.ndim if keepdims else ()
        return wrap(vector_norm(x.reshape(-1), axis=0, ord=ord).reshape(shape), "linalg.vector_norm")
    magnitude = abs(x)
    if ord == math.inf:
        out = da.max(magnitude, axis=axis, keepdims=keepdims)
    elif ord == -math.inf:
        out = da.min(magnitude, axis=axis, keepdims=keepdims)
    elif ord == 0:
        out = da.sum(magnitude != 0, axis=axis, keepdims=keepdims).astype(_real(x.dtype))
    elif ord == 1:
        out = da.sum(magnitude, axis=axis, keepdims=keepdims)
    elif ord == 2:
        out = da.sqrt(da.sum(magnitude * magnitude, axis=axis, keepdims=keepdims))
    else:
        out = da.sum(magnitude**ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)
    return wrap(out.astype(_real(x.dtype)), "linalg.vector_norm")


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A002
    """Vector norms as `vector_norm`; matrix norms of a stack through NumPy, matrix by matrix."""
    x = asarray(x)
    if axis is None and x.ndim != 2 or isinstance(axis, int) or (isinstance(axis, tuple) and len(axis) == 1):
        if axis is None and ord is not None and x.ndim != 1:
            raise ValueError("Improper number of dimensions to norm.")
        return vector_norm(x, axis=axis, keepdims=keepdims, ord=2 if ord is None else ord)
    return _on_host("linalg.norm", np.linalg.norm)(x, ord=ord, axis=axis, keepdims=keepdims)


eig = _on_host("linalg.eig", lambda a: tuple(np.linalg.eig(a)))
eigvals = _on_host("linalg.eigvals", np.linalg.eigvals)
lstsq = _on_host("linalg.lstsq", lambda a, b, rcond=None: tuple(np.linalg.lstsq(a, b, rcond=rcond)))


def __getattr__(name: str) -> Any:
    # any other NumPy linalg function (matrix_power, multi_dot, ...): on the host, with a warning
    function = getattr(np.linalg, name, None)
    if name.startswith("__") or not callable(function):
        raise AttributeError(f"numpy.linalg has no {name!r}")
    return _on_host(f"linalg.{name}", function)
