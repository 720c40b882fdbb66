"""md.optim: each optimizer against its published update rule, written out again below in
plain NumPy from PyTorch's documented pseudocode (torch.optim.SGD, Adam, AdamW, RMSprop),
on every backend and floating dtype; then the parameter handling, in-place semantics,
state_dict round trips and the errors."""

from __future__ import annotations

import copy
import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minidiff as md

STEPS = 6
SHAPES = [(3, 4), (5,), ()]


# ---------------------------------------------------------------------- references


def reference(kind: str, hp: dict, p0: np.ndarray, grad_at, steps: int) -> list[np.ndarray]:
    """The parameter after each of `steps` steps, from the documented update rule, in
    float64; `grad_at(t, p)` is the gradient at step t (from 1) at parameter value p."""
    rule = {"SGD": _sgd, "Adam": _adam, "AdamW": _adam, "RMSprop": _rmsprop}[kind]
    return rule(np.asarray(p0, dtype=np.float64), grad_at, steps, decoupled=kind == "AdamW", **{**DEFAULTS[kind], **hp})


def _sgd(p, grad_at, steps, *, lr, momentum, dampening, nesterov, weight_decay, decoupled):
    out, b = [], None
    for t in range(1, steps + 1):
        g = grad_at(t, p)
        if weight_decay != 0:
            g = g + weight_decay * p
        if momentum != 0:
            b = g if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
        out.append(p)
    return out


def _adam(p, grad_at, steps, *, lr, betas, eps, weight_decay, amsgrad, decoupled):
    beta1, beta2 = betas
    m = v = v_max = np.zeros_like(p)
    out = []
    for t in range(1, steps + 1):
        g = grad_at(t, p)
        if decoupled:
            p = p - lr * weight_decay * p
        elif weight_decay != 0:
            g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            v_hat = v_max / (1 - beta2**t)
        else:
            v_hat = v / (1 - beta2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


def _rmsprop(p, grad_at, steps, *, lr, alpha, eps, weight_decay, momentum, centered, decoupled):
    v = g_ave = b = np.zeros_like(p)
    out = []
    for t in range(1, steps + 1):
        g = grad_at(t, p)
        if weight_decay != 0:
            g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g**2
        v_tilde = v
        if centered:
            g_ave = g_ave * alpha + (1 - alpha) * g
            v_tilde = v_tilde - g_ave**2
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(v_tilde) + eps)
            p = p - lr * b
        else:
            p = p - lr * g / (np.sqrt(v_tilde) + eps)
        out.append(p)
    return out


DEFAULTS = {
    "SGD": dict(lr=0.1, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0),
    "Adam": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False),
    "AdamW": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False),
    "RMSprop": dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False),
}

# every option on its own and in the combinations that interact
CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.4)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.3)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.9), eps=1e-3)),
    ("Adam", dict(lr=0.05, weight_decay=0.3)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.3)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.05, weight_decay=0.3)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(alpha=0.9, eps=1e-3)),
    ("RMSprop", dict(weight_decay=0.3)),
    ("RMSprop", dict(momentum=0.7)),
    ("RMSprop", dict(centered=True)),
    ("RMSprop", dict(centered=True, momentum=0.7, weight_decay=0.3)),
]


def backend_or_skip(name: str, dtype: str = "float64") -> str:
    if name != "numpy" and name not in md.available_backends():
        pytest.skip(f"the {name} backend is not usable here")
    if dtype == "float64" and not md.get_backend(name).supports_float64:
        pytest.skip(f"the {name} backend has no float64 here (MLX on a GPU)")
    return name


def problem(seed: int = 0, steps: int = STEPS):
    """Initial parameters and a fixed sequence of gradients (with a scale that varies per entry,
    so the adaptive optimizers differ from plain sign descent)."""
    rng = np.random.default_rng(seed)
    p0 = [rng.normal(size=s) for s in SHAPES]
    grads = [[rng.normal(size=s) * (1 + np.abs(rng.normal(size=s))) for s in SHAPES] for _ in range(steps)]
    return p0, grads


