"""`md.checkpoint`: the same values and gradients (every order) as the function itself, on
NumPy and MLX, with the intermediates recomputed in the backward pass instead of kept."""

from __future__ import annotations

import weakref

import numpy as np
import pytest

import minidiff as md
from minidiff.testing import gradcheck, gradgradcheck


def tensor(values, allow_grad=True):
    return md.Tensor(np.array(values, dtype=np.float64), allow_grad=allow_grad)


def block(x, w, scale=1.0):
    """A few ops, with a non-Tensor argument."""
    return md.tanh(x * w + md.sin(x)) * scale


def close(a, b, rtol=1e-10):
    np.testing.assert_allclose(np.asarray(a.numpy()), np.asarray(b.numpy()), rtol=rtol, atol=1e-12)


def test_values_and_gradients_equal_the_function_s(backend, rng):
    xs, ws = rng.normal(size=(3, 4)), rng.normal(size=(4,))
    grads = []
    for wrap in (lambda f: f, md.checkpoint):
        x, w = tensor(xs), tensor(ws)
        y = wrap(block)(x, w, scale=2.0)
        md.sum(y * y).backward()
        grads.append((y, x.grad, w.grad))
    for a, b in zip(*grads):
        close(a, b)


def test_first_and_second_order_against_finite_differences(rng):
    f = md.checkpoint(block)
    x, w = rng.uniform(-1, 1, size=(2, 3)), rng.uniform(-1, 1, size=(3,))
    assert gradcheck(f, x, w)
    assert gradgradcheck(f, x, w)


def test_captured_weights_get_their_gradients(backend, rng):
    w = tensor(rng.normal(size=(3,)))
    b = tensor(rng.normal(size=(3,)))
    shift = md.cos(b)  # computed outside f, closed over: its history leads to b

    @md.checkpoint
    def layer(x):
        return md.tanh(x * w * 2.0 + shift)

    x = tensor(rng.normal(size=(3,)))
    md.sum(layer(layer(x))).backward()
    got = (x.grad, w.grad, b.grad)
    x2, w2, b2 = (tensor(t.numpy()) for t in (x, w, b))
    plain = lambda x: md.tanh(x * w2 * 2.0 + md.cos(b2))  # noqa: E731
    md.sum(plain(plain(x2))).backward()
    for a, e in zip(got, (x2.grad, w2.grad, b2.grad)):
        close(a, e)


def test_functional_transforms_agree_with_the_function(backend, rng):
    x0, w0 = rng.normal(size=(4,)), rng.normal(size=(4,))
    f = lambda x, w: md.sum(block(x, w) ** 2)  # noqa: E731
    g = md.checkpoint(f)
    close(md.grad(g)(x0, w0), md.grad(f)(x0, w0))
    for a, b in zip(md.grad(g, argnums=(0, 1))(x0, w0), md.grad(f, argnums=(0, 1))(x0, w0)):
        close(a, b)
    (value_g, grad_g), (value_f, grad_f) = md.value_and_grad(g)(x0, w0), md.value_and_grad(f)(x0, w0)
    close(value_g, value_f)
    close(grad_g, grad_f)
    (_, pull_f), (_, pull_g) = md.vjp(lambda x: block(x, w0), x0), md.vjp(md.checkpoint(lambda x: block(x, w0)), x0)
    close(pull_f(np.ones(4))[0], pull_g(np.ones(4))[0])
    close(md.jvp(lambda x: block(x, w0), x0, np.ones(4))[1], md.jvp(md.checkpoint(lambda x: block(x, w0)), x0, np.ones(4))[1])


@pytest.mark.parametrize("vectorized", [True, False])
def test_hessian_and_third_order(rng, vectorized):
    w = tensor(rng.normal(size=(3,)))
    f = lambda x: md.sum(md.sin(x * w) * x)  # noqa: E731
    g = lambda x: md.sum(md.checkpoint(lambda x: md.sin(x * w) * x)(x))  # noqa: E731
    x0 = rng.normal(size=(3,))
    close(md.hessian(g, vectorized=vectorized)(x0), md.hessian(f, vectorized=vectorized)(x0))
    third = lambda h: md.grad(lambda x: md.sum(md.grad(md.grad(h))(x)))  # noqa: E731
    close(third(g)(x0[0]), third(f)(x0[0]))


