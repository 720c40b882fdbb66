"""`md.random.get_state` / `set_state` (a run resumes with the same draws, also through
`md.save`/`md.load`, on NumPy and MLX) and the index draws `choice`, `permutation`,
`shuffle`, `binomial` (NumPy's signatures; on NumPy, the very draws of NumPy's Generator)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minidiff as md


@pytest.fixture(autouse=True)
def _unseed_afterwards():
    """md.random's seed and generators are process-wide: leave them unset for the tests that follow."""
    yield
    md.random.seed(None)


def _backends() -> list[str]:
    names = ["numpy"]
    try:
        import mlx.core  # noqa: F401
    except ImportError:
        return names
    return names + (["mlx"] if "mlx" in md.available_backends() else [])


BACKENDS = _backends()


def draws(backend: str) -> list[np.ndarray]:
    """One of each kind of draw on `backend`, as host arrays."""
    x = md.arange(8, backend=backend)
    md.random.shuffle(x)
    out = [
        md.random.randn(3, backend=backend), md.random.rand(2, backend=backend),
        md.random.uniform(-1.0, 1.0, 3, backend=backend), md.random.normal(2.0, 3.0, (2,), backend=backend),
        md.random.random(2, backend=backend), md.random.randint(0, 100, 4, backend=backend),
        md.random.choice(10, 4, backend=backend), md.random.choice(md.arange(5.0, backend=backend), 3, replace=False),
        md.random.permutation(6, backend=backend), md.random.binomial(20, 0.3, 5, backend=backend), x,
    ]
    return [t.numpy() for t in out]


def _equal(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def _saved_and_loaded(state):
    buffer = io.BytesIO()
    md.save(buffer, state)
    buffer.seek(0)
    return md.load(buffer)


# ---------------------------------------------------------------------------- resuming


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", [0, None], ids=["seeded", "unseeded"])
def test_a_run_resumes_with_the_same_draws_through_save_and_load(tmp_path, backend, seed):
    md.random.seed(seed)
    draws(backend)  # the run so far
    path = tmp_path / "rng.npz"
    md.save(path, {"rng": md.random.get_state(), "step": 3})
    expected = draws(backend) + draws(backend)  # what the run draws next
    md.random.seed(12345)  # a new process, or anything else that moves the generators
    draws(backend)
    md.random.set_state(md.load(path)["rng"])
    resumed = draws(backend) + draws(backend)
    assert _equal(resumed, expected)


def test_every_backend_resumes_from_one_state():
    md.random.seed(3)
    for backend in BACKENDS:
        draws(backend)
    state = md.random.get_state()
    expected = [draws(backend) for backend in BACKENDS]
    md.random.set_state(_saved_and_loaded(state))
    assert all(_equal(draws(backend), want) for backend, want in zip(BACKENDS, expected))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_backend_not_yet_drawn_on_resumes_from_the_seed(backend):
    md.random.seed(7)
    state = md.random.get_state()  # before any draw: only the seed
    assert state["generators"] == {}
    expected = draws(backend)
    md.random.seed(8)
    draws(backend)
    md.random.set_state(_saved_and_loaded(state))
    assert _equal(draws(backend), expected)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_state_is_a_snapshot_that_later_draws_leave_alone(backend):
    md.random.seed(1)
    draws(backend)
    state = md.random.get_state()
    before = io.BytesIO()
    md.save(before, state)
    draws(backend)
    after = io.BytesIO()
    md.save(after, state)
    assert before.getvalue() == after.getvalue()


@pytest.mark.parametrize("backend", BACKENDS)
def test_set_state_twice_replays_twice(backend):
    md.random.seed(2)
    state = md.random.get_state()
    md.random.set_state(state)
    first = draws(backend)
    md.random.set_state(state)  # set_state does not keep using the dict it was given
    assert _equal(draws(backend), first)


# ---------------------------------------------------------------------------- refusals


def _numpy_state():
    md.random.seed(4)
    md.random.randn(1)
    return md.random.get_state()


@pytest.mark.parametrize(
    "broken, message",
    [
        (lambda s: None, "takes what md.random.get_state"),
        (lambda s: {"seed": 1}, "takes what md.random.get_state"),
        (lambda s: {**s, "version": 99}, "version 99"),
        (lambda s: {**s, "generators": [1]}, "'generators' is not a dict"),
        (lambda s: {**s, "generators": {"numpy": {"bit_generator": "MT19937"}}}, "backend 'numpy'"),
        (lambda s: {**s, "generators": {"numpy": "not a state"}}, "backend 'numpy'"),
        (lambda s: {**s, "generators": {"mlx": {"key": np.zeros(3, np.uint32)}}}, "backend 'mlx'"),
    ],
    ids=["None", "keys missing", "future version", "generators not a dict", "wrong bit generator", "a str",
         "short MLX key"],
)
def test_set_state_refuses_what_get_state_did_not_make_and_changes_nothing(broken, message):
    if "mlx" in message and "mlx" not in BACKENDS:
        pytest.skip("the MLX backend cannot run here")
    state = _numpy_state()
    with pytest.raises(ValueError, match=message):
        md.random.set_state(broken(state))
    assert _equal([md.random.randn(3).numpy()], _after(state, lambda: md.random.randn(3).numpy()))


def _after(state, draw):
    """What `draw` gives right after `set_state(state)`."""
    current = md.random.get_state()
    md.random.set_state(state)
    result = [draw()]
    md.random.set_state(current)
    return result


def test_get_state_names_a_generator_that_cannot_report_its_state(monkeypatch):
    # CuPy's generator (cuRAND) is such a one until its backend gives it get_state/set_state
    monkeypatch.setitem(md.random._generators, "opaque", object())
    with pytest.raises(NotImplementedError, match="'opaque' backend's generator"):
        md.random.get_state()


# ---------------------------------------------------------------------------- NumPy's draws, exactly


def _the_same_calls(r, values, p, axis):
    """One call of each draw, spelt the same for `md.random` and a NumPy `Generator` `r`."""
    n, k = values.shape[0], values.shape[axis]
    return [
        r.permutation(n),
        r.permutation(values, axis=axis),
        r.choice(n, size=(2, 3)),
        r.choice(values, size=min(k, 3), replace=False, axis=axis),
        r.choice(values, size=4, p=p),
        r.choice(values, shuffle=False, replace=False, size=n),
        r.binomial([5, 50], [0.2, 0.9], size=(3, 2)),
    ]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32), n=st.integers(1, 6), m=st.integers(1, 4), axis=st.sampled_from([0, 1, -1]))
