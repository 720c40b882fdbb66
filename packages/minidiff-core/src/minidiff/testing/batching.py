"""The conformance kit's `md.vmap` check: an op's batching rule against a loop over the batch.

On each sample, `BATCH` independent draws of its inputs are stacked; `md.vmap` of the op must
give exactly the stacked per-example results (shape, dtype, values), and the gradient of the
batched call the stacked per-example gradients. It runs twice: every floating input batched,
and only the first (the others shared by the batch, `in_axes=None`), which is where a rule's
broadcasting goes wrong. An op without a rule runs as a loop, which this checks too; an op
with a rule, or a composite, fails if anything in it falls back to a loop
(`BatchingFallbackWarning`): the rule, or the ops the composite calls, should batch.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

import minidiff as md
from minidiff.batching.apply import BatchingFallbackWarning
from minidiff.engine import grad as engine_grad
from minidiff.extend import Op, Sample
from minidiff._tensor import Tensor
from minidiff.testing.samples import _split, assert_close, materialize, op_function

#: examples per batch: not 1 (which hides axis mistakes) and no sample's axis length, mostly
BATCH = 3


def batching_applies(op: Op, sample: Sample) -> bool:
    """Whether the check runs: the op takes operands and the sample has floating inputs."""
    if op.creation:
        return False
    leaves, _ = _split(materialize(op, sample, np.random.default_rng(0)))
    return bool(leaves)


def check_batching(op: Op, sample: Sample, rng: np.random.Generator, backend: str) -> None:
    """`md.vmap(op)` equals the op on each example, in values and in gradients."""
    draws = [_split(materialize(op, sample, rng)) for _ in range(BATCH)]
    rebuild = draws[0][1]
    leaves = [d[0] for d in draws]  # [example][input]
    function, params = op_function(op), sample.params

    def f(*xs: Any) -> Any:
        return function(*rebuild(xs), **params)

    # float64 where the backend has it; the reference runs in the same precision
    exact = md.get_backend(backend).supports_float64
    tolerance = dict(rtol=max(1e-9, sample.tolerance.forward_rtol), atol=max(1e-12, sample.tolerance.forward_atol))
    if not exact:
        tolerance = dict(rtol=1e-4, atol=1e-5)
    masks = [(True,) * len(leaves[0])]
    if len(leaves[0]) > 1:
        masks.append((True,) + (False,) * (len(leaves[0]) - 1))
    for mask in masks:
        _check_one(op, f, leaves, mask, backend, tolerance, gradients=sample.order >= 1)


def _check_one(
    op: Op, f: Callable[..., Any], leaves: list[list[np.ndarray]], mask: tuple[bool, ...], backend: str, tolerance: dict,
    gradients: bool,
) -> None:
    what = f"md.vmap({op.qualname}) with in_axes={tuple(0 if m else None for m in mask)}"
    differentiable = op.differentiable

    def inputs(example: int | None) -> list[Tensor]:
        """Tensors of one example (or the batch, None), allowing grad where they can."""
        out = []
        for i, m in enumerate(mask):
            values = leaves[0][i] if not m else np.stack([e[i] for e in leaves]) if example is None else leaves[example][i]
            out.append(Tensor(values, allow_grad=differentiable, backend=backend))
        return out

    batch_inputs = inputs(None)
    with warnings.catch_warnings():
        strict = op.batch is not None or op.composite is not None
        warnings.simplefilter("error" if strict else "ignore", BatchingFallbackWarning)
        got = _as_list(md.vmap(f, in_axes=tuple(0 if m else None for m in mask))(*batch_inputs))
    singles = [inputs(b) for b in range(BATCH)]
    per_example = [_as_list(f(*xs)) for xs in singles]
    for k, out in enumerate(got):
        expected = np.stack([np.asarray(one[k].numpy()) for one in per_example])
        host = np.asarray(out.numpy())
        assert host.shape == expected.shape, f"{what}: output {k} has shape {host.shape}, the loop gives {expected.shape}"
        assert host.dtype == expected.dtype, f"{what}: output {k} has dtype {host.dtype}, the loop gives {expected.dtype}"
        assert_close(host, expected, what=f"{what} output {k}", **tolerance)
    floating = [k for k, out in enumerate(got) if out.allow_grad and out.dtype.kind == "f"]
    if not differentiable or not floating or not gradients:  # a sample of order 0 has no gradient to compare
        return
    # the gradient of <outputs, v>, with one random cotangent per example
    rng = np.random.default_rng(1)
    vs = [rng.standard_normal(got[k].shape) for k in floating]
    batched_grads = _grads([got[k] for k in floating], vs, batch_inputs)
    for b, (xs, outs) in enumerate(zip(singles, per_example)):
        example_grads = _grads([outs[k] for k in floating], [v[b] for v in vs], xs)
        for i, (m, g_batch, g_one) in enumerate(zip(mask, batched_grads, example_grads)):
            if not m:
                continue  # a shared input's gradient sums over the examples; the batched ones are per example
            assert_close(g_batch.numpy()[b], g_one.numpy(), what=f"{what}: gradient of input {i}, example {b}", **tolerance)


def _grads(outs: list[Tensor], vs: list[np.ndarray], xs: list[Tensor]) -> tuple[Tensor, ...]:
    total = sum(md.sum(out * Tensor(v, backend=out.backend.name, dtype=out.dtype)) for out, v in zip(outs, vs))
    return engine_grad(total, xs)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (tuple, list)) else [value]
