"""The MLX backend's `xp`: `mlx.core` spoken with NumPy's names, dtypes and rules.

minidiff's ops are written against a NumPy-like namespace. `mlx.core` is close, and where
it agrees with NumPy its functions are used as they are (`xp.sin` is `mlx.core.sin`, reached
through this module's `__getattr__`). This module defines what differs:

- dtypes: every function takes NumPy dtypes (`np.float32`, `float`, `"int64"`) as well as
  MLX's own; MLX has no complex128 and no float64 on its GPU, so asking for either raises a
  TypeError. bfloat16, which NumPy cannot name, is refused too.
- defaults: new floating arrays are float32 (MLX's default float, the backend's); Python
  ints become int64, as in NumPy (MLX would pick int32). Sums of booleans and small ints
  accumulate in int64, and argmax/argmin return int64, as in NumPy.
- names MLX lacks (`exp2`, `cbrt`, `rint`, `mod`, `hypot`, `invert`, `dot`, `full_like`)
  and signatures it takes narrower (`repeat` with per-element counts, `moveaxis` with
  several axes, `pad` modes, `tensordot` axes) are written here from MLX primitives.
- indexing: MLX indexes with its own integer arrays only, has no boolean masks and checks
  no bounds (an out-of-range index reads stray memory). `getitem`, `scatter_add` and
  `take_along_axis` here move host index arrays to MLX, turn a boolean mask into the integer
  arrays of its `nonzero()` (on the host: the same selection, by NumPy's definition of mask
  indexing) and raise NumPy's IndexError for an index out of bounds.
- float64 accuracy: on the CPU, MLX 0.32 computes float64 `exp`, `sin`, `cos` and
  `logaddexp` through single-precision approximations (relative errors up to 1e-3 for cos
  near its zeros). Each function is probed once; where MLX is not float64-accurate, float64
  inputs are computed with NumPy on the host (float32 inputs stay on MLX).
- `xp.linalg` runs NumPy's linear algebra on the host CPU, where MLX would run its own (its
  only stream for it), because MLX's departs from NumPy (see `_Linalg`).
"""

from __future__ import annotations

import builtins
import math
import operator
from typing import Any, Callable

import mlx.core as mx
import numpy as np

from minidiff.ops._axes import normalize_axis, pad_widths

# ------------------------------------------------------------------------------ dtypes

_MLX_OF_NUMPY: dict[np.dtype, Any] = {
    np.dtype(np.bool_): mx.bool_,
    np.dtype(np.int8): mx.int8,
    np.dtype(np.int16): mx.int16,
    np.dtype(np.int32): mx.int32,
    np.dtype(np.int64): mx.int64,
    np.dtype(np.uint8): mx.uint8,
    np.dtype(np.uint16): mx.uint16,
    np.dtype(np.uint32): mx.uint32,
    np.dtype(np.uint64): mx.uint64,
    np.dtype(np.float16): mx.float16,
    np.dtype(np.float32): mx.float32,
    np.dtype(np.float64): mx.float64,
    np.dtype(np.complex64): mx.complex64,
}
_NUMPY_OF_MLX = {theirs: ours for ours, theirs in _MLX_OF_NUMPY.items()}

#: dtype of new floating arrays when none is given
DEFAULT_FLOAT = mx.float32
DEFAULT_INT = mx.int64

#: set by the backend: whether its device computes in float64 (MLX's CPU does, its GPU not)
float64_supported = mx.default_device() == mx.cpu


