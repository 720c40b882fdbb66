"""Calling an op with NumPy's arguments: the generic adapter, and `_HANDLERS`, the table of
adapters for the NumPy functions whose signature differs from their op's (`sum` with
`where=` and `initial=`, `reshape`, `clip`, `where` with one argument, `einsum`, ...).

Each adapter registers itself with `@_handles(numpy names, target=, note=)` when this
module is imported; `minidiff.interop.protocol` imports it before it reads the table.
"""

from __future__ import annotations

import operator

from typing import Any, Callable

import numpy as np

from minidiff.optable import ops
from minidiff._tensor import Tensor, make_tensor
from minidiff.interop.out import _as_tensor, _cast, _snapshot, _store
from minidiff.interop.passthrough import _on_values


# Keyword arguments that only choose memory layout, subclassing or a device: ignored.
_LAYOUT_KEYWORDS = ("order", "subok", "device", "copy")

_NO_VALUE = object()


def _generic(function: Callable[..., Any], func: Callable[..., Any], numpy_name: str) -> Callable[..., Any]:
    """Call a registered op with NumPy's arguments: `out=` written as NumPy does, `dtype=`
    applied to the result when the op has no dtype of its own, layout keywords ignored."""
    op = function.op
    name = f"numpy.{numpy_name}"

    def call(*args: Any, **kwargs: Any) -> Any:
        if op.creation and any(isinstance(a, Tensor) for a in (*args, *kwargs.values())):
            # NumPy hands over `np.zeros(3, like=t)` without the `like`; Tensor arguments
            # (np.linspace(t0, t1)) would need gradients that creation ops do not have,
            # so NumPy answers on their values
            return _on_values(func, numpy_name, args, kwargs)
        target = kwargs.pop("out", None)
        casting = kwargs.pop("casting", "same_kind")
        if op.creation:
            for key in _LAYOUT_KEYWORDS:
                kwargs.pop(key, None)
            return function(*args, **kwargs)
        dtype = None
        if op.composite is None:
            if "dtype" not in op.params:
                dtype = kwargs.pop("dtype", None)
            for key in _LAYOUT_KEYWORDS:
                if key not in op.params:
                    kwargs.pop(key, None)
        result = function(*args, **kwargs)
        if dtype is not None:
            result = ops.astype(result, dtype=dtype)
        return _store(result, target, casting, name)

    return call


class _Handler:
    """An adapter for a NumPy function whose signature differs from its op's."""

    def __init__(self, function: Callable[..., Any], target: str, note: str) -> None:
        self.function = function
        self.target = target
        self.note = note


_HANDLERS: dict[str, _Handler] = {}


def _handles(*names: str, target: str, note: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        for name in names:
            _HANDLERS[name] = _Handler(function, target, note)
        return function

    return register


# ---------------------------------------------------------------------------- reductions with where=


def _mask(where: Any, x: Tensor, name: str) -> Any:
    """The `where=` mask of a reduction as a boolean array of `x`'s backend and shape."""
    mask = where.data if isinstance(where, Tensor) else x.backend.asarray(np.asarray(where, dtype=bool))
    try:
        fits = np.broadcast_shapes(tuple(mask.shape), x.shape) == x.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"{name}: the where= mask of shape {tuple(mask.shape)} does not broadcast to the input's shape {x.shape}"
        )
    return x.backend.xp.broadcast_to(mask, x.shape)


def _count(mask: Any, x: Tensor, axis: Any, keepdims: bool) -> Tensor:
    """How many elements the mask selects along `axis`, as a constant of `x`'s dtype."""
    xp = x.backend.xp
    counts = xp.sum(mask, axis=axis, keepdims=keepdims)
    return make_tensor(x.backend.asarray(counts, dtype=x.data.dtype), x.backend, None)


def _float(x: Tensor) -> Tensor:
    """Integers and booleans as the backend's default float, as NumPy's mean does."""
    return x if x.dtype.kind in "fc" else ops.astype(x, dtype=x.backend.default_float)


