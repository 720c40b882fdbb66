"""The NumPy backend: `xp` is `numpy` itself."""

from __future__ import annotations

from typing import Any

import numpy as np

from minidiff.backend import Backend


class NumpyBackend(Backend):
    """NumPy arrays on the CPU.

    >>> NumpyBackend().scatter_add.__doc__.split(":")[0].rstrip(".")
    '`target[key] += values` in place, repeated indices accumulating (`numpy.add.at`)'
    """

    name = "numpy"
    xp = np
    array_type = np.ndarray
    array_types = (np.ndarray,)
    default_float = np.dtype(np.float64)
    supports_float64 = True

    def to_host(self, array: Any) -> np.ndarray:
        return np.asarray(array)

    def from_host(self, array: np.ndarray) -> np.ndarray:
        return np.array(array)

    def owns(self, array: Any) -> bool:
        return array.base is None and array.flags.writeable

    def scatter_add(self, target: Any, key: Any, values: Any) -> None:
        """`target[key] += values` in place, repeated indices accumulating (`numpy.add.at`)."""
        np.add.at(target, key, values)

    def update(self, target: Any, ufunc: str, other: Any) -> bool:
        # out= skips the copy of an out-of-place result: for an SGD step on an MLP's weights
        # that copy was about a tenth of the update's time
        shape = np.shape(other)
        if np.result_type(target, other) != target.dtype or (
            shape != target.shape and shape and np.broadcast_shapes(target.shape, shape) != target.shape
        ):
            return False
        getattr(np, ufunc)(target, other, out=target)
        return True

    def make_rng(self, seed: int | None) -> np.random.Generator:
        return np.random.default_rng(seed)
