"""The vectorized forms of `md.jacobian` and `md.hessian` (their default).

The transform calls the function once on a stack of copies of its input, through
`md.vmap` (so any function works, not only one written to broadcast), and pulls every row
back in a single pass: one forward and one reverse pass for a Jacobian, one forward and two
reverse passes for a Hessian, per chunk of rows. `minidiff.functional` holds the public
transforms that call into this module.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from minidiff.batching.tensor import BatchedTensor, bottom, levels, levels_of, new_level, rewrap
from minidiff.batching.transforms import grad as engine_grad
from minidiff.graph import no_grad
from minidiff.optable import ops
from minidiff._tensor import Tensor, make_tensor
from minidiff.transform_args import _outputs, _scalar, _trace

# Rows are computed in chunks whose stacked copies of the inputs take at most about this many
# bytes: the memory of the stacked passes grows with rows x input size, and this bounds it
# (each intermediate array of a chunk is about this size, so a chunk's arrays reuse the memory
# the previous chunk freed rather than fresh pages, which cost more than the arithmetic on
# them). Each chunk costs the Python overhead of its own passes, so chunks are not made
# smaller than this. On the Rosenbrock Hessian (benchmarks/hessian.py), 256 KiB was about the
# fastest from n=100 to n=400: 128 KiB was as fast at n=200 but 15% slower at n=400, and a
# single chunk at n=200 was 30% slower.
_CHUNK_BYTES = 1 << 18


def _vectorized_jacobian(
    f: Callable[..., Any], call_args: list[Any], kwargs: dict, numbers: Sequence[int], xs: list[Any],
    own: set[int], recording: bool, warn: bool,
) -> tuple[list[tuple[Any, ...]], bool]:
    """The Jacobian of every output (see `jacobian`): per chunk of rows, one forward pass on a
    stack of copies of the inputs and one reverse pass per output."""
    references, single_out = _reference(f, call_args, kwargs)
    rows = max(ref.size for ref in references)
    pieces: list[list[list[Any]]] = [[[] for _ in xs] for _ in references]  # [output][input]: chunks
    outside = None
    for start, count in _chunks(rows, xs):
        stacks, outs = _stacked_call(f, call_args, kwargs, numbers, xs, own, recording, count, "jacobian")
        if len(outs) != len(references):
            raise ValueError(f"jacobian: the function returned {len(references)} output(s), then {len(outs)}")
        if outside is None:  # the same for every chunk: f is called on the same tensors
            outside = _trace(outs, own | {id(bottom(stack)) for stack in stacks}, stacks,
                             "jacobian" if warn else None, numbers)
        record = recording and outside
        todo = [k for k, ref in enumerate(references) if start < ref.size]
        for k in todo:
            ref, out = references[k], outs[k]
            seed = _basis(out, start, count, ref.size)
            # copy i contributes only its own output, so its cotangent is row start + i
            grads = engine_grad(out, stacks, seed, allow_higher_order=record, retain_graph=outside or k != todo[-1])
            for j, g in enumerate(grads):
                pieces[k][j].append(g[: min(count, ref.size - start)])
    result = []
    for ref, per_input in zip(references, pieces):
        if ref.size == 0:
            result.append(tuple(_zeros(ref.shape + x.shape, x) for x in xs))
        else:
            result.append(tuple(ops.reshape(_joined(chunks), ref.shape + x.shape) for chunks, x in zip(per_input, xs)))
    return result, single_out


def _vectorized_hessian(
    f: Callable[..., Any], call_args: list[Any], kwargs: dict, numbers: Sequence[int], xs: list[Any],
    own: set[int], recording: bool,
) -> tuple[tuple[Any, ...], ...]:
    """The Hessian blocks `H[i][j]` of a scalar function (see `hessian`): per chunk of the rows
    of x_i, one forward pass on a stack of copies of the inputs, the gradient of every copy
    at once (recorded), and one more reverse pass."""
    pieces: list[list[list[Any]]] = [[[] for _ in xs] for _ in xs]  # [row block i][column block j]: chunks
    outside = None
    for i, x in enumerate(xs):
        for start, count in _chunks(x.size, xs):
            stacks, (out,) = _stacked_call(f, call_args, kwargs, numbers, xs, own, recording, count, "hessian")
            if outside is None:  # the same for every chunk: f is called on the same tensors
                outside = _trace([out], own | {id(bottom(stack)) for stack in stacks}, stacks, "hessian", numbers)
            # copies do not interact, so the gradient of their sum is each copy's own gradient
            grads = engine_grad(out, stacks, None, allow_higher_order=True, retain_graph=True)
            # row start + k of H[i] is the derivative of copy k's gradient, entry start + k
            seed = _basis(grads[i], start, count, x.size)
            rows = engine_grad(grads[i], stacks, seed, allow_higher_order=recording and outside, retain_graph=outside)
            for j, r in enumerate(rows):
                pieces[i][j].append(r)

    def block(i: int, j: int) -> Any:
        shape = xs[i].shape + xs[j].shape
        return ops.reshape(_joined(pieces[i][j]), shape) if xs[i].size else _zeros(shape, xs[j])

    if not any(x.size for x in xs):  # no rows: f was never called, so check its output now
        with no_grad():
            _scalar(f(*call_args, **kwargs), "hessian")
    return tuple(tuple(block(i, j) for j in range(len(xs))) for i in range(len(xs)))


def _reference(f: Callable[..., Any], call_args: list[Any], kwargs: dict) -> tuple[list[Any], bool]:
    """`f` at the point itself, unrecorded: the shapes of its outputs (how many rows)."""
    with no_grad():
        return _outputs(f(*call_args, **kwargs), "jacobian")


def _chunks(rows: int, xs: list[Any]) -> list[tuple[int, int]]:
    """(start, count) of each chunk of `rows`, of equal sizes, each stacking about
    `_CHUNK_BYTES` of copies of the inputs at most."""
    if rows == 0:
        return []
    per_copy = max(1, sum(x.size * x.dtype.itemsize for x in xs))
    chunks = -(-rows // max(1, _CHUNK_BYTES // per_copy))  # ceil
    size = -(-rows // chunks)
    return [(start, min(size, rows - start)) for start in range(0, rows, size)]


def _stacked_call(
    f: Callable[..., Any], call_args: list[Any], kwargs: dict, numbers: Sequence[int], xs: list[Any],
    own: set[int], recording: bool, count: int, what: str,
) -> tuple[list[Any], list[Any]]:
    """`f` mapped (`md.vmap`) over `count` copies of the differentiated inputs: the stacks
    (to differentiate with respect to, copies on axis 0) and the outputs, batched the same way."""
    stacks = [_stack(x, count, connected=recording and id(bottom(x)) not in own) for x in xs]
    level = new_level(count)
    stacked_args = list(call_args)
    for n, stack in zip(numbers, stacks):
        stacked_args[n] = BatchedTensor(stack, level)
    token = levels.set(levels.get() + (level,))
    try:
        value = f(*stacked_args, **kwargs)
        if what == "hessian":
            outs = [_scalar(value, what)]
        else:
            outs, _ = _outputs(value, what)
        return stacks, [_unbatched(out, level) for out in outs]
    finally:
        levels.reset(token)


def _unbatched(out: Any, level: Any) -> Any:
    """An output of the mapped call as the stack of the copies' outputs (copies on axis 0)."""
    if type(out) is BatchedTensor and out.level is level:
        return out.value
    # the output does not depend on the copies: every copy has the same value
    return ops.broadcast_to(ops.expand_dims(out, axis=0), shape=(level.size, *out.shape))


