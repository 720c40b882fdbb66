"""The backward engine: reverse-mode accumulation over the recorded graph.

1. Order the tensors the root depends on topologically, iteratively (no recursion, so a
   chain of 100,000 ops is fine).
2. Walk them from the root back: each node's VJP rules map the cotangent `g` of its
   output to its inputs (one rule per input, or, for a variadic op such as `concatenate`,
   one call of its single rule for all its inputs); the engine fits each result to its input's shape and dtype
   (undoing broadcasting once, here, instead of in every rule) and sums contributions
   from every use of a tensor (`x * x` gets both).
3. First-order passes run the rules with grad mode off and release each node's saved
   inputs and each intermediate cotangent as soon as they are consumed, so peak memory
   stays near the forward's. With `allow_higher_order=True` the rules are recorded like
   any other computation and the graph is kept, so the gradients can be differentiated.
4. Every gradient handed out (a leaf's `.grad`, a result of `grad`) has its own array:
   never the caller's seed nor another's gradient, so changing one in place changes no other.
5. In a first-order pass, a large cotangent that only the engine holds (its reference count
   says so) is handed to a rule of the form `g * f(ans, x)` so that the rule's arithmetic on
   `g` runs in `g`'s memory (`_Donated`), and a second cotangent of the same value is added
   into the first: no new array, and one already in cache. The 20-op elementwise chain on
   2,000,000 elements (benchmarks/elementwise.py, W3) went from 1.25 to 0.98 of its NumPy floor.
"""

from __future__ import annotations

import operator
import sys
import weakref
from typing import Any, Callable, Sequence

from minidiff.extend import HOLOMORPHIC
from minidiff.graph import FuncNode, grad_enabled
from minidiff.lazy import tracing
from minidiff.optable import ops
from minidiff.saved import cotangent_operators
from minidiff._tensor import Tensor, make_tensor


def backward(
    root: Tensor,
    grad: Any = None,
    *,
    allow_higher_order: bool = False,
    retain_graph: bool = False,
    reset_grads: bool = True,
) -> None:
    """Fill `.grad` of the leaves `root` depends on (see `Tensor.backward`)."""
    if not root.allow_grad:
        raise RuntimeError(
            "backward() on a tensor that does not allow grad: it was not computed from a tensor made "
            "with allow_grad=True, or it was computed under md.no_grad()"
        )
    seed = _seed(root, grad)
    leaf_grads, _ = _run(root, seed, allow_higher_order, retain_graph or allow_higher_order, ())
    given: set[int] = set()
    for leaf, g in leaf_grads.values():
        if reset_grads or leaf.grad is None:
            leaf.grad = _own(g, seed, given, allow_higher_order)
        else:
            with _grad_mode(allow_higher_order):
                leaf.grad = leaf.grad + g


def grad(
    output: Tensor,
    inputs: Sequence[Tensor],
    seed: Any = None,
    *,
    allow_higher_order: bool = False,
    retain_graph: bool = False,
) -> tuple[Tensor, ...]:
    """Gradients of `output` (contracted with `seed`) with respect to `inputs`, without
    touching any `.grad`. Inputs the output does not depend on get zeros.

    >>> import minidiff as md
    >>> from minidiff.engine import grad
    >>> x = md.Tensor([1.0, 2.0], allow_grad=True)
    >>> grad((x * x).sum(), [x])
    (minidiff.Tensor([2., 4.]),)
    """
    # a computed input is found by its node, whose output cotangent the pass captures
    wanted = {id(x.node) for x in inputs if x.node is not None}
    if not output.allow_grad:
        leaf_grads: dict = {}
        captured: dict = {}
    else:
        seed = _seed(output, seed)
        leaf_grads, captured = _run(output, seed, allow_higher_order, retain_graph or allow_higher_order, wanted)
    result = []
    given: set[int] = set()
    for x in inputs:
        found = captured.get(id(x.node)) if x.node is not None else leaf_grads.get(id(x), (None, None))[1]
        if found is None:
            result.append(make_tensor(x.backend.xp.zeros_like(x.data), x.backend, None))
        else:
            result.append(_own(found, seed, given, allow_higher_order))
    return tuple(result)


def _own(g: Tensor, seed: Any, given: set[int], higher_order: bool) -> Tensor:
    """`g`, or a copy of it when it is the caller's seed, a gradient already handed out
    (`a + b` sends the same cotangent to both), or a read-only broadcast view, so that no
    two results share an array and an in-place change to one leaves the others alone.
    For a higher order the copy is an op (`positive`), so it stays in the graph."""
    if g is seed or id(g) in given or not g.backend.owns(g.data):
        if higher_order:
            with _grad_mode(True):
                g = ops.positive(g)
        else:
            g = make_tensor(g.backend.array(g.data), g.backend, None)
    given.add(id(g))
    return g


