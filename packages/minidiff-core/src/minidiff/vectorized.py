"""The `vectorized=True` forms of `md.jacobian` and `md.hessian`.

For a function written to broadcast over a leading batch axis, the transform evaluates it
once on a stack of copies of the input and pulls every row back in a single pass: one
forward and one reverse pass for a Jacobian, one forward and two reverse passes for a
Hessian, per chunk of rows. The checks that catch a function which is not vectorized (the
stacked output's shape, and its values against the function at the point itself) live here
too. `minidiff.functional` holds the public transforms that call into this module.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from minidiff.engine import grad as engine_grad
from minidiff.graph import no_grad
from minidiff.optable import ops
from minidiff._tensor import Tensor, make_tensor
from minidiff.transform_args import _fresh_leaf, _outputs, _scalar, _trace

# With vectorized=True, rows are computed in chunks whose stacked copies of the inputs take at
# most about this many bytes: the memory of the stacked passes grows with rows x input size,
# and this bounds it (each intermediate array of a chunk is about this size, so a chunk's
# arrays reuse the memory the previous chunk freed rather than fresh pages, which cost more
# than the arithmetic on them). Each chunk costs the Python overhead of its own passes, so
# chunks are not made smaller than this. On the Rosenbrock Hessian (benchmarks/hessian.py),
# 256 KiB was about the fastest from n=100 to n=400: 128 KiB was as fast at n=200 but 15%
# slower at n=400, and a single chunk at n=200 was 30% slower.
_CHUNK_BYTES = 1 << 18


def _vectorized_jacobian(
    f: Callable[..., Any], call_args: list[Any], kwargs: dict, numbers: Sequence[int], xs: list[Tensor],
    own: set[int], recording: bool, warn: bool,
) -> tuple[list[tuple[Tensor, ...]], bool]:
    """The Jacobian of every output of a function vectorized over a leading axis (see
    `jacobian`): per chunk of rows, one forward pass on a stack of copies of the inputs and
    one reverse pass per output."""
    references, single_out = _reference(f, call_args, kwargs, "jacobian")
    rows = max(ref.size for ref in references)
    pieces: list[list[list[Tensor]]] = [[[] for _ in xs] for _ in references]  # [output][input]: chunks
    outside = None
    for start, count in _chunks(rows, xs):
        stacks, outs = _stacked_call(
            f, call_args, kwargs, numbers, xs, own, recording, references, count, "jacobian", check=not start
        )
        if outside is None:  # the same for every chunk: f is called on the same tensors
            outside = _trace(outs, own | {id(stack) for stack in stacks}, stacks, "jacobian" if warn else None, numbers)
        record = recording and outside
        todo = [k for k, ref in enumerate(references) if start < ref.size]
        for k in todo:
            ref, out = references[k], outs[k]
            seed = _basis(out, start, min(count, ref.size - start), ref.size)
            # copy i contributes only its own output, so its cotangent is row start + i
            grads = engine_grad(
                out, stacks, seed, allow_higher_order=record, retain_graph=outside or k != todo[-1]
            )
            for j, g in enumerate(grads):
                pieces[k][j].append(g[: min(count, ref.size - start)])
    result = []
    for ref, per_input in zip(references, pieces):
        if ref.size == 0:
            result.append(tuple(_zeros(ref.shape + x.shape, x) for x in xs))
        else:
            result.append(tuple(
                ops.reshape(_joined(chunks), ref.shape + x.shape) for chunks, x in zip(per_input, xs)
            ))
    return result, single_out


def _vectorized_hessian(
    f: Callable[..., Any], call_args: list[Any], kwargs: dict, numbers: Sequence[int], xs: list[Tensor],
    own: set[int], recording: bool,
) -> tuple[tuple[Tensor, ...], ...]:
    """The Hessian blocks `H[i][j]` of a scalar function vectorized over a leading axis (see
    `hessian`): per chunk of the rows of x_i, one forward pass on a stack of copies of the
    inputs, the gradient of every copy at once (recorded), and one more reverse pass."""
    (reference,), _ = _reference(f, call_args, kwargs, "hessian", scalar=True)
    pieces: list[list[list[Tensor]]] = [[[] for _ in xs] for _ in xs]  # [row block i][column block j]: chunks
    outside = None
    for i, x in enumerate(xs):
        for start, count in _chunks(x.size, xs):
            stacks, (out,) = _stacked_call(
                f, call_args, kwargs, numbers, xs, own, recording, [reference], count, "hessian", check=outside is None
            )
            if outside is None:  # the same for every chunk: f is called on the same tensors
                outside = _trace([out], own | {id(stack) for stack in stacks}, stacks, "hessian", numbers)
            # copies do not interact, so the gradient of their sum is each copy's own gradient
            grads = engine_grad(
                out, stacks, out.backend.xp.ones(out.shape, dtype=out.data.dtype),
                allow_higher_order=True, retain_graph=True,
            )
            # row start + k of H[i] is the derivative of copy k's gradient, entry start + k
            seed = _basis(grads[i], start, count, x.size)
            rows = engine_grad(
                grads[i], stacks, seed, allow_higher_order=recording and outside, retain_graph=outside
            )
            for j, r in enumerate(rows):
                pieces[i][j].append(r[:count])

    def block(i: int, j: int) -> Tensor:
        shape = xs[i].shape + xs[j].shape
        return ops.reshape(_joined(pieces[i][j]), shape) if xs[i].size else _zeros(shape, xs[j])

    return tuple(tuple(block(i, j) for j in range(len(xs))) for i in range(len(xs)))


def _reference(
    f: Callable[..., Any], call_args: list[Any], kwargs: dict, what: str, scalar: bool = False
) -> tuple[list[Tensor], bool]:
    """`f` at the point itself, unrecorded: the shapes of its outputs (how many rows), and the
    values every stacked copy must reproduce."""
    with no_grad():
        value = f(*call_args, **kwargs)
    if scalar:
        return [_scalar(value, what)], True
    return _outputs(value, what)


def _chunks(rows: int, xs: list[Tensor]) -> list[tuple[int, int]]:
    """(start, count) of each chunk of `rows`, of equal sizes, each stacking about
    `_CHUNK_BYTES` of copies of the inputs at most."""
    if rows == 0:
        return []
    per_copy = max(1, sum(x.size * x.dtype.itemsize for x in xs))
    chunks = -(-rows // max(1, _CHUNK_BYTES // per_copy))  # ceil
    size = -(-rows // chunks)
    return [(start, min(size, rows - start)) for start in range(0, rows, size)]


def _stacked_call(
    f: Callable[..., Any], call_args: list[Any], kwargs: dict, numbers: Sequence[int], xs: list[Tensor],
    own: set[int], recording: bool, references: list[Tensor], count: int, what: str, check: bool,
) -> tuple[list[Tensor], list[Tensor]]:
    """`f` on at least `count` copies of the differentiated inputs stacked on a new leading
    axis: the stacks (to differentiate with respect to) and the outputs, checked to have the
    stacked shapes of `references` (and, with `check`, their values)."""
    # A stack as long as an axis of the input or output could let a reduction over the wrong
    # axis return the expected shape: add copies (with zero cotangents) until it differs.
    axes = {n for t in (*xs, *references) for n in t.shape}
    batch = count
    while batch in axes:
        batch += 1
    stacks = [_stack(x, batch, connected=recording and id(x) not in own) for x in xs]
    stacked_args = list(call_args)
    for n, stack in zip(numbers, stacks):
        stacked_args[n] = stack
    stacked = " and ".join(str(stack.shape) for stack in stacks)
    try:
        value = f(*stacked_args, **kwargs)
    except (ValueError, IndexError) as exc:  # it ran on the input itself: the stacking is what broke it
        raise ValueError(
            f"{what}(vectorized=True): the function is not vectorized over a leading axis: it fails on stacked "
            f"copies of its input (shape {stacked}) with {type(exc).__name__}: {exc}; {_vectorize_advice(what)}"
        ) from exc
    outs, _ = _outputs(value, what)
    if len(outs) != len(references):
        raise ValueError(
            f"{what}(vectorized=True): the function is not vectorized over a leading axis: it returns "
            f"{len(references)} output(s) on its input but {len(outs)} on stacked copies of it "
            f"(shape {stacked}); {_vectorize_advice(what)}"
        )
    for out, ref in zip(outs, references):
        _check_stacked(out, ref, batch, stacked, what, check)
    return stacks, outs


def _stack(x: Tensor, batch: int, connected: bool) -> Tensor:
    """`batch` copies of `x` on a new leading axis, as a tensor that allows grad: a function
    of `x` when the result must stay differentiable with respect to `x` (`connected`), else
    a fresh leaf, where the reverse passes stop instead of summing back down to `x`."""
    shape = (batch,) + x.shape
    if connected:
        return ops.broadcast_to(x, shape=shape)
    return _fresh_leaf(make_tensor(x.backend.xp.broadcast_to(x.data, shape), x.backend, None))


def _vectorize_advice(what: str) -> str:
    return (
        f"with vectorized=True the function must treat a new leading axis of its input as a batch (write it "
        f"with x[..., i], axis=-1 and @, so that it broadcasts), or use {what}(f) without vectorized=True"
    )


def _check_stacked(out: Tensor, ref: Tensor, batch: int, stacked: str, what: str, values: bool) -> None:
    """Raise unless `out` has the shape of `batch` copies of `ref` (and, with `values`, their
    values), as `f` on stacked inputs must return."""
    advice = _vectorize_advice(what)
    if out.shape != (batch,) + ref.shape:
        raise ValueError(
            f"{what}(vectorized=True): the function is not vectorized over a leading axis: on a stack of "
            f"{batch} {'copy' if batch == 1 else 'copies'} of its input (shape {stacked}) it returned shape "
            f"{out.shape}, not {(batch,) + ref.shape} "
            f"(it returns shape {ref.shape} on the input itself); {advice}"
        )
    if not values:
        return
    got, expected = out.backend.to_host(out.data), ref.backend.to_host(ref.data)[None]
    # batched arithmetic may round differently (a matrix product, say), so allow for that
    scale = np.max(np.abs(expected), initial=0.0, where=np.isfinite(expected))
    tolerance = float(np.sqrt(np.finfo(got.dtype).eps) * scale)
    same = (got == expected) | (np.abs(got - expected) <= tolerance) | (np.isnan(got) & np.isnan(expected))
    if not np.all(same):
        raise ValueError(
            f"{what}(vectorized=True): the function is not vectorized over a leading axis: on a stack of "
            f"{batch} identical copies of its input (shape {stacked}) it returned values that differ from its "
            f"value on the input itself, so it mixes the copies (or is not deterministic); {advice}"
        )


def _basis(like: Tensor, start: int, count: int, size: int) -> Tensor:
    """A cotangent for `like` (a stack of copies, each of `size` elements): copy k < count
    gets the unit vector start + k, the others zero."""
    xp, dtype = like.backend.xp, like.data.dtype
    rows = xp.eye(count, size, k=start, dtype=dtype)
    if like.shape[0] > count:
        rows = xp.concatenate([rows, xp.zeros((like.shape[0] - count, size), dtype=dtype)])
    return make_tensor(xp.reshape(rows, like.shape), like.backend, None)


def _joined(chunks: list[Tensor]) -> Tensor:
    return chunks[0] if len(chunks) == 1 else ops.concatenate(chunks)


def _zeros(shape: tuple[int, ...], like: Tensor) -> Tensor:
    return make_tensor(like.backend.xp.zeros(shape, dtype=like.data.dtype), like.backend, None)
