"""Shape and indexing op family: reshape, transpose, joining, tiling, padding, getitem, ...

Every op here only moves elements around, so every gradient is another such op: a
permutation is undone by the inverse permutation, a copy that reads an element several
times (`repeat`, `tile`, `x[[0, 0]]`) sends back the sum of the copies' cotangents, and
getitem's gradient is `scatter_add`, whose own gradient is getitem again, so every order
works. Index values (keys, repeats, widths) are parameters, never differentiated.

`split` returns several tensors, so it is a composite op: a function built from getitem
slices and differentiated through them.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

import minidiff as md
from minidiff.batching import rules
from minidiff.batching.rules import batch_size, pad_to, shift_axes, shift_axis
from minidiff.batching.tensor import BatchedTensor
from minidiff.extend import Op, hookimpl, sample
from minidiff.ops._axes import inverse_permutation, normalize_axis, pad_widths
from minidiff.optable import ops
from minidiff._tensor import Tensor

__all__ = ["OPS", "split"]


# ---------------------------------------------------------------------------- getitem and its scatter


def _picks_once(key: Any) -> bool:
    """True when `key` has no integer arrays, so it selects each element at most once and
    `out[key] = values` loses nothing that `add.at` would accumulate."""
    for k in key if isinstance(key, tuple) else (key,):
        if k is None or k is Ellipsis or isinstance(k, slice):
            continue
        if isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)):
            continue
        dtype = getattr(k, "dtype", None)
        if dtype is None or dtype.kind != "b":  # lists, integer arrays, Python bools
            return False
    return True


def _scatter_add(xp, values, shape, key):
    """Zeros of `shape` with `values` added at `x[key]`, repeated indices accumulating."""
    out = xp.zeros(shape, dtype=values.dtype)
    if _picks_once(key):
        out[key] = values
        return out
    add_at = getattr(xp.add, "at", None)
    if add_at is None:
        raise NotImplementedError(
            f"scatter_add (the gradient of indexing with integer arrays) needs `add.at`, which the "
            f"array namespace {getattr(xp, '__name__', xp)!r} lacks; a backend can provide the kernel "
            f"with minidiff_register_kernels: add_kernel('scatter_add', <backend>, kernel)"
        )
    add_at(out, key, values)
    return out


def _scatter_reference(values, shape, key):
    out = np.zeros(shape, dtype=values.dtype)
    np.add.at(out, key, values)
    return out


def _on_backend(key: tuple, like: Tensor) -> tuple:
    """Host index arrays built by a rule, as arrays of `like`'s backend."""
    return tuple(like.backend.asarray(k) if isinstance(k, np.ndarray) else k for k in key)


# ---------------------------------------------------------------------------- gradient rules


def _concatenate_vjp(g, ans, *inputs, axis):
    """Every input's cotangent, its slice of `g` (None for an input that takes no gradient),
    found from a running offset: one pass, so n inputs cost O(n), not O(n^2)."""
    flat = axis is None  # the inputs were flattened, then joined
    before = () if flat else (slice(None),) * normalize_axis(axis, ans.ndim)
    cotangents, start = [], 0
    for x in inputs:
        n = x.size if flat else x.shape[len(before)]
        if not x.allow_grad:
            cotangents.append(None)
        elif flat:
            cotangents.append(md.reshape(g[start : start + n], x.shape))
        else:
            cotangents.append(g[before + (slice(start, start + n),)])
        start += n
    return cotangents


def _stack_vjp(g, ans, *inputs, axis):
    before = (slice(None),) * normalize_axis(axis, ans.ndim)
    return [g[before + (i,)] if x.allow_grad else None for i, x in enumerate(inputs)]


def _repeat_vjp(g, ans, x, repeats, axis):
    shape = (x.size,) if axis is None else x.shape  # axis=None repeats the flattened x
    axis = 0 if axis is None else normalize_axis(axis, x.ndim)
    n = shape[axis]
    # as ints: NumPy reads `repeats=[]` as float64, which np.repeat then refuses
    counts = np.asarray(repeats).astype(np.intp, copy=False)
    if counts.size == 1:
        # every element repeated r times in a row: group the copies on a new axis and sum them
        grouped = md.reshape(g, shape[:axis] + (n, int(counts.reshape(-1)[0])) + shape[axis + 1 :])
        return md.reshape(md.sum(grouped, axis=axis + 1), x.shape)
    source = np.repeat(np.arange(n), counts)  # the element of x each copy was read from
    key = _on_backend((slice(None),) * axis + (source,), g)
    return md.reshape(ops.scatter_add(g, shape=shape, key=key), x.shape)


