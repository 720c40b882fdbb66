"""Complex numbers from the user's side: the gradient convention on closed forms, real
operands of complex results, the errors, second order, gradient descent, transforms,
saving, optimizers, and the Tensor API (`.real`, `.imag`, `.conj()`, NumPy's functions).

The convention (docs/gradient-conventions.md, PyTorch's): for a real loss L of z = x + iy,
`z.grad` is dL/dx + i dL/dy. Every expected gradient below is worked out by hand in that
form from the real formula of L, and computed with NumPy from the inputs.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

import minidiff as md
from minidiff.testing import gradcheck, gradgradcheck


def _mlx_usable() -> bool:
    try:
        md.get_backend("mlx")
    except Exception:  # not installed, or cannot run here: the MLX cases are skipped
        return False
    return True


BACKENDS = ["numpy", pytest.param("mlx", marks=pytest.mark.skipif(not _mlx_usable(), reason="MLX is not usable here"))]
# MLX has only complex64
DTYPE = {"numpy": np.complex128, "mlx": np.complex64}
TOL = {"numpy": 1e-12, "mlx": 2e-5}

RNG = np.random.default_rng(16)
Z0 = RNG.normal(size=(2, 3)) + 1j * RNG.normal(size=(2, 3))
W0 = RNG.normal(size=(2, 3)) + 1j * RNG.normal(size=(2, 3))


def leaf(backend: str, values: np.ndarray = Z0) -> md.Tensor:
    return md.Tensor(values.astype(DTYPE[backend]), allow_grad=True, backend=backend)


def close(actual: md.Tensor, expected: np.ndarray, backend: str) -> None:
    np.testing.assert_allclose(actual.numpy(), expected, rtol=TOL[backend], atol=TOL[backend])


# ---------------------------------------------------------------------- the convention on closed forms

# (name, L as a function of z and the constant w, dL/dx + i dL/dy worked out by hand)
CLOSED_FORMS = [
    # |z|^2 = x^2 + y^2: 2x + 2iy
    ("abs_squared", lambda m, z, w: m.abs(z) ** 2, lambda z, w: 2 * z),
    # Re(z^2) = x^2 - y^2: 2x - 2iy
    ("real_of_square", lambda m, z, w: m.real(z * z), lambda z, w: 2 * np.conj(z)),
    # Im(z^2) = 2xy: 2y + 2ix
    ("imag_of_square", lambda m, z, w: m.imag(z * z), lambda z, w: 2j * np.conj(z)),
    # |z| = r: x/r + i y/r
    ("abs", lambda m, z, w: m.abs(z), lambda z, w: z / np.abs(z)),
    # atan2(y, x): -y/r^2 + i x/r^2
    ("angle", lambda m, z, w: m.angle(z), lambda z, w: 1j * z / np.abs(z) ** 2),
    # e^x cos y: e^x cos y - i e^x sin y
    ("real_of_exp", lambda m, z, w: m.real(m.exp(z)), lambda z, w: np.conj(np.exp(z))),
    # |z w|^2 = |w|^2 (x^2 + y^2)
    ("abs_of_product_squared", lambda m, z, w: m.abs(z * w) ** 2, lambda z, w: 2 * np.abs(w) ** 2 * z),
    # Re(conj(w) z) = wx x + wy y: wx + i wy
    ("inner_product", lambda m, z, w: m.real(m.conj(w) * z), lambda z, w: w),
    # |z - w|^2 through sqrt and a division: (x - wx)^2 + (y - wy)^2, written as (z - w) conj(z - w)
    ("distance_squared", lambda m, z, w: m.real((z - w) * m.conj(z - w)), lambda z, w: 2 * (z - w)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("name", "loss", "expected"), CLOSED_FORMS, ids=[c[0] for c in CLOSED_FORMS])
def test_gradient_is_dl_dx_plus_i_dl_dy(name, loss, expected, backend):
    z = leaf(backend)
    w = md.Tensor(W0.astype(DTYPE[backend]), backend=backend)
    md.sum(loss(md, z, w)).backward()
    assert z.grad.dtype == DTYPE[backend]
    close(z.grad, expected(Z0, W0), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_least_squares_gradient_through_matmul(backend):
    # L = |A z - b|^2 = sum_i |r_i|^2: gradient 2 A^H r (the real-pair gradient of a sum of squares)
    a = RNG.normal(size=(4, 3)) + 1j * RNG.normal(size=(4, 3))
    b = RNG.normal(size=4) + 1j * RNG.normal(size=4)
    z = leaf(backend, Z0[0])
    residual = md.Tensor(a.astype(DTYPE[backend]), backend=backend) @ z - md.Tensor(b.astype(DTYPE[backend]), backend=backend)
    md.sum(md.abs(residual) ** 2).backward()
    close(z.grad, 2 * a.conj().T @ (a @ Z0[0] - b), backend)


def test_gradients_agree_with_finite_differences():
    # the same losses, this time against the kit's finite differences along x and y
    for name, loss, _ in CLOSED_FORMS:
        assert gradcheck(lambda z: loss(md, z, md.Tensor(W0)), Z0), name


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_real_operand_of_a_complex_result_gets_a_real_gradient(backend):
    # L = sum |s z|^2 = s^2 |z|^2 with s real: dL/ds = 2 s |z|^2; L = Re(s z) = s x: dL/ds = x
    real_dtype = np.float64 if backend == "numpy" else np.float32
    s0 = RNG.uniform(0.5, 2.0, size=(2, 3))
    s = md.Tensor(s0.astype(real_dtype), allow_grad=True, backend=backend)
    z = leaf(backend)
    md.sum(md.abs(s * z) ** 2).backward()
    assert s.grad.dtype == real_dtype
    close(s.grad, 2 * s0 * np.abs(Z0) ** 2, backend)
    close(z.grad, 2 * s0**2 * Z0, backend)
    s.grad = None
    md.sum(md.real(s * md.Tensor(Z0.astype(DTYPE[backend]), backend=backend))).backward()
    assert s.grad.dtype == real_dtype
    close(s.grad, Z0.real, backend)


# ---------------------------------------------------------------------- errors


def test_backward_of_a_complex_tensor_needs_a_cotangent():
    z = md.Tensor(np.array(1 + 2j), allow_grad=True)
    with pytest.raises(TypeError, match=r"backward\(\) of a complex tensor needs grad="):
        (z * z).backward()
    # with one, it is the gradient of Re(conj(v) y): conj(dy/dz) v for a holomorphic y = z^2
    v = 0.3 + 0.5j
    (z * z).backward(md.Tensor(np.array(v)))
    np.testing.assert_allclose(z.grad.numpy(), np.conj(2 * (1 + 2j)) * v)


def test_grad_of_a_complex_output_raises():
    with pytest.raises(TypeError, match="complex scalar, but grad needs a real one"):
        md.grad(lambda z: md.sum(z * z))(md.Tensor(Z0))


def test_an_op_without_complex_rules_raises_at_backward_naming_it():
    z = md.Tensor(Z0, allow_grad=True)
    y = md.maximum(z, md.Tensor(W0))  # the forward runs: NumPy orders complex numbers
    with pytest.raises(TypeError, match="'maximum' has a complex (operand|output).*declares no gradient rules"):
        md.sum(md.abs(y)).backward()


def test_float_of_a_complex_tensor_raises_as_numpy_does():
    with pytest.raises(TypeError) as numpy_error:
        float(np.array(1 + 2j))
    with pytest.raises(TypeError) as error:
        float(md.Tensor(np.array(1 + 2j)))
    assert str(error.value) == str(numpy_error.value)
    assert complex(md.Tensor(np.array(1 + 2j))) == 1 + 2j


# ---------------------------------------------------------------------- second order


def test_second_order_of_a_real_function_of_complex_input():
    def f(z):
        return md.sum(md.abs(z) ** 4)

    # f = sum (x^2 + y^2)^2: gradient 4 r^2 z; along a direction u it changes by
    # H u = 4 (2 Re(conj(z) u) z + r^2 u), the directional derivative of that gradient
    u = RNG.normal(size=(2, 3)) + 1j * RNG.normal(size=(2, 3))
    gradient = md.grad(f)(md.Tensor(Z0))
    np.testing.assert_allclose(gradient.numpy(), 4 * np.abs(Z0) ** 2 * Z0, rtol=1e-12)
    along_u = md.grad(lambda z: md.sum(md.real(md.conj(md.Tensor(u)) * md.grad(f)(z))))(md.Tensor(Z0))
    expected = 4 * (2 * np.real(np.conj(Z0) * u) * Z0 + np.abs(Z0) ** 2 * u)
    np.testing.assert_allclose(along_u.numpy(), expected, rtol=1e-12)
    assert gradcheck(f, Z0)
    assert gradgradcheck(f, Z0)
    assert gradgradcheck(lambda z, w: md.real(md.exp(z) * md.conj(w) * z), Z0, W0)


def test_hessian_of_the_real_and_imaginary_parts():
    # the same f as a function of the real pair (x, y): md.hessian gives the real 2n x 2n
    # Hessian, whose blocks are, per element, 4 (r^2 + 2 x^2), 8 x y and 4 (r^2 + 2 y^2)
    z0 = Z0[0]

    def f(x, y):
        return md.sum(md.abs(x + 1j * y) ** 4)

    blocks = md.hessian(f, argnums=(0, 1))(md.Tensor(z0.real), md.Tensor(z0.imag))
    x, y, r2 = z0.real, z0.imag, np.abs(z0) ** 2
    np.testing.assert_allclose(blocks[0][0].numpy(), np.diag(4 * (r2 + 2 * x**2)), rtol=1e-12)
    np.testing.assert_allclose(blocks[0][1].numpy(), np.diag(8 * x * y), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(blocks[1][1].numpy(), np.diag(4 * (r2 + 2 * y**2)), rtol=1e-12)


# ---------------------------------------------------------------------- descent


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradient_descent_solves_complex_least_squares(backend):
    rng = np.random.default_rng(3)
    a = rng.normal(size=(8, 3)) + 1j * rng.normal(size=(8, 3))
    b = rng.normal(size=8) + 1j * rng.normal(size=8)
    solution = np.linalg.lstsq(a, b, rcond=None)[0]
    a_t, b_t = (md.Tensor(v.astype(DTYPE[backend]), backend=backend) for v in (a, b))
    z = md.Tensor(np.zeros(3, dtype=DTYPE[backend]), allow_grad=True, backend=backend)
    lr = 1 / (2 * np.linalg.norm(a, 2) ** 2)  # the gradient 2 A^H (A z - b) is 2 |A|^2-Lipschitz
    losses = []
    for _ in range(300):
        loss = md.sum(md.abs(md.sum(a_t * z, axis=1) - b_t) ** 2)  # A z as a sum of products
        losses.append(loss.item())
        z.grad = None
        loss.backward()
        with md.no_grad():
            z -= lr * z.grad
    assert all(later <= earlier * (1 + TOL[backend]) for earlier, later in zip(losses, losses[1:]))
    assert losses[-1] == pytest.approx(np.sum(np.abs(a @ solution - b) ** 2), rel=1e-4)
    np.testing.assert_allclose(z.numpy(), solution, rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------- transforms


def test_vjp_with_a_complex_cotangent():
    # y = z^2 w (holomorphic in z): the VJP of v is conj(dy/dz) v = conj(2 z w) v
    v = RNG.normal(size=(2, 3)) + 1j * RNG.normal(size=(2, 3))
    out, vjp_fn = md.vjp(lambda z: z * z * md.Tensor(W0), Z0)
    np.testing.assert_allclose(out.numpy(), Z0**2 * W0, rtol=1e-12)
    (gz,) = vjp_fn(md.Tensor(v))
    np.testing.assert_allclose(gz.numpy(), np.conj(2 * Z0 * W0) * v, rtol=1e-12)
    # y = conj(z) (not holomorphic): the VJP of v is conj(v)
    _, vjp_fn = md.vjp(md.conj, Z0)
    np.testing.assert_allclose(vjp_fn(md.Tensor(v))[0].numpy(), np.conj(v))


def test_jvp_along_complex_and_real_tangents():
    t = RNG.normal(size=(2, 3)) + 1j * RNG.normal(size=(2, 3))
    # a holomorphic f moves by f'(z) t along a complex tangent t
    _, tangent = md.jvp(lambda z: md.exp(z) * z, (Z0,), (t,))
    np.testing.assert_allclose(tangent.numpy(), np.exp(Z0) * (1 + Z0) * t, rtol=1e-12)
    # f = conj(z) z^2 is not: df = z^2 conj(dz) + 2 |z|^2 dz
    _, tangent = md.jvp(lambda z: md.conj(z) * z * z, (Z0,), (t,))
    np.testing.assert_allclose(tangent.numpy(), Z0**2 * np.conj(t) + 2 * np.abs(Z0) ** 2 * t, rtol=1e-12)
    # a real input of a complex output: d exp(i x) = i exp(i x) dx
    x0 = Z0.real
    _, tangent = md.jvp(lambda x: md.exp(1j * x), (x0,), (t.real,))
    np.testing.assert_allclose(tangent.numpy(), 1j * np.exp(1j * x0) * t.real, rtol=1e-12)


def test_hvp_of_a_real_function_of_complex_input():
    # f = sum |z|^4: H u = 4 (2 Re(conj(z) u) z + |z|^2 u), as in the second-order test above
    u = RNG.normal(size=(2, 3)) + 1j * RNG.normal(size=(2, 3))
    _, product = md.hvp(lambda z: md.sum(md.abs(z) ** 4), Z0, u)
    np.testing.assert_allclose(product.numpy(), 4 * (2 * np.real(np.conj(Z0) * u) * Z0 + np.abs(Z0) ** 2 * u), rtol=1e-12)


def test_vmap_of_a_gradient_over_complex_rows():
    def loss(z):
        return md.sum(md.abs(z * z - 1) ** 2)

    batched = md.vmap(md.grad(loss))(md.Tensor(Z0))
    looped = np.stack([md.grad(loss)(md.Tensor(row)).numpy() for row in Z0])
    # L = (z^2 - 1) conj(z^2 - 1); dL/dx + i dL/dy = 2 dL/d(conj z) (Wirtinger) = 4 conj(z) (z^2 - 1)
    np.testing.assert_allclose(batched.numpy(), looped, rtol=1e-12)
    np.testing.assert_allclose(looped, 4 * np.conj(Z0) * (Z0**2 - 1), rtol=1e-12)


# ---------------------------------------------------------------------- saving


@pytest.mark.parametrize("backend", BACKENDS)
def test_save_and_load_keep_complex_values_and_allow_grad(backend):
    buffer = io.BytesIO()
    z = leaf(backend)
    md.save(buffer, {"z": z, "fixed": md.Tensor(W0.astype(DTYPE[backend]), backend=backend)})
    buffer.seek(0)
    loaded = md.load(buffer)
    assert loaded["z"].allow_grad and not loaded["fixed"].allow_grad
    assert loaded["z"].dtype == DTYPE[backend] and loaded["z"].backend.name == backend
    np.testing.assert_array_equal(loaded["z"].numpy(), z.numpy())
    md.sum(md.abs(loaded["z"]) ** 2).backward()
    close(loaded["z"].grad, 2 * Z0.astype(DTYPE[backend]), backend)


# ---------------------------------------------------------------------- optimizers

OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.3)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3)),
    ("RMSprop", dict(centered=True, momentum=0.7)),
]


def _steps(kind: str, hp: dict, params: list[md.Tensor], grads_at) -> None:
    opt = getattr(md.optim, kind)(params, **hp)
    for t in range(5):
        for p, g in zip(params, grads_at(t)):
            p.grad = g
        opt.step()


@pytest.mark.parametrize(("kind", "hp"), OPTIMIZERS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(OPTIMIZERS)])
def test_an_optimizer_treats_a_complex_parameter_as_its_real_pair(kind, hp):
    # PyTorch's optimizers view a complex parameter as real pairs (view_as_real); checked
    # against torch.optim on the same problem: docs/gradient-conventions.md
    grads = [RNG.normal(size=(2, 3)) * 3 + 1j * RNG.normal(size=(2, 3)) for _ in range(5)]
    z = md.Tensor(Z0, allow_grad=True)
    _steps(kind, hp, [z], lambda t: [md.Tensor(grads[t])])
    x, y = md.Tensor(Z0.real, allow_grad=True), md.Tensor(Z0.imag, allow_grad=True)
    _steps(kind, hp, [x, y], lambda t: [md.Tensor(grads[t].real), md.Tensor(grads[t].imag)])
    np.testing.assert_allclose(z.numpy(), x.numpy() + 1j * y.numpy(), rtol=1e-13, atol=1e-13)


def test_adam_on_a_complex_parameter_follows_the_published_rule_per_part():
    # Adam written out in NumPy on the pair (x, y): the second moment holds gx^2 and gy^2
    # (a complex g * g would mix them, and |g|^2 would share one step size between them)
    grads = [RNG.normal(size=3) * 5 + 1j * RNG.normal(size=3) * 0.1 for _ in range(5)]
    lr, beta1, beta2, eps = 0.1, 0.9, 0.999, 1e-8
    pair = np.stack([Z0[0].real, Z0[0].imag])
    m = v = np.zeros_like(pair)
    for t, g in enumerate(grads, start=1):
        g2 = np.stack([g.real, g.imag])
        m = beta1 * m + (1 - beta1) * g2
        v = beta2 * v + (1 - beta2) * g2**2
        pair = pair - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    z = md.Tensor(Z0[0], allow_grad=True)
    _steps("Adam", dict(lr=lr), [z], lambda t: [md.Tensor(grads[t])])
    np.testing.assert_allclose(z.numpy(), pair[0] + 1j * pair[1], rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_adam_fits_a_complex_parameter(backend):
    target = md.Tensor(W0.astype(DTYPE[backend]), backend=backend)
    z = md.Tensor(np.zeros((2, 3), dtype=DTYPE[backend]), allow_grad=True, backend=backend)
    opt = md.optim.Adam([z], lr=0.05)
    for _ in range(400):
        opt.zero_grad()
        md.sum(md.abs(z - target) ** 2).backward()
        opt.step()
    assert z.dtype == DTYPE[backend]
    np.testing.assert_allclose(z.numpy(), W0, atol=1e-2)


# ---------------------------------------------------------------------- the Tensor API


@pytest.mark.parametrize("backend", BACKENDS)
def test_real_imag_and_conj_are_differentiable_attributes(backend):
    z = leaf(backend)
    real_dtype = np.float64 if backend == "numpy" else np.float32
    assert z.real.dtype == real_dtype and z.imag.dtype == real_dtype
    close(z.real, Z0.real, backend)
    close(z.imag, Z0.imag, backend)
    close(z.conj(), Z0.conj(), backend)
    close(z.conjugate(), Z0.conj(), backend)
    # L = x^2 y + Re(conj(z) w) = x^2 y + wx x + wy y: (2 x y + wx) + i (x^2 + wy)
    w = md.Tensor(W0.astype(DTYPE[backend]), backend=backend)
    md.sum(z.real**2 * z.imag + md.real(z.conj() * w)).backward()
    close(z.grad, 2 * Z0.real * Z0.imag + W0.real + 1j * (Z0.real**2 + W0.imag), backend)


def test_real_and_imag_of_a_real_tensor():
    x = md.Tensor([1.0, -2.0], allow_grad=True)
    np.testing.assert_array_equal(x.imag.numpy(), [0.0, 0.0])
    md.sum(3 * x.real + 5 * x.imag).backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        # each the gradient of sum(real(function(z))) (for conj: Re(conj z) = x)
        (np.real, lambda z: np.ones_like(z)),
        (np.imag, lambda z: 1j * np.ones_like(z)),
        (np.conj, lambda z: np.ones_like(z)),
        (np.conjugate, lambda z: np.ones_like(z)),
        (np.angle, lambda z: 1j * z / np.abs(z) ** 2),
        (np.abs, lambda z: z / np.abs(z)),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_numpys_complex_functions_on_a_tensor_are_differentiable(function, expected):
    z = md.Tensor(Z0, allow_grad=True)
    out = function(z)
    assert isinstance(out, md.Tensor)
    np.testing.assert_allclose(out.numpy(), function(Z0))
    md.sum(md.real(out)).backward()
    np.testing.assert_allclose(z.grad.numpy(), expected(Z0), rtol=1e-12)


def test_complex_dtypes_in_constructors():
    assert md.Tensor([1, 2], dtype=md.complex64).dtype == np.complex64
    assert md.Tensor([1.0, 2.0], dtype=md.complex128, allow_grad=True).allow_grad
    assert md.zeros((2, 3), dtype=complex).dtype == np.complex128
    assert md.ones(2, dtype=md.complex64).dtype == np.complex64
    # a Python complex scalar and a list of them make a complex tensor that may allow grad
    assert md.Tensor([1 + 2j], allow_grad=True).dtype == np.complex128
    with pytest.raises(TypeError, match="only floating-point and complex tensors can allow grad"):
        md.Tensor([1, 2], dtype=np.int64, allow_grad=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_edge_points_empty_and_zero_dimensional(backend):
    # abs and angle at z = 0: gradient 0 (PyTorch's values; JAX gives NaN for angle), next to
    # an ordinary point, whose gradients are z/|z| and i z/|z|^2
    z = md.Tensor(np.array([0j, 3 + 4j], dtype=DTYPE[backend]), allow_grad=True, backend=backend)
    md.sum(md.abs(z) + md.angle(z)).backward()
    np.testing.assert_allclose(z.grad.numpy(), [0, (3 + 4j) / 5 + 1j * (3 + 4j) / 25], rtol=1e-6)
    # a 0-d tensor: d Re(z^2) = 2 conj(z)
    z = md.Tensor(np.array(1 + 2j, dtype=DTYPE[backend]), allow_grad=True, backend=backend)
    md.real(z * z).backward()
    assert z.grad.shape == () and complex(z.grad.item()) == 2 - 4j
    # an empty tensor: an empty complex gradient
    z = md.Tensor(np.zeros((0, 2), dtype=DTYPE[backend]), allow_grad=True, backend=backend)
    md.sum(md.abs(z)).backward()
    assert z.grad.shape == (0, 2) and z.grad.dtype == DTYPE[backend]
