"""Ufuncs on Tensors: calls with `out=`, `where=` and `dtype=`, and `.reduce`/`.accumulate`.

With `where=`, the ufunc is computed only where the mask is true (gathered, computed,
scattered back), so masked-out elements can neither change the result nor put NaN into
the gradient; elsewhere the result keeps `out`'s old values, or zeros without `out=`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from minidiff.optable import ops
from minidiff._tensor import Tensor
from minidiff.interop.names import _op
from minidiff.interop.out import _as_tensor, _cast, _is_array, _snapshot, _store
from minidiff.interop.passthrough import _on_values


def _ufunc_call(ufunc: np.ufunc, name: str, inputs: tuple, kwargs: dict) -> Any:
    function = _op(ufunc.__name__) if ufunc.nout == 1 else None
    if function is None:
        return _on_values(ufunc, ufunc.__name__, inputs, kwargs)
    kwargs = dict(kwargs)
    target = _single_out(kwargs.pop("out", None))
    where = kwargs.pop("where", True)
    dtype = kwargs.pop("dtype", None)
    casting = kwargs.pop("casting", "same_kind")
    for key in ("order", "subok"):
        kwargs.pop(key, None)
    if kwargs:
        raise TypeError(f"{name}: minidiff does not support the keyword argument(s) {sorted(kwargs)}")
    if where is not True and ufunc.signature is not None:
        raise TypeError(f"{name}: where= is not supported for a generalized ufunc (NumPy does not support it either)")
    inputs = list(inputs)
    previous = None
    if isinstance(target, Tensor) and (where is not True or any(a is target for a in inputs)):
        # `out` is an operand too (np.add(acc, x, out=acc)): the op reads its old value
        previous = _snapshot(target)
        inputs = [previous if a is target else a for a in inputs]
    if dtype is not None:
        inputs = [ops.astype(_as_tensor(a), dtype=dtype) if _is_array(a) else a for a in inputs]
    if where is True:
        result = function(*inputs)
    else:
        if target is not None and previous is None:
            previous = _as_tensor(target)
        result = _masked(function, inputs, where, previous)
    return _store(result, target, casting, name)


def _masked(function: Callable[..., Any], inputs: list, where: Any, previous: Tensor | None) -> Tensor:
    """`function` where the mask is true and `previous` (or zeros) elsewhere, computed only
    on the selected elements so that the others cannot put NaN into the gradient."""
    tensors = [_as_tensor(a) if _is_array(a) else a for a in inputs]
    backend = next((a.backend for a in (*tensors, previous) if isinstance(a, Tensor)), None)
    if not isinstance(where, Tensor):
        where = Tensor(np.asarray(where), backend=backend.name if backend else None)
    shapes = [a.shape for a in tensors if isinstance(a, Tensor)] + [where.shape]
    if previous is not None:
        shapes.append(previous.shape)
    shape = np.broadcast_shapes(*shapes)
    xp = where.backend.xp
    mask = xp.broadcast_to(xp.asarray(where.data, dtype=bool), shape)
    picked = [ops.broadcast_to(a, shape)[mask] if isinstance(a, Tensor) else a for a in tensors]
    full = ops.scatter_add(function(*picked), shape=shape, key=mask)
    return full if previous is None else ops.where(mask, full, previous)


def _single_out(out: Any) -> Any:
    """NumPy passes ufuncs `out` as a tuple; the functions take it as it is."""
    if isinstance(out, tuple):
        if len(out) != 1:
            raise TypeError(f"minidiff ops have one output, got {len(out)} out= arrays")
        return out[0]
    return out


# ufunc.reduce for the ufuncs whose reduction is an op
_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min", "logical_and": "all", "logical_or": "any"}

# ufunc.accumulate for the ufuncs whose running reduction is an op (the running maximum
# and minimum are internal ops: NumPy has no function of their own for them)
_ACCUMULATE = {"add": "cumsum", "multiply": "cumprod", "maximum": "cummax", "minimum": "cummin"}


def _accumulate(name: str, array: Any, axis: Any = 0, dtype: Any = None, out: Any = None) -> Any:
    x = _cast(array, dtype)
    if axis is None:
        if x.ndim != 1:
            raise ValueError(f"numpy.{name}.accumulate: axis=None works on 1-D input only, got shape {x.shape}")
        axis = 0
    result = getattr(ops, _ACCUMULATE[name])(x, axis=axis)
    return _store(result, _single_out(out), "same_kind", f"numpy.{name}.accumulate")
