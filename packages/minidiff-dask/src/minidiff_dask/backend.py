"""The Dask backend: lazy, chunked `dask.array` arrays, computed by the configured scheduler."""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np

from minidiff.backend import Backend
from minidiff_dask import scheduler
from minidiff_dask import xp as dask_xp
from minidiff_dask.settings import current_chunks


class DaskBackend(Backend):
    """Dask arrays: every op adds to a task graph, and nothing runs until a value is asked for.

    What differs from NumPy, and how minidiff handles it (docs/dask.md has the whole story):

    - evaluation is lazy: `t.numpy()`, `t.item()`, printing, `t.to("numpy")` and
      `md.compute(a, b, ...)` compute (the latter several tensors in one pass); building a
      loss and calling `backward()` only builds the graph of the values and gradients;
    - computing uses the active `distributed.Client`, else the scheduler at
      ``MINIDIFF_DASK_SCHEDULER`` (or ``[tool.minidiff.dask] scheduler``), else Dask's threads;
    - arrays made from host data are chunked by ``with minidiff_dask.chunks(...)`` (Dask's
      ``"auto"`` otherwise); a Dask array given as data keeps its chunks;
    - ops whose result's shape depends on the values (`x[mask]`, `md.argwhere`) and NumPy
      functions Dask lacks compute what they need at once, with a `DaskComputeWarning`;
    - `md.linalg` runs NumPy's LAPACK matrix by matrix when the graph runs (`minidiff_dask.linalg`).

    >>> import minidiff as md
    >>> t = md.Tensor([1.0, 2.0], backend="dask")
    >>> type(t.data).__module__, (t * 3).sum().item()
    ('minidiff_dask.xp', 9.0)
    """

    name = "dask"
    xp = dask_xp
    array_type = dask_xp.Array
    array_types = (da.Array,)
    default_float = np.dtype(np.float64)
    supports_float64 = True
    #: evaluation waits until a value is asked for (DESIGN.md section 7: code asks the capability)
    lazy = True
    #: what `array` and `from_host` take besides the data: the chunks of the new array
    array_options = frozenset({"chunks"})

    @property
    def device(self) -> str:  # type: ignore[override]
        return scheduler.describe()

    def asarray(self, obj: Any, dtype: Any = None, chunks: Any = None) -> Any:
        return dask_xp.asarray(obj, dtype, chunks)

    def array(self, obj: Any, dtype: Any = None, chunks: Any = None) -> Any:
        return dask_xp.array(obj, dtype, chunks)

    def to_host(self, array: Any) -> np.ndarray:
        (value,) = self.compute(array)
        return value

    def from_host(self, array: np.ndarray, chunks: Any = None) -> Any:
        return dask_xp.array(np.asarray(array), None, chunks)

    def compute(self, *arrays: Any) -> list[np.ndarray]:
        """NumPy arrays of `arrays`' values, computed in one pass of the scheduler: work the
        arrays share (a loss and the gradients computed from it) runs once."""
        return dask_xp.computed(*arrays)

    def is_floating(self, dtype: Any) -> bool:
        return np.dtype(dtype).kind == "f"

    def astype(self, array: Any, dtype: Any) -> Any:
        return dask_xp.astype(array, dtype)

    def synchronize(self, *arrays: Any) -> None:
        scheduler.wait(*arrays)

    def setitem(self, target: Any, key: Any, value: Any) -> None:
        dask_xp.setitem(target, key, value)

    def scatter_add(self, target: Any, key: Any, values: Any) -> None:
        """`target[key] += values` with repeated indices accumulating: the sum is a new graph
        (`minidiff_dask.xp.add_at`) that `target` takes in place of its own."""
        target[...] = dask_xp.add_at(target, key, values)

    def make_rng(self, seed: int | None) -> DaskGenerator:
        return DaskGenerator(seed)


class DaskGenerator:
    """The draws `md.random` asks for, as lazy `dask.array.random` arrays.

    A NumPy generator seeded with `seed` picks one seed per draw, so a seed reproduces every
    draw on any scheduler, and the values are generated chunk by chunk where the graph runs
    (on the workers of a cluster), never on the client. Its state is that NumPy generator's.
    """

    def __init__(self, seed: int | None) -> None:
        self._seeds = np.random.default_rng(seed)

    def _next(self) -> Any:
        return da.random.default_rng(int(self._seeds.integers(2**63)))

    def get_state(self) -> dict[str, Any]:
        return dict(self._seeds.bit_generator.state)

    def set_state(self, state: dict[str, Any]) -> None:
        self._seeds.bit_generator.state = state

    def _draw(self, method: str, *args: Any, size: Any) -> Any:
        if size is None:
            return getattr(self._next(), method)(*args)
        return dask_xp.wrap(getattr(self._next(), method)(*args, size=size, chunks=current_chunks()))

    def random(self, size: Any = None) -> Any:
        return self._draw("random", size=size)

    def standard_normal(self, size: Any = None) -> Any:
        return self._draw("standard_normal", size=size)

    def uniform(self, low: Any = 0.0, high: Any = 1.0, size: Any = None) -> Any:
        return self._draw("uniform", low, high, size=size)

    def normal(self, loc: Any = 0.0, scale: Any = 1.0, size: Any = None) -> Any:
        return self._draw("normal", loc, scale, size=size)

    def integers(self, low: int, high: int, size: Any = None) -> Any:
        return self._draw("integers", low, high, size=size)
