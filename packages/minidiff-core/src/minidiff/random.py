"""`md.random`: random tensors from minidiff's own seedable generators, one per backend.

`md.random.seed(n)` reseeds every backend: after it, the same calls give the same draws on
a backend (NumPy's `Generator` on NumPy, `cupy.random` on CuPy, keyed `mlx.core.random` on
MLX), independent of NumPy's, CuPy's or MLX's global random state. Backends draw with
their own algorithms, so one seed gives different numbers on different backends. Each
backend's generator is made on its first draw after a seed; without a seed it starts
from fresh entropy.

`get_state()` captures every generator (a nest of arrays, ints and strs that `md.save`
stores) and `set_state(state)` puts it back, so a resumed training run draws what the
uninterrupted one would have. `choice`, `permutation` and `binomial` (and `shuffle`, in
place) take NumPy's `Generator` signatures; a backend whose generator lacks one of these
draws (MLX's, CuPy's) draws it from a NumPy generator seeded by its own, on the host, so
seeding and `set_state` reproduce those draws too.

>>> import minidiff as md
>>> md.random.seed(0)
>>> a = md.random.randn(3)
>>> md.random.seed(0)
>>> bool((md.random.randn(3) == a).all())
True
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any

import numpy as np

from minidiff.config import get_backend
from minidiff._tensor import Tensor

if TYPE_CHECKING:
    from minidiff.backend import Backend

__all__ = [
    "seed", "get_state", "set_state", "rand", "randn", "random", "uniform", "normal", "randint", "choice",
    "permutation", "shuffle", "binomial",
]

_seed: Any = None
_generators: dict[str, Any] = {}
#: the version of `get_state()`'s layout; `set_state` refuses newer ones
_STATE_VERSION = 1


def seed(value: int | None) -> None:
    """Reseed every backend's generator: the same seed gives the same draws on a backend."""
    global _seed
    _seed = value
    _generators.clear()


def get_state() -> dict[str, Any]:
    """Every backend generator's state, for `set_state`: a dict of arrays, ints and strs
    that `md.save` stores (and pickle too), sharing no memory with the generators.

    >>> import io, minidiff as md
    >>> md.random.seed(0)
    >>> state = md.random.get_state()
    >>> first = md.random.randn(3)
    >>> buffer = io.BytesIO()
    >>> md.save(buffer, state)
    >>> _ = buffer.seek(0)
    >>> md.random.set_state(md.load(buffer))
    >>> bool((md.random.randn(3) == first).all())
    True
    """
    generators = {name: _state_of(name, rng) for name, rng in _generators.items()}
    return {"version": _STATE_VERSION, "seed": _seed, "generators": generators}


def set_state(state: dict[str, Any]) -> None:
    """Put back what `get_state` returned (also after `md.save` and `md.load`): the draws
    that followed `get_state` follow again, on every backend it had drawn on; the others
    start from the seed that was set then, as they would have. Nothing changes when
    `state` is not one `get_state` made (a ValueError says what is wrong with it)."""
    global _seed
    if not isinstance(state, dict) or not {"version", "seed", "generators"} <= state.keys():
        raise ValueError(
            f"md.random.set_state takes what md.random.get_state() returned (a dict with 'version', 'seed' "
            f"and 'generators'), got {type(state).__name__}{sorted(state) if isinstance(state, dict) else ''}"
        )
    version = state["version"]
    if not isinstance(version, (int, np.integer)) or not 1 <= version <= _STATE_VERSION:
        raise ValueError(
            f"md.random.set_state: a random state of version {version!r}; this minidiff reads versions "
            f"1 to {_STATE_VERSION} (a newer minidiff made it?)"
        )
    if not isinstance(state["generators"], dict):
        raise ValueError("md.random.set_state: the state's 'generators' is not a dict of backend name to state")
    restored = {}
    for name, generator_state in state["generators"].items():
        chosen = get_backend(name)
        restored[chosen.name] = rng = chosen.make_rng(None)  # any seed: its state is overwritten next
        _restore(chosen, rng, generator_state)
    _seed = state["seed"]
    _generators.clear()
    _generators.update(restored)