def test_the_recorded_backward_gives_captured_weights_second_order_gradients(rng):
    # d/dw of the gradient with respect to x: the captured w must stay connected at second order
    w0, x0 = rng.normal(size=(3,)), rng.normal(size=(3,))

    def mixed(wrap):
        w = tensor(w0)
        gx = md.grad(lambda x: md.sum(wrap(lambda x: md.exp(x * w) * x)(x)))(x0)
        md.sum(gx * gx).backward()
        return gx, w.grad

    for a, b in zip(mixed(lambda f: f), mixed(md.checkpoint)):
        close(a, b)


def test_several_outputs_kwargs_and_nested_arguments(backend, rng):
    def f(pair, *, power, table):
        x, y = pair
        return x * y ** power, md.sum(table["z"] * x), (x > 0).astype(int)

    values = [rng.normal(size=(2, 3)), rng.normal(size=(2, 3)), rng.normal(size=(3,))]
    results = []
    for wrap in (lambda f: f, md.checkpoint):
        x, y, z = (tensor(v) for v in values)
        a, b, mask = wrap(f)((x, y), power=2, table={"z": z})
        md.sum(a * 3.0 + b).backward()
        results.append((a, b, mask, x.grad, y.grad, z.grad))
    for u, v in zip(*results):
        close(u, v)
    assert not results[1][2].allow_grad


def test_nested_checkpoints(rng):
    inner = md.checkpoint(lambda x: md.sin(x) * md.cos(x))
    outer = md.checkpoint(lambda x: inner(inner(x) + 1.0) * x)
    plain_inner = lambda x: md.sin(x) * md.cos(x)  # noqa: E731
    plain = lambda x: plain_inner(plain_inner(x) + 1.0) * x  # noqa: E731
    x0 = rng.normal(size=(5,))
    close(md.grad(lambda x: md.sum(outer(x)))(x0), md.grad(lambda x: md.sum(plain(x)))(x0))
    close(md.hessian(lambda x: md.sum(outer(x)))(x0), md.hessian(lambda x: md.sum(plain(x)))(x0))
    assert gradgradcheck(outer, x0)


def test_random_draws_repeat_in_the_recomputation(backend):
    calls = []

    def dropout(x):
        calls.append(1)
        keep = md.random.rand(*x.shape) > 0.5
        return md.where(keep, x * 2.0, 0.0) * x

    md.random.seed(3)
    x = tensor(np.linspace(0.5, 1.5, 50))
    y = md.checkpoint(dropout)(x)
    after_forward = md.random.rand(4).numpy()
    md.sum(y).backward()
    # d/dx (2 x^2 where kept, else 0) = 4x where kept: the recomputation drew the same mask
    kept = y.numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, 4.0 * x.numpy(), 0.0))
    assert len(calls) == 2
    assert 10 < kept.sum() < 40
    # the backward put the caller's random state back: the stream goes on as if it had not run
    md.random.seed(3)
    md.random.rand(50)
    np.testing.assert_array_equal(md.random.rand(4).numpy(), after_forward)
    next_draw = md.random.rand(3).numpy()
    md.random.seed(3)
    md.random.rand(50), md.random.rand(4)
    np.testing.assert_array_equal(md.random.rand(3).numpy(), next_draw)


def test_random_draws_repeat_without_a_seed():
    md.random.seed(None)  # fresh entropy: the generator must be made before the forward draws
    try:
        x = tensor(np.ones(20))
        y = md.checkpoint(lambda x: x * md.random.randn(20))(x)
        md.sum(y).backward()
        close(x.grad, y)
    finally:
        md.random.seed(None)


