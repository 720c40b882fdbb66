"""`md.checkpoint`: trade compute for memory by recomputing a function in the backward pass.

(The module is `checkpointing`: a submodule named `checkpoint`, once imported, would replace the
function `md.checkpoint` with itself as an attribute of the package.)

`checkpoint(f)` behaves like `f`, but the graph keeps none of `f`'s intermediates: its
outputs get one node (op `checkpoint`) whose inputs are `f`'s tensor arguments and the
leaf tensors `f` closes over (model weights). The node's rule runs `f` again on the saved
inputs, with grad on, and backpropagates through that recomputation:

    x ── [f: sin, *, sin, *, ... not kept] ── y         forward: keeps x (and w)
    w ──┘
    backward: y's node re-runs f(x) → a short-lived graph → engine.grad → cotangents of x, w

Forward: `f` runs once with grad on, on fresh leaves standing for its tensor arguments,
so the recorded graph shows which other leaves that allow grad it reaches (the captured
weights); that graph, and every intermediate in it, is dropped as soon as `f` returns.
The peak memory of a chain of checkpointed segments is then the segments' inputs plus one
segment's intermediates, instead of every intermediate of the chain.

Backward: the rule puts back the random state the forward started from (so dropout-like
draws repeat), re-runs `f`, and asks the engine for the cotangents of the inputs. When the
outer backward records a graph (`allow_higher_order=True`, `md.grad(md.grad(...))`,
`md.hessian`), the rule is itself a checkpointed function of the inputs and the
cotangent, so gradients of every order keep the same memory behaviour.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar, overload

from minidiff import random as md_random
from minidiff.batching.tensor import levels
from minidiff.config import get_backend
from minidiff.engine import grad as engine_grad
from minidiff.extend import Op
from minidiff.graph import FuncNode, enable_grad, grad_enabled, no_grad
from minidiff.multi_output import unpack
from minidiff.optable import ops
from minidiff._tensor import Tensor, make_tensor, version_of

__all__ = ["checkpoint"]

F = TypeVar("F", bound=Callable[..., Any])


@overload
def checkpoint(f: F, *, preserve_rng_state: bool = True) -> F: ...
@overload
def checkpoint(f: None = None, *, preserve_rng_state: bool = True) -> Callable[[F], F]: ...


def checkpoint(f: Callable[..., Any] | None = None, *, preserve_rng_state: bool = True) -> Any:
    """`f` with its intermediates recomputed in the backward pass instead of kept.

    Call it as `md.checkpoint(f)(x, w)` or use it as a decorator (`@md.checkpoint` or
    `@md.checkpoint(preserve_rng_state=False)`). Values and gradients, of every order, are
    those of `f`; the graph keeps only `f`'s inputs, and the backward runs `f` once more.

    >>> import minidiff as md
    >>> w = md.Tensor([0.5, -1.0], allow_grad=True)   # captured: gets its gradient too
    >>> @md.checkpoint
    ... def block(x):
    ...     return md.tanh(x * w) * 2.0
    >>> x = md.Tensor([1.0, 2.0], allow_grad=True)
    >>> md.sum(block(block(x))).backward()
    >>> x.grad.shape, w.grad.shape
    ((2,), (2,))
    >>> md.grad(md.grad(lambda x: md.sum(block(x))))(1.0).shape   # second order
    ()

    - Arguments: Tensors (those that allow grad are differentiated), and anything else
      (numbers, strings, flags, nested tuples, lists and dicts of them), positional or
      keyword, passed to `f` as they are.
    - `f` returns a Tensor or a tuple (or list) of Tensors. Outputs that cannot carry a
      gradient (integer results, constants) are returned as they are.
    - Tensors `f` closes over: a leaf that allows grad (a weight) gets its gradient, as if
      passed as an argument. A tensor computed outside `f` and closed over works too, but
      its history is walked and differentiated inside each backward of `f`: pass such
      tensors as arguments, which is cheaper and keeps the graph's order simple.
    - Randomness: with `preserve_rng_state=True` (the default) the backward restores
      `md.random`'s state from before the forward while it recomputes, so `f` draws the
      same numbers, and puts the current state back afterwards.
    - With grad mode off, or when nothing `f` reads allows grad, `f` simply runs. Under
      `md.vmap` (and so inside the default, vectorized `md.jacobian` and `md.hessian`) `f`
      runs unchanged too: the values and gradients are right, without the memory saving.

    The cost: `f` runs twice (once in the forward, once in the backward), and its forward
    records a graph that is dropped when `f` returns, so checkpointing a segment costs about
    one more forward pass of it. Changing an input in place between the forward and the
    backward is an error, as for any op.
    """
    if f is None:
        return functools.partial(checkpoint, preserve_rng_state=preserve_rng_state)
    if not callable(f):
        raise TypeError(f"md.checkpoint takes a function, got {type(f).__name__!r}")

    @functools.wraps(f)
    def checkpointed(*args: Any, **kwargs: Any) -> Any:
        if not grad_enabled.get():
            return f(*args, **kwargs)  # nothing is recorded: nothing to save
        if levels.get():
            return f(*args, **kwargs)  # under md.vmap: run f as it is (see the docstring)
        return _record(f, args, kwargs, preserve_rng_state)

    checkpointed.__wrapped_checkpoint__ = f  # type: ignore[attr-defined]
    return checkpointed


# ---------------------------------------------------------------------------- forward


def _record(f: Callable[..., Any], args: tuple, kwargs: dict, preserve_rng_state: bool) -> Any:
    """Run `f` once, keep its inputs, and give its outputs one `checkpoint` node."""
    name = getattr(f, "__name__", "f")
    # the differentiable arguments, once per distinct tensor, and fresh leaves standing for them
    inputs: list[Tensor] = []
    fresh: dict[int, Tensor] = {}
    for t in _tensors((args, kwargs)):
        if t.allow_grad and id(t) not in fresh:
            inputs.append(t)
            fresh[id(t)] = _leaf(t)
    state = _random_state(inputs) if preserve_rng_state else None
    with enable_grad():
        result = f(*_substitute(args, fresh), **_substitute(kwargs, fresh))
    outs, rebuild = _outputs(result, name)
    differentiable = [i for i, out in enumerate(outs) if out.allow_grad]
    if not differentiable:
        return result  # no output depends on anything that allows grad: nothing to record
    # the leaves that allow grad f reached other than its arguments: the tensors it closes over
    leaves = {id(leaf) for leaf in fresh.values()}
    captured = _captured_leaves([outs[i] for i in differentiable], leaves)
    call = _Call(f, args, kwargs, [id(t) for t in inputs], len(inputs), state, name)
    node_inputs = tuple(inputs) + tuple(captured)
    node = FuncNode(_CHECKPOINT, node_inputs, {"call": call}, tuple(version_of(t) for t in node_inputs))
    # the outputs' values only: the graph that computed them dies here
    results = list(outs)
    if len(differentiable) == 1:
        (i,) = differentiable
        results[i] = _attach(outs[i], node)
        call.layout = None
    else:
        call.layout = []
        packed = _pack([outs[i] for i in differentiable], call.layout)
        pieces = unpack(_attach(packed, node), call.layout)
        for i, piece in zip(differentiable, pieces):
            results[i] = piece
    call.positions = differentiable
    return rebuild(results)


def _leaf(t: Tensor) -> Tensor:
    """A fresh leaf that allows grad, with `t`'s values (the same memory)."""
    leaf = make_tensor(t.data, t.backend, None)
    leaf._set_allow_grad(True, dtype_given=True)
    return leaf


