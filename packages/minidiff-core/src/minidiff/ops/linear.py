"""Linear algebra op family: matmul, dot, tensordot, einsum, trace, outer.

Each of these is linear in every operand, so each gradient is again a contraction of the
cotangent `g` with the other operands (Giles 2008, "An extended collection of matrix
derivative results"): the rules call the same family of minidiff ops and differentiate again.
Broadcast batch axes are summed back to each operand's shape by the engine, not here.
"""

from __future__ import annotations

import math
import operator
import string
from typing import Any

import minidiff as md
from minidiff.batching.rules import batch_size, elementwise, logical_ndim, pad_to, shift_axis
from minidiff.extend import HOLOMORPHIC, Op, hookimpl, sample
from minidiff._tensor import Tensor


def _ndim(x: Any) -> int:
    """The rank of an operand; weak Python scalars are 0-d."""
    return x.ndim if isinstance(x, Tensor) else 0


def _argsort(values: list[int]) -> list[int]:
    return sorted(range(len(values)), key=values.__getitem__)


def _transposed(x: Tensor, held: list[int]) -> Tensor:
    """`x`, whose axis j holds axis `held[j]` of the wanted result, put in the result's order."""
    perm = _argsort(held)
    return x if perm == list(range(len(perm))) else md.transpose(x, perm)


# ---------------------------------------------------------------------------- matmul


def _matmul(xp: Any, a: Any, b: Any) -> Any:
    if a.ndim >= 2 and b.ndim >= 2 and a.shape[-1] == 1 and b.shape[-2] == 1:
        # outer products (per-example weight gradients under md.vmap: (B, n, 1) @ (B, 1, m)):
        # the same products, without a sum, and NumPy's stacked matmul is ~2x slower at them
        return xp.multiply(a, b)
    try:
        return xp.matmul(a, b)
    except ValueError:
        _explain_matmul_mismatch(a, b)
        raise


def _explain_matmul_mismatch(a: Any, b: Any) -> None:
    """Raise a ValueError saying which axes disagree (NumPy's gufunc message names
    signatures, not sizes). Checked only after a failure: the checks cost ~2 us a call."""
    shape_a, shape_b = tuple(getattr(a, "shape", ())), tuple(getattr(b, "shape", ()))
    if not shape_a or not shape_b:
        raise ValueError("0-d operands are not allowed; use multiply to scale by a scalar")
    k_b, where_b = (shape_b[-2], "second-to-last") if len(shape_b) > 1 else (shape_b[0], "only")
    if shape_a[-1] != k_b:
        raise ValueError(
            f"the last axis of the first operand has size {shape_a[-1]} but the {where_b} axis of the second "
            f"has size {k_b}; they must match"
        )
    batch_a, batch_b = shape_a[:-2], shape_b[:-2]
    if any(n != m and 1 not in (n, m) for n, m in zip(reversed(batch_a), reversed(batch_b))):
        raise ValueError(f"the batch axes {batch_a} and {batch_b} (all but the last two) do not broadcast")


