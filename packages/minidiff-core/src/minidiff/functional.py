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

Jacobians are computed row by row: one forward pass, then one reverse pass per output
element over the retained graph (`hessian` = `jacobian` of `grad`: one forward and one
first-order pass, recorded, then one pass per row).
"""

from __future__ import annotations

import functools
import operator
from typing import Any, Callable, Sequence

from minidiff.engine import grad as engine_grad
from minidiff.graph import input_sources
from minidiff.graph import enable_grad, grad_enabled
from minidiff.optable import ops
from minidiff.tensor import Tensor, make_tensor

__all__ = ["grad", "hessian", "hvp", "jacobian", "jvp", "value_and_grad", "vjp"]

Argnums = int | Sequence[int]


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
    numbers, single = _argnums(argnums)

    @functools.wraps(f)
    def gradient(*args: Any, **kwargs: Any) -> Any:
        _, grads = _value_and_grad(f, numbers, args, kwargs, "grad")
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


def jacobian(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """The Jacobian of `f` with respect to argument(s) `argnums`, of shape
    `out.shape + x.shape`.

    `f` may return a Tensor or a tuple of Tensors; the result is then a tuple (one entry
    per output), and each entry is a tuple when `argnums` is.

    >>> import minidiff as md
    >>> md.jacobian(lambda x: x ** 2)([1.0, 2.0])
    minidiff.Tensor([[2., 0.],
                     [0., 4.]])
    """
    numbers, single = _argnums(argnums)

    @functools.wraps(f)
    def jac(*args: Any, **kwargs: Any) -> Any:
        recording = grad_enabled.get()
        with enable_grad():
            call_args, xs, own = _inputs(args, numbers, "jacobian", recording)
            outs, single_out = _outputs(f(*call_args, **kwargs), "jacobian")
            record = recording and _reaches_outside(outs, own)
            result = [_jacobian(out, xs, record) for out in outs]
        per_output = [js[0] if single else js for js in result]
        return per_output[0] if single_out else tuple(per_output)

    return jac


def hessian(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """The Hessian of a scalar `f`: `jacobian(grad(f, argnums), argnums)`, of shape
    `x.shape + x.shape`; for a tuple `argnums`, the nested tuple of blocks `H[i][j]`.

    >>> import minidiff as md
    >>> md.hessian(lambda x: x[0] ** 2 * x[1])([1.0, 3.0])
    minidiff.Tensor([[6., 2.],
                     [2., 0.]])
    """
    return jacobian(grad(f, argnums), argnums)


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
    outside = _reaches_outside(outs, own)

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
        outside = _reaches_outside(outs, own)
        record = recording and (outside or any(v.allow_grad for v in vs))
        results = []
        for out in outs:
            # u^T J, recorded so it can be differentiated with respect to u
            u = _fresh_leaf(make_tensor(out.backend.xp.zeros_like(out.data), out.backend, None))
            grads = engine_grad(out, xs, u, allow_higher_order=True, retain_graph=True)
            results.append(_contract_and_grad(grads, vs, u, record, outside))
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
        outside = _reaches_outside([out], own)
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
        outside = _reaches_outside([out], own)
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


def _reaches_outside(roots: Sequence[Tensor], own: set[int]) -> bool:
    """True when the graph of `roots` reaches a tensor that allows grad and is not one of
    the transform's own fresh leaves: then the result must stay differentiable."""
    stack: list = [r if r.node is None else r.node for r in roots if r.allow_grad]
    seen: set[int] = set()
    while stack:
        source = stack.pop()  # a node, or a leaf Tensor
        if id(source) in seen:
            continue
        seen.add(id(source))
        if isinstance(source, Tensor):
            if id(source) not in own:
                return True
            continue
        if source.inputs is None:
            return True  # a freed graph: keep everything, and let backward report it
        stack.extend(input_sources(source))
    return False


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