def _attach(out: Tensor, node: FuncNode) -> Tensor:
    """`out`'s values as the output of `node`, cut from the graph that computed them."""
    tensor = make_tensor(out.data, out.backend, node)
    # the same buffer as `out`, so the same in-place version counter; but not `out` itself (nor
    # the tensor it views) as the owner, which would keep f's whole graph alive through its node
    tensor._version = out._version
    owner = out._base
    if owner is not None:
        tensor._base = make_tensor(owner.data, owner.backend, None)
        tensor._base._version = owner._version
    return tensor


def _pack(outs: list[Tensor], layout: list) -> Tensor:
    """Several outputs as one flat tensor (the engine records one output per node), through
    minidiff ops so that a tracer sees the copy; `layout` gets each output's shape and dtype."""
    with no_grad():
        packed = ops.concatenate([ops.reshape(out, (-1,)) for out in outs])  # promotes mixed dtypes
    layout[:] = [(out.shape, out.dtype) for out in outs]
    return packed


def _outputs(result: Any, name: str) -> tuple[list[Tensor], Callable[[list], Any]]:
    """`f`'s outputs as a list, and how to put results back in `f`'s shape."""
    if isinstance(result, Tensor):
        return [result], lambda items: items[0]
    if isinstance(result, (tuple, list)) and result:
        for i, item in enumerate(result):
            if not isinstance(item, Tensor):
                raise TypeError(
                    f"md.checkpoint: {name} must return a Tensor or a tuple of Tensors; "
                    f"item {i} of its result is {type(item).__name__!r}"
                )
        kind = type(result)
        return list(result), (lambda items: kind(items)) if kind in (tuple, list) else (lambda items: kind(*items))
    raise TypeError(
        f"md.checkpoint: {name} must return a Tensor or a tuple of Tensors, got {type(result).__name__!r}"
        + (" (an empty sequence)" if isinstance(result, (tuple, list)) else "")
    )


