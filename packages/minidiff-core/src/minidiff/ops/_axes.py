"""Axis bookkeeping shared by the reduction, shape, arrangement and calculus families."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def normalize_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """`axis` (None, an int or a tuple, negatives allowed) as sorted non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(sorted(a % ndim if ndim else a for a in axes))


def kept_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    """`shape` after reducing over `axis` with keepdims=True."""
    axes = normalize_axes(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def reduced_size(shape: tuple[int, ...], axis: Any) -> int:
    """How many elements of an array of `shape` each output of a reduction over `axis` combines."""
    return math.prod(shape[a] for a in normalize_axes(axis, len(shape)))


def normalize_axis(axis: int, ndim: int) -> int:
    """One axis (negatives allowed) as a non-negative int; NumPy's `AxisError` (a
    ValueError) when it is out of range.

    >>> normalize_axis(-1, 3)
    2
    """
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


def along(axis: int, key: Any) -> tuple:
    """The getitem key that applies `key` on `axis` and takes everything on the axes before.

    >>> along(2, slice(1, None))
    (slice(None, None, None), slice(None, None, None), slice(1, None, None))
    """
    return (slice(None),) * axis + (key,)


def inverse_permutation(axes: Any, ndim: int) -> tuple[int, ...]:
    """The axes that undo `transpose(x, axes)`; `axes=None` reverses, as in NumPy.

    >>> inverse_permutation((1, 2, 0), 3)
    (2, 0, 1)
    """
    if axes is None:
        return tuple(range(ndim))[::-1]
    order = [normalize_axis(a, ndim) for a in axes]
    inverse = [0] * ndim
    for position, axis in enumerate(order):
        inverse[axis] = position
    return tuple(inverse)


def pad_widths(pad_width: Any, ndim: int) -> tuple[tuple[int, int], ...]:
    """`numpy.pad`'s `pad_width` (an int, a pair, pairs per axis or `{axis: width}`) as
    one `(before, after)` pair per axis.

    >>> pad_widths(((1, 0), (2, 3)), 2)
    ((1, 0), (2, 3))
    >>> pad_widths({-1: 2}, 2)
    ((0, 0), (2, 2))
    """
    if isinstance(pad_width, dict):
        widths = [(0, 0)] * ndim
        for axis, width in pad_width.items():
            before, after = np.broadcast_to(np.asarray(width, dtype=np.intp), (2,))
            widths[normalize_axis(axis, ndim)] = (int(before), int(after))
        return tuple(widths)
    pairs = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (ndim, 2))
    return tuple((int(before), int(after)) for before, after in pairs)
