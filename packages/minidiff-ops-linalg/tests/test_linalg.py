"""What the conformance kit does not cover: closed forms at second and third order, the
documented behaviour where gradients are undefined, bad input, and batched shapes."""

from __future__ import annotations

import numpy as np
import pytest

import minidiff as md
from minidiff import plugins
from minidiff.engine import grad
from minidiff.testing import first_order_gradient, gradcheck
from minidiff_ops_linalg import _samples as S

A = S.SQUARE
SPD = S.SPD


def tensor(values: np.ndarray) -> md.Tensor:
    return md.Tensor(values, allow_grad=True)


def hessian(f, x: np.ndarray) -> np.ndarray:
    """The full Hessian of a scalar f at x, one gradient row per element of x's gradient."""
    t = tensor(x)
    (g,) = grad(f(t), [t], allow_higher_order=True)
    rows = [grad(g[index], [t], retain_graph=True)[0].numpy() for index in np.ndindex(*x.shape)]
    return np.array(rows).reshape(x.shape + x.shape)


def test_the_pack_registers_through_its_entry_point():
    registry = plugins.load()
    for name in ("solve", "inv", "det", "slogdet", "cholesky", "eigh", "svd", "qr", "norm", "pinv", "matrix_power"):
        assert registry.ops[f"linalg.{name}"].plugin == "linalg"
        assert callable(getattr(md.linalg, name))
    assert not hasattr(md.linalg, "_svd")  # internal: reached through svd only


# ---------------------------------------------------------------------------- closed forms


def test_hessian_of_logdet_matches_the_closed_form():
    # d² log|det A| [dA, dB] = -tr(A⁻¹ dA A⁻¹ dB): H[i, j, k, l] = -A⁻¹[j, k] A⁻¹[l, i]
    inv = np.linalg.inv(A)
    expected = -np.einsum("jk,li->ijkl", inv, inv)
    np.testing.assert_allclose(hessian(lambda a: md.linalg.slogdet(a)[1], A), expected, atol=1e-10)


def test_hessian_of_logdet_through_cholesky_on_a_symmetric_path():
    # logdet Σ = 2 Σ log L_ii with Σ = B Bᵀ: the same function of B as slogdet's, so the
    # same gradient (2 Σ⁻¹ B) and Hessian, whichever triangle cholesky reads.
    b = S.with_singular_values(3, 3, (1.9, 1.3, 0.8))

    def via_cholesky(b):
        low = md.linalg.cholesky(b @ b.T)
        return 2.0 * md.sum(md.log(md.einsum("ii->i", low)))

    def via_slogdet(b):
        return md.linalg.slogdet(b @ b.T)[1]

    t = tensor(b)
    via_cholesky(t).backward()
    np.testing.assert_allclose(t.grad.numpy(), 2 * np.linalg.solve(b @ b.T, b), atol=1e-10)
    np.testing.assert_allclose(hessian(via_cholesky, b), hessian(via_slogdet, b), atol=1e-8)


def gaussian_nll(sigma, x):
    """N/2 log|Σ| + 1/2 Σ_i x_iᵀ Σ⁻¹ x_i, for the rows x_i of x (N x d)."""
    n = x.shape[0]
    return 0.5 * n * md.linalg.slogdet(sigma)[1] + 0.5 * md.sum(x.T * md.linalg.solve(sigma, x.T))


def test_gradient_of_the_gaussian_nll_matches_the_closed_form(rng):
    x = rng.standard_normal((20, 3)) @ np.array([[1.0, 0.3, 0.0], [0.0, 0.8, 0.2], [0.0, 0.0, 0.6]])
    sigma = tensor(SPD)
    gaussian_nll(sigma, md.Tensor(x)).backward()
    inv = np.linalg.inv(SPD)
    expected = 0.5 * len(x) * inv - 0.5 * inv @ (x.T @ x) @ inv
    np.testing.assert_allclose(sigma.grad.numpy(), expected, rtol=1e-10, atol=1e-10)
    assert gradcheck(lambda s: gaussian_nll(s, md.Tensor(x)), SPD)


