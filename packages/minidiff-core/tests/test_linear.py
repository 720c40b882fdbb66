"""The linear algebra family against closed-form gradients (Giles 2008), beyond the
finite-difference checks the registry generates: 1-D, 2-D and broadcast-batch matmul,
einsum's diagonal and summed-out letters, trace and outer, and the errors on bad shapes."""

from __future__ import annotations

import numpy as np
import pytest

import minidiff as md
from minidiff.engine import grad


def _leaves(rng, *shapes):
    return [md.Tensor(rng.standard_normal(shape), allow_grad=True) for shape in shapes]


def _grads(output, inputs):
    return [g.numpy() for g in grad(md.sum(output), inputs)]


def test_matmul_2d_gradient_of_sum(rng):
    a, b = _leaves(rng, (3, 4), (4, 5))
    ga, gb = _grads(a @ b, [a, b])
    np.testing.assert_allclose(ga, np.ones((3, 5)) @ b.numpy().T)
    np.testing.assert_allclose(gb, a.numpy().T @ np.ones((3, 5)))


def test_matmul_vector_matrix(rng):
    v, b = _leaves(rng, (4,), (4, 5))
    gv, gb = _grads(md.matmul(v, b), [v, b])
    np.testing.assert_allclose(gv, b.numpy().sum(axis=1))
    np.testing.assert_allclose(gb, np.outer(v.numpy(), np.ones(5)))
    assert gv.shape == (4,) and gb.shape == (4, 5)


def test_matmul_matrix_vector(rng):
    a, w = _leaves(rng, (3, 4), (4,))
    ga, gw = _grads(a @ w, [a, w])
    np.testing.assert_allclose(ga, np.outer(np.ones(3), w.numpy()))
    np.testing.assert_allclose(gw, a.numpy().sum(axis=0))


def test_matmul_vector_vector(rng):
    v, w = _leaves(rng, (4,), (4,))
    out = v @ w
    assert out.shape == ()
    gv, gw = _grads(out, [v, w])
    np.testing.assert_allclose(gv, w.numpy())
    np.testing.assert_allclose(gw, v.numpy())


def test_matmul_broadcast_batch(rng):
    # (2, 1, 3, 4) @ (5, 4, 2) -> (2, 5, 3, 2): each operand's gradient sums over the
    # batch entries it was broadcast to.
    a, b = _leaves(rng, (2, 1, 3, 4), (5, 4, 2))
    out = a @ b
    assert out.shape == (2, 5, 3, 2)
    ga, gb = _grads(out, [a, b])
    ones = np.ones((3, 2))
    expected_a = ones @ b.numpy().sum(axis=0).T
    expected_b = a.numpy().sum(axis=(0, 1)).T @ ones
    np.testing.assert_allclose(ga, np.broadcast_to(expected_a, (2, 1, 3, 4)))
    np.testing.assert_allclose(gb, np.broadcast_to(expected_b, (5, 4, 2)))


def test_matmul_second_order(rng):
    # <d/dA sum(A @ B), C> = sum(C @ B): its gradient in B is C's column sums, on every column.
    a, b = _leaves(rng, (3, 4), (4, 5))
    c = rng.standard_normal((3, 4))
    (ga,) = grad(md.sum(a @ b), [a], allow_higher_order=True)
    (gb,) = grad(md.sum(ga * c), [b])
    np.testing.assert_allclose(gb.numpy(), np.broadcast_to(c.sum(axis=0)[:, None], (4, 5)))


def test_matmul_weighted_cotangent(rng):
    # d/dA <W, A @ B> = W @ B.T and d/dB = A.T @ W, for a non-uniform cotangent.
    a, b = _leaves(rng, (2, 3, 4), (4, 5))
    w = rng.standard_normal((2, 3, 5))
    ga, gb = _grads((a @ b) * w, [a, b])
    np.testing.assert_allclose(ga, w @ b.numpy().T)
    np.testing.assert_allclose(gb, np.einsum("bij,bik->jk", a.numpy(), w))


def test_einsum_matches_matmul_gradient(rng):
    a, b = _leaves(rng, (3, 4), (4, 5))
    ga, gb = _grads(md.einsum("ij,jk->ik", a, b), [a, b])
    np.testing.assert_allclose(ga, np.ones((3, 5)) @ b.numpy().T)
    np.testing.assert_allclose(gb, a.numpy().T @ np.ones((3, 5)))


def test_einsum_batched_and_implicit(rng):
    a, b = _leaves(rng, (2, 3, 4), (2, 4, 3))
    ga, _ = _grads(md.einsum("bij,bjk->bik", a, b), [a, b])
    np.testing.assert_allclose(ga, np.ones((2, 3, 3)) @ np.swapaxes(b.numpy(), -1, -2))
    implicit = md.einsum("ij,jk", a[0], b[0])
    np.testing.assert_allclose(implicit.numpy(), a.numpy()[0] @ b.numpy()[0])


def test_einsum_ellipsis(rng):
    a, b = _leaves(rng, (2, 3, 4), (4, 5))
    out = md.einsum("...ij,...jk->...ik", a, b)
    np.testing.assert_allclose(out.numpy(), a.numpy() @ b.numpy())
    ga, gb = _grads(out, [a, b])
    np.testing.assert_allclose(ga, np.ones((2, 3, 5)) @ b.numpy().T)
    np.testing.assert_allclose(gb, a.numpy().sum(axis=0).T @ np.ones((3, 5)))