def _seed(root: Tensor, grad: Any) -> Tensor:
    if grad is None and root.dtype.kind == "c":
        raise TypeError(
            "backward() of a complex tensor needs grad=...: gradients are defined for real-valued losses; take "
            "md.real, md.imag or md.abs of it first (PyTorch and JAX refuse too)"
        )
    if grad is None:
        return make_tensor(root.backend.xp.ones_like(root.data), root.backend, None)
    seed = grad if isinstance(grad, Tensor) else make_tensor(root.backend.asarray(grad, root.dtype), root.backend, None)
    if seed.shape != root.shape:
        raise ValueError(f"backward: grad has shape {seed.shape}, but the tensor it seeds has shape {root.shape}")
    return seed if seed.dtype == root.dtype else seed.astype(root.dtype)


def _run(
    root: Tensor, seed: Tensor, higher_order: bool, retain: bool, wanted: set[int]
) -> tuple[dict[int, list], dict[int, Tensor]]:
    """Propagate `seed` from `root`; returns `{id(leaf): [leaf, grad]}` and, for the nodes
    whose ids are in `wanted`, the cotangent of their output."""
    leaf_grads: dict[int, list] = {}
    captured: dict[int, Tensor] = {}
    if root.node is None:
        leaf_grads[id(root)] = [root, seed]
        return leaf_grads, captured
    order = _topological_order(root.node)
    pending: dict[int, Tensor] = {id(root.node): seed}
    # a cotangent may be computed into in place only where no one can see it afterwards: not
    # in a recorded (higher-order) pass, nor while md.compile records kernel calls
    donate = not higher_order and _SOLE_HOLDER and tracing.get() is None
    with _grad_mode(higher_order):
        while order:
            node = order.pop()  # popping, not iterating, lets a processed node die at once
            key = id(node)
            g = pending.pop(key, None)
            if g is not None:
                if wanted and key in wanted:
                    captured[key] = g
                inputs, params, versions, rules = node.inputs, node.params, node.versions, node.op.vjp
                ans = None if node.ans is None else _output(node, higher_order)
                # Complex values reach only rules declared for them (Op.complex): `refused` holds
                # the complex dtypes an op without complex rules refuses (None when it has them).
                declared = node.op.complex
                refused = None if declared else g.backend.complex_dtypes
                if refused is not None and g.data.dtype in refused:
                    raise _no_complex_rule(node, None)
                conjugate = declared is HOLOMORPHIC and g.data.dtype in g.backend.complex_dtypes
                if conjugate:
                    g = ops.conj(g)  # a holomorphic op's rules are the real formulas: conj(rule(conj(g)))
                per_argument = type(rules) is tuple
                # the refcount says that this frame alone holds the cotangent: no other
                # pending entry, leaf gradient, captured result, seed or view shares it
                if donate and per_argument and g.data.nbytes >= DONATE_BYTES:
                    gx = previous = None  # the last node's locals, which may hold this very cotangent
                    if sys.getrefcount(g) == _SOLE_HOLDER:
                        rules = _donating(rules, inputs, g)
                if not per_argument:
                    # a variadic op's one rule gives every input's cotangent in one call
                    # (a call per input would cost O(n) each, O(n^2) for n inputs)
                    cotangents = _variadic(node, rules(g, ans, *inputs, **params))
                for i, x in enumerate(inputs):
                    if type(x) is FuncNode:
                        # a computed operand whose values no rule reads: only its node was kept
                        producer, shape, dtype = x, x.shape, x.dtype
                    elif isinstance(x, Tensor):
                        if x._version[0] != versions[i]:
                            _stale(node)
                        if not x.allow_grad:
                            continue
                        producer, shape, dtype = x.node, x.data.shape, x.data.dtype
                    else:
                        continue
                    if refused is not None and dtype in refused:
                        raise _no_complex_rule(node, i)
                    if per_argument:
                        rule = rules[i]
                        if rule is None:
                            continue
                        gx = rule(g, ans, *inputs, **params) if params else rule(g, ans, *inputs)
                    else:
                        gx = cotangents[i]
                    if gx is None:
                        continue
                    if conjugate:
                        gx = ops.conj(gx)
                    # inlined test: most cotangents already fit, and a call per input costs
                    if gx.data.shape != shape or gx.data.dtype != dtype:
                        gx = _fit(gx, shape, dtype, node, i)
                    if producer is None:
                        entry = leaf_grads.get(id(x))
                        if entry is None:
                            leaf_grads[id(x)] = [x, gx]
                        else:
                            entry[1] = entry[1] + gx
                    else:
                        previous = pending.get(id(producer))
                        if previous is None:
                            pending[id(producer)] = gx
                        elif not (donate and previous.data.nbytes >= DONATE_BYTES and _added_into(previous, gx)):
                            pending[id(producer)] = previous + gx
            if not retain:
                node.release()
    return leaf_grads, captured


