"""`md.random`: random tensors from minidiff's own seedable generators, one per backend.

`md.random.seed(n)` reseeds every backend: after it, the same calls give the same draws on
a backend (NumPy's `Generator` on NumPy, `cupy.random` on CuPy, keyed `mlx.core.random` on
MLX), independent of NumPy's, CuPy's or MLX's global random state. Backends draw with
their own algorithms, so one seed gives different numbers on different backends. Each
backend's generator is made on its first draw after a seed; without a seed it starts
from fresh entropy.

>>> import minidiff as md
>>> md.random.seed(0)
>>> a = md.random.randn(3)
>>> md.random.seed(0)
>>> bool((md.random.randn(3) == a).all())
True
"""

from __future__ import annotations

from typing import Any

from minidiff.config import get_backend
from minidiff._tensor import Tensor

__all__ = ["seed", "rand", "randn", "random", "uniform", "normal", "randint"]

_seed: int | None = None
_generators: dict[str, Any] = {}


def seed(value: int | None) -> None:
    """Reseed every backend's generator: the same seed gives the same draws on a backend."""
    global _seed
    _seed = value
    _generators.clear()


def _draw(backend: str | None, allow_grad: bool, dtype: Any, method: str, *args: Any) -> Tensor:
    chosen = get_backend(backend)
    rng = _generators.get(chosen.name)
    if rng is None:
        rng = _generators[chosen.name] = chosen.make_rng(_seed)
    data = chosen.asarray(getattr(rng, method)(*args))  # a Python number when size is None
    if method != "integers":
        # generators draw in a float of their own (float64 on NumPy, float32 on MLX)
        data = chosen.astype(data, dtype or chosen.default_float)
    return Tensor._leaf(data, chosen, allow_grad, dtype_given=dtype is not None)


def _size(shape: tuple) -> tuple[int, ...]:
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def rand(*shape: int, dtype: Any = None, backend: str | None = None, allow_grad: bool = False) -> Tensor:
    """Uniform draws on [0, 1): `md.random.rand(2, 3)`."""
    return _draw(backend, allow_grad, dtype, "random", _size(shape))


def randn(*shape: int, dtype: Any = None, backend: str | None = None, allow_grad: bool = False) -> Tensor:
    """Standard normal draws: `md.random.randn(2, 3)`."""
    return _draw(backend, allow_grad, dtype, "standard_normal", _size(shape))


def random(size: Any = None, *, dtype: Any = None, backend: str | None = None, allow_grad: bool = False) -> Tensor:
    """Uniform draws on [0, 1) of shape `size`."""
    return _draw(backend, allow_grad, dtype, "random", size)


def uniform(
    low: float = 0.0, high: float = 1.0, size: Any = None, *, dtype: Any = None, backend: str | None = None,
    allow_grad: bool = False,
) -> Tensor:
    """Uniform draws on [low, high)."""
    return _draw(backend, allow_grad, dtype, "uniform", low, high, size)


def normal(
    loc: float = 0.0, scale: float = 1.0, size: Any = None, *, dtype: Any = None, backend: str | None = None,
    allow_grad: bool = False,
) -> Tensor:
    """Normal draws with mean `loc` and standard deviation `scale`."""
    return _draw(backend, allow_grad, dtype, "normal", loc, scale, size)


def randint(low: int, high: int | None = None, size: Any = None, *, backend: str | None = None) -> Tensor:
    """Integers on [low, high), or [0, low) when `high` is omitted (integers never allow grad)."""
    if high is None:
        low, high = 0, low
    return _draw(backend, False, None, "integers", low, high, size)
