"""NumPy interop: NumPy's own functions, given minidiff Tensors, return differentiable Tensors.

>>> import numpy as np
>>> import minidiff as md
>>> x = md.Tensor([0.5, 1.0], allow_grad=True)
>>> y = np.sum(np.sin(x) * x)           # NumPy's functions, minidiff's Tensors
>>> y.backward()
>>> x.grad                              # sin(x) + x cos(x)
minidiff.Tensor([0.91821682, 1.38177329])

So a function written against `numpy` alone can be differentiated by passing it Tensors.
`Tensor.__array_ufunc__` and `Tensor.__array_function__` (NumPy's NEP 13 and NEP 18
protocols) send every NumPy call with a Tensor argument here, which maps it onto a
minidiff op by name, straight from the op registry: `numpy.sin` is `md.sin`,
`numpy.linalg.solve` is `md.linalg.solve` when an op pack registers it, and an op that a
plugin adds under a NumPy name is reachable from NumPy at once. A few functions whose
NumPy signature differs from the op's (`sum` with `where=` and `initial=`, `reshape`,
`clip`, `where` with one argument, ...) go through a small adapter here.

- Ufuncs take `out=` (a Tensor or a NumPy array), `where=` and `dtype=` as NumPy does;
  `.reduce`, `.accumulate` and `.outer` work for the ufuncs where they have an op.
  Writing into a Tensor with `out=` makes that Tensor the result of the op in the graph,
  so gradients stay right; writing a result that needs a gradient into a NumPy array is
  an error (it would silently drop the gradient).
- With `where=`, the ufunc is computed only where the mask is true (gathered, computed,
  scattered back), so masked-out elements can neither change the result nor put NaN into
  the gradient. Elsewhere the result keeps `out`'s old values, or zeros without `out=`
  (NumPy leaves those uninitialized). Reductions (`sum`, `mean`, `prod`, `max`, `min`,
  `var`, `std`, `all`, `any`) take `where=` with the right gradients too.
- Every other NumPy function is answered by NumPy itself, on the values (host arrays),
  and returns what NumPy returns (NumPy arrays, not Tensors), when no gradient is lost:
  when no argument allows grad, or inside `md.no_grad()` (`np.histogram(t)`,
  `np.save(path, t)`, `np.unique(t)`), and when the answer holds no floating-point value
  (indices, counts, masks, shapes, text: `np.argsort(x)`, `np.isclose(x, y)`,
  `np.count_nonzero(x)`), whatever the arguments. Only a floating-point answer that would
  need a gradient minidiff cannot give raises a `TypeError` naming the function: minidiff
  never silently drops a gradient. A function that writes into an argument
  (`np.copyto(t, a)`, `np.fill_diagonal(t, 0)`) changes a Tensor through `t[...] = ...`,
  so the in-place check still guards recorded graphs.

>>> x = md.Tensor([3.0, 1.0, 2.0], allow_grad=True)
>>> np.argsort(x)                      # indices: no gradient to lose
array([1, 2, 0])
>>> np.histogram(x.detach(), bins=2)[0]
array([1, 2])

`python -m minidiff.interop --markdown` prints the list of supported NumPy functions,
generated from the registry (docs/numpy-interop.md in the repository);
`python -m minidiff.interop --coverage` counts NumPy's public functions by what minidiff
does with them.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import warnings
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from minidiff import plugins
from minidiff.graph import grad_enabled
from minidiff.optable import functions, ops
from minidiff._tensor import Tensor, make_tensor

__all__ = ["NotDifferentiableError", "array_function", "array_ufunc", "coverage", "markdown", "supported"]

#: where the list of NumPy functions minidiff differentiates is read, also without a checkout
DOCS_URL = "https://github.com/minidiff/minidiff/blob/main/docs/numpy-interop.md"

# NumPy names that are another name for a minidiff op.
ALIASES: dict[str, str] = {
    "absolute": "abs",
    "fabs": "abs",
    "remainder": "mod",
    "true_divide": "divide",
    "amax": "max",
    "amin": "min",
    "around": "round",
    "concat": "concatenate",
    "permute_dims": "transpose",
    "radians": "deg2rad",
    "degrees": "rad2deg",
    "row_stack": "vstack",  # deprecated in NumPy 2, which warns and calls vstack
    # the array API standard's copies in numpy.linalg
    "linalg.matmul": "matmul",
    "linalg.tensordot": "tensordot",
    "linalg.matrix_transpose": "matrix_transpose",
}

# Functions whose answers are integers, booleans, shapes, dtypes or text: nothing to
# differentiate, so they are answered on the values.
QUERIES: tuple[str, ...] = (
    "shape", "ndim", "size", "result_type", "can_cast", "min_scalar_type", "iscomplexobj", "isrealobj",
    "isreal", "iscomplex", "allclose", "isclose", "array_equal", "array_equiv", "shares_memory",
    "may_share_memory", "count_nonzero", "nonzero", "flatnonzero", "argwhere", "argsort", "searchsorted",
    "digitize", "array_repr", "array_str", "array2string",
)

# Keyword arguments that only choose memory layout, subclassing or a device: ignored.
_LAYOUT_KEYWORDS = ("order", "subok", "device", "copy")

_NO_VALUE = object()


# ---------------------------------------------------------------------------- protocol entry points


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


# ---------------------------------------------------------------------------- resolving names


def _numpy_name(func: Callable[..., Any]) -> str | None:
    """`"sum"` for `numpy.sum`, `"linalg.solve"` for `numpy.linalg.solve`, None for others."""
    module = getattr(func, "__module__", None) or ""
    name = getattr(func, "__name__", "")
    if module == "numpy":
        return name
    parts = module.split(".")
    if parts[0] == "numpy" and len(parts) > 1:
        return name if parts[1].startswith("_") or parts[1] in ("core", "lib") else f"{parts[1]}.{name}"
    return None


def _op(name: str) -> Callable[..., Any] | None:
    """The public minidiff op for NumPy's `name`, if one is registered."""
    plugins.load()
    function = functions.get(ALIASES.get(name, name))
    return function if function is not None and function.op.public else None


