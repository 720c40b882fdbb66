"""Batching rules for op families to declare on their ops: `Op(..., batch=rules.elementwise)`.

A rule is `rule(call, args, batched, params) -> result`: `args` are the op's operands, those
marked in `batched` with the batch on axis 0 (the rest as the caller gave them); `params`
are the op's parameters as the caller gave them (for one example); `call(*operands,
**params)` runs the op. The rule calls the op once on the whole batch, adjusting the
operands and parameters so each example gets what it would alone, and returns the result
with the batch on axis 0. `md.vmap`'s conformance check (`minidiff.testing`) compares every
op's rule with a loop over the batch on the op's samples.

The helpers here cover the common kinds:

- `elementwise`: broadcasting ops (`add`, `sin`, `where`): the batch stays in front;
- `axis()`: ops with an `axis` parameter counted from the front (`sum`, `cumsum`, `sort`);
- `leading(core)`: ops that already map over leading axes (`linalg.inv` on `(..., n, n)`);
- `per_example`: a loop, for ops whose output shape depends on the values (`nonzero`);
- `composite(rule, *operands)`: `rule` for a composite op, bound to its signature, on
  plain Tensors even under nested vmaps (`plain(rule)` for that part alone).
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Callable

import numpy as np

from minidiff.batching.apply import loop
from minidiff.batching.tensor import bottom, expand, levels_of, rewrap
from minidiff.factories import asarray
from minidiff.optable import ops

Rule = Callable[[Callable[..., Any], tuple, tuple, dict], Any]


def logical_ndim(value: Any, batched: bool) -> int:
    """The number of axes one example of `value` has."""
    return int(np.ndim(value) if not hasattr(value, "ndim") else value.ndim) - (1 if batched else 0)


def batch_size(args: tuple, batched: tuple) -> int:
    return next(a.shape[0] for a, b in zip(args, batched) if b)


def pad_to(value: Any, ndim: int) -> Any:
    """A batched `value` with size-1 axes after the batch until one example has `ndim` axes,
    so that it broadcasts against unbatched operands the way one example would."""
    missing = ndim - (value.ndim - 1)
    if missing <= 0:
        return value
    return ops.reshape(value, (value.shape[0],) + (1,) * missing + tuple(value.shape[1:]))


def shift_axis(axis: int, ndim: int) -> int:
    """A (possibly negative) axis of one example as an axis of the batch; NumPy's AxisError
    when it is out of range for one example."""
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim + 1


def shift_axes(axis: Any, ndim: int) -> Any:
    """`axis` (None, an int or a tuple) of one example as axes of the batch; None becomes
    every axis of the example (never the batch's)."""
    if axis is None:
        return tuple(range(1, ndim + 1))
    if isinstance(axis, (tuple, list)):
        return tuple(shift_axis(a, ndim) for a in axis)
    return shift_axis(int(axis), ndim)


def to_batched(value: Any, size: int) -> Any:
    """An unbatched operand as a batch of `size` identical copies (a broadcast view)."""
    value = value if hasattr(value, "shape") else asarray(value)
    return ops.broadcast_to(ops.expand_dims(value, axis=0), shape=(size, *value.shape))


# ------------------------------------------------------------------------------- the kinds


def elementwise(call: Callable[..., Any], args: tuple, batched: tuple, params: dict) -> Any:
    """Broadcasting ops: each batched operand gets size-1 axes after the batch so that all
    have the rank of the highest-rank example, then one call."""
    ndim = max(logical_ndim(a, b) for a, b in zip(args, batched))
    padded = tuple(pad_to(a, ndim) if b else a for a, b in zip(args, batched))
    return call(*padded, **params)


def axis(name: str = "axis", *, none: str = "all") -> Rule:
    """One-operand ops with an axis parameter `name`. `none` says what `axis=None` means:
    "all" (every axis of the example: `sum`, `max`) or "flatten" (the example flattened
    first: `cumsum`, `argmax`, `sort`).

    >>> import minidiff as md
    >>> md.vmap(lambda x: md.sum(x, axis=-1))(md.ones((4, 2, 3))).shape
    (4, 2)
    """

    def rule(call: Callable[..., Any], args: tuple, batched: tuple, params: dict) -> Any:
        (x, *rest) = args
        ndim = logical_ndim(x, True)
        value = params.get(name)
        if value is None and none == "flatten":
            out = call(ops.reshape(x, (x.shape[0], -1)), *rest, **{**params, name: 1})
            if params.get("keepdims"):  # argmax(keepdims=True) keeps every axis of the example, as size 1
                out = ops.reshape(out, (x.shape[0],) + (1,) * ndim)
            return out
        return call(x, *rest, **{**params, name: shift_axes(value, ndim)})

    rule.__name__ = f"axis_{name}"
    return rule


def leading(core: int | tuple[int, ...]) -> Rule:
    """Ops that map over the leading axes of operands whose last `core` axes are the
    operation's own (`core=2` for a matrix, 1 for a vector, 0 for a scalar; one per operand).
    Unbatched operands are broadcast to the batch, batched ones padded to a common rank of
    leading axes.

    >>> import minidiff as md
    >>> md.vmap(md.linalg.inv)(md.eye(3) * md.arange(1.0, 5.0).reshape(4, 1, 1)).shape
    (4, 3, 3)
    """

    def rule(call: Callable[..., Any], args: tuple, batched: tuple, params: dict) -> Any:
        cores = (core,) * len(args) if isinstance(core, int) else core
        stacked = max(logical_ndim(a, b) - c for a, b, c in zip(args, batched, cores))
        size = batch_size(args, batched)
        full = []
        for a, b, c in zip(args, batched, cores):
            a = a if b else to_batched(a, size)
            full.append(pad_to(a, stacked + c))
        return call(*full, **params)

    rule.__name__ = f"leading_{core}"
    return rule


def per_example(call: Callable[..., Any], args: tuple, batched: tuple, params: dict) -> Any:
    """A loop over the batch, for ops whose output shape depends on the values (`nonzero`)
    or that have no cheaper rule yet; unlike a missing rule, it gives no warning."""
    return loop(call, args, batched, params, batch_size(args, batched))


# ------------------------------------------------------------------------- composite ops


def composite(rule: Rule, *operands: str) -> Rule:
    """`rule`, written as for any op (`operands` positional, every other argument a keyword),
    as the rule of a composite op, whose caller may pass parameters positionally
    (`md.sort(x, 0)`) and leaves out defaults. The call is bound to the composite's signature:
    `rule` sees the named `operands` (their defaults when not given), the rest as keywords
    with defaults filled in, and a `call` taking the operands positionally.

    A composite that reads values on the host (sorting indices, a segment search) needs
    plain Tensors, so `rule` runs on them (`plain`), also under nested `md.vmap`s.

    >>> import minidiff as md
    >>> md.vmap(lambda x: md.sort(x, 0))(md.Tensor([[[2.0], [1.0]], [[0.0], [3.0]]]))[:, :, 0]
    minidiff.Tensor([[1., 2.],
                     [0., 3.]])
    """

    def adapted(call: Callable[..., Any], args: tuple, batched: tuple, params: dict) -> Any:
        signature = inspect.signature(call)
        names = list(signature.parameters)
        if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in signature.parameters.values()):
            raise TypeError(f"rules.composite cannot name the operands of {call!r}, which takes *args; use rules.plain")
        bound = signature.bind(*args, **params)
        bound.apply_defaults()
        given = dict(bound.arguments)
        flags = dict(zip(names, batched))
        if any(flag for name, flag in flags.items() if name not in operands):
            # a batched value where the composite takes a parameter (a spacing given as `dx`):
            # no rule knows what it means per example
            return loop(call, args, batched, params, batch_size(args, batched), getattr(call, "__name__", ""))
        values = tuple(given.pop(name) for name in operands)
        mask = tuple(flags.get(name, False) for name in operands)

        def by_name(*xs: Any, **keywords: Any) -> Any:
            return call(**dict(zip(operands, xs)), **keywords)

        return on_plain(by_name, values, mask, given)

    on_plain = plain(rule)
    adapted.__name__ = f"composite_{getattr(rule, '__name__', 'rule')}"
    return adapted


