"""Checks on what a plugin registers, run by `PluginRegistry.add_*` as the plugin's hook calls it.

A malformed `Op` (a name that is not an identifier, `nargs="2"`, two rules for a one-operand
op, a forward that is not callable) would otherwise load and fail much later, at a call or
in the backward pass, with an error that names neither the op nor the plugin; a name such
as `Tensor` or `grad` would silently replace the core object. Here each is a `ValueError`
or `TypeError` raised inside the plugin's hook, so the plugin loader skips that plugin
(only) and its warning says which plugin and which op:

>>> from minidiff.extend import Op
>>> check_op(Op("twice", "add", nargs="2"), "demo")
Traceback (most recent call last):
    ...
TypeError: plugin 'demo', op 'twice': nargs must be an int >= 0, or None for a variadic op; got '2'

Names reserved for the core API (`reserved_names()`): a public op directly on `minidiff`,
and an op namespace, may not use a name in `minidiff.__all__` (the dtype names and constants
too: `float32`, `pi`), `bool`, a name `minidiff` imports on
first use (`grad`, `custom_vjp`, ...), the name of a `minidiff` submodule (`testing`,
`extend`, `config`, `random`, ...), or a module-level name of `minidiff` itself
(`plugins`, `available_backends`, `__version__`). Names starting with an underscore are
private and may only be used by ops with `public=False`.

These checks run once per op while plugins load, never per call.
"""

from __future__ import annotations

import keyword
import numbers
from collections.abc import Mapping
from typing import Any

from minidiff.extend import Op, Sample, _domain_error

__all__ = ["check_backend", "check_kernel", "check_op", "reserved_names"]


def check_op(op: Any, plugin: str) -> None:
    """Raise `TypeError`/`ValueError` naming `plugin` and the op when `op` is malformed."""
    if not isinstance(op, Op):
        raise TypeError(f"plugin {plugin!r}: add_op expects a minidiff.extend.Op, got {type(op).__name__}")
    name, namespace = op.name, op.namespace
    if not isinstance(name, str):
        raise TypeError(f"plugin {plugin!r}: an op's name must be a str, got {name!r} ({type(name).__name__})")
    where = f"plugin {plugin!r}, op {name!r}"
    if not isinstance(namespace, str):
        raise TypeError(f"{where}: namespace must be a str ('' for minidiff itself), got {namespace!r}")
    if namespace:
        where = f"plugin {plugin!r}, op {namespace + '.' + name!r}"
    _check_identifier(name, where, "name")
    if namespace:
        _check_identifier(namespace, where, "namespace")
        if namespace.startswith("_"):
            raise ValueError(f"{where}: namespace {namespace!r} starts with an underscore")
    _check_public_name(op, where)

    if op.nargs is not None and (type(op.nargs) is not int or op.nargs < 0):
        raise TypeError(f"{where}: nargs must be an int >= 0, or None for a variadic op; got {op.nargs!r}")
    if type(op.nout) is not int or op.nout < 1:
        raise TypeError(f"{where}: nout must be an int >= 1, got {op.nout!r}")
    for flag in ("creation", "public"):
        if not isinstance(getattr(op, flag), bool):
            raise TypeError(f"{where}: {flag} must be True or False, got {getattr(op, flag)!r}")
    if not isinstance(op.doc, str):
        raise TypeError(f"{where}: doc must be a str, got {type(op.doc).__name__}")
    if not isinstance(op.params, Mapping) or not all(isinstance(key, str) for key in op.params):
        raise TypeError(f"{where}: params must be a mapping from parameter names (str) to defaults, got {op.params!r}")
    for field in ("reference", "parse", "composite", "batch", "inplace"):
        _check_callable(getattr(op, field), where, field, optional=True)

    if op.composite is not None:
        if op.vjp is not None:
            raise ValueError(f"{where}: a composite op is differentiated through the ops it calls; give no vjp")
    elif isinstance(op.forward, str):
        if not op.forward or not all(part.isidentifier() for part in op.forward.split(".")):
            raise ValueError(f"{where}: forward {op.forward!r} must name a function of the array namespace, like 'sin'")
    else:
        _check_callable(op.forward, where, "forward")
    _check_rules(op, where)
    _check_samples(op, where)


def _check_identifier(value: str, where: str, what: str) -> None:
    if not value.isidentifier() or keyword.iskeyword(value):
        raise ValueError(f"{where}: {what} {value!r} is not a Python identifier, so it cannot be an attribute")


