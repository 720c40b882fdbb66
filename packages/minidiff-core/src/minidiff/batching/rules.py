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
- `per_example`: a loop, for ops whose output shape depends on the values (`nonzero`).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from minidiff.batching.apply import loop
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
            x = ops.reshape(x, (x.shape[0], -1))
            return call(x, *rest, **{**params, name: 1})
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
