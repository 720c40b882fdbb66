"""What every transform in `minidiff.functional` does with its arguments and outputs.

The arguments: `argnums` checked and normalized, the differentiated arguments made tensors
that allow grad (fresh leaves, or an identity of a tensor that already allows grad so that
transforms nest). The outputs: checked to be floating-point tensors (one scalar for `grad`),
cotangents and tangents matched to them, and the value handed back detached unless an
enclosing computation needs its graph. And one walk of the output's graph that tells
whether the result must stay differentiable and whether the output depends on the inputs
at all, with the `IndependentOutputWarning` raised when it does not.
"""

from __future__ import annotations

import operator
import sys
import warnings
from typing import Any, Sequence

from minidiff.batching.tensor import BatchedTensor, bottom, levels, levels_of, rewrap
from minidiff.batching.transforms import batched_input
from minidiff.graph import input_sources
from minidiff.optable import ops
from minidiff._tensor import Tensor

Argnums = int | Sequence[int]

# The modules whose frames lie between the user's call of a transform and the warning.
_TRANSFORM_MODULES = frozenset({"minidiff.functional", "minidiff.vectorized", __name__})


# ------------------------------------------------------------------------------- arguments


def _argnums(argnums: Argnums) -> tuple[tuple[int, ...], bool]:
    """`argnums` as a tuple of ints, and whether it was a single int."""
    try:
        return (operator.index(argnums),), True  # type: ignore[arg-type]
    except TypeError:
        pass
    try:
        numbers = tuple(operator.index(n) for n in argnums)  # type: ignore[union-attr]
    except TypeError:
        raise TypeError(f"argnums must be an int or a tuple of ints, got {argnums!r}") from None
    if not numbers:
        raise ValueError("argnums must name at least one argument")
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"argnums has repeated entries: {numbers}")
    return numbers, False


def _inputs(
    args: Sequence[Any], numbers: Sequence[int], what: str, recording: bool
) -> tuple[list[Any], list[Tensor], set[int]]:
    """The call's arguments with the differentiated ones made Tensors that allow grad; the
    differentiated tensors; the ids of those that are fresh leaves (the transform's own).
    `recording`: grad mode when the transform was called."""
    call_args = list(args)
    xs: list[Tensor] = []
    own: set[int] = set()
    batching = bool(levels.get())
    for n in numbers:
        if not -len(args) <= n < len(args):
            raise ValueError(
                f"{what}: argnums includes {n}, but the function was called with {len(args)} positional argument(s)"
            )
        a = args[n]
        if batching:
            # under md.vmap: every example differentiates its own copy (minidiff.batching.transforms)
            batch = batched_input(a)
            physical = bottom(batch)
            if physical.allow_grad and recording:
                physical = ops.positive(physical)
            else:
                physical = _leaf(physical, what, n)
                own.add(id(physical))
            x = rewrap(physical, levels_of(batch))
        elif isinstance(a, Tensor) and a.allow_grad and recording:
            # An identity of `a`, so the result stays a function of `a` (and of whatever
            # `a` depends on) for an enclosing transform, and so that the same tensor
            # passed twice gets two separate partial derivatives.
            x = ops.positive(a)
        else:
            x = _leaf(a, what, n)
            own.add(id(x))
        call_args[n] = x
        xs.append(x)
    return call_args, xs, own


def _leaf(a: Any, what: str, position: int) -> Tensor:
    """A fresh leaf that allows grad, with `a`'s values (integers become floats)."""
    if isinstance(a, Tensor):
        if a.backend.is_inexact(a.data.dtype):
            return _fresh_leaf(a.detach())
        return Tensor(a, allow_grad=True)
    try:
        return Tensor(a, allow_grad=True)
    except TypeError as exc:
        raise TypeError(f"{what}: cannot differentiate with respect to argument {position}: {exc}") from None


def _fresh_leaf(t: Tensor) -> Tensor:
    t._set_allow_grad(True, dtype_given=False)
    return t


# --------------------------------------------------------------------------------- outputs


def _outputs(value: Any, what: str) -> tuple[list[Tensor], bool]:
    """The function's output(s) as Tensors, and whether it returned a single one."""
    single = not isinstance(value, (tuple, list))
    items = [value] if single else list(value)
    outs = []
    for item in items:
        out = item if isinstance(item, (Tensor, BatchedTensor)) else _constant(item, what)
        if out.dtype.kind not in "fc":
            raise TypeError(
                f"{what}: the function returned a tensor of dtype {out.dtype}; only floating-point and complex "
                f"outputs have derivatives"
            )
        outs.append(out)
    return outs, single


def _constant(value: Any, what: str) -> Tensor:
    try:
        return Tensor(value)
    except TypeError:
        raise TypeError(
            f"{what}: the function must return a Tensor (or a tuple of them), got {type(value).__name__!r}"
        ) from None