def plain(rule: Rule) -> Rule:
    """`rule` on plain Tensors, for rules that read values on the host: operands batched by
    outer `md.vmap`s too are merged into one batch axis (outer levels first; `merge_levels`),
    `rule` runs once on that, and its result (each one, for several) is split back."""

    def merged(call: Callable[..., Any], args: tuple, batched: tuple, params: dict) -> Any:
        args, batched, split = merge_levels(args, batched)
        result = rule(call, args, batched, params)
        if split is None:
            return result
        return tuple(split(r) for r in result) if isinstance(result, tuple) else split(result)

    merged.__name__ = f"plain_{getattr(rule, '__name__', 'rule')}"
    return merged


def merge_levels(args: tuple, batched: tuple) -> tuple[tuple, tuple, Callable[[Any], Any] | None]:
    """Operands where some are also batched by outer `md.vmap`s, as plain Tensors with every
    batch axis merged into axis 0 (outer levels first, this level's last), the new batched
    mask, and how to split a result (merged batch on axis 0) back into this level's batch on
    axis 0 of a value batched at the outer levels; `split` is None when no operand has an
    outer level (then nothing changes)."""
    chain = tuple(sorted({level for a in args for level in levels_of(a)}, key=lambda level: level.id))
    if not chain:
        return args, batched, None
    size = batch_size(args, batched)
    outer = tuple(level.size for level in chain)
    merged, mask = [], []
    for a, b in zip(args, batched):
        if not b and not levels_of(a):
            merged.append(a)  # shared by every example at every level
            mask.append(False)
            continue
        full = bottom(expand(a, chain))  # (*outer, [size,] *example)
        if not b:
            full = ops.expand_dims(full, axis=len(chain))
            full = ops.broadcast_to(full, shape=(*outer, size, *full.shape[len(chain) + 1 :]))
        merged.append(ops.reshape(full, (math.prod(outer) * size, *full.shape[len(chain) + 1 :])))
        mask.append(True)

    def split(result: Any) -> Any:
        return rewrap(ops.reshape(result, (*outer, size, *result.shape[1:])), chain)

    return tuple(merged), tuple(mask), split