def test_third_order_of_det_and_logdet_along_a_line():
    # t -> det(A + tB) is a cubic for 3 x 3 matrices: its third derivative is 6 det(B);
    # t -> log|det(A + tB)| has third derivative 2 tr((M)³), M = (A + tB)⁻¹ B.
    b = S.SQUARE_NEGATIVE
    for f, expected in (
        (md.linalg.det, 6 * np.linalg.det(b)),
        (lambda m: md.linalg.slogdet(m)[1], 2 * np.trace(np.linalg.matrix_power(np.linalg.solve(A + 0.3 * b, b), 3))),
    ):
        t = md.Tensor(0.3, allow_grad=True)
        out = f(md.Tensor(A) + t * md.Tensor(b))
        (d1,) = grad(out, [t], allow_higher_order=True)
        (d2,) = grad(d1, [t], allow_higher_order=True)
        (d3,) = grad(d2, [t])
        np.testing.assert_allclose(d3.item(), expected, rtol=1e-8)


@pytest.mark.parametrize(
    "f, x",
    [
        (lambda a: md.linalg.inv(a), A),
        (lambda a: md.linalg.cholesky(a), SPD),
        (lambda a: md.linalg.eigh(a), S.SYMMETRIC),
        (lambda a: md.linalg.svd(a, full_matrices=False), S.TALL),
        (lambda a: md.linalg.qr(a), S.WIDE),
        (lambda a: md.linalg.solve(a, md.Tensor(S.TALL[:3, :2])), A),
    ],
    ids=["inv", "cholesky", "eigh", "svd", "qr", "solve"],
)
def test_third_order_along_a_random_direction(f, x):
    assert gradcheck(first_order_gradient(first_order_gradient(f), seed=1), x, mode="direction", atol=1e-5)


def test_det_gradient_at_a_singular_matrix_is_the_cofactor_matrix():
    t = tensor(S.SINGULAR)
    md.linalg.det(t).backward()
    cofactors = np.array(
        [[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(S.SINGULAR, i, 0), j, 1)) for j in range(3)] for i in range(3)]
    )
    np.testing.assert_allclose(t.grad.numpy(), cofactors, atol=1e-12)


# ---------------------------------------------------------------------------- one-triangle readers


def test_cholesky_and_eigh_gradients_vanish_on_the_triangle_they_do_not_read():
    for f, x in ((md.linalg.cholesky, SPD), (lambda a: md.linalg.eigh(a)[1], S.SYMMETRIC)):
        t = tensor(x)
        md.sum(f(t) ** 3).backward()
        assert np.all(np.triu(t.grad.numpy(), 1) == 0)
        u = tensor(x)
        md.sum(f(u.T) ** 3).backward()  # reading u's upper triangle, through the transpose
        assert np.all(np.tril(u.grad.numpy(), -1) == 0)


def test_cholesky_upper_is_the_transposed_lower_factor():
    t = tensor(SPD)
    upper = md.linalg.cholesky(t, upper=True)
    np.testing.assert_allclose(upper.numpy(), np.linalg.cholesky(SPD).T)
    md.sum(upper ** 3).backward()
    assert np.all(np.tril(t.grad.numpy(), -1) == 0)


# ---------------------------------------------------------------------------- undefined gradients


def test_eigh_at_repeated_eigenvalues():
    # Eigenvalues alone: defined (here, V diag(1) Vᵀ = I, read from the lower triangle).
    t = tensor(np.eye(3))
    md.sum(md.linalg.eigvalsh(t)).backward()
    np.testing.assert_allclose(t.grad.numpy(), np.eye(3), atol=1e-12)
    # Eigenvectors: undefined in the repeated eigenspace.
    t = tensor(np.diag([1.0, 1.0, 2.0]))
    _, v = md.linalg.eigh(t)
    with pytest.raises(ValueError, match="eigenvalues 0 and 1 are equal"):
        md.sum(v * md.Tensor(np.arange(9.0).reshape(3, 3))).backward()


