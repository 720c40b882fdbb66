"""The hooks through which plugins extend minidiff.

A plugin is a module (or object) with functions marked `@hookimpl`, found through the
`minidiff` entry-point group or listed in `minidiff.plugins.DEFAULT_PLUGINS`. Each hook
receives a `registry` whose `add_*` methods record what the plugin contributes; minidiff
owns validation, clash detection and attribution. Hooks run once, when plugins load;
calling an op afterwards never goes through a hook.

Every hook of a plugin runs before anything of it is used; if one raises (a malformed op
makes `add_op` raise), the whole plugin is skipped with a warning naming it. A name that
another plugin registers too is skipped alone, by the rules in `minidiff.registry`. A hook
must not call minidiff ops: plugins are still loading.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from minidiff.registry import PluginRegistry

hookspec = pluggy.HookspecMarker("minidiff")
hookimpl = pluggy.HookimplMarker("minidiff")


# ---------------------------------------------------------------------- backends


@hookspec
def minidiff_register_backends(registry: PluginRegistry) -> None:
    """Add array backends.

    Call ``registry.add_backend(name, factory)``; ``factory()`` builds the `Backend` and is
    called on first use only (once per process), so a plugin module must not import its
    array library at import time. The factory returns a `Backend` whose ``name`` is
    ``name``, or raises `BackendUnavailable` with the reason. When two plugins register one
    name, the distribution ``minidiff-<name>`` keeps it, else the plugin loaded first;
    ``override=True`` takes it on purpose.

    :param registry: records this plugin's backends.
    """


# ---------------------------------------------------------------------- op families


@hookspec
def minidiff_register_ops(registry: PluginRegistry) -> None:
    """Add op definitions (`minidiff.extend.Op`).

    Call ``registry.add_op(op)``, or ``registry.add_op(op, override=True)`` to replace an op
    another plugin registered; the replacement is shown by ``minidiff info``. Without
    ``override=True`` the plugin loaded first keeps a name two plugins register. ``add_op``
    raises, naming the plugin and the op, for a malformed op (one rule per operand, callable
    forward and rules, `Sample` samples) and for a name of minidiff's core API (``Tensor``,
    ``grad``, ``testing``, ...; `minidiff.validation`).

    :param registry: records this plugin's ops.
    """


@hookspec
def minidiff_register_kernels(registry: PluginRegistry) -> None:
    """Add backend-specific forward kernels for ops registered elsewhere.

    Call ``registry.add_kernel(qualname, backend_name, kernel)`` with
    ``kernel(xp, *arrays, **params)``; it replaces the op's generic forward on that backend.

    :param registry: records this plugin's kernels.
    """
