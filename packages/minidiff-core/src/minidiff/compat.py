"""The original minidiff's (0.x) names, in one place, so code written for it runs unchanged.

Every name here is a thin alias or shim onto today's API, which stays the primary one;
`docs/coming-from-minidiff-0.x.md` maps each old name to its new spelling. The ones that
were on `minidiff` itself are there again (`md.set_allow_grad`, `md.randn`); the
original's `minidiff.ops.wrapping` module re-exports the op builders from here.

- Grad mode: `set_allow_grad`, `grad_allowed_`, `disable_new_grads`,
  `set_allow_new_grads`, `new_grads_allowed_`.
- Op builders with the original's conventions: `create_op_func`, `create_unary_op_func`,
  `create_binary_op_func`, `create_ternary_op_func`, their decorator forms, and
  `create_stateful_op_func`; `as_minidiff`, `try_unwrap`.
- `Tensor.backward(retain_grads=..., cleanup_mode=...)`, mapped by `backward_options`.
- `minidiff.utils`' `calculate_finite_differences`, `compute_grads`, `draw_tensor_op_graph`.
- `reuse_graph`, the original's graph cache, now a shim onto `md.compile`.
- The original's random functions on `minidiff` itself: `md.rand`, `md.randn`,
  `md.randint`, `md.choice`, `md.permutation`, `md.shuffle`, `md.binomial`, each the
  `md.random` function of that name.

>>> import minidiff as md
>>> md.set_allow_grad(False)
>>> md.grad_allowed_(), md.is_grad_enabled()
(False, False)
>>> md.set_allow_grad(True)
>>> md.randn(2, 3).shape
(2, 3)
"""

from __future__ import annotations

import copy as _copy
import functools
import importlib
import inspect
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from minidiff.graph import FuncNode, grad_enabled, no_grad
from minidiff._tensor import Tensor, make_tensor

__all__ = [
    "BinaryOpClass",
    "OpClass",
    "TernaryOpClass",
    "UnaryOpClass",
    "as_minidiff",
    "backward_options",
    "binary_op_func",
    "binomial",
    "calculate_finite_differences",
    "choice",
    "compute_grads",
    "create_binary_op_func",
    "create_op_func",
    "create_stateful_op_func",
    "create_ternary_op_func",
    "create_unary_op_func",
    "disable_new_grads",
    "draw_tensor_op_graph",
    "grad_allowed_",
    "new_grads_allowed_",
    "op_func",
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
]


# ---------------------------------------------------------------------------- grad mode

# The original kept a second flag, "new grads allowed", that nothing in it read: it is kept
# here as a flag only, so code that sets and reads it still runs.
_new_grads_allowed: ContextVar[bool] = ContextVar("minidiff_new_grads_allowed", default=True)


def set_allow_grad(allow: bool) -> None:
    """Turn grad mode on or off for the rest of the current thread or task: today's
    `md.no_grad()` and `md.enable_grad()`, without the block that restores it.

    >>> import minidiff as md
    >>> md.set_allow_grad(False)
    >>> (md.Tensor([1.0], allow_grad=True) * 2).allow_grad
    False
    >>> md.set_allow_grad(True)
    """
    grad_enabled.set(bool(allow))


def grad_allowed_() -> bool:
    """Whether ops record a graph right now: `md.is_grad_enabled()`."""
    return grad_enabled.get()


def set_allow_new_grads(allow: bool) -> None:
    """Set the original's "new grads allowed" flag, which `new_grads_allowed_()` reads back;
    as in the original, nothing else depends on it."""
    _new_grads_allowed.set(bool(allow))


def new_grads_allowed_() -> bool:
    """The flag `set_allow_new_grads` and `disable_new_grads` set (True by default)."""
    return _new_grads_allowed.get()


