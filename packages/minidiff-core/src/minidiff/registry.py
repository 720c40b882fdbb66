"""What plugins contribute, with who contributed it, and who wins a name two plugins claim.

Each plugin's hooks write into their own `PluginRegistry`, whose `add_*` methods validate
every entry as it is added (`minidiff.validation`): a malformed op raises inside the
plugin's hook, so the loader skips that plugin and names it. Only when every hook of the
plugin has succeeded are its entries merged into the shared `Registry`, so a plugin that
fails leaves no half-registered ops behind.

A name registered by two plugins (a clash) costs the loser that one name, not its whole
pack. The winner, first rule that applies:

1. the one that passed ``override=True`` (if only one did): a deliberate replacement,
   recorded in `Registry.overrides` and shown by ``minidiff info``;
2. for a backend, the plugin from the distribution that ships it, ``minidiff-<backend>``
   (``minidiff-numpy`` owns ``"numpy"``), wherever it comes in the load order;
3. the plugin loaded first. The load order is fixed: the built-in families in
   ``DEFAULT_PLUGINS`` order, then entry points by entry-point name and distribution name
   (see `minidiff.plugins`), whatever the install order or ``sys.path``.

The loser's entry is skipped with a `PluginWarning` that names both plugins with their
distributions, and says how to choose: ``override=True`` in the one that should win, or
``MINIDIFF_DISABLE_PLUGINS=<loser>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from minidiff import validation

if TYPE_CHECKING:
    from minidiff.extend import Op


class PluginClash(Exception):
    """Two plugins registered the same name and neither asked to override."""


@dataclass(frozen=True)
class BackendEntry:
    name: str
    factory: Callable[[], Any]
    plugin: str
    description: str = ""
    override: bool = False


@dataclass(frozen=True)
class Entry:
    """A registered op or kernel, with the plugin it came from."""

    value: Any
    plugin: str
    override: bool = False


class PluginRegistry:
    """The `registry` a plugin's hooks receive: it validates and records that plugin's contributions.

    >>> registry = PluginRegistry("demo")
    >>> registry.add_backend("toy", lambda: None)
    >>> registry.add_backend("toy", lambda: None)
    Traceback (most recent call last):
        ...
    ValueError: plugin 'demo' registers backend 'toy' twice
    """

    def __init__(self, plugin: str, distribution: str = "", version: str = "") -> None:
        self.plugin = plugin
        #: the distribution that installed the plugin, and its version, for messages and
        #: the backend ownership rule
        self.distribution = distribution
        self.version = version
        self.backends: list[BackendEntry] = []
        self.ops: list[Entry] = []
        self.kernels: list[tuple[tuple[str, str], Entry]] = []
        # what this plugin's ops claim on `minidiff`, to refuse two of them claiming one name
        self._qualnames: set[str] = set()
        self._roots: set[str] = set()
        self._namespaces: set[str] = set()

    def add_backend(
        self, name: str, factory: Callable[[], Any], *, description: str = "", override: bool = False
    ) -> None:
        """Register backend `name`; `factory()` builds it on first use.

        >>> PluginRegistry("demo").add_backend("toy", lambda: None)
        """
        validation.check_backend(name, factory, description, self.plugin)
        if any(entry.name == name for entry in self.backends):
            raise ValueError(f"plugin {self.plugin!r} registers backend {name!r} twice")
        self.backends.append(BackendEntry(name, factory, self.plugin, description, bool(override)))

    def add_op(self, op: Op, *, override: bool = False) -> None:
        """Register an op definition under `op.qualname`.

        Raises `TypeError`/`ValueError` naming the plugin and the op when the op is malformed
        or takes a name of minidiff's core API (`minidiff.validation`).
        """
        validation.check_op(op, self.plugin)
        if op.qualname in self._qualnames:
            raise ValueError(f"plugin {self.plugin!r} registers op {op.qualname!r} twice")
        root = op.name if op.public and not op.namespace else None
        if (root is not None and root in self._namespaces) or op.namespace in self._roots:
            raise ValueError(
                f"plugin {self.plugin!r}: op {op.qualname!r} and another of its ops both claim md.{root or op.namespace}"
            )
        self._qualnames.add(op.qualname)
        if root is not None:
            self._roots.add(root)
        if op.namespace:
            self._namespaces.add(op.namespace)
        self.ops.append(Entry(op, self.plugin, bool(override)))

    def add_kernel(
        self, qualname: str, backend: str, kernel: Callable[..., Any], *, override: bool = False
    ) -> None:
        """Register `kernel(xp, *arrays, **params)` as the forward of op `qualname` on `backend`."""
        validation.check_kernel(qualname, backend, kernel, self.plugin)
        if any(key == (qualname, backend) for key, _ in self.kernels):
            raise ValueError(f"plugin {self.plugin!r} registers a kernel for {qualname!r} on {backend!r} twice")
        self.kernels.append(((qualname, backend), Entry(kernel, self.plugin, bool(override))))


def _normalize(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


@dataclass
class Registry:
    """Everything registered by the plugins that loaded, with provenance."""

    backends: dict[str, BackendEntry] = field(default_factory=dict)
    ops: dict[str, Entry] = field(default_factory=dict)
    kernels: dict[tuple[str, str], Entry] = field(default_factory=dict)
    #: who won each name two plugins registered, in words, shown by ``minidiff info``:
    #: "op 'add' from X overrides Y", "backend 'numpy' from X is kept; the one from Y is skipped"
    overrides: list[str] = field(default_factory=list)
    #: "name (from distribution version)" of each merged plugin, for messages
    origins: dict[str, str] = field(default_factory=dict)
    #: distribution name of each merged plugin, for the backend ownership rule
    distributions: dict[str, str] = field(default_factory=dict)

    def merge(self, staged: PluginRegistry) -> list[str]:
        """Add one plugin's contributions; returns one message per entry it loses to a clash
        (those entries are skipped, the rest are added). See the module docstring for who wins."""
        plugin = staged.plugin
        dist = " ".join(part for part in (staged.distribution, staged.version) if part)
        self.origins[plugin] = f"{plugin!r} (from {dist})" if dist else repr(plugin)
        self.distributions[plugin] = staged.distribution
        lost: list[str] = []
        skipped_ops: set[str] = set()
        for entry in staged.backends:
            self._take(self.backends, entry.name, entry, f"backend {entry.name!r}", lost)
        namespaces = {e.value.namespace for e in self.ops.values() if e.value.namespace}
        roots = {e.value.name for e in self.ops.values() if e.value.public and not e.value.namespace}
        for entry in staged.ops:
            op = entry.value
            holder = None
            if op.public and not op.namespace and op.name in namespaces:
                holder = next(e for e in self.ops.values() if e.value.namespace == op.name)
            elif op.namespace and op.namespace in roots:
                holder = next(e for e in self.ops.values() if e.value.public and e.value.qualname == op.namespace)
            if holder is not None:
                lost.append(
                    f"op {op.qualname!r} from {self.origins[plugin]} is skipped: md.{op.namespace or op.name} is "
                    f"already used by op {holder.value.qualname!r} from {self.origins[holder.plugin]}. "
                    f"{_how_to_choose(holder.plugin, plugin)}"
                )
                skipped_ops.add(op.qualname)
                continue
            if not self._take(self.ops, op.qualname, entry, f"op {op.qualname!r}", lost):
                skipped_ops.add(op.qualname)
        for key, entry in staged.kernels:
            if key[0] in skipped_ops:
                continue  # a kernel for an op this plugin lost belongs to that op, not the winner's
            self._take(self.kernels, key, entry, f"kernel for {key[0]!r} on {key[1]!r}", lost)
        return lost

    def _take(self, table: dict, key: Any, new: Any, what: str, lost: list[str]) -> bool:
        """Put `new` in `table[key]` unless an entry that wins is there; True when `new` is kept."""
        old = table.get(key)
        if old is None:
            table[key] = new
            return True
        if new.override and not old.override:
            table[key] = new
            self.overrides.append(f"{what} from {new.plugin!r} overrides {old.plugin!r}")
            return True
        if old.override and not new.override:
            self.overrides.append(f"{what} from {old.plugin!r} overrides {new.plugin!r}")
            return False
        # a clash: neither (or both) asked to override
        if isinstance(new, BackendEntry) and self._owns(new.plugin, key) and not self._owns(old.plugin, key):
            winner, loser, reason = new, old, f"its distribution, minidiff-{key}, ships that backend"
        elif isinstance(new, BackendEntry) and self._owns(old.plugin, key):
            winner, loser, reason = old, new, f"its distribution, minidiff-{key}, ships that backend"
        else:
            winner, loser, reason = old, new, "it loaded first"
        table[key] = winner
        self.overrides.append(f"{what} from {winner.plugin!r} is kept; the one from {loser.plugin!r} is skipped")
        lost.append(
            f"{what} is registered by both {self.origins[winner.plugin]} and {self.origins[loser.plugin]}; "
            f"{winner.plugin!r} keeps it ({reason}); the one from {loser.plugin!r} is skipped. "
            f"{_how_to_choose(winner.plugin, loser.plugin)}"
        )
        return winner is new

    def _owns(self, plugin: str, backend: str) -> bool:
        return _normalize(self.distributions.get(plugin, "")) == f"minidiff-{_normalize(backend)}"


def _how_to_choose(first: str, second: str) -> str:
    return (
        f"To choose, pass override=True in the plugin that should win, or disable the other with "
        f"MINIDIFF_DISABLE_PLUGINS={second} (or ={first})"
    )