def _lookup(name: str, func: Callable[..., Any]) -> Callable[..., Any] | None:
    target = ALIASES.get(name, name)
    if target in _HANDLERS:
        return _HANDLERS[target].function
    if name in QUERIES:
        return _query(func)
    function = _op(name)
    return None if function is None else _generic(function, func, name)


class NotDifferentiableError(TypeError):
    """A NumPy function whose floating-point answer would need a gradient minidiff cannot give."""


def _unsupported(name: str) -> TypeError:
    hint = ""
    if name.startswith("linalg."):
        hint = f" (no installed op pack registers md.{name}; the minidiff-ops-linalg distribution provides md.linalg)"
    return NotDifferentiableError(
        f"numpy.{name} is not differentiable in minidiff: there is no minidiff op for it{hint}, and its "
        f"floating-point result would need a gradient from an argument that allows grad. Use minidiff ops "
        f"(`python -m minidiff.interop` lists the NumPy functions minidiff differentiates; also {DOCS_URL}), "
        f"give it a gradient with md.custom_vjp or md.create_op_func, or call it where no gradient is needed: "
        f"on t.detach(), or inside `with md.no_grad():`"
    )


# ---------------------------------------------------------------------------- ufuncs


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


# ---------------------------------------------------------------------------- out=


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


# ---------------------------------------------------------------------------- functions


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


# ---------------------------------------------------------------------------- NumPy on the values


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


def _is_array(a: Any) -> bool:
    return isinstance(a, (Tensor, np.ndarray, np.generic, list, tuple))


def _as_tensor(a: Any) -> Tensor:
    return a if isinstance(a, Tensor) else Tensor(np.asarray(a))


def _cast(a: Any, dtype: Any) -> Tensor:
    x = _as_tensor(a)
    return x if dtype is None else ops.astype(x, dtype=dtype)


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


@_handles("sum", target="md.sum", note="`where=`, `initial=`, `dtype=`, `out=`")
def _sum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
         initial: Any = None, where: Any = True) -> Any:
    x = _cast(a, dtype)
    if where is not True:
        x = ops.where(_mask(where, x, "numpy.sum"), x, 0)
    result = ops.sum(x, axis=axis, keepdims=keepdims)
    if initial is not None:
        result = result + initial
    return _store(result, out, "same_kind", "numpy.sum")