def test_the_forward_keeps_no_intermediate(no_gc):
    alive = []

    def segment(x):
        for _ in range(5):
            x = md.sin(x) * 1.5
            alive.append(weakref.ref(x))
        return x

    x = tensor(np.linspace(0, 1, 10))
    y = md.checkpoint(segment)(segment(x))  # unckeckpointed first: its intermediates stay in the graph
    plain, checkpointed = alive[:5], alive[5:]
    assert all(ref() is not None for ref in plain[:-1])
    assert all(ref() is None for ref in checkpointed)  # the last one's values live on in y, not the Tensor
    assert y.node.op.name == "checkpoint" and len(y.node.inputs) == 1
    md.sum(y).backward()
    assert len(alive) == 15  # the backward ran the segment once more
    assert all(ref() is None for ref in alive[10:])


def test_a_segment_of_a_chain_costs_one_node():
    x = tensor(np.ones(3))
    y = x
    for _ in range(4):
        y = md.checkpoint(lambda v: md.exp(md.sin(v) * 0.5))(y)
    nodes, node = 0, y.node
    while node is not None:
        nodes += 1
        node = node.inputs[0].node
    assert nodes == 4


def test_no_grad_runs_the_function_once_and_records_nothing(backend):
    calls = []

    def f(x):
        calls.append(1)
        return md.sin(x)

    x = tensor([1.0, 2.0])
    with md.no_grad():
        y = md.checkpoint(f)(x)
    assert not y.allow_grad and y.node is None and len(calls) == 1
    z = md.checkpoint(f)(tensor([1.0], allow_grad=False))
    assert not z.allow_grad and len(calls) == 2


def test_retain_graph_runs_the_backward_twice(rng):
    x = tensor(rng.normal(size=(3,)))
    y = md.sum(md.checkpoint(lambda v: md.exp(v) * v)(x))
    y.backward(retain_graph=True)
    first = x.grad
    y.backward(reset_grads=False)
    close(x.grad, first * 2.0)


def test_vmap_of_the_gradient_matches_a_loop(rng):
    w = tensor(rng.normal(size=(3,)))
    per_example = md.grad(lambda x: md.sum(md.checkpoint(lambda v: md.tanh(v * w))(x) ** 2))
    xs = rng.normal(size=(4, 3))
    batched = md.vmap(per_example)(xs)
    close(batched, md.stack([per_example(x) for x in xs]))


def test_as_decorator_with_options_and_keeps_the_name():
    @md.checkpoint(preserve_rng_state=False)
    def softsign(x):
        """x / (1 + |x|)."""
        return x / (1.0 + md.abs(x))

    assert softsign.__name__ == "softsign" and "1 + |x|" in softsign.__doc__
    close(md.grad(lambda x: md.sum(softsign(x)))([0.5, -2.0]), md.Tensor([1 / 1.5**2, 1 / 9.0]))


@pytest.mark.parametrize(
    "result, message",
    [(3.0, "'float'"), (None, "'NoneType'"), ((), "empty"), (("a",), "item 0")],
)
def test_results_that_are_not_tensors_are_refused(result, message):
    with pytest.raises(TypeError, match=message):
        md.checkpoint(lambda x: result)(tensor([1.0]))


def test_a_function_that_changes_between_the_passes_is_refused():
    shapes = iter([(3,), (2,)])
    x = tensor(np.ones(3))
    y = md.checkpoint(lambda v: v[: next(shapes)[0]] * 2.0)(x)
    with pytest.raises(RuntimeError, match="same thing both times"):
        md.sum(y).backward()


def test_an_input_changed_in_place_before_the_backward_is_an_error():
    u = tensor(np.ones(3))
    v = u * 1.0
    z = md.checkpoint(md.sin)(v)
    v[0] = 2.0
    with pytest.raises(RuntimeError, match="modified in place"):
        md.sum(z).backward()


def test_not_a_function_is_refused():
    with pytest.raises(TypeError, match="takes a function"):
        md.checkpoint(3)