def _state_of(name: str, rng: Any) -> Any:
    if callable(getattr(rng, "get_state", None)):  # a backend generator that reports its own state
        return rng.get_state()
    if hasattr(rng, "bit_generator"):  # NumPy's Generator: a dict of ints and strs
        return rng.bit_generator.state
    if hasattr(rng, "_key"):
        # minidiff_mlx's MlxGenerator keeps its whole state in one MLX key; read here until it
        # reports it itself (the layout {"key": uint32 array} is what it would report)
        return {"key": np.array(rng._key, dtype=np.uint32)}
    raise NotImplementedError(
        f"md.random.get_state: the {name!r} backend's generator ({type(rng).__name__}) cannot report its state; "
        f"its backend needs to give it get_state() and set_state(state) methods"
    )


def _restore(chosen: Backend, rng: Any, state: Any) -> None:
    try:
        if callable(getattr(rng, "set_state", None)):
            rng.set_state(state)
        elif hasattr(rng, "bit_generator"):
            rng.bit_generator.state = state
        elif hasattr(rng, "_key"):  # see _state_of
            key = np.asarray(state["key"])
            if key.dtype != np.uint32 or key.shape != (2,):
                raise ValueError(f"an MLX key is a uint32 array of shape (2,), got {key.dtype} {key.shape}")
            rng._key = chosen.from_host(key)
        else:
            _state_of(chosen.name, rng)  # raises, naming what is missing
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(
            f"md.random.set_state: the state for backend {chosen.name!r} is not one its generator "
            f"({type(rng).__name__}) made: {type(exc).__name__}: {exc}"
        ) from exc


def _rng(chosen: Backend) -> Any:
    """The backend's generator, made on its first draw after a seed."""
    rng = _generators.get(chosen.name)
    if rng is None:
        rng = _generators[chosen.name] = chosen.make_rng(_seed)
    return rng


def _draw(backend: str | None, allow_grad: bool, dtype: Any, method: str, *args: Any) -> Tensor:
    chosen = get_backend(backend)
    data = chosen.asarray(getattr(_rng(chosen), method)(*args))  # a Python number when size is None
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


# ---------------------------------------------------------------------------- index draws


def _numpy_draw(chosen: Backend, method: str, *args: Any, **kwargs: Any) -> Any:
    """`method` of NumPy's `Generator` drawn from the backend's generator, as a backend array.

    A generator without the method (MLX's and CuPy's have only the five floating and
    integer draws) seeds a NumPy generator with eight 16-bit words of its own draws: those
    draws come from the backend's generator, so its seed and state decide them too.
    """
    rng = _rng(chosen)
    method_of = getattr(rng, method, None)
    if method_of is None:
        words = chosen.to_host(chosen.asarray(rng.integers(0, 2**16, 8)))  # 16 bits: exact on every backend
        method_of = getattr(np.random.default_rng([int(w) for w in words]), method)
    return chosen.asarray(method_of(*args, **kwargs))


def _operand_backend(backend: str | None, operand: Any, name: str) -> Backend:
    """The backend to draw on: `backend=`, else the Tensor operand's, else the active one."""
    if not isinstance(operand, Tensor):
        return get_backend(backend)
    if backend is not None and get_backend(backend) is not operand.backend:
        raise ValueError(
            f"{name} is on backend {operand.backend.name!r}, not {backend!r}; move it with "
            f"{name}.to({backend!r}) or leave out backend="
        )
    return operand.backend


def _axis(x: Tensor, axis: int, what: str) -> int:
    """`axis` of `x` made non-negative, checked before anything is drawn."""
    if x.ndim == 0:
        raise ValueError(f"md.random.{what} needs an integer or an array of at least one dimension, got a 0-d array")
    axis = operator.index(axis)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"md.random.{what}: axis {axis} is out of bounds for an array of shape {x.shape}")
    return axis % x.ndim


def _along(x: Tensor, axis: int, indices: Any) -> Tensor:
    """`x` indexed by `indices` along `axis`, through getitem: differentiable in `x`."""
    index = Tensor._leaf(indices, x.backend, False, dtype_given=True)
    return x[(slice(None),) * axis + (index,)]


def _as_tensor(x: Any, chosen: Backend) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x, backend=chosen.name)


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _host(x: Any) -> Any:
    """A Tensor operand's values on the host (NumPy's generator reads them there)."""
    return x.numpy() if isinstance(x, Tensor) else x


