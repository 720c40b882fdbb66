"""How an op call with BatchedTensor operands runs: the op's batching rule, or a loop.

The innermost level among the operands (and tensors inside the parameters, such as an
index) is handled here; operands batched only at outer levels are passed on as they are,
and the op calls the rule makes handle those in turn. A rule is
`rule(call, args, batched, params)`: `args` are the operands with this level's batch on
axis 0 of those marked in `batched`, `call(*operands, **params)` runs the op (without
batching at this level), and the rule returns the result with the batch on axis 0 (a tuple
of them for an op with several outputs).
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

from minidiff.batching.tensor import BatchedTensor, Level, levels
from minidiff.optable import ops


class BatchingFallbackWarning(UserWarning):
    """An op called under `md.vmap` has no batching rule, so it runs once per batch element
    (correct, but with a Python loop's cost). Given once per op; an op pack adds a rule with
    `Op(..., batch=...)` (`minidiff.batching.rules`)."""


def innermost(operands: tuple, params: dict) -> Level | None:
    """The innermost level any operand or parameter is batched at, or None."""
    found = None
    for value in (*operands, *params.values()):
        for item in value if type(value) in (tuple, list) else (value,):
            if type(item) is BatchedTensor and (found is None or item.level.id > found.id):
                found = item.level
    return found


def apply_batched(op: Any, call: Callable[..., Any], operands: tuple, params: dict, level: Level) -> Any:
    """Run `op` on operands batched at `level` (the innermost): its rule, else a loop."""
    args = tuple(_at(a, level) for a in operands)
    batched = tuple(type(a) is BatchedTensor and a.level is level for a in operands)
    rule = op.batch
    in_params = any(_batched_param(v, level) for v in params.values())
    if rule is None or in_params:
        # a batched parameter (an index, a mask) has no rule's help: one call per element
        result = loop(call, args, batched, params, level.size, op.qualname, level)
    else:
        result = rule(call, args, batched, params)
    if isinstance(result, tuple):
        return tuple(BatchedTensor(r, level) for r in result)
    return BatchedTensor(result, level)


def _at(value: Any, level: Level) -> Any:
    return value.value if type(value) is BatchedTensor and value.level is level else value


def _batched_param(value: Any, level: Level) -> bool:
    items = value if type(value) in (tuple, list) else (value,)
    return any(type(item) is BatchedTensor and item.level is level for item in items)


def loop(
    call: Callable[..., Any], args: tuple, batched: tuple, params: dict, size: int, name: str = "",
    level: Level | None = None,
) -> Any:
    """The op once per batch element, the results stacked on a new axis 0 (the fallback for
    an op without a batching rule, and the rule of ops whose output shape depends on values).
    With `name`, a one-time warning names the op; parameters batched at `level` are sliced too."""
    if name:  # once per op: the message names it, and Python shows each message once per place
        warnings.warn(
            f"md.vmap: op {name!r} has no batching rule, so it runs once per batch element ({size} calls); "
            f"an op pack gives one with Op(..., batch=...)",
            BatchingFallbackWarning,
            stacklevel=5,
        )
    results = []
    if size == 0:
        raise ValueError(f"md.vmap: op {name or 'this op'!r} runs once per batch element, and the batch is empty")
    for i in range(size):
        one = [ops.getitem(a, key=i) if b else a for a, b in zip(args, batched)]
        one_params = {k: _element(v, level, i) for k, v in params.items()}
        results.append(call(*one, **one_params))
    if isinstance(results[0], tuple):
        return tuple(ops.stack([r[k] for r in results]) for k in range(len(results[0])))
    return ops.stack(results)


def _element(value: Any, level: Level | None, i: int) -> Any:
    if level is None:
        return value
    if type(value) is BatchedTensor and value.level is level:
        return ops.getitem(value.value, key=i)
    if type(value) in (tuple, list) and any(type(v) is BatchedTensor and v.level is level for v in value):
        return type(value)(_element(v, level, i) for v in value)
    return value


def active() -> bool:
    """Whether any `md.vmap` is running (in this thread or task)."""
    return bool(levels.get())
