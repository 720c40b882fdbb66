"""What the transforms (`md.grad`, `md.jacobian`, ...) do differently under `md.vmap`.

Inside a vmap the differentiated inputs are batched at every running level (an input that
is not is broadcast first, so each example gets its own gradient even for a shared input
such as the weights in `md.vmap(md.grad(loss), in_axes=(None, 0))`). Gradients are then
taken on the physical values: the examples of a batch never mix, so seeding every example's
output at once and pulling back gives every example's gradient in one pass.
"""

from __future__ import annotations

from typing import Any, Sequence

from minidiff.batching.tensor import BatchedTensor, bottom, expand, levels, levels_of, rewrap
from minidiff.engine import grad as engine_grad
from minidiff._tensor import Tensor, make_tensor


def is_batched(value: Any) -> bool:
    return type(value) is BatchedTensor


def grad(
    output: Any, inputs: Sequence[Any], seed: Any = None, *, allow_higher_order: bool = False,
    retain_graph: bool = False,
) -> tuple[Any, ...]:
    """`minidiff.engine.grad` for outputs and inputs that may be batched: on the physical
    values, with the seed broadcast to every example, and each gradient batched as its input."""
    chain = levels.get()
    if not chain or not (is_batched(output) or any(is_batched(x) for x in inputs) or is_batched(seed)):
        return engine_grad(output, inputs, seed, allow_higher_order=allow_higher_order, retain_graph=retain_graph)
    physical_out = bottom(expand(output, chain))
    physical_seed = None if seed is None else bottom(expand(seed, chain))
    if physical_seed is not None and not isinstance(physical_seed, Tensor):
        physical_seed = make_tensor(physical_out.backend.asarray(physical_seed), physical_out.backend, None)
    grads = engine_grad(
        physical_out, [bottom(x) for x in inputs], physical_seed,
        allow_higher_order=allow_higher_order, retain_graph=retain_graph,
    )
    return tuple(rewrap(g, levels_of(x)) for g, x in zip(grads, inputs))


def batched_input(a: Any) -> Any:
    """`a` (a Tensor, BatchedTensor or array-like) batched at every running level."""
    if not isinstance(a, (Tensor, BatchedTensor)):
        from minidiff.factories import asarray

        a = asarray(a)
    return expand(a, levels.get())


def zeros_like(like: Any) -> Any:
    """Zeros of `like`'s (batched) shape and dtype, not in any graph."""
    physical = bottom(like)
    zeros = make_tensor(physical.backend.xp.zeros_like(physical.data), physical.backend, None)
    return rewrap(zeros, levels_of(like))


def leaf_like(like: Any, data: Any = None) -> Any:
    """A fresh leaf that allows grad, with `data` (a backend array of the physical shape) or
    `like`'s physical values, batched as `like`."""
    physical = bottom(like)
    leaf = make_tensor(physical.data if data is None else data, physical.backend, None)
    leaf._set_allow_grad(True, dtype_given=False)
    return rewrap(leaf, levels_of(like))