def test_svd_refuses_gradients_through_arbitrary_or_tied_vectors():
    t = tensor(S.TALL)
    u, s, vh = md.linalg.svd(t)  # full_matrices: U is 4 x 4, its last column arbitrary
    with pytest.raises(ValueError, match="columns of U beyond min"):
        md.sum(u).backward()
    t = tensor(S.TALL)
    u, s, vh = md.linalg.svd(t)
    md.sum(u[:, :3] ** 2 + s).backward()  # the meaningful columns only: fine
    t = tensor(np.diag([2.0, 2.0, 1.0]))
    u, s, vh = md.linalg.svd(t)
    with pytest.raises(ValueError, match="singular values 0 and 1 are equal"):
        md.sum(u * md.Tensor(np.arange(9.0).reshape(3, 3))).backward()


def test_qr_complete_refuses_gradients_through_the_arbitrary_columns():
    t = tensor(S.TALL)
    q, r = md.linalg.qr(t, mode="complete")
    md.sum(r ** 2).backward()  # R alone: fine
    np.testing.assert_allclose(t.grad.numpy(), 2 * S.TALL, atol=1e-12)  # ‖R‖² = ‖A‖²
    t = tensor(S.TALL)
    q, r = md.linalg.qr(t, mode="complete")
    with pytest.raises(ValueError, match="columns of Q beyond N"):
        md.sum(q).backward()


def test_slogdet_gradient_at_a_singular_matrix_raises():
    t = tensor(np.array([[1.0, 2.0], [2.0, 4.0]]))
    sign, logabsdet = md.linalg.slogdet(t)
    assert sign.item() == 0 and logabsdet.item() == -np.inf
    with pytest.raises(np.linalg.LinAlgError, match="infinite"):
        logabsdet.backward()


def test_qr_of_a_rank_deficient_matrix_raises_in_the_backward():
    t = tensor(np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]]))
    q, r = md.linalg.qr(t)
    with pytest.raises(np.linalg.LinAlgError, match="rank-deficient"):
        md.sum(q).backward()


def test_norms_at_zero_and_at_ties_give_pytorchs_subgradients():
    for ord in (None, 2, 3, 1):
        t = tensor(np.zeros(3))
        md.linalg.norm(t, ord=ord).backward()
        np.testing.assert_array_equal(t.grad.numpy(), np.zeros(3))
    t = tensor(np.zeros((2, 3)))
    md.linalg.norm(t).backward()  # Frobenius at zero
    np.testing.assert_array_equal(t.grad.numpy(), np.zeros((2, 3)))
    t = tensor(np.array([3.0, -3.0, 1.0]))
    md.linalg.norm(t, ord=np.inf).backward()
    np.testing.assert_allclose(t.grad.numpy(), [0.5, -0.5, 0.0])
    t = tensor(np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="infinite"):
        md.linalg.vector_norm(t, ord=0.5).backward()


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("op", [md.linalg.inv, md.linalg.det, md.linalg.cholesky, md.linalg.slogdet, md.linalg.eigh])
@pytest.mark.parametrize("as_tensor", [True, False])
def test_non_square_input_raises_naming_the_shape(op, as_tensor):
    x = np.ones((2, 3, 4))
    # NumPy's LinAlgError, or (through minidiff's generic call path) a ValueError naming the op
    with pytest.raises(ValueError, match=r"square matrices .*\(2, 3, 4\)"):
        op(md.Tensor(x) if as_tensor else x)


def test_a_vector_is_not_a_matrix():
    with pytest.raises(ValueError, match=r"stack of matrices .*\(3,\)"):
        md.linalg.inv(md.Tensor(np.ones(3)))


def test_cholesky_of_a_matrix_that_is_not_positive_definite_raises():
    with pytest.raises(ValueError, match=r"not positive definite.*\(3, 3\)"):
        md.linalg.cholesky(md.Tensor(S.SYMMETRIC))


