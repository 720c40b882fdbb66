"""Functional transforms: `grad`, `value_and_grad`, `jacobian`, `hessian`, `vjp`, `jvp`, `hvp`.

Each takes a function and returns a function (or, for `vjp`, `jvp` and `hvp`, evaluates
at a point), as in JAX and HIPS autograd:

>>> import minidiff as md
>>> f = lambda x: md.sin(x) * x
>>> md.grad(f)(1.0).item()              # cos(1) + sin(1)
1.3817732906760363
>>> md.grad(md.grad(md.grad(f)))(1.0).item()   # the third derivative: -3 sin(1) - cos(1)
-3.064715260291829

They run on the same engine as `Tensor.backward` (`minidiff.engine.grad`), which never
touches `.grad`: a transform leaves the `.grad` of every tensor the caller holds alone.

Arguments may be Tensors, NumPy arrays, (nested) lists or Python numbers. An argument
that is differentiated becomes a fresh leaf, except a Tensor that already allows grad
while grad mode is on: the transform then differentiates with respect to an identity of
that tensor (`positive(x)`), which keeps the result connected to it. That is what makes
transforms compose: in `md.grad(md.grad(f))(x)` the inner `grad` sees the outer one's
leaf, records its own backward pass (`allow_higher_order=True`), and the outer one
differentiates that. A transform records its backward pass exactly when grad mode is on
and its function's output depends on a tensor that allows grad other than its own fresh
leaves (a tensor passed in, or one the function closes over); otherwise its results are
plain values and its graph is freed at once, so calling `md.grad(f)` in a loop does not
grow a graph.

Only minidiff ops are recorded: `float(t)`, `t.item()`, `math.*` functions and NumPy on
`t.numpy()` give plain values that leave the graph, so nothing computed from them depends on
the input. A transform whose output reaches none of the inputs it differentiates with
respect to says so with an `IndependentOutputWarning` (worded as HIPS autograd's warning)
rather than silently returning zeros.

Jacobians are computed row by row: one forward pass, then one reverse pass per output
element over the retained graph (`hessian` = `jacobian` of `grad`: one forward and one
first-order pass, recorded, then one pass per row). With `vectorized=True`, for a function
written to broadcast over a leading batch axis, `jacobian` and `hessian` instead evaluate it
once on a stack of copies of the input and pull every row back in a single pass (one forward
and one reverse pass for a Jacobian, one forward and two reverse passes for a Hessian).
"""

from __future__ import annotations

import functools
import operator
import sys
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from minidiff.engine import grad as engine_grad
from minidiff.graph import input_sources
from minidiff.graph import enable_grad, grad_enabled, no_grad
from minidiff.optable import ops
from minidiff._tensor import Tensor, make_tensor

__all__ = ["IndependentOutputWarning", "grad", "hessian", "hvp", "jacobian", "jvp", "value_and_grad", "vjp"]

Argnums = int | Sequence[int]

# With vectorized=True, rows are computed in chunks whose stacked copies of the inputs take at
# most about this many bytes: the memory of the stacked passes grows with rows x input size,
# and this bounds it (each intermediate array of a chunk is about this size, so a chunk's
# arrays reuse the memory the previous chunk freed rather than fresh pages, which cost more
# than the arithmetic on them). Each chunk costs the Python overhead of its own passes, so
# chunks are not made smaller than this. On the Rosenbrock Hessian (benchmarks/hessian.py),
# 256 KiB was about the fastest from n=100 to n=400: 128 KiB was as fast at n=200 but 15%
# slower at n=400, and a single chunk at n=200 was 30% slower.
_CHUNK_BYTES = 1 << 18


# ---------------------------------------------------------------------------- the transforms


