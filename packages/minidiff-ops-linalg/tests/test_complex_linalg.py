"""md.linalg on complex matrices, against closed forms that do not come from the rules:
for a real loss L of z = x + iy, z.grad = dL/dx + i dL/dy (docs/gradient-conventions.md).
The conformance kit checks every op against finite differences; these pin the results that
matrix calculus gives in one line, and the refusals for losses that depend on the free
phases of eigenvectors and singular vectors."""

from __future__ import annotations

import numpy as np
import pytest

import minidiff as md
from minidiff.testing import gradcheck, gradgradcheck
from minidiff_ops_linalg import _samples as S


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261205)


def _complex(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _grad(f, x: np.ndarray) -> np.ndarray:
    t = md.Tensor(x, allow_grad=True)
    f(t).backward()
    return t.grad.numpy()


def test_log_abs_det_has_gradient_inverse_conjugate_transpose(rng):
    # d log|det A| = Re tr(A⁻¹ dA) = Re <A⁻ᴴ, dA>, so the gradient is A⁻ᴴ.
    a = _complex(rng, 3, 3)
    got = _grad(lambda t: md.linalg.slogdet(t)[1], a)
    np.testing.assert_allclose(got, np.linalg.inv(a).conj().T, rtol=1e-12, atol=1e-12)


def test_slogdet_sign_phase_has_gradient_i_times_inverse_conjugate_transpose(rng):
    # sign = e^{iθ} with θ = Im log det A: dθ = Im tr(A⁻¹ dA) = Im <A⁻ᴴ, dA> = Re <i A⁻ᴴ, dA>
    # (<X, Y> = Σ conj(X) Y), so the gradient of θ = angle(sign) is i A⁻ᴴ.
    a = _complex(rng, 3, 3)
    got = _grad(lambda t: md.angle(md.linalg.slogdet(t)[0]), a)
    expected = 1j * np.linalg.inv(a).conj().T
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    # Finite differences of the angle agree (away from its branch cut at ±π).
    step = 1e-6
    direction = _complex(rng, 3, 3)
    theta = lambda m: np.angle(np.linalg.slogdet(m)[0])  # noqa: E731
    numeric = (theta(a + step * direction) - theta(a - step * direction)) / (2 * step)
    assert np.isclose(numeric, np.real(np.vdot(got, direction)), rtol=1e-6)


def test_abs_det_squared_has_gradient_two_abs_det_squared_inverse_conjugate_transpose(rng):
    # |det A|² = det A conj(det A); its gradient is 2 |det A|² A⁻ᴴ (holomorphic det, then abs²).
    a = _complex(rng, 3, 3)
    got = _grad(lambda t: md.abs(md.linalg.det(t)) ** 2, a)
    expected = 2 * abs(np.linalg.det(a)) ** 2 * np.linalg.inv(a).conj().T
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_eigenvalue_gradient_is_the_real_part_of_its_projector(rng):
    # dw_k = v_kᴴ dA v_k for Hermitian dA. Read from the lower triangle, an entry below the
    # diagonal also sets its mirror: gradient 2 (v_k v_kᴴ)_ij there, Re (v_k v_kᴴ)_ii on it.
    a = S.hermitian((2.0, -0.5, -1.5))
    w, v = np.linalg.eigh(a)
    for k in range(3):
        got = _grad(lambda t: md.linalg.eigvalsh(t)[k], a)
        projector = np.outer(v[:, k], v[:, k].conj())
        expected = np.tril(2 * projector, -1) + np.diag(np.real(np.diag(projector)))
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_eigh_gradient_of_a_matrix_function_is_gauge_free_and_matches_finite_differences(rng):
    # f(A) = V diag(exp(w)) Vᴴ = expm(A) does not depend on the eigenvectors' phases.
    a = S.hermitian((1.2, 0.3, -0.9))
    weights = _complex(rng, 3, 3)

    def loss(t):
        w, v = md.linalg.eigh(t)
        f = (v * md.exp(w)) @ md.conj(md.swapaxes(v, -1, -2))
        return md.sum(md.real(md.conj(md.Tensor(weights)) * f))

    gradcheck(loss, a)
    gradgradcheck(loss, a)
    # The same function of the Hermitian matrix through expm: the gradients agree on the
    # read triangle once expm's gradient is folded onto it.
    g = _grad(lambda t: md.sum(md.real(md.conj(md.Tensor(weights)) * md.linalg.expm(t))), np.tril(a) + np.tril(a, -1).conj().T)
    folded = np.tril(g + g.conj().T, -1) + np.diag(np.real(np.diag(g)))
    np.testing.assert_allclose(_grad(loss, a), folded, rtol=1e-8, atol=1e-10)


def test_a_loss_that_depends_on_eigenvector_phases_is_refused(rng):
    a = md.Tensor(S.HERMITIAN, allow_grad=True)
    v = md.linalg.eigh(a)[1]
    with pytest.raises(ValueError, match="eigh: the gradient is undefined: complex eigenvectors"):
        md.sum(md.real(v)).backward()


def test_a_loss_that_depends_on_singular_vector_phases_is_refused():
    a = md.Tensor(S.TALL_C, allow_grad=True)
    u = md.linalg.svd(a, full_matrices=False)[0]
    with pytest.raises(ValueError, match="svd: the gradient is undefined: complex singular vectors"):
        md.sum(md.imag(u)).backward()


def test_svd_gauge_invariant_loss_matches_finite_differences_to_second_order(rng):
    # |U|² and U diag(s) Vh with weights: both blind to U -> U D, Vh -> Dᴴ Vh.
    a = S.WIDE_C
    weights = md.Tensor(_complex(rng, 3, 4))

    def loss(t):
        u, s, vh = md.linalg.svd(t, full_matrices=False)
        product = (u * md.sin(s)) @ vh
        return md.sum(md.real(md.conj(weights) * product)) + md.sum(md.abs(u) ** 2 * md.real(weights[:, :3]))

    gradcheck(loss, a)
    gradgradcheck(loss, a)


def test_nuclear_norm_gradient_is_u_vh(rng):
    # d Σ s_i = Re tr(Uᴴ dA V) = Re <U Vh, dA> for distinct nonzero s: the gradient is U Vh.
    a = S.TALL_C
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    got = _grad(lambda t: md.linalg.matrix_norm(t, ord="nuc"), a)
    np.testing.assert_allclose(got, u @ vh, rtol=1e-10, atol=1e-12)


def test_frobenius_norm_gradient_is_a_over_its_norm(rng):
    a = _complex(rng, 3, 4)
    got = _grad(lambda t: md.linalg.norm(t), a)
    np.testing.assert_allclose(got, a / np.linalg.norm(a), rtol=1e-12, atol=1e-14)


def test_cholesky_of_a_hermitian_positive_definite_matrix(rng):
    # log det A = 2 Σ log L_ii, so d/dA of 2 Σ log L_ii is A⁻ᴴ = A⁻¹, folded onto the lower triangle.
    a = S.HPD
    got = _grad(lambda t: 2 * md.sum(md.log(md.real(md.diagonal(md.linalg.cholesky(t))))), a)
    inverse = np.linalg.inv(a)
    expected = np.tril(2 * inverse, -1) + np.diag(np.real(np.diag(inverse)))
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    low = md.linalg.cholesky(md.Tensor(a)).numpy()
    np.testing.assert_allclose(low @ low.conj().T, a, atol=1e-12)


def test_qr_of_a_complex_matrix_keeps_a_real_diagonal_and_its_gradient_reconstructs(rng):
    # Q R = A, so the gradient of Re <W, Q R> is W itself.
    a = S.TALL_C
    weights = _complex(rng, 4, 3)
    got = _grad(lambda t: md.sum(md.real(md.conj(md.Tensor(weights)) * md.matmul(*md.linalg.qr(t)))), a)
    np.testing.assert_allclose(got, weights, rtol=1e-10, atol=1e-12)
    r = md.linalg.qr(md.Tensor(a))[1].numpy()
    assert np.all(np.imag(np.diag(r)) == 0)


def test_solve_and_inv_follow_the_holomorphic_convention(rng):
    # For L = Re <W, A⁻¹ b>, the gradient on b is A⁻ᴴ W and on A is -A⁻ᴴ W xᴴ.
    a, b, weights = _complex(rng, 3, 3), _complex(rng, 3), _complex(rng, 3)
    ta, tb = md.Tensor(a, allow_grad=True), md.Tensor(b, allow_grad=True)
    md.sum(md.real(md.conj(md.Tensor(weights)) * md.linalg.solve(ta, tb))).backward()
    x = np.linalg.solve(a, b)
    gb = np.linalg.solve(a.conj().T, weights)
    np.testing.assert_allclose(tb.grad.numpy(), gb, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ta.grad.numpy(), -np.outer(gb, x.conj()), rtol=1e-10, atol=1e-12)


def test_a_real_matrix_with_a_complex_right_hand_side_gets_a_real_gradient(rng):
    a, b = S.SQUARE, _complex(rng, 3)
    ta, tb = md.Tensor(a, allow_grad=True), md.Tensor(b, allow_grad=True)
    md.sum(md.abs(md.linalg.solve(ta, tb)) ** 2).backward()
    assert ta.grad.dtype == np.float64 and tb.grad.dtype == np.complex128
    gradcheck(lambda x, y: md.sum(md.abs(md.linalg.solve(x, y)) ** 2), a, b)


def test_eig_stays_real_only():
    with pytest.raises(TypeError, match="eig: complex matrices are not supported"):
        md.linalg.eig(md.Tensor(S.SQUARE_C))
