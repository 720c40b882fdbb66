"""The NumPy protocol entry points: `Tensor.__array_ufunc__` (NEP 13) and
`Tensor.__array_function__` (NEP 18) send every NumPy call with a Tensor here, to an op's
adapter, a ufunc's method, or NumPy on the values.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from minidiff.optable import ops
from minidiff._tensor import Tensor
# importing the adapters fills `_HANDLERS`, which `_lookup` and ufunc.reduce read
from minidiff.interop.adapters import _HANDLERS, _generic
from minidiff.interop.names import ALIASES, QUERIES, _numpy_name, _op, _unsupported
from minidiff.interop.out import _as_tensor, _store
from minidiff.interop.passthrough import _needs_grad, _on_values, _query, _writing
from minidiff.interop.ufuncs import _ACCUMULATE, _REDUCE, _accumulate, _single_out, _ufunc_call


def array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
    """`Tensor.__array_ufunc__`: a NumPy ufunc called with a Tensor operand or `out=`."""
    name = f"numpy.{ufunc.__name__}"
    if method == "__call__":
        return _ufunc_call(ufunc, name, inputs, kwargs)
    if method == "reduce" and ufunc.__name__ in _REDUCE:
        kwargs = dict(kwargs)
        kwargs.setdefault("axis", 0)  # NumPy's reduce default, unlike the reductions'
        kwargs["out"] = _single_out(kwargs.get("out"))
        return _HANDLERS[_REDUCE[ufunc.__name__]].function(*inputs, **kwargs)
    if method == "accumulate" and ufunc.__name__ in _ACCUMULATE:
        return _accumulate(ufunc.__name__, *inputs, **kwargs)
    function = _op(ufunc.__name__) if ufunc.nout == 1 else None
    if method == "outer" and ufunc.nin == 2 and ufunc.signature is None and function is not None:
        unknown = sorted(set(kwargs) - {"out"})
        if unknown:
            raise TypeError(f"{name}.outer: minidiff does not support the keyword argument(s) {unknown}")
        a, b = (_as_tensor(v) for v in inputs)
        result = function(ops.reshape(a, a.shape + (1,) * b.ndim), b)
        return _store(result, _single_out(kwargs.get("out")), "same_kind", f"{name}.outer")
    if method == "at":
        # ufunc.at writes into its first operand, and NumPy 2.4's fast path for 1-D arrays
        # writes even into a read-only one, so it is never called on the tensor's own memory
        if _needs_grad((inputs, kwargs)):
            raise _unsupported(f"{ufunc.__name__}.at")
        return _writing(ufunc.at, inputs, kwargs)
    return _on_values(getattr(ufunc, method), f"{ufunc.__name__}.{method}", inputs, kwargs)


def array_function(func: Callable[..., Any], types: Iterable[type], args: tuple, kwargs: dict) -> Any:
    """`Tensor.__array_function__`: a NumPy function called with a Tensor argument."""
    if not all(issubclass(t, (Tensor, np.ndarray)) for t in types):
        return NotImplemented  # another library's array: let it answer
    name = _numpy_name(func)
    handler = _lookup(name, func) if name is not None else None
    if handler is None:
        return _on_values(func, name or f"{getattr(func, '__module__', '?')}.{getattr(func, '__name__', func)}", args, kwargs)
    return handler(*args, **kwargs)


def _lookup(name: str, func: Callable[..., Any]) -> Callable[..., Any] | None:
    target = ALIASES.get(name, name)
    if target in _HANDLERS:
        return _HANDLERS[target].function
    if name in QUERIES:
        return _query(func)
    function = _op(name)
    return None if function is None else _generic(function, func, name)
