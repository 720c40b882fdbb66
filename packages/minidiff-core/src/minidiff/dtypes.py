"""NumPy's dtype names and constants, as `md.float32`, `md.pi`, `md.finfo`.

The dtype names are NumPy's scalar types themselves, so every backend takes them
(`md.zeros(3, dtype=md.float32, backend="mlx")`) and a tensor's dtype, which is a NumPy
dtype on every backend, compares equal to them:

>>> import minidiff as md
>>> md.zeros(3, dtype=md.float32).dtype == md.float32
True

`md.bool` is NumPy's `bool` type, reached through `minidiff.__getattr__` only: a module-level
`bool` here or in `minidiff/__init__.py` would shadow the builtin in the module's own code.
It is spelled `bool_` in this module.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "bool_",
    "complex64",
    "complex128",
    "e",
    "finfo",
    "float16",
    "float32",
    "float64",
    "iinfo",
    "inf",
    "int8",
    "int16",
    "int32",
    "int64",
    "nan",
    "newaxis",
    "pi",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
]

bool_ = np.bool_
int8, int16, int32, int64 = np.int8, np.int16, np.int32, np.int64
uint8, uint16, uint32, uint64 = np.uint8, np.uint16, np.uint32, np.uint64
float16, float32, float64 = np.float16, np.float32, np.float64
complex64, complex128 = np.complex64, np.complex128

pi = math.pi
e = math.e
inf = math.inf
nan = math.nan
#: `x[:, md.newaxis]` adds an axis, as `None` does
newaxis = None


def _dtype_of(x: Any) -> Any:
    """A NumPy dtype from a Tensor, an array, a dtype or a dtype's name."""
    from minidiff._tensor import Tensor

    if isinstance(x, Tensor):
        return x.dtype
    dtype = getattr(x, "dtype", None)
    if dtype is not None and not isinstance(x, type):
        x = dtype
    try:
        return np.dtype(x)
    except TypeError:
        # a backend's own dtype object (MLX's mx.float32): its name is NumPy's name
        return np.dtype(str(x).rsplit(".", 1)[-1])


class finfo_object(NamedTuple):
    """Machine limits of a floating dtype, as Python floats (the Array API's `finfo`);
    `resolution` and `tiny` as in NumPy. A complex dtype gives its real part's limits."""

    bits: int
    eps: float
    max: float
    min: float
    smallest_normal: float
    dtype: np.dtype
    resolution: float
    tiny: float


class iinfo_object(NamedTuple):
    """Machine limits of an integer dtype, as Python ints (the Array API's `iinfo`)."""

    bits: int
    max: int
    min: int
    dtype: np.dtype


def finfo(x: Any, /) -> finfo_object:
    """Machine limits of a floating (or complex) dtype, as `numpy.finfo` with Python floats
    (the Array API's `finfo`); `x` may also be a Tensor.

    >>> import minidiff as md
    >>> md.finfo(md.float32).eps == md.finfo(md.zeros(2, dtype="float32")).eps
    True
    >>> md.finfo(md.complex64).dtype
    dtype('float32')
    """
    limits = np.finfo(_dtype_of(x))
    return finfo_object(
        int(limits.bits),
        float(limits.eps),
        float(limits.max),
        float(limits.min),
        float(limits.smallest_normal),
        limits.dtype,
        float(limits.resolution),
        float(limits.tiny),
    )


def iinfo(x: Any, /) -> iinfo_object:
    """Machine limits of an integer dtype, as `numpy.iinfo`; `x` may also be a Tensor.

    >>> import minidiff as md
    >>> md.iinfo(md.int8).max
    127
    """
    limits = np.iinfo(_dtype_of(x))
    return iinfo_object(int(limits.bits), int(limits.max), int(limits.min), np.dtype(limits.dtype))
