"""Loading plugins, once and lazily, each in isolation.

The built-in op families are ordinary plugins listed in `DEFAULT_PLUGINS`; everything else
comes from the `minidiff` entry-point group. On first need (the first `md.<op>` lookup or
the first tensor) `load()`:

1. imports every plugin module and registers it with a pluggy `PluginManager`;
2. calls each plugin's hooks separately, into its own `PluginRegistry` (which validates
   each op and backend as it is added), and merges the result only if all of that
   plugin's hooks succeeded;
3. binds the merged registry into plain functions on `minidiff` (`md.sin`) and its
   namespaces (`md.linalg.solve`), and only then publishes it: under a lock, so threads
   that start at once wait for one complete load, and a load interrupted by Ctrl-C leaves
   nothing behind and runs again on the next use.

A plugin that fails to import, raises in a hook (any exception, `SystemExit` included;
`KeyboardInterrupt` stops the load) or registers a malformed op is skipped with a
`PluginWarning` naming it, and listed by `minidiff info`; the others load as usual. A name
two plugins register costs the loser only that name; who wins is decided by the rules in
`minidiff.registry` and the fixed load order here: the built-in families in
`DEFAULT_PLUGINS` order, then entry points sorted by entry-point name, then distribution
name. Environment: `MINIDIFF_DISABLE_PLUGINS=a,b` skips plugins by name;
`MINIDIFF_STRICT_PLUGINS=1` turns a failing or clashing plugin into an error.
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
    "minidiff.ops.ordering",
    "minidiff.ops.calculus",
    "minidiff.ops.statistics",
    "minidiff.ops.special",
    "minidiff.ops.indexing_extras",
    "minidiff.ops.complex_parts",
    "minidiff.ops.standard",
    "minidiff.ops.fft",
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
# True while `_load` runs (under `_lock`), to catch a plugin that uses ops while loading.
_loading = False
# Called with the registry after it is frozen, before the state is published;
# `minidiff/__init__.py` installs the function that binds ops onto the package namespaces.
_on_loaded: list[Callable[[Registry], None]] = []


def load() -> Registry:
    """Load every plugin (once) and return the merged registry.

    Thread-safe: the first caller loads under a lock while the others wait, and the loaded
    state is published only once every op is bound, so no thread sees half of it. An
    interrupted load (Ctrl-C in a plugin's import, a hook or the binding) publishes nothing,
    and the next call loads again from the start.
    """
    state = _state
    if state is not None:
        return state.registry
    with _lock:
        if _state is None:
            if _loading:
                raise PluginError(
                    "minidiff ops were used while plugins were loading (from a plugin's module or hook); "
                    "a plugin may use ops in its rules and forwards, not while it registers"
                )
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
    global _loading
    _loading = True
    try:
        built = _build()
        for callback in _on_loaded:
            callback(built.registry)
        _publish(built)
    finally:
        _loading = False


def _publish(built: _State) -> None:
    global _state
    _state = built


def _build() -> _State:
    """Import, register and merge every plugin; nothing global changes here."""
    # Imported here, not at module level: `import minidiff` stays as cheap as the plugin
    # system allows, and entry points are scanned only when something needs an op.
    from importlib.metadata import entry_points

    import pluggy

    from minidiff import hookspecs
    from minidiff.registry import PluginClash, PluginRegistry, Registry

    disabled = {name.strip() for name in os.environ.get("MINIDIFF_DISABLE_PLUGINS", "").split(",") if name.strip()}
    strict = os.environ.get("MINIDIFF_STRICT_PLUGINS", "") not in ("", "0")
    manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
    manager.add_hookspecs(hookspecs)
    registry = Registry()
    infos: list[PluginInfo] = []

    # The load order decides clashes nothing else decides (see `minidiff.registry`), so it
    # must not depend on install order or sys.path: the built-in families first, in
    # DEFAULT_PLUGINS order, then entry points by entry-point name, then distribution name.
    candidates: list[tuple[str, Callable[[], Any], str, str]] = []
    core_version = _version("minidiff-core")
    for module_name in DEFAULT_PLUGINS:
        candidates.append((module_name, _importer(module_name), "minidiff-core", core_version))
    found = [
        (ep, str(ep.dist.name if ep.dist else "?"), str(ep.dist.version if ep.dist else "?"))
        for ep in entry_points(group=ENTRY_POINT_GROUP)
    ]
    for ep, dist, dist_version in sorted(found, key=lambda item: (item[0].name, item[1])):
        candidates.append((ep.name, ep.load, dist, dist_version))

    seen: dict[str, str] = {}
    for name, import_plugin, dist, dist_version in candidates:
        short = name.rsplit(".", 1)[-1]
        if name in disabled or short in disabled:
            continue
        clashes: list[str] = []
        registered = False
        try:
            if name in seen:
                raise PluginClash(
                    f"the plugin name {name!r} is taken by {seen[name]}, which loaded first; "
                    f"rename the entry point, or skip one with MINIDIFF_DISABLE_PLUGINS"
                )
            seen[name] = f"{name!r} from {dist} {dist_version}"
            plugin = import_plugin()
            manager.register(plugin, name=name)
            registered = True
            manager.check_pending()  # a misspelled hook name is an error, not a silent no-op
            staged = PluginRegistry(name, dist, dist_version)
            for hook in _HOOKS:
                for impl in getattr(manager.hook, hook).get_hookimpls():
                    if impl.plugin_name == name:
                        impl.function(registry=staged)
            clashes = registry.merge(staged)
        except KeyboardInterrupt:
            raise  # the user stopped the program; the next call loads again from the start
        except BaseException as exc:  # noqa: BLE001 - sys.exit() in a plugin must not end the program
            if registered:
                manager.unregister(name=name)
            message = f"{type(exc).__name__}: {exc}"
            infos.append(PluginInfo(name, dist, dist_version, message))
            if strict:
                raise PluginError(f"minidiff plugin {name!r} (from {dist}) failed to load: {message}") from exc
            warnings.warn(
                f"minidiff plugin {name!r} (from {dist}) failed to load and is skipped: {message}",
                PluginWarning,
                stacklevel=5,
            )
            continue
        infos.append(PluginInfo(name, dist, dist_version))
        for clash in clashes:
            if strict:
                raise PluginError(f"minidiff plugin {name!r} (from {dist}) clashes: {clash}")
            warnings.warn(f"minidiff plugin {name!r}: {clash}", PluginWarning, stacklevel=5)

    return _State(registry, infos, {}, {})


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
    """The backend called `name`, built on first use (once, even when threads race for it).

    Raises `ValueError` listing the installed backends for an unknown name, and
    `BackendUnavailable` with the reason for one that cannot run here.
    """
    st = _state or state()
    found = st.backends.get(name)
    if found is not None:
        return found
    with _lock:
        # checked again under the lock: two threads may both have missed the cache above,
        # and a second factory call would make a second, different backend object
        found = st.backends.get(name)
        if found is not None:
            return found
        return _build_backend(st, name)


def _build_backend(st: _State, name: str) -> Backend:
    from minidiff.backend import Backend, BackendUnavailable

    entry = st.registry.backends.get(name) if isinstance(name, str) else None
    if entry is None:
        installed = ", ".join(repr(n) for n in sorted(st.registry.backends)) or "none"
        raise ValueError(
            f"unknown minidiff backend {name!r}; installed backends: {installed}. "
            f"Backends come in their own distributions, e.g. pip install minidiff-{name}"
        )
    if name in st.backend_errors:
        raise BackendUnavailable(st.backend_errors[name])
    try:
        built = entry.factory()
        if not isinstance(built, Backend) or built.name != name:
            raise TypeError(
                f"its factory must return a minidiff.backend.Backend named {name!r}, got {built!r}"
            )
    except KeyboardInterrupt:
        raise  # nothing is recorded: the next use builds it again
    except BaseException as exc:  # noqa: BLE001 - a factory's sys.exit() must not end the program
        reason = (
            f"minidiff backend {name!r} (from {entry.plugin}) is installed but unusable here: "
            f"{type(exc).__name__}: {exc}"
        )
        st.backend_errors[name] = reason
        raise BackendUnavailable(reason) from exc
    st.backends[name] = built
    return built
