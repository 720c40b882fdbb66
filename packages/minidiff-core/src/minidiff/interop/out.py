"""NumPy's arguments as Tensors, and results written into `out=` as NumPy does.

Writing into a Tensor with `out=` makes that Tensor the result of the op in the graph, so
gradients stay right; writing a result that needs a gradient into a NumPy array raises
(it would silently drop the gradient).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minidiff.graph import grad_enabled
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
    parameter = target.is_leaf and target.allow_grad
    if parameter and grad_enabled.get():
        raise RuntimeError(
            f"{name}(..., out=x): writing into a tensor that allows grad would corrupt its gradient; do it "
            f"inside `with md.no_grad():` (as for a parameter update) or drop out="
        )
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
    if not parameter and target._base is not None and (result.allow_grad or target.allow_grad):
        raise RuntimeError(
            f"{name}(..., out=view): writing a result that needs a gradient into a view of another tensor is "
            f"not supported (the viewed tensor's graph would not see it); drop out= and build the result out of place"
        )
    target.backend.setitem(target.data, Ellipsis, result.data)
    target._version[0] += 1
    if not parameter:
        # `target` now is the op's output. Its node kept, if anything, `result`'s own buffer,
        # which nothing else can change.
        target.node = result.node
        target.allow_grad = result.allow_grad
    return target