@contextmanager
def disable_new_grads() -> Iterator[None]:
    """`md.no_grad()`, also clearing the "new grads allowed" flag inside the block.

    >>> import minidiff as md
    >>> with md.disable_new_grads():
    ...     md.grad_allowed_(), md.new_grads_allowed_()
    (False, False)
    >>> md.grad_allowed_(), md.new_grads_allowed_()
    (True, True)
    """
    token = _new_grads_allowed.set(False)
    try:
        with no_grad():
            yield
    finally:
        _new_grads_allowed.reset(token)


# ---------------------------------------------------------------------------- backward's old options

_CLEANUP_MODES = ("keep", "prune", "destroy")


def backward_options(retain_graph: bool, retain_grads: bool | None, cleanup_mode: str | None) -> bool:
    """The `retain_graph` that `Tensor.backward`'s original options stand for.

    - `cleanup_mode="keep"` kept the graph for another backward: `retain_graph=True`.
    - `"prune"` (the original's default) and `"destroy"` freed the graph the pass used:
      `retain_graph=False`, today's default. (The original pruned only what no other
      result still referenced; today a pass frees every node it went through, and a second
      backward through them raises, suggesting `retain_graph=True`.)
    - `retain_grads=True` kept `.grad` on intermediate tensors too. Today only leaves get
      `.grad`, whatever it says: take an intermediate's gradient with
      `minidiff.engine.grad(output, [intermediate])`.

    Any other mode raises ValueError, as in the original; so does `"prune"` or `"destroy"`
    with `retain_graph=True`, which contradict each other.

    >>> backward_options(False, None, "keep"), backward_options(False, True, "prune")
    (True, False)
    """
    if cleanup_mode is None:
        return retain_graph
    if cleanup_mode not in _CLEANUP_MODES:
        raise ValueError(
            f"cleanup_mode must be one of {', '.join(map(repr, _CLEANUP_MODES))} (the original minidiff's "
            f"modes), got {cleanup_mode!r}; today's spelling is retain_graph=True to keep the graph"
        )
    if cleanup_mode == "keep":
        return True
    if retain_graph:
        raise ValueError(
            f"cleanup_mode={cleanup_mode!r} frees the graph, but retain_graph=True keeps it; pass one of them"
        )
    return False


# ---------------------------------------------------------------------------- unwrapping and as_minidiff


def try_unwrap(value: Any) -> Any:
    """The backend arrays inside `value`: a Tensor's array, and the same for each item of a
    tuple, list or dict (recursively); anything else as it is. Today: `t.data`.

    >>> import minidiff as md
    >>> try_unwrap([md.Tensor([1.0]), 2, {"k": md.Tensor(3)}])
    [array([1.]), 2, {'k': array(3)}]
    """
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, tuple):
        return tuple(try_unwrap(v) for v in value)
    if isinstance(value, list):
        return [try_unwrap(v) for v in value]
    if isinstance(value, dict):
        return {k: try_unwrap(v) for k, v in value.items()}
    return value


def as_minidiff(function: Callable[..., Any]) -> Callable[..., Tensor]:
    """A function on backend arrays as one on Tensors, with the original's argument handling:
    every argument (positional or keyword, nested in tuples, lists and dicts too) has its
    Tensors replaced by their arrays, and the result comes back as a Tensor. The result is a
    constant (it never allows grad), as `md.as_minidiff`'s is; give it a gradient with
    `create_unary_op_func` and friends, or `md.custom_vjp`.

    (`md.as_minidiff` is today's: its positional arguments are operands, so a tuple there
    becomes an array.)

    >>> import numpy as np, minidiff as md
    >>> expand = as_minidiff(np.expand_dims)
    >>> expand(md.Tensor([1.0, 2.0], allow_grad=True), (0, 2)).shape
    (1, 2, 1)
    """

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Tensor:
        backend = _backend_of(args, kwargs)
        out = function(*try_unwrap(args), **try_unwrap(kwargs))
        if isinstance(out, Tensor):
            return out.detach()
        return make_tensor(backend.asarray(out), backend, None)

    return wrapper