def run(kind, hp, p0, grads, *, backend="numpy", dtype="float64"):
    """Parameters (as host float64 arrays) after each step of md.optim.<kind>."""
    params = [md.Tensor(p, dtype=dtype, allow_grad=True, backend=backend) for p in p0]
    opt = getattr(md.optim, kind)(params, **hp)
    history = []
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = md.Tensor(g, dtype=dtype, backend=backend)
        opt.step()
        history.append([p.numpy().astype(np.float64) for p in params])
    return params, opt, history


# ---------------------------------------------------------------------- the update rules


@pytest.mark.parametrize("backend", ["numpy", "mlx"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("kind", "hp"), CONFIGS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CONFIGS)])
def test_each_step_follows_the_published_rule(kind, hp, dtype, backend):
    backend_or_skip(backend, dtype)
    p0, grads = problem()
    if dtype == "float32":  # the reference starts from the same rounded values
        p0 = [p.astype(np.float32) for p in p0]
        grads = [[g.astype(np.float32) for g in gs] for gs in grads]
    params, _, history = run(kind, hp, p0, grads, backend=backend, dtype=dtype)
    tol = dict(rtol=1e-12, atol=1e-13) if dtype == "float64" else dict(rtol=2e-5, atol=2e-6)
    for i, p in enumerate(p0):
        expected = reference(kind, hp, p, lambda t, _, i=i: grads[t - 1][i].astype(np.float64), STEPS)
        for t in range(STEPS):
            np.testing.assert_allclose(
                history[t][i], expected[t], **tol, err_msg=f"{kind} {hp}: parameter {i} after step {t + 1}"
            )
    for p in params:
        assert p.dtype == np.dtype(dtype) and p.backend.name == backend and p.is_leaf and p.allow_grad


@pytest.mark.parametrize("backend", ["numpy", "mlx"])
@pytest.mark.parametrize(
    ("kind", "hp"),
    [
        ("SGD", dict(lr=0.02, momentum=0.9, nesterov=True, weight_decay=0.1)),
        ("Adam", dict(lr=0.05, amsgrad=True)),
        ("AdamW", dict(lr=0.05, weight_decay=0.2)),
        ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
    ],
)
def test_a_training_loop_with_backward_follows_the_rule(kind, hp, backend):
    # now the gradient depends on where the parameter is: loss = sum(c sin w + w^4 / 4)
    backend_or_skip(backend)
    rng = np.random.default_rng(3)
    c, w0 = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    w = md.Tensor(w0, allow_grad=True, backend=backend)
    opt = getattr(md.optim, kind)([w], **hp)
    history = []
    for _ in range(10):
        opt.zero_grad()
        (md.sin(w) * md.Tensor(c, backend=backend) + w**4 / 4).sum().backward()
        opt.step()
        history.append(w.numpy().copy())  # on NumPy, numpy() is the parameter's own memory
    expected = reference(kind, hp, w0, lambda t, p: c * np.cos(p) + p**3, 10)
    np.testing.assert_allclose(np.array(history), np.array(expected), rtol=1e-11, atol=1e-13)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), kind=st.sampled_from(["SGD", "Adam", "AdamW", "RMSprop"]), seed=st.integers(0, 2**32 - 1))
def test_random_hyperparameters_follow_the_rule(data, kind, seed):
    unit = lambda lo, hi: st.floats(lo, hi, allow_nan=False)  # noqa: E731
    lr = data.draw(unit(1e-4, 1.0), label="lr")
    weight_decay = data.draw(st.sampled_from([0.0]) | unit(1e-4, 0.5), label="weight_decay")
    if kind == "SGD":
        momentum = data.draw(st.sampled_from([0.0]) | unit(0.01, 0.99), label="momentum")
        nesterov = momentum > 0 and data.draw(st.booleans(), label="nesterov")
        dampening = 0.0 if nesterov else data.draw(unit(0.0, 1.0), label="dampening")
        hp = dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov, weight_decay=weight_decay)
    elif kind in ("Adam", "AdamW"):
        betas = (data.draw(unit(0.0, 0.999), label="beta1"), data.draw(unit(0.0, 0.9999), label="beta2"))
        eps = data.draw(unit(1e-10, 1e-2), label="eps")
        amsgrad = data.draw(st.booleans(), label="amsgrad")
        hp = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
    else:
        # alpha well away from 0: there centered RMSprop's v - g_ave^2 cancels to rounding error
        hp = dict(
            lr=lr,
            alpha=data.draw(unit(0.1, 0.999), label="alpha"),
            eps=data.draw(unit(1e-10, 1e-2), label="eps"),
            weight_decay=weight_decay,
            momentum=data.draw(st.sampled_from([0.0]) | unit(0.01, 0.99), label="momentum"),
            centered=data.draw(st.booleans(), label="centered"),
        )
    p0, grads = problem(seed, steps=4)
    _, _, history = run(kind, hp, p0, grads)
    for i, p in enumerate(p0):
        expected = reference(kind, hp, p, lambda t, _, i=i: grads[t - 1][i], 4)
        scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
        for t in range(4):
            np.testing.assert_allclose(history[t][i], expected[t], rtol=1e-9, atol=1e-12 * scale)