def _captured_leaves(outs: list[Tensor], fresh: set[int]) -> list[Tensor]:
    """The leaves that allow grad the graph of `outs` reaches, other than the fresh leaves
    standing for the arguments, in a deterministic order (an iterative walk, no recursion)."""
    found: list[Tensor] = []
    seen: set[int] = set()
    stack: list[Any] = list(outs)
    while stack:
        x = stack.pop()
        if isinstance(x, Tensor):
            if not x.allow_grad or id(x) in fresh or id(x) in seen:
                continue
            seen.add(id(x))
            if x.node is None:
                found.append(x)
                continue
            x = x.node
        if type(x) is not FuncNode or id(x) in seen:
            continue  # a number, or a node already walked
        seen.add(id(x))
        if x.inputs is None:
            raise RuntimeError(
                "md.checkpoint: the function closes over a tensor whose graph was already freed by a backward "
                "pass; pass it as an argument, or detach it"
            )
        stack.extend(reversed(x.inputs))
    return found


def _tensors(tree: Any) -> list[Tensor]:
    """The Tensors in nested tuples, lists and dicts, in order."""
    found: list[Tensor] = []
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, Tensor):
            found.append(item)
        elif isinstance(item, (tuple, list)):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
    return found


def _substitute(tree: Any, replace: dict[int, Tensor]) -> Any:
    """`tree` with each Tensor whose id is in `replace` swapped for its replacement."""
    if isinstance(tree, Tensor):
        return replace.get(id(tree), tree)
    if type(tree) in (tuple, list):
        return type(tree)(_substitute(item, replace) for item in tree)
    if type(tree) is dict:
        return {key: _substitute(value, replace) for key, value in tree.items()}
    return tree


def _random_state(inputs: list[Tensor]) -> dict[str, Any]:
    """`md.random`'s state before `f` runs. The generators of the active backend and of the
    inputs' backends are made first: one made later, from fresh entropy when no seed is set,
    could not be made again with the same draws."""
    backends = {get_backend(None)} | {t.backend for t in inputs}
    for backend in backends:
        md_random._rng(backend)
    return md_random.get_state()


# ---------------------------------------------------------------------------- backward


