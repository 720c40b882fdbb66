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

`batching` holds the batching rules an op declares for `md.vmap` (`batch=batching.elementwise`).
The names a pack uses in type hints come from here too: `PluginRegistry` (what the
registration hooks receive), `Tensor` (what rules receive), and for a backend plugin
`Backend` and `BackendUnavailable`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from minidiff.hookspecs import hookimpl

if TYPE_CHECKING:
    from minidiff.backend import Backend, BackendUnavailable
    from minidiff.registry import PluginRegistry
    from minidiff._tensor import Tensor

__all__ = [
    "HOLOMORPHIC",
    "Backend",
    "BackendUnavailable",
    "Op",
    "PluginRegistry",
    "Rule",
    "Sample",
    "Tensor",
    "Tolerance",
    "batching",
    "hookimpl",
    "sample",
]

Rule = Callable[..., Any]
#: `Op(complex=HOLOMORPHIC)`: the rules are the real formulas; the engine conjugates around them
HOLOMORPHIC = "holomorphic"
_NO_PARAMS: Mapping[str, Any] = MappingProxyType({})

#: names re-exported from the modules that define them, imported on first use: the
#: registry imports this module (to validate ops), so importing it here would be circular
_LAZY = {
    "PluginRegistry": "minidiff.registry",
    "Tensor": "minidiff._tensor",
    "Backend": "minidiff.backend",
    "BackendUnavailable": "minidiff.backend",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name == "batching":  # the batching rules' module, `Op(..., batch=batching.elementwise)`
        return importlib.import_module("minidiff.batching.rules")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


Domain = tuple[float, float]

#: the elementwise NumPy functions numexpr spells the same way, as `Op.fuse` expressions:
#: an op whose `forward` names one of them is fusable by `md.compile` without saying so
FUSED_FORMS: Mapping[str, str] = MappingProxyType({
    **{name: f"{name}({{0}})" for name in (
        "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
        "arctanh", "exp", "expm1", "log", "log1p", "log10", "sqrt", "abs",
    )},
    "arctan2": "arctan2({0}, {1})",
    "add": "({0} + {1})",
    "subtract": "({0} - {1})",
    "multiply": "({0} * {1})",
    "divide": "({0} / {1})",
    "power": "({0} ** {1})",
    "negative": "(-{0})",
})


@dataclass(frozen=True)
class Tolerance:
    """How close the conformance kit requires an op to be, for one sample.

    The forward passes where `|got - reference| <= forward_atol + forward_rtol * |reference|`
    element by element; a gradient where `|analytic - finite difference| <= grad_atol +
    grad_rtol * |finite difference|`, with central differences of step `eps`. The defaults
    are the kit's: loosen them for an op whose reference is computed differently (a series
    against a closed form) or whose derivatives are ill-conditioned on the sample, and say
    why next to the sample.

    >>> Tolerance(grad_rtol=1e-4).grad_atol
    1e-06
    """

    forward_rtol: float = 1e-6
    forward_atol: float = 1e-12
    grad_rtol: float = 1e-5
    grad_atol: float = 1e-6
    eps: float = 1e-6


@dataclass(frozen=True)
class Sample:
    """Inputs on which the conformance suite exercises an op.

    Each entry of `args` is one of:

    - a tuple of ints: a random float64 input of that shape, drawn uniformly from its
      domain, and differentiated (a list of such tuples: one input per shape, for ops
      taking a sequence of operands);
    - a NumPy array of floats (`np.array([0.0, 0.5])`, 0-d `np.array(0.0)` too): passed
      exactly as given, and differentiated; this pins an input to exact points (`sinc`
      at 0, `xlogy` at x = 0);
    - anything else (a Python number, a NumPy scalar, an int or bool array, a slice):
      passed as given and not differentiated.

    `domain` is one `(low, high)` for every random input, or one per argument of `args`
    (`None` for an argument that is not a shape), as in `sample((3,), (3,),
    domain=((-2.0, 2.0), (0.1, 3.0)))`; read it with `domain_of`. `order` is the highest
    derivative order checked against finite differences (0 checks the forward only).
    `tolerance` overrides the kit's default tolerances for this sample. For an op that
    declares complex rules (`Op(complex=...)`), `complex` says whether the kit also runs the
    sample with complex inputs: each random input gets an imaginary part drawn from
    `(-w/2, w/2)`, w the width of its domain (False where that would cross a branch cut).
    """

    args: tuple
    params: Mapping[str, Any] = field(default_factory=lambda: _NO_PARAMS)
    domain: Domain | tuple[Domain | None, ...] = (-2.0, 2.0)
    order: int = 2
    tolerance: Tolerance = field(default_factory=Tolerance)
    complex: bool = True

    def domain_of(self, position: int) -> Domain:
        """The `(low, high)` that random input `position` (its index in `args`) is drawn from.

        >>> sample((3,), (3,), domain=((-2.0, 2.0), (0.1, 3.0))).domain_of(1)
        (0.1, 3.0)
        """
        if _is_pair(self.domain):
            return (self.domain[0], self.domain[1])
        chosen = self.domain[position]
        if chosen is None:
            raise ValueError(f"sample argument {position} has domain None, so it cannot be drawn at random")
        return (chosen[0], chosen[1])


def sample(
    *args: Any,
    domain: Domain | Sequence[Domain | None] = (-2.0, 2.0),
    order: int = 2,
    tolerance: Tolerance | None = None,
    complex: bool = True,  # noqa: A002 (the Sample field it sets)
    **params: Any,
) -> Sample:
    """Shorthand for `Sample`: `sample((2, 3), (3,), axis=0)`.

    >>> sample((2, 3), axis=0).params["axis"]
    0
    """
    if not _is_pair(domain) and isinstance(domain, list):
        domain = tuple(domain)
    return Sample(tuple(args), MappingProxyType(dict(params)), domain, order, tolerance or Tolerance(), complex)


def _is_pair(domain: Any) -> bool:
    """Whether `domain` is one `(low, high)` of real numbers, rather than one per argument."""
    return (
        isinstance(domain, (tuple, list))
        and len(domain) == 2
        and all(isinstance(end, numbers.Real) and not isinstance(end, bool) for end in domain)
    )


def _domain_error(item: Sample) -> str | None:
    """What is wrong with a sample's domain (and tolerance), or None; `add_op` reports it."""
    domain = item.domain
    if _is_pair(domain):
        if not domain[0] < domain[1]:
            return f"domain must be (low, high) with low < high, got {domain!r}"
    elif not isinstance(domain, (tuple, list)) or len(domain) != len(item.args):
        return (
            f"domain must be (low, high), or one (low, high) per argument ({len(item.args)} here, None for an "
            f"argument that is not a shape), got {domain!r}"
        )
    else:
        for position, (arg, one) in enumerate(zip(item.args, domain)):
            if one is None:
                if _is_shape_arg(arg):
                    return f"domain[{position}] is None, but argument {position} is a shape drawn at random"
            elif not _is_pair(one) or not one[0] < one[1]:
                return f"domain[{position}] must be (low, high) with low < high, or None, got {one!r}"
    if not isinstance(item.tolerance, Tolerance):
        return f"tolerance must be a minidiff.extend.Tolerance, got {item.tolerance!r}"
    for name in ("forward_rtol", "forward_atol", "grad_rtol", "grad_atol", "eps"):
        value = getattr(item.tolerance, name)
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value >= 0:
            return f"tolerance.{name} must be a number >= 0, got {value!r}"
    if not item.tolerance.eps > 0:
        return f"tolerance.eps must be positive, got {item.tolerance.eps!r}"
    return None


def _is_shape_arg(arg: Any) -> bool:
    is_shape = isinstance(arg, tuple) and all(isinstance(n, int) for n in arg)
    return is_shape or (isinstance(arg, list) and bool(arg) and all(isinstance(a, tuple) for a in arg))


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
    - `batch`: how the op runs under `md.vmap`, `rule(call, args, batched, params)`: one
      call of the op on a whole batch (helpers for the common kinds in
      `minidiff.batching.rules`: `elementwise`, `axis()`, `leading()`). Without one the op
      runs once per batch element, with a warning. A composite op needs none: the ops it
      calls batch.
    - `view`: the result is a view of the operand where the backend has views (NumPy): a
      write through it changes the operand (`reshape`, `transpose`, basic `getitem`). On a
      backend without shared memory (MLX, Dask) minidiff then emulates the view.
    - `inplace`: the augmented assignment that runs the op in place (`operator.iadd` for
      `add`), which the kit checks against the out-of-place op.
    - `outputs`: the names of a multi-output op's outputs; its function then returns a
      named tuple (`eigh(a).eigenvalues`, as the Array API standard asks), still a tuple.
    - `complex`: whether the op's gradient rules hold for complex inputs, which the kit then
      checks by finite differences along real and imaginary directions. `"holomorphic"`: the
      rules are the real formulas, `g * f'(x)` (`g * cos(x)` for `sin`), and the op is complex
      differentiable with real coefficients, so the engine conjugates around them:
      `conj(rule(conj(g)))` is the gradient of real-valued losses in PyTorch's convention
      (docs/gradient-conventions.md). `True`: the rules already follow that convention (they
      hold `conj` where needed, or the op is linear with real coefficients, as `sum` and
      `reshape` are). `False`: backward through the op with a complex operand raises.
    - `fuse`: the op as an elementwise expression in numexpr's language, `{0}`, `{1}` standing
      for the operands, each used once (`"sin({0})"`, `"({0} + {1})"`): `md.compile` fuses
      chains of such ops into one kernel. Derived from `forward` for the NumPy functions
      numexpr spells the same way (`FUSED_FORMS`); `""` declares the op not fusable.
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
    batch: Callable[..., Any] | None = None
    view: bool = False
    inplace: Callable[[Any, Any], Any] | None = None
    complex: bool | str = False
    outputs: tuple[str, ...] = ()
    fuse: str | None = None

    def __post_init__(self) -> None:
        if (self.forward is None) == (self.composite is None):
            raise ValueError(f"op {self.name!r} needs exactly one of `forward` and `composite`")
        if self.fuse is None and isinstance(self.forward, str) and not self.params and self.nout == 1:
            object.__setattr__(self, "fuse", FUSED_FORMS.get(self.forward))
        if not (isinstance(self.complex, bool) or self.complex == HOLOMORPHIC):
            raise ValueError(f"op {self.name!r}: complex must be True, False or {HOLOMORPHIC!r}, got {self.complex!r}")
        if self.complex == HOLOMORPHIC:
            object.__setattr__(self, "complex", HOLOMORPHIC)  # the engine tests `is HOLOMORPHIC`

    @property
    def qualname(self) -> str:
        """`name` or `namespace.name`, as the op is reached from `minidiff`."""
        return f"{self.namespace}.{self.name}" if self.namespace else self.name

    @property
    def differentiable(self) -> bool:
        return self.vjp is not None or self.composite is not None