def test_defaults_are_pytorchs():
    w = md.Tensor([1.0], allow_grad=True)
    for kind, defaults in DEFAULTS.items():
        if kind == "SGD":
            continue  # SGD's lr has no default
        assert getattr(md.optim, kind)([w]).hyperparameters == defaults
    assert md.optim.SGD([w], lr=0.1).hyperparameters == DEFAULTS["SGD"]


# ---------------------------------------------------------------------- in place, no graph


@pytest.mark.parametrize("backend", ["numpy", "mlx"])
def test_step_updates_the_parameter_objects_in_place_without_a_graph(backend):
    backend_or_skip(backend)
    w = md.Tensor([1.0, 2.0], allow_grad=True, backend=backend)
    model = {"w": w}  # what a model holds keeps seeing the trained values
    host_view = np.asarray(w) if backend == "numpy" else None
    opt = md.optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    assert model["w"] is w and w.is_leaf and w.node is None and w.allow_grad
    assert type(w.data) is w.backend.array_type
    np.testing.assert_allclose(w.numpy(), [0.9, 1.9])
    if host_view is not None:  # NumPy: the very same memory was written
        np.testing.assert_allclose(host_view, [0.9, 1.9])
    assert md.is_grad_enabled()
    assert all(not t.allow_grad for t in opt.state["0"].values() if isinstance(t, md.Tensor))


@pytest.mark.parametrize("backend", ["numpy", "mlx"])
def test_a_graph_recorded_before_the_step_refuses_a_stale_backward(backend):
    backend_or_skip(backend)
    w = md.Tensor([1.0, 2.0], allow_grad=True, backend=backend)
    opt = md.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    stale = (w * w).sum()
    opt.step()
    with pytest.raises(RuntimeError, match="modified in place"):
        stale.backward()


def test_parameters_without_a_grad_are_skipped_state_and_all():
    a, b = md.Tensor([1.0], allow_grad=True), md.Tensor([5.0], allow_grad=True)
    opt = md.optim.SGD({"a": a, "b": b}, lr=0.5, momentum=0.9)
    (a * a).sum().backward()
    opt.step()
    assert b.item() == 5.0 and opt.state["b"] == {} and a.item() == 0.0
    assert set(opt.state["a"]) == {"momentum_buffer"}


def test_zero_grad_sets_grads_to_none():
    a, b = md.Tensor([1.0], allow_grad=True), md.Tensor([2.0], allow_grad=True)
    opt = md.optim.Adam([a, b])
    (a * b).sum().backward()
    assert a.grad is not None and b.grad is not None
    opt.zero_grad()
    assert a.grad is None and b.grad is None
    opt.step()  # nothing to do
    assert (a.item(), b.item()) == (1.0, 2.0)


def test_step_with_a_closure_returns_its_loss():
    w = md.Tensor([3.0], allow_grad=True)
    opt = md.optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = ((w - 1.0) ** 2).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 4.0 and w.item() == 2.0


def test_changing_lr_between_steps_takes_effect():
    w = md.Tensor([0.0], allow_grad=True)
    opt = md.optim.SGD([w], lr=1.0)
    for lr in (1.0, 0.5, 0.25):
        opt.lr = lr
        w.grad = md.Tensor([1.0])
        opt.step()
    assert w.item() == -1.75


