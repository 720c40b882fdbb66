"""NumPy on the values: functions minidiff has no op for, answered by NumPy itself.

The answer is returned as NumPy gives it (arrays, not Tensors) whenever no gradient is
lost; a floating-point answer that would need a gradient raises `NotDifferentiableError`.
Functions that write into an argument change a Tensor through `t[...] = ...`, so the
in-place check still guards recorded graphs.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from minidiff.graph import grad_enabled
from minidiff._tensor import Tensor
from minidiff.interop.names import _unsupported


def _query(func: Callable[..., Any]) -> Callable[..., Any]:
    def answer(*args: Any, **kwargs: Any) -> Any:
        if func is np.shape and len(args) == 1 and isinstance(args[0], Tensor):
            return args[0].shape
        if func is np.ndim and len(args) == 1 and isinstance(args[0], Tensor):
            return args[0].ndim
        if func is np.result_type:
            return np.result_type(*(a.dtype if isinstance(a, Tensor) else a for a in args))
        return func(*_host(args), **_host(kwargs))

    return answer


def _host(value: Any, writable: bool = True) -> Any:
    """`value` with every Tensor (also inside lists, tuples and dicts) as its host array,
    a read-only view of it unless `writable`."""
    if isinstance(value, Tensor):
        host = value.numpy()
        if not writable:
            host = host.view()
            host.flags.writeable = False
        return host
    if isinstance(value, (list, tuple)):
        return type(value)(_host(v, writable) for v in value)
    if isinstance(value, dict):
        return {k: _host(v, writable) for k, v in value.items()}
    return value


def _on_values(func: Callable[..., Any], name: str, args: tuple, kwargs: dict) -> Any:
    """NumPy's own answer for a function minidiff has no op for, computed on the values.

    Decided from the answer: it is returned as NumPy gives it (arrays, not Tensors) when no
    argument needs a gradient (none allows grad, or grad mode is off), or when it holds no
    floating-point value (indices, counts, masks, shapes, text), since then there is no
    gradient to lose. A floating-point answer that some argument would need a gradient of
    raises, naming the function. Tensors go in as read-only arrays, so a function that
    writes into one fails before writing and is retried by `_writing`.
    """
    tracked = _needs_grad((args, kwargs))
    try:
        result = func(*_host(args, writable=False), **_host(kwargs, writable=False))
    except ValueError as error:
        if "read-only" not in str(error):
            raise
        if tracked:
            raise _unsupported(name) from error
        return _writing(func, args, kwargs)
    if tracked and _holds_float(result):
        raise _unsupported(name)
    return result


def _writing(func: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    """Call `func`, which writes into an argument, on private copies of the Tensors' values,
    then give each Tensor whose values changed the new ones through `t[...] = ...`: the
    in-place check then sees the write (a graph that saved `t` raises in backward), and it
    works on backends whose host arrays are copies."""
    copies: dict[int, tuple[Tensor, np.ndarray]] = {}

    def swap(value: Any) -> Any:
        if isinstance(value, Tensor):
            if id(value) not in copies:
                copies[id(value)] = (value, np.array(value.numpy()))
            return copies[id(value)][1]
        if isinstance(value, (list, tuple)):
            return type(value)(swap(v) for v in value)
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        return value

    result = func(*swap(args), **swap(kwargs))
    for t, values in copies.values():
        if not np.array_equal(values, t.numpy(), equal_nan=values.dtype.kind in "fc"):
            t[...] = values
    return result


def _needs_grad(value: Any) -> bool:
    """Whether some Tensor in `value` (also inside lists, tuples and dicts) would take a gradient."""
    if isinstance(value, Tensor):
        return value.allow_grad and grad_enabled.get()
    if isinstance(value, (list, tuple)):
        return any(_needs_grad(v) for v in value)
    if isinstance(value, dict):
        return any(_needs_grad(v) for v in value.values())
    return False


def _holds_float(value: Any) -> bool:
    """Whether an answer holds a floating-point (or complex, or object) value anywhere."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.dtype.kind in "fcO"
    if isinstance(value, (float, complex, Tensor)):
        return not isinstance(value, Tensor) or value.dtype.kind in "fc"
    if isinstance(value, (list, tuple)):  # also NumPy's named tuples (np.unique_all)
        return any(_holds_float(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_float(v) for v in value.values())
    return False