def _tile_vjp(g, ans, x, reps):
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    ndim = max(len(reps), x.ndim)
    reps = (1,) * (ndim - len(reps)) + reps
    shape = (1,) * (ndim - x.ndim) + x.shape
    # output index k * n + j along an axis is copy k of element j: split each axis into
    # (copy, element) and sum over the copies
    split_shape = tuple(m for r, n in zip(reps, shape) for m in (r, n))
    copies = tuple(range(0, 2 * ndim, 2))
    grouped = md.reshape(g, split_shape)
    return md.reshape(md.sum(grouped, axis=copies) if copies else grouped, x.shape)


# Modes whose padded values are copies of input elements, chosen per axis independently.
_COPYING_PAD_MODES = ("edge", "reflect", "symmetric", "wrap")


def _pad(xp, x, pad_width, mode, constant_values):
    if isinstance(pad_width, dict):  # NumPy takes `{axis: width}` only from 2.4 on
        pad_width = pad_widths(pad_width, x.ndim)
    if mode == "constant":
        return xp.pad(x, pad_width, mode=mode, constant_values=constant_values)
    if not (isinstance(constant_values, (int, float)) and constant_values == 0):
        raise ValueError(f"constant_values only applies to mode='constant', not mode={mode!r}")
    return xp.pad(x, pad_width, mode=mode)


# NumPy's own functions are the references, called as the samples call the ops; these
# spell a call the way an older NumPy also understands (the floor is NumPy 2.0).
_NUMPY_PAD_TAKES_DICT = np.lib.NumpyVersion(np.__version__) >= "2.4.0"


@functools.wraps(np.pad)
def _pad_reference(x, pad_width, **options):
    if isinstance(pad_width, dict) and not _NUMPY_PAD_TAKES_DICT:
        pad_width = pad_widths(pad_width, x.ndim)
    return np.pad(x, pad_width, **options)


@functools.wraps(np.reshape)
def _reshape_reference(x, shape):
    return np.reshape(x, shape)  # positional: NumPy before 2.1 calls it `newshape`


@functools.wraps(np.take_along_axis)
def _take_along_axis_reference(x, indices, axis=-1):
    return np.take_along_axis(x, indices, axis=axis)  # NumPy before 2.3 has no default axis


def _pad_vjp(g, ans, x, pad_width, mode, constant_values):
    widths = pad_widths(pad_width, x.ndim)
    if mode == "constant":
        return g[tuple(slice(before, before + n) for (before, _), n in zip(widths, x.shape))]
    if mode in _COPYING_PAD_MODES:
        # padding arange(n) the same way says which element each padded position copies
        sources = [np.pad(np.arange(n), width, mode=mode) for n, width in zip(x.shape, widths)]
        return ops.scatter_add(g, shape=x.shape, key=_on_backend(np.ix_(*sources), g))
    raise NotImplementedError(
        f"pad: mode={mode!r} is not differentiable in minidiff; the modes with a gradient are "
        f"'constant', {', '.join(repr(m) for m in _COPYING_PAD_MODES)}"
    )


def _along_axis_key(shape: tuple[int, ...], indices: Any, axis: int, xp: Any) -> tuple:
    """The fancy index equivalent to `take_along_axis(x, indices, axis)`: `indices` on
    `axis` and a broadcasting arange on every other axis."""
    ndim = len(shape)
    return tuple(
        indices if d == axis else xp.arange(n).reshape((1,) * d + (n,) + (1,) * (ndim - d - 1))
        for d, n in enumerate(shape)
    )


def _take_along_axis_vjp(g, ans, x, indices, axis):
    xp = x.backend.xp
    if axis is None:  # x was flattened first
        return md.reshape(ops.scatter_add(g, shape=(x.size,), key=(indices.data,)), x.shape)
    key = _along_axis_key(x.shape, indices.data, normalize_axis(axis, x.ndim), xp)
    return ops.scatter_add(g, shape=x.shape, key=key)


# ---------------------------------------------------------------------------- batching rules (md.vmap)
# Each rule calls the op once on the whole batch (batch on axis 0), with the example's axes
# and shapes moved one axis to the right.


def _examples(args: tuple, batched: tuple) -> tuple[int, list]:
    """The batch size, and every operand batched: shared ones as broadcast copies (on the
    batched operands' backend, for host arrays)."""
    size = batch_size(args, batched)
    like = next(a for a, b in zip(args, batched) if b)
    full = [a if b else rules.to_batched(_on_backend_of(a, like), size) for a, b in zip(args, batched)]
    return size, full