def test_a_grad_of_the_wrong_shape_is_an_error():
    w = md.Tensor([1.0, 2.0], allow_grad=True)
    opt = md.optim.SGD({"w": w}, lr=0.1)
    w.grad = md.Tensor([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"'w' has shape \(2,\) but its .grad has shape \(3,\)"):
        opt.step()


# ---------------------------------------------------------------------- parameters


def test_params_may_be_a_dict_a_generator_or_name_tensor_pairs():
    a, b = md.Tensor([1.0], allow_grad=True), md.Tensor([2.0], allow_grad=True)
    assert md.optim.SGD({"a": a, "b": b}, lr=1).names == ("a", "b")
    assert md.optim.SGD((t for t in (a, b)), lr=1).names == ("0", "1")
    opt = md.optim.SGD(iter({"x": a, "y": b}.items()), lr=1)
    assert opt.names == ("x", "y") and opt.params == (a, b)
    assert md.optim.Adam({"a": a, "b": b}).state_dict()["params"] == ["a", "b"]


def _leaf(allow_grad=True):
    return md.Tensor([1.0, 2.0], allow_grad=allow_grad)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        (lambda: [], ValueError, "no parameters"),
        (lambda: {}, ValueError, "no parameters"),
        (lambda: _leaf(), TypeError, "not one Tensor"),
        (lambda: [_leaf(False)], ValueError, r"parameter '0' \(shape \(2,\)\) does not allow grad"),
        (lambda: {"h": _leaf() * 2}, ValueError, r"parameter 'h' \(shape \(2,\)\) is not a leaf"),
        (lambda: (lambda t: [t, _leaf(), t])(_leaf()), ValueError, "parameter '2' is the same tensor as parameter '0'"),
        (lambda: [np.ones(2)], TypeError, "parameter '0' should be a minidiff Tensor, got ndarray"),
        (lambda: {1: _leaf()}, TypeError, "parameter names should be strs"),
        (lambda: [("a", _leaf()), ("a", _leaf())], ValueError, r"names \['a'\] occur more than once"),
        (lambda: [{"params": [_leaf()], "lr": 0.1}], TypeError, "parameter groups"),
        (lambda: 3, TypeError, "got int"),
    ],
)
def test_bad_params_are_refused_by_name(params, error, match):
    with pytest.raises(error, match=match):
        md.optim.SGD(params(), lr=0.1)


@pytest.mark.parametrize(
    ("kind", "hp", "error", "match"),
    [
        ("SGD", dict(lr=-0.1), ValueError, r"lr should be in \[0.0, inf\), got -0.1"),
        ("SGD", dict(lr=float("nan")), ValueError, "lr should be .*, got nan"),
        ("SGD", dict(lr="0.1"), TypeError, "lr should be a real number, got '0.1'"),
        ("SGD", dict(lr=0.1, momentum=-0.5), ValueError, "momentum should be .*, got -0.5"),
        ("SGD", dict(lr=0.1, momentum=0.9, dampening=1.5), ValueError, r"dampening should be in \[0.0, 1.0\], got 1.5"),
        ("SGD", dict(lr=0.1, nesterov=True), ValueError, "nesterov=True needs momentum > 0 .*, got momentum=0"),
        ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError, "dampening=0.1"),
        ("SGD", dict(lr=0.1, nesterov=1), TypeError, "nesterov should be True or False, got 1"),
        ("SGD", dict(lr=0.1, weight_decay=-1), ValueError, "weight_decay should be .*, got -1"),
        ("Adam", dict(betas=(0.9, 1.0)), ValueError, r"betas\[1\] should be in \[0.0, 1.0\), got 1.0"),
        ("Adam", dict(betas=(-0.1, 0.999)), ValueError, r"betas\[0\] should be .*, got -0.1"),
        ("Adam", dict(betas=0.9), TypeError, r"betas should be a pair \(beta1, beta2\), got 0.9"),
        ("Adam", dict(eps=-1e-8), ValueError, "eps should be .*, got -1e-08"),
        ("Adam", dict(lr=-1.0), ValueError, "lr should be .*, got -1.0"),
        ("AdamW", dict(weight_decay=-0.01), ValueError, "weight_decay should be .*, got -0.01"),
        ("AdamW", dict(amsgrad="yes"), TypeError, "amsgrad should be True or False, got 'yes'"),
        ("RMSprop", dict(alpha=1.5), ValueError, r"alpha should be in \[0.0, 1.0\], got 1.5"),
        ("RMSprop", dict(momentum=-0.1), ValueError, "momentum should be .*, got -0.1"),
        ("RMSprop", dict(eps=float("inf")), ValueError, "eps should be .*, got inf"),
        ("RMSprop", dict(centered=None), TypeError, "centered should be True or False, got None"),
    ],
)
def test_bad_hyperparameters_are_refused_naming_the_value(kind, hp, error, match):
    with pytest.raises(error, match=match):
        getattr(md.optim, kind)([_leaf()], **hp)