def test_einsum_inner_and_total(rng):
    v, w, x = _leaves(rng, (4,), (4,), (3, 4))
    gv, gw = _grads(md.einsum("i,i->", v, w), [v, w])
    np.testing.assert_allclose(gv, w.numpy())
    np.testing.assert_allclose(gw, v.numpy())
    (gx,) = _grads(md.einsum("ij->", x), [x])
    np.testing.assert_allclose(gx, np.ones((3, 4)))


def test_einsum_letter_summed_out_of_one_operand(rng):
    # k appears only in a: the gradient is constant along k.
    a, b = _leaves(rng, (3, 2), (3, 4))
    ga, gb = _grads(md.einsum("ik,ij->j", a, b), [a, b])
    np.testing.assert_allclose(ga, np.broadcast_to(b.numpy().sum(axis=1)[:, None], (3, 2)))
    np.testing.assert_allclose(gb, np.broadcast_to(a.numpy().sum(axis=1)[:, None], (3, 4)))


def test_einsum_diagonal_gradients(rng):
    (x,) = _leaves(rng, (3, 3))
    (g_trace,) = _grads(md.einsum("ii->", x), [x])
    np.testing.assert_allclose(g_trace, np.eye(3))
    weights = rng.standard_normal(3)
    (g_diag,) = _grads(md.einsum("ii->i", x) * weights, [x])
    np.testing.assert_allclose(g_diag, np.diag(weights))


def test_trace_gradient_is_the_diagonal(rng):
    (x,) = _leaves(rng, (3, 4))
    (g,) = _grads(md.trace(x, offset=1), [x])
    np.testing.assert_allclose(g, np.eye(3, 4, k=1))
    (y,) = _leaves(rng, (2, 3, 4))
    (g,) = _grads(md.trace(y, axis1=2, axis2=0) * np.array([1.0, 2.0, 3.0]), [y])
    expected = np.einsum("ki,j->kji", np.eye(2, 4), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(g, expected)


def test_outer_flattens_and_its_gradient(rng):
    a, b = _leaves(rng, (2, 3), (4,))
    out = md.outer(a, b)
    assert out.shape == (6, 4)
    ga, gb = _grads(out, [a, b])
    np.testing.assert_allclose(ga, np.full((2, 3), b.numpy().sum()))
    np.testing.assert_allclose(gb, np.full(4, a.numpy().sum()))


def test_dot_and_tensordot_gradients(rng):
    a, b = _leaves(rng, (2, 3, 4), (3, 4, 2))
    out = md.dot(a, b)
    np.testing.assert_allclose(out.numpy(), np.dot(a.numpy(), b.numpy()))
    ga, gb = _grads(out, [a, b])
    np.testing.assert_allclose(ga, np.broadcast_to(b.numpy().sum(axis=(0, 2)), (2, 3, 4)))
    np.testing.assert_allclose(gb, np.broadcast_to(a.numpy().sum(axis=(0, 1))[None, :, None], (3, 4, 2)))
    c, d = _leaves(rng, (2, 3, 4), (4, 2, 3))
    ga, gd = _grads(md.tensordot(c, d, axes=([0, 2], [1, 0])), [c, d])
    np.testing.assert_allclose(ga, np.broadcast_to(d.numpy().sum(axis=2).T[:, None, :], (2, 3, 4)))
    np.testing.assert_allclose(gd, np.broadcast_to(c.numpy().sum(axis=1).T[:, :, None], (4, 2, 3)))


@pytest.mark.parametrize(
    "call",
    [
        lambda a, b: md.matmul(a, b),
        lambda a, b: a @ b,
        lambda a, b: md.dot(a, b),
        lambda a, b: md.tensordot(a, b, axes=1),
        lambda a, b: md.einsum("ij,jk->ik", a, b),
    ],
    ids=["matmul", "operator", "dot", "tensordot", "einsum"],
)
def test_shape_mismatch_names_both_shapes(call):
    a, b = md.Tensor(np.ones((3, 4))), md.Tensor(np.ones((5, 6)))
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(5, 6\)"):
        call(a, b)


def test_matmul_messages_say_what_is_wrong():
    with pytest.raises(ValueError, match="size 4 .* size 5"):
        md.matmul(np.ones((3, 4)), np.ones((5, 6)))
    with pytest.raises(ValueError, match=r"batch axes \(2,\) and \(3,\)"):
        md.matmul(np.ones((2, 3, 4)), np.ones((3, 4, 5)))
    with pytest.raises(ValueError, match="0-d"):
        md.matmul(md.Tensor(np.ones(3)), 2.0)


def test_einsum_rejects_a_malformed_sublist_form():
    # the sublist form itself works (test_numpy_passthrough.py); a label outside NumPy's 52 does not
    with pytest.raises(TypeError, match="subscripts string"):
        md.einsum(md.Tensor(np.ones(3)), 0)
    with pytest.raises(ValueError, match=r"\[0, 52\)"):
        md.einsum(md.Tensor(np.ones(3)), [52])
