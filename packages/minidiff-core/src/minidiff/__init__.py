"""minidiff: reverse-mode automatic differentiation over NumPy-like arrays.

>>> import minidiff as md
>>> x = md.Tensor([[0.0, 2.0]], allow_grad=True)
>>> f = 2 * md.sin(x) - x ** 2
>>> f.backward()
>>> x.grad
minidiff.Tensor([[ 2.        , -4.83229367]])

Ops (`md.sin`, `md.sum`, `md.linalg.solve`, ...) come from op-family plugins, loaded once
on first use; after that each is a plain function on this module.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

from minidiff import plugins
from minidiff.array_api import __array_api_version__
from minidiff.array_api.functions import (
    can_cast,
    from_dlpack,
    isdtype,
    nonzero,
    result_type,
    unique_all,
    unique_counts,
    unique_inverse,
    unique_values,
)
from minidiff.array_api.info import __array_namespace_info__
from minidiff.array_api.names import bind_aliases
from minidiff.dtypes import (
    bool_,
    complex64,
    complex128,
    e,
    finfo,
    float16,
    float32,
    float64,
    iinfo,
    inf,
    int8,
    int16,
    int32,
    int64,
    nan,
    newaxis,
    pi,
    uint8,
    uint16,
    uint32,
    uint64,
)
from minidiff.graph import FuncNode, enable_grad, is_grad_enabled, no_grad
from minidiff._tensor import Tensor
from minidiff.factories import array, asarray, tensor

if TYPE_CHECKING:  # at run time these come from `__getattr__`, on first use
    from minidiff import random, utils
    from minidiff.backend import Backend, BackendUnavailable
    from minidiff.compat import (
        binary_op_func,
        binomial,
        choice,
        create_binary_op_func,
        create_ternary_op_func,
        create_unary_op_func,
        disable_new_grads,
        grad_allowed_,
        new_grads_allowed_,
        permutation,
        rand,
        randint,
        randn,
        reuse_graph,
        set_allow_grad,
        set_allow_new_grads,
        shuffle,
        ternary_op_func,
        try_unwrap,
        unary_op_func,
    )
    from minidiff.config import get_backend, reload_config, set_backend, use_backend
    from minidiff.checkpointing import checkpoint
    from minidiff.compiler import CompileError, CompileWarning, compile
    from minidiff.custom import as_minidiff, create_op_func, custom_vjp
    from minidiff.dispatch import freeze
    from minidiff.functional import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp
    from minidiff.lazy import compute
    from minidiff.registry import Registry
    from minidiff.serialization import load, save
    from minidiff.transform_args import IndependentOutputWarning
    from minidiff.batching.vmap import vmap

# Names imported on first use, from the module that defines them. Deferring these modules
# (and what they pull in: pluggy through dispatch/extend/hookspecs, dataclasses, tomllib)
# took `import minidiff` from ~40 ms over `import numpy` to ~9 ms (1.55x to 1.12x its time,
# benchmarks/import_time.py); the first op imports the plugin machinery anyway, but not
# functional, custom, utils or random.
_LAZY = {
    **dict.fromkeys(("Backend", "BackendUnavailable"), "minidiff.backend"),
    **dict.fromkeys(("get_backend", "reload_config", "set_backend", "use_backend"), "minidiff.config"),
    "checkpoint": "minidiff.checkpointing",
    **dict.fromkeys(("compile", "CompileError", "CompileWarning"), "minidiff.compiler"),
    **dict.fromkeys(("as_minidiff", "create_op_func", "custom_vjp"), "minidiff.custom"),
    "freeze": "minidiff.dispatch",
    **dict.fromkeys(
        ("grad", "hessian", "hvp", "jacobian", "jvp", "value_and_grad", "vjp"), "minidiff.functional"
    ),
    "Registry": "minidiff.registry",
    "compute": "minidiff.lazy",
    # the original minidiff's (0.x) names, thin aliases onto today's (docs/coming-from-minidiff-0.x.md)
    **dict.fromkeys(
        (
            "binary_op_func",
            "binomial",
            "choice",
            "create_binary_op_func",
            "create_ternary_op_func",
            "create_unary_op_func",
            "disable_new_grads",
            "grad_allowed_",
            "new_grads_allowed_",
            "permutation",
            "rand",
            "randint",
            "randn",
            "reuse_graph",
            "set_allow_grad",
            "set_allow_new_grads",
            "shuffle",
            "ternary_op_func",
            "try_unwrap",
            "unary_op_func",
        ),
        "minidiff.compat",
    ),
    **dict.fromkeys(("load", "save"), "minidiff.serialization"),
    "vmap": "minidiff.batching.vmap",
    "IndependentOutputWarning": "minidiff.transform_args",
}
# Submodules `import minidiff` used to import, listed by `dir(minidiff)`; like any submodule,
# `md.random` imports one on first use.
_SUBMODULES = ("optim", "random", "utils")
# Public names that `__getattr__` serves without binding them here, because a global of
# that name would shadow a builtin this module's code uses (`md.bool` is NumPy's bool).
# They stay out of `__all__`, so `from minidiff import *` does not shadow the builtin either.
_SHADOWING = {"bool": bool_}

__version__ = "0.1.0"

# `compile` (md.compile) is served by `__getattr__` and kept out of `__all__` like `bool`:
# `from minidiff import *` must not shadow the builtin.
__all__ = [
    "Backend",
    "BackendUnavailable",
    "CompileError",
    "CompileWarning",
    "FuncNode",
    "IndependentOutputWarning",
    "Tensor",
    "array",
    "as_minidiff",
    "asarray",
    "available_backends",
    "binary_op_func",
    "binomial",
    "bool_",
    "can_cast",
    "checkpoint",
    "choice",
    "complex64",
    "complex128",
    "compute",
    "create_binary_op_func",
    "create_op_func",
    "create_ternary_op_func",
    "create_unary_op_func",
    "custom_vjp",
    "disable_new_grads",
    "e",
    "enable_grad",
    "finfo",
    "from_dlpack",
    "float16",
    "float32",
    "float64",
    "get_backend",
    "grad",
    "grad_allowed_",
    "hessian",
    "hvp",
    "iinfo",
    "inf",
    "int8",
    "int16",
    "int32",
    "int64",
    "is_grad_enabled",
    "isdtype",
    "jacobian",
    "jvp",
    "load",
    "nan",
    "new_grads_allowed_",
    "newaxis",
    "no_grad",
    "nonzero",
    "optim",
    "permutation",
    "pi",
    "rand",
    "randint",
    "randn",
    "random",
    "reload_config",
    "result_type",
    "reuse_graph",
    "save",
    "set_allow_grad",
    "set_allow_new_grads",
    "set_backend",
    "shuffle",
    "tensor",
    "ternary_op_func",
    "try_unwrap",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "unary_op_func",
    "unique_all",
    "unique_counts",
    "unique_inverse",
    "unique_values",
    "use_backend",
    "utils",
    "value_and_grad",
    "vjp",
    "vmap",
]


def available_backends() -> list[str]:
    """Names of the installed backends that can run here.

    >>> "numpy" in available_backends()
    True
    """
    from minidiff.backend import BackendUnavailable

    usable = []
    for name in plugins.backend_names():
        try:
            plugins.backend(name)
        except (BackendUnavailable, ValueError):
            continue
        usable.append(name)
    return usable


def _bind_ops(registry: Registry) -> None:
    """Put every public op on `minidiff` or its namespace module (`minidiff.linalg`).

    Runs under the plugin lock before the loaded state is published, so it must not look up
    ops on this module (that would start another load): it reads `vars()` directly.
    """
    from minidiff.dispatch import freeze

    this = sys.modules[__name__]
    bound = {qualname: function for qualname, function in freeze(registry).items() if function.op.public}
    for qualname, function in bound.items():
        op = function.op
        target = this
        if op.namespace:
            target = vars(this).get(op.namespace)
            if not getattr(target, "__minidiff_namespace__", False):
                target = _namespace(op.namespace)
        setattr(target, op.name, function)
    # ops bound by an earlier load (before `plugins.reset()`) that this load does not have
    for holder in (this, *(v for v in list(vars(this).values()) if getattr(v, "__minidiff_namespace__", False))):
        for name, value in list(vars(holder).items()):
            op = getattr(value, "op", None)
            if callable(value) and getattr(op, "name", None) == name and op.qualname not in bound:
                delattr(holder, name)


def _namespace(name: str) -> ModuleType:
    """The module `minidiff.<name>` that holds the ops registered under namespace `name`."""
    module = ModuleType(f"{__name__}.{name}", f"minidiff.{name}: ops registered under the {name!r} namespace.")
    module.__minidiff_namespace__ = True  # type: ignore[attr-defined]  # tells op namespaces from core modules
    sys.modules[module.__name__] = module
    setattr(sys.modules[__name__], name, module)
    return module


plugins._on_loaded.append(_bind_ops)
plugins._on_loaded.append(bind_aliases)  # the Array API's names (`md.acos`), once the ops they name are bound


def __getattr__(name: str) -> Any:
    # Ops appear here after the plugins load; the first lookup of one triggers the load.
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name in _LAZY:
        value = globals()[name] = getattr(importlib.import_module(_LAZY[name]), name)  # later lookups skip this
        return value
    if name in _SHADOWING:
        return _SHADOWING[name]
    if importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")  # a submodule, such as md.testing
    plugins.load()
    if name in globals():
        return globals()[name]
    raise AttributeError(_missing(name))


def _missing(name: str) -> str:
    """The message for a name minidiff does not have, with the closest names it does have."""
    import difflib

    ops_and_namespaces = [
        n for n, v in globals().items() if hasattr(v, "op") or getattr(v, "__minidiff_namespace__", False)
    ]
    known = {*__all__, *_SHADOWING, *ops_and_namespaces}
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.75)
    hint = f"; did you mean {' or '.join(f'md.{n}' for n in close)}?" if close else ""
    return (
        f"module {__name__!r} has no attribute {name!r}: it is not a minidiff function, and no installed op "
        f"family registers it{hint} (`minidiff info --ops` lists every op)"
    )


def __dir__() -> list[str]:
    plugins.load()
    for module in {*_LAZY.values(), *(f"{__name__}.{name}" for name in _SUBMODULES)}:
        importlib.import_module(module)  # lists the submodules that `import minidiff` once imported
    return sorted({*globals(), *_LAZY, *_SHADOWING})