#: cotangents smaller than this are never donated: the checks would cost a small tensor's
#: backward more than the saved allocation (NumPy elides temporaries from 256 KiB on, too)
DONATE_BYTES = 1 << 18


def _holders() -> int:
    """What `sys.getrefcount` says of a value only one local variable holds (2 on CPython
    before 3.14; the engine compares against this instead of a number)."""
    probe = [None]
    return sys.getrefcount(probe)


def _array_holders() -> int:
    """What `sys.getrefcount(t.data)` says of an array only the attribute `t.data` holds."""
    holder = _Donated([None])
    return sys.getrefcount(holder.g)


#: 0 on an interpreter without reference counts, or on one whose counts leave out references
#: from the stack (3.14's borrowed references), where a count cannot prove a sole holder:
#: then nothing is donated
_SOLE_HOLDER = _holders() if hasattr(sys, "getrefcount") and sys.version_info < (3, 14) else 0


class _Donated:
    """A cotangent handed to a rule that reads it once, as the left operand of its arithmetic
    (`saved.cotangent_operators`): `g * f(ans, x)` computes into `g`'s own memory when the
    backend can do so exactly (`Backend.update`: same dtype and shape), else as the rule would.
    Each result takes the place of `g`, so `-g * a / b` runs all three steps in place."""

    __slots__ = ("g",)

    def __init__(self, g: Any) -> None:
        self.g = g

    def _into(self, ufunc: str, other: Any) -> _Donated:
        g = self.g
        if type(other) is Tensor:
            if other.backend is g.backend and other._view is None and g.backend.update(g.data, ufunc, other.data):
                return self
        elif (type(other) is float or type(other) is int) and g.backend.update(g.data, ufunc, other):
            return self
        return _Donated(_OPERATOR[ufunc](g, other))  # a new array, which no one else holds either

    def __mul__(self, other: Any) -> _Donated:
        return self._into("multiply", other)

    def __truediv__(self, other: Any) -> _Donated:
        return self._into("divide", other)

    def __add__(self, other: Any) -> _Donated:
        return self._into("add", other)

    def __sub__(self, other: Any) -> _Donated:
        return self._into("subtract", other)

    def __neg__(self) -> _Donated:
        g = self.g
        # x * -1 is -x exactly for real floats; complex numbers take `-` (0 * inf would be NaN)
        if g.data.dtype in g.backend.complex_dtypes or not g.backend.update(g.data, "multiply", -1):
            return _Donated(-g)
        return self


_OPERATOR: dict[str, Callable[[Any, Any], Any]] = {
    "multiply": operator.mul, "divide": operator.truediv, "add": operator.add, "subtract": operator.sub,
}
_SOLE_ARRAY_HOLDER = _array_holders()
#: `cotangent_operators` of each rule seen, found once
_DONATING: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _added_into(total: Tensor, gx: Tensor) -> bool:
    """Add `gx` to a large pending sum in its own memory, when only the pending entry (and the
    caller's local) hold it and the backend can do it exactly; whether it did."""
    if (
        type(total) is not Tensor
        or type(gx) is not Tensor
        or gx.backend is not total.backend
        or sys.getrefcount(total) != _SOLE_HOLDER + 2  # the pending dict, the caller's local, this argument
        or sys.getrefcount(total.data) != _SOLE_ARRAY_HOLDER
        or not total.backend.owns(total.data)
    ):
        return False
    return total.backend.update(total.data, "add", gx.data)


def _donating(rules: tuple, inputs: tuple, g: Tensor) -> tuple:
    """`rules`, with the last rule that runs (the ones before it read `g` too) handed `g` as a
    `_Donated` when it is written `g * ...` and `g`'s array is its own memory, which no other
    tensor or view holds."""
    if type(g) is not Tensor or sys.getrefcount(g.data) != _SOLE_ARRAY_HOLDER or not g.backend.owns(g.data):
        return rules
    for i in range(len(inputs) - 1, -1, -1):
        x = inputs[i]
        rule = rules[i]
        if rule is None or not (type(x) is FuncNode or (isinstance(x, Tensor) and x.allow_grad)):
            continue  # no rule runs for this input
        try:
            donating = _DONATING[rule]
        except KeyError:
            donating = _DONATING[rule] = cotangent_operators(rule) is not None
        except TypeError:  # a rule that cannot be weakly referenced
            donating = False
        if not donating:
            return rules

        def donated(g: Tensor, *args: Any, **params: Any) -> Any:
            gx = rule(_Donated(g), *args, **params)
            return gx.g if type(gx) is _Donated else gx

        return (*rules[:i], donated, *rules[i + 1 :])
    return rules