def _neutral_reduction(name: str, neutral: int, combine: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    """`numpy.sum` or `numpy.prod` on Tensors: masked-out elements become the neutral
    element (so they get no gradient) and `initial` is combined with the result."""

    def reduce(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
               initial: Any = None, where: Any = True) -> Any:
        x = _cast(a, dtype)
        if where is not True:
            x = ops.where(_mask(where, x, f"numpy.{name}"), x, neutral)
        result = getattr(ops, name)(x, axis=axis, keepdims=keepdims)
        if initial is not None:
            result = combine(result, initial)
        return _store(result, out, "same_kind", f"numpy.{name}")

    reduce.__name__ = f"_{name}"
    return reduce


_sum = _handles("sum", target="md.sum", note="`where=`, `initial=`, `dtype=`, `out=`")(
    _neutral_reduction("sum", 0, operator.add)
)
_prod = _handles("prod", target="md.prod", note="`where=`, `initial=`, `dtype=`, `out=`")(
    _neutral_reduction("prod", 1, operator.mul)
)


@_handles("mean", target="md.mean", note="`where=`, `dtype=`, `out=`")
def _mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, *,
          where: Any = True) -> Any:
    x = _cast(a, dtype)
    if where is True:
        result = ops.mean(x, axis=axis, keepdims=keepdims)
    else:
        x = _float(x)
        mask = _mask(where, x, "numpy.mean")
        result = ops.sum(ops.where(mask, x, 0), axis=axis, keepdims=keepdims) / _count(mask, x, axis, keepdims)
    return _store(result, out, "same_kind", "numpy.mean")


def _variance(
    name: str, a: Any, axis: Any, dtype: Any, ddof: Any, keepdims: bool, where: Any, mean: Any, correction: Any
) -> Tensor:
    if mean is not None:
        raise TypeError(f"numpy.{name}: minidiff does not support mean= (it recomputes the mean)")
    if correction is not None:
        ddof = correction
    x = _cast(a, dtype)
    if where is True:
        return ops.var(x, axis=axis, ddof=ddof, keepdims=keepdims)
    x = _float(x)
    mask = _mask(where, x, f"numpy.{name}")
    # masked-out elements are replaced by 0 before any arithmetic, so that an inf or NaN
    # there cannot leak into the gradient
    selected = ops.where(mask, x, 0)
    center = ops.sum(selected, axis=axis, keepdims=True) / _count(mask, x, axis, True)
    squares = ops.where(mask, (selected - center) ** 2, 0)
    return ops.sum(squares, axis=axis, keepdims=keepdims) / (_count(mask, x, axis, keepdims) - ddof)


@_handles("var", target="md.var", note="`where=`, `ddof=`/`correction=`, `dtype=`, `out=`")
def _var(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0, keepdims: bool = False, *,
         where: Any = True, mean: Any = None, correction: Any = None) -> Any:
    result = _variance("var", a, axis, dtype, ddof, keepdims, where, mean, correction)
    return _store(result, out, "same_kind", "numpy.var")


@_handles("std", target="md.std", note="`where=`, `ddof=`/`correction=`, `dtype=`, `out=`")
def _std(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0, keepdims: bool = False, *,
         where: Any = True, mean: Any = None, correction: Any = None) -> Any:
    if where is True and mean is None:
        result = ops.std(_cast(a, dtype), axis=axis, ddof=correction if correction is not None else ddof, keepdims=keepdims)
    else:
        result = ops.sqrt(_variance("std", a, axis, dtype, ddof, keepdims, where, mean, correction))
    return _store(result, out, "same_kind", "numpy.std")


