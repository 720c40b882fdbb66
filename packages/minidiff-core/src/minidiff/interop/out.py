"""NumPy's arguments as Tensors, and results written into `out=` as NumPy does.

Writing into a Tensor with `out=` is recorded as an in-place write (`minidiff.inplace`): the
Tensor, or the base of a view, becomes the result of the op in the graph, so gradients stay
right; writing a result that needs a gradient into a NumPy array raises
(it would silently drop the gradient).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minidiff.optable import ops
from minidiff._tensor import Tensor, make_tensor


def _is_array(a: Any) -> bool:
    return isinstance(a, (Tensor, np.ndarray, np.generic, list, tuple))


def _as_tensor(a: Any) -> Tensor:
    return a if isinstance(a, Tensor) else Tensor(np.asarray(a))


def _cast(a: Any, dtype: Any) -> Tensor:
    x = _as_tensor(a)
    return x if dtype is None else ops.astype(x, dtype=dtype)


def _snapshot(t: Tensor) -> Tensor:
    """A copy of `t` as it is now (values, graph node, version), to stand for its old
    value in the graph once `t` is overwritten."""
    from minidiff._tensor import _fresh

    _fresh(t)  # a view whose base changed: its node and values as of now
    copy = make_tensor(t.backend.array(t.data), t.backend, t.node)
    copy.allow_grad = t.allow_grad
    return copy


def _store(result: Any, target: Any, casting: str, name: str) -> Any:
    """Return `result`, or write it into `out=` as NumPy does and return that."""
    if target is None:
        return result
    if isinstance(target, Tensor):
        return _store_in_tensor(_as_tensor(result), target, casting, name)
    if isinstance(target, np.ndarray):
        if isinstance(result, Tensor) and result.allow_grad:
            raise TypeError(
                f"{name}(..., out=<numpy array>): the result needs a gradient, which a NumPy array cannot hold; "
                f"pass a minidiff Tensor as out= (e.g. np.zeros_like(t)), or assign the result "
                f"(`a = a + t` rather than `a += t` for an array `a`)"
            )
        np.copyto(target, result.numpy() if isinstance(result, Tensor) else np.asarray(result), casting=casting)
        return target
    raise TypeError(f"{name}: out= must be a minidiff Tensor or a NumPy array, got {type(target).__name__!r}")


def _store_in_tensor(result: Tensor, target: Tensor, casting: str, name: str) -> Tensor:
    from minidiff.inplace import check_writable, needs_recording, store, write

    check_writable(target, f"{name}(..., out=x): writing")
    if result.dtype != target.dtype:
        if not np.can_cast(result.dtype, target.dtype, casting=casting):
            raise TypeError(
                f"{name}: cannot cast the result from {result.dtype} to out's dtype {target.dtype} with casting={casting!r}"
            )
        result = ops.astype(result, dtype=target.dtype)
    if result.shape != target.shape:
        try:
            fits = np.broadcast_shapes(result.shape, target.shape) == target.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"{name}: the result has shape {result.shape}, which does not fit out= of shape {target.shape}"
            )
        result = ops.broadcast_to(result, target.shape)
    if needs_recording(target, result):
        # recorded as `target[...] = result` (through a view, on its base): the result's graph
        # already holds `target`'s old value where the op read it (`_snapshot`)
        write(target, Ellipsis, result)
    else:
        store(target, Ellipsis, result.data)
    return target
