"""`lstsq`, `multi_dot`, `tensorsolve`, `tensorinv`, `cond`, `matrix_rank`, `eig` and
`eigvals` beyond the conformance kit: every output and call form against NumPy, closed-form
gradients, NumPy's edge cases (singular and rank-deficient matrices, empty residuals) and
the errors for what is not supported."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.linalg import LinAlgError

import minidiff as md
from minidiff import plugins
from minidiff.testing import gradcheck
from minidiff_ops_linalg import _samples as S

NEW = ("lstsq", "multi_dot", "tensorsolve", "tensorinv", "cond", "matrix_rank", "eig", "eigvals", "expm")


def test_the_new_ops_register_with_the_pack():
    registry = plugins.load()
    for name in NEW:
        assert registry.ops[f"linalg.{name}"].plugin == "linalg"
    assert not registry.ops["linalg.matrix_rank"].value.differentiable


# ---------------------------------------------------------------------------- lstsq


@pytest.mark.parametrize(
    "a, b",
    [(S.TALL, (4,)), (S.TALL, (4, 2)), (S.WIDE, (3,)), (S.SQUARE, (3, 2)), (S.TALL_RANK_2, (4, 3))],
    ids=["tall", "tall-columns", "wide", "square", "rank-deficient"],
)
def test_lstsq_returns_what_numpy_returns(a, b):
    b = np.random.default_rng(3).standard_normal(b)
    x, residuals, rank, s = md.linalg.lstsq(md.Tensor(a), md.Tensor(b))
    ex, eresiduals, erank, es = np.linalg.lstsq(a, b)
    np.testing.assert_allclose(x.numpy(), ex, rtol=1e-10, atol=1e-12)
    assert residuals.shape == eresiduals.shape
    np.testing.assert_allclose(residuals.numpy(), eresiduals, rtol=1e-10)
    assert rank.numpy() == erank and rank.dtype == np.asarray(erank).dtype and int(rank.item()) == erank
    np.testing.assert_allclose(s.numpy(), es, rtol=1e-12, atol=1e-14)


def test_lstsq_gradients_have_their_closed_forms_for_a_full_rank_a():
    # x = A⁺b, so ∂<w, x>/∂b = A⁺ᵀ w; and r = b - A x is orthogonal to A's columns, so the
    # gradient of ‖r‖² with respect to b is 2 r.
    a, b = S.TALL, np.array([0.3, -1.2, 0.8, 2.0])
    w = np.array([1.0, -2.0, 0.5])
    b_t = md.Tensor(b, allow_grad=True)
    md.sum(md.linalg.lstsq(md.Tensor(a), b_t)[0] * md.Tensor(w)).backward()
    np.testing.assert_allclose(b_t.grad.numpy(), np.linalg.pinv(a).T @ w, rtol=1e-12)
    b_t = md.Tensor(b, allow_grad=True)
    md.linalg.lstsq(md.Tensor(a), b_t)[1].sum().backward()
    np.testing.assert_allclose(b_t.grad.numpy(), 2 * (b - a @ np.linalg.lstsq(a, b)[0]), rtol=1e-10, atol=1e-14)


def test_lstsq_rcond_sets_the_rank_as_numpy_does():
    a = S.with_singular_values(4, 3, (2.0, 1.0, 1e-9))
    b = np.arange(4.0)
    for rcond in (None, -1, 1e-6):
        x, residuals, rank, _ = md.linalg.lstsq(md.Tensor(a), md.Tensor(b), rcond=rcond)
        ex, eresiduals, erank, _ = np.linalg.lstsq(a, b, rcond=rcond)
        assert rank.item() == erank and residuals.shape == eresiduals.shape
        np.testing.assert_allclose(x.numpy(), ex, rtol=1e-6)


def test_lstsq_refuses_what_numpy_refuses():
    with pytest.raises(LinAlgError, match=r"one matrix \(M, N\).*\(2, 4, 3\)"):
        md.linalg.lstsq(md.Tensor(np.ones((2, 4, 3))), md.Tensor(np.ones(4)))
    with pytest.raises(LinAlgError, match=r"b must have shape \(4,\) or \(4, K\); got \(3,\)"):
        md.linalg.lstsq(md.Tensor(S.TALL), md.Tensor(np.ones(3)))


# ---------------------------------------------------------------------------- multi_dot


def test_multi_dot_matches_numpy_for_every_vector_form():
    rng = np.random.default_rng(4)
    v3, m34, m45, v5 = rng.standard_normal(3), rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    for arrays in ([v3, m34, m45, v5], [v3, m34, m45], [m34, m45, v5], [m34, m45], [v3, m34.T.T[:, :3] @ np.eye(3)]):
        got = md.linalg.multi_dot([md.Tensor(a) for a in arrays])
        expected = np.linalg.multi_dot(arrays)
        assert got.shape == np.shape(expected)
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


def test_multi_dot_multiplies_in_the_cheapest_order():
    # (10 x 100)(100 x 5)(5 x 50): (AB)C costs 7500 multiplications, A(BC) 75000.
    from minidiff_ops_linalg.solvers import _chain_order

    assert _chain_order([(10, 100), (100, 5), (5, 50)]) == {(0, 1): 0, (1, 2): 1, (0, 2): 1}
    assert _chain_order([(50, 5), (5, 100), (100, 10)])[0, 2] == 0  # A(BC) here


def test_multi_dot_errors():
    with pytest.raises(ValueError, match="at least two arrays"):
        md.linalg.multi_dot([md.ones((2, 2))])
    with pytest.raises(LinAlgError, match="array 1 has shape"):
        md.linalg.multi_dot([md.ones((2, 2)), md.ones((2, 2, 2)), md.ones((2, 2))])
    with pytest.raises(ValueError, match=r"\(2, 3\) \(array 0\) and \(2, 2\) \(array 1\) are not aligned"):
        md.linalg.multi_dot([md.ones((2, 3)), md.ones((2, 2))])
    with pytest.raises(TypeError, match="out= is not supported"):
        md.linalg.multi_dot([md.ones((2, 2)), md.ones((2, 2))], out=md.zeros((2, 2)))


# ---------------------------------------------------------------------------- tensorsolve, tensorinv


def test_tensorsolve_and_tensorinv_match_numpy():
    a = S.SQUARE_4.reshape(2, 2, 2, 2)
    b = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_allclose(md.linalg.tensorsolve(md.Tensor(a), md.Tensor(b)).numpy(), np.linalg.tensorsolve(a, b), rtol=1e-12)
    np.testing.assert_allclose(
        md.linalg.tensorsolve(md.Tensor(a), md.Tensor(b), axes=(0, 2)).numpy(), np.linalg.tensorsolve(a, b, axes=(0, 2)), rtol=1e-12
    )
    np.testing.assert_allclose(md.linalg.tensorinv(md.Tensor(a)).numpy(), np.linalg.tensorinv(a), rtol=1e-12)
    a3 = S.SQUARE_4.reshape(4, 2, 2)
    inverse = md.linalg.tensorinv(md.Tensor(a3), ind=1)
    np.testing.assert_allclose(np.tensordot(a3, inverse.numpy(), 2), np.eye(4), atol=1e-12)


def test_tensorsolve_and_tensorinv_errors():
    with pytest.raises(LinAlgError, match="tensorsolve"):
        md.linalg.tensorsolve(md.Tensor(np.ones((2, 3, 4))), md.Tensor(np.ones((2, 3))))
    with pytest.raises(LinAlgError, match="tensorinv: the first 2 axes"):
        md.linalg.tensorinv(md.Tensor(np.ones((2, 3, 4))))
    with pytest.raises(ValueError, match="ind must be a positive integer"):
        md.linalg.tensorinv(md.Tensor(np.eye(2)), ind=0)


# ---------------------------------------------------------------------------- cond, matrix_rank


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, math.inf, -math.inf])
def test_cond_matches_numpy_and_is_inf_with_no_gradient_at_a_singular_matrix(p):
    np.testing.assert_allclose(md.linalg.cond(md.Tensor(S.SQUARE_BATCH), p).numpy(), np.linalg.cond(S.SQUARE_BATCH, p), rtol=1e-12)
    singular = np.array([S.SQUARE, np.diag([1.0, 2.0, 0.0])])
    got = md.linalg.cond(md.Tensor(singular, allow_grad=True), p)
    assert not got.allow_grad
    np.testing.assert_allclose(got.numpy()[0], np.linalg.cond(S.SQUARE, p), rtol=1e-12)
    # NumPy gives inf (0 for p = -2, the ratio the other way up); for "nuc" it raises
    # "SVD did not converge" instead, where minidiff gives inf too.
    assert got.numpy()[1] == (0.0 if p == -2 else math.inf)
    if p != "nuc":
        with np.errstate(all="ignore"):
            assert np.linalg.cond(singular, p)[1] == got.numpy()[1]


def test_cond_of_a_diagonal_matrix_and_its_gradient():
    # cond(diag(d)) = d_max / d_min, so its gradient is 1/d_min and -d_max/d_min² on those entries
    x = md.Tensor(np.diag([4.0, 2.0, 0.5]), allow_grad=True)
    md.linalg.cond(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.diag([1 / 0.5, 0.0, -4.0 / 0.25]), atol=1e-12)


def test_cond_needs_square_matrices_except_for_the_two_norm():
    assert md.linalg.cond(md.Tensor(S.TALL)).shape == ()
    with pytest.raises(LinAlgError, match="square"):
        md.linalg.cond(md.Tensor(S.TALL), "fro")


def test_matrix_rank_matches_numpy_and_has_no_gradient():
    for a, kwargs in ((S.SINGULAR, {}), (S.SQUARE_BATCH, {}), (S.SINGULAR, {"tol": 1.5}), (np.zeros(3), {}), (S.SPD, {"hermitian": True})):
        got = md.linalg.matrix_rank(md.Tensor(a, allow_grad=True), **kwargs)
        np.testing.assert_array_equal(got.numpy(), np.linalg.matrix_rank(a, **kwargs))
        assert got.dtype.kind == "i" and not got.allow_grad


# ---------------------------------------------------------------------------- eig


def test_eig_matches_numpy_and_its_eigenvalue_gradient_has_its_closed_form():
    a = S.NONSYMMETRIC
    w, v = md.linalg.eig(md.Tensor(a))
    ew, ev = np.linalg.eig(a)
    np.testing.assert_allclose(w.numpy(), ew, rtol=1e-12)
    np.testing.assert_allclose(v.numpy(), ev, rtol=1e-10, atol=1e-12)
    # ∂w_k/∂A = (V⁻ᵀ)_{:,k} V_{:,k}ᵀ (left eigenvector times right eigenvector)
    x = md.Tensor(a, allow_grad=True)
    md.linalg.eigvals(x)[1].backward()
    np.testing.assert_allclose(x.grad.numpy(), np.outer(np.linalg.inv(ev).T[:, 1], ev[:, 1]), rtol=1e-10)


def test_eig_refuses_complex_eigenvalues():
    rotation = np.array([[0.0, -1.0], [1.0, 0.0]])
    with pytest.raises(LinAlgError, match="complex eigenvalues; minidiff.linalg.eig is real-only"):
        md.linalg.eig(md.Tensor(rotation))
    with pytest.raises(LinAlgError, match="complex eigenvalues"):
        md.linalg.eigvals(md.Tensor(np.array([S.NONSYMMETRIC[:2, :2], rotation])))


def test_eig_at_repeated_eigenvalues():
    a = np.diag([1.0, 1.0, 2.0])
    # eigenvalues alone: fine (the gradient of their sum, the trace, is the identity)
    x = md.Tensor(a, allow_grad=True)
    md.sum(md.linalg.eigvals(x)).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.eye(3), atol=1e-12)
    # eigenvectors of the repeated eigenvalue: undefined
    x = md.Tensor(a, allow_grad=True)
    with pytest.raises(ValueError, match="eig: the gradient is undefined: eigenvalues 0 and 1"):
        md.sum(md.linalg.eig(x)[1] * md.Tensor(np.arange(9.0).reshape(3, 3))).backward()


def test_eig_third_order_by_finite_differences():
    from minidiff.testing import first_order_gradient

    f = lambda t: md.linalg.eig(t)[0][0]  # noqa: E731
    assert gradcheck(first_order_gradient(first_order_gradient(f)), S.NONSYMMETRIC, mode="direction", atol=1e-5)


# ---------------------------------------------------------------------------- expm


@pytest.mark.parametrize("scale", [0.1, 1.0, 40.0], ids=["small", "unscaled", "squared"])
def test_expm_of_a_symmetric_matrix_is_the_exponential_of_its_eigenvalues(scale):
    w, v = np.linalg.eigh(S.SYMMETRIC)
    got = md.linalg.expm(md.Tensor(scale * S.SYMMETRIC)).numpy()
    np.testing.assert_allclose(got, (v * np.exp(scale * w)) @ v.T, rtol=1e-12, atol=1e-13 * np.exp(scale * w).max())


def test_expm_closed_forms_and_batches():
    np.testing.assert_allclose(md.linalg.expm(md.Tensor([[0.0, 1.0], [0.0, 0.0]])).numpy(), [[1.0, 1.0], [0.0, 1.0]], rtol=1e-15)
    t = 0.7  # a rotation generator
    np.testing.assert_allclose(
        md.linalg.expm(md.Tensor([[0.0, -t], [t, 0.0]])).numpy(), [[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]], rtol=1e-15
    )
    stack = np.array([np.diag([1.0, -2.0]), np.diag([0.5, 3.0])])
    np.testing.assert_allclose(md.linalg.expm(md.Tensor(stack)).numpy(), np.array([np.diag(np.exp(np.diag(m))) for m in stack]), rtol=1e-14)
    assert md.linalg.expm(md.Tensor(np.eye(2, dtype=np.float32))).dtype == np.float32


def test_expm_gradient_at_a_diagonal_matrix_is_the_divided_differences():
    # The Fréchet derivative of expm at diag(d) scales E_ij by (e^d_i - e^d_j) / (d_i - d_j)
    # (e^d_i on the diagonal), and so does its adjoint.
    d = np.array([0.3, -1.1, 2.0])
    w = np.arange(9.0).reshape(3, 3) - 4.0
    x = md.Tensor(np.diag(d), allow_grad=True)
    md.sum(md.linalg.expm(x) * md.Tensor(w)).backward()
    di, dj = d[:, None], d[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        divided = np.where(di == dj, np.exp(di), (np.exp(di) - np.exp(dj)) / (di - dj))
    np.testing.assert_allclose(x.grad.numpy(), w * divided, rtol=1e-12)


def test_expm_errors():
    with pytest.raises(LinAlgError, match="square"):
        md.linalg.expm(md.Tensor(np.ones((2, 3))))
    with pytest.raises(ValueError, match="infinite or NaN"):
        md.linalg.expm(md.Tensor([[np.inf, 0.0], [0.0, 1.0]]))


# ---------------------------------------------------------------------------- NumPy interop


def test_numpy_linalg_functions_reach_the_ops():
    a, b = md.Tensor(S.TALL, allow_grad=True), md.Tensor(np.arange(4.0), allow_grad=True)
    x, residuals, rank, s = np.linalg.lstsq(a, b, rcond=None)
    assert isinstance(x, md.Tensor) and x.allow_grad and rank.item() == 3
    assert np.linalg.multi_dot([a, md.Tensor(S.SQUARE), md.Tensor(np.ones(3))]).allow_grad
    assert np.linalg.tensorinv(md.Tensor(S.SQUARE_4.reshape(2, 2, 2, 2), allow_grad=True)).allow_grad
    assert np.linalg.tensorsolve(md.Tensor(S.SQUARE, allow_grad=True), b[:3]).allow_grad
    assert np.linalg.cond(md.Tensor(S.SQUARE, allow_grad=True)).allow_grad
    assert np.linalg.matrix_rank(a).item() == 3
    w, v = np.linalg.eig(md.Tensor(S.NONSYMMETRIC, allow_grad=True))
    assert w.allow_grad and v.allow_grad
    assert np.linalg.eigvals(md.Tensor(S.NONSYMMETRIC, allow_grad=True)).allow_grad
