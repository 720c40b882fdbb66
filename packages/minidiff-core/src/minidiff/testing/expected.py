"""Known gaps that a plugin declares in its own distribution, so that every run of the kit
(its own tests, `minidiff check`, a user's install) agrees on them.

A plugin module (the one its `minidiff` entry point names) may set::

    EXPECTED_FAILURES = {
        "test_forward[zeros-0]": "MLX's default float is float32: zeros() without dtype= ...",
        "test_second_order[myop-1-numpy]": "why this case is a known gap",
    }

Keys are the conformance suite's test ids, `test_<check>[<op>-<sample>]` for every backend
or `test_<check>[<op>-<sample>-<backend>]` for one; values say why. Which cases a plugin's
declaration covers follows from what the plugin is responsible for:

- an op pack's keys apply to its own ops, on any backend;
- a backend plugin's keys apply to cases on the backends it registers, for any op (MLX's
  float32 default makes every creation op without `dtype=` differ from NumPy);
- a plugin that ships a kernel (`add_kernel`) for an op on a backend also covers that op's
  cases on that backend, since the kernel computes their forward.

Declared failures are strict: a declared case that passes is reported, so a fixed gap must
be removed from the declaration.
"""

from __future__ import annotations

import importlib
import re
import sys
from types import ModuleType
from typing import Any, Mapping

from minidiff import plugins

__all__ = ["ATTRIBUTE", "declared", "expected_failure", "plugin_module"]

#: the name of the module attribute a plugin declares its expected failures in
ATTRIBUTE = "EXPECTED_FAILURES"
_KEY = re.compile(r"^test_(\w+)\[(.+)-(\d+)(?:-([\w.]+))?\]$")


def plugin_module(plugin: str) -> ModuleType | None:
    """The module of a loaded plugin: a built-in family by module name, else the module its
    `minidiff` entry point names. None when there is no such plugin."""
    if plugin in plugins.DEFAULT_PLUGINS:
        return sys.modules.get(plugin) or importlib.import_module(plugin)
    from importlib.metadata import entry_points

    for ep in entry_points(group=plugins.ENTRY_POINT_GROUP, name=plugin):
        loaded = ep.load()
        return loaded if isinstance(loaded, ModuleType) else sys.modules.get(ep.module)
    return None


# declarations by plugin name, for the registry they were read with (a reload reads again)
_cache: dict[str, dict[str, str]] = {}
_cached_for: list[Any] = [None]


def declared(plugin: str) -> dict[str, str]:
    """The expected failures `plugin` declares, checked for shape: a `dict` of test ids to reasons."""
    registry = plugins.load()
    if _cached_for[0] is not registry:
        _cache.clear()
        _cached_for[0] = registry
    if plugin not in _cache:
        _cache[plugin] = _read(plugin)
    return _cache[plugin]


def _read(plugin: str) -> dict[str, str]:
    module = plugin_module(plugin)
    value: Any = getattr(module, ATTRIBUTE, None) if module is not None else None
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{module.__name__}.{ATTRIBUTE} must be a dict of test ids to reasons, got {type(value).__name__}")
    for key, reason in value.items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise ValueError(
                f"{module.__name__}.{ATTRIBUTE}: {key!r} is not a test id such as 'test_forward[sin-0]' "
                f"or 'test_forward[sin-0-numpy]'"
            )
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"{module.__name__}.{ATTRIBUTE}[{key!r}] must give the reason as a non-empty string")
    return dict(value)


def parse_key(key: str) -> tuple[str, str, int, str | None]:
    """`test_forward[zeros-0-mlx]` -> ("forward", "zeros", 0, "mlx")."""
    match = _KEY.match(key)
    if match is None:
        raise ValueError(f"{key!r} is not a conformance test id")
    check, op, index, backend = match.groups()
    return check, op, int(index), backend


def expected_failure(check: str, case: Any) -> str | None:
    """The declared reason why `check` fails on `case` (a `minidiff.testing.cases.Case`), or None."""
    registry = plugins.load()
    keys = (f"test_{check}[{case.id}]", f"test_{check}[{case.op.qualname}-{case.index}]")
    owners = []
    entry = registry.ops.get(case.op.qualname)
    if entry is not None and entry.value is case.op:
        owners.append(entry.plugin)
    backend = registry.backends.get(case.backend)
    if backend is not None:
        owners.append(backend.plugin)
    kernel = registry.kernels.get((case.op.qualname, case.backend))
    if kernel is not None:
        owners.append(kernel.plugin)
    for owner in owners:
        declaration = declared(owner)
        for key in keys:
            if key in declaration:
                return declaration[key]
    return None
