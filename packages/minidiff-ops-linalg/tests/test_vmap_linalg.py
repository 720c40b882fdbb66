"""`md.vmap` of the linalg ops beyond the conformance kit, whose samples give every example
of a batch the same matrix: batches of different matrices, every shape combination of
`solve`, the multi-output ops, norms' axes and orders, `cond` over a batch that mixes
singular and regular matrices, nested vmaps and batch axes other than 0, each against a
loop over the batch, in values and gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minidiff as md
from minidiff_ops_linalg import _samples as S

# every linalg op batches: a loop fallback is a missing rule
pytestmark = pytest.mark.filterwarnings("error::minidiff.batching.apply.BatchingFallbackWarning")

TOLERANCE = dict(rtol=1e-10, atol=1e-12)


def _outputs(value):
    return list(value) if isinstance(value, (tuple, list)) else [value]


def check(f, args, in_axes=0, grad=True):
    """vmap(f, in_axes)(*args) against f on each example, stacked, output by output; and the
    gradient of a random weighting of the floating outputs against each example's."""
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    size = next(np.shape(a)[ax] for a, ax in zip(args, axes) if ax is not None)
    tensors = [md.Tensor(a, allow_grad=grad) for a in args]
    got = _outputs(md.vmap(f, in_axes=in_axes)(*tensors))
    singles = [
        [md.Tensor(a if ax is None else np.take(a, i, axis=ax), allow_grad=grad) for a, ax in zip(args, axes)]
        for i in range(size)
    ]
    per_example = [_outputs(f(*one)) for one in singles]
    for k, out in enumerate(got):
        expected = np.stack([outs[k].numpy() for outs in per_example])
        assert out.shape == expected.shape and out.dtype == expected.dtype
        np.testing.assert_allclose(out.numpy(), expected, **TOLERANCE)
    floating = [k for k, out in enumerate(got) if out.dtype.kind == "f" and out.allow_grad]
    if not grad or not floating:
        return
    rng = np.random.default_rng(0)
    weights = {k: rng.standard_normal(got[k].shape) for k in floating}
    argnums = tuple(range(len(args)))

    def total(outs, pick):
        return sum(md.sum(outs[k] * md.Tensor(pick(weights[k]))) for k in floating)

    batched = md.vmap(f, in_axes=in_axes)
    batch_grads = md.grad(lambda *xs: total(_outputs(batched(*xs)), lambda w: w), argnums=argnums)(*tensors)
    for i, one in enumerate(singles):
        example = md.grad(lambda *xs: total(_outputs(f(*xs)), lambda w: w[i]), argnums=argnums)(*one)
        for g_batch, g_one, ax in zip(batch_grads, example, axes):
            if ax is not None:  # a shared input's gradient sums over the batch
                np.testing.assert_allclose(np.take(g_batch.numpy(), i, axis=ax), g_one.numpy(), **TOLERANCE)


def matrices(count, m, n=None, values=None):
    """`count` different well-conditioned m x n matrices (distinct singular values)."""
    n = m if n is None else n
    k = min(m, n)
    values = values or tuple(2.5 - 0.6 * i for i in range(k))
    return S.with_singular_values(m, n, values, batch=(count,))


def symmetric(count, n=3):
    return S.symmetric(tuple(2.0 - 1.1 * i for i in range(n)), batch=(count,))


# ---------------------------------------------------------------------------- solve


@settings(max_examples=40, deadline=None)
@given(
    stack_a=st.sampled_from([(), (2,)]),
    b_kind=st.sampled_from(["vector", "columns", "stack"]),
    in_axes=st.sampled_from([(0, 0), (0, None), (None, 0), (-1, 1)]),
)
def test_solve_of_every_shape_combination(stack_a, b_kind, in_axes):
    size, m = 3, 3
    a = matrices(size * (math.prod(stack_a) or 1), m).reshape(size, *stack_a, m, m)
    b_shape = {"vector": (m,), "columns": (m, 2), "stack": (2, m, 2)}[b_kind]
    b = np.random.default_rng(1).standard_normal((size, *b_shape))
    a = a[0] if in_axes[0] is None else np.moveaxis(a, 0, in_axes[0])
    b = b[0] if in_axes[1] is None else np.moveaxis(b, 0, in_axes[1])
    check(md.linalg.solve, [a, b], in_axes)


