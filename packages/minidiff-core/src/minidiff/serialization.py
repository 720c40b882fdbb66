"""`md.save` and `md.load`: tensors, arrays and nests of them in one `.npz` file, never pickled.

The file is an ordinary NumPy `.npz` archive: one `.npy` member per array (a tensor's values
are stored through the host) and a member `__minidiff__` holding a JSON manifest as a 0-d
str array. The manifest records the nest (dicts with str keys, lists, tuples, Python
scalars) and, for each tensor, its dtype, backend and `allow_grad`. Plain NumPy reads the
file with `np.load(f)`, pickle left off:

>>> import io, json
>>> import numpy as np, minidiff as md
>>> buffer = io.BytesIO()
>>> md.save(buffer, {"w": md.Tensor([1.0, 2.0], allow_grad=True), "step": 3})
>>> _ = buffer.seek(0)
>>> with np.load(buffer, allow_pickle=False) as f:
...     print(sorted(f.files), f["a0"], json.loads(str(f["__minidiff__"]))["root"]["type"])
['__minidiff__', 'a0'] [1. 2.] dict

Loading never runs code: arrays come from NumPy with `allow_pickle=False`, the manifest
from `json`, and nothing in the file names a class or function to call. The graph and a
tensor's `.grad` are not saved (save `t.grad` itself where it matters).
"""

from __future__ import annotations

import json
import os
from typing import IO, Any, Union

import numpy as np

from minidiff._tensor import Tensor

__all__ = ["save", "load", "FORMAT_VERSION"]

#: the manifest's format version: `load` reads files up to this one and refuses newer ones
FORMAT_VERSION = 1
_MANIFEST = "__minidiff__"
_SCALARS = ("none", "bool", "int", "float", "complex", "str")

File = Union[str, "os.PathLike[str]", IO[bytes]]


# ---------------------------------------------------------------------------- save


def save(file: File, obj: Any, *, compress: bool = False) -> None:
    """Write `obj` (a Tensor, an array, a Python scalar, or dicts with str keys, lists and
    tuples of these, nested) to `file`, a path or a binary file object.

    A path is written exactly as given: unlike `numpy.savez`, no `.npz` is appended, so
    `md.load` reads back the same name (name checkpoints `*.npz` for other tools' sake).
    `compress=True` deflates the arrays (`numpy.savez_compressed`): smaller, slower.
    An object that appears twice in `obj` (tied weights) is stored once and loads as one
    object again. Anything else (sets, objects, dicts with non-str keys, object arrays,
    tuple or dict subclasses) raises a TypeError naming where it sits in `obj`, before the
    file is touched.

    >>> import io, minidiff as md
    >>> buffer = io.BytesIO()
    >>> md.save(buffer, [md.Tensor([1.0]), (2, "two")])
    >>> _ = buffer.seek(0)
    >>> md.load(buffer)
    [minidiff.Tensor([1.]), (2, 'two')]
    """
    writer = _Writer()
    manifest = {"format": "minidiff", "version": FORMAT_VERSION, "root": writer.encode(obj, "obj", set())}
    arrays = {**writer.arrays, _MANIFEST: np.array(json.dumps(manifest))}
    write = np.savez_compressed if compress else np.savez
    if isinstance(file, (str, os.PathLike)):
        with open(file, "wb") as stream:  # our own handle: savez would append ".npz" to a name
            write(stream, allow_pickle=False, **arrays)
    else:
        write(file, allow_pickle=False, **arrays)


