"""`md.__array_namespace_info__()`: what the namespace supports, as the standard's inspection API.

Devices are the installed backends that can run here; the default device is the backend
new tensors use now (`md.use_backend`, `MINIDIFF_BACKEND`, ...).

>>> import minidiff as md
>>> info = md.__array_namespace_info__()
>>> info.default_device(), info.default_dtypes()["real floating"]
('numpy', dtype('float64'))
>>> info.capabilities()["boolean indexing"]
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

_KINDS: dict[str, tuple[str, ...]] = {
    "bool": ("bool",),
    "signed integer": ("int8", "int16", "int32", "int64"),
    "unsigned integer": ("uint8", "uint16", "uint32", "uint64"),
    "real floating": ("float32", "float64"),
    "complex floating": ("complex64", "complex128"),
}
_KINDS["integral"] = _KINDS["signed integer"] + _KINDS["unsigned integer"]
_KINDS["numeric"] = _KINDS["integral"] + _KINDS["real floating"] + _KINDS["complex floating"]


class Info:
    """The standard's namespace-inspection object (`md.__array_namespace_info__()`)."""

    __module__ = "minidiff"

    def capabilities(self) -> dict[str, Any]:
        """What the default backend can do: boolean-mask indexing and data-dependent shapes
        (`unique_*`, `nonzero`) need concrete values, which a lazy backend lacks."""
        backend = _backend(None)
        return {
            "boolean indexing": bool(backend.supports_boolean_masks),
            "data-dependent shapes": not backend.lazy,
            "max dimensions": 64,
        }

    def default_device(self) -> str:
        """The backend new tensors use now."""
        return _backend(None).name

    def devices(self) -> list[str]:
        """The installed backends that can run here."""
        import minidiff

        return minidiff.available_backends()

    def default_dtypes(self, *, device: str | None = None) -> dict[str, np.dtype]:
        """The dtypes a creation function uses when given none, on `device` (a backend name)."""
        backend = _backend(device)
        floating = np.dtype(backend.default_float)
        complex_ = np.result_type(floating, np.complex64)
        return {
            "real floating": floating,
            "complex floating": complex_,
            "integral": np.dtype(backend.host_dtype(backend.asarray(0).dtype)),
            "indexing": np.dtype(np.intp),
        }

    def dtypes(self, *, device: str | None = None, kind: str | tuple[str, ...] | None = None) -> dict[str, np.dtype]:
        """The dtypes of the standard that `device` supports, by name, narrowed to `kind`
        (a kind name such as `"real floating"`, or a tuple of them)."""
        backend = _backend(device)
        kinds = (kind,) if isinstance(kind, str) else kind
        if kinds is None:
            names = _KINDS["bool"] + _KINDS["numeric"]
        else:
            unknown = [k for k in kinds if k not in _KINDS]
            if unknown:
                raise ValueError(f"unknown dtype kind {unknown[0]!r}; the kinds are {', '.join(_KINDS)}")
            names = tuple(dict.fromkeys(n for k in kinds for n in _KINDS[k]))
        if not backend.supports_float64:
            names = tuple(n for n in names if n not in ("float64", "complex128"))
        return {name: np.dtype(name) for name in names}


def _backend(device: str | None) -> Any:
    from minidiff.config import get_backend

    return get_backend(device)


def __array_namespace_info__() -> Info:
    """The standard's inspection object for the `minidiff` namespace.

    >>> import minidiff as md
    >>> "numpy" in md.__array_namespace_info__().devices()
    True
    """
    return Info()
