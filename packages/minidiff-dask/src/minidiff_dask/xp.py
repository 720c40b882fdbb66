"""The Dask backend's `xp`: `dask.array` spoken with NumPy's names, lazily wherever Dask can.

minidiff's ops are written against a NumPy-like namespace; `dask.array` is one, and where it
has a function, that function is used as it is (`xp.sin` is `dask.array.sin`, reached through
this module's `__getattr__`). What differs is written here:

- results are `Array`s: dask arrays that also have NumPy's `item()` (which computes), since
  minidiff reads single values with it (`t.item()`, `bool(t)`, a rule that tests a value);
- functions Dask lacks but can do lazily with a whole axis in one chunk (`sort`, `argsort`,
  `take_along_axis`, ...) are written with `map_blocks`, keeping every other axis chunked;
- `xp.linalg` runs NumPy's LAPACK on each matrix of a stack, lazily (`minidiff_dask.linalg`);
- a result whose shape depends on values (`x[mask]`, `argwhere`) has its chunk
  sizes computed at once, with a `DaskComputeWarning`: minidiff needs every tensor's shape;
- a NumPy function with no Dask version computes its inputs, runs NumPy on them and wraps
  the result, with a `DaskComputeWarning` naming it: correct, but not lazy.
"""

from __future__ import annotations

import functools
import math
import operator
import warnings
from collections import OrderedDict
from types import ModuleType
from typing import Any, Callable

import dask.array as da
import numpy as np

from minidiff_dask.settings import DaskComputeWarning, current_chunks

# ------------------------------------------------------------------------------ arrays


class Array(da.Array):
    """A dask array with NumPy's `item()`, which computes; operators keep the class.

    >>> from minidiff_dask import xp
    >>> x = xp.asarray([1.0, 2.0, 3.0])
    >>> (xp.sum(x) > 5).item()
    True
    """

    __slots__ = ()

    def item(self, *args: Any) -> Any:
        from minidiff_dask.scheduler import compute

        (value,) = compute(self)
        return np.asarray(value).item(*args)


def _keeps_class(name: str) -> Callable[..., Any]:
    method = getattr(da.Array, name)

    def wrapped(self: Array, *args: Any) -> Any:
        return wrap(method(self, *args))

    wrapped.__name__ = name
    return wrapped


# Python operators on an Array give an Array, so `(x.data == 0).item()` works as on NumPy.
for _name in (
    "__abs__", "__add__", "__and__", "__eq__", "__floordiv__", "__ge__", "__getitem__", "__gt__", "__invert__",
    "__le__", "__lshift__", "__lt__", "__matmul__", "__mod__", "__mul__", "__ne__", "__neg__", "__or__", "__pos__",
    "__pow__", "__radd__", "__rand__", "__rfloordiv__", "__rlshift__", "__rmatmul__", "__rmod__", "__rmul__",
    "__ror__", "__rpow__", "__rrshift__", "__rshift__", "__rsub__", "__rtruediv__", "__rxor__", "__sub__",
    "__truediv__", "__xor__",
):
    setattr(Array, _name, _keeps_class(_name))


#: The chunks of the last few arrays of each shape that was split in several chunks. An array
#: `broadcast_to` makes takes them when its shape is one of these: the engine broadcasts a
#: gradient back to its operand's shape, and a tall operand's gradient then lines up with the
#: operand chunk by chunk (on the worker that holds each chunk) instead of arriving in one piece.
_recent_chunks: OrderedDict[tuple[int, ...], tuple[tuple[int, ...], ...]] = OrderedDict()
_RECENT = 32


def _remember_chunks(x: Array) -> None:
    if x.npartitions > 1:
        _recent_chunks[x.shape] = x.chunks
        _recent_chunks.move_to_end(x.shape)
        if len(_recent_chunks) > _RECENT:
            _recent_chunks.popitem(last=False)


