"""`md.tensor`, `md.array` and `md.asarray`: Tensors from data, with PyTorch's and NumPy's semantics.

- `md.tensor(data, dtype)` is `torch.tensor`: always a new leaf with its own memory, cut
  from any graph `data` belongs to (the copy of a Tensor does not take its gradient).
- `md.array(obj, dtype)` is `numpy.array`: a copy by default (`copy=None` copies only when
  needed, `copy=False` never does and raises when it would have to). A Tensor, or a list
  holding Tensors, stays differentiable, as `jax.numpy.array` and HIPS autograd's
  `np.array` are: `md.array([x, y])` stacks `x` and `y` with a gradient.
- `md.asarray(obj, dtype)` is `numpy.asarray`: `md.array(obj, dtype, copy=None)`, so a
  Tensor of the right dtype and backend comes back as it is, and a NumPy array of the
  right dtype is shared (not copied) on the NumPy backend.

All three take `backend=` and `allow_grad=` (or `requires_grad=`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minidiff._tensor import Tensor

__all__ = ["array", "asarray", "tensor"]


def tensor(
    data: Any,
    dtype: Any = None,
    *,
    backend: str | None = None,
    allow_grad: bool = False,
    requires_grad: bool | None = None,
) -> Tensor:
    """A new leaf tensor holding a copy of `data`, as `torch.tensor`.

    A Tensor given as `data` is copied and cut from its graph (like PyTorch's
    `t.clone().detach()`); use `md.array` or `t.copy()` for a copy that keeps the gradient.

    >>> import minidiff as md
    >>> x = md.tensor([1, 2], md.float32, requires_grad=True)
    >>> x.dtype, x.requires_grad
    (dtype('float32'), True)
    """
    if requires_grad is not None:
        allow_grad = requires_grad
    return Tensor(data, allow_grad, dtype, backend)


def array(
    obj: Any,
    dtype: Any = None,
    *,
    copy: bool | None = True,
    backend: str | None = None,
    allow_grad: bool | None = None,
    requires_grad: bool | None = None,
) -> Tensor:
    """A tensor of `obj`, as `numpy.array`: a copy unless `copy=None` (copy only if needed)
    or `copy=False` (never copy; raise where a copy is needed).

    A Tensor `obj`, or a (nested) list holding Tensors, gives a differentiable result: the
    copy (or cast, with `dtype=`) passes the gradient back, as in JAX and HIPS autograd.
    `allow_grad=None` keeps whether `obj` allows grad (False for plain data); True or False
    makes the result a leaf that does or does not (over the same memory when nothing was copied).
    Moving to another `backend=` is a copy that does not pass gradients (see `Tensor.to`).

    >>> import minidiff as md
    >>> x = md.Tensor([1.0, 2.0], allow_grad=True)
    >>> y = md.array([x[1], 3.0 * x[0]])     # a differentiable stack
    >>> y.sum().backward()
    >>> x.grad
    minidiff.Tensor([3., 1.])
    """
    if requires_grad is not None:
        allow_grad = requires_grad
    if isinstance(obj, Tensor):
        result = _from_tensor(obj, dtype, copy, backend)
    elif isinstance(obj, (list, tuple)) and _holds_tensor(obj):
        if copy is False:
            raise ValueError("md.array(copy=False): a list of tensors cannot become one tensor without a copy")
        result = _stack(obj, backend)
        if dtype is not None and np.dtype(dtype) != result.dtype:
            result = result.astype(dtype)
    else:
        result = _from_data(obj, dtype, copy, backend)
    if allow_grad is not None and bool(allow_grad) != result.allow_grad:
        result = result.detach() if result is obj or not result.is_leaf else result
        result._set_allow_grad(bool(allow_grad), dtype_given=dtype is not None)
    return result


def asarray(
    obj: Any,
    dtype: Any = None,
    *,
    device: str | None = None,
    copy: bool | None = None,
    backend: str | None = None,
    allow_grad: bool | None = None,
    requires_grad: bool | None = None,
) -> Tensor:
    """A tensor of `obj` without a copy where none is needed, as `numpy.asarray`: a Tensor
    of the requested dtype and backend is returned as it is (same object, same graph).
    `device=` is the Array API's name for `backend=`.

    >>> import minidiff as md, numpy as np
    >>> t = md.Tensor([1.0, 2.0])
    >>> md.asarray(t) is t, md.asarray(t, md.float32) is t
    (True, False)
    >>> a = np.zeros(3)
    >>> np.shares_memory(md.asarray(a).data, a)
    True
    """
    if device is not None:  # the Array API's name for the backend
        from minidiff.array_api.tensor_protocol import device_name

        if backend is not None and backend != device_name(device):
            raise ValueError(f"md.asarray: device={device!r} and backend={backend!r} name two backends; give one")
        backend = device_name(device)
    return array(obj, dtype, copy=copy, backend=backend, allow_grad=allow_grad, requires_grad=requires_grad)


def _from_tensor(x: Tensor, dtype: Any, copy: bool | None, backend: str | None) -> Tensor:
    result = x
    if backend is not None:
        from minidiff.config import get_backend

        if get_backend(backend) is not x.backend:
            _refuse_copy(copy, f"moving a tensor from backend {x.backend.name!r} to {backend!r}")
            result = result.to(backend)
    if dtype is not None and np.dtype(dtype) != result.dtype:
        _refuse_copy(copy, f"casting a tensor of dtype {result.dtype} to {np.dtype(dtype)}")
        result = result.astype(dtype)
    if result is x and copy:
        result = x.copy()
    return result


def _from_data(obj: Any, dtype: Any, copy: bool | None, backend: str | None) -> Tensor:
    if copy:
        return Tensor(obj, False, dtype, backend)
    from minidiff.config import get_backend
    from minidiff._tensor import make_tensor

    chosen = get_backend(backend)
    if not isinstance(obj, (*chosen.array_types, np.ndarray, np.generic, list, tuple, int, float, bool, complex)):
        return Tensor(obj, False, dtype, backend)  # raises the constructor's error for what is not data
    data = chosen.asarray(obj, dtype)
    if copy is False and not _shares(data, obj):
        raise ValueError(f"md.array(copy=False): a {type(obj).__name__} cannot become a tensor without a copy")
    if chosen.host_dtype(data.dtype).kind not in "biufc":
        raise TypeError(f"minidiff Tensors hold numbers; got data of dtype {data.dtype}")
    return make_tensor(data, chosen, None)


def _shares(data: Any, obj: Any) -> bool:
    if data is obj:
        return True
    return isinstance(data, np.ndarray) and isinstance(obj, np.ndarray) and np.shares_memory(data, obj)


def _refuse_copy(copy: bool | None, what: str) -> None:
    if copy is False:
        raise ValueError(f"md.array(copy=False): {what} needs a copy")


def _holds_tensor(obj: list | tuple) -> bool:
    return any(isinstance(item, Tensor) or (isinstance(item, (list, tuple)) and _holds_tensor(item)) for item in obj)


def _stack(obj: Any, backend: str | None) -> Tensor:
    """A (nested) list of Tensors and numbers stacked into one differentiable tensor."""
    from minidiff.optable import ops

    if isinstance(obj, Tensor):
        return obj if backend is None else obj.to(backend)
    if isinstance(obj, (list, tuple)) and _holds_tensor(obj):
        if backend is None:  # numbers beside the tensors go where the tensors are
            backend = _first_tensor(obj).backend.name
        return ops.stack([_stack(item, backend) for item in obj])
    return Tensor(obj, backend=backend)


def _first_tensor(obj: Any) -> Tensor:
    for item in obj:
        if isinstance(item, Tensor):
            return item
        if isinstance(item, (list, tuple)) and _holds_tensor(item):
            return _first_tensor(item)
    raise AssertionError("unreachable: the caller checked that obj holds a tensor")