def _backend_of(args: tuple, kwargs: Mapping[str, Any]) -> Any:
    """The backend of the first Tensor among the arguments (searched one level deep), else the default."""
    for value in (*args, *kwargs.values()):
        items = value if isinstance(value, (tuple, list)) else (value,)
        for item in items:
            if isinstance(item, Tensor):
                return item.backend
    from minidiff.config import get_backend

    return get_backend()


# ---------------------------------------------------------------------------- the original's op builders

class _OperandSlot:
    """Marks where an operand sits among a call's positional arguments: the graph node keeps
    the operands themselves, the other arguments stay in the layout."""

    def __repr__(self) -> str:
        return "<operand>"


_OPERAND = _OperandSlot()
#: the parameter that carries the original call's layout through the graph node
_CALL = "_minidiff_0x_call"


def create_op_func(
    forward_func: Callable[..., Any],
    grad_funcs: Sequence[Callable[..., Any] | None],
    propagate_kwargs: bool = False,
    is_differentiable: bool = True,
    tensor_only: bool = False,
    op_name: str | None = None,
) -> Callable[..., Tensor]:
    """A differentiable function, in the original's conventions (today's `md.create_op_func`
    takes a forward on arrays and rules `rule(g, ans, *inputs)` instead):

    - `forward_func(*args, **kwargs)` runs on Tensors and returns a Tensor (typically
      `as_minidiff(numpy_function)`); it runs once per call, with no graph of its own.
    - `grad_funcs[i](*args, g, **kwargs)` gives the gradient for positional argument `i`
      from the output's cotangent `g` (the keyword arguments only with
      `propagate_kwargs=True`); `None` for an argument without one. Written in minidiff
      ops, rules differentiate again, so every order works.
    - A gradient of the output's broadcast shape is summed down to its argument's shape (a
      lower-rank one is broadcast up, one with the argument's size reshaped to it), as the
      original did.
    - `is_differentiable=False` makes the output a constant; `tensor_only=True` requires
      every positional argument to be a Tensor, otherwise one is enough (a ValueError if not).

    The call records one graph node, like any op, with the Tensors among the positional
    arguments as its operands.

    >>> import numpy as np, minidiff as md
    >>> sin = create_op_func(as_minidiff(np.sin), [lambda x, g: g * md.cos(x)])
    >>> x = md.Tensor([0.0, 1.0], allow_grad=True)
    >>> sin(x).backward()
    >>> x.grad
    minidiff.Tensor([1.        , 0.54030231])
    """
    from minidiff.dispatch import bind
    from minidiff.extend import Op

    name = op_name or getattr(forward_func, "__name__", "op")
    rules = tuple(grad_funcs)

    def parse(*args: Any, **kwargs: Any) -> tuple[tuple, dict]:
        _check_operands(name, args, tensor_only)
        operands = tuple(a for a in args if isinstance(a, Tensor))
        layout = tuple(_OPERAND if isinstance(a, Tensor) else a for a in args)
        return operands, {**kwargs, _CALL: (layout, operands[0].backend.name)}

    def forward(xp: Any, *arrays: Any, **params: Any) -> Any:
        from minidiff.config import get_backend

        (layout, backend_name), kwargs = params.pop(_CALL), params
        backend = get_backend(backend_name)
        args = _fill(layout, [make_tensor(a, backend, None) for a in arrays])
        with no_grad():
            out = forward_func(*args, **kwargs)
        return out.data if isinstance(out, Tensor) else backend.asarray(out)

    def vjp(g: Tensor, ans: Tensor, *inputs: Any, **params: Any) -> tuple:
        (layout, _), kwargs = params.pop(_CALL), params
        args = _fill(layout, inputs)
        extra = kwargs if propagate_kwargs else {}
        cotangents = []
        inputs_left = iter(inputs)
        for position, item in enumerate(layout):
            if item is not _OPERAND:
                continue
            x = next(inputs_left)
            rule = rules[position] if position < len(rules) else None
            if rule is None or not x.allow_grad:
                cotangents.append(None)
                continue
            cotangents.append(_fit_like_original(rule(*args, g, **extra), x))
        return tuple(cotangents)

    try:
        # help() and IDEs show the forward's signature
        parse.__signature__ = inspect.signature(forward_func)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        pass
    op = Op(
        name,
        forward=forward,
        vjp=vjp if is_differentiable else None,
        nargs=None,
        parse=parse,
        doc=getattr(forward_func, "__doc__", None) or "",
    )
    return bind(op, {})


