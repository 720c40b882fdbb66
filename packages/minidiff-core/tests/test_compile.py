"""`md.compile`: a replayed step gives what the step gives eagerly (bitwise without fusion,
within rounding with it), on NumPy and MLX; new signatures trace again, the cache is bounded,
value reads fall back with a warning naming the line (or raise under strict), and
`md.reuse_graph` keeps each call's leaves apart."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minidiff as md


def tensor(values, allow_grad=False):
    return md.Tensor(np.array(values, dtype=np.float64), allow_grad=allow_grad)


def host(t):
    return None if t is None else np.array(t.numpy())


def assert_same(eager, compiled, exact=True):
    """Eager and compiled results: tensors equal bitwise (or within rounding), the rest equal."""
    if isinstance(eager, (tuple, list)):
        assert type(eager) is type(compiled) and len(eager) == len(compiled)
        for a, b in zip(eager, compiled):
            assert_same(a, b, exact)
    elif isinstance(eager, md.Tensor):
        assert isinstance(compiled, md.Tensor) and compiled.dtype == eager.dtype and compiled.shape == eager.shape
        if exact:
            np.testing.assert_array_equal(host(compiled), host(eager))
        else:
            np.testing.assert_allclose(host(compiled), host(eager), rtol=1e-5, atol=1e-6)
    else:
        assert compiled == eager


# --------------------------------------------------------------------------- steps, run eagerly and compiled


def mlp_step(params, x, y):
    """A training step: forward, backward, SGD in place on the parameters (a list it is given)."""
    w1, b1, w2 = params
    h = md.tanh(x @ w1 + b1)
    loss = ((h @ w2 - y) ** 2).mean()
    loss.backward()
    with md.no_grad():
        for p in params:
            p -= 0.1 * p.grad
    return loss


def transforms(x, w):
    """md.grad, md.value_and_grad and a second derivative inside the step."""
    f = lambda w: (md.sin(x * w) * w).sum()
    value, g = md.value_and_grad(f)(w)
    hess_diag = md.grad(lambda w: md.grad(f)(w).sum())(w)
    return value, g, hess_diag


def jacobians(x):
    """md.jacobian (vectorized through md.vmap, which stacks its input with `backend.xp`) and md.hessian."""
    return md.jacobian(lambda z: md.sin(z) * z[::-1])(x), md.hessian(lambda z: (z ** 3 * z[0]).sum())(x)


def higher_order(x):
    """`backward(allow_higher_order=True)`, then differentiate the gradient again."""
    y = (x ** 3).sum()
    y.backward(allow_higher_order=True)
    g = x.grad
    x.grad = None
    g.sum().backward()
    return g.detach(), x.grad


def shapes_and_indexing(x, w):
    """Broadcasting, reductions over axes, advanced indexing, concatenate and reshape."""
    rows = np.array([0, 2, 2])
    z = md.concatenate([x[rows] * w, md.reshape(x, (x.shape[1], x.shape[0]))[: len(rows)].T[:, :1]], axis=1)
    out = (md.exp(z).sum(axis=0) + md.maximum(x, 0.5).max(axis=1).mean()).sum()
    out.backward()
    return out


def fresh(rng, shapes):
    return [tensor(rng.normal(size=s), allow_grad=True) for s in shapes]


def run_both(step, make_args, calls=3, fuse=False, exact=True):
    """Call `step` eagerly and compiled on equal fresh arguments, `calls` times; compare results and grads."""
    compiled = md.compile(step, fuse=fuse)
    for call in range(calls):
        eager_args, compiled_args = make_args(call), make_args(call)
        assert_same(step(*eager_args), compiled(*compiled_args), exact)
        for a, b in zip(_tensors(eager_args), _tensors(compiled_args)):
            np.testing.assert_array_equal(host(b), host(a)) if exact else np.testing.assert_allclose(host(b), host(a), rtol=1e-5, atol=1e-6)
            assert (a.grad is None) == (b.grad is None)
            if a.grad is not None:
                assert_same(a.grad, b.grad, exact)
    return compiled


def _tensors(value):
    if isinstance(value, md.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors(item)]
    return []


def test_a_replayed_training_step_is_bitwise_the_eager_one(backend):
    rng_e, rng_c = np.random.default_rng(0), np.random.default_rng(0)
    params_e, params_c = fresh(rng_e, [(4, 8), (8,), (8, 3)]), fresh(rng_c, [(4, 8), (8,), (8, 3)])
    step = md.compile(mlp_step, fuse=False)
    data = np.random.default_rng(1)
    for _ in range(5):  # the parameters change in place each step: each replay reads the current ones
        x, y = tensor(data.normal(size=(5, 4))), tensor(data.normal(size=(5, 3)))
        assert_same(mlp_step(params_e, x, y), step(params_c, x, y))
        for pe, pc in zip(params_e, params_c):
            np.testing.assert_array_equal(host(pc), host(pe))
            np.testing.assert_array_equal(host(pc.grad), host(pe.grad))
    assert step.traces == 1


def test_captured_parameters_are_read_at_each_call(backend):
    """Weights the step closes over (not arguments) are the current ones at each replay, whether
    the step or the caller changed them in place."""
    w_e, w_c = tensor([0.5, -1.0, 2.0], allow_grad=True), tensor([0.5, -1.0, 2.0], allow_grad=True)

    def make(w):
        def step(x):
            loss = (md.tanh(x * w) ** 2).sum()
            loss.backward()
            with md.no_grad():
                w[...] = w - 0.5 * w.grad
            return loss

        return step

    eager, compiled = make(w_e), md.compile(make(w_c), fuse=False)
    for i in range(4):
        x = tensor([1.0, 2.0, 3.0 + i])
        assert_same(eager(x), compiled(x))
        np.testing.assert_array_equal(host(w_c), host(w_e))
        with md.no_grad():  # changed by the caller between calls too
            w_e *= 0.9
            w_c *= 0.9
    assert compiled.traces == 1


@pytest.mark.parametrize(
    "step, shapes",
    [(transforms, [(5,), (5,)]), (jacobians, [(4,)]), (higher_order, [(4,)]), (shapes_and_indexing, [(3, 4), (3, 1)])],
    ids=["grad-value_and_grad-second-order", "jacobian-hessian", "higher-order-backward", "shapes-and-indexing"],
)
def test_replay_is_bitwise_eager(backend, step, shapes):
    run_both(step, lambda call: fresh(np.random.default_rng(call), shapes))


def test_gradients_accumulated_across_calls_are_read_afresh(backend):
    """`backward(reset_grads=False)` adds to the `.grad` a previous call left: the replay reads it."""
    def step(x, w):
        (md.sin(x * w) ** 2).sum().backward(reset_grads=False)

    w_e, w_c = tensor([1.0, 2.0], allow_grad=True), tensor([1.0, 2.0], allow_grad=True)
    compiled = md.compile(step, fuse=False)
    for i in range(4):
        x = tensor([0.3 * i, 1.0])
        step(x, w_e)
        compiled(x, w_c)
        np.testing.assert_array_equal(host(w_c.grad), host(w_e.grad))
    assert compiled.traces == 2  # the first call found no .grad; the second one and later do


def test_a_step_that_reads_then_clears_gradients():
    """Accumulate into `.grad`, use it, set it to None: each replay starts from no gradient."""
    def step(x, w):
        (w * x).sum().backward(reset_grads=False)
        (w * w * x).sum().backward(reset_grads=False)
        with md.no_grad():
            w -= 0.1 * w.grad
        w.grad = None
        return w * 1.0

    w_e, w_c = tensor([1.0, 2.0], allow_grad=True), tensor([1.0, 2.0], allow_grad=True)
    compiled = md.compile(step, fuse=False)
    for i in range(3):
        x = tensor([0.5 * i, 1.0])
        assert_same(step(x, w_e), compiled(x, w_c))
        assert w_c.grad is None
    assert compiled.traces == 1


def test_values_read_to_choose_a_formula_take_the_exact_one_while_tracing():
    """Power's rule reads whether x holds a zero to skip a mask; traced on an x without one, the
    program must still be right for an x with one (the masked formula)."""
    step = md.compile(lambda x, y: md.grad(lambda x: (x ** y).sum())(x), fuse=False)
    step(tensor([1.0, 2.0]), tensor([2.0, 0.5]))
    x, y = tensor([0.0, 2.0]), tensor([2.0, 0.5])
    np.testing.assert_array_equal(host(step(x, y)), host(md.grad(lambda x: (x ** y).sum())(x)))
    assert step.traces == 1


def test_large_results_reuse_dying_buffers_and_stay_bitwise_eager():
    """Results of 2**16 elements and more are written into inputs that die there (`out=`), never
    into an array something else still reads: a view of it, the same array under another name,
    an argument or a result."""
    def step(x, w):
        h = md.sin(x * 1.5) + 0.5                   # h dies in exp: reused
        t = md.transpose(h)                        # ... unless viewed: h is still read through t
        e = md.exp(h) * md.cos(t)
        r = md.reshape(e, (-1,))                   # a view of e
        loss = (md.tanh(e) * w).sum() + r[:10].sum()
        loss.backward()
        return loss, e

    compiled = run_both(step, lambda call: fresh(np.random.default_rng(call), [(300, 300), (300, 300)]))
    assert "out=" in next(iter(compiled.cache.values())).program.source


# --------------------------------------------------------------------------- signatures and the cache


def test_new_shapes_dtypes_and_grad_flags_trace_again():
    step = md.compile(lambda x: (x * 2.0).sum(), fuse=False)
    step(tensor([1.0, 2.0]))
    step(tensor([3.0, 4.0]))
    assert step.traces == 1
    step(tensor([1.0, 2.0, 3.0]))
    step(md.Tensor(np.array([1.0, 2.0], dtype=np.float32)))
    step(tensor([1.0, 2.0], allow_grad=True))
    with md.no_grad():
        step(tensor([1.0, 2.0], allow_grad=True))
    assert step.traces == 5
    assert step(md.Tensor(np.array([1.0, 2.0], dtype=np.float32))).dtype == np.float32


def test_python_numbers_are_part_of_the_signature():
    step = md.compile(lambda x, scale: x * scale, fuse=False)
    assert host(step(tensor([1.0]), 2.0)).tolist() == [2.0]
    assert host(step(tensor([1.0]), 3.0)).tolist() == [3.0]
    assert step.traces == 2


def test_the_cache_keeps_the_most_recent_signatures():
    step = md.compile(lambda x: x + 1.0, fuse=False, cache_size=2)
    for n in (1, 2, 3):
        step(tensor(np.zeros(n)))
    assert len(step.cache) == 2 and step.traces == 3
    step(tensor(np.zeros(3)))  # still cached
    assert step.traces == 3
    step(tensor(np.zeros(1)))  # dropped: traced again
    assert step.traces == 4
    with pytest.raises(ValueError, match="cache_size"):
        md.compile(lambda x: x, cache_size=0)


def test_results_are_new_tensors_without_a_graph():
    step = md.compile(lambda x: (x * x, md.ones(2)), fuse=False)
    x = tensor([1.0, 2.0], allow_grad=True)
    first, ones = step(x)
    assert first.node is None and not first.allow_grad
    ones[...] = 5.0  # the caller's own copy: the next call is not affected
    again, ones_again = step(x)
    assert host(ones_again).tolist() == [1.0, 1.0] and again is not first


def test_decorator_methods_and_nesting():
    inner = md.compile(lambda x: md.sin(x) * 2.0, fuse=False)

    class Model:
        def __init__(self):
            self.w = tensor([1.0, -1.0])

        @md.compile(fuse=False)
        def __call__(self, x):
            return inner(x * self.w)  # a compiled function inside a trace is part of it

    model = Model()
    x = tensor([0.5, 0.25])
    np.testing.assert_array_equal(host(model(x)), host(md.sin(x * model.w) * 2.0))
    np.testing.assert_array_equal(host(model(x)), host(md.sin(x * model.w) * 2.0))
    assert inner.traces == 0


def test_another_thread_runs_eagerly_while_a_step_is_traced():
    """The recording hooks are process-wide while a trace runs, but record only in its context:
    eager work in another thread meanwhile is neither recorded nor changed."""
    import threading

    inside, done = threading.Event(), threading.Event()

    def step(x):
        y = md.sin(x) * 2.0
        inside.set()
        done.wait(10)  # the other thread works now
        return (y * y).sum()

    found = {}

    def other():
        inside.wait(10)
        z = tensor([0.25, 0.5], allow_grad=True)
        (md.exp(z) * z).sum().backward()
        found["grad"] = host(z.grad)
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    compiled = md.compile(step, fuse=False)
    x = tensor([1.0, 2.0])
    first = compiled(x)
    thread.join()
    z = np.array([0.25, 0.5])
    np.testing.assert_allclose(found["grad"], np.exp(z) * (1 + z), rtol=1e-15)
    assert next(iter(compiled.cache.values())).program.calls < 8  # sin, *, *, sum and conversions only
    done.set()
    np.testing.assert_array_equal(host(compiled(x)), host(first))


# --------------------------------------------------------------------------- value reads: fall back, or raise


def branchy(x):
    y = (x * 2.0).sum()
    if y > 0:  # LINE: reads the value
        return y
    return -y


BRANCH_LINE = next(i for i, line in enumerate(open(__file__), 1) if line.rstrip().endswith("# LINE: reads the value"))


def test_a_value_read_while_tracing_falls_back_with_one_warning_naming_the_line(backend):
    step = md.compile(branchy)
    with pytest.warns(md.CompileWarning, match="bool") as record:
        assert step(tensor([1.0, 2.0])).item() == 6.0
    assert len(record) == 1
    assert f"{__file__}:{BRANCH_LINE}" in str(record[0].message)
    assert record[0].filename == __file__ and record[0].lineno == BRANCH_LINE
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the signature now runs eagerly, without a second warning
        assert step(tensor([-1.0, -2.0])).item() == 6.0
        assert step(tensor([3.0, -1.0])).item() == 4.0


@pytest.mark.parametrize(
    "read",
    [lambda t: float(t.sum()), lambda t: t.sum().item(), lambda t: t.numpy(), lambda t: np.asarray(t), lambda t: repr(t)],
    ids=["float", "item", "numpy", "asarray", "repr"],
)
def test_strict_raises_on_any_value_read(read):
    def step(x):
        y = md.exp(x)
        read(y)
        return y

    with pytest.raises(md.CompileError, match="strict=True"):
        md.compile(step, strict=True)(tensor([1.0, 2.0]))
    with pytest.warns(md.CompileWarning):
        np.testing.assert_array_equal(host(md.compile(step)(tensor([1.0, 2.0]))), np.exp([1.0, 2.0]))


def test_random_draws_make_the_step_run_eagerly():
    step = md.compile(lambda x: x + md.random.randn(3))
    with pytest.warns(md.CompileWarning, match="md.random"):
        a = step(tensor(np.zeros(3)))
    b = step(tensor(np.zeros(3)))
    assert not np.array_equal(host(a), host(b))  # fresh draws each call, as eagerly


def test_a_step_with_checkpoint_compiles(backend):
    checkpoint = getattr(md, "checkpoint", None)
    if checkpoint is None:
        pytest.skip("md.checkpoint is not available")

    def block(x, w):
        return md.tanh(x * w + md.sin(x))

    def step(x, w):
        loss = (checkpoint(block)(checkpoint(block)(x, w), w) ** 2).sum()
        loss.backward()
        return loss

    with warnings.catch_warnings():
        warnings.simplefilter("error", md.CompileWarning)
        compiled = run_both(step, lambda call: fresh(np.random.default_rng(call), [(4,), (4,)]))
    assert compiled.traces == 1


# --------------------------------------------------------------------------- md.reuse_graph


def test_reuse_graph_keeps_each_calls_leaves_apart():
    """The original's cache reused the first leaves' graph for other leaves; the shim does not."""
    @md.reuse_graph()
    def loss(a, b):
        out = (a * md.sin(b)).sum()
        out.backward()
        return out

    pairs = [(tensor([1.0, 2.0], True), tensor([3.0, 4.0], True)), (tensor([5.0, 6.0], True), tensor([7.0, 8.0], True))]
    for a, b in pairs * 2:
        value = loss(a, b)
        np.testing.assert_array_equal(host(value), np.sum(host(a) * np.sin(host(b))))
        np.testing.assert_array_equal(host(a.grad), np.sin(host(b)))
        np.testing.assert_array_equal(host(b.grad), host(a) * np.cos(host(b)))
    assert isinstance(loss, md.compiler.Compiled) and loss.traces == 1
    assert md.reuse_graph(lambda x: x * 2).traces == 0
    with md.reuse_graph():  # the original's `with` form runs its block, eagerly
        x = tensor([1.0], True)
        (x * 3.0).sum().backward()
    assert host(x.grad).tolist() == [3.0]


# --------------------------------------------------------------------------- fusion


def test_numexpr_fuses_elementwise_chains_within_rounding():
    pytest.importorskip("numexpr")

    def step(x):
        y = x
        for _ in range(4):
            y = y * 1.5 - 0.25 * y * y + md.tanh(y) / 3.0
        loss = y.sum()
        loss.backward()
        return loss

    compiled = run_both(step, lambda call: fresh(np.random.default_rng(call), [(1000,)]), fuse=True, exact=False)
    unfused = run_both(step, lambda call: fresh(np.random.default_rng(call), [(1000,)]), fuse=False)
    fused_calls = next(iter(compiled.cache.values())).program.calls
    assert fused_calls < next(iter(unfused.cache.values())).program.calls / 2


def test_the_backend_compiler_runs_the_program_within_rounding():
    pytest.importorskip("minidiff_mlx")
    pytest.importorskip("mlx.core")
    with md.use_backend("mlx"):
        compiled = run_both(transforms, lambda call: fresh(np.random.default_rng(call), [(5,), (5,)]), fuse=True, exact=False)
        # (a program with a kernel that evaluates an array inside, as one of these does, is refused
        # by mx.compile on its first call and replays uncompiled: the results above hold either way)

        # a training step: its updates in place are done after the compiled call
        params_e, params_c = fresh(np.random.default_rng(0), [(4, 8), (8,), (8, 3)]), fresh(np.random.default_rng(0), [(4, 8), (8,), (8, 3)])
        step = md.compile(mlp_step)
        data = np.random.default_rng(1)
        for _ in range(4):
            x, y = tensor(data.normal(size=(5, 4))), tensor(data.normal(size=(5, 3)))
            assert_same(mlp_step(params_e, x, y), step(params_c, x, y), exact=False)
            for pe, pc in zip(params_e, params_c):
                np.testing.assert_allclose(host(pc), host(pe), rtol=1e-6, atol=1e-9)
        function = next(iter(step.cache.values())).program.function
        assert function.__name__ == "run" and not function.refused


def test_every_declared_fusion_matches_the_op():
    """`Op.fuse` is checked like every field of an op: numexpr's expression against the forward."""
    ne = pytest.importorskip("numexpr")
    from minidiff.optable import functions

    checked = 0
    rng = np.random.default_rng(3)
    for qualname, function in functions.items():
        op = getattr(function, "op", None)
        if op is None or not op.fuse:
            continue
        arity = op.fuse.count("{")
        args = [rng.uniform(*op.samples[0].domain_of(i), size=(7,)) for i in range(arity)]
        names = [f"x{i}" for i in range(arity)]
        got = ne.evaluate(op.fuse.format(*names), local_dict=dict(zip(names, args)))
        np.testing.assert_allclose(got, getattr(np, op.forward)(*args), rtol=1e-12, err_msg=qualname)
        checked += 1
    assert checked >= 10


UNARY = {"sin": md.sin, "exp": lambda x: md.exp(x * 0.25), "tanh": md.tanh, "neg": lambda x: -x, "sq": lambda x: x * x}
BINARY = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y, "div": lambda x, y: x / (1.5 + y * y)}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(sorted(UNARY) + sorted(BINARY)), st.integers(0, 100)), min_size=1, max_size=12),
       st.booleans())
def test_random_elementwise_programs_replay_as_eager(program, fuse):
    def step(x, y):
        values = [x, y]
        for name, pick in program:
            a = values[pick % len(values)]
            if name in UNARY:
                values.append(UNARY[name](a))
            else:
                values.append(BINARY[name](a, values[(pick // 7) % len(values)]))
        out = values[-1].sum()
        out.backward()
        return out

    run_both(step, lambda call: fresh(np.random.default_rng(call), [(6,), (6,)]), calls=2, fuse=fuse, exact=not fuse)