def test_on_numpy_the_draws_are_those_of_numpys_generator(seed, n, m, axis):
    values = np.arange(n * m, dtype=float).reshape(n, m)
    p = np.arange(1.0, n + 1) / np.arange(1.0, n + 1).sum()
    md.random.seed(seed)
    ours = [t.numpy() for t in _the_same_calls(md.random, md.Tensor(values), md.Tensor(p), axis)]
    shuffled = md.Tensor(values.copy())
    md.random.shuffle(shuffled, axis=axis)
    rng = np.random.default_rng(seed)
    theirs = _the_same_calls(rng, values, p, axis)
    expected = values.copy()
    rng.shuffle(expected, axis=axis)
    for a, b in zip([*ours, shuffled.numpy()], [*theirs, expected]):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_size_none_gives_a_0d_draw_and_an_axis_dropped():
    values = np.arange(6.0).reshape(2, 3)
    assert md.random.choice(5).shape == () and md.random.binomial(3, 0.5).shape == ()
    assert md.random.choice(values).shape == (3,) and md.random.choice(values, axis=1).shape == (2,)


# ---------------------------------------------------------------------------- every backend


@pytest.mark.parametrize("backend", BACKENDS)
def test_draws_are_valid_samples(backend):
    md.random.seed(5)
    perm = md.random.permutation(50, backend=backend)
    assert perm.backend.name == backend and perm.dtype == np.int64 and not perm.allow_grad
    np.testing.assert_array_equal(np.sort(perm.numpy()), np.arange(50))
    distinct = md.random.choice(20, size=20, replace=False, backend=backend).numpy()
    np.testing.assert_array_equal(np.sort(distinct), np.arange(20))
    weighted = md.random.choice(4, size=500, p=[0.0, 0.5, 0.0, 0.5], backend=backend).numpy()
    assert set(weighted.tolist()) == {1, 3}
    counts = md.random.binomial(md.Tensor([10, 1000], backend=backend), 0.25, size=(4000, 2))
    assert counts.backend.name == backend and counts.dtype == np.int64 and not counts.allow_grad
    host = counts.numpy()
    assert host.min() >= 0 and (host <= [10, 1000]).all()
    # mean n p, standard error sqrt(n p (1 - p) / 4000): 0.011 and 0.11; allow about 5 of them
    np.testing.assert_allclose(host.mean(axis=0), [2.5, 250.0], atol=0.6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_seed_reproduces_the_index_draws(backend):
    def run():
        md.random.seed(11)
        return [md.random.permutation(10, backend=backend).numpy(), md.random.choice(10, 5, backend=backend).numpy(),
                md.random.binomial(9, 0.5, 4, backend=backend).numpy()]

    first, again = run(), run()
    assert _equal(first, again)
    md.random.seed(12)
    assert not np.array_equal(md.random.permutation(10, backend=backend).numpy(), first[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_shuffle_is_in_place_along_an_axis(backend):
    values = np.arange(12.0).reshape(3, 4)
    x = md.Tensor(values, backend=backend)
    data = x.data
    md.random.shuffle(x, axis=1)
    assert x.data is data or backend == "mlx"  # MLX assigns into its array object
    shuffled = x.numpy()
    # each row keeps its own values; the columns move together
    np.testing.assert_array_equal(np.sort(shuffled, axis=1), values)
    column_order = (shuffled[0] - values[0, 0]).astype(int)
    np.testing.assert_array_equal(shuffled, values[:, column_order])


@pytest.mark.parametrize("backend", BACKENDS)
def test_permutation_and_choice_of_a_tensor_allowing_grad_are_differentiable(backend):
    x = md.Tensor(np.arange(5.0), allow_grad=True, backend=backend)
    y = md.random.permutation(x)
    (y * md.arange(5.0, backend=backend)).sum().backward()
    # y[i] = x[perm[i]], so d/dx[perm[i]] = i
    perm = y.detach().numpy().astype(int)
    expected = np.zeros(5)
    expected[perm] = np.arange(5.0)
    np.testing.assert_array_equal(x.grad.numpy(), expected)

    z = md.random.choice(x, size=7)  # with replacement: repeated picks add up
    z.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.bincount(z.detach().numpy().astype(int), minlength=5))


def test_shuffle_refuses_a_tensor_that_allows_grad_and_non_tensors():
    x = md.Tensor([1.0, 2.0, 3.0], allow_grad=True)
    with pytest.raises(RuntimeError, match="md.random.permutation"):
        md.random.shuffle(x)
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="ndarray"):
        md.random.shuffle(np.arange(3))


def test_shuffle_counts_as_an_in_place_change_for_a_graph_that_saved_the_tensor():
    w = md.Tensor([1.0, 2.0, 3.0], allow_grad=True)
    x = md.Tensor([1.0, 2.0, 3.0])
    y = (w * x).sum()
    md.random.shuffle(x)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: md.random.permutation(np.float64(3.0)), "at least one dimension"),
        (lambda: md.random.choice(md.Tensor(2.0)), "at least one dimension"),
        (lambda: md.random.permutation(np.ones((2, 2)), axis=2), "axis 2 is out of bounds"),
        (lambda: md.random.choice(np.ones(3), axis=-2), "axis -2 is out of bounds"),
        (lambda: md.random.shuffle(md.Tensor(1.0)), "at least one dimension"),
        (lambda: md.random.choice(md.Tensor([1.0]), backend="mlx"), "on backend 'numpy', not 'mlx'"),
    ],
    ids=["0-d permutation", "0-d choice", "permutation axis", "choice axis", "0-d shuffle", "two backends"],
)
def test_bad_arguments_raise_before_anything_is_drawn(call, message):
    md.random.seed(9)
    md.random.randn(1)
    state = md.random.get_state()
    with pytest.raises(ValueError, match=message):
        call()
    assert _equal([md.random.randn(2).numpy()], _after(state, lambda: md.random.randn(2).numpy()))


def test_numpys_own_argument_checks_come_through():
    with pytest.raises(ValueError, match="larger sample"):
        md.random.choice(3, size=4, replace=False)
    with pytest.raises(ValueError, match="(?i)probabilities"):
        md.random.choice(3, p=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="p"):
        md.random.binomial(5, 1.5)
