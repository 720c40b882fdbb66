"""Custom ops: your own forward and gradient, without writing an op pack.

Three entry points onto the machinery the built-in ops use (an `Op`, a `FuncNode` in the
graph, the engine calling its rule):

- `custom_vjp`: JAX's shape. A function written in minidiff ops, with a forward that
  returns `(out, residuals)` and a backward that maps `(residuals, g)` to one cotangent
  per input. Use it to give a composite function a cheaper, more stable or deliberately
  different gradient (gradient clipping, straight-through estimators, implicit
  differentiation).
- `create_op_func`: the original minidiff's name. A forward on raw arrays (NumPy arrays
  on the default backend) and one rule per operand, `rule(g, ans, *inputs, **kwargs)`,
  written in minidiff ops: exactly what an `Op` in an op pack declares.
- `as_minidiff`: the original minidiff's name. A plain NumPy function as a minidiff
  function that is not differentiable (its output is a constant, as `argmax`'s is).

A backward written in minidiff ops is itself recorded when a higher-order gradient is
asked for, so custom ops differentiate to any order like the built-in ones.
"""

from __future__ import annotations

import functools
import inspect
from contextvars import ContextVar
from typing import Any, Callable, Sequence

from minidiff.dispatch import bind, frozen_copy, result_takes_grad
from minidiff.extend import Op, Rule
from minidiff.graph import FuncNode, grad_enabled
from minidiff._tensor import Tensor, make_tensor, version_of

__all__ = ["as_minidiff", "create_op_func", "custom_vjp"]

# The custom_vjp functions whose `fwd` is running (by id), per thread and task.
_forwarding: ContextVar[frozenset[int]] = ContextVar("minidiff_custom_vjp_forwarding", default=frozenset())