def mlx_dtype(dtype: Any) -> Any:
    """The MLX dtype for `dtype` (a NumPy dtype, a Python type, a name or an MLX dtype);
    None stays None. Raises TypeError for a dtype MLX (or this device) cannot hold."""
    if dtype is None:
        return None
    if isinstance(dtype, mx.Dtype):
        found = dtype if dtype in _NUMPY_OF_MLX else None
        name = str(dtype).rsplit(".", 1)[-1]
    else:
        try:
            numpy_dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"{dtype!r} is not a dtype") from None
        found = _MLX_OF_NUMPY.get(numpy_dtype)
        name = str(numpy_dtype)
    if found is None:
        raise TypeError(
            f"the MLX backend has no {name} dtype; it holds bool, (u)int8-64, float16, float32, "
            f"float64 (on the CPU) and complex64"
        )
    if found == mx.float64 and not float64_supported:
        raise TypeError(
            f"MLX has no float64 on {mx.default_device()}: use float32 (dtype=np.float32, or "
            f".astype(np.float32) first), or run MLX on the CPU (mx.set_default_device(mx.cpu) "
            f"before minidiff first uses the backend)"
        )
    return found


def numpy_dtype(dtype: Any) -> np.dtype:
    """The NumPy dtype for an MLX dtype (or a NumPy one, returned as it is)."""
    found = _NUMPY_OF_MLX.get(dtype)
    if found is not None:
        return found
    if isinstance(dtype, mx.Dtype):
        raise TypeError(f"{dtype} has no NumPy dtype; cast to float32 first")
    return np.dtype(dtype)


def _python_default(host: np.dtype) -> Any:
    """MLX dtype of Python data (a list or a number) that NumPy read as `host`."""
    if host.kind == "f":
        return DEFAULT_FLOAT
    if host.kind == "c":
        return mx.complex64
    return mlx_dtype(host)


def _dtype_or(dtype: Any, default: Any) -> Any:
    return default if dtype is None else mlx_dtype(dtype)


def result_type(*arrays_and_dtypes: Any) -> Any:
    """NumPy's promotion of the arguments' dtypes, as an MLX dtype."""
    hosts = [numpy_dtype(a.dtype) if isinstance(a, mx.array) else a for a in arrays_and_dtypes]
    hosts = [numpy_dtype(h) if isinstance(h, mx.Dtype) else h for h in hosts]
    return mlx_dtype(np.result_type(*hosts))


def astype(x: Any, dtype: Any) -> Any:
    """`x` cast to `dtype`: a new array, as NumPy's `astype` gives, even for the same dtype."""
    return x.astype(mlx_dtype(dtype))


# ------------------------------------------------------------------------------ arrays from data


def asarray(obj: Any, dtype: Any = None) -> Any:
    """An MLX array of `obj`: an MLX array as it is (cast if `dtype` says so); a NumPy array
    with its own dtype (float64 stays float64); Python numbers and lists with the backend's
    defaults (float32, int64)."""
    if isinstance(obj, mx.array):
        return obj if dtype is None else astype(obj, dtype)
    host = np.asarray(obj)
    if dtype is not None:
        target = mlx_dtype(dtype)
    elif isinstance(obj, (np.ndarray, np.generic)):
        target = mlx_dtype(host.dtype)
    else:
        target = _python_default(host.dtype)
    # a copy of the host memory; MLX takes no negative strides, so those are copied first
    return mx.array(host if host.flags.c_contiguous else np.ascontiguousarray(host), dtype=target)


def array(obj: Any, dtype: Any = None) -> Any:
    """Like `asarray`, but always a new array (an MLX array is copied too)."""
    if isinstance(obj, mx.array):
        return mx.array(obj, dtype=_dtype_or(dtype, obj.dtype))
    return asarray(obj, dtype)


def to_numpy(x: Any) -> np.ndarray:
    """A NumPy copy of `x`, evaluating it first. A copy, because `np.asarray` of an MLX array
    is a writable view of MLX's buffer, which other MLX arrays may share."""
    return np.array(x, copy=True)


# ------------------------------------------------------------------------------ creation


def _shape(shape: Any) -> tuple[int, ...]:
    try:
        return (operator.index(shape),)
    except TypeError:
        return tuple(operator.index(n) for n in shape)


def _fill_dtype(value: Any) -> Any:
    if isinstance(value, mx.array):
        return value.dtype
    if isinstance(value, (np.ndarray, np.generic)):
        return mlx_dtype(value.dtype)
    return _python_default(np.asarray(value).dtype)