class _Call:
    """One call of a checkpointed function, kept in its node: what the recomputation needs.
    It keeps no state between backward passes, so a pass can be run again (retain_graph)."""

    __slots__ = ("f", "args", "kwargs", "ids", "nargs", "state", "name", "layout", "positions")

    def __init__(
        self, f: Callable[..., Any], args: tuple, kwargs: dict, ids: list[int], nargs: int, state: Any, name: str
    ) -> None:
        self.f = f
        self.args = args  # the caller's arguments: the tensors among them are the node's inputs too
        self.kwargs = kwargs
        self.ids = ids  # id of each differentiable argument, in the node's input order
        self.nargs = nargs
        self.state = state
        self.name = name
        self.layout: list | None = None
        self.positions: list[int] = []

    def __repr__(self) -> str:
        return f"<checkpointed call of {self.name}>"

    def run(self, values: tuple[Tensor, ...]) -> list[Tensor]:
        """`f`'s differentiable outputs with the argument tensors replaced by `values`, under
        the random state of the forward (the caller's state is put back afterwards)."""
        replace = dict(zip(self.ids, values))
        args, kwargs = _substitute(self.args, replace), _substitute(self.kwargs, replace)
        if self.state is None:
            result = self.f(*args, **kwargs)
        else:
            current = md_random.get_state()
            md_random.set_state(self.state)
            try:
                result = self.f(*args, **kwargs)
            finally:
                md_random.set_state(current)
        outs, _ = _outputs(result, self.name)
        if len(outs) <= max(self.positions):
            raise RuntimeError(
                f"md.checkpoint: {self.name} returned {len(outs)} output(s) when recomputed in the backward pass, "
                f"not as many as in the forward: it must compute the same thing both times"
            )
        return [outs[i] for i in self.positions]

    def vjp(self, leaves: list[Tensor], captured: list[Tensor], cotangents: tuple, higher: bool) -> tuple:
        """The cotangents of the argument `leaves` and the `captured` tensors for the outputs'
        `cotangents`, by recomputing `f` on the leaves (fresh leaves standing for the inputs,
        so the engine stops there and never walks the graph before them)."""
        with enable_grad():
            outs = self.run(tuple(leaves))
            for k, out in enumerate(outs):
                want = out.shape if self.layout is None else self.layout[k][0]
                if out.shape != want or out.shape != cotangents[k].shape:
                    raise RuntimeError(
                        f"md.checkpoint: {self.name} returned shape {out.shape} when recomputed in the backward pass, "
                        f"{cotangents[k].shape} in the forward: it must compute the same thing both times"
                    )
            if len(outs) == 1:
                root, seed = outs[0], cotangents[0]
            else:  # one pass for every output: the gradient of sum_k <out_k, g_k>
                terms = [ops.sum(out * g) for out, g in zip(outs, cotangents) if out.allow_grad]
                root, seed = (ops.sum(ops.stack(terms)) if terms else outs[0]), None
            wrt = list(leaves) + list(captured)
            if not root.allow_grad:
                return tuple(make_tensor(t.backend.xp.zeros_like(t.data), t.backend, None) for t in wrt)
            # retain_graph: a tensor f closes over may lead into the outer graph, which is not ours to free
            return engine_grad(root, wrt, seed, allow_higher_order=higher, retain_graph=True)


def _rule(g: Tensor, ans: Any, *inputs: Tensor, call: _Call) -> tuple:
    """The `checkpoint` op's one (variadic) rule: every input's cotangent from one recomputation."""
    cotangents = (g,) if call.layout is None else unpack(g, call.layout)
    captured = list(inputs[call.nargs :])
    if not grad_enabled.get():
        return call.vjp([_leaf(x) for x in inputs[: call.nargs]], captured, cotangents, higher=False)
    # A recorded backward (a higher order): the rule is itself checkpointed, a function of the
    # arguments and the cotangents (the captured tensors it closes over, as f does), so its
    # graph keeps no intermediate of the recomputation either, at every order.
    n = call.nargs

    def backward(*values: Tensor) -> tuple:
        # values[:n] are the fresh leaves the inner checkpoint made for the arguments
        grads = call.vjp(list(values[:n]), captured, values[n:], higher=True)
        return tuple(grads)

    backward.__name__ = f"{call.name}_vjp"
    return tuple(checkpoint(backward, preserve_rng_state=False)(*inputs[:n], *cotangents))


_CHECKPOINT = Op(
    "checkpoint",
    forward=lambda xp, *arrays, **params: None,  # never dispatched: md.checkpoint builds its nodes itself
    vjp=_rule,
    nargs=None,
    doc="A checkpointed function's outputs: their rule recomputes the function (see minidiff.checkpointing).",
)
