"""The recorded computation graph: grad mode and `FuncNode`.

A tensor produced by a differentiable op while grad mode is on points at the `FuncNode`
that made it; the node holds the op, its inputs and its parameters. Following
`tensor.node.inputs` from an output walks the graph back to the leaves:

    x ──┐
        ├─ multiply ─ z      z.node.op is `multiply`, z.node.inputs == (x, y)
    y ──┘

The node never points back at its output Tensor (a rule that reads the output gets it
rebuilt from the buffer the node kept), so dropping an output frees its whole history
unless something else holds it. The engine walks nodes: a node's inputs lead to the nodes
that produced them, or to leaf Tensors.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from minidiff.extend import Op
    from minidiff._tensor import Tensor

# A context variable, so threads and asyncio tasks each see their own grad mode.
grad_enabled: ContextVar[bool] = ContextVar("minidiff_grad_enabled", default=True)


@contextmanager
def no_grad() -> Iterator[None]:
    """Record no graph inside the block: results do not allow grad.

    >>> import minidiff as md
    >>> x = md.Tensor([1.0], allow_grad=True)
    >>> with md.no_grad():
    ...     y = x * 2
    >>> y.allow_grad
    False
    """
    token = grad_enabled.set(False)
    try:
        yield
    finally:
        grad_enabled.reset(token)


@contextmanager
def enable_grad(enabled: bool = True) -> Iterator[None]:
    """Record the graph inside the block even within `no_grad` (`enable_grad(False)` is
    `no_grad()`, as the original minidiff's `enable_grad(flag)` was).

    >>> import minidiff as md
    >>> x = md.Tensor([1.0], allow_grad=True)
    >>> with md.no_grad(), md.enable_grad():
    ...     (x * 2).allow_grad
    True
    """
    token = grad_enabled.set(bool(enabled))
    try:
        yield
    finally:
        grad_enabled.reset(token)


def is_grad_enabled() -> bool:
    """Whether ops record a graph right now."""
    return grad_enabled.get()


class FuncNode:
    """One recorded application of an op: what its VJP rules need to run.

    `inputs` holds the operands in order. An operand some rule reads is kept as the Tensor
    (Python scalars stay weak scalars, the way NumPy treats them); a computed operand no
    rule reads is kept as its producer's node only, so its values can be freed while the
    graph still leads through it (`x * 1.0001` keeps nothing of `x`; see `minidiff.saved`).
    `params` holds the op's keyword parameters, `versions` the in-place version of each
    tensor input when it was recorded. A node whose rules read the op's output keeps the
    output's buffer (`ans`), its version counter and the version it was recorded at, never
    the output Tensor itself, which points at the node (no reference cycle).
    `release()` drops all of it once backward has consumed the node.
    """

    __slots__ = ("op", "inputs", "params", "versions", "shape", "dtype", "ans", "backend", "ans_version", "out_version")

    def __init__(self, op: Op, inputs: tuple, params: dict, versions: tuple) -> None:
        self.op = op
        self.inputs: tuple | None = inputs
        self.params: dict[str, Any] | None = params
        self.versions = versions
        self.ans: Any = None  # the output's buffer, when a rule reads the output
        # `shape` and `dtype` (the output's) are set by `as_input` only: leaving them unset
        # here saves two stores on every recorded op

    def keep_output(self, out: Tensor) -> None:
        """Keep what the rules need of the output `out` (its buffer and version counter)."""
        self.ans = out.data
        self.backend = out.backend
        self.ans_version = out._version
        self.out_version = out._version[0]

    def as_input(self, out: Tensor) -> FuncNode:
        """This node standing for its output `out` as an operand whose values no rule reads;
        it records the output's shape and dtype, which the engine fits cotangents to."""
        self.shape = out.data.shape
        self.dtype = out.data.dtype
        return self

    @property
    def ndim(self) -> int:
        """The output's rank, for rules that read only `x.shape` or `x.ndim` of an operand."""
        return len(self.shape)

    @property
    def released(self) -> bool:
        return self.inputs is None

    def release(self) -> None:
        """Forget inputs, parameters and output: the saved values die with their last reference."""
        self.inputs = None
        self.params = None
        self.ans = None

    def __repr__(self) -> str:
        state = "released" if self.inputs is None else f"{len(self.inputs)} inputs"
        return f"<FuncNode {self.op.qualname} ({state})>"


def input_sources(node: FuncNode) -> Iterator[FuncNode | Tensor]:
    """Where each of `node`'s inputs that takes a gradient comes from: the node that computed
    it, or the leaf Tensor itself.

    >>> import minidiff as md
    >>> x = md.Tensor([1.0], allow_grad=True)
    >>> [s is x for s in input_sources((md.sin(x) * 2).node)]   # sin's node, then nothing for 2
    [False]
    """
    from minidiff._tensor import Tensor

    for x in node.inputs or ():
        if type(x) is FuncNode:
            yield x
        elif isinstance(x, Tensor) and x.allow_grad:
            yield x if x.node is None else x.node