# ---------------------------------------------------------------------------- several outputs


@pytest.mark.parametrize(
    "f, make",
    [
        (md.linalg.slogdet, lambda: matrices(4, 3) * np.array([1.0, -1.0, 1.0, -1.0])[:, None, None]),
        (md.linalg.eigh, lambda: symmetric(4)),
        (lambda a: md.linalg.eigh(a, UPLO="U"), lambda: symmetric(4)),
        (md.linalg.eigvalsh, lambda: symmetric(4)),
        (lambda a: md.linalg.svd(a, full_matrices=False), lambda: matrices(4, 4, 3)),
        (md.linalg.svdvals, lambda: matrices(4, 2, 3)),
        (md.linalg.qr, lambda: matrices(4, 4, 3)),
        (lambda a: md.linalg.qr(a, mode="r"), lambda: matrices(4, 2, 3)),
        (md.linalg.eig, lambda: S.with_eigenvalues((1.8, 0.9, -0.7), batch=(4,))),
        (md.linalg.eigvals, lambda: S.with_eigenvalues((1.8, 0.9, -0.7), batch=(4,))),
        (md.linalg.inv, lambda: matrices(4, 3)),
        (md.linalg.det, lambda: matrices(4, 3)),
        (md.linalg.cholesky, lambda: S.symmetric((2.5, 1.5, 0.6), batch=(4,))),
        (md.linalg.pinv, lambda: matrices(4, 2, 3)),
        (lambda a: md.linalg.matrix_power(a, 3), lambda: matrices(4, 3)),
        (lambda a: md.linalg.matrix_power(a, -1), lambda: matrices(4, 3)),
        (md.linalg.expm, lambda: 0.5 * matrices(4, 3)),
        (lambda a: md.linalg.tensorinv(md.reshape(a, (2, 2, 2, 2))), lambda: matrices(3, 4)),
    ],
)
def test_each_op_of_a_batch_of_different_matrices(f, make):
    check(f, [make()])


def test_expm_of_a_batch_where_one_example_needs_squarings():
    # the batch is scaled as one stack, by its largest norm: as accurate as each alone
    a = np.stack([0.1 * S.SQUARE, 4.0 * S.SQUARE])
    check(md.linalg.expm, [a])


# ---------------------------------------------------------------------------- norms


@settings(max_examples=60, deadline=None)
@given(
    shape=st.sampled_from([(4,), (3, 4), (2, 3, 4)]),
    axis=st.sampled_from([None, 0, -1, (0, -1), (-1, 0)]),
    ord=st.sampled_from([None, 1, 2, 3, math.inf, -math.inf, "fro", "nuc"]),
    keepdims=st.booleans(),
    at=st.sampled_from([0, -1]),
)
def test_norm_of_every_axis_and_order(shape, axis, ord, keepdims, at):
    x = np.random.default_rng(2).standard_normal((3, *shape))
    ndim = len(shape)
    axes = (axis,) if isinstance(axis, int) else axis
    if axes is not None and (any(not -ndim <= a < ndim for a in axes) or len({a % ndim for a in axes}) < len(axes)):
        return  # axes out of range, or repeated
    two = axes is not None and len(axes) == 2 or axes is None and ord is not None and ndim == 2
    if isinstance(ord, str) and not two or ord == 3 and two or axes is None and ord is not None and ndim > 2:
        return  # no such norm, for NumPy either
    check(lambda t: md.linalg.norm(t, ord=ord, axis=axis, keepdims=keepdims), [np.moveaxis(x, 0, at)], at)


@pytest.mark.parametrize("axis", [None, -1, (0, 2)])
@pytest.mark.parametrize("ord", [2, 1, math.inf, 0.5])
def test_vector_norm_axes(axis, ord):
    x = np.random.default_rng(3).uniform(0.5, 2.0, (3, 2, 3, 4))
    check(lambda t: md.linalg.vector_norm(t, axis=axis, ord=ord, keepdims=True), [x])
    check(lambda t: md.linalg.vector_norm(t, axis=axis, ord=ord), [x])


