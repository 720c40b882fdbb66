"""What a backend provides: an array namespace and the few operations NumPy spells differently.

A backend distribution subclasses `Backend` and registers a factory for it through the
`minidiff_register_backends` hook. Ops are written against `backend.xp`, a NumPy-like
namespace; the methods here cover what namespaces disagree on.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np


class BackendUnavailable(RuntimeError):
    """A known backend that cannot be used here (its array library or device is missing).

    A backend's factory raises it with the reason and, where installing something would
    help, the command (`install`), which the message then ends with:

    >>> str(BackendUnavailable("CuPy is not installed", install='pip install "minidiff[cuda]"'))
    'CuPy is not installed; install it with: pip install "minidiff[cuda]"'
    """

    def __init__(self, reason: str, *, install: str | None = None) -> None:
        self.reason = reason
        self.install = install
        super().__init__(f"{reason}; install it with: {install}" if install else reason)


class Backend:
    """Base class of array backends.

    Conformance checks known to fail on a backend (MLX's float32 default float makes the
    creation ops differ from NumPy) are declared next to the factory, in the plugin module,
    as `EXPECTED_FAILURES = {"test_forward[zeros-0]": "why"}`: the backend's own tests and
    `minidiff check <backend>` both read it (`minidiff.testing.expected`).

    >>> import minidiff as md
    >>> md.get_backend().name
    'numpy'
    """

    name: str = ""
    #: the NumPy-like array namespace ops are written against
    xp: Any = None
    #: the class of the arrays its ops return
    array_type: type = object
    #: every array class of the backend, taken as operands as they are
    array_types: tuple[type, ...] = ()
    #: dtype of new floating tensors when none is given (a NumPy dtype)
    default_float: Any = None
    #: capability flags, shown in docs/backends.md; a backend says what it lacks here and
    #: raises a clear error (or falls back exactly) where the flag is False
    supports_float64: bool = True
    #: `x[mask]` with a boolean mask runs on the device (False: a documented fallback or error)
    supports_boolean_masks: bool = True
    #: md.linalg runs on the backend's device (False: on a host stream, or not at all)
    supports_linalg: bool = True
    #: where the arrays live, in words (`minidiff info` shows it)
    device: str = "cpu"
    #: arrays are recipes computed on demand (Dask): values are read through `compute`, and
    #: rules that would read a value to choose a formula take the one exact everywhere
    lazy: bool = False
    #: keywords `array`/`from_host` take beyond the data (`chunks` on Dask), which
    #: `md.Tensor(..., **options)` and `t.to(backend, **options)` pass on
    array_options: frozenset[str] = frozenset()

    def asarray(self, obj: Any, dtype: Any = None) -> Any:
        """An array of this backend from a nested list, scalar, host or backend array."""
        return self.xp.asarray(obj, dtype=dtype)

    def array(self, obj: Any, dtype: Any = None) -> Any:
        """A new array (a copy) of this backend, as `md.Tensor(...)` makes."""
        return self.xp.array(obj, dtype=dtype)

    def to_host(self, array: Any) -> np.ndarray:
        """The array as a NumPy array on the host."""
        raise NotImplementedError

    def from_host(self, array: np.ndarray) -> Any:
        """A NumPy array copied onto this backend."""
        return self.asarray(array)

    def owns(self, array: Any) -> bool:
        """True when `array` is its own writable memory, not a view of another array.
        The engine copies gradients it cannot prove are owned; the default proves nothing."""
        return False

    def host_dtype(self, dtype: Any) -> np.dtype:
        """The NumPy dtype that names the backend dtype `dtype`: `Tensor.dtype` is always a
        NumPy dtype, whatever the backend calls its own (MLX has `mlx.core.float32`)."""
        return np.dtype(dtype)

    def is_floating(self, dtype: Any) -> bool:
        return bool(self.xp.issubdtype(dtype, self.xp.floating))

    def is_inexact(self, dtype: Any) -> bool:
        """Floating or complex: the dtypes a tensor may allow grad in."""
        return bool(self.xp.issubdtype(dtype, self.xp.inexact))

    @functools.cached_property
    def complex_dtypes(self) -> frozenset:
        """The backend's own complex dtypes, as its arrays report them: the engine asks
        `array.dtype in backend.complex_dtypes` once per node, which a set answers fastest
        (and, cached in the instance, is read as fast as a plain attribute)."""
        names = ("complex64", "complex128")
        kinds = [getattr(self.xp, name) for name in names if hasattr(self.xp, name)]
        return frozenset(self.xp.zeros(1, dtype=kind).dtype for kind in kinds)

    def astype(self, array: Any, dtype: Any) -> Any:
        """`array` cast to `dtype` (a NumPy dtype, or one of the backend's own)."""
        return array.astype(dtype)

    def compute(self, *arrays: Any) -> list[np.ndarray]:
        """The arrays' values on the host, computed together (a lazy backend runs the work
        they share once; `md.compute`)."""
        return [self.to_host(a) for a in arrays]

    def synchronize(self, *arrays: Any) -> None:
        """Wait until `arrays` are computed (lazy or asynchronous backends); for timing."""

    def setitem(self, target: Any, key: Any, value: Any) -> None:
        """`target[key] = value` in place (`t[key] = value`), with NumPy's indexing and its
        IndexError for an index out of bounds."""
        target[key] = value

    def scatter_add(self, target: Any, key: Any, values: Any) -> None:
        """`target[key] += values` in place, with repeated indices accumulating."""
        raise NotImplementedError

    def update(self, target: Any, ufunc: str, other: Any) -> bool:
        """`target = xp.<ufunc>(target, other)` computed into `target`'s own memory (`p -= lr * g`),
        when this backend can do it without changing the result's dtype or shape; False
        otherwise, and then the caller assigns the out-of-place result."""
        return False

    def compile_function(self, function: Any) -> Any:
        """`function` (of this backend's arrays, returning a tuple of them, pure: it writes into
        no array) compiled by the backend's own compiler, or None where it has none. `md.compile`
        hands it a step's program; arrays the function reads come in as arguments."""
        return None

    def make_rng(self, seed: int | None) -> Any:
        """A random generator with the methods of NumPy's `Generator` that `md.random` uses:
        `random(size)`, `standard_normal(size)`, `uniform(low, high, size)`,
        `normal(loc, scale, size)` and `integers(low, high, size)`, returning arrays of this
        backend (or Python numbers when `size` is None). Floating draws may come in any
        floating dtype: `md.random` casts them. The same seed must give the same draws."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<minidiff backend {self.name!r}>"
