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
from typing import Any, Callable

from minidiff.batching.transforms import batched_input, zeros_like, leaf_like
from minidiff.batching.transforms import grad as engine_grad  # the engine's, batched under md.vmap
from minidiff.batching.tensor import VmapError, bottom, levels
from minidiff.graph import enable_grad, grad_enabled
from minidiff.optable import ops
from minidiff._tensor import Tensor, make_tensor
from minidiff.transform_args import (
    Argnums,
    IndependentOutputWarning,
    _argnums,
    _inputs,
    _like,
    _outputs,
    _pair,
    _scalar,
    _trace,
    _value,
)
from minidiff.vectorized import _vectorized_hessian, _vectorized_jacobian

__all__ = ["IndependentOutputWarning", "grad", "hessian", "hvp", "jacobian", "jvp", "value_and_grad", "vjp"]


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


def jacobian(f: Callable[..., Any], argnums: Argnums = 0, *, vectorized: bool = True) -> Callable[..., Any]:
    """The Jacobian of `f` with respect to argument(s) `argnums`, of shape
    `out.shape + x.shape`.

    `f` may return a Tensor or a tuple of Tensors; the result is then a tuple (one entry
    per output), and each entry is a tuple when `argnums` is.

    >>> import minidiff as md
    >>> md.jacobian(lambda x: x ** 2)([1.0, 2.0])
    minidiff.Tensor([[2., 0.],
                     [0., 4.]])

    The rows are computed together: `f` runs once, under `md.vmap`, on `m` stacked copies of
    the input (`m` = the number of rows), and one reverse pass pulls the identity back
    through copy `i` to get row `i` (large Jacobians in a few chunks of rows, to bound the
    memory of the stacked pass). Any function works: `md.vmap` batches its ops. With
    `vectorized=False` each row takes its own reverse pass instead (one forward pass, `m`
    reverse passes), which needs less memory. The arguments not in `argnums` are passed as
    they are, not stacked.

    >>> md.jacobian(lambda x: md.sin(x[1:]) * x[:-1])([0.0, 1.0, 2.0]).numpy().round(3)
    array([[ 0.841,  0.   ,  0.   ],
           [ 0.   ,  0.909, -0.416]])
    """
    return _jacobian_function(f, argnums, vectorized, warn=True)


def _jacobian_function(f: Callable[..., Any], argnums: Argnums, vectorized: bool, warn: bool) -> Callable[..., Any]:
    numbers, single = _argnums(argnums)

    @functools.wraps(f)
    def jac(*args: Any, **kwargs: Any) -> Any:
        recording = grad_enabled.get()
        with enable_grad():
            call_args, xs, own = _inputs(args, numbers, "jacobian", recording)
            try:
                result, single_out = _vectorized_jacobian(f, call_args, kwargs, numbers, xs, own, recording, warn) \
                    if vectorized else (None, False)
            except VmapError:  # f reads values as Python numbers, so it cannot run on a batch: row by row
                result = None
            if result is None:
                outs, single_out = _outputs(f(*call_args, **kwargs), "jacobian")
                outside = _trace(outs, own, xs, "jacobian" if warn else None, numbers)
                record = recording and outside
                result = [_jacobian(out, xs, record) for out in outs]
        per_output = [js[0] if single else js for js in result]
        return per_output[0] if single_out else tuple(per_output)

    return jac


def hessian(f: Callable[..., Any], argnums: Argnums = 0, *, vectorized: bool = True) -> Callable[..., Any]:
    """The Hessian of a scalar `f`: `jacobian(grad(f, argnums), argnums)`, of shape
    `x.shape + x.shape`; for a tuple `argnums`, the nested tuple of blocks `H[i][j]`.

    >>> import minidiff as md
    >>> md.hessian(lambda x: x[0] ** 2 * x[1])([1.0, 3.0])
    minidiff.Tensor([[6., 2.],
                     [2., 0.]])

    Every row is computed at once: `f` runs under `md.vmap` on `m` stacked copies of the
    input, the gradient of the sum of their values is, copy by copy, each copy's own
    gradient, and pulling the identity back through it gives row `i` of the Hessian from
    copy `i`: one forward and two reverse passes (in a few chunks of rows for a large
    Hessian). `vectorized=False` takes one reverse pass per row over the recorded gradient
    instead, with less memory.

    >>> def rosenbrock(x):
    ...     return md.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    >>> md.hessian(rosenbrock)([1.0, 1.0, 1.0])
    minidiff.Tensor([[ 802., -400.,    0.],
                     [-400., 1002., -400.],
                     [   0., -400.,  200.]])
    """
    # f's own dependence on x is checked by the inner gradient: the gradient of a linear f is
    # constant, and its Hessian, zero, is no sign of a function that left the graph
    rows = _jacobian_function(_gradient(f, argnums, "hessian"), argnums, vectorized=False, warn=False)
    if not vectorized:
        return rows
    numbers, single = _argnums(argnums)

    @functools.wraps(f)
    def hess(*args: Any, **kwargs: Any) -> Any:
        recording = grad_enabled.get()
        try:
            with enable_grad():
                call_args, xs, own = _inputs(args, numbers, "hessian", recording)
                blocks = _vectorized_hessian(f, call_args, kwargs, numbers, xs, own, recording)
        except VmapError:  # f reads values as Python numbers, so it cannot run on a batch: row by row
            return rows(*args, **kwargs)
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
            u = leaf_like(zeros_like(batched_input(out) if levels.get() else out))
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
        return tuple(make_tensor(xp.zeros(out.shape + x.shape, dtype=bottom(x).data.dtype), x.backend, None) for x in xs)
    basis = xp.eye(out.size, dtype=bottom(out).data.dtype)
    rows = [
        engine_grad(
            out, xs, make_tensor(xp.reshape(basis[i], out.shape), out.backend, None),
            allow_higher_order=record, retain_graph=True,
        )
        for i in range(out.size)
    ]
    return tuple(ops.reshape(ops.stack([row[k] for row in rows]), out.shape + x.shape) for k, x in enumerate(xs))


def _contract_and_grad(
    grads: tuple[Tensor, ...], vs: list[Tensor], wrt: Tensor | list[Tensor], record: bool, retain: bool
) -> Any:
    """The gradient of `sum_i <grads[i], vs[i]>` with respect to `wrt` (one tensor or a list)."""
    targets = wrt if isinstance(wrt, list) else [wrt]
    total = None
    for g, v in zip(grads, vs):
        if g.allow_grad:
            # complex: the real inner product Re(sum(conj(v) g)), whose gradient is J v
            term = ops.sum(g * v) if g.dtype.kind != "c" else ops.sum(ops.real(g * ops.conj(v)))
            total = term if total is None else total + term
    if total is None:  # the gradients do not depend on `wrt`: the derivative is zero
        result = tuple(zeros_like(t) for t in targets)
    else:
        result = engine_grad(total, targets, allow_higher_order=record, retain_graph=retain)
    return result if isinstance(wrt, list) else result[0]