def _extremum(name: str, a: Any, axis: Any, out: Any, keepdims: bool, initial: Any, where: Any) -> Any:
    x = _as_tensor(a)
    if initial is not None and 0 in x.shape and _reduces_nothing(x, axis):
        # NumPy gives `initial` for a reduction over no elements (max itself would raise)
        return _store(ops.sum(x, axis=axis, keepdims=keepdims) * 0 + initial, out, "same_kind", f"numpy.{name}")
    if where is not True:
        if initial is None:
            raise ValueError(f"numpy.{name}: a where= mask needs initial= ({name} has no identity), as in NumPy")
        x = ops.where(_mask(where, x, f"numpy.{name}"), x, initial)
    result = getattr(ops, name)(x, axis=axis, keepdims=keepdims)
    if initial is not None:
        result = (ops.maximum if name == "max" else ops.minimum)(result, initial)
    return _store(result, out, "same_kind", f"numpy.{name}")


@_handles("max", target="md.max", note="`where=` with `initial=`, `out=`")
def _max(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, initial: Any = None, where: Any = True) -> Any:
    return _extremum("max", a, axis, out, keepdims, initial, where)


@_handles("min", target="md.min", note="`where=` with `initial=`, `out=`")
def _min(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, initial: Any = None, where: Any = True) -> Any:
    return _extremum("min", a, axis, out, keepdims, initial, where)


def _logical_reduction(name: str, neutral: bool) -> Callable[..., Any]:
    """`numpy.all` / `numpy.any`: elements outside `where=` count as the neutral value."""

    def reduce(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, *, where: Any = True) -> Any:
        x = _as_tensor(a)
        if where is not True:
            x = ops.where(_mask(where, x, f"numpy.{name}"), x, neutral)
        return _store(getattr(ops, name)(x, axis=axis, keepdims=keepdims), out, "same_kind", f"numpy.{name}")

    return reduce


_all = _handles("all", target="md.all", note="not differentiable; `where=`, `out=`")(_logical_reduction("all", True))
_any = _handles("any", target="md.any", note="not differentiable; `where=`, `out=`")(_logical_reduction("any", False))


# ---------------------------------------------------------------------------- the other adapters


@_handles("cumsum", target="md.cumsum", note="`dtype=`, `out=`")
def _cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    return _store(ops.cumsum(_cast(a, dtype), axis=axis), out, "same_kind", "numpy.cumsum")


@_handles("reshape", target="md.reshape", note="C order only")
def _reshape(a: Any, shape: Any = None, order: str = "C", *, newshape: Any = None, copy: Any = None) -> Tensor:
    if order != "C":
        raise ValueError(f"numpy.reshape: minidiff reshapes in C order only, got order={order!r}")
    return ops.reshape(_as_tensor(a), shape if shape is not None else newshape)


def _join(name: str, op: Callable[..., Tensor], arrays: Any, axis: Any, out: Any, dtype: Any, casting: str) -> Any:
    if isinstance(arrays, Tensor):
        arrays = list(arrays)  # NumPy iterates an array along its first axis
    result = op(list(arrays), axis=axis)
    if dtype is not None:
        result = ops.astype(result, dtype=dtype)
    return _store(result, out, casting, f"numpy.{name}")


