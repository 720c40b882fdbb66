"""The public extension API: everything an op pack or a backend needs.

An op pack is a module with a `minidiff_register_ops` hook that adds `Op` definitions:

    import minidiff as md
    from minidiff.extend import Op, hookimpl, sample

    softplus = Op(
        "softplus",
        forward=lambda xp, x: xp.logaddexp(0.0, x),
        vjp=(lambda g, ans, x: g * md.exp(x - ans),),
        samples=(sample((3, 4)),),
    )

    @hookimpl
    def minidiff_register_ops(registry):
        registry.add_op(softplus)

Gradient rules receive the cotangent `g`, the forward output `ans` and the op's inputs,
and return the gradient for their one input, written with minidiff ops so it is itself
differentiable. The engine undoes broadcasting and dtype promotion, so a rule may return
a gradient of the output's broadcast shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

from minidiff.hookspecs import hookimpl

__all__ = ["Op", "Sample", "sample", "hookimpl", "Rule"]

Rule = Callable[..., Any]
_NO_PARAMS: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Sample:
    """Inputs on which the conformance suite exercises an op.

    Each entry of `args` is either a tuple of ints (a random float input of that shape,
    drawn from `domain`, and differentiated) or any other value (an index array, an int,
    a boolean mask), passed as given and not differentiated. `order` is the highest
    derivative order checked against finite differences (0 checks the forward only).
    """

    args: tuple
    params: Mapping[str, Any] = field(default_factory=lambda: _NO_PARAMS)
    domain: tuple[float, float] = (-2.0, 2.0)
    order: int = 2


def sample(*args: Any, domain: tuple[float, float] = (-2.0, 2.0), order: int = 2, **params: Any) -> Sample:
    """Shorthand for `Sample`: `sample((2, 3), (3,), axis=0)`.

    >>> sample((2, 3), axis=0).params["axis"]
    0
    """
    return Sample(tuple(args), MappingProxyType(dict(params)), domain, order)


@dataclass(frozen=True, eq=False)
class Op:
    """A differentiable (or explicitly non-differentiable) op.

    - `forward`: the name of a function of the backend's array namespace `xp` (`"sin"`
      means `xp.sin`), or `forward(xp, *arrays, **params)` on raw backend arrays.
    - `vjp`: one rule per operand, `rule(g, ans, *inputs, **params)`, `None` for an operand
      that takes no gradient; for a variadic op (`nargs=None`) a single
      `rule(g, ans, *inputs, **params)`, called once per node, that returns a tuple with
      one cotangent per input (`None` for an input that takes none), so a backward through
      n inputs costs O(n). `vjp=None` marks the op non-differentiable: its output never
      allows grad.
    - `nargs`: how many leading positional arguments are operands; `None` for ops whose
      first argument is a sequence of operands (`concatenate`, `stack`).
    - `params`: keyword parameters with defaults, in the order they may be given
      positionally after the operands.
    - `parse`: for signatures that fit none of that, maps the public call's
      `(*args, **kwargs)` to `(operands, params)`.
    - `samples`: the inputs on which the conformance suite tests the op; an op without
      samples fails the suite.
    - `reference`: a NumPy function the forward is compared with (default: `numpy.<name>`).
    - `creation`: the op makes a new tensor from parameters alone (`zeros`, `arange`); its
      public function takes `backend=`, `dtype=` and `allow_grad=`.
    - `public`: set on `minidiff.<namespace>` as `name` (internal ops are reached through
      Tensor methods only, like `getitem`).
    - `composite`: instead of `forward` and `vjp`, a function built from other minidiff ops
      (`split` from slices); it is differentiated through the ops it calls.
    - `nout`: the number of outputs. A multi-output op's forward returns a tuple of arrays,
      its function a tuple of Tensors, and its rules get tuples: `rule(gs, ans, *inputs)`
      with `gs[k]` the cotangent of output k (zeros when unused), `ans[k]` output k.
    """

    name: str
    forward: str | Callable[..., Any] | None = None
    vjp: tuple[Rule | None, ...] | Rule | None = None
    namespace: str = ""
    nargs: int | None = 1
    params: Mapping[str, Any] = field(default_factory=lambda: _NO_PARAMS)
    samples: tuple[Sample, ...] = ()
    reference: Callable[..., Any] | None = None
    parse: Callable[..., tuple[tuple, dict]] | None = None
    creation: bool = False
    public: bool = True
    composite: Callable[..., Any] | None = None
    nout: int = 1
    doc: str = ""

    def __post_init__(self) -> None:
        if (self.forward is None) == (self.composite is None):
            raise ValueError(f"op {self.name!r} needs exactly one of `forward` and `composite`")

    @property
    def qualname(self) -> str:
        """`name` or `namespace.name`, as the op is reached from `minidiff`."""
        return f"{self.namespace}.{self.name}" if self.namespace else self.name

    @property
    def differentiable(self) -> bool:
        return self.vjp is not None or self.composite is not None