def _check_operands(name: str, args: tuple, tensor_only: bool) -> None:
    if tensor_only and not all(isinstance(a, Tensor) for a in args):
        kinds = ", ".join(type(a).__name__ for a in args)
        raise ValueError(f"{name}() takes minidiff Tensors only as positional arguments, got ({kinds})")
    if not any(isinstance(a, Tensor) for a in args):
        raise ValueError(f"{name}() needs at least one minidiff Tensor among its positional arguments")


def _fill(layout: tuple, operands: Sequence[Any]) -> list[Any]:
    """The call's positional arguments: `layout` with each operand slot filled in order."""
    left = iter(operands)
    return [next(left) if item is _OPERAND else item for item in layout]


def _fit_like_original(gx: Any, x: Tensor) -> Tensor:
    """A rule's result as the original took it: a number or array becomes a Tensor, one
    with `x`'s size is reshaped to `x`'s shape, a lower-rank one broadcast up (the engine
    sums a higher-rank, broadcast one down)."""
    if gx is None:
        return None
    if not isinstance(gx, Tensor):
        gx = Tensor(gx, dtype=x.dtype, backend=x.backend.name)
    if gx.shape == x.shape:
        return gx
    from minidiff.optable import ops

    if gx.size == x.size:
        return ops.reshape(gx, x.shape)
    if gx.ndim < x.ndim:
        return ops.broadcast_to(gx, x.shape)
    return gx


def create_unary_op_func(
    forward_func: Callable[..., Any], grad: Callable[..., Any] | None = None, **kwargs: Any
) -> Callable[..., Tensor]:
    """`create_op_func` for one Tensor argument: `grad(x, g)` is its gradient. Every
    positional argument must be a Tensor (options go by keyword).

    >>> import numpy as np, minidiff as md
    >>> square = md.create_unary_op_func(as_minidiff(np.square), grad=lambda x, g: 2 * x * g)
    >>> x = md.Tensor(3.0, allow_grad=True)
    >>> square(x).backward()
    >>> x.grad.item()
    6.0
    """
    return create_op_func(forward_func, [grad], **{**kwargs, "tensor_only": True})


def create_binary_op_func(
    forward_func: Callable[..., Any],
    grad_x: Callable[..., Any] | None = None,
    grad_y: Callable[..., Any] | None = None,
    **kwargs: Any,
) -> Callable[..., Tensor]:
    """`create_op_func` for two arguments: `grad_x(x, y, g)` and `grad_y(x, y, g)`.

    >>> import numpy as np, minidiff as md
    >>> mul = md.create_binary_op_func(as_minidiff(np.multiply), lambda x, y, g: g * y, lambda x, y, g: g * x)
    >>> x, y = md.Tensor(2.0, allow_grad=True), md.Tensor(5.0, allow_grad=True)
    >>> mul(x, y).backward()
    >>> x.grad.item(), y.grad.item()
    (5.0, 2.0)
    """
    return create_op_func(forward_func, [grad_x, grad_y], **kwargs)


def create_ternary_op_func(
    forward_func: Callable[..., Any],
    grad_x: Callable[..., Any] | None = None,
    grad_y: Callable[..., Any] | None = None,
    grad_z: Callable[..., Any] | None = None,
    **kwargs: Any,
) -> Callable[..., Tensor]:
    """`create_op_func` for three arguments: `grad_x(x, y, z, g)` and so on.

    >>> import numpy as np, minidiff as md
    >>> fma = md.create_ternary_op_func(
    ...     as_minidiff(lambda x, y, z: x * y + z),
    ...     lambda x, y, z, g: g * y, lambda x, y, z, g: g * x, lambda x, y, z, g: g,
    ... )
    >>> x = md.Tensor(2.0, allow_grad=True)
    >>> fma(x, md.Tensor(3.0), md.Tensor(1.0)).backward()
    >>> x.grad.item()
    3.0
    """
    return create_op_func(forward_func, [grad_x, grad_y, grad_z], **kwargs)