def _scalar(value: Any, what: str) -> Tensor:
    if isinstance(value, (tuple, list)):
        raise TypeError(
            f"{what}: the function returned a {type(value).__name__} of {len(value)} items, but {what} needs one "
            f"scalar output; use md.jacobian(f) or md.vjp(f, ...) for several outputs"
        )
    (out,), _ = _outputs(value, what)
    if out.dtype.kind == "c":
        # a complex function has no gradient unless holomorphic; JAX refuses too
        raise TypeError(
            f"{what}: the function returned a complex scalar, but {what} needs a real one; take md.real, md.imag "
            f"or md.abs of it, or use md.vjp(f, ...) with a complex cotangent"
        )
    if out.size != 1:
        raise ValueError(
            f"{what}: the function returned a tensor of shape {out.shape}, but {what} needs a scalar output; "
            f"use md.jacobian(f) for the full Jacobian, or md.vjp(f, *args) to contract the output with a "
            f"cotangent (or reduce it to a scalar, e.g. with .sum())"
        )
    return out


def _like(value: Any, target: Tensor, what: str, kind: str) -> Tensor:
    """A cotangent or tangent for `target`: a Tensor of its shape, dtype and backend."""
    if not isinstance(value, (Tensor, BatchedTensor)):
        value = Tensor(value, dtype=target.dtype, backend=target.backend.name)
    if value.shape != target.shape:
        raise ValueError(f"{what}: a {kind} of shape {value.shape} was given for a value of shape {target.shape}")
    return value if value.dtype == target.dtype else ops.astype(value, dtype=target.dtype)


def _pair(primals: Any, tangents: Any, what: str) -> tuple[tuple, tuple, bool]:
    """Primals and tangents as equal-length tuples, and whether a single one was given."""
    # a tuple holds several primals; anything else (an array, a list of numbers) is one
    single = not isinstance(primals, tuple)
    primals = (primals,) if single else primals
    if single or not isinstance(tangents, (tuple, list)):
        tangents = (tangents,)
    if len(primals) != len(tangents):
        raise ValueError(f"{what}: {len(primals)} primal(s) but {len(tangents)} tangent(s); give one tangent per primal")
    return primals, tangents, single


def _value(value: Any, outs: list[Tensor], single: bool, keep: bool) -> Any:
    """The function's output as returned to the caller: with its graph only when an
    enclosing computation needs it."""
    if keep:
        return value if single or isinstance(value, tuple) else tuple(value)
    detached = [out.detach() for out in outs]
    return detached[0] if single else tuple(detached)


# ------------------------------------------------ whether the output depends on the inputs


def _trace(roots: Sequence[Tensor], own: set[int], xs: Sequence[Tensor], what: str | None, numbers: Any) -> bool:
    """Walk the graph of `roots` once. Returns True when it reaches a tensor that allows grad
    and is not one of the transform's own fresh leaves: then the result must stay
    differentiable. When it reaches none of `xs` (the tensors differentiated with respect
    to), the output does not depend on them: with `what` (the transform's name) that is
    reported by an `IndependentOutputWarning`, as HIPS autograd does."""
    roots, xs = [bottom(r) for r in roots], [bottom(x) for x in xs]  # under md.vmap: the physical graph
    targets = {id(x) if x.node is None else id(x.node) for x in xs}  # how the walk meets each x
    outside = depends = False
    stack: list = [r if r.node is None else r.node for r in roots if r.allow_grad]
    seen: set[int] = set()
    while stack and not (outside and depends):
        source = stack.pop()  # a node, or a leaf Tensor
        key = id(source)
        if key in seen:
            continue
        seen.add(key)
        depends = depends or key in targets
        if isinstance(source, Tensor):
            outside = outside or key not in own
            continue
        if source.inputs is None:
            return True  # a freed graph: keep everything, and let backward report it
        stack.extend(input_sources(source))
    if not depends and what is not None:
        _warn_independent(what, tuple(numbers))
    return outside


class IndependentOutputWarning(UserWarning):
    """The output of a function given to a transform (`md.grad`, `md.jacobian`, ...) does
    not depend on the input(s) it is differentiated with respect to, so the derivative is
    zero. Often the function left the graph: `float(t)`, `t.item()` and `math.*` functions
    return plain Python numbers, which minidiff cannot differentiate through.

    >>> import math, warnings
    >>> import minidiff as md
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     md.grad(lambda x: math.sin(x))(1.0).item()
    0.0
    >>> caught[0].category.__name__
    'IndependentOutputWarning'
    """


def _warn_independent(what: str, numbers: tuple[int, ...]) -> None:
    inputs = f"argument {numbers[0]}" if len(numbers) == 1 else f"arguments {', '.join(map(str, numbers))}"
    warnings.warn(
        f"{what}: output seems independent of input ({inputs}), so its derivative is zero. float(t), "
        f"t.item() and math.* functions leave the graph: use minidiff ops (md.sin, ...) to differentiate through them",
        IndependentOutputWarning,
        stacklevel=_caller_level(),
    )


def _caller_level() -> int:
    """The `stacklevel` of the first frame outside the transform modules: the user's call."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") in _TRANSFORM_MODULES:
        level, frame = level + 1, frame.f_back
    return level