@pytest.mark.parametrize(
    "b_shape, message",
    [
        ((4,), r"b needs 3 rows, but b has shape \(4,\)"),
        ((4, 2), r"b needs 3 rows, but b has shape \(4, 2\)"),
        ((3, 3, 2), r"batch axes of a \(2,\) and of b \(3,\)"),
        ((), "0-d b"),
    ],
)
def test_solve_with_mismatched_shapes_raises(b_shape, message):
    with pytest.raises(ValueError, match=message):
        md.linalg.solve(md.Tensor(S.SQUARE_BATCH), md.Tensor(np.ones(b_shape)))


def test_singular_input_raises_instead_of_returning_nans():
    singular = md.Tensor(np.array([[1.0, 2.0], [2.0, 4.0]]))
    with pytest.raises(ValueError, match="Singular matrix"):
        md.linalg.inv(singular)
    with pytest.raises(ValueError, match="Singular matrix"):
        md.linalg.solve(singular, md.Tensor(np.ones(2)))


def test_complex_input_and_bad_parameters_are_refused():
    with pytest.raises(TypeError, match="eig: complex matrices are not supported"):
        md.linalg.eig(np.eye(2) * (1 + 1j))  # the one op of the family that is real-only
    with pytest.raises(TypeError, match="integer"):
        md.linalg.matrix_power(md.Tensor(A), 1.5)
    with pytest.raises(ValueError, match="UPLO"):
        md.linalg.eigh(md.Tensor(SPD), "X")
    with pytest.raises(ValueError, match="norm order 'nuc' for vectors"):
        md.linalg.norm(md.Tensor(np.ones(3)), ord="nuc")
    with pytest.raises(ValueError, match="1-D or 2-D"):
        md.linalg.norm(md.Tensor(np.ones((2, 2, 2))), ord=1)
    with pytest.raises(NotImplementedError, match="raw"):
        md.linalg.qr(md.Tensor(A), mode="raw")


# ---------------------------------------------------------------------------- batched shapes


def test_every_op_maps_over_leading_axes():
    rng = np.random.default_rng(0)
    stack = S.with_singular_values(3, 3, (2.0, 1.2, 0.7), batch=(2, 2))
    spd = S.symmetric((2.0, 1.2, 0.7), batch=(2, 2))
    rhs = rng.standard_normal((2, 2, 3, 2))
    calls = {
        "solve": (lambda a: md.linalg.solve(a, md.Tensor(rhs)), lambda a: np.linalg.solve(a, rhs), stack),
        "inv": (md.linalg.inv, np.linalg.inv, stack),
        "det": (md.linalg.det, np.linalg.det, stack),
        "slogdet": (lambda a: md.linalg.slogdet(a)[1], lambda a: np.linalg.slogdet(a)[1], stack),
        "cholesky": (md.linalg.cholesky, np.linalg.cholesky, spd),
        "eigh": (lambda a: md.linalg.eigh(a)[1], lambda a: np.linalg.eigh(a)[1], spd),
        "svd": (lambda a: md.linalg.svd(a)[0], lambda a: np.linalg.svd(a)[0], stack),
        "qr": (lambda a: md.linalg.qr(a)[1], lambda a: np.linalg.qr(a)[1], stack),
        "pinv": (md.linalg.pinv, np.linalg.pinv, stack),
        "matrix_power": (lambda a: md.linalg.matrix_power(a, 3), lambda a: np.linalg.matrix_power(a, 3), stack),
        "norm": (lambda a: md.linalg.norm(a, ord=2, axis=(-2, -1)), lambda a: np.linalg.norm(a, 2, axis=(-2, -1)), stack),
    }
    for name, (f, reference, x) in calls.items():
        t = tensor(x)
        out = f(t)
        expected = reference(x)
        assert out.shape == expected.shape, name
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12, err_msg=name)
        md.sum(out * out).backward()
        assert t.grad.shape == x.shape, name
        # Each matrix of the stack gets the gradient it gets on its own.
        one = tensor(x[1, 0])
        md.sum(f(one) * f(one)).backward() if name != "solve" else md.sum(
            md.linalg.solve(one, md.Tensor(rhs[1, 0])) ** 2
        ).backward()
        np.testing.assert_allclose(t.grad.numpy()[1, 0], one.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