class _Writer:
    """Turns a nest into manifest nodes, collecting its arrays under names `a0`, `a1`, ..."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._names: dict[int, str] = {}  # id of a saved tensor or array -> its member name
        self._keep: list[Any] = []  # holds what _names refers to, so no id is reused meanwhile

    def encode(self, obj: Any, path: str, open_containers: set[int]) -> dict[str, Any]:
        if isinstance(obj, Tensor):
            node = {"type": "tensor", "array": self._store(obj, obj.numpy, path), "dtype": str(obj.dtype),
                    "backend": obj.backend.name, "allow_grad": obj.allow_grad}
            if isinstance(obj.name, str):
                node["name"] = obj.name
            return node
        if isinstance(obj, np.ndarray):
            return {"type": "array", "array": self._store(obj, lambda: obj, path)}
        if isinstance(obj, np.generic):
            return {"type": "numpy_scalar", "array": self._store(obj, lambda: np.asarray(obj), path)}
        if obj is None:
            return {"type": "none"}
        if isinstance(obj, bool):  # before int: bool is an int subclass
            return {"type": "bool", "value": obj}
        if isinstance(obj, int):
            return {"type": "int", "value": int(obj)}
        if isinstance(obj, float):
            return {"type": "float", "value": repr(float(obj))}  # repr round-trips, nan and inf included
        if isinstance(obj, complex):
            return {"type": "complex", "value": [repr(obj.real), repr(obj.imag)]}
        if isinstance(obj, str):
            return {"type": "str", "value": str(obj)}
        if type(obj) in (dict, list, tuple):
            if id(obj) in open_containers:
                raise TypeError(f"md.save: {path} contains itself; a nest to save must not be circular")
            open_containers.add(id(obj))
            try:
                return self._container(obj, path, open_containers)
            finally:
                open_containers.discard(id(obj))
        owner = _owning_backend(obj)
        if owner is not None:  # an array of another backend (MLX, CuPy): saved, and loaded, as a NumPy array
            return {"type": "array", "array": self._store(obj, lambda: owner.to_host(obj), path)}
        hint = ""
        plain = next((kind for kind in (dict, list, tuple) if isinstance(obj, kind)), None)
        if plain is not None:  # OrderedDict, namedtuple, ...: refused rather than loaded back as something else
            hint = f" (a {plain.__name__} subclass, which would load as a plain {plain.__name__}: convert it first)"
        raise TypeError(
            f"md.save cannot store {path}, of type {type(obj).__name__!r}{hint}; it stores Tensors, arrays, "
            f"int, float, bool, complex, str, None, and dicts (str keys), lists and tuples of these"
        )

    def _container(self, obj: Any, path: str, open_containers: set[int]) -> dict[str, Any]:
        if isinstance(obj, dict):
            items = {}
            for key, value in obj.items():
                if not isinstance(key, str):
                    raise TypeError(
                        f"md.save: {path} has key {key!r} of type {type(key).__name__!r}; dict keys must be str"
                    )
                items[key] = self.encode(value, f"{path}[{key!r}]", open_containers)
            return {"type": "dict", "items": items}
        items = [self.encode(value, f"{path}[{i}]", open_containers) for i, value in enumerate(obj)]
        return {"type": type(obj).__name__, "items": items}

    def _store(self, obj: Any, host: Any, path: str) -> str:
        name = self._names.get(id(obj))
        if name is None:
            array = host()
            if array.dtype.hasobject:
                raise TypeError(f"md.save: {path} is an array of dtype {array.dtype}, which only pickle could store")
            name = self._names[id(obj)] = f"a{len(self.arrays)}"
            self.arrays[name] = array
            self._keep.append(obj)
        return name


def _owning_backend(obj: Any) -> Any:
    """The usable backend whose array type `obj` is, or None."""
    from minidiff import plugins
    from minidiff.backend import BackendUnavailable

    for name in plugins.backend_names():
        try:
            backend = plugins.backend(name)
        except (BackendUnavailable, ValueError):
            continue
        if backend.array_types and isinstance(obj, backend.array_types):
            return backend
    return None


# ---------------------------------------------------------------------------- load


def load(file: File, *, backend: str | None = None) -> Any:
    """Read back what `md.save` wrote to `file` (a path or a binary file object).

    Tensors come back on the backend they were saved from, with their dtype and
    `allow_grad`, as leaves; `backend="mlx"` (any backend name) loads every tensor onto that
    backend instead. Arrays come back as NumPy arrays, tuples as tuples, lists as lists.
    A file that is not one `md.save` wrote (a plain `.npz`, a `.npy`, a pickle, a truncated
    or corrupt archive, a manifest from a newer minidiff) raises a ValueError naming the
    file and what is wrong with it. A path is opened as given: no `.npz` is appended.

    >>> import io, minidiff as md
    >>> buffer = io.BytesIO()
    >>> md.save(buffer, {"w": md.Tensor([1.0, 2.0], allow_grad=True)})
    >>> _ = buffer.seek(0)
    >>> md.load(buffer, backend="numpy")
    {'w': minidiff.Tensor([1., 2.], allow_grad=True)}
    """
    if isinstance(file, (str, os.PathLike)):
        label = repr(os.fspath(file))
        try:
            stream = open(file, "rb")
        except FileNotFoundError as exc:
            npz = f"{os.fspath(file)}.npz"
            if os.path.exists(npz):
                exc.add_note(f"{npz!r} exists: numpy.savez appends '.npz' to a name; md.save and md.load do not")
            raise
        with stream:
            return _read(stream, label, backend)
    name = getattr(file, "name", None)
    return _read(file, repr(name) if isinstance(name, (str, bytes)) else repr(file), backend)


def _read(stream: IO[bytes], label: str, backend: str | None) -> Any:
    start = stream.tell()
    head = stream.read(8)
    stream.seek(start)
    if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):  # a zip archive's first entry, or an empty one
        raise ValueError(f"{label} is not a file md.save wrote: {_foreign(head)}")
    try:
        with np.load(stream, allow_pickle=False) as archive:
            members = {name: archive[name] for name in archive.files} if _MANIFEST in archive.files else None
    except Exception as exc:
        # Reading untrusted bytes goes through zipfile, its decompressors (zlib, bz2, lzma) and
        # NumPy's header parser, which raise many types (BadZipFile, OSError, EOFError, ...):
        # each one means a damaged file here, and the original stays chained for the details.
        raise ValueError(f"{label} is damaged (truncated or corrupt): {type(exc).__name__}: {exc}") from exc
    if members is None:
        raise ValueError(
            f"{label} is a plain NumPy .npz archive without minidiff's manifest ({_MANIFEST!r}): read it with np.load"
        )
    manifest = _manifest(members.pop(_MANIFEST), label)
    try:
        return _Reader(members, label, backend).decode(manifest["root"], "obj")
    except RecursionError:
        raise ValueError(f"{label}: the manifest nests deeper than Python's recursion limit") from None


def _foreign(head: bytes) -> str:
    """What a file starting with `head` is, in words, when it is not a zip archive."""
    if head.startswith(b"\x93NUMPY"):
        return "it is a single .npy array (read it with np.load)"
    if head.startswith(b"\x80") or head[:1] in (b"(", b"]", b"}"):
        return "it looks like a pickle, which md.load never reads (unpickling can run arbitrary code)"
    if not head:
        return "it is empty"
    return f"it is not a .npz (zip) archive (it starts with bytes {head!r})"


def _manifest(member: np.ndarray, label: str) -> dict[str, Any]:
    if member.dtype.kind != "U" or member.ndim != 0:
        raise ValueError(
            f"{label}: the {_MANIFEST!r} member is not a JSON string (dtype {member.dtype}, shape {member.shape})"
        )
    try:
        manifest = json.loads(str(member))
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{label}: the manifest is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != "minidiff":
        raise ValueError(f"{label}: the {_MANIFEST!r} member is not a minidiff manifest")
    version = manifest.get("version")
    if type(version) is not int or version < 1:
        raise ValueError(f"{label}: the manifest has no valid format version (got {version!r})")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{label} was written in minidiff file format version {version}, newer than this minidiff reads "
            f"(up to {FORMAT_VERSION}); upgrade minidiff to load it"
        )
    if "root" not in manifest:
        raise ValueError(f"{label}: the manifest has no 'root' entry")
    return manifest


class _Reader:
    """Turns manifest nodes back into objects, checking each one (the file may be damaged)."""

    def __init__(self, arrays: dict[str, np.ndarray], label: str, backend: str | None) -> None:
        self.arrays = arrays
        self.label = label
        self.backend = backend
        self._loaded: dict[str, Any] = {}  # node (as JSON) -> its object: what was shared stays shared

    def corrupt(self, path: str, what: str) -> ValueError:
        return ValueError(f"{self.label} is corrupt: the manifest entry for {path} {what}")

    def field(self, node: dict[str, Any], key: str, kind: type, path: str) -> Any:
        value = node.get(key)
        if type(value) is not kind:  # exact: JSON's true is no int here
            raise self.corrupt(path, f"has no valid {key!r} (got {value!r:.80})")
        return value

    def decode(self, node: Any, path: str) -> Any:
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            raise self.corrupt(path, f"is not a node with a 'type' (got {node!r:.80})")
        kind = node["type"]
        if kind in _SCALARS:
            return self._scalar(kind, node, path)
        if kind == "dict":
            items = self.field(node, "items", dict, path)
            return {key: self.decode(value, f"{path}[{key!r}]") for key, value in items.items()}
        if kind in ("list", "tuple"):
            items = self.field(node, "items", list, path)
            values = [self.decode(value, f"{path}[{i}]") for i, value in enumerate(items)]
            return values if kind == "list" else tuple(values)
        if kind in ("tensor", "array", "numpy_scalar"):
            key = json.dumps(node, sort_keys=True)
            if key not in self._loaded:
                self._loaded[key] = self._array_node(kind, node, path)
            return self._loaded[key]
        raise self.corrupt(path, f"has an unknown type {kind!r}")

    def _scalar(self, kind: str, node: dict[str, Any], path: str) -> Any:
        if kind == "none":
            return None
        if kind == "bool":
            return self.field(node, "value", bool, path)
        if kind == "int":
            return self.field(node, "value", int, path)
        if kind == "str":
            return self.field(node, "value", str, path)
        value = node.get("value")
        parts = value if kind == "complex" else [value]
        if not (isinstance(parts, list) and len(parts) == (2 if kind == "complex" else 1)
                and all(isinstance(p, str) for p in parts)):
            raise self.corrupt(path, f"has no valid 'value' for a {kind} (got {value!r})")
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            raise self.corrupt(path, f"has no valid 'value' for a {kind} (got {value!r})") from None
        return complex(*numbers) if kind == "complex" else numbers[0]

    def _array_node(self, kind: str, node: dict[str, Any], path: str) -> Any:
        name = self.field(node, "array", str, path)
        if name not in self.arrays:
            raise self.corrupt(path, f"names array {name!r}, which the file does not hold")
        array = self.arrays[name]
        if kind == "array":
            return array
        if kind == "numpy_scalar":
            if array.ndim != 0:
                raise self.corrupt(path, f"is a NumPy scalar, but array {name!r} has shape {array.shape}")
            return array[()]
        dtype = self.field(node, "dtype", str, path)
        if dtype != str(array.dtype):
            raise self.corrupt(path, f"says dtype {dtype}, but array {name!r} has dtype {array.dtype}")
        allow_grad = self.field(node, "allow_grad", bool, path)
        saved_on = self.field(node, "backend", str, path)
        tensor = self._tensor(array, self.backend or saved_on, allow_grad, path)
        tensor.name = node.get("name") if isinstance(node.get("name"), str) else None
        return tensor

    def _tensor(self, array: np.ndarray, backend_name: str, allow_grad: bool, path: str) -> Tensor:
        from minidiff.backend import BackendUnavailable
        from minidiff.config import get_backend

        try:
            chosen = get_backend(backend_name)
            return Tensor._leaf(chosen.from_host(array), chosen, allow_grad, dtype_given=True)
        except (BackendUnavailable, ValueError, TypeError) as exc:
            hint = "" if self.backend else "; md.load(file, backend=...) loads the tensors onto another backend"
            exc.add_note(f"while loading tensor {path} of {self.label} onto backend {backend_name!r}{hint}")
            raise