class custom_vjp:
    """A function with a custom vector-Jacobian product, in JAX's shape.

    >>> import minidiff as md
    >>> @md.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> def clip_gradient_fwd(x):
    ...     return x, None                      # the output, and the residuals backward needs
    >>> def clip_gradient_bwd(residuals, g):
    ...     return (md.clip(g, -1.0, 1.0),)     # one cotangent per input
    >>> clip_gradient.defvjp(clip_gradient_fwd, clip_gradient_bwd)
    >>> md.grad(lambda x: 3.0 * clip_gradient(x))(2.0).item()
    1.0

    A backward written in minidiff ops is differentiated in turn:

    >>> @md.custom_vjp
    ... def sin(x):
    ...     return md.sin(x)
    >>> sin.defvjp(lambda x: (sin(x), x), lambda x, g: (g * md.cos(x),))
    >>> md.grad(md.grad(sin))(1.0).item()   # -sin(1)
    -0.8414709848078965

    - `fwd(*args)` returns `(out, residuals)`: `out` a Tensor, `residuals` anything. It
      runs with grad mode as the caller has it, so Tensor residuals stay functions of
      the inputs, and second and higher derivatives through `bwd` are right.
    - `bwd(*nondiff_args, residuals, g)` returns a tuple with one cotangent per
      differentiable argument (a Tensor, an array, a number or `None` for no gradient),
      each of that argument's shape (or a shape that broadcasts down to it). Write it in
      minidiff ops to keep it differentiable.
    - `nondiff_argnums`: positions of arguments that are not differentiated (ints,
      strings, flags, functions); they are passed to `fwd` and the primal in place and to
      `bwd` first. Use `functools.partial(md.custom_vjp, nondiff_argnums=(1,))` as a
      decorator.

    When no differentiable argument allows grad (or grad mode is off), the primal
    function itself runs, as it does when `fwd` calls the function. Gradients flow only
    through the arguments: a Tensor the function
    closes over gets none, so pass such tensors as arguments.
    """

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(sorted(set(nondiff_argnums)))
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None
        self._signature = _signature_of(fun)
        # The op the graph records: its one (variadic) rule asks `bwd` for the cotangents
        # of all the inputs at once.
        name = getattr(fun, "__name__", "custom_vjp")
        self.op = Op(name, forward=fun, vjp=_custom_rule, nargs=None, doc=fun.__doc__ or "")

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> None:
        """Set the forward `fwd(*args) -> (out, residuals)` and the backward
        `bwd(*nondiff_args, residuals, g) -> tuple of cotangents`."""
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.fwd is None or self.bwd is None:
            raise TypeError(f"custom_vjp function {self.op.name!r} has no VJP: call {self.op.name}.defvjp(fwd, bwd) first")
        args = self._positional(args, kwargs)
        for n in self.nondiff_argnums:
            if n >= len(args):
                raise TypeError(f"{self.op.name}: nondiff_argnums includes {n}, but only {len(args)} arguments were given")
        positions = [i for i in range(len(args)) if i not in self.nondiff_argnums]
        inputs = tuple(args[i] for i in positions)
        forwarding = _forwarding.get()
        needs_grad = grad_enabled.get() and any(isinstance(a, Tensor) and a.allow_grad for a in inputs)
        if id(self) in forwarding or not needs_grad:
            return self.fun(*args)
        token = _forwarding.set(forwarding | {id(self)})  # `fwd` calling this function gets the primal
        try:
            result = self.fwd(*args)
        finally:
            _forwarding.reset(token)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(
                f"{self.op.name}: the forward given to defvjp must return (out, residuals), got {type(result).__name__!r}"
            )
        out, residuals = result
        if not isinstance(out, Tensor):
            backend = next(a.backend for a in inputs if isinstance(a, Tensor))
            out = Tensor(out, backend=backend.name)
        if not result_takes_grad(out.backend, out.data.dtype):
            return out  # an integer or bool result is a constant, as for every op
        # the node keeps its own copy of array-valued options: the caller may change theirs
        nondiff = frozen_copy(tuple(args[i] for i in self.nondiff_argnums), out.backend)
        call = _Call(self, nondiff, residuals)
        versions = tuple(version_of(a) if isinstance(a, Tensor) else 0 for a in inputs)
        node = FuncNode(self.op, inputs, {"call": call}, versions)
        tensor = make_tensor(out.data, out.backend, node)
        # the same buffer as `out`, so the same in-place version counter
        tensor._base = out if out._base is None else out._base
        tensor._version = out._version
        return tensor

    def _positional(self, args: tuple, kwargs: dict) -> tuple:
        """Keyword arguments moved to their positions, as JAX does, so that argnums apply."""
        if not kwargs:
            return args
        if self._signature is None:
            raise TypeError(f"{self.op.name}: pass the arguments positionally")
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        if bound.kwargs:
            raise TypeError(
                f"{self.op.name}: keyword-only arguments {sorted(bound.kwargs)} are not supported; make them positional"
            )
        return bound.args

    def __repr__(self) -> str:
        return f"<custom_vjp function {self.op.name}>"


class _Call:
    """One call of a custom_vjp function, kept in its graph node: what `bwd` needs. It keeps
    no state between backward passes, so a pass that failed can simply be run again."""

    __slots__ = ("function", "nondiff", "residuals")

    def __init__(self, function: custom_vjp, nondiff: tuple, residuals: Any) -> None:
        self.function = function
        self.nondiff = nondiff
        self.residuals = residuals

    def __repr__(self) -> str:
        return f"<call of {self.function.op.name}>"

    def backward(self, g: Tensor, inputs: tuple) -> tuple:
        """Every input's cotangent for the output's cotangent `g`: `bwd`'s, checked against the inputs."""
        name = self.function.op.name
        bwd = self.function.bwd
        assert bwd is not None
        cotangents = bwd(*self.nondiff, self.residuals, g)
        if not isinstance(cotangents, (tuple, list)):
            if len(inputs) != 1:
                raise TypeError(f"{name}: the backward must return a tuple of {len(inputs)} cotangents, one per input")
            cotangents = (cotangents,)
        if len(cotangents) != len(inputs):
            raise TypeError(
                f"{name}: the backward returned {len(cotangents)} cotangent(s) for {len(inputs)} differentiable input(s)"
            )
        fitted = []
        for i, (ct, x) in enumerate(zip(cotangents, inputs)):
            if ct is not None and isinstance(x, Tensor):
                if not isinstance(ct, Tensor):
                    ct = Tensor(ct, dtype=x.dtype, backend=x.backend.name)
                if not _broadcasts_down(ct.shape, x.shape):
                    raise ValueError(
                        f"{name}: the backward returned a cotangent of shape {ct.shape} for input {i} of shape {x.shape}"
                    )
            fitted.append(ct)
        return tuple(fitted)