def _decorator(builder: Callable[..., Callable[..., Tensor]]) -> Callable[..., Any]:
    def decorator_factory(**kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Tensor]]:
        def decorate(forward_func: Callable[..., Any]) -> Callable[..., Tensor]:
            return builder(forward_func=forward_func, **kwargs)

        return decorate

    decorator_factory.__name__ = decorator_factory.__qualname__ = builder.__name__.removeprefix("create_")
    decorator_factory.__doc__ = (
        f"The decorator form of `{builder.__name__}`: `@{decorator_factory.__name__}(**options)` over a "
        f"forward function is `{builder.__name__}(forward_func=function, **options)`."
    )
    return decorator_factory


op_func = _decorator(create_op_func)
unary_op_func = _decorator(create_unary_op_func)
binary_op_func = _decorator(create_binary_op_func)
ternary_op_func = _decorator(create_ternary_op_func)


class OpClass:
    """The original's base class for ops that build their forward and gradients per call
    (see `create_stateful_op_func`): override `create_forward` and `create_grads`."""

    def create_forward(self) -> Callable[..., Any]:
        raise NotImplementedError

    def create_grads(self) -> Sequence[Callable[..., Any] | None]:
        raise NotImplementedError


class UnaryOpClass(OpClass):
    """An `OpClass` with one argument."""


class BinaryOpClass(OpClass):
    """An `OpClass` with two arguments."""


class TernaryOpClass(OpClass):
    """An `OpClass` with three arguments."""


