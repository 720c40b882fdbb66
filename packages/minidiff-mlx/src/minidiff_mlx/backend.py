"""The MLX backend: arrays of `mlx.core`, spoken to through the NumPy-like `minidiff_mlx.xp`."""

from __future__ import annotations

from typing import Any

import mlx.core as mx
import numpy as np

from minidiff.backend import Backend
from minidiff_mlx import xp as mlx_xp


class MlxBackend(Backend):
    """MLX arrays on MLX's default device: the GPU on Apple silicon, the CPU elsewhere.

    What differs from NumPy, and how minidiff handles it (docs/backends.md has the table):

    - new floating tensors are float32 (MLX's default float); float64 exists on the CPU only,
      and asking for it on the GPU raises a TypeError that says how to get float32;
    - MLX evaluates lazily: `to_host` (`t.numpy()`, `t.item()`, printing) evaluates, and
      `synchronize` waits for arrays (for timing);
    - boolean-mask indexing, which MLX lacks, selects through the mask's `nonzero()` computed
      on the host (`supports_boolean_masks` is False: the mask's values are read back first);
    - `md.linalg` runs on MLX's CPU stream (MLX has no GPU linear algebra);
    - scatter-add is MLX's `x.at[key].add(values)`.

    >>> import minidiff as md
    >>> t = md.Tensor([1.0, 2.0], backend="mlx")
    >>> t.dtype, type(t.data).__module__
    (dtype('float32'), 'mlx.core')
    """

    name = "mlx"
    xp = mlx_xp
    array_type = mx.array
    array_types = (mx.array,)
    default_float = np.dtype(np.float32)
    supports_boolean_masks = False

    def __init__(self) -> None:
        device = mx.default_device()
        on_cpu = device == mx.cpu
        self.device = "cpu" if on_cpu else "gpu"
        self.supports_float64 = on_cpu
        self.supports_linalg = on_cpu  # elsewhere it runs on the CPU stream
        mlx_xp.float64_supported = on_cpu

    def asarray(self, obj: Any, dtype: Any = None) -> Any:
        return mlx_xp.asarray(obj, dtype)

    def array(self, obj: Any, dtype: Any = None) -> Any:
        return mlx_xp.array(obj, dtype)

    def to_host(self, array: Any) -> np.ndarray:
        return mlx_xp.to_numpy(array)

    def from_host(self, array: np.ndarray) -> Any:
        return mlx_xp.asarray(np.asarray(array))  # keeps the host dtype

    def host_dtype(self, dtype: Any) -> np.dtype:
        return mlx_xp.numpy_dtype(dtype)

    def is_floating(self, dtype: Any) -> bool:
        return mlx_xp.numpy_dtype(dtype).kind == "f"

    def astype(self, array: Any, dtype: Any) -> Any:
        return mlx_xp.astype(array, dtype)

    def synchronize(self, *arrays: Any) -> None:
        mx.eval(*arrays)

    def setitem(self, target: Any, key: Any, value: Any) -> None:
        mlx_xp.setitem(target, key, value)

    def scatter_add(self, target: Any, key: Any, values: Any) -> None:
        """`target[key] += values` in place, repeated indices accumulating (`target.at[key].add`)."""
        mlx_xp.add_at(target, key, values)

    def compile_function(self, function: Any) -> Any:
        """`mx.compile(function)`: `md.compile` runs a step's program through it (fusing its
        elementwise kernels)."""
        return mx.compile(function)

    def make_rng(self, seed: int | None) -> MlxGenerator:
        return MlxGenerator(seed)


class MlxGenerator:
    """The draws `md.random` asks for, from `mlx.core.random` with a key of its own.

    Each draw splits the key, so a seed gives the same sequence of draws whatever else uses
    MLX's global random state. Floating draws are float32 (MLX's generator), on every device.
    """

    def __init__(self, seed: int | None) -> None:
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])  # fresh entropy
        self._key = mx.random.key(seed)

    def _next_key(self) -> Any:
        self._key, key = mx.random.split(self._key)
        return key

    @staticmethod
    def _shape(size: Any, *params: Any) -> list[int]:
        if size is None:
            return list(np.broadcast_shapes(*(np.shape(p) for p in params)))
        return list(mlx_xp._shape(size))

    def random(self, size: Any = None) -> Any:
        return mx.random.uniform(0.0, 1.0, self._shape(size), key=self._next_key())

    def standard_normal(self, size: Any = None) -> Any:
        return mx.random.normal(self._shape(size), key=self._next_key())

    def uniform(self, low: Any = 0.0, high: Any = 1.0, size: Any = None) -> Any:
        shape = self._shape(size, low, high)
        return mx.random.uniform(mlx_xp.asarray(low), mlx_xp.asarray(high), shape, key=self._next_key())

    def normal(self, loc: Any = 0.0, scale: Any = 1.0, size: Any = None) -> Any:
        shape = self._shape(size, loc, scale)
        return mx.random.normal(shape, loc=mlx_xp.asarray(loc), scale=mlx_xp.asarray(scale), key=self._next_key())

    def integers(self, low: int, high: int, size: Any = None) -> Any:
        shape = self._shape(size, low, high)
        return mx.random.randint(low, high, shape, dtype=mx.int64, key=self._next_key())