def _on_backend_of(value: Any, like: Any) -> Any:
    return value if isinstance(value, (Tensor, BatchedTensor)) else md.asarray(value, backend=like.backend.name)


def _reshape_batch(call, args, batched, params):
    (x,) = args
    shape = params["shape"]
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return call(x, shape=(x.shape[0], *shape))


def _transpose_batch(call, args, batched, params):
    (x,) = args
    ndim, axes = x.ndim - 1, params["axes"]
    order = range(ndim, 0, -1) if axes is None else (shift_axis(a, ndim) for a in axes)
    return call(x, axes=(0, *order))


def _swapaxes_batch(call, args, batched, params):
    ndim = args[0].ndim - 1
    return call(args[0], axis1=shift_axis(params["axis1"], ndim), axis2=shift_axis(params["axis2"], ndim))


def _moveaxis_batch(call, args, batched, params):
    ndim = args[0].ndim - 1
    return call(args[0], source=shift_axes(params["source"], ndim), destination=shift_axes(params["destination"], ndim))


def _expand_dims_batch(call, args, batched, params):
    (x,) = args
    axis = params["axis"]
    added = len(axis) if isinstance(axis, (tuple, list)) else 1
    return call(x, axis=shift_axes(axis, x.ndim - 1 + added))  # axes count in the result, as NumPy's


def _squeeze_batch(call, args, batched, params):
    (x,) = args
    if params["axis"] is None:  # the example's size-1 axes, never the batch (which may have size 1)
        return call(x, axis=tuple(d for d in range(1, x.ndim) if x.shape[d] == 1))
    return call(x, axis=shift_axes(params["axis"], x.ndim - 1))


def _concatenate_batch(call, args, batched, params):
    size, full = _examples(args, batched)
    if params["axis"] is None:  # each example's operands flattened, then joined
        return call(*(ops.reshape(a, (size, -1)) for a in full), axis=1)
    return call(*full, axis=shift_axis(params["axis"], full[0].ndim - 1))


def _stack_batch(call, args, batched, params):
    _, full = _examples(args, batched)
    return call(*full, axis=shift_axis(params["axis"], full[0].ndim))  # an axis of the result


def _broadcast_to_batch(call, args, batched, params):
    (x,) = args
    shape = params["shape"]
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return call(pad_to(x, len(shape)), shape=(x.shape[0], *shape))


def _tile_batch(call, args, batched, params):
    (x,) = args
    reps = params["reps"]
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    ndim = max(len(reps), x.ndim - 1)  # NumPy pads the shorter of x's shape and reps with 1s in front
    return call(pad_to(x, ndim), reps=(1,) * (ndim + 1 - len(reps)) + reps)


def _pad_batch(call, args, batched, params):
    (x,) = args
    ndim = x.ndim - 1
    widths = ((0, 0), *pad_widths(params["pad_width"], ndim))
    values = params["constant_values"]
    if params["mode"] == "constant" and np.ndim(values) > 0:  # per-axis values: none for the batch axis
        values = ((0, 0), *(tuple(v) for v in np.broadcast_to(np.asarray(values), (ndim, 2)).tolist()))
    return call(x, pad_width=widths, mode=params["mode"], constant_values=values)


def _take_along_axis_batch(call, args, batched, params):
    size, (x, indices) = _examples(args, batched)
    if params["axis"] is None:  # x flattened, 1-D indices
        return call(ops.reshape(x, (size, -1)), indices, axis=1)
    return call(x, indices, axis=shift_axis(params["axis"], x.ndim - 1))


def _key_parts(key: Any) -> tuple:
    return key if isinstance(key, tuple) else (key,)