def permutation(x: Any, axis: int = 0, *, backend: str | None = None) -> Tensor:
    """A random permutation of `range(x)` (an integer `x`, int64 indices), or `x` permuted
    along `axis`, as NumPy's `Generator.permutation`. The indices are drawn, not learned: the
    permuted copy of a Tensor that allows grad is differentiable in it, as `x[indices]` is.

    >>> import minidiff as md
    >>> md.random.seed(0)
    >>> sorted(md.random.permutation(5).tolist())
    [0, 1, 2, 3, 4]
    """
    chosen = _operand_backend(backend, x, "x")
    if _is_int(x):
        return Tensor._leaf(_numpy_draw(chosen, "permutation", int(x)), chosen, False, dtype_given=True)
    x = _as_tensor(x, chosen)
    axis = _axis(x, axis, "permutation")
    return _along(x, axis, _numpy_draw(chosen, "permutation", x.shape[axis]))


def shuffle(x: Tensor, axis: int = 0) -> None:
    """Shuffle the Tensor `x` in place along `axis`, as NumPy's `Generator.shuffle`; `x` must
    not allow grad (take `md.random.permutation(x)`, a differentiable copy, there). Like
    `x[...] = v`, it counts as an in-place change, so a graph that saved `x` notices.

    >>> import minidiff as md
    >>> x = md.arange(6)
    >>> md.random.shuffle(x)
    >>> sorted(x.tolist())
    [0, 1, 2, 3, 4, 5]
    """
    if not isinstance(x, Tensor):
        raise TypeError(
            f"md.random.shuffle shuffles a minidiff Tensor in place, got {type(x).__name__!r}; "
            f"shuffle a NumPy array with numpy's own generator"
        )
    if x.allow_grad:
        raise RuntimeError(
            "md.random.shuffle changes its tensor in place, which would corrupt the gradient of a tensor that "
            "allows grad; md.random.permutation(x) gives a shuffled copy that is differentiable in x"
        )
    shuffled = permutation(x, axis)
    x[...] = shuffled


def choice(
    a: Any, size: Any = None, replace: bool = True, p: Any = None, axis: int = 0, shuffle: bool = True, *,
    backend: str | None = None,
) -> Tensor:
    """A random sample from `range(a)` (an integer `a`, int64 indices) or from the entries of
    `a` along `axis`, with or without replacement, uniform or weighted by `p`, as NumPy's
    `Generator.choice`. Sampling entries of a Tensor that allows grad is differentiable in
    it, as indexing is; the sampled indices themselves are not learned.

    >>> import minidiff as md
    >>> md.random.choice(5, size=3, replace=False).shape
    (3,)
    >>> md.random.choice(md.Tensor([1.0, 2.0]), p=[0.0, 1.0]).item()
    2.0
    """
    chosen = _operand_backend(backend, a, "a")
    p = None if p is None else np.asarray(_host(p), dtype=np.float64)
    if _is_int(a):
        indices = _numpy_draw(chosen, "choice", int(a), size=size, replace=replace, p=p, shuffle=shuffle)
        return Tensor._leaf(indices, chosen, False, dtype_given=True)
    a = _as_tensor(a, chosen)
    axis = _axis(a, axis, "choice")
    indices = _numpy_draw(chosen, "choice", a.shape[axis], size=size, replace=replace, p=p, shuffle=shuffle)
    return _along(a, axis, indices)


def binomial(n: Any, p: Any, size: Any = None, *, backend: str | None = None) -> Tensor:
    """Draws from binomial distributions with `n` trials of success probability `p` (both
    broadcast against `size`), as NumPy's `Generator.binomial`: int64 counts, not
    differentiable. A Tensor `n` or `p` puts the draws on its backend.

    >>> import minidiff as md
    >>> counts = md.random.binomial(10, 0.5, size=4)
    >>> counts.dtype, bool(((counts >= 0) & (counts <= 10)).all())
    (dtype('int64'), True)
    """
    tensor = n if isinstance(n, Tensor) else p
    chosen = _operand_backend(backend, tensor, "n" if tensor is n else "p")
    counts = _numpy_draw(chosen, "binomial", _host(n), _host(p), size)
    return Tensor._leaf(counts, chosen, False, dtype_given=True)
