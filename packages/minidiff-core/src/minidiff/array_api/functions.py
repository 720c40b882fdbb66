"""The Array API standard's functions that are not ops: dtype queries, set functions with
data-dependent shapes, `nonzero` and `from_dlpack`.

None of them records a gradient except `unique_*`'s `values`, which are the input's
elements picked with `take` (each distinct value gets the cotangent of its first
occurrence, the element `indices` names). The data-dependent ones compute their indices on
the host (NumPy's own `unique_all` and `nonzero`, so NaNs count as distinct values, as the
standard asks), which a lazy backend computes first.

>>> import minidiff as md
>>> md.unique_counts(md.Tensor([3, 1, 3]))
UniqueCountsResult(values=minidiff.Tensor([1, 3]), counts=minidiff.Tensor([1, 2]))
>>> md.isdtype(md.float32, "real floating"), md.result_type(md.int8, md.float32)
(True, dtype('float32'))
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from minidiff._tensor import Tensor, make_tensor

__all__ = [
    "UniqueAllResult",
    "UniqueCountsResult",
    "UniqueInverseResult",
    "can_cast",
    "from_dlpack",
    "isdtype",
    "nonzero",
    "result_type",
    "unique_all",
    "unique_counts",
    "unique_inverse",
    "unique_values",
]


# ---------------------------------------------------------------------------- dtype functions


def _dtype(x: Any) -> np.dtype:
    from minidiff.dtypes import _dtype_of

    return _dtype_of(x)


def isdtype(dtype: Any, kind: Any) -> bool:
    """Whether `dtype` is of `kind`: a dtype, a kind name (`"bool"`, `"signed integer"`,
    `"unsigned integer"`, `"integral"`, `"real floating"`, `"complex floating"`,
    `"numeric"`) or a tuple of them.

    >>> import minidiff as md
    >>> md.isdtype(md.int8, ("integral", md.float64)), md.isdtype(md.bool, "numeric")
    (True, False)
    """
    if isinstance(dtype, Tensor):
        raise TypeError("isdtype takes a dtype, not a tensor: use isdtype(x.dtype, kind)")
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return bool(np.isdtype(_dtype(dtype), tuple(k if isinstance(k, str) else _dtype(k) for k in kinds)))


def result_type(*arrays_and_dtypes: Any) -> np.dtype:
    """The dtype the standard's promotion rules give its operands (tensors, dtypes and,
    where NumPy allows them, Python scalars, which take the other operands' dtype).

    >>> import minidiff as md
    >>> md.result_type(md.zeros(2, dtype=md.int16), md.uint8, 1.0)
    dtype('float64')
    """
    if not arrays_and_dtypes:
        raise ValueError("result_type needs at least one tensor or dtype")
    operands = [
        x if isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic) else _dtype(x)
        for x in arrays_and_dtypes
    ]
    if all(isinstance(x, (bool, int, float, complex)) for x in operands):
        raise ValueError("result_type needs at least one tensor or dtype among Python scalars")
    return np.result_type(*operands)


def can_cast(from_: Any, to: Any, /) -> bool:
    """Whether a tensor or dtype `from_` can be cast to dtype `to` under the standard's
    promotion rules (no loss of kind or precision).

    >>> import minidiff as md
    >>> md.can_cast(md.int8, md.int16), md.can_cast(md.float64, md.float32)
    (True, False)
    """
    return bool(np.can_cast(_dtype(from_), _dtype(to), casting="safe"))


# ---------------------------------------------------------------------------- set functions


class UniqueAllResult(NamedTuple):
    values: Tensor
    indices: Tensor
    inverse_indices: Tensor
    counts: Tensor


class UniqueCountsResult(NamedTuple):
    values: Tensor
    counts: Tensor


class UniqueInverseResult(NamedTuple):
    values: Tensor
    inverse_indices: Tensor


def _unique(x: Any) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The distinct values of `x` (sorted; each NaN distinct), with the flat index of each
    one's first occurrence, the index of each element's value (x's shape) and the counts."""
    from minidiff.optable import ops

    x = x if isinstance(x, Tensor) else Tensor(x)
    found = np.unique_all(np.asarray(x.numpy()).reshape(-1))
    backend = x.backend

    def put(a: np.ndarray) -> Tensor:
        return make_tensor(backend.from_host(np.asarray(a)), backend, None)

    indices = put(found.indices)
    values = ops.take(ops.reshape(x, (-1,)), indices) if x.size else put(found.values)
    return values, indices, put(found.inverse_indices.reshape(x.shape)), put(found.counts)


def unique_all(x: Any, /) -> UniqueAllResult:
    """The distinct values of `x`, the index of each one's first occurrence in the
    flattened `x`, the index into `values` of each element, and how often each occurs.

    >>> import minidiff as md
    >>> md.unique_all(md.Tensor([2.0, 1.0, 2.0])).inverse_indices
    minidiff.Tensor([1, 0, 1])
    """
    return UniqueAllResult(*_unique(x))


def unique_counts(x: Any, /) -> UniqueCountsResult:
    """The distinct values of `x` and how often each occurs."""
    values, _, _, counts = _unique(x)
    return UniqueCountsResult(values, counts)


def unique_inverse(x: Any, /) -> UniqueInverseResult:
    """The distinct values of `x` and, for each element, the index of its value."""
    values, _, inverse, _ = _unique(x)
    return UniqueInverseResult(values, inverse)


def unique_values(x: Any, /) -> Tensor:
    """The distinct values of `x`, sorted (each NaN is distinct).

    >>> import minidiff as md
    >>> md.unique_values(md.Tensor([3, 1, 3]))
    minidiff.Tensor([1, 3])
    """
    return _unique(x)[0]


# ---------------------------------------------------------------------------- searching


def nonzero(x: Any, /) -> tuple[Tensor, ...]:
    """The indices of the nonzero elements, one index tensor per axis (not for 0-d `x`).

    >>> import minidiff as md
    >>> md.nonzero(md.Tensor([[0.0, 1.0], [2.0, 0.0]]))
    (minidiff.Tensor([0, 1]), minidiff.Tensor([1, 0]))
    """
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim == 0:
        raise ValueError("nonzero of a 0-d tensor: index it as x[None] (the standard leaves 0-d undefined)")
    backend = x.backend
    return tuple(make_tensor(backend.from_host(i), backend, None) for i in np.nonzero(x.numpy()))


# ---------------------------------------------------------------------------- DLPack


def from_dlpack(x: Any, /, *, device: str | None = None, copy: bool | None = None) -> Tensor:
    """A tensor over the memory of `x`, any object with `__dlpack__` (a NumPy, CuPy or
    PyTorch array), on `device` (a backend name; the active backend by default), when the
    backend's namespace has `from_dlpack`; otherwise through a host copy (refused with
    `copy=False`). The result is a leaf that does not allow grad.

    >>> import minidiff as md, numpy as np
    >>> a = np.arange(3.0)
    >>> np.shares_memory(md.from_dlpack(a).data, a)
    True
    """
    from minidiff.config import get_backend

    backend = get_backend(device)
    if isinstance(x, Tensor):
        x = x.data if x.backend is backend else x.numpy()
    native = getattr(backend.xp, "from_dlpack", None)
    if native is not None:
        try:
            data = native(x, copy=copy) if copy is not None else native(x)
        except (TypeError, BufferError, RuntimeError):
            native = None
    if native is None:
        if copy is False:
            raise BufferError(f"from_dlpack(copy=False): the {backend.name!r} backend cannot take this array without a copy")
        data = backend.from_host(np.from_dlpack(x))
    return make_tensor(data, backend, None)