def _stack(x: Any, count: int, connected: bool) -> Any:
    """`count` copies of `x` on a new leading axis (after the batch axes of any running
    `md.vmap`), as a tensor that allows grad: a function of `x` when the result must stay
    differentiable with respect to `x` (`connected`), else a fresh leaf, where the reverse
    passes stop instead of summing back down to `x`."""
    if connected:
        return ops.broadcast_to(ops.expand_dims(x, axis=0), shape=(count, *x.shape))
    physical, chain = bottom(x), levels_of(x)
    xp, k = physical.backend.xp, len(chain)
    shape = tuple(physical.shape[:k]) + (count,) + tuple(physical.shape[k:])
    leaf = make_tensor(xp.broadcast_to(xp.expand_dims(physical.data, k), shape), physical.backend, None)
    leaf._set_allow_grad(True, dtype_given=False)
    return rewrap(leaf, chain)


def _basis(like: Any, start: int, count: int, size: int) -> Tensor:
    """A cotangent for `like` (a stack of `count` copies, each of `size` elements): copy k
    gets the unit vector start + k."""
    xp, dtype = like.backend.xp, bottom(like).data.dtype
    rows = xp.eye(count, size, k=start, dtype=dtype)
    return make_tensor(xp.reshape(rows, like.shape), like.backend, None)


def _joined(chunks: list[Any]) -> Any:
    return chunks[0] if len(chunks) == 1 else ops.concatenate(chunks)


def _zeros(shape: tuple[int, ...], like: Any) -> Tensor:
    return make_tensor(like.backend.xp.zeros(shape, dtype=bottom(like).data.dtype), like.backend, None)