# ---------------------------------------------------------------------- state_dict


ROUND_TRIP = [
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.2, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.05, amsgrad=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1)),
]


def _train(opt, params, grads):
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = md.Tensor(g, dtype=p.dtype, backend=p.backend.name)
        opt.step()


def _resume(kind, hp, p0, grads, through, *, backend="numpy"):
    """Train 3 steps, save, train 3 more; then rebuild from what was saved, through
    `through(state_dict) -> state_dict`, and train the same 3 more. Both final values."""
    params = {f"p{i}": md.Tensor(p, allow_grad=True) for i, p in enumerate(p0)}
    opt = getattr(md.optim, kind)(params, **hp)
    _train(opt, list(params.values()), grads[:3])
    saved = through({"params": {n: p.numpy().copy() for n, p in params.items()}, "optimizer": opt.state_dict()})
    _train(opt, list(params.values()), grads[3:])

    resumed = {n: md.Tensor(v, allow_grad=True, backend=backend) for n, v in saved["params"].items()}
    other = getattr(md.optim, kind)(resumed, lr=123.0)  # hyperparameters come from the state_dict
    other.load_state_dict(saved["optimizer"])
    _train(other, list(resumed.values()), grads[3:])
    return [p.numpy() for p in params.values()], [p.numpy() for p in resumed.values()]


@pytest.mark.parametrize(("kind", "hp"), ROUND_TRIP, ids=[k for k, _ in ROUND_TRIP])
def test_a_state_dict_copy_mid_training_continues_identically(kind, hp):
    p0, grads = problem(steps=6)
    straight, resumed = _resume(kind, hp, p0, grads, copy.deepcopy)
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("kind", "hp"), ROUND_TRIP, ids=[k for k, _ in ROUND_TRIP])
def test_a_state_dict_saved_on_numpy_continues_on_mlx(kind, hp):
    backend_or_skip("mlx")
    p0, grads = problem(steps=6)
    straight, resumed = _resume(kind, hp, p0, grads, copy.deepcopy, backend="mlx")
    for a, b in zip(straight, resumed):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.skipif(importlib.util.find_spec("minidiff.serialization") is None, reason="no md.save here yet")
@pytest.mark.parametrize(("kind", "hp"), ROUND_TRIP, ids=[k for k, _ in ROUND_TRIP])
def test_a_state_dict_through_md_save_and_md_load_continues_identically(kind, hp, tmp_path):
    path = tmp_path / "checkpoint.npz"

    def through_a_file(checkpoint):
        md.save(path, checkpoint)
        return md.load(path)

    p0, grads = problem(steps=6)
    straight, resumed = _resume(kind, hp, p0, grads, through_a_file)
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a, b)