@_handles("prod", target="md.prod", note="`where=`, `initial=`, `dtype=`, `out=`")
def _prod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
          initial: Any = None, where: Any = True) -> Any:
    x = _cast(a, dtype)
    if where is not True:
        x = ops.where(_mask(where, x, "numpy.prod"), x, 1)
    result = ops.prod(x, axis=axis, keepdims=keepdims)
    if initial is not None:
        result = result * initial
    return _store(result, out, "same_kind", "numpy.prod")


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


def _reduces_nothing(x: Tensor, axis: Any) -> bool:
    """Whether a reduction of `x` over `axis` combines no elements."""
    axes = range(x.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
    return any(x.shape[a] == 0 for a in axes)


# ---------------------------------------------------------------------------- the generated list


def supported(core_only: bool = True) -> list[tuple[str, str, str, str]]:
    """Every NumPy function that works on Tensors: `(numpy name, minidiff target, kind, note)`,
    kind being "ufunc", "function", "not differentiable" or "query". `core_only` lists the
    ops of minidiff's built-in families only (so the list does not depend on what else is
    installed); `numpy.linalg.*` then maps to `md.linalg.*` of any installed op pack."""
    registry = plugins.load()
    rows: dict[str, tuple[str, str, str, str]] = {}
    reverse: dict[str, list[str]] = {}
    for alias, target in ALIASES.items():
        reverse.setdefault(target, []).append(alias)
    for entry in registry.ops.values():
        op = entry.value
        if not op.public or (core_only and entry.plugin not in plugins.DEFAULT_PLUGINS):
            continue
        for name in (op.name, *reverse.get(op.name, ())):
            qualname = f"{op.namespace}.{name}" if op.namespace else name
            if _numpy_function(qualname) is None or ALIASES.get(name, name) in _HANDLERS:
                continue
            row = _row(qualname, op)
            if row is not None:
                rows[qualname] = row
    for name, handler in _HANDLERS.items():
        for numpy_name in (name, *reverse.get(name, ())):
            if _numpy_function(numpy_name) is not None:
                kind = "not differentiable" if handler.note.startswith("not differentiable") else "function"
                note = handler.note.removeprefix("not differentiable").lstrip("; ")
                rows[numpy_name] = (numpy_name, handler.target, kind, note)
    for name in QUERIES:
        if _numpy_function(name) is not None:
            rows[name] = (name, "answered on the values", "query", "")
    return [rows[name] for name in sorted(rows)]


def _numpy_function(qualname: str) -> Any:
    namespace: Any = np
    for part in qualname.split("."):
        namespace = getattr(namespace, part, None)
        if namespace is None:
            return None
    return namespace


def _parameters(function: Any) -> list[str]:
    try:
        return list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return []


def _row(qualname: str, op: Any) -> tuple[str, str, str, str] | None:
    numpy_function = _numpy_function(qualname)
    target = f"md.{op.qualname}"
    if not op.differentiable:
        if op.creation and "like" not in _parameters(numpy_function):
            return None
        note = "creation, with `like=` a Tensor" if op.creation else ""
        return (qualname, target, "not differentiable", note)
    if isinstance(numpy_function, np.ufunc) and numpy_function.signature is not None:
        return (qualname, target, "ufunc", "`out=`, `dtype=`")
    if isinstance(numpy_function, np.ufunc):
        name = numpy_function.__name__
        methods = [f".{m}" for m, ufuncs in (("reduce", _REDUCE), ("accumulate", _ACCUMULATE)) if name in ufuncs]
        if numpy_function.nin == 2:
            methods.append(".outer")
        note = "`out=`, `where=`, `dtype=`" + (f"; {', '.join(methods)}" if methods else "")
        return (qualname, target, "ufunc", note)
    note = "composite (built from other ops)" if op.composite is not None else ""
    return (qualname, target, "function", note)


# ---------------------------------------------------------------------------- coverage

#: what minidiff does with each of NumPy's public functions, given a Tensor that allows grad
COVERAGE_KINDS: dict[str, str] = {
    "differentiated": "differentiated: a minidiff op, gradients of every order",
    "answered by an op": "answered by a minidiff op with no gradient to give (integer, boolean or "
    "piecewise-constant results; creation with `like=`)",
    "passed through": "passed to NumPy, with or without grad: the answer holds no float (indices, counts, "
    "masks, shapes, text)",
    "raises with grad": "passed to NumPy without grad; raise with grad: a float answer minidiff has no "
    "gradient for",
    "not probed": "passed to NumPy without grad; with grad, as the answer decides (the count could not "
    "call them on plain arrays)",
    "not dispatched": "not dispatched: no argument NumPy hands to minidiff (configuration, file readers, "
    "constructors without `like=`); NumPy converts a Tensor itself",
}


def _probe(func: Callable[..., Any]) -> str:
    """Call `func` on small Tensors that allow grad, in a few argument patterns, and say what
    happened: "passed through", "raises with grad", or "not probed" when no pattern suits
    it. A function that takes integers only (`gcd`, `bincount`) passes through: an integer
    Tensor never allows grad."""
    matrix = np.array([[2.0, 0.5, 0.1], [0.5, 1.5, 0.3], [0.1, 0.3, 1.0]])
    a, b = Tensor(matrix, allow_grad=True), Tensor(matrix.T + 0.25, allow_grad=True)
    v, w = Tensor(matrix[0], allow_grad=True), Tensor(matrix[1], allow_grad=True)
    i, j = Tensor(np.array([3, 1, 2])), Tensor(np.array([1, 2, 0]))
    patterns = ((a,), (v,), (a, b), (v, w), (a, 1), (v, 1), (a, v), (io.BytesIO(), a), (i,), (i, j), (i, 1))
    if isinstance(func, np.ufunc):  # no Tensor as out=
        patterns = tuple(args for args in patterns if len(args) == func.nin)
    for args in patterns:
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                result = func(*args)
        except NotDifferentiableError:
            return "raises with grad"
        except Exception:  # noqa: BLE001 (a pattern the function does not take: try the next)
            continue
        if _needs_grad(list(result) if isinstance(result, tuple) else result):
            return "differentiated"
        return "passed through"
    return "not probed"


def coverage() -> dict[str, list[str]]:
    """NumPy's public functions (the callables of `numpy` and `numpy.linalg` that are not
    classes or scalar types) by what minidiff does with a Tensor that allows grad: the keys
    of `COVERAGE_KINDS`, each with its sorted names. Functions without an op are called on
    small Tensors to see whether their answer holds a floating-point value; every op of
    every installed plugin counts (`md.linalg` from minidiff-ops-linalg too).

    >>> counts = {kind: len(names) for kind, names in coverage().items()}
    >>> counts["differentiated"] > 150
    True
    """
    plugins.load()
    kinds: dict[str, list[str]] = {kind: [] for kind in COVERAGE_KINDS}
    for namespace, prefix in ((np, ""), (np.linalg, "linalg.")):
        for attribute in sorted(dir(namespace)):
            func = getattr(namespace, attribute)
            if attribute.startswith("_") or not callable(func) or isinstance(func, type) or attribute == "test":
                continue
            name = prefix + attribute
            kinds[_coverage_kind(name, func)].append(name)
    return kinds


def _coverage_kind(name: str, func: Any) -> str:
    if isinstance(func, np.ufunc):
        name = func.__name__  # np.acos is np.arccos
    target = ALIASES.get(name, name)
    handler = _HANDLERS.get(target)
    if handler is not None:
        return "answered by an op" if handler.note.startswith("not differentiable") else "differentiated"
    if name in QUERIES:
        return "passed through"
    function = _op(name)
    if function is not None and (not isinstance(func, np.ufunc) or func.nout == 1):
        return "differentiated" if function.op.differentiable else "answered by an op"
    if isinstance(func, np.ufunc) or type(func).__name__ == "_ArrayFunctionDispatcher":
        return _probe(func)
    return "not dispatched"


def coverage_markdown() -> list[str]:
    """The coverage figures as lines of docs/numpy-interop.md."""
    kinds = {kind: len(names) for kind, names in coverage().items()}
    total = sum(kinds.values())
    without = kinds["answered by an op"] + kinds["passed through"]
    return [
        "## Coverage of NumPy's functions",
        "",
        f"NumPy {np.__version__.rsplit('.', 1)[0]} has {total} public functions (the callables of `numpy` and "
        f"`numpy.linalg` that are not classes or scalar types). Given Tensors that allow grad, with every "
        f"distribution of this repository installed, minidiff differentiates {kinds['differentiated']}, answers "
        f"{without} without a gradient (there is none to lose), and raises for {kinds['raises with grad']} "
        f"(which NumPy answers for Tensors that need no gradient). `python -m minidiff.interop --coverage` "
        f"counts them for what is installed; `--coverage --list` names them.",
        "",
        "| what minidiff does, given a Tensor that allows grad | functions |",
        "| --- | --- |",
        *(f"| {COVERAGE_KINDS[kind]} | {count} |" for kind, count in kinds.items()),
    ]


_SECTIONS = (
    ("ufunc", "Ufuncs (elementwise, differentiable)"),
    ("function", "Functions (differentiable)"),
    ("not differentiable", "Not differentiable (integer, boolean or piecewise-constant results: no gradient to lose)"),
    ("query", "Queries (answered on the values: shapes, dtypes, indices, comparisons)"),
)


def markdown() -> str:
    """docs/numpy-interop.md: the supported NumPy functions, generated from the registry."""
    rows = supported()
    lines = [
        "# NumPy functions on minidiff Tensors",
        "",
        "<!-- Generated by `python -m minidiff.interop --markdown` from the op registry; do not edit. -->",
        "",
        "Call these NumPy functions with minidiff Tensors and you get minidiff Tensors back, with gradients:",
        "`np.sum(np.sin(x) * x)` is differentiable in `x`. Every other NumPy function is answered by NumPy on",
        "the values and returns what NumPy returns (NumPy arrays, not Tensors) whenever no gradient is lost:",
        "when no argument allows grad or inside `md.no_grad()` (`np.histogram(t)`, `np.save(path, t)`,",
        "`np.unique(t)`), and whenever the answer holds no floating-point value (`np.argsort(x)`,",
        "`np.isclose(x, y)`, `np.count_nonzero(x)`: indices, counts, masks, shapes, text). Only a",
        "floating-point answer that would need a gradient minidiff cannot give raises a `TypeError`",
        "(`minidiff.interop.NotDifferentiableError`) naming the function: minidiff never drops a gradient",
        "silently. A function that writes into a Tensor argument (`np.copyto(t, a)`, `np.fill_diagonal(t, 0)`)",
        "changes it as `t[...] = ...` does. `np.asarray(t)` gives the",
        "plain values. Writing into `t.data`, or into `np.asarray(t)` or `t.numpy()` on the NumPy backend",
        "(there they are the tensor's own memory), bypasses the check that makes `backward()` raise after an",
        "in-place change to a tensor a graph saved: use `np.array(t)` (a copy) to work on the values.",
        "`numpy.linalg.X` maps to `md.linalg.X` whenever an installed op pack registers it",
        "(the `minidiff-ops-linalg` distribution), and any op a plugin registers under a NumPy name is",
        "reachable from NumPy the same way. See `minidiff.interop` for `out=` and `where=`.",
        "",
        f"{len(rows)} NumPy functions, from minidiff's built-in op families, are listed below.",
        "",
        *coverage_markdown(),
    ]
    for kind, title in _SECTIONS:
        selected = [row for row in rows if row[2] == kind]
        if not selected:
            continue
        lines += ["", f"## {title}", "", "| NumPy | minidiff | notes |", "| --- | --- | --- |"]
        lines += [f"| `numpy.{name}` | `{target}` | {note} |".replace("`answered on the values`", "answered on the values")
                  for name, target, _, note in selected]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minidiff.interop", description=__doc__.split("\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print docs/numpy-interop.md")
    parser.add_argument(
        "--coverage", action="store_true", help="count NumPy's public functions by what minidiff does with them"
    )
    parser.add_argument("--list", action="store_true", help="with --coverage: name the functions of each kind")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(), end="")
        return 0
    if args.coverage:
        kinds = coverage()
        print(f"NumPy {np.__version__}: {sum(map(len, kinds.values()))} public functions of numpy and numpy.linalg")
        for kind, names in kinds.items():
            print(f"{len(names):5}  {kind}: {COVERAGE_KINDS[kind].removeprefix(kind + ': ')}")
            if args.list:
                print("       " + " ".join(names))
        return 0
    for name, target, kind, _ in supported():
        print(f"numpy.{name:24} {target:28} {kind}")
    return 0


if __name__ == "__main__":
    # run as `python -m`, this file is `__main__`, a second copy of the module: the one Tensors
    # call (and whose NotDifferentiableError they raise) is minidiff.interop
    from minidiff import interop

    raise SystemExit(interop.main())