def _custom_rule(g: Tensor, ans: Tensor, *inputs: Any, call: _Call) -> tuple:
    """The op's one (variadic) rule: `bwd`, called once per backward pass, gives every input's cotangent."""
    return call.backward(g, inputs)


def _broadcasts_down(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    """True when `target` broadcasts to `shape`, so the engine can sum `shape` down to it."""
    if len(target) > len(shape):
        return False
    return all(t == s or t == 1 for t, s in zip(target[::-1], shape[::-1]))


def _signature_of(fun: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(fun)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------- the seed's names


def create_op_func(
    forward: Callable[..., Any],
    vjp: Rule | Sequence[Rule | None] | None,
    *,
    name: str | None = None,
    doc: str = "",
) -> Callable[..., Tensor]:
    """A minidiff function from a forward on raw arrays and gradient rules in minidiff ops.

    - `forward(*arrays, **kwargs)` gets each positional operand as a raw array of its
      backend (a NumPy array on the default backend; Python numbers stay numbers) and
      returns one array.
    - `vjp`: one rule per positional operand, `rule(g, ans, *inputs, **kwargs)`, as in an
      op pack's `Op`: `g` the cotangent, `ans` the output, `inputs` the operands as
      Tensors; it returns the operand's gradient (of the output's shape is fine: the
      engine sums broadcast axes away) or `None`. A single rule means one operand;
      `vjp=None` makes the function non-differentiable (see `as_minidiff`).
    - Keyword arguments of the call are options, passed to `forward` and every rule.

    The result is bound exactly like a registered op (`md.sin`): operands may be Tensors,
    NumPy arrays or numbers, and the graph records one node for it.

    >>> import numpy as np
    >>> import minidiff as md
    >>> softplus = md.create_op_func(
    ...     lambda x: np.logaddexp(0.0, x),
    ...     lambda g, ans, x: g * md.exp(x - ans),    # d softplus / dx = sigmoid(x)
    ...     name="softplus",
    ... )
    >>> x = md.Tensor([0.0, 1.0], allow_grad=True)
    >>> softplus(x).sum().backward()
    >>> x.grad
    minidiff.Tensor([0.5       , 0.73105858])
    >>> md.grad(md.grad(lambda x: softplus(x)))(0.0).item()   # the rule is differentiable
    0.25
    """
    if vjp is None:
        rules = None
    elif callable(vjp):
        rules = (vjp,)
    else:
        rules = tuple(vjp)
    label = name or getattr(forward, "__name__", "custom_op")
    op = Op(
        label,
        forward=lambda xp, *arrays, **kwargs: forward(*arrays, **kwargs),
        vjp=rules,
        nargs=None,
        parse=_operands_then_options(label, None if rules is None else len(rules)),
        doc=doc or getattr(forward, "__doc__", None) or "",
    )
    return bind(op, {})


def as_minidiff(function: Callable[..., Any], *, name: str | None = None) -> Callable[..., Tensor]:
    """A plain NumPy function as a minidiff function that is not differentiable.

    Positional arguments are operands: Tensors are passed to `function` as raw arrays
    (NumPy arrays on the default backend); keyword arguments are passed as they are. The
    result is a Tensor that never allows grad: a constant, as the output of `argmax` or
    `floor` is, so no gradient flows back through it. Use it for integer- or
    boolean-valued helpers (sorting orders, masks, counts); to give a function a
    gradient, use `create_op_func` or `custom_vjp`.

    >>> import numpy as np
    >>> import minidiff as md
    >>> argsort = md.as_minidiff(np.argsort)
    >>> argsort(md.Tensor([3.0, 1.0, 2.0], allow_grad=True))
    minidiff.Tensor([1, 2, 0])
    """
    return create_op_func(function, None, name=name)


def _operands_then_options(name: str, nargs: int | None) -> Callable[..., tuple[tuple, dict]]:
    def parse(*args: Any, **kwargs: Any) -> tuple[tuple, dict]:
        if nargs is not None and len(args) != nargs:
            raise TypeError(f"{name}() takes {nargs} operand(s) (one per gradient rule), got {len(args)}")
        return args, kwargs

    return parse
