"""The BatchedTensor that `md.vmap` hands to the function, and the stack of active levels.

Each running `vmap` is a *level* (an id and a batch size), pushed on entry and popped on
exit. A BatchedTensor belongs to one level: its `value` carries that level's batch on axis
0, and for nested vmaps `value` is itself a BatchedTensor of an outer level, so the Tensor at
the bottom holds every batch axis in front, outermost first. Levels are in a context
variable, so threads and asyncio tasks each see their own.
"""

from __future__ import annotations

import itertools
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from minidiff.optable import ops
from minidiff._tensor import Tensor, _OP_METHODS, _unwrap_key


@dataclass(frozen=True)
class Level:
    """One running `vmap`: `id` orders nested levels (outer ones are smaller), `size` is its batch."""

    id: int
    size: int


#: the running vmaps, outermost first
levels: ContextVar[tuple[Level, ...]] = ContextVar("minidiff_vmap_levels", default=())
_ids = itertools.count(1)


def new_level(size: int) -> Level:
    return Level(next(_ids), size)


class VmapError(RuntimeError):
    """Something a function under `md.vmap` did that has no per-example meaning: reading a
    batched value as a Python number (`float(t)`, `if t > 0:`), as an array, or changing it
    in place.

    >>> import minidiff as md
    >>> md.vmap(lambda x: float(x))(md.Tensor([1.0, 2.0]))
    Traceback (most recent call last):
        ...
    minidiff.batching.tensor.VmapError: md.vmap: float() of a batched tensor: its value differs from one batch element to the next; keep the computation in minidiff ops (md.where instead of `if`), or take the value outside md.vmap
    """


class BatchedTensor:
    """A batch of tensors, seen by the function under `md.vmap` as one of them.

    `value` is the physical value (batch on axis 0), `level` the vmap it belongs to.
    Shapes, ops, operators and op methods are those of one example; anything that would
    read the values out (`float`, `.numpy()`, `bool`) raises `VmapError`.

    >>> import minidiff as md
    >>> seen = []
    >>> md.vmap(lambda x: seen.append(x.shape) or md.sum(x))(md.ones((5, 2, 3)))
    minidiff.Tensor([6., 6., 6., 6., 6.])
    >>> seen
    [(2, 3)]
    """

    __slots__ = ("value", "level", "__weakref__")

    def __init__(self, value: Any, level: Level) -> None:
        self.value = value
        self.level = level

    # ------------------------------------------------------------------ one example's facts

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape[1:]

    @property
    def ndim(self) -> int:
        return self.value.ndim - 1

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def dtype(self) -> np.dtype:
        return self.value.dtype

    @property
    def backend(self) -> Any:
        return self.value.backend

    @property
    def allow_grad(self) -> bool:
        return self.value.allow_grad

    @property
    def T(self) -> Any:
        return ops.transpose(self)

    def detach(self) -> BatchedTensor:
        return BatchedTensor(self.value.detach(), self.level)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Any]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __getitem__(self, key: Any) -> Any:
        return ops.getitem(self, key=_unwrap_key(key))

    def __repr__(self) -> str:
        return f"BatchedTensor(shape={self.shape}, dtype={self.dtype}, batch={self.level.size})"

    # ------------------------------------------------------------------ no per-example meaning

    def _refuse(self, what: str) -> Any:
        raise VmapError(
            f"md.vmap: {what} of a batched tensor: its value differs from one batch element to the next; keep "
            f"the computation in minidiff ops (md.where instead of `if`), or take the value outside md.vmap"
        )

    def __float__(self) -> float:
        return self._refuse("float()")

    def __int__(self) -> int:
        return self._refuse("int()")

    def __complex__(self) -> complex:
        return self._refuse("complex()")

    def __index__(self) -> int:
        return self._refuse("use as a Python index")

    def __bool__(self) -> bool:
        return self._refuse("the truth value (`if`, `and`, `or`)")

    def item(self) -> Any:
        return self._refuse("item()")

    def tolist(self) -> Any:
        return self._refuse("tolist()")

    def numpy(self) -> Any:
        return self._refuse("numpy()")

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        return self._refuse("conversion to a NumPy array")

    def backward(self, *args: Any, **kwargs: Any) -> None:
        raise VmapError(
            "md.vmap: backward() on a batched tensor would add up the gradients of every batch element; "
            "use md.grad(f) inside md.vmap for per-example gradients"
        )

    def __setitem__(self, key: Any, value: Any) -> None:
        raise VmapError("md.vmap: item assignment on a batched tensor; build the result out of place (md.where)")

    def _inplace(self, *args: Any) -> Any:
        raise VmapError("md.vmap: an in-place operator on a batched tensor; use the out-of-place one (x = x + y)")

    __iadd__ = __isub__ = __imul__ = __itruediv__ = _inplace

    # NumPy's functions and ufuncs on a batched tensor run minidiff's ops, as on a Tensor
    __array_ufunc__ = Tensor.__array_ufunc__
    __array_function__ = Tensor.__array_function__


# The operators and op methods are Tensor's own: each calls an md op on `self`, and the op's
# batching rule takes it from there.
_BORROWED = (
    "__neg__", "__pos__", "__abs__", "__invert__", "__add__", "__radd__", "__sub__", "__rsub__", "__mul__",
    "__rmul__", "__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__",
    "__pow__", "__rpow__", "__matmul__", "__rmatmul__", "__and__", "__rand__", "__or__", "__ror__", "__xor__",
    "__rxor__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "reshape", "transpose", "flatten",
    "ravel", "astype", "copy", "clone", *_OP_METHODS,
)
for _name in _BORROWED:
    setattr(BatchedTensor, _name, getattr(Tensor, _name))
BatchedTensor.__hash__ = None  # type: ignore[assignment]  # == is elementwise, as on Tensor


# ------------------------------------------------------------------------------ helpers


def bottom(value: Any) -> Any:
    """The Tensor under every level of a (nested) BatchedTensor; `value` itself otherwise."""
    while type(value) is BatchedTensor:
        value = value.value
    return value


def levels_of(value: Any) -> tuple[Level, ...]:
    """The levels a (nested) BatchedTensor is batched at, outermost first."""
    found = []
    while type(value) is BatchedTensor:
        found.append(value.level)
        value = value.value
    return tuple(reversed(found))


def rewrap(physical: Any, chain: tuple[Level, ...]) -> Any:
    """`physical` (every batch of `chain` in front, outermost first) as a nested BatchedTensor."""
    for level in chain:
        physical = BatchedTensor(physical, level)
    return physical


def expand(value: Any, chain: tuple[Level, ...]) -> Any:
    """`value` batched at every level of `chain` (outermost first): a level it lacks gets a
    broadcast copy of it for each batch element (recorded, so gradients flow back)."""
    have = levels_of(value)
    if have == chain:
        return value
    if any(level not in chain for level in have):
        raise VmapError("md.vmap: a batched tensor was used outside the md.vmap that made it")
    # the bottom Tensor holds the batch axes of `have` in front, in `chain`'s order: insert a
    # broadcast axis where each missing level goes
    result = bottom(value)
    for depth, level in enumerate(chain):
        if level not in have:
            result = ops.expand_dims(result, axis=depth)
            shape = list(result.shape)
            shape[depth] = level.size
            result = ops.broadcast_to(result, shape=tuple(shape))
    return rewrap(result, chain)