def create_stateful_op_func(
    op_class: type[OpClass], propagate_kwargs: bool = False, tensor_only: bool = False, op_name: str | None = None
) -> Callable[..., Tensor]:
    """A function that makes a fresh `op_class()` on each call and runs `create_op_func`
    with its `create_forward()` and `create_grads()`, so forward and gradients can share
    state (saved intermediates) through the instance.

    >>> import numpy as np, minidiff as md
    >>> class Exp(UnaryOpClass):
    ...     def create_forward(self):
    ...         def forward(x):
    ...             self.out = md.exp(x)          # kept for the gradient
    ...             return self.out
    ...         return forward
    ...     def create_grads(self):
    ...         return [lambda x, g: g * self.out]
    >>> x = md.Tensor(0.5, allow_grad=True)
    >>> create_stateful_op_func(Exp)(x).backward()
    >>> round(x.grad.item(), 6)
    1.648721
    """
    name = op_name or op_class.__name__

    def function(*args: Any, **kwargs: Any) -> Tensor:
        instance = op_class()
        built = create_op_func(
            instance.create_forward(), instance.create_grads(), propagate_kwargs=propagate_kwargs,
            tensor_only=tensor_only, op_name=name,
        )
        return built(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    return function


# ---------------------------------------------------------------------------- minidiff.utils' old helpers


def calculate_finite_differences(
    *input_tensors: Any,
    func: Callable[..., Any],
    h: float = 1e-7,
    exclude: Sequence[Tensor] | None = None,
) -> list[Tensor | None]:
    """Central finite differences of `func(*input_tensors)`, summed over its output (the
    quantity `backward()` differentiates, seeding ones), with respect to each Tensor
    argument that allows grad and is not in `exclude`; `None` for every other argument.
    Each element is moved by `h` in the argument's own dtype: use float64. Today:
    `minidiff.testing.gradcheck`, which compares with the analytic gradient itself.

    >>> import minidiff as md
    >>> x = md.Tensor([1.0, 2.0], allow_grad=True)
    >>> (fd,) = calculate_finite_differences(x, func=lambda x: x ** 3, h=1e-5)
    >>> np.round(fd.numpy(), 6)   # 3 x^2
    array([ 3., 12.])
    """
    excluded = {id(t) for t in exclude or ()}
    estimates: list[Tensor | None] = []
    with no_grad():
        for position, x in enumerate(input_tensors):
            if not isinstance(x, Tensor) or not x.allow_grad or id(x) in excluded:
                estimates.append(None)
                continue
            values = np.array(x.numpy())
            estimate = np.zeros(values.shape, dtype=np.float64)

            def total(moved: np.ndarray) -> float:
                args = list(input_tensors)
                args[position] = Tensor(moved, backend=x.backend.name)
                out = func(*args)
                return float(np.sum(np.asarray(out.numpy() if isinstance(out, Tensor) else out, dtype=np.float64)))

            for index in np.ndindex(*values.shape):
                up, down = values.copy(), values.copy()
                up[index] += h
                down[index] -= h
                estimate[index] = (total(up) - total(down)) / (2 * h)
            estimates.append(Tensor(estimate, dtype=x.dtype, backend=x.backend.name))
    return estimates


def compute_grads(
    *input_tensors: Any,
    func: Callable[..., Any],
    h: float = 1e-7,
    exclude: Sequence[Tensor] | None = None,
) -> tuple[list[Tensor | None], list[Tensor | None]]:
    """`(finite_differences, gradients)` of `func(*input_tensors)` summed over its output,
    for each floating-point Tensor argument not in `exclude` (`None` in both lists for the
    others). It works on copies that allow grad, so the arguments' own `.grad` and graphs
    are left alone. Today: `minidiff.testing.gradcheck(func, *inputs)`.

    >>> import minidiff as md
    >>> x = md.Tensor([0.5, 1.0])
    >>> numeric, analytic = compute_grads(x, func=md.sin, h=1e-6)
    >>> bool(np.allclose(numeric[0].numpy(), analytic[0].numpy()))
    True
    """
    from minidiff.engine import grad as engine_grad

    excluded = {id(t) for t in exclude or ()}
    copies: list[Any] = []
    for t in input_tensors:
        if isinstance(t, Tensor):
            c = t.detach().copy()
            if c.dtype.kind == "f" and id(t) not in excluded:
                c.requires_grad_(True)
            copies.append(c)
        else:
            copies.append(_copy.deepcopy(t))
    differentiable = [c for c in copies if isinstance(c, Tensor) and c.allow_grad]
    out = func(*copies)
    found: dict[int, Tensor] = {}
    if differentiable and isinstance(out, Tensor) and out.allow_grad:
        found = {id(c): g for c, g in zip(differentiable, engine_grad(out, differentiable))}
    analytic = [found.get(id(c)) if isinstance(c, Tensor) and c.allow_grad else None for c in copies]
    numeric = calculate_finite_differences(*copies, func=func, h=h)
    return numeric, analytic


def draw_tensor_op_graph(
    root: Tensor,
    tensor_names: Mapping[Any, str] | None = None,
    graph: Any = None,
    insert_intermediates: bool = False,
    **kwargs: Any,
) -> Any:
    """The graph that produced `root`, drawn by `md.utils.draw_graph`: a `graphviz.Digraph`
    when the `graphviz` package is installed, else its DOT text.

    - `tensor_names` maps `id(tensor)` (or the tensor itself) to a label; a tensor the
      graph no longer holds (a computed value no rule needed) cannot be found, so it is
      drawn by its shape and dtype only.
    - `graph`: a graphviz graph to draw into (as a subgraph); `kwargs` make a new
      `graphviz.Digraph(**kwargs)` to draw into. Both need the `graphviz` package.
    - `insert_intermediates` changes nothing: every value is drawn as its own box.

    >>> import minidiff as md
    >>> x = md.Tensor([1.0, 2.0], allow_grad=True)
    >>> drawn = draw_tensor_op_graph(md.sin(x) * 2.0, {id(x): "x"})
    >>> 'label="x' in str(drawn)          # DOT text, or a graphviz.Digraph, whose str is its DOT text
    True
    """
    from minidiff.utils import draw_graph

    names: dict[str, Tensor] = {}
    if tensor_names:
        reachable = _tensors_by_id(root)
        for key, label in tensor_names.items():
            tensor = key if isinstance(key, Tensor) else reachable.get(key)
            if tensor is not None:
                names[label] = tensor
    drawn = draw_graph(root, names=names)
    if graph is None and not kwargs:
        return drawn
    try:
        graphviz = importlib.import_module("graphviz")
    except ImportError:
        raise ImportError(
            "draw_tensor_op_graph(graph=...) and Digraph options need the graphviz package: pip install graphviz"
        ) from None
    target = graph if graph is not None else graphviz.Digraph(**kwargs)
    target.subgraph(drawn)
    return target


def _tensors_by_id(root: Tensor) -> dict[int, Tensor]:
    """Every Tensor the graph of `root` still holds, by id (iteratively: deep graphs are fine)."""
    found: dict[int, Tensor] = {}
    stack: list[Any] = [root]
    seen: set[int] = set()
    while stack:
        value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, Tensor):
            found[id(value)] = value
            node = value.node
        else:
            node = value
        if node is not None and node.inputs is not None:
            stack.extend(x for x in node.inputs if isinstance(x, (Tensor, FuncNode)))
    return found


