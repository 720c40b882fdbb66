"""The signature and docstring of each bound op, derived from its `Op` declaration.

Ops are bound at run time (`minidiff.dispatch.bind`), as functions whose own signature is
a generic `(*args, **kwargs)`. `describe(function, op)` gives each one what `help()`,
`inspect.signature` and IDEs read:

- `__signature__`: operands first and positional-only (named after the op's forward or
  its first gradient rule: `x`, `a, b`), then the op's `params` with their defaults; a
  variadic op takes one sequence `arrays`; a creation op its forward's arguments and the
  keyword-only `dtype`, `backend` and `allow_grad`; an op with `parse` or `composite` the
  signature of that function.
- `__doc__`: what it computes (the op's `doc`, or the NumPy function it follows), how it
  is differentiated, and which plugin and distribution registered it;
- `__module__`: `minidiff` or `minidiff.<namespace>`, where users reach a public op.

>>> import minidiff as md, inspect
>>> str(inspect.signature(md.sum))
'(x, /, axis=None, keepdims=False, dtype=None) -> minidiff.Tensor'

It runs once per op while plugins load, so it reads code objects rather than calling
`inspect.signature` on every rule (all 144 built-in ops take about 1 ms together).
"""

from __future__ import annotations

from inspect import Parameter, Signature, signature
from typing import Any, Callable

from minidiff.extend import Op
from minidiff._tensor import Tensor

__all__ = ["add_provenance", "describe", "doc_of", "gradient_note", "operand_names", "provenance_of", "signature_of", "summary"]

_POSITIONAL = Parameter.POSITIONAL_ONLY
_EITHER = Parameter.POSITIONAL_OR_KEYWORD
_KEYWORD = Parameter.KEYWORD_ONLY
#: operand names when neither the forward nor a rule names them (NumPy's own docs use x, y)
_DEFAULT_NAMES = {1: ("x",), 2: ("x", "y"), 3: ("x", "y", "z")}
_CREATION_KEYWORDS = (
    Parameter("device", _KEYWORD, default=None),  # the Array API's spelling of `backend`
    Parameter("backend", _KEYWORD, default=None),
    Parameter("allow_grad", _KEYWORD, default=False),
    Parameter("requires_grad", _KEYWORD, default=None),
)
_CREATION_NAMES = ("dtype", "device", "backend", "allow_grad", "requires_grad")


def describe(function: Callable[..., Any], op: Op) -> None:
    """Set `function.__signature__` and `function.__doc__` from `op` (called by `bind`)."""
    try:
        function.__signature__ = signature_of(op)  # type: ignore[attr-defined]
    except (TypeError, ValueError):  # a callable whose signature Python cannot read: keep the generic one
        pass
    function.__doc__ = doc_of(op)
    if op.public:  # where users reach it: help() says "in module minidiff", pickle finds md.sin
        function.__module__ = f"minidiff.{op.namespace}" if op.namespace else "minidiff"


# ---------------------------------------------------------------------------- signatures


def signature_of(op: Op) -> Signature:
    """The public call of `op`'s bound function, as `inspect.Signature`."""
    returns = tuple[Tensor, ...] if op.nout > 1 else Tensor
    if op.composite is not None:
        return signature(op.composite)
    if op.parse is not None:
        return signature(op.parse).replace(return_annotation=returns)
    if op.creation:
        forward = op.forward
        own = [] if isinstance(forward, str) else list(signature(forward).parameters.values())[1:]
        # `dtype` stays where the forward has it (NumPy's place, positional too); a forward
        # without one gets it as a keyword
        kept = [p for p in own if p.name not in _CREATION_NAMES[1:] and p.kind != Parameter.VAR_KEYWORD]
        if not any(p.name == "dtype" for p in kept):
            kept.append(Parameter("dtype", _KEYWORD, default=None))
        return Signature([*kept, *_CREATION_KEYWORDS], return_annotation=returns)
    if op.nargs is None:
        operands = [Parameter("arrays", _POSITIONAL)]
    else:
        operands = [Parameter(name, _POSITIONAL) for name in operand_names(op)]
    params = [Parameter(name, _EITHER, default=default) for name, default in op.params.items()]
    return Signature([*operands, *params], return_annotation=returns, __validate_parameters__=False)