def zeros(shape: Any, dtype: Any = None) -> Any:
    return mx.zeros(_shape(shape), dtype=_dtype_or(dtype, DEFAULT_FLOAT))


def ones(shape: Any, dtype: Any = None) -> Any:
    return mx.ones(_shape(shape), dtype=_dtype_or(dtype, DEFAULT_FLOAT))


empty = zeros


def full(shape: Any, fill_value: Any, dtype: Any = None) -> Any:
    target = _dtype_or(dtype, None) or _fill_dtype(fill_value)
    if isinstance(fill_value, np.ndarray):
        fill_value = asarray(fill_value)
    return mx.full(_shape(shape), fill_value, dtype=target)


def zeros_like(x: Any, dtype: Any = None) -> Any:
    return mx.zeros(x.shape, dtype=_dtype_or(dtype, x.dtype))


def ones_like(x: Any, dtype: Any = None) -> Any:
    return mx.ones(x.shape, dtype=_dtype_or(dtype, x.dtype))


empty_like = zeros_like


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> Any:
    return full(x.shape, fill_value, dtype=_dtype_or(dtype, x.dtype))


def arange(*args: Any, dtype: Any = None) -> Any:
    if dtype is None:
        dtype = DEFAULT_FLOAT if any(isinstance(a, (float, np.floating)) for a in args) else DEFAULT_INT
    return mx.arange(*args, dtype=mlx_dtype(dtype))


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None) -> Any:
    target = _dtype_or(dtype, DEFAULT_FLOAT)
    if mx.issubdtype(target, mx.floating):
        return mx.linspace(start, stop, num, endpoint=endpoint, dtype=target)
    # NumPy computes in floating point and rounds toward -inf for an integer dtype
    wide = mx.float64 if float64_supported else mx.float32
    return mx.floor(mx.linspace(start, stop, num, endpoint=endpoint, dtype=wide)).astype(target)


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Any:
    return mx.eye(N, M, k=k, dtype=_dtype_or(dtype, DEFAULT_FLOAT))


def identity(n: int, dtype: Any = None) -> Any:
    return eye(n, dtype=dtype)


# ------------------------------------------------------------------------------ elementwise


def _probe_float64(name: str, nargs: int) -> bool:
    """Whether MLX computes `name` to float64 accuracy on the CPU."""
    if not float64_supported:
        return True  # no float64 arrays can exist
    x = np.linspace(-3.0, 3.0, 49)
    args = [x, x[::-1].copy()][:nargs]
    expected = getattr(np, name)(*args)
    got = np.array(getattr(mx, name)(*[mx.array(a, dtype=mx.float64) for a in args], stream=mx.cpu))
    return bool(np.allclose(got, expected, rtol=1e-13, atol=1e-15))


def _float64_on_host(name: str, nargs: int) -> Callable[..., Any]:
    native, host = getattr(mx, name), getattr(np, name)
    if _probe_float64(name, nargs):
        return native

    def function(*args: Any) -> Any:
        if any(isinstance(a, mx.array) and a.dtype == mx.float64 for a in args):
            values = host(*[to_numpy(a) if isinstance(a, mx.array) else a for a in args])
            return mx.array(values, dtype=mlx_dtype(values.dtype))
        return native(*args)

    function.__name__ = name
    function.__doc__ = f"`{name}`: MLX's, but float64 inputs on the host (MLX's float64 {name} is not float64-accurate)."
    return function


exp = _float64_on_host("exp", 1)
sin = _float64_on_host("sin", 1)
cos = _float64_on_host("cos", 1)
logaddexp = _float64_on_host("logaddexp", 2)
mod = mx.remainder  # NumPy's mod: the remainder with the sign of the divisor
rint = mx.round  # both round halves to even
invert = mx.bitwise_invert


def sign(x: Any) -> Any:
    """NumPy's sign: NaN stays NaN (MLX's sign gives 0)."""
    out = mx.sign(x)
    return mx.where(mx.isnan(x), x, out) if mx.issubdtype(x.dtype, mx.inexact) else out