@_handles("concatenate", target="md.concatenate", note="`dtype=`, `out=`")
def _concatenate(arrays: Any, axis: Any = 0, out: Any = None, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    return _join("concatenate", ops.concatenate, arrays, axis, out, dtype, casting)


@_handles("stack", target="md.stack", note="`dtype=`, `out=`")
def _stack(arrays: Any, axis: Any = 0, out: Any = None, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    return _join("stack", ops.stack, arrays, axis, out, dtype, casting)


@_handles("where", target="md.where", note="one argument: the indices of the true elements, no gradient")
def _where(condition: Any, x: Any = _NO_VALUE, y: Any = _NO_VALUE) -> Any:
    if x is _NO_VALUE and y is _NO_VALUE:
        c = _as_tensor(condition)
        return tuple(make_tensor(i, c.backend, None) for i in c.backend.xp.nonzero(c.data))
    if x is _NO_VALUE or y is _NO_VALUE:
        raise ValueError("numpy.where: either both or neither of x and y should be given")
    return ops.where(condition, x, y)


@_handles("clip", target="md.clip", note="`min=`/`max=` spellings, `dtype=`, `out=`")
def _clip(a: Any, a_min: Any = _NO_VALUE, a_max: Any = _NO_VALUE, out: Any = None, **kwargs: Any) -> Any:
    low = kwargs.pop("min", None) if a_min is _NO_VALUE else a_min
    high = kwargs.pop("max", None) if a_max is _NO_VALUE else a_max
    dtype = kwargs.pop("dtype", None)
    casting = kwargs.pop("casting", "same_kind")
    if kwargs:
        raise TypeError(f"numpy.clip: minidiff does not support the keyword argument(s) {sorted(kwargs)}")
    result = ops.clip(_cast(a, dtype), low, high)
    return _store(result, out, casting, "numpy.clip")


@_handles("einsum", target="md.einsum", note="explicit and implicit subscripts, `...`; `optimize=` ignored")
def _einsum(*operands: Any, out: Any = None, optimize: Any = False, **kwargs: Any) -> Any:
    dtype = kwargs.pop("dtype", None)
    casting = kwargs.pop("casting", "safe")
    kwargs.pop("order", None)
    if kwargs:
        raise TypeError(f"numpy.einsum: minidiff does not support the keyword argument(s) {sorted(kwargs)}")
    result = ops.einsum(*operands)
    if dtype is not None:
        result = ops.astype(result, dtype=dtype)
    return _store(result, out, casting, "numpy.einsum")


@_handles("put_along_axis", target="md.put_along_axis", note="writes into `arr` and returns None, as NumPy does")
def _put_along_axis(arr: Any, indices: Any, values: Any, axis: Any) -> None:
    # md.put_along_axis returns a new tensor; NumPy's writes into arr, so the result is
    # stored back into it (arr's old value, snapshotted, is what the op read)
    source = _snapshot(arr) if isinstance(arr, Tensor) else arr
    _store(ops.put_along_axis(source, indices, values, axis), arr, "unsafe", "numpy.put_along_axis")


@_handles("copy", target="md.astype", note="a differentiable copy")
def _copy(a: Any, order: str = "K", subok: bool = False) -> Tensor:
    x = _as_tensor(a)
    return ops.astype(x, dtype=x.dtype)


@_handles("matrix_transpose", target="md.swapaxes", note="the last two axes swapped")
def _matrix_transpose(x: Any) -> Tensor:
    return ops.swapaxes(_as_tensor(x), -1, -2)


@_handles("linalg.diagonal", target="md.diagonal", note="the diagonals of the last two axes")
def _linalg_diagonal(x: Any, *, offset: int = 0) -> Tensor:
    return ops.diagonal(_as_tensor(x), offset=offset, axis1=-2, axis2=-1)


@_handles("linalg.trace", target="md.trace", note="the traces of the last two axes, `dtype=`")
def _linalg_trace(x: Any, *, offset: int = 0, dtype: Any = None) -> Tensor:
    return ops.trace(_cast(x, dtype), offset=offset, axis1=-2, axis2=-1)


@_handles("linalg.outer", target="md.outer", note="1-D operands, as NumPy requires")
def _linalg_outer(x1: Any, x2: Any) -> Tensor:
    a, b = _as_tensor(x1), _as_tensor(x2)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"numpy.linalg.outer: the operands must be 1-D, got shapes {a.shape} and {b.shape}")
    return ops.outer(a, b)


@_handles("argmax", target="md.argmax", note="not differentiable; `out=`")
def _argmax(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Any:
    return _store(ops.argmax(_as_tensor(a), axis=axis, keepdims=keepdims), out, "same_kind", "numpy.argmax")


@_handles("argmin", target="md.argmin", note="not differentiable; `out=`")
def _argmin(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Any:
    return _store(ops.argmin(_as_tensor(a), axis=axis, keepdims=keepdims), out, "same_kind", "numpy.argmin")


def _reduces_nothing(x: Tensor, axis: Any) -> bool:
    """Whether a reduction of `x` over `axis` combines no elements."""
    axes = range(x.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
    return any(x.shape[a] == 0 for a in axes)