# ---------------------------------------------------------------------------- the rest


@pytest.mark.parametrize("p", [None, 2, -2, "fro", 1, math.inf])
def test_cond_keeps_the_gradient_of_regular_examples_beside_a_singular_one(p):
    a = np.stack([S.SQUARE, np.diag([1.0, 2.0, 0.0]), 2.0 * S.SQUARE_NEGATIVE])
    x = md.Tensor(a, allow_grad=True)
    got = md.vmap(lambda t: md.linalg.cond(t, p))(x)
    np.testing.assert_allclose(got.numpy()[[0, 2]], [np.linalg.cond(a[0], p), np.linalg.cond(a[2], p)], rtol=1e-12)
    assert got.numpy()[1] == (0.0 if p == -2 else math.inf)
    g = md.grad(lambda t: md.sum(md.vmap(lambda u: md.linalg.cond(u, p))(t)[np.array([0, 2])]))(x).numpy()
    for i in (0, 2):
        alone = md.grad(lambda u: md.linalg.cond(u, p))(md.Tensor(a[i], allow_grad=True)).numpy()
        np.testing.assert_allclose(g[i], alone, rtol=1e-10)
    np.testing.assert_array_equal(g[1], 0.0)  # a singular matrix's condition number has no gradient


def test_matrix_rank_of_matrices_and_vectors():
    stack = np.stack([S.SQUARE, S.SINGULAR, np.zeros((3, 3))])
    check(md.linalg.matrix_rank, [stack], grad=False)
    check(lambda t: md.linalg.matrix_rank(t, tol=0.5), [stack], grad=False)
    check(md.linalg.matrix_rank, [np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])], grad=False)


def test_lstsq_runs_per_example_and_says_when_the_residuals_do_not_stack():
    a = np.stack([S.TALL, 2.0 * S.TALL])
    b = np.random.default_rng(4).standard_normal((2, 4))
    check(lambda u, v: md.linalg.lstsq(u, v), [a, b])
    check(lambda u, v: md.linalg.lstsq(u, v)[0], [a, b[0]], (0, None))
    # a rank-deficient a has empty residuals, a full-rank one not
    with pytest.raises(ValueError, match=r"residuals have shape \(0,\) for some examples and \(1,\) for others"):
        md.vmap(md.linalg.lstsq)(md.Tensor(np.stack([S.TALL, S.TALL_RANK_2])), md.Tensor(b))


def test_multi_dot_and_tensorsolve_with_shared_operands():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((3, 2, 4)), rng.standard_normal((4, 4))
    check(lambda u, v: md.linalg.multi_dot([u, v, u.T]), [x, y], (0, None))
    a = matrices(3, 4).reshape(3, 2, 2, 4)
    check(md.linalg.tensorsolve, [a, rng.standard_normal((2, 2))], (0, None))


@pytest.mark.parametrize(
    "f, make",
    [
        (md.linalg.solve, lambda: [matrices(6, 3).reshape(2, 3, 3, 3), np.ones((2, 3, 3))]),
        (md.linalg.eigh, lambda: [symmetric(6).reshape(2, 3, 3, 3)]),
        (md.linalg.slogdet, lambda: [matrices(6, 3).reshape(2, 3, 3, 3)]),
        (md.linalg.expm, lambda: [0.5 * matrices(6, 3).reshape(2, 3, 3, 3)]),
        (lambda a: md.linalg.cond(a, 1), lambda: [matrices(6, 3).reshape(2, 3, 3, 3)]),
        (lambda a: md.linalg.norm(a, axis=0), lambda: [matrices(6, 3).reshape(2, 3, 3, 3)]),
    ],
)
def test_nested_vmap_equals_a_double_loop(f, make):
    args = make()
    inner = md.vmap(f, in_axes=(1,) + (0,) * (len(args) - 1))  # the inner batch on axis 1 of the first
    args[0] = np.swapaxes(args[0], 1, 2) if args[0].ndim > 3 else args[0]
    check(inner, args)
