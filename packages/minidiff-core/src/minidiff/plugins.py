"""Loading plugins, once and lazily, each in isolation.

The built-in op families are ordinary plugins listed in `DEFAULT_PLUGINS`; everything else
comes from the `minidiff` entry-point group. On first need (the first `md.<op>` lookup or
the first tensor) `load()`:

1. imports every plugin module and registers it with a pluggy `PluginManager`;
2. calls each plugin's hooks separately, into its own `PluginRegistry`, and merges the
   result only if all of that plugin's hooks succeeded and nothing clashes;
3. freezes the merged registry into plain functions on `minidiff` (`md.sin`) and its
   namespaces (`md.linalg.solve`).

A plugin that fails to import, raises in a hook or clashes is skipped with a
`PluginWarning` naming it, and listed by `minidiff info`; the others load as usual.
Environment: `MINIDIFF_DISABLE_PLUGINS=a,b` skips plugins by name;
`MINIDIFF_STRICT_PLUGINS=1` turns a failing plugin into an error.
"""

from __future__ import annotations

import _thread
import importlib
import os
import warnings
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

if TYPE_CHECKING:
    from minidiff.backend import Backend
    from minidiff.registry import Registry

ENTRY_POINT_GROUP = "minidiff"

#: The built-in op families, registered through the same hooks as any third-party pack.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "minidiff.ops.creation",
    "minidiff.ops.elementwise",
    "minidiff.ops.reductions",
    "minidiff.ops.shape",
    "minidiff.ops.linear",
    "minidiff.ops.numpy_extras",
    "minidiff.ops.arrangement",
    "minidiff.ops.statistics",
    "minidiff.ops.special",
)

_HOOKS = ("minidiff_register_backends", "minidiff_register_ops", "minidiff_register_kernels")


class PluginWarning(UserWarning):
    """A plugin failed to load; the others are in use."""


class PluginError(RuntimeError):
    """A plugin failed to load in strict mode (`MINIDIFF_STRICT_PLUGINS=1`)."""


# Records are NamedTuples, not dataclasses: `dataclasses` is not imported by NumPy, and
# importing it and building two classes added ~3 ms to `import minidiff` (~4% of `import numpy`).
class PluginInfo(NamedTuple):
    """A plugin that loaded, or tried to."""

    name: str
    distribution: str
    version: str
    error: str = ""


class _State(NamedTuple):
    registry: Registry
    plugins: list[PluginInfo]
    backends: dict[str, Backend]
    backend_errors: dict[str, str]


_state: _State | None = None
# `threading.RLock` is this class; importing `threading` (which NumPy does not) costs ~1 ms.
_lock = _thread.RLock()
# Called with the registry after it is frozen; `minidiff/__init__.py` installs the
# function that binds ops onto the package namespaces.
_on_loaded: list[Callable[[Registry], None]] = []


def load() -> Registry:
    """Load every plugin (once) and return the merged registry."""
    state = _state
    if state is not None:
        return state.registry
    with _lock:
        if _state is None:
            _load()
        return _state.registry  # type: ignore[union-attr]


def state() -> _State:
    load()
    return _state  # type: ignore[return-value]


def reset() -> None:
    """Forget what was loaded, so the next use loads again (for tests of plugin loading)."""
    global _state
    with _lock:
        _state = None


def _load() -> None:
    global _state
    # Imported here, not at module level: `import minidiff` stays as cheap as the plugin
    # system allows, and entry points are scanned only when something needs an op.
    from importlib.metadata import entry_points

    import pluggy

    from minidiff import hookspecs
    from minidiff.registry import PluginRegistry, Registry

    disabled = {name.strip() for name in os.environ.get("MINIDIFF_DISABLE_PLUGINS", "").split(",") if name.strip()}
    strict = os.environ.get("MINIDIFF_STRICT_PLUGINS", "") not in ("", "0")
    manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
    manager.add_hookspecs(hookspecs)
    registry = Registry()
    infos: list[PluginInfo] = []

    candidates: list[tuple[str, Callable[[], Any], str, str]] = []
    core_version = _version("minidiff-core")
    for module_name in DEFAULT_PLUGINS:
        candidates.append((module_name, _importer(module_name), "minidiff-core", core_version))
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        dist = ep.dist.name if ep.dist else "?"
        dist_version = ep.dist.version if ep.dist else "?"
        candidates.append((ep.name, ep.load, dist, dist_version))

    for name, import_plugin, dist, dist_version in candidates:
        short = name.rsplit(".", 1)[-1]
        if name in disabled or short in disabled:
            continue
        try:
            plugin = import_plugin()
            manager.register(plugin, name=name)
            manager.check_pending()  # a misspelled hook name is an error, not a silent no-op
            staged = PluginRegistry(name)
            for hook in _HOOKS:
                for impl in getattr(manager.hook, hook).get_hookimpls():
                    if impl.plugin_name == name:
                        impl.function(registry=staged)
            registry.merge(staged)
        except Exception as exc:  # a broken plugin must not take the others down
            if manager.has_plugin(name):
                manager.unregister(name=name)
            message = f"{type(exc).__name__}: {exc}"
            infos.append(PluginInfo(name, dist, dist_version, message))
            if strict:
                raise PluginError(f"minidiff plugin {name!r} (from {dist}) failed to load: {message}") from exc
            warnings.warn(
                f"minidiff plugin {name!r} (from {dist}) failed to load and is skipped: {message}",
                PluginWarning,
                stacklevel=4,
            )
            continue
        infos.append(PluginInfo(name, dist, dist_version))

    _state = _State(registry, infos, {}, {})
    for callback in _on_loaded:
        callback(registry)


def _importer(module_name: str) -> Callable[[], Any]:
    return lambda: importlib.import_module(module_name)


def _version(dist: str) -> str:
    from importlib.metadata import version

    try:
        return version(dist)
    except Exception:
        return "?"


def backend_names() -> list[str]:
    """Names of every registered backend, usable or not."""
    return sorted(load().backends)


def backend(name: str) -> Backend:
    """The backend called `name`, built on first use.

    Raises `ValueError` listing the installed backends for an unknown name, and
    `BackendUnavailable` with the reason for one that cannot run here.
    """
    st = state()
    found = st.backends.get(name)
    if found is not None:
        return found
    from minidiff.backend import BackendUnavailable

    entry = st.registry.backends.get(name)
    if entry is None:
        installed = ", ".join(repr(n) for n in sorted(st.registry.backends)) or "none"
        raise ValueError(
            f"unknown minidiff backend {name!r}; installed backends: {installed}. "
            f"Backends come in their own distributions, e.g. pip install minidiff-{name}"
        )
    if name in st.backend_errors:
        raise BackendUnavailable(st.backend_errors[name])
    with _lock:
        try:
            built = entry.factory()
        except Exception as exc:
            reason = (
                f"minidiff backend {name!r} (from {entry.plugin}) is installed but unusable here: "
                f"{type(exc).__name__}: {exc}"
            )
            st.backend_errors[name] = reason
            raise BackendUnavailable(reason) from exc
        st.backends[name] = built
    return built