# ---------------------------------------------------------------------------- random functions on md itself


def _random_alias(name: str) -> Callable[..., Any]:
    def alias(*args: Any, **kwargs: Any) -> Any:
        from minidiff import random

        return getattr(random, name)(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = name
    alias.__doc__ = f"`md.random.{name}`, under the original minidiff's name `md.{name}`."
    return alias


rand = _random_alias("rand")
randn = _random_alias("randn")
randint = _random_alias("randint")
choice = _random_alias("choice")
permutation = _random_alias("permutation")
shuffle = _random_alias("shuffle")
binomial = _random_alias("binomial")


# ---------------------------------------------------------------------------- graph reuse


def reuse_graph(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """The original minidiff's graph cache (`minidiff.caching.reuse_graph()`), onto `md.compile`.

    The original cached a graph's topology inside a `with reuse_graph():` block, keyed without
    the leaves it was built from, so the same code run on other tensors reused the first
    tensors' graph. Today:

    - `@md.reuse_graph()` or `md.reuse_graph(f)` is `md.compile(f)` (keyword arguments go to
      it): the program is keyed by the signature of the call, and the tensors passed as
      arguments are read (and get their `.grad`) at each call, so other leaves get their own
      gradients;
    - `with md.reuse_graph():` still runs its block, eagerly: the engine orders each graph
      afresh, which is always right (a block cannot be replayed; compile a function instead).

    >>> import minidiff as md
    >>> @md.reuse_graph()
    ... def loss(a, b):
    ...     out = (a * b).sum()
    ...     out.backward()
    ...     return out
    >>> x, y = md.Tensor([1.0, 2.0], allow_grad=True), md.Tensor([3.0, 4.0], allow_grad=True)
    >>> u, v = md.Tensor([5.0, 6.0], allow_grad=True), md.Tensor([7.0, 8.0], allow_grad=True)
    >>> loss(x, y), loss(u, v)
    (minidiff.Tensor(11.), minidiff.Tensor(83.))
    >>> x.grad, u.grad
    (minidiff.Tensor([3., 4.]), minidiff.Tensor([7., 8.]))
    """
    from minidiff.compiler import compile

    if fn is not None:
        return compile(fn, **options)
    return _ReuseGraph(options)


class _ReuseGraph:
    """What `md.reuse_graph()` returns: a decorator onto `md.compile`, or a `with` block that
    runs eagerly."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options

    def __call__(self, fn: Callable[..., Any]) -> Any:
        from minidiff.compiler import compile

        return compile(fn, **self.options)

    def __enter__(self) -> "_ReuseGraph":
        return self

    def __exit__(self, *exc: object) -> None:
        return None