def _index_layout(parts: tuple, ndim: int) -> tuple[int, int]:
    """For a key `parts` on an array of `ndim` axes: how many axes its advanced indices
    broadcast to when NumPy puts them first (0 when it puts them in place), and how many
    axes `example[parts]` has.

    NumPy puts the axes of the advanced indices (arrays and bools, and integers when there
    is an array) in place when those indices sit next to each other in the key, but first
    when anything (a slice, None, an Ellipsis, even one that spans no axis) separates them."""
    kinds = []  # (advanced?, axes it consumes, axes of its broadcast index)
    for k in parts:
        if k is None or k is Ellipsis:
            kinds.append((False, 0, 0))
        elif isinstance(k, slice):
            kinds.append((False, 1, 0))
        elif isinstance(k, (bool, np.bool_)):
            kinds.append((True, 0, 1))
        elif isinstance(k, (int, np.integer)):
            kinds.append((None, 1, 0))  # advanced if an array is in the key
        else:
            shape, dtype = (tuple(k.shape), k.dtype) if hasattr(k, "dtype") else _host_shape(k)
            boolean = "bool" in str(dtype)
            if not shape:
                kinds.append((True, 0, 1) if boolean else (None, 1, 0))
            else:
                kinds.append((True, len(shape), 1) if boolean else (True, 1, len(shape)))
    fancy = any(kind[0] for kind in kinds)
    advanced = [i for i, kind in enumerate(kinds) if kind[0] or (fancy and kind[0] is None)]
    fancy_ndim = max((kinds[i][2] for i in advanced), default=0)
    consumed = sum(kind[1] for kind in kinds if kind[0] is not False)
    result_ndim = ndim - consumed + sum(k is None for k in parts) + (fancy_ndim if fancy else 0)
    apart = fancy and advanced[-1] - advanced[0] + 1 != len(advanced)
    return (fancy_ndim if apart else 0), result_ndim


def _host_shape(k: Any) -> tuple[tuple[int, ...], Any]:
    host = np.asarray(k)
    return host.shape, host.dtype


def _batched_key(parts: tuple, ndim: int, size: int, like: Any) -> tuple[tuple, int]:
    """The key that applies `parts` to each example of a batch (on axis 0) of arrays of
    `ndim` axes, with the batch first in the result; and how many axes one example's result
    has. A `slice(None)` for the batch, except where NumPy would put separated advanced
    indices' axes before it: there the batch is indexed by an arange, which joins them and
    leads (and keeps MLX's scatter, which places such axes differently, in agreement)."""
    apart, result_ndim = _index_layout(parts, ndim)
    if not apart:
        return (slice(None), *parts), result_ndim
    batch = np.arange(size).reshape((size,) + (1,) * apart)
    return (like.backend.asarray(batch), *parts), result_ndim


def _getitem_batch(call, args, batched, params):
    (x,) = args
    key, _ = _batched_key(_key_parts(params["key"]), x.ndim - 1, x.shape[0], x)
    return call(x, key=key)


def _scatter_add_batch(call, args, batched, params):
    (values,) = args
    shape, size = tuple(params["shape"]), values.shape[0]
    key, ndim = _batched_key(_key_parts(params["key"]), len(shape), size, values)
    # values broadcast against one example's x[key]: give them its rank
    return call(pad_to(values, ndim), shape=(size, *shape), key=key)


# ---------------------------------------------------------------------------- the ops

_MASK = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]])