def expm1(x: Any) -> Any:
    """MLX's expm1 refuses complex64; exp(x) - 1 is its definition there."""
    return mx.exp(x) - 1 if x.dtype == mx.complex64 else mx.expm1(x)


def exp2(x: Any) -> Any:
    return mx.power(2.0, x)


def cbrt(x: Any) -> Any:
    return mx.sign(x) * mx.power(mx.abs(x), 1.0 / 3.0)


def hypot(x: Any, y: Any) -> Any:
    """sqrt(x² + y²) without overflow or underflow: the larger magnitude is factored out."""
    x, y = mx.abs(asarray(x)), mx.abs(asarray(y))
    big, small = mx.maximum(x, y), mx.minimum(x, y)
    safe = mx.where(big == 0, 1, big)
    out = big * mx.sqrt(1 + (small / safe) ** 2)
    return mx.where(mx.isinf(big), big, out)


# ------------------------------------------------------------------------------ reductions


def _accumulator(x: Any) -> Any:
    """`x` widened as NumPy widens before summing: bools and small ints to 64 bits."""
    if x.dtype == mx.bool_ or x.dtype in (mx.int8, mx.int16, mx.int32):
        return x.astype(mx.int64)
    if x.dtype in (mx.uint8, mx.uint16, mx.uint32):
        return x.astype(mx.uint64)
    return x


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001 (NumPy's name)
    return mx.sum(_accumulator(x), axis=axis, keepdims=keepdims)


def prod(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return mx.prod(_accumulator(x), axis=axis, keepdims=keepdims)


def cumsum(x: Any, axis: int | None = None) -> Any:
    return mx.cumsum(_accumulator(x), axis=axis)


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
    return mx.argmax(x, axis=axis, keepdims=keepdims).astype(DEFAULT_INT)


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
    return mx.argmin(x, axis=axis, keepdims=keepdims).astype(DEFAULT_INT)


# ------------------------------------------------------------------------------ shapes


def reshape(x: Any, shape: Any) -> Any:
    return mx.reshape(x, _shape(shape))


def tile(x: Any, reps: Any) -> Any:
    return mx.tile(x, _shape(reps))  # MLX takes `reps` positionally only


def broadcast_to(x: Any, shape: Any) -> Any:
    return mx.broadcast_to(x, _shape(shape))


def moveaxis(x: Any, source: Any, destination: Any) -> Any:
    """NumPy's moveaxis, with one axis or several."""
    source = [normalize_axis(a, x.ndim) for a in (source if isinstance(source, (tuple, list)) else (source,))]
    destination = [
        normalize_axis(a, x.ndim) for a in (destination if isinstance(destination, (tuple, list)) else (destination,))
    ]
    if len(source) != len(destination):
        raise ValueError("`source` and `destination` arguments must have the same number of elements")
    order = [n for n in range(x.ndim) if n not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return mx.transpose(x, order)


def repeat(x: Any, repeats: Any, axis: int | None = None) -> Any:
    """NumPy's repeat: one count for every element, or one count per element."""
    counts = to_numpy(repeats) if isinstance(repeats, mx.array) else np.asarray(repeats)
    if counts.size == 1:
        count = int(counts.reshape(-1)[0])
        if count < 0:
            raise ValueError("repeat: negative dimensions are not allowed")
        return mx.repeat(x, count, axis=axis)
    source = mx.reshape(x, (-1,)) if axis is None else x
    along = 0 if axis is None else normalize_axis(axis, x.ndim)
    # which element each copy reads, worked out on the host (NumPy checks the counts)
    picks = np.repeat(np.arange(source.shape[along]), counts)
    return mx.take(source, mx.array(picks), axis=along)


# Modes whose padded values copy input elements: padding arange(n) the same way says which.
_COPYING_PAD_MODES = ("edge", "reflect", "symmetric", "wrap")


def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = 0) -> Any:
    """NumPy's pad for modes constant, edge, reflect, symmetric and wrap."""
    widths = pad_widths(pad_width, x.ndim)
    if mode == "constant":
        values = np.broadcast_to(np.asarray(constant_values), (x.ndim, 2))
        if np.all(values == values.flat[0]):
            return mx.pad(x, list(widths), mode="constant", constant_values=values.flat[0].item())
        # one constant per side and axis: pad axis by axis, as NumPy does (corners take the later axis')
        for axis, ((before, after), (low, high)) in enumerate(zip(widths, values)):
            shape = list(x.shape)
            parts = []
            if before:
                parts.append(mx.full(shape[:axis] + [before] + shape[axis + 1 :], low.item(), dtype=x.dtype))
            parts.append(x)
            if after:
                parts.append(mx.full(shape[:axis] + [after] + shape[axis + 1 :], high.item(), dtype=x.dtype))
            x = mx.concatenate(parts, axis=axis)
        return x
    if mode in _COPYING_PAD_MODES:
        for axis, (width, n) in enumerate(zip(widths, x.shape)):
            if width != (0, 0):
                x = mx.take(x, mx.array(np.pad(np.arange(n), width, mode=mode)), axis=axis)
        return x
    raise NotImplementedError(
        f"pad: mode={mode!r} is not available on the MLX backend; it has 'constant', "
        f"{', '.join(repr(m) for m in _COPYING_PAD_MODES)}"
    )


# ------------------------------------------------------------------------------ indexing


def _check_bounds(indices: Any, n: int, axis: int) -> None:
    """NumPy's IndexError for an index outside [-n, n): MLX would read stray memory."""
    if isinstance(indices, mx.array):
        wide = indices.astype(mx.int64)  # unsigned indices compared with -n would wrap around
        if indices.size and mx.any((wide < -n) | (wide >= n)).item():
            bad = to_numpy(wide)
            indices = bad[(bad < -n) | (bad >= n)][0]
        else:
            return
    elif isinstance(indices, np.ndarray):
        wide = indices.astype(np.int64)
        outside = wide[(wide < -n) | (wide >= n)]
        if not outside.size:
            return
        indices = outside[0]
    elif -n <= indices < n:
        return
    raise IndexError(f"index {int(indices)} is out of bounds for axis {axis} with size {n}")


def _index(key: Any, shape: tuple[int, ...]) -> Any:
    """`key` as MLX takes it: integer index arrays on MLX, boolean masks as the integer arrays
    of their `nonzero()`, every index checked against `shape`."""
    parts = key if isinstance(key, tuple) else (key,)
    converted: list[Any] = []
    spans: list[int] = []  # how many axes each converted part indexes
    for part in parts:
        if part is None or part is Ellipsis or isinstance(part, slice):
            converted.append(part)
            spans.append(0 if part is None or part is Ellipsis else 1)
            continue
        if isinstance(part, (bool, np.bool_)):
            raise IndexError("the MLX backend takes no Python bool as an index; use None to add an axis")
        if isinstance(part, (int, np.integer)):
            converted.append(int(part))
            spans.append(1)
            continue
        if isinstance(part, mx.array) and part.dtype != mx.bool_:
            host = None
            kind = "i" if mx.issubdtype(part.dtype, mx.integer) else "f"
        else:
            host = to_numpy(part) if isinstance(part, mx.array) else np.asarray(part)
            if host.size == 0 and host.dtype.kind == "f":  # x[[]] selects nothing
                host = host.astype(np.intp)
            kind = host.dtype.kind
        if kind == "b":
            if host.ndim == 0:
                raise IndexError("the MLX backend takes no 0-d boolean index")
            # x[mask] is x[mask.nonzero()] (NumPy's definition), so this is the same selection
            converted.append(("mask", host))
            spans.append(host.ndim)
        elif kind in "iu":
            converted.append(part if host is None else host)
            spans.append(1)
        else:
            raise IndexError(
                "only integers, slices (`:`), ellipsis (`...`), None and integer or boolean arrays are valid indices"
            )
    if builtins.sum(1 for p in converted if p is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = builtins.sum(spans)
    if consumed > len(shape):
        raise IndexError(
            f"too many indices for array: array is {len(shape)}-dimensional, but {consumed} were indexed"
        )
    out: list[Any] = []
    axis = 0
    for part, span in zip(converted, spans):
        if part is Ellipsis:
            axis += len(shape) - consumed
            out.append(part)
        elif isinstance(part, tuple):
            mask = part[1]
            expected = shape[axis : axis + span]
            if mask.shape != expected:
                raise IndexError(
                    f"boolean index did not match indexed array along axis {axis}; size of axis is "
                    f"{expected} but size of corresponding boolean index is {mask.shape}"
                )
            out.extend(mx.array(i) for i in np.nonzero(mask))
            axis += span
        elif part is None or isinstance(part, slice):
            out.append(part)
            axis += span
        else:
            _check_bounds(part, shape[axis], axis)
            out.append(mx.array(part) if isinstance(part, np.ndarray) else part)
            axis += 1
    return tuple(out) if isinstance(key, tuple) or len(out) != 1 else out[0]



def _has_newaxis(key: Any) -> bool:
    return any(k is None for k in (key if isinstance(key, tuple) else (key,)))


def _positions(key: Any, shape: tuple[int, ...]) -> Any:
    """The flat position in an array of `shape` of each element `[key]` selects, worked out
    by NumPy on the host: exact for any key, at the cost of one int64 per element."""
    parts = key if isinstance(key, tuple) else (key,)
    host = tuple(to_numpy(k) if isinstance(k, mx.array) else k for k in parts)
    flat = np.arange(math.prod(shape)).reshape(shape)
    # contiguous: a reversing slice gives negative strides, which MLX cannot take in
    return np.ascontiguousarray(flat[host if isinstance(key, tuple) else host[0]])


def getitem(x: Any, key: Any) -> Any:
    """`x[key]` with NumPy's basic and advanced indexing."""
    parts = key if isinstance(key, tuple) else (key,)
    if _has_newaxis(key) and not all(k is None or k is Ellipsis or isinstance(k, (slice, int)) for k in parts):
        # None among advanced indices moves axes by NumPy's rules: take the positions NumPy picks
        return mx.take(mx.reshape(x, (-1,)), mx.array(_positions(key, x.shape)))
    return x[_index(key, x.shape)]


def scatter_add(values: Any, shape: Any, key: Any) -> Any:
    """Zeros of `shape` with `values` added at `[key]`, repeated indices accumulating."""
    shape = _shape(shape)
    if _has_newaxis(key):
        # MLX's `.at[...]` does not insert None's axes: scatter by flat position instead
        positions = _positions(key, shape)
        flat_values = mx.reshape(mx.broadcast_to(values, positions.shape), (-1,))
        flat = mx.zeros((math.prod(shape),), dtype=values.dtype).at[mx.array(positions.reshape(-1))].add(flat_values)
        return mx.reshape(flat, shape)
    return mx.zeros(shape, dtype=values.dtype).at[_index(key, shape)].add(values)


def setitem(target: Any, key: Any, value: Any) -> None:
    """`target[key] = value` in place, with NumPy's indexing and bounds checks."""
    if isinstance(value, np.ndarray):
        value = asarray(value)
    if _has_newaxis(key):  # MLX's setitem does not insert None's axes: assign by flat position
        positions = _positions(key, target.shape)
        flat = mx.reshape(target, (-1,))
        flat[mx.array(positions.reshape(-1))] = mx.reshape(mx.broadcast_to(value, positions.shape), (-1,))
        target[...] = mx.reshape(flat, target.shape)
        return
    target[_index(key, target.shape)] = value


def add_at(target: Any, key: Any, values: Any) -> None:
    """`target[key] += values` in place, repeated indices accumulating (NumPy's `add.at`)."""
    target[...] = scatter_add(values, target.shape, key) + target


def take_along_axis(x: Any, indices: Any, axis: int | None = -1) -> Any:
    n = x.size if axis is None else x.shape[normalize_axis(axis, x.ndim)]
    _check_bounds(indices, n, 0 if axis is None else axis)
    return mx.take_along_axis(x, indices, axis=axis)


def take(x: Any, indices: Any, axis: int | None = None) -> Any:
    indices = asarray(indices)
    _check_bounds(indices, x.size if axis is None else x.shape[normalize_axis(axis, x.ndim)], axis or 0)
    return mx.take(x, indices, axis=axis)


# ------------------------------------------------------------------------------ products


def _axis_list(axes: Any) -> list[int]:
    try:
        return [operator.index(axes)]
    except TypeError:
        return [operator.index(a) for a in axes]


def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    if isinstance(axes, (tuple, list)):
        axes_a, axes_b = (_axis_list(side) for side in axes)
        if len(axes_a) != len(axes_b):
            raise ValueError("shape-mismatch for sum: tensordot needs as many axes of a as of b")
        if not axes_a:
            return mx.tensordot(a, b, axes=0)
        return mx.tensordot(a, b, axes=[axes_a, axes_b])
    return mx.tensordot(a, b, axes=max(operator.index(axes), 0))  # NumPy reads a negative count as 0


def dot(a: Any, b: Any) -> Any:
    """NumPy's dot: a multiply when either is 0-d, else a sum over a's last axis and b's
    second-to-last (its only one when 1-D)."""
    if a.ndim == 0 or b.ndim == 0:
        return mx.multiply(a, b)
    return tensordot(a, b, axes=([a.ndim - 1], [max(b.ndim - 2, 0)]))


# ------------------------------------------------------------------------------ linalg


class _Linalg:
    """`xp.linalg`: NumPy's linear algebra, run on the host CPU with MLX arrays in and out.

    MLX runs linear algebra only on its CPU stream, and there it departs from NumPy: a
    Cholesky factorization of a matrix that is not positive definite returns garbage
    instead of raising, a singular matrix raises RuntimeError rather than LinAlgError,
    `solve` does not broadcast a matrix against a stack, and eigenvectors come with other
    signs. So the MLX backend runs NumPy's LAPACK routines on the same processor, which
    keeps NumPy's semantics, errors and dtypes (float32 stays float32).
    """

    LinAlgError = np.linalg.LinAlgError

    def __getattr__(self, name: str) -> Any:
        host = getattr(np.linalg, name)

        def on_host(*args: Any, **kwargs: Any) -> Any:
            args = tuple(to_numpy(a) if isinstance(a, mx.array) else a for a in args)
            kwargs = {k: to_numpy(v) if isinstance(v, mx.array) else v for k, v in kwargs.items()}
            return _from_host(host(*args, **kwargs))

        on_host.__name__ = name
        on_host.__doc__ = host.__doc__
        return on_host


def _from_host(result: Any) -> Any:
    if isinstance(result, tuple):  # eigh, svd, qr, slogdet results
        return tuple(_from_host(r) for r in result)
    return asarray(result if isinstance(result, (np.ndarray, np.generic)) else np.asarray(result))


linalg = _Linalg()


# ------------------------------------------------------------------------------ the rest


def issubdtype(dtype: Any, category: Any) -> bool:
    """Whether `dtype` (NumPy's or MLX's) is in `category` (NumPy's, such as `np.floating`,
    or MLX's, such as `mx.floating`)."""
    if isinstance(category, type):
        return bool(np.issubdtype(numpy_dtype(dtype), category))
    return bool(mx.issubdtype(mlx_dtype(dtype), category))


pi, e, inf, nan, newaxis = math.pi, math.e, math.inf, math.nan, None


_passed_through: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    # Everything else is mlx.core's own function, with a `dtype=` keyword translated. (Kept
    # out of globals(): `any`, `all` and friends would shadow the builtins this module uses.)
    found = _passed_through.get(name)
    if found is not None:
        return found
    native = getattr(mx, name)
    if not callable(native) or isinstance(native, type):
        return native

    def function(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("dtype") is not None:
            kwargs["dtype"] = mlx_dtype(kwargs["dtype"])
        return native(*args, **kwargs)

    function.__name__ = name
    function.__doc__ = native.__doc__
    _passed_through[name] = function
    return function