def test_state_dict_holds_only_plain_values_and_copies():
    w = md.Tensor([1.0, 2.0], allow_grad=True)
    opt = md.optim.Adam({"w": w}, lr=0.1, amsgrad=True)
    (w * w).sum().backward()
    opt.step()
    d = opt.state_dict()
    assert d["optimizer"] == "Adam" and d["params"] == ["w"]
    assert d["hyperparameters"] == dict(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=True)
    assert d["state"]["w"]["step"] == 1 and type(d["state"]["w"]["step"]) is int
    tensors = {k for k, v in d["state"]["w"].items() if isinstance(v, md.Tensor)}
    assert tensors == {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    d["state"]["w"]["exp_avg"][...] = 100.0  # the optimizer's own state is untouched
    assert opt.state["w"]["exp_avg"].numpy().max() < 100.0


def test_load_state_dict_takes_arrays_and_lists_as_md_load_may_give_them():
    w = md.Tensor([1.0, 2.0], allow_grad=True, dtype="float32")
    opt = md.optim.Adam({"w": w}, lr=0.1)
    opt.load_state_dict(
        {
            "optimizer": "Adam",
            "hyperparameters": dict(lr=0.2, betas=[0.5, 0.6], eps=1e-6, weight_decay=0.0, amsgrad=False),
            "params": ["w"],
            "state": {"w": {"step": np.int64(4), "exp_avg": np.ones(2), "exp_avg_sq": np.ones(2)}},
        }
    )
    assert opt.betas == (0.5, 0.6) and opt.lr == 0.2 and opt.state["w"]["step"] == 4
    assert opt.state["w"]["exp_avg"].dtype == np.float32  # the parameter's dtype


def _adam_state_dict():
    w = md.Tensor([1.0, 2.0], allow_grad=True)
    opt = md.optim.Adam({"w": w}, lr=0.1)
    (w * w).sum().backward()
    opt.step()
    return opt, opt.state_dict()


def _edit(d, path, value):
    d = copy.deepcopy(d)
    target = d
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return d


@pytest.mark.parametrize(
    ("path", "value", "error", "match"),
    [
        (("optimizer",), "SGD", ValueError, "from a 'SGD' optimizer; it cannot be loaded into Adam"),
        (("params",), ["v"], ValueError, r"parameters \['v'\] are not this optimizer's \['w'\]"),
        (("state",), KeyError, ValueError, r"state_dict lacks \['state'\]"),
        (("extra",), 1, ValueError, r"state_dict has unexpected \['extra'\]"),
        (("hyperparameters", "lr"), -1.0, ValueError, "lr should be .*, got -1.0"),
        (("hyperparameters", "amsgrad"), KeyError, ValueError, r"\['hyperparameters'\] lacks \['amsgrad'\]"),
        (("hyperparameters", "amsgrad"), True, ValueError, r"\['w'\] lacks \['max_exp_avg_sq'\]"),
        (("state", "w"), KeyError, ValueError, r"state_dict\['state'\] lacks \['w'\]"),
        (("state", "w", "exp_avg"), md.Tensor([1.0, 2.0, 3.0]), ValueError, r"has shape \(3,\), but parameter 'w' has shape \(2,\)"),
        (("state", "w", "exp_avg"), [0.0, 0.0], TypeError, r"\['exp_avg'\] should be a Tensor or an array, got list"),
        (("state", "w", "exp_avg_sq"), KeyError, ValueError, r"lacks \['exp_avg_sq'\]"),
        (("state", "w", "momentum_buffer"), md.Tensor([1.0]), ValueError, r"\['momentum_buffer'\] that Adam does not keep"),
        (("state", "w", "step"), -2, ValueError, r"\['step'\] should be a whole number >= 0, got -2"),
        (("state", "w", "step"), 1.5, ValueError, r"\['step'\] should be a whole number >= 0, got 1.5"),
        (("state", "w"), [1, 2], TypeError, r"should be a dict of state entries, got list"),
    ],
)
def test_load_state_dict_refuses_a_mismatch_and_changes_nothing(path, value, error, match):
    opt, good = _adam_state_dict()
    before = copy.deepcopy(opt.state_dict())
    with pytest.raises(error, match=match):
        opt.load_state_dict(_edit(good, path, value))
    after = opt.state_dict()
    assert after["hyperparameters"] == before["hyperparameters"]
    for key, v in before["state"]["w"].items():
        np.testing.assert_array_equal(np.asarray(after["state"]["w"][key]), np.asarray(v))


def test_a_parameter_that_never_stepped_round_trips_with_empty_state():
    a, b = md.Tensor([1.0], allow_grad=True), md.Tensor([2.0], allow_grad=True)
    opt = md.optim.RMSprop({"a": a, "b": b}, centered=True)
    (a * a).sum().backward()
    opt.step()
    d = opt.state_dict()
    assert d["state"]["b"] == {}
    other = md.optim.RMSprop({"a": md.Tensor([1.0], allow_grad=True), "b": md.Tensor([2.0], allow_grad=True)})
    other.load_state_dict(d)
    assert other.centered and other.state["b"] == {} and set(other.state["a"]) == {"square_avg", "grad_avg"}


def test_md_optim_is_a_listed_submodule():
    assert "optim" in dir(md)
    assert {"SGD", "Adam", "AdamW", "RMSprop", "Optimizer"} <= set(md.optim.__all__)
    assert "lr=0.1" in repr(md.optim.SGD([_leaf()], lr=0.1))