def _as_matrices(g: Tensor, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """`g`, `a` and `b` as stacks of matrices, as NumPy's matmul sees them: a 1-D `a` is a
    row, a 1-D `b` a column, and `g` gets back the axis each of them lost in the product."""
    shape = g.shape
    if b.ndim == 1:
        shape = shape + (1,)
        b = md.reshape(b, b.shape + (1,))
    if a.ndim == 1:
        shape = shape[:-1] + (1,) + shape[-1:]
        a = md.reshape(a, (1,) + a.shape)
    return (g if shape == g.shape else md.reshape(g, shape)), a, b


def _matmul_vjp_a(g: Tensor, ans: Tensor, a: Tensor, b: Tensor) -> Tensor:
    g, _, b2 = _as_matrices(g, a, b)
    ga = md.matmul(g, md.swapaxes(b2, -1, -2))  # (..., n, k); a row's n is 1
    return md.reshape(ga, ga.shape[:-2] + ga.shape[-1:]) if a.ndim == 1 else ga


def _matmul_vjp_b(g: Tensor, ans: Tensor, a: Tensor, b: Tensor) -> Tensor:
    g, a2, _ = _as_matrices(g, a, b)
    gb = md.matmul(md.swapaxes(a2, -1, -2), g)  # (..., k, m); a column's m is 1
    return md.reshape(gb, gb.shape[:-1]) if b.ndim == 1 else gb


# ---------------------------------------------------------------------------- tensordot and dot


def _axis_list(axes: Any) -> list[int]:
    try:
        return [operator.index(axis) for axis in axes]
    except TypeError:
        return [operator.index(axes)]


def _tensordot_axes(axes: Any, ndim_a: int, ndim_b: int) -> tuple[list[int], list[int]]:
    """`tensordot`'s `axes` as two lists of non-negative axes, of `a` and of `b`."""
    if isinstance(axes, (tuple, list)):
        axes_a, axes_b = (_axis_list(side) for side in axes)
        return [i % ndim_a if ndim_a else i for i in axes_a], [i % ndim_b if ndim_b else i for i in axes_b]
    n = max(operator.index(axes), 0)  # NumPy treats a negative count as 0
    return list(range(ndim_a - n, ndim_a)), list(range(n))


def _tensordot_vjp(argnum: int, g: Tensor, a: Any, b: Any, axes: Any) -> Tensor:
    """The gradient of `tensordot(a, b, axes)` for operand `argnum`: contract `g` with the
    other operand over that operand's free axes, then order the axes as the operand's (as in
    HIPS autograd's `tensordot_adjoint_0/1`)."""
    ndim_a, ndim_b = _ndim(a), _ndim(b)
    axes_a, axes_b = _tensordot_axes(axes, ndim_a, ndim_b)
    free_a = [i for i in range(ndim_a) if i not in axes_a]
    free_b = [i for i in range(ndim_b) if i not in axes_b]
    if argnum == 0:
        # g's trailing axes are b's free ones; what is left of b are the contracted axes, in b's order.
        out = md.tensordot(g, b, axes=(list(range(len(free_a), g.ndim)), free_b))
        return _transposed(out, free_a + [i for _, i in sorted(zip(axes_b, axes_a))])
    out = md.tensordot(a, g, axes=(free_a, list(range(len(free_a)))))
    return _transposed(out, [i for _, i in sorted(zip(axes_a, axes_b))] + free_b)


def _dot_axes(a: Any, b: Any) -> tuple[list[int], list[int]]:
    """NumPy's dot as a tensordot: a's last axis with b's second-to-last (its only one for
    1-D), and an outer product (a multiply) when either is a scalar."""
    if _ndim(a) == 0 or _ndim(b) == 0:
        return [], []
    return [_ndim(a) - 1], [max(_ndim(b) - 2, 0)]


# ---------------------------------------------------------------------------- einsum


def _einsum_parse(subscripts: Any, *operands: Any, **kwargs: Any) -> tuple[tuple, dict]:
    if kwargs:
        raise TypeError(f"einsum() takes only a subscripts string and operands, got keyword(s) {sorted(kwargs)}")
    if isinstance(subscripts, str):
        return operands, {"subscripts": subscripts}
    # NumPy's interleaved sublist form: einsum(a, [0, 1], b, [1, 2], [0, 2])
    return _einsum_from_sublists((subscripts, *operands))


def _sublist_letters(sublist: Any, position: int) -> str:
    """One sublist of einsum's interleaved form as subscripts: 0-25 are "A"-"Z" and 26-51
    "a"-"z", as in NumPy, so that the implicit output's alphabetical order is the order of
    the integers; `...` is an Ellipsis."""
    if isinstance(sublist, (str, bytes)) or not hasattr(sublist, "__iter__"):
        raise TypeError(
            f"einsum() takes a subscripts string such as 'ij,jk->ik' or operands interleaved with lists of "
            f"axis labels (einsum(a, [0, 1], b, [1, 2])); argument {position} is {type(sublist).__name__!r}, not a list"
        )
    letters = []
    for label in sublist:
        if label is Ellipsis:
            letters.append("...")
        elif isinstance(label, int) and not isinstance(label, bool) and 0 <= label < 52:
            letters.append(string.ascii_uppercase[label] if label < 26 else string.ascii_lowercase[label - 26])
        else:
            raise ValueError(f"einsum(): a sublist label must be an integer in [0, 52) or Ellipsis, got {label!r}")
    return "".join(letters)


def _einsum_from_sublists(args: tuple) -> tuple[tuple, dict]:
    operands, specs = args[0:-1:2] if len(args) % 2 else args[0::2], []
    for i in range(len(operands)):
        specs.append(_sublist_letters(args[2 * i + 1], 2 * i + 1))
    subscripts = ",".join(specs)
    if len(args) % 2:
        subscripts += "->" + _sublist_letters(args[-1], len(args) - 1)
    return tuple(operands), {"subscripts": subscripts}


def _einsum_specs(subscripts: str, ndims: list[int]) -> tuple[list[str], str]:
    """Each operand's subscripts and the output's, explicit: "..." spelled out in unused
    letters (right-aligned, so operands broadcast as in NumPy) and the implicit output
    (broadcast axes, then the letters used once, in alphabetical order) written out."""
    subscripts = subscripts.replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    specs = inputs.split(",")
    if len(specs) != len(ndims):
        raise ValueError(f"einsum: subscripts {subscripts!r} name {len(specs)} operand(s), but {len(ndims)} were given")
    unused = [c for c in string.ascii_letters if c not in subscripts]
    spans = [n - len(s.replace("...", "")) if "..." in s else 0 for s, n in zip(specs, ndims)]
    ellipsis = "".join(unused[: max(spans, default=0)])
    named = "".join(specs).replace(".", "")
    specs = [s.replace("...", ellipsis[len(ellipsis) - span :]) for s, span in zip(specs, spans)]
    if arrow:
        output = output.replace("...", ellipsis)
    else:
        output = ellipsis + "".join(sorted(c for c in set(named) if named.count(c) == 1))
    return specs, output


def _einsum_vjp(g: Tensor, ans: Tensor, *operands: Any, subscripts: str) -> list[Tensor | None]:
    """Every operand's gradient (None for one that takes none), from `_einsum_operand_vjp`."""
    specs, output = _einsum_specs(subscripts, [_ndim(x) for x in operands])
    return [
        _einsum_operand_vjp(i, g, operands, specs, output) if isinstance(x, Tensor) and x.allow_grad else None
        for i, x in enumerate(operands)
    ]


def _einsum_operand_vjp(argnum: int, g: Tensor, operands: tuple, specs: list[str], output: str) -> Tensor:
    """The gradient for operand `argnum`: einsum of `g` with the other operands into that
    operand's subscripts.

    A letter the operand repeats (a diagonal, "ii->i") would repeat in the output, which
    einsum forbids: each repeat gets a fresh letter tied to the first by an identity matrix
    operand, which puts the gradient on the diagonal. A letter only this operand has was
    summed out: the gradient is constant along it, returned as a size-1 axis that the
    engine broadcasts.
    """
    x, spec = operands[argnum], specs[argnum]
    fresh = (c for c in string.ascii_letters if c not in "".join(specs) + output)
    target, ties, identities = "", [], []
    for axis, letter in enumerate(spec):
        if letter in target:
            new = next(fresh)
            ties.append(letter + new)
            identities.append(md.eye(x.shape[axis], dtype=g.dtype, backend=g.backend.name))
            letter = new
        target += letter
    others = [j for j in range(len(operands)) if j != argnum]
    in_specs = [output, *(specs[j] for j in others), *ties]
    present = set("".join(in_specs))
    kept = "".join(c for c in target if c in present)
    gx = md.einsum(",".join(in_specs) + "->" + kept, g, *(operands[j] for j in others), *identities)
    if kept != target:
        sizes = iter(gx.shape)
        gx = md.reshape(gx, tuple(next(sizes) if c in present else 1 for c in target))
    return gx


# ---------------------------------------------------------------------------- trace and outer


def _trace_vjp(g: Tensor, ans: Tensor, x: Tensor, offset: int, axis1: int, axis2: int) -> Tensor:
    """`g` on the `offset` diagonal of the (axis1, axis2) planes, repeated over the other axes."""
    axis1, axis2 = axis1 % x.ndim, axis2 % x.ndim
    first, second = sorted((axis1, axis2))
    # With axis1 after axis2 the plane is stored transposed, so the diagonal's offset flips.
    k = offset if axis1 < axis2 else -offset
    mask = md.eye(x.shape[first], x.shape[second], k=k, dtype=g.dtype, backend=g.backend.name)
    plane = tuple(x.shape[i] if i in (first, second) else 1 for i in range(x.ndim))
    spread = tuple(1 if i in (first, second) else n for i, n in enumerate(x.shape))
    return md.reshape(g, spread) * md.reshape(mask, plane)


def _outer_vjp_a(g: Tensor, ans: Tensor, a: Any, b: Any) -> Tensor:
    return md.reshape(md.matmul(g, md.reshape(b, -1)), a.shape)


def _outer_vjp_b(g: Tensor, ans: Tensor, a: Any, b: Any) -> Tensor:
    return md.reshape(md.matmul(md.reshape(a, -1), g), b.shape)


# ---------------------------------------------------------------------------- batching rules (md.vmap)


def _matmul_batch(call, args, batched, params):
    """1-D operands become a row (a) or a column (b), as matmul sees them; batched operands
    get size-1 axes after the batch so their stacks broadcast as one example's do; the
    axes the vectors added go again at the end."""
    a, b = args
    if batched == (True, False) and logical_ndim(b, False) == 2 and logical_ndim(a, True) >= 1:
        # one shared matrix: the batch joins a's rows, and the whole batch is one matrix product
        rows = md.reshape(a, (-1, a.shape[-1]))
        return md.reshape(call(rows, b), (*a.shape[:-1], b.shape[-1]))
    row, column = logical_ndim(a, batched[0]) == 1, logical_ndim(b, batched[1]) == 1
    a = md.expand_dims(a, -2) if row else a
    b = md.expand_dims(b, -1) if column else b
    stacked = max(logical_ndim(x, flag) - 2 for x, flag in zip((a, b), batched))
    out = call(*(pad_to(x, stacked + 2) if flag else x for x, flag in zip((a, b), batched)))
    if row or column:
        out = md.squeeze(out, axis=(-2, -1) if row and column else -2 if row else -1)
    return out


def _contract(a: Any, b: Any, batched: tuple[bool, bool], axes_a: list[int], axes_b: list[int]) -> Tensor:
    """`tensordot(a, b, (axes_a, axes_b))` of each example, for operands whose batch (where
    `batched`) is on axis 0, as one matmul of (batch, free, contracted) by (batch,
    contracted, free) stacks; `axes_*` are non-negative axes of one example."""
    size = batch_size((a, b), batched)
    lead_a, lead_b = int(batched[0]), int(batched[1])
    shape_a, shape_b = tuple(a.shape)[lead_a:], tuple(b.shape)[lead_b:]
    if [shape_a[i] for i in axes_a] != [shape_b[i] for i in axes_b]:
        raise ValueError(
            f"tensordot: shape-mismatch for sum: axes {axes_a} of shape {shape_a} and {axes_b} of shape {shape_b}"
        )
    free_a = [i for i in range(len(shape_a)) if i not in axes_a]
    free_b = [i for i in range(len(shape_b)) if i not in axes_b]
    inner = math.prod(shape_a[i] for i in axes_a)

    def matrices(x: Any, lead: int, order: list[int], rows: int, cols: int) -> Any:
        order = [0] * lead + [i + lead for i in order]
        if order != list(range(len(order))):
            x = md.transpose(x, tuple(order))
        return md.reshape(x, (size,) * lead + (rows, cols))

    left = matrices(a, lead_a, free_a + axes_a, math.prod(shape_a[i] for i in free_a), inner)
    right = matrices(b, lead_b, axes_b + free_b, inner, math.prod(shape_b[i] for i in free_b))
    out = md.matmul(left, right)  # an unbatched operand broadcasts against the batch
    return md.reshape(out, (size, *(shape_a[i] for i in free_a), *(shape_b[i] for i in free_b)))


def _dot_batch(call, args, batched, params):
    a, b = args
    ndim_a, ndim_b = logical_ndim(a, batched[0]), logical_ndim(b, batched[1])
    if ndim_a == 0 or ndim_b == 0:  # dot with a scalar is a product
        return elementwise(lambda x, y: x * y, args, batched, {})
    return _contract(a, b, batched, [ndim_a - 1], [max(ndim_b - 2, 0)])


def _tensordot_batch(call, args, batched, params):
    a, b = args
    axes_a, axes_b = _tensordot_axes(params["axes"], logical_ndim(a, batched[0]), logical_ndim(b, batched[1]))
    return _contract(a, b, batched, axes_a, axes_b)


def _outer_batch(call, args, batched, params):
    a, b = (md.reshape(x, (x.shape[0], -1) if flag else (-1,)) for x, flag in zip(args, batched))
    return _contract(a, b, batched, [], [])  # outer flattens its operands


def _einsum_batch(call, args, batched, params):
    """A fresh letter for the batch, in front of each batched operand's subscripts and of
    the output's (made explicit); '...' stays, so its broadcasting is NumPy's own."""
    subscripts = params["subscripts"].replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    specs = inputs.split(",")
    if not arrow:  # NumPy's implicit output: the broadcast axes, then the letters used once, sorted
        named = "".join(specs).replace(".", "")
        ellipsis = "..." if "..." in inputs else ""
        output = ellipsis + "".join(sorted(c for c in set(named) if named.count(c) == 1))
    free = [c for c in string.ascii_letters if c not in subscripts]
    if not free:
        raise ValueError(f"md.vmap of einsum: subscripts {subscripts!r} use every letter, none is left for the batch")
    letter = free[0]
    specs = [letter + spec if flag else spec for spec, flag in zip(specs, batched)]
    return call(*args, subscripts=",".join(specs) + "->" + letter + output)


def diagonal_plane_batch(call, args, batched, params):
    """The batching rule of ops on the `offset` diagonal of the (`axis1`, `axis2`) planes
    (trace, diagonal): the axes shifted past the batch, which stays in front."""
    ndim = args[0].ndim - 1
    axis1, axis2 = shift_axis(params["axis1"], ndim), shift_axis(params["axis2"], ndim)
    return call(args[0], offset=params["offset"], axis1=axis1, axis2=axis2)


# ---------------------------------------------------------------------------- the table

#: samples for ops on a diagonal chosen by `offset`, `axis1`, `axis2` (trace, diagonal)
DIAGONAL_SAMPLES = (
    sample((3, 3)),
    sample((3, 4), offset=1),
    sample((4, 3), offset=-1),
    sample((2, 3, 4), axis1=2, axis2=0),
    sample((2, 3, 4), offset=1, axis1=-1, axis2=1),
)

# The products are complex bilinear: their rules are the real formulas (no conjugates, as
# NumPy's products take none), which the engine conjugates around (complex=HOLOMORPHIC);
# trace is linear with real coefficients (complex=True).
OPS = [
    Op(
        "matmul",
        _matmul,
        vjp=(_matmul_vjp_a, _matmul_vjp_b),
        nargs=2,
        batch=_matmul_batch,
        inplace=operator.imatmul,
        samples=(
            sample((3, 4), (4, 5)),
            sample((4,), (4, 5)),
            sample((3, 4), (4,)),
            sample((4,), (4,)),
            sample((2, 1, 3, 4), (5, 4, 2)),  # batch axes broadcast both ways
            sample((2, 3, 4), (4,)),
            sample((4,), (2, 4, 3)),
        ),
        complex=HOLOMORPHIC,
    ),
    Op(
        "dot",
        "dot",
        vjp=(
            lambda g, ans, a, b: _tensordot_vjp(0, g, a, b, _dot_axes(a, b)),
            lambda g, ans, a, b: _tensordot_vjp(1, g, a, b, _dot_axes(a, b)),
        ),
        nargs=2,
        batch=_dot_batch,
        samples=(
            sample((4,), (4,)),
            sample((3, 4), (4,)),
            sample((4,), (4, 5)),
            sample((3, 4), (4, 5)),
            sample((2, 3, 4), (3, 4, 2)),
            sample((3, 4), ()),
            sample((), (3,)),
        ),
        complex=HOLOMORPHIC,
    ),
    Op(
        "tensordot",
        "tensordot",
        vjp=(
            lambda g, ans, a, b, axes: _tensordot_vjp(0, g, a, b, axes),
            lambda g, ans, a, b, axes: _tensordot_vjp(1, g, a, b, axes),
        ),
        nargs=2,
        params={"axes": 2},
        batch=_tensordot_batch,
        samples=(
            sample((2, 3, 4), (3, 4, 2)),
            sample((3, 4), (4, 5), axes=1),
            sample((3,), (4,), axes=0),
            sample((2, 3, 4), (4, 2, 3), axes=([0, 2], [1, 0])),
            sample((2, 3, 4), (4, 3), axes=([-1, 1], [0, -1])),
            sample((2, 3), (), axes=0),
        ),
        complex=HOLOMORPHIC,
    ),
    Op(
        "einsum",
        lambda xp, *operands, subscripts: xp.einsum(subscripts, *operands),
        vjp=_einsum_vjp,
        nargs=None,
        parse=_einsum_parse,
        doc="einsum(subscripts, *operands): NumPy's einsum, differentiable in every operand. Takes explicit "
        "('ij,jk->ik') and implicit ('ij,jk') outputs, '...' broadcasting, repeated letters (diagonals) "
        "and NumPy's interleaved sublist form (einsum(a, [0, 1], b, [1, 2], [0, 2])).",
        batch=_einsum_batch,
        samples=(
            sample("ij,jk->ik", (3, 4), (4, 5)),
            sample("bij,bjk->bik", (2, 3, 4), (2, 4, 3)),
            sample("ij,jk", (3, 4), (4, 2)),  # implicit output
            sample("i,i->", (4,), (4,)),
            sample("i,j->ij", (3,), (4,)),
            sample("ij->", (3, 4)),
            sample("ij->ji", (3, 4)),
            sample("ij,jk,kl->il", (2, 3), (3, 4), (4, 2)),
            sample("...ij,...jk->...ik", (2, 3, 4), (4, 2)),
            sample("...ij,...jk", (2, 1, 3, 4), (5, 4, 2)),
            sample("ii->", (3, 3)),
            sample("ii->i", (3, 3)),
            sample("...ii->...i", (2, 3, 3)),
            sample("iij,j->i", (3, 3, 2), (2,)),
            sample("ik,ij->j", (3, 2), (3, 4)),  # k only in the first operand: summed out
            # NumPy's interleaved sublist form: explicit output, implicit output, `...`
            sample((3, 4), [0, 1], (4, 5), [1, 2], [0, 2]),
            sample((3, 4), [30, 1], (4,), [1]),
            sample((2, 3, 3), [Ellipsis, 0, 0], [Ellipsis, 0]),
        ),
        complex=HOLOMORPHIC,
    ),
    Op(
        "trace",
        "trace",
        vjp=(_trace_vjp,),
        params={"offset": 0, "axis1": 0, "axis2": 1},
        batch=diagonal_plane_batch,
        samples=DIAGONAL_SAMPLES,
        complex=True,
    ),
    Op(
        "outer",
        "outer",
        vjp=(_outer_vjp_a, _outer_vjp_b),
        nargs=2,
        batch=_outer_batch,
        samples=(sample((3,), (4,)), sample((2, 3), (4,)), sample((3,), ())),
        complex=HOLOMORPHIC,
    ),
]


@hookimpl
def minidiff_register_ops(registry) -> None:
    for op in OPS:
        registry.add_op(op)