def grad(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """The gradient of a scalar function `f` with respect to its argument(s) `argnums`.

    `argnums` is an int (the result is one Tensor shaped like that argument) or a tuple
    of ints (a tuple of gradients). `f` must return a single element (shape `()` or any
    shape of size 1); for other outputs use `md.jacobian` or `md.vjp`.

    >>> import minidiff as md
    >>> f = lambda x, y: (x * y ** 2).sum()
    >>> md.grad(f)([1.0, 2.0], 3.0)
    minidiff.Tensor([9., 9.])
    >>> [g.item() for g in md.grad(f, argnums=(0, 1))(1.0, 3.0)]
    [9.0, 6.0]
    """
    return _gradient(f, argnums, "grad")


def _gradient(f: Callable[..., Any], argnums: Argnums, what: str) -> Callable[..., Any]:
    numbers, single = _argnums(argnums)

    @functools.wraps(f)
    def gradient(*args: Any, **kwargs: Any) -> Any:
        _, grads = _value_and_grad(f, numbers, args, kwargs, what)
        return grads[0] if single else grads

    return gradient


def value_and_grad(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., tuple[Tensor, Any]]:
    """Like `grad`, but the function returns `(f(*args), gradient)` from one forward pass.

    >>> import minidiff as md
    >>> value, g = md.value_and_grad(lambda x: (x ** 2).sum())([1.0, 2.0])
    >>> value.item(), g
    (5.0, minidiff.Tensor([2., 4.]))
    """
    numbers, single = _argnums(argnums)

    @functools.wraps(f)
    def value_and_gradient(*args: Any, **kwargs: Any) -> tuple[Tensor, Any]:
        value, grads = _value_and_grad(f, numbers, args, kwargs, "value_and_grad")
        return value, grads[0] if single else grads

    return value_and_gradient


def jacobian(f: Callable[..., Any], argnums: Argnums = 0, *, vectorized: bool = False) -> Callable[..., Any]:
    """The Jacobian of `f` with respect to argument(s) `argnums`, of shape
    `out.shape + x.shape`.

    `f` may return a Tensor or a tuple of Tensors; the result is then a tuple (one entry
    per output), and each entry is a tuple when `argnums` is.

    >>> import minidiff as md
    >>> md.jacobian(lambda x: x ** 2)([1.0, 2.0])
    minidiff.Tensor([[2., 0.],
                     [0., 4.]])

    By default each row of the Jacobian takes one reverse pass. `vectorized=True` computes
    all of them in one, for a function that treats a new leading axis of its differentiated
    argument(s) as a batch, the way a function given to `np.vectorize` or `jax.vmap` does:
    written with `x[..., i]`, `axis=-1` and `@`, so that `f` of a stack of inputs is the
    stack of their outputs. The transform then calls `f` once on `m` stacked copies of the
    input (`m` = the number of rows) and pulls the identity back through copy `i` to get
    row `i`. Large Jacobians are computed in a few chunks of rows, to bound the memory of
    the stacked pass.

    >>> rows = md.jacobian(lambda x: md.sin(x[..., 1:]) * x[..., :-1], vectorized=True)
    >>> rows([0.0, 1.0, 2.0]).numpy().round(3)
    array([[ 0.841,  0.   ,  0.   ],
           [ 0.   ,  0.909, -0.416]])

    Only use it for such a function: one that reduces or indexes the leading axis, such
    as `md.sum(x)` without `axis` or `x[1:]` in place of `x[..., 1:]`, mixes the copies and
    would give a wrong Jacobian. The transform checks what it can: `f` on the stack must
    return the stacked shape `(m,) + f(x).shape` (the stack's length differs from every
    axis of the input and output, so a reduction over the wrong axis cannot match it), and
    the copies' values must equal `f(x)` (one extra forward pass, unrecorded, checked
    against the first chunk); else it raises ValueError. A function that mixes the copies
    but returns the same values on identical copies (a mean over the leading axis, say)
    cannot be detected that way. Checking a row against an ordinary reverse pass would
    catch that too, but would cost about as much as the vectorized passes on small inputs.
    The arguments not in `argnums` are passed as they are, not stacked.
    """
    return _jacobian_function(f, argnums, vectorized, warn=True)


def _jacobian_function(f: Callable[..., Any], argnums: Argnums, vectorized: bool, warn: bool) -> Callable[..., Any]:
    numbers, single = _argnums(argnums)

    @functools.wraps(f)
    def jac(*args: Any, **kwargs: Any) -> Any:
        recording = grad_enabled.get()
        with enable_grad():
            call_args, xs, own = _inputs(args, numbers, "jacobian", recording)
            if vectorized:
                result, single_out = _vectorized_jacobian(f, call_args, kwargs, numbers, xs, own, recording, warn)
            else:
                outs, single_out = _outputs(f(*call_args, **kwargs), "jacobian")
                outside = _trace(outs, own, xs, "jacobian" if warn else None, numbers)
                record = recording and outside
                result = [_jacobian(out, xs, record) for out in outs]
        per_output = [js[0] if single else js for js in result]
        return per_output[0] if single_out else tuple(per_output)

    return jac


def hessian(f: Callable[..., Any], argnums: Argnums = 0, *, vectorized: bool = False) -> Callable[..., Any]:
    """The Hessian of a scalar `f`: `jacobian(grad(f, argnums), argnums)`, of shape
    `x.shape + x.shape`; for a tuple `argnums`, the nested tuple of blocks `H[i][j]`.

    >>> import minidiff as md
    >>> md.hessian(lambda x: x[0] ** 2 * x[1])([1.0, 3.0])
    minidiff.Tensor([[6., 2.],
                     [2., 0.]])

    By default each row takes one reverse pass over the recorded gradient.
    `vectorized=True` computes every row at once (one forward and two reverse passes, in a
    few chunks of rows for a large Hessian), for a function that treats a new leading axis
    of its differentiated argument(s) as a batch, as in `jacobian`: `f` of a stack of `m`
    inputs must return the `m` values, shape `(m,)`. The gradient of the sum of those values
    is, copy by copy, each copy's own gradient, and pulling the identity back through it
    gives row `i` of the Hessian from copy `i`. The Rosenbrock function, written with
    `...` and `axis=-1`:

    >>> def rosenbrock(x):
    ...     return md.sum(100 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1 - x[..., :-1]) ** 2, axis=-1)
    >>> md.hessian(rosenbrock, vectorized=True)([1.0, 1.0, 1.0])
    minidiff.Tensor([[ 802., -400.,    0.],
                     [-400., 1002., -400.],
                     [   0., -400.,  200.]])

    Only use it for such a function: written with `x[1:]` or `md.sum(x)` without `axis`,
    `f` would mix the copies and give a wrong Hessian. The checks are those of `jacobian`:
    a ValueError when `f` on the stack does not return shape `(m,)`, or when a copy's value
    differs from `f(x)`.
    """
    if not vectorized:
        # f's own dependence on x is checked by the inner gradient: the gradient of a linear
        # f is constant, and its Hessian, zero, is no sign of a function that left the graph
        return _jacobian_function(_gradient(f, argnums, "hessian"), argnums, vectorized=False, warn=False)
    numbers, single = _argnums(argnums)

    @functools.wraps(f)
    def hess(*args: Any, **kwargs: Any) -> Any:
        recording = grad_enabled.get()
        with enable_grad():
            call_args, xs, own = _inputs(args, numbers, "hessian", recording)
            blocks = _vectorized_hessian(f, call_args, kwargs, numbers, xs, own, recording)
        return blocks[0][0] if single else blocks

    return hess


def vjp(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[[Any], tuple[Tensor, ...]]]:
    """`f(*primals)` and a function mapping a cotangent `u` of the output to `u^T J`, one
    Tensor per primal (always a tuple). It can be called many times: the forward pass
    runs once. For a tuple output, pass a tuple of cotangents.

    >>> import minidiff as md
    >>> out, vjp_fn = md.vjp(lambda x: x ** 2, [1.0, 2.0])
    >>> vjp_fn([1.0, 10.0])
    (minidiff.Tensor([ 2., 40.]),)
    """
    recording = grad_enabled.get()
    with enable_grad():
        call_args, xs, own = _inputs(primals, range(len(primals)), "vjp", recording)
        value = f(*call_args)
        outs, single_out = _outputs(value, "vjp")
    outside = _trace(outs, own, xs, "vjp", range(len(primals)))

    def vjp_fn(cotangent: Any) -> tuple[Tensor, ...]:
        cotangents = (cotangent,) if single_out else tuple(cotangent)
        if len(cotangents) != len(outs):
            raise ValueError(f"vjp: the function has {len(outs)} outputs but {len(cotangents)} cotangents were given")
        seeds = [_like(ct, out, "vjp", "cotangent") for ct, out in zip(cotangents, outs)]
        record = grad_enabled.get() and (outside or any(s.allow_grad for s in seeds))
        total: tuple[Tensor, ...] | None = None
        for out, seed in zip(outs, seeds):
            grads = engine_grad(out, xs, seed, allow_higher_order=record, retain_graph=True)
            total = grads if total is None else tuple(a + b for a, b in zip(total, grads))
        return total if total is not None else ()

    return _value(value, outs, single_out, recording and outside), vjp_fn


def jvp(f: Callable[..., Any], primals: Any, tangents: Any) -> tuple[Any, Any]:
    """`(f(*primals), J v)`: the output and its directional derivative along `tangents`.

    `primals` and `tangents` are tuples of the same length and shapes; a single
    non-tuple primal and tangent are accepted too (a list is one primal, not several).

    minidiff computes it with the double-VJP trick (Townsend 2017, "A new trick for
    calculating Jacobian vector products"): `g(u) = u^T J` is linear in a dummy cotangent
    `u`, so the VJP of `g` at `v` is `J v`. That reuses the reverse-mode rules every op
    already has, written in minidiff ops, so it works for every op (custom ones
    included) and at every order, at the cost of two reverse passes instead of one
    forward-mode pass; true forward mode would need a second rule (a JVP) for every op.

    >>> import minidiff as md
    >>> out, tangent = md.jvp(lambda x: x ** 3, (2.0,), (1.0,))
    >>> out.item(), tangent.item()
    (8.0, 12.0)
    """
    primals, tangents, _ = _pair(primals, tangents, "jvp")
    recording = grad_enabled.get()
    with enable_grad():
        call_args, xs, own = _inputs(primals, range(len(primals)), "jvp", recording)
        vs = [_like(v, x, "jvp", "tangent") for v, x in zip(tangents, xs)]
        value = f(*call_args)
        outs, single_out = _outputs(value, "jvp")
        outside = _trace(outs, own, xs, "jvp", range(len(primals)))
        record = recording and (outside or any(v.allow_grad for v in vs))
        results = []
        for k, out in enumerate(outs):
            # u^T J, recorded so it can be differentiated with respect to u
            u = _fresh_leaf(make_tensor(out.backend.xp.zeros_like(out.data), out.backend, None))
            grads = engine_grad(out, xs, u, allow_higher_order=True, retain_graph=True)
            # the pass through u^T J also runs through f's graph (rules read its values):
            # keep that graph for the outputs still to come, which may share parts of it
            results.append(_contract_and_grad(grads, vs, u, record, outside or k < len(outs) - 1))
    tangent_out = results[0] if single_out else tuple(results)
    return _value(value, outs, single_out, recording and outside), tangent_out


def hvp(f: Callable[..., Any], primals: Any, tangents: Any) -> tuple[Tensor, Any]:
    """`(f(*primals), H v)` for a scalar `f`: the Hessian-vector product along `tangents`
    without forming the Hessian (reverse over reverse: the gradient of `<grad f, v>`).

    `primals` and `tangents` are tuples of the same length, or a single primal and a
    single tangent (then `H v` is a single Tensor, else a tuple).

    >>> import minidiff as md
    >>> value, hv = md.hvp(lambda x: (x ** 3).sum(), [1.0, 2.0], [1.0, 1.0])
    >>> hv
    minidiff.Tensor([ 6., 12.])
    """
    primals, tangents, single = _pair(primals, tangents, "hvp")
    recording = grad_enabled.get()
    with enable_grad():
        call_args, xs, own = _inputs(primals, range(len(primals)), "hvp", recording)
        vs = [_like(v, x, "hvp", "tangent") for v, x in zip(tangents, xs)]
        out = _scalar(f(*call_args), "hvp")
        outside = _trace([out], own, xs, "hvp", range(len(primals)))
        record = recording and (outside or any(v.allow_grad for v in vs))
        grads = engine_grad(out, xs, allow_higher_order=True, retain_graph=True)
        products = _contract_and_grad(grads, vs, xs, record, outside)
    return (out if recording and outside else out.detach()), products[0] if single else products


# ---------------------------------------------------------------------------- shared steps


def _value_and_grad(
    f: Callable[..., Any], numbers: tuple[int, ...], args: tuple, kwargs: dict, what: str
) -> tuple[Tensor, tuple[Tensor, ...]]:
    recording = grad_enabled.get()
    with enable_grad():
        call_args, xs, own = _inputs(args, numbers, what, recording)
        out = _scalar(f(*call_args, **kwargs), what)
        # A graph that reaches tensors from outside is kept (it is theirs too), and
        # recorded when grad mode is on so that an enclosing transform can differentiate.
        outside = _trace([out], own, xs, what, numbers)
        record = recording and outside
        grads = engine_grad(out, xs, allow_higher_order=record, retain_graph=outside)
    return (out if record else out.detach()), grads


def _jacobian(out: Tensor, xs: list[Tensor], record: bool) -> tuple[Tensor, ...]:
    """Rows of d out / d x for every x: one reverse pass per element of `out`."""
    xp = out.backend.xp
    if out.size == 0 or not out.allow_grad:
        return tuple(make_tensor(xp.zeros(out.shape + x.shape, dtype=x.data.dtype), x.backend, None) for x in xs)
    basis = xp.eye(out.size, dtype=out.data.dtype)
    rows = [
        engine_grad(
            out, xs, make_tensor(xp.reshape(basis[i], out.shape), out.backend, None),
            allow_higher_order=record, retain_graph=True,
        )
        for i in range(out.size)
    ]
    return tuple(ops.reshape(ops.stack([row[k] for row in rows]), out.shape + x.shape) for k, x in enumerate(xs))


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


def _contract_and_grad(
    grads: tuple[Tensor, ...], vs: list[Tensor], wrt: Tensor | list[Tensor], record: bool, retain: bool
) -> Any:
    """The gradient of `sum_i <grads[i], vs[i]>` with respect to `wrt` (one tensor or a list)."""
    targets = wrt if isinstance(wrt, list) else [wrt]
    total = None
    for g, v in zip(grads, vs):
        if g.allow_grad:
            term = ops.sum(g * v)
            total = term if total is None else total + term
    if total is None:  # the gradients do not depend on `wrt`: the derivative is zero
        result = tuple(make_tensor(t.backend.xp.zeros_like(t.data), t.backend, None) for t in targets)
    else:
        result = engine_grad(total, targets, allow_higher_order=record, retain_graph=retain)
    return result if isinstance(wrt, list) else result[0]


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
    for n in numbers:
        if not -len(args) <= n < len(args):
            raise ValueError(
                f"{what}: argnums includes {n}, but the function was called with {len(args)} positional argument(s)"
            )
        a = args[n]
        if isinstance(a, Tensor) and a.allow_grad and recording:
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
        if a.backend.is_floating(a.data.dtype):
            return _fresh_leaf(a.detach())
        return Tensor(a, allow_grad=True)
    try:
        return Tensor(a, allow_grad=True)
    except TypeError as exc:
        raise TypeError(f"{what}: cannot differentiate with respect to argument {position}: {exc}") from None


def _fresh_leaf(t: Tensor) -> Tensor:
    t._set_allow_grad(True, dtype_given=False)
    return t


def _trace(roots: Sequence[Tensor], own: set[int], xs: Sequence[Tensor], what: str | None, numbers: Any) -> bool:
    """Walk the graph of `roots` once. Returns True when it reaches a tensor that allows grad
    and is not one of the transform's own fresh leaves: then the result must stay
    differentiable. When it reaches none of `xs` (the tensors differentiated with respect
    to), the output does not depend on them: with `what` (the transform's name) that is
    reported by an `IndependentOutputWarning`, as HIPS autograd does."""
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
    """The `stacklevel` of the first frame outside this module: the user's call."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        level, frame = level + 1, frame.f_back
    return level


def _outputs(value: Any, what: str) -> tuple[list[Tensor], bool]:
    """The function's output(s) as Tensors, and whether it returned a single one."""
    single = not isinstance(value, (tuple, list))
    items = [value] if single else list(value)
    outs = []
    for item in items:
        out = item if isinstance(item, Tensor) else _constant(item, what)
        if out.dtype.kind != "f":
            raise TypeError(
                f"{what}: the function returned a tensor of dtype {out.dtype}; only floating-point outputs have derivatives"
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
    if out.size != 1:
        raise ValueError(
            f"{what}: the function returned a tensor of shape {out.shape}, but {what} needs a scalar output; "
            f"use md.jacobian(f) for the full Jacobian, or md.vjp(f, *args) to contract the output with a "
            f"cotangent (or reduce it to a scalar, e.g. with .sum())"
        )
    return out


def _like(value: Any, target: Tensor, what: str, kind: str) -> Tensor:
    """A cotangent or tangent for `target`: a Tensor of its shape, dtype and backend."""
    if not isinstance(value, Tensor):
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