def wrap(value: Any, what: str = "") -> Any:
    """`value` with every dask array in it an `Array`, its shape known (see `known_shape`)."""
    if isinstance(value, da.Array):
        if type(value) is not Array:
            value = Array(value.dask, value.name, value.chunks, meta=value._meta)
        value = known_shape(value, what)
        _remember_chunks(value)
        return value
    if type(value) is tuple or type(value) is list:
        return type(value)(wrap(item, what) for item in value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # NumPy's named results (SlogdetResult)
        return type(value)(*(wrap(item, what) for item in value))
    return value


def known_shape(x: Array, what: str = "") -> Array:
    """`x`, with its chunk sizes computed (in place) if they depend on values: every tensor has
    a shape in minidiff. Warns with `DaskComputeWarning`, since this computes `x`'s graph."""
    if all(math.isfinite(n) for n in x.shape):
        return x
    warnings.warn(
        f"{what or 'an op'} on the dask backend: the result's shape depends on the values, so its chunk sizes "
        f"were computed now (boolean masks and argwhere are not lazy on Dask)",
        DaskComputeWarning,
        stacklevel=4,
    )
    x.compute_chunk_sizes()
    return x


def from_host(host: Any, dtype: Any = None, chunks: Any = None) -> Array:
    """A NumPy array (or list, or number) as a dask array, chunked by `chunks` (else the current
    `minidiff_dask.chunks` setting). Does not copy: `Backend.from_host` and `array` do."""
    host = np.asarray(host, dtype=dtype)
    spec = current_chunks() if chunks is None else chunks
    return wrap(da.from_array(host, chunks=spec if host.ndim else ()))


def asarray(obj: Any, dtype: Any = None, chunks: Any = None) -> Array:
    """`obj` as a dask array: a dask array as it is (cast to `dtype`, rechunked to `chunks`),
    anything else through the host. `copy` is not a concern: dask arrays are values."""
    if isinstance(obj, da.Array):
        if dtype is not None and np.dtype(dtype) != obj.dtype:
            obj = obj.astype(dtype)
        if chunks is not None:
            obj = obj.rechunk(chunks)
        return wrap(obj, "asarray")
    return from_host(obj, dtype, chunks)


def array(obj: Any, dtype: Any = None, chunks: Any = None) -> Array:
    """A new dask array holding `obj`'s values: host data is copied first, so changing it later
    changes nothing; a dask array gives a new array object (`setitem` replaces an array's
    graph in place, so two tensors must not share one object)."""
    if isinstance(obj, da.Array):
        result = asarray(obj, dtype, chunks)
        return result if result is not obj else Array(obj.dask, obj.name, obj.chunks, meta=obj._meta)
    return from_host(np.array(obj, dtype=dtype), None, chunks)


def astype(x: Any, dtype: Any) -> Array:
    return wrap(asarray(x).astype(dtype))


# ------------------------------------------------------------------------------ host computing


def computed(*arrays: Any) -> list[Any]:
    """The values of `arrays` (dask arrays computed together, anything else as it is)."""
    from minidiff_dask.scheduler import compute

    lazy = [a for a in arrays if isinstance(a, da.Array)]
    values = iter(compute(*lazy)) if lazy else iter(())
    return [np.asarray(next(values)) if isinstance(a, da.Array) else a for a in arrays]


def _on_host(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """NumPy's `function` on computed inputs, its array results back on Dask (with a warning)."""

    def on_host(*args: Any, **kwargs: Any) -> Any:
        lazy = [a for a in (*args, *kwargs.values()) if isinstance(a, da.Array)]
        if lazy:
            shapes = ", ".join(str(a.shape) for a in lazy)
            warnings.warn(
                f"{name} has no lazy Dask version: its inputs ({shapes}) were computed and NumPy's {name} ran here",
                DaskComputeWarning,
                stacklevel=3,
            )
        values = computed(*args, *kwargs.values())
        host_args, host_kwargs = values[: len(args)], dict(zip(kwargs, values[len(args):]))
        return _to_dask(function(*host_args, **host_kwargs))

    on_host.__name__ = name
    on_host.__doc__ = f"NumPy's `{name}` on computed inputs (Dask has none)."
    return on_host


def _to_dask(value: Any) -> Any:
    if isinstance(value, (np.ndarray, np.generic)):
        return from_host(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_to_dask(item) for item in value))
    if isinstance(value, (tuple, list)):
        return type(value)(_to_dask(item) for item in value)
    return value


# ------------------------------------------------------------------------------ along one axis


def _whole(x: Array, axes: tuple[int, ...]) -> Array:
    """`x` with each of `axes` in one chunk (the others as they are)."""
    if all(len(x.chunks[axis]) == 1 for axis in axes):
        return x
    return x.rechunk({axis: -1 for axis in axes})


def _along_axis(function: Callable[..., Any], dtype: Callable[[Any], Any] | None = None) -> Callable[..., Any]:
    """A NumPy function of one array along one axis (the result has `x`'s shape), run on each
    chunk with that axis whole: lazy, and every other axis stays chunked."""

    def along_axis(x: Any, axis: int | None = -1, **kwargs: Any) -> Array:
        x = asarray(x)
        if axis is None:
            x, axis = x.reshape(-1), 0
        axis = operator.index(axis) % max(x.ndim, 1)
        out_dtype = x.dtype if dtype is None else dtype(x.dtype)
        return wrap(
            da.map_blocks(function, _whole(x, (axis,)), axis=axis, dtype=out_dtype, **kwargs), function.__name__
        )

    along_axis.__name__ = function.__name__
    along_axis.__doc__ = f"NumPy's `{function.__name__}`, lazily along one axis held in one chunk."
    return along_axis


sort = _along_axis(np.sort)
argsort = _along_axis(np.argsort, dtype=lambda _: np.dtype(np.intp))
partition = _along_axis(np.partition)
argpartition = _along_axis(np.argpartition, dtype=lambda _: np.dtype(np.intp))


def take_along_axis(x: Any, indices: Any, axis: int | None = -1) -> Array:
    """NumPy's `take_along_axis`, lazily: the axis is made whole in both arrays, the others are
    broadcast and chunked alike."""
    x, indices = asarray(x), asarray(indices)
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = operator.index(axis) % x.ndim
    if indices.ndim != x.ndim:
        raise ValueError(
            f"take_along_axis: `indices` and `arr` must have the same number of dimensions, "
            f"got {indices.ndim} and {x.ndim}"
        )
    shape = tuple(n if i == axis else max(n, m) for i, (n, m) in enumerate(zip(indices.shape, x.shape)))
    data_shape = tuple(m if i == axis else n for i, (n, m) in enumerate(zip(shape, x.shape)))
    x = _whole(da.broadcast_to(x, data_shape), (axis,))
    indices = _whole(da.broadcast_to(indices, shape), (axis,))
    x = x.rechunk(tuple(c if i == axis else indices.chunks[i] for i, c in enumerate(x.chunks)))
    taken = da.map_blocks(np.take_along_axis, x, indices, axis=axis, chunks=indices.chunks, dtype=x.dtype)
    return wrap(taken, "take_along_axis")


# ------------------------------------------------------------------------------ creation


def _chunked(native: Callable[..., Any], name: str) -> Callable[..., Any]:
    """A creation function whose arrays take the current `minidiff_dask.chunks` setting."""

    def create(*args: Any, **kwargs: Any) -> Array:
        kwargs.setdefault("chunks", current_chunks())
        return wrap(native(*args, **kwargs), name)

    create.__name__ = name
    create.__doc__ = f"`dask.array.{name}`, chunked by the current `minidiff_dask.chunks` setting."
    return create


zeros = _chunked(da.zeros, "zeros")
ones = _chunked(da.ones, "ones")
empty = _chunked(da.empty, "empty")
arange = _chunked(da.arange, "arange")
linspace = _chunked(da.linspace, "linspace")


def full(shape: Any, fill_value: Any, dtype: Any = None, **kwargs: Any) -> Array:
    """NumPy's `full`, an array `fill_value` too (broadcast to `shape`; Dask's takes scalars)."""
    if np.ndim(fill_value) == 0:
        return _chunked(da.full, "full")(shape, fill_value, dtype=dtype, **kwargs)
    fill = asarray(fill_value)
    dtype = fill.dtype if dtype is None else np.dtype(dtype)
    return wrap(zeros(shape, dtype=dtype) + fill.astype(dtype), "full")


def full_like(x: Any, fill_value: Any, dtype: Any = None, **kwargs: Any) -> Array:
    """NumPy's `full_like`, an array `fill_value` too (broadcast to `x`'s shape)."""
    x = asarray(x)
    if np.ndim(fill_value) == 0:
        return wrap(da.full_like(x, fill_value, dtype=dtype, **kwargs), "full_like")
    dtype = x.dtype if dtype is None else np.dtype(dtype)
    return wrap(da.zeros_like(x, dtype=dtype) + asarray(fill_value).astype(dtype), "full_like")


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Array:  # noqa: N803 - NumPy's names
    """NumPy's `eye`, as a comparison of two ranges (Dask's own misplaces blocks when M != N)."""
    rows = arange(N)[:, None] + k
    columns = arange(N if M is None else M)[None, :]
    return wrap((rows == columns).astype(float if dtype is None else dtype), "eye")


# ------------------------------------------------------------------------------ indexing


def _is_array(k: Any) -> bool:
    return isinstance(k, (np.ndarray, da.Array, list))


def _kind(k: Any) -> str:
    """The dtype kind of an index array (or list)."""
    return np.asarray(k).dtype.kind if isinstance(k, list) else k.dtype.kind


def _dask_can_index(key: tuple) -> bool:
    """Whether Dask's own indexing takes `key`: at most one index array, a 1-D integer array
    or a boolean mask (Dask refuses the rest, or misreads 2-D integer arrays)."""
    arrays = [k for k in key if _is_array(k)]
    if not arrays:
        return True
    if len(arrays) > 1:
        return False
    k = arrays[0]
    return _kind(k) == "b" or (_kind(k) in "iu" and np.ndim(k) == 1)


def _as_tuple(key: Any) -> tuple:
    return key if isinstance(key, tuple) else (key,)


def _host_masks(key: tuple, what: str) -> tuple:
    """`key` with its Dask boolean masks computed: what they select decides the result's shape."""
    masks = [k for k in key if isinstance(k, da.Array) and k.dtype.kind == "b"]
    if not masks:
        return key
    warnings.warn(
        f"{what} on the dask backend: a boolean mask decides the result's shape, so the mask was computed now",
        DaskComputeWarning,
        stacklevel=4,
    )
    values = iter(computed(*masks))
    return tuple(next(values) if any(k is m for m in masks) else k for k in key)


def _block(x: Array) -> Any:
    """`x` as one `dask.delayed` block."""
    return x.rechunk(-1).to_delayed().reshape(-1)[0] if x.ndim else x.to_delayed().item()


def _one_block(
    function: Callable[..., Any], x: Array, *args: Any, shape: tuple[int, ...], dtype: Any, what: str
) -> Array:
    """`function(x_block, *args)` in one task on the whole of `x` (Dask arrays in `args` are
    computed as its inputs, in the graph): lazy, for what Dask has no chunked version of."""
    import dask

    delayed = dask.delayed(function, pure=True)(_block(x), *args)
    return wrap(da.from_delayed(delayed, shape=shape, dtype=dtype), what)


def _result_shape(shape: tuple[int, ...], key: tuple) -> tuple[int, ...]:
    """The shape `x[key]` has for `x` of `shape`, worked out on a zero-stride stand-in, with
    NumPy's IndexError for an index that does not fit. Lazy index arrays are stood in for by
    zeros (a result's shape depends on an integer array's shape, not its values) or, for a
    boolean mask, by ones: then only the check means anything, not the shape."""
    standin = tuple(
        (np.ones if k.dtype.kind == "b" else np.zeros)(k.shape, dtype=k.dtype) if isinstance(k, da.Array) else k
        for k in key
    )
    return np.broadcast_to(np.zeros((), dtype=np.int8), shape)[standin].shape


def _host_mask(k: Any) -> bool:
    return isinstance(k, np.ndarray) and k.dtype.kind == "b"


def _mask_positions(key: tuple) -> tuple:
    """`key` with each host boolean mask replaced by the integer arrays of its `nonzero()`, which
    NumPy defines mask indexing as: the result's shape is then known without computing. (A key
    with a 0-d mask, which adds an axis, is left as it is.)"""
    if not any(_host_mask(k) for k in key) or any(_host_mask(k) and k.ndim == 0 for k in key):
        return key
    return tuple(part for k in key for part in (k.nonzero() if _host_mask(k) else (k,)))


def getitem(x: Any, key: Any) -> Array:
    """`x[key]` with NumPy's indexing: Dask's where it has it, else in one task (several
    index arrays, index arrays of more than one dimension). A boolean mask on the host picks
    through its positions, so the result's shape is known; one on Dask is computed first."""
    x, key = asarray(x), _mask_positions(_as_tuple(key))
    if _dask_can_index(key):
        return wrap(da.Array.__getitem__(x, key if len(key) != 1 else key[0]), "indexing")
    key = _host_masks(key, "indexing")
    shape = _result_shape(x.shape, key)
    return _one_block(operator.getitem, x, key, shape=shape, dtype=x.dtype, what="indexing")


def _assigned(block: np.ndarray, key: tuple, value: Any) -> np.ndarray:
    out = block.copy()
    out[key] = value
    return out


def _without_new_axes(shape: tuple[int, ...], key: tuple, value: Any) -> tuple[tuple, Any]:
    """A key of ints and slices with `None`s, and the value for it, as the same assignment
    without the `None`s (which Dask's assignment does not take): the value is broadcast to
    `x[key]`'s shape, then its size-1 new axes are dropped."""
    if Ellipsis in key:
        at = key.index(Ellipsis)
        real = sum(1 for k in key if k is not None and k is not Ellipsis)
        key = key[:at] + (slice(None),) * (len(shape) - real) + key[at + 1:]
    result_shape = np.broadcast_to(np.zeros((), dtype=np.int8), shape)[key].shape
    value = da.broadcast_to(asarray(value), result_shape)
    dims = [k for k in key if not isinstance(k, (int, np.integer))]  # a result axis each
    value = value[tuple(0 if k is None else slice(None) for k in dims)]
    return tuple(k for k in key if k is not None), value


def setitem(target: Array, key: Any, value: Any) -> None:
    """`target[key] = value` in place: Dask's assignment where it has it, else a one-task
    graph that `target` takes in place of its own."""
    key = _as_tuple(key)
    if any(k is None for k in key) and not any(_is_array(k) for k in key):
        key, value = _without_new_axes(target.shape, key, value)
        if not key:
            key = (Ellipsis,)
    selected = _result_shape(target.shape, key)  # NumPy's IndexError now, for an index out of bounds
    lazy_mask = any(isinstance(k, da.Array) and k.dtype.kind == "b" for k in key)
    if 0 in selected and not lazy_mask:  # Dask refuses to assign nothing; NumPy checks the shapes only
        np.broadcast_shapes(np.shape(value), selected)
        return
    # Dask assigns an array of values through a boolean mask wrongly; a single value it assigns well
    masked_values = np.ndim(value) > 0 and any(_is_array(k) and _kind(k) == "b" for k in key)
    if _dask_can_index(key) and not masked_values:
        da.Array.__setitem__(target, key if len(key) != 1 else key[0], value)
        return
    new = _one_block(_assigned, target, key, value, shape=target.shape, dtype=target.dtype, what="assignment")
    da.Array.__setitem__(target, Ellipsis, new)


def _added_at(block: np.ndarray, key: tuple, values: Any) -> np.ndarray:
    out = block.copy()
    np.add.at(out, key, values)
    return out


def add_at(target: Any, key: Any, values: Any) -> Array:
    """`target` with `values` added at `target[key]`, repeated indices accumulating (NumPy's
    `add.at`), as a new array: one task over the whole of `target`, which is the gradient of
    indexing with integer arrays (index arrays and masks may be lazy: they are inputs of the task)."""
    target, key = asarray(target), _as_tuple(key)
    _result_shape(target.shape, key)  # NumPy's IndexError now, for an index out of bounds
    dtype = np.result_type(target.dtype, values.dtype if hasattr(values, "dtype") else np.asarray(values).dtype)
    target = target.astype(dtype)
    return _one_block(_added_at, target, key, values, shape=target.shape, dtype=dtype, what="scatter-add")


def scatter_add(values: Any, shape: tuple[int, ...], key: Any) -> Array:
    """Zeros of `shape` with `values` added at `[key]`: the kernel of minidiff's `scatter_add`
    op (the gradient of indexing). Keys that pick each element once are assigned, chunk by
    chunk; integer-array keys go through `add_at`."""
    values = asarray(values)
    out = zeros(shape, dtype=values.dtype)
    key = _as_tuple(key)
    if all(not _is_array(k) or _kind(k) == "b" for k in key):
        setitem(out, key, values)
        return out
    return add_at(out, key, values)


# ------------------------------------------------------------------------------ NumPy's semantics


def _scan(native: Callable[..., Any]) -> Callable[..., Any]:
    def scan(x: Any, axis: int | None = None, dtype: Any = None, **kwargs: Any) -> Array:
        x = asarray(x)
        if axis is None:  # NumPy scans the flattened array (a 0-d one too)
            x, axis = x.reshape(-1), 0
        return wrap(native(x, axis=axis, dtype=dtype, **kwargs), native.__name__)

    scan.__name__ = native.__name__
    scan.__doc__ = f"NumPy's `{native.__name__}`: `axis=None` scans the flattened array."
    return scan


cumsum = _scan(da.cumsum)
cumprod = _scan(da.cumprod)
nancumsum = _scan(da.nancumsum)
nancumprod = _scan(da.nancumprod)


def broadcast_to(x: Any, shape: Any, chunks: Any = None) -> Array:
    """NumPy's `broadcast_to`. Dask's own puts each new or stretched axis in one chunk, so a
    gradient broadcast to a tall operand's shape would be one task as large as the operand:
    here those axes take the chunks of the last array of the result's shape split in chunks
    (the operand's, in practice; see `_recent_chunks`), else Dask's ``"auto"`` size."""
    x = asarray(x)
    shape = tuple(shape)
    if chunks is None:
        recent = _recent_chunks.get(shape)
        lead = len(shape) - x.ndim
        spec = tuple(
            (recent[i] if recent else "auto") if i < lead or (x.shape[i - lead] == 1 and n != 1) else x.chunks[i - lead]
            for i, n in enumerate(shape)
        )
        chunks = da.core.normalize_chunks(spec, shape, dtype=x.dtype)
    return wrap(da.broadcast_to(x, shape, chunks=chunks), "broadcast_to")


def reshape(x: Any, shape: Any, **kwargs: Any) -> Array:
    """NumPy's `reshape`, an int `shape` too (Dask's takes only tuples). Dask reshapes chunk by
    chunk where the chunks allow it; where they do not (an axis split unevenly), the axes
    after those the two shapes share are put in one chunk first."""
    x = asarray(x)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    try:
        return wrap(da.reshape(x, shape, **kwargs), "reshape")
    except NotImplementedError:
        same = 0
        while same < min(x.ndim, len(shape)) and x.shape[same] == shape[same]:
            same += 1
        return wrap(da.reshape(x.rechunk({axis: -1 for axis in range(same, x.ndim)}), shape, **kwargs), "reshape")


def repeat(x: Any, repeats: Any, axis: int | None = None) -> Array:
    """NumPy's `repeat`, per-element counts too: an index array that picks each element its
    number of times, so the result keeps the chunks along the other axes."""
    x = asarray(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = operator.index(axis) % max(x.ndim, 1)
    if isinstance(repeats, da.Array):
        warnings.warn(
            "repeat on the dask backend: the counts decide the result's shape, so they were computed now",
            DaskComputeWarning,
            stacklevel=3,
        )
        (repeats,) = computed(repeats)
    picks = np.repeat(np.arange(x.shape[axis]), repeats)
    return wrap(da.take(x, picks, axis=axis), "repeat")


def dot(a: Any, b: Any) -> Array:
    """NumPy's `dot`: a product with a 0-d operand, the last axis of `a` against the second to
    last of `b` (its only axis, for a vector) otherwise."""
    a, b = asarray(a), asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        return wrap(a * b, "dot")
    return wrap(da.tensordot(a, b, axes=([a.ndim - 1], [max(b.ndim - 2, 0)])), "dot")


def tensordot(a: Any, b: Any, axes: Any = 2) -> Array:
    """NumPy's `tensordot` (Dask's miscounts negative axes given in lists)."""
    a, b = asarray(a), asarray(b)
    if not isinstance(axes, int):
        left, right = axes
        left = [operator.index(i) % a.ndim for i in ((left,) if isinstance(left, int) else left)]
        right = [operator.index(i) % b.ndim for i in ((right,) if isinstance(right, int) else right)]
        axes = (left, right)
    return wrap(da.tensordot(a, b, axes=axes), "tensordot")


def argwhere(x: Any) -> Array:
    x = asarray(x)
    if x.ndim == 0:  # NumPy: one row (of no columns) if the value is nonzero
        return argwhere(x.reshape(1))[:, :0]
    return wrap(da.argwhere(x), "argwhere")


def heaviside(x1: Any, x2: Any) -> Array:
    """NumPy's `heaviside`: 0 below zero, 1 above, `x2` at zero, NaN at NaN."""
    x1, x2 = asarray(x1), asarray(x2)
    step = da.where(x1 < 0, 0, da.where(x1 > 0, 1, x2)).astype(np.result_type(x1.dtype, x2.dtype))
    return wrap(da.where(da.isnan(x1), x1, step) if x1.dtype.kind == "f" else step, "heaviside")


def pad(x: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Array:
    """NumPy's `pad`: Dask's, chunk by chunk, except where Dask's differs from NumPy's (a
    reflecting or wrapping width wider than the axis), which run in one task."""
    x = asarray(x)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (x.ndim, 2)) if x.ndim else np.zeros((0, 2), np.intp)
    # reflect mirrors about the edge element, so it reaches one element less far than wrap and symmetric
    reach = [n - (mode == "reflect") for n in x.shape]
    if mode in ("constant", "edge") or all(int(w) <= r for (before, after), r in zip(widths, reach) for w in (before, after)):
        return wrap(da.pad(x, pad_width, mode=mode, **kwargs), "pad")
    shape = tuple(int(n + before + after) for n, (before, after) in zip(x.shape, widths))
    padded = functools.partial(np.pad, pad_width=pad_width, mode=mode, **kwargs)
    return _one_block(padded, x, shape=shape, dtype=x.dtype, what="pad")


# ------------------------------------------------------------------------------ the namespace

#: NumPy names that are not array functions (dtypes, their queries, constants): NumPy's own.
_NUMPY_AS_IS = frozenset({
    "issubdtype", "finfo", "iinfo", "can_cast", "promote_types", "dtype", "isscalar", "ndim", "shape",
    "ix_", "diag_indices", "tril_indices", "triu_indices", "unravel_index", "ravel_multi_index", "iscomplexobj",
    "isrealobj", "isdtype",
})

_cache: dict[str, Any] = {}


def _passed_through(name: str, native: Callable[..., Any]) -> Callable[..., Any]:
    def function(*args: Any, **kwargs: Any) -> Any:
        return wrap(native(*args, **kwargs), name)

    function.__name__ = name
    function.__doc__ = f"`dask.array.{name}`, its results as `Array`s."
    return function


class _Ufunc:
    """A Dask ufunc whose calls give `Array`s; its other attributes (`outer`, `nin`) as they are."""

    def __init__(self, name: str, native: Any) -> None:
        self.__name__ = name
        self._native = native

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return wrap(self._native(*args, **kwargs), self.__name__)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._native, name)


# ------------------------------------------------------------------------------ fft


class _Fft:
    """`xp.fft`: `dask.array.fft`, with each transformed axis first made one chunk (Dask
    transforms only along an axis in one chunk); the other axes keep their chunks, lazily."""

    _ONE_AXIS = frozenset({"fft", "ifft", "rfft", "irfft", "hfft", "ihfft"})

    def __getattr__(self, name: str) -> Any:
        native = getattr(da.fft, name)

        def function(*args: Any, **kwargs: Any) -> Any:
            if args and isinstance(args[0], da.Array):
                x = args[0]
                if name in self._ONE_AXIS:
                    axes = (kwargs.get("axis", -1),)
                else:
                    axes = kwargs.get("axes") or tuple(range(x.ndim))
                args = (x.rechunk({a % x.ndim: -1 for a in axes}), *args[1:])
            return wrap(native(*args, **kwargs), name)

        function.__name__ = name
        return function


fft = _Fft()


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    found = _cache.get(name)
    if found is not None:
        return found
    native = getattr(da, name, None)
    numpy_value = getattr(np, name, None)
    if name in _NUMPY_AS_IS or isinstance(numpy_value, type) or (
        numpy_value is not None and not callable(numpy_value) and not isinstance(native, ModuleType)
    ):
        value = numpy_value  # dtypes (np.float64, np.floating), constants, finfo, index helpers
    elif isinstance(native, da.ufunc.ufunc):
        value = _Ufunc(name, native)
    elif native is not None:
        value = _passed_through(name, native) if callable(native) else native  # da.fft, da.random: as they are
    elif callable(numpy_value):
        value = _on_host(name, numpy_value)
    else:
        raise AttributeError(f"neither dask.array nor NumPy has {name!r}")
    _cache[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *dir(da)})


# imported last: it builds on the functions above
from minidiff_dask import linalg  # noqa: E402