# Every op here only moves elements (a pad adds constants): linear with real coefficients,
# so its rules hold for complex numbers as they are (complex=True).
OPS = [
    Op(
        "reshape",
        lambda xp, x, shape: xp.reshape(x, shape),
        view=True,
        vjp=(lambda g, ans, x, shape: md.reshape(g, x.shape),),
        params={"shape": None},
        reference=_reshape_reference,
        batch=_reshape_batch,
        samples=(sample((3, 4), shape=(4, 3)), sample((2, 3, 4), shape=(-1, 4)), sample((), shape=(1, 1))),
        complex=True,
    ),
    Op(
        "transpose",
        "transpose",
        view=True,
        vjp=(lambda g, ans, x, axes: md.transpose(g, inverse_permutation(axes, x.ndim)),),
        params={"axes": None},
        batch=_transpose_batch,
        samples=(sample((3, 4)), sample((2, 3, 4), axes=(1, -1, 0)), sample((2, 3, 4), axes=(2, 0, 1)), sample(())),
        complex=True,
    ),
    Op(
        "swapaxes",
        "swapaxes",
        view=True,
        vjp=(lambda g, ans, x, axis1, axis2: md.swapaxes(g, axis1, axis2),),
        params={"axis1": None, "axis2": None},
        batch=_swapaxes_batch,
        samples=(sample((3, 4), axis1=0, axis2=1), sample((2, 3, 4), axis1=-1, axis2=0)),
        complex=True,
    ),
    Op(
        "moveaxis",
        "moveaxis",
        view=True,
        vjp=(lambda g, ans, x, source, destination: md.moveaxis(g, destination, source),),
        params={"source": None, "destination": None},
        batch=_moveaxis_batch,
        samples=(
            sample((2, 3, 4), source=0, destination=-1),
            sample((2, 3, 4), source=(0, -1), destination=(-1, 1)),
        ),
        complex=True,
    ),
    Op(
        "expand_dims",
        "expand_dims",
        view=True,
        vjp=(lambda g, ans, x, axis: md.reshape(g, x.shape),),
        params={"axis": None},
        batch=_expand_dims_batch,
        samples=(sample((3, 4), axis=0), sample((3, 4), axis=(0, -1)), sample((), axis=0)),
        complex=True,
    ),
    Op(
        "squeeze",
        "squeeze",
        view=True,
        vjp=(lambda g, ans, x, axis: md.reshape(g, x.shape),),
        params={"axis": None},
        batch=_squeeze_batch,
        samples=(sample((1, 3, 1)), sample((1, 3, 1), axis=-1), sample((1, 3, 1), axis=(0, 2)), sample((1, 1))),
        complex=True,
    ),
    Op(
        "concatenate",
        lambda xp, *arrays, axis: xp.concatenate(arrays, axis=axis),
        vjp=_concatenate_vjp,
        nargs=None,
        params={"axis": 0},
        batch=_concatenate_batch,
        samples=(
            sample([(2, 3), (4, 3)]),
            sample([(2, 3), (2, 1), (2, 2)], axis=-1),
            sample([(2, 3), (3,)], axis=None),
        ),
        complex=True,
    ),
    Op(
        "stack",
        lambda xp, *arrays, axis: xp.stack(arrays, axis=axis),
        vjp=_stack_vjp,
        nargs=None,
        params={"axis": 0},
        batch=_stack_batch,
        samples=(sample([(2, 3), (2, 3)]), sample([(3,), (3,), (3,)], axis=-1), sample([(), ()])),
        complex=True,
    ),
    Op(
        "broadcast_to",
        lambda xp, x, shape: xp.broadcast_to(x, shape),
        vjp=(lambda g, ans, x, shape: g,),  # the engine sums g back down to x's shape
        params={"shape": None},
        batch=_broadcast_to_batch,
        samples=(sample((3, 1), shape=(2, 3, 4)), sample((), shape=(3,))),
        complex=True,
    ),
    Op(
        "flip",
        "flip",
        vjp=(lambda g, ans, x, axis: md.flip(g, axis),),
        params={"axis": None},
        batch=rules.axis("axis"),
        samples=(sample((3, 4)), sample((2, 3, 4), axis=(0, -1)), sample((3, 4), axis=-1), sample(())),
        complex=True,
    ),
    Op(
        "repeat",
        "repeat",
        vjp=(_repeat_vjp,),
        params={"repeats": None, "axis": None},
        batch=rules.axis("axis", none="flatten"),
        samples=(
            sample((3, 4), repeats=2),
            sample((3, 4), repeats=3, axis=-1),
            sample((3, 4), repeats=np.array([1, 0, 2]), axis=0),
            sample((3, 4), repeats=[2, 1, 1, 3], axis=1),
            sample((2, 3), repeats=[1, 2, 1, 1, 3, 2]),
            sample((), repeats=3),
        ),
        complex=True,
    ),
    Op(
        "tile",
        "tile",
        vjp=(_tile_vjp,),
        params={"reps": None},
        batch=_tile_batch,
        samples=(
            sample((3, 4), reps=2),
            sample((2, 3), reps=(2, 1, 2)),
            sample((2, 3, 2), reps=(2, 1)),
            sample((), reps=(2, 3)),
        ),
        complex=True,
    ),
    Op(
        "pad",
        _pad,
        vjp=(_pad_vjp,),
        params={"pad_width": None, "mode": "constant", "constant_values": 0},
        reference=_pad_reference,
        batch=_pad_batch,
        samples=(
            sample((3, 4), pad_width=1),
            sample((3, 4), pad_width=((1, 0), (2, 1)), constant_values=1.5),
            sample((2, 3, 2), pad_width=(0, 2)),
            sample((3, 4), pad_width={-1: (1, 2)}),
            sample((3, 4), pad_width=((1, 2), (2, 0)), mode="edge"),
            sample((3, 4), pad_width=((2, 1), (1, 3)), mode="reflect"),
            sample((3, 4), pad_width=((2, 1), (1, 3)), mode="symmetric"),
            sample((2, 3), pad_width=((3, 1), (5, 4)), mode="wrap"),  # wraps more than once
        ),
        complex=True,
    ),
    Op(
        "take_along_axis",
        "take_along_axis",
        vjp=(_take_along_axis_vjp, None),
        nargs=2,
        params={"axis": -1},
        reference=_take_along_axis_reference,
        batch=_take_along_axis_batch,
        samples=(
            sample((3, 4), np.array([[0, 0, 3], [1, 1, 1], [2, 0, 2]]), axis=1),  # repeats accumulate
            sample((3, 4), np.array([[2, 2, 0, -1]]), axis=0),  # broadcasts, negative index
            sample((2, 3, 4), np.array([[[3], [0], [0]], [[1], [1], [2]]])),
            sample((3, 4), np.array([0, 5, 5, 11]), axis=None),
        ),
        complex=True,
    ),
    Op(
        "getitem",
        lambda xp, x, key: x[key],
        view=True,
        vjp=(lambda g, ans, x, key: ops.scatter_add(g, shape=x.shape, key=key),),
        params={"key": None},
        public=False,
        reference=lambda x, key: x[key],
        doc="`x[key]` with NumPy's basic and advanced indexing; repeated indices accumulate in the gradient.",
        batch=_getitem_batch,
        samples=(
            sample((3, 4), key=1),
            sample((3, 4), key=(slice(1, None), -1)),
            sample((3, 4), key=(slice(None, None, -2), slice(1, 3))),
            sample((2, 3, 4), key=(Ellipsis, None, slice(None, None, -1))),
            sample((2, 3, 4), key=(0, Ellipsis, 2)),
            sample((4, 3), key=np.array([0, 0, 2])),  # repeated rows
            sample((4, 3), key=[3, -1, 3, 0]),
            sample((3, 4), key=(np.array([0, 2, 2]), np.array([1, 1, 3]))),  # a repeated element
            sample((3, 4), key=(slice(None), np.array([[0, 1], [1, 1]]))),
            sample((2, 3, 4), key=(np.array([0, 1, 0]), slice(None), np.array([1, 0, 1]))),
            sample((3, 4), key=_MASK),
            sample((3, 4), key=(np.array([True, False, True]), np.array([0, 3]))),
            sample((3, 4), key=(slice(1, None), np.array([True, False, False, True]))),
            sample((), key=()),
            sample((), key=None),
        ),
        complex=True,
    ),
    Op(
        "scatter_add",
        _scatter_add,
        vjp=(lambda g, ans, values, shape, key: g[key],),
        params={"shape": None, "key": None},
        public=False,
        reference=_scatter_reference,
        doc="Zeros of `shape` with `values` added at `[key]`, repeated indices accumulating: getitem's gradient.",
        batch=_scatter_add_batch,
        samples=(
            sample((3,), shape=(4,), key=np.array([0, 0, 2])),
            sample((2, 2), shape=(3, 4), key=(slice(1, None), slice(0, 2))),
            sample((2, 3), shape=(3, 3), key=(np.array([[0], [0]]), np.array([0, 2, 2]))),
            sample((6,), shape=(3, 4), key=_MASK),
            sample((), shape=(), key=()),
        ),
        complex=True,
    ),
]


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """`numpy.split`: `x` cut along `axis` into equal sections or at the given indices;
    each piece is a getitem slice, so gradients flow back through all of them.

    >>> import minidiff as md
    >>> [piece.shape for piece in md.split(md.Tensor([[1.0, 2.0, 3.0, 4.0]]), [1, 3], axis=1)]
    [(1, 1), (1, 2), (1, 1)]
    """
    x = x if isinstance(x, (Tensor, BatchedTensor)) else Tensor(x)
    axis = normalize_axis(axis, x.ndim)
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"split: the number of sections must be positive, got {sections}")
        if n % sections:
            raise ValueError(
                f"split: axis {axis} of shape {x.shape} has length {n}, which does not divide into "
                f"{sections} equal sections"
            )
        bounds = [i * (n // sections) for i in range(sections + 1)]
    else:
        bounds = [0, *(int(i) for i in indices_or_sections), n]
    before = (slice(None),) * axis
    return [x[before + (slice(start, stop),)] for start, stop in zip(bounds[:-1], bounds[1:])]


OPS.append(
    Op(
        "split",
        composite=split,
        samples=(sample((4, 3), 2), sample((2, 6), [1, 4], axis=1), sample((5,), [2, 2])),
        reference=np.split,
        complex=True,
    )
)


@hookimpl
def minidiff_register_ops(registry) -> None:
    for op in OPS:
        registry.add_op(op)