def operand_names(op: Op) -> tuple[str, ...]:
    """Names of `op`'s `nargs` operands: from its forward `(xp, *operands, ...)`, else its
    first gradient rule `(g, ans, *operands, ...)`, else `x, y, z` (or `x1, x2, ...`)."""
    count = op.nargs or 0
    for function, skip in ((op.forward, 1), (_first_rule(op), 2)):
        code = getattr(function, "__code__", None)
        if code is None:
            continue
        names = code.co_varnames[skip : code.co_argcount]
        if len(names) >= count:
            return tuple(names[:count])
    return _DEFAULT_NAMES.get(count) or tuple(f"x{i + 1}" for i in range(count))


def _first_rule(op: Op) -> Any:
    if op.vjp is None or callable(op.vjp):  # a variadic op's rule takes (argnum, g, ans, *inputs)
        return None
    return next((rule for rule in op.vjp if rule is not None), None)


# ---------------------------------------------------------------------------- docstrings


def summary(op: Op) -> str:
    """What `op` computes: its own `doc`, or a line naming the NumPy function it follows."""
    if op.doc:
        return op.doc.strip()
    numpy_name = _numpy_name(op)
    if numpy_name:
        return f"`{numpy_name}` on minidiff Tensors, with NumPy's semantics for the arguments in its signature."
    return f"minidiff's `{op.qualname}`."


def _numpy_name(op: Op) -> str:
    reference = op.reference
    if reference is not None:
        module, name = getattr(reference, "__module__", None) or "", getattr(reference, "__name__", "")
        if module.split(".")[0] == "numpy" and name.isidentifier():
            return f"numpy.{op.namespace + '.' if op.namespace else ''}{name}"
        return ""
    # Not imported at module level: the op plugins have imported NumPy anyway.
    import numpy as np

    namespace = getattr(np, op.namespace, None) if op.namespace else np
    return f"numpy.{op.qualname}" if getattr(namespace, op.name, None) is not None else ""


def gradient_note(op: Op) -> str:
    """How `op` is differentiated, with its convention at kinks where it declares one."""
    if op.creation:
        note = (
            "Creation: `dtype=` chooses the dtype, `backend=` the backend (default: the active one), "
            "`allow_grad=True` (or `requires_grad=True`) makes a leaf that takes gradients."
        )
    elif op.composite is not None:
        note = "Gradient: built from other minidiff ops and differentiated through them, to any order."
    elif op.vjp is None:
        note = "Not differentiable: its result never allows grad (it is a constant in any graph)."
    else:
        note = "Gradient: rules written in minidiff ops, so every order works."
    convention = getattr(op, "convention", "")  # an optional field a pack's Op subclass may carry
    return f"{note} At kinks: {convention.strip()}" if convention else note


def provenance_of(registry: Any, plugin: str) -> str:
    """`'plugin' (from distribution version)` for a plugin merged into `registry`."""
    origins = getattr(registry, "origins", None)
    if origins and plugin in origins:
        return origins[plugin]
    from minidiff import plugins

    state = plugins._state
    for info in state.plugins if state is not None else ():
        if info.name == plugin:
            return f"{plugin!r} (from {info.distribution} {info.version})"
    return repr(plugin)


def doc_of(op: Op, origin: str = "") -> str:
    """The docstring of `op`'s bound function: what it computes, its gradient and, given
    `origin` (`provenance_of`), which plugin registered it."""
    parts = [summary(op), gradient_note(op)]
    if origin:
        parts.append(f"Registered by the plugin {origin}.")
    return "\n\n".join(parts)


def add_provenance(registry: Any) -> None:
    """Name the registering plugin in each bound op's docstring. A load callback
    (`minidiff.plugins._on_loaded`): `bind` sees one op, the registry sees who added it."""
    from minidiff.optable import functions

    for qualname, entry in registry.ops.items():
        function = functions.get(qualname)
        if function is not None and getattr(function, "op", None) is entry.value:
            function.__doc__ = doc_of(entry.value, provenance_of(registry, entry.plugin))


def _install_callback() -> None:
    # This module is first imported by `bind`, while the plugins load; the loader calls the
    # callbacks of `_on_loaded` in order, so this one runs right after the ops are bound,
    # in that load and every later one (after `plugins.reset()`).
    from minidiff import plugins

    if add_provenance not in plugins._on_loaded:
        plugins._on_loaded.append(add_provenance)


_install_callback()