def _check_public_name(op: Op, where: str) -> None:
    if not op.public:
        return
    if op.name.startswith("_"):
        raise ValueError(f"{where}: a public op's name may not start with an underscore (or pass public=False)")
    reserved = reserved_names()
    if not op.namespace and op.name in reserved:
        raise ValueError(
            f"{where}: {op.name!r} is part of minidiff's core API (md.{op.name}) and cannot be replaced by an op; "
            f"pick another name or a namespace"
        )
    if op.namespace in reserved:
        raise ValueError(f"{where}: namespace {op.namespace!r} is part of minidiff's core API (md.{op.namespace})")


def _check_rules(op: Op, where: str) -> None:
    rules = op.vjp
    if rules is None:
        return
    if op.nargs is None:
        # a variadic op has one rule for every operand (see `Op`)
        _check_callable(rules, where, "vjp (one rule for a variadic op)")
        return
    if callable(rules) or not isinstance(rules, (tuple, list)):
        raise TypeError(
            f"{where}: vjp must be a tuple with one rule (or None) per operand, {op.nargs} here; got {rules!r}"
        )
    if len(rules) != op.nargs:
        raise ValueError(
            f"{where}: vjp has {len(rules)} rule(s) but the op takes {op.nargs} operand(s) (nargs); "
            f"give one rule per operand, None for an operand without a gradient"
        )
    for index, rule in enumerate(rules):
        _check_callable(rule, where, f"vjp[{index}]", optional=True)


def _check_samples(op: Op, where: str) -> None:
    samples = op.samples
    if isinstance(samples, Sample) or not isinstance(samples, (tuple, list)):
        raise TypeError(f"{where}: samples must be a tuple of Sample (minidiff.extend.sample(...)), got {samples!r}")
    for index, item in enumerate(samples):
        if not isinstance(item, Sample):
            raise TypeError(
                f"{where}: samples[{index}] is a {type(item).__name__}, not a Sample; build it with "
                f"minidiff.extend.sample(...)"
            )
        if not isinstance(item.args, tuple):
            raise TypeError(f"{where}: samples[{index}].args must be a tuple, got {item.args!r}")
        problem = _domain_error(item)  # one (low, high), or one per argument; and the tolerance
        if problem:
            raise ValueError(f"{where}: samples[{index}].{problem}")
        if not isinstance(item.order, numbers.Integral) or isinstance(item.order, bool) or item.order < 0:
            raise ValueError(f"{where}: samples[{index}].order must be an int >= 0, got {item.order!r}")


def _check_callable(value: Any, where: str, what: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not callable(value):
        raise TypeError(f"{where}: {what} must be callable, got {value!r} ({type(value).__name__})")


def check_backend(name: Any, factory: Any, description: Any, plugin: str) -> None:
    """Raise naming `plugin` when a backend registration is malformed."""
    if not isinstance(name, str) or not name or name != name.strip() or "," in name:
        raise ValueError(f"plugin {plugin!r}: a backend's name must be a non-empty str such as 'numpy', got {name!r}")
    _check_callable(factory, f"plugin {plugin!r}, backend {name!r}", "the factory")
    if not isinstance(description, str):
        raise TypeError(f"plugin {plugin!r}, backend {name!r}: description must be a str, got {description!r}")


def check_kernel(qualname: Any, backend: Any, kernel: Any, plugin: str) -> None:
    """Raise naming `plugin` when a kernel registration is malformed."""
    if not isinstance(qualname, str) or not qualname:
        raise TypeError(f"plugin {plugin!r}: a kernel names its op by a str such as 'sin', got {qualname!r}")
    if not isinstance(backend, str) or not backend:
        raise TypeError(f"plugin {plugin!r}, kernel for {qualname!r}: backend must be a str, got {backend!r}")
    _check_callable(kernel, f"plugin {plugin!r}, kernel for {qualname!r} on {backend!r}", "the kernel")


_reserved: frozenset[str] | None = None


def reserved_names() -> frozenset[str]:
    """The names an op (on `minidiff` itself) or an op namespace may not take.

    >>> {"Tensor", "grad", "testing", "random"} <= reserved_names()
    True
    """
    global _reserved
    if _reserved is None:
        _reserved = _core_names()
    return _reserved


def _core_names() -> frozenset[str]:
    import pkgutil
    import sys

    package = sys.modules["minidiff"]
    # `_SHADOWING`: public names served by `__getattr__` alone (`md.bool`)
    names = {*package.__all__, *package._LAZY, *package._SUBMODULES, *package._SHADOWING}
    names.update(info.name for info in pkgutil.iter_modules(package.__path__))
    for name, value in vars(package).items():
        # the package's own names, but not ops bound by an earlier load or op namespaces
        if not isinstance(getattr(value, "op", None), Op) and not getattr(value, "__minidiff_namespace__", False):
            names.add(name)
    return frozenset(name for name in names if not name.startswith("__"))