def _no_complex_rule(node: FuncNode, argnum: int | None) -> TypeError:
    what = "a complex output" if argnum is None else f"a complex operand {argnum}"
    return TypeError(
        f"{node.op.qualname!r} has {what}, but declares no gradient rules for complex numbers "
        f"(Op(complex=...)); its real rules would give a wrong gradient"
    )


def _variadic(node: FuncNode, cotangents: Any) -> Sequence[Tensor | None]:
    """A variadic rule's result, checked to hold one cotangent per input."""
    if not isinstance(cotangents, (tuple, list)) or len(cotangents) != len(node.inputs):
        got = f"{len(cotangents)} items" if isinstance(cotangents, (tuple, list)) else type(cotangents).__name__
        raise TypeError(
            f"the gradient rule of {node.op.qualname!r} (a variadic op) must return a tuple with one "
            f"cotangent (or None) per input, {len(node.inputs)} in all; it returned {got}"
        )
    return cotangents


def _output(node: FuncNode, higher_order: bool) -> Tensor:
    """The node's output, rebuilt from the buffer it kept, for the rules as `ans`; part of the
    graph (its node is `node`) when the rules are recorded for a higher order."""
    if node.ans_version[0] != node.out_version:
        _stale(node)
    ans = make_tensor(node.ans, node.backend, node if higher_order else None)
    ans._version = node.ans_version
    return ans


_INPUTS_DONE = object()  # stack marker: the node below it has all its inputs ordered


def _topological_order(root: FuncNode) -> list[FuncNode]:
    """The nodes `root` depends on, each after the nodes that produced its inputs (root last).

    An iterative depth-first search: a node is pushed, then a marker, then its inputs' nodes;
    when the marker surfaces again, every input's node is in `order` and the node follows.
    """
    order: list[FuncNode] = []
    seen: set[int] = set()
    stack: list = [root]
    while stack:
        node = stack.pop()
        if node is _INPUTS_DONE:
            order.append(stack.pop())
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.inputs is None:
            raise RuntimeError(
                f"backward through a graph that was already freed (at {node.op.qualname!r}): a backward "
                f"pass frees the graph it used; pass retain_graph=True to the first backward() to "
                f"run another through the same graph"
            )
        stack.append(node)
        stack.append(_INPUTS_DONE)
        for x in node.inputs:
            producer = x if type(x) is FuncNode else x.node if isinstance(x, Tensor) else None
            if producer is not None and id(producer) not in seen:
                stack.append(producer)
    return order


def _stale(node: FuncNode) -> None:
    raise RuntimeError(
        f"a tensor needed to differentiate {node.op.qualname!r} was modified in place after it was "
        f"used; the gradient would be wrong. Copy it before modifying, or modify it before use"
    )


def _fit(gx: Tensor, shape: tuple[int, ...], dtype: Any, node: FuncNode, argnum: int) -> Tensor:
    """Undo broadcasting and dtype promotion: make the cotangent match its input's shape and dtype.

    A rule may return its operand's shape, the output's (broadcast) shape, which is summed
    down, or the operand's rank with some axes of size 1 (`sum`'s rule), which is stretched
    up. Anything else is a bug in the rule: stretching a lower-rank result would silently
    give every element the same wrong gradient, so it is an error naming the op.
    """
    if gx.data.shape != shape:
        given = gx.data.shape
        extra = gx.ndim - len(shape)
        if extra > 0:
            gx = ops.sum(gx, axis=tuple(range(extra)))
        stretched = tuple(i for i, (n, m) in enumerate(zip(gx.data.shape, shape)) if m == 1 and n != 1)
        if stretched and gx.ndim == len(shape):
            gx = ops.sum(gx, axis=stretched, keepdims=True)
        if gx.data.shape != shape:
            if gx.ndim != len(shape) or any(n != 1 and n != m for n, m in zip(gx.data.shape, shape)):
                raise ValueError(
                    f"the gradient rule of {node.op.qualname!r} for operand {argnum} returned shape {given}, "
                    f"which does not fit the operand's shape {shape}: a rule returns the operand's shape, "
                    f"the output's broadcast shape, or the operand's rank with size-1 axes to stretch"
                )
            gx = ops.broadcast_to(gx, shape)
    if gx.data.dtype != dtype:
        if gx.data.dtype in gx.backend.complex_dtypes and dtype not in gx.backend.complex_dtypes:
            gx = ops.real(gx)  # a real operand of a complex result: only the real part moves the loss
        gx = ops.astype(gx, dtype=dtype)
    return gx


class _grad_mode:
    """Set grad mode for the rules: on when recording a higher-order graph, off otherwise."""

    __slots__ = ("enabled", "token")

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __enter__(self) -> None:
        self.token = grad_enabled.set(self.enabled)

    def __exit__(self, *exc: object) -> None:
        grad_enabled.reset(self.token)
