"""The batching rules of the shape and linear families under random shapes, keys, axes and
subscripts: `md.vmap` of each op must equal a loop over the batch, in values and in
gradients, for the batch on any input axis, for shared (unbatched) operands, and nested.
The conformance kit checks every op on its fixed samples; these go where samples do not
(advanced indices separated by slices, `squeeze()` of a batch of one, matmul of every rank,
einsum strings)."""

from __future__ import annotations

import string

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minidiff as md
from minidiff.optable import ops

# every op here has a rule: a loop fallback is a bug
pytestmark = pytest.mark.filterwarnings("error::minidiff.batching.apply.BatchingFallbackWarning")

BACKENDS = [b for b in ("numpy", "mlx") if b in md.available_backends()]
SETTINGS = settings(max_examples=40, deadline=None)


def _dtype(backend: str) -> type:
    return np.float64 if md.get_backend(backend).supports_float64 else np.float32


def _tolerance(backend: str) -> dict:
    return dict(rtol=1e-12, atol=1e-12) if _dtype(backend) is np.float64 else dict(rtol=1e-4, atol=1e-5)


def check(f, args, in_axes, backend="numpy", grad=True):
    """vmap(f, in_axes)(*args) against f on each example, stacked; and the gradient of a
    random weighting of the outputs against each example's."""
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    size = next(np.shape(a)[ax] for a, ax in zip(args, axes) if ax is not None)
    dtype, tol = _dtype(backend), _tolerance(backend)
    args = [np.asarray(a, dtype=dtype) for a in args]
    tensors = [md.Tensor(a, allow_grad=grad, backend=backend) for a in args]
    got = md.vmap(f, in_axes=in_axes)(*tensors)
    def example(i):
        one = [a if ax is None else np.take(a, i, axis=ax) for a, ax in zip(args, axes)]
        return [md.Tensor(a, allow_grad=grad, backend=backend) for a in one]

    singles = [example(i) for i in range(size)]
    outs = [f(*one) for one in singles]
    expected = np.stack([o.numpy() for o in outs])
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.numpy(), expected, **tol)
    if not grad:
        return
    weights = np.random.default_rng(0).standard_normal(expected.shape).astype(dtype)
    argnums = tuple(range(len(args)))

    def weighted(outs, w):
        return md.sum(outs * md.Tensor(w, backend=backend))

    batch_grads = md.grad(lambda *xs: weighted(md.vmap(f, in_axes=in_axes)(*xs), weights), argnums=argnums)(*tensors)
    for i, one in enumerate(singles):
        alone = md.grad(lambda *xs: weighted(f(*xs), weights[i]), argnums=argnums)(*one)
        for g_batch, g_one, ax in zip(batch_grads, alone, axes):
            if ax is not None:  # a shared input's gradient sums over the batch
                np.testing.assert_allclose(np.take(g_batch.numpy(), i, axis=ax), g_one.numpy(), **tol)


def batched_shape(shape, axis, size):
    """`shape` with the batch of `size` inserted at input axis `axis` (negative allowed)."""
    axis = axis % (len(shape) + 1)
    return shape[:axis] + (size,) + shape[axis:]


shapes = st.lists(st.integers(1, 4), min_size=0, max_size=4).map(tuple)
batch_sizes = st.integers(1, 3)


# ---------------------------------------------------------------------------- getitem


def _mlx_scatter_differs(backend, key):
    """MLX's scatter (getitem's gradient) counts an int among array indices as a basic
    index, even for one example: no gradient to compare there."""
    has = lambda kind: any(isinstance(k, kind) and not isinstance(k, bool) for k in key)  # noqa: E731
    return backend == "mlx" and has(int) and has(np.ndarray)


@st.composite
def index_keys(draw, shape, booleans=True):
    """A random NumPy key for an array of `shape`: ints, slices, None, one Ellipsis, integer
    arrays (which broadcast together) and boolean masks (with `booleans`; Python bools too
    with "all"), in any order."""
    key, dim, rng = [], 0, np.random.default_rng(draw(st.integers(0, 2**16)))
    used_ellipsis = False
    array_shape = draw(st.sampled_from([(), (2,), (1, 3), (2, 1)]))
    while dim < len(shape) and draw(st.booleans()):
        n = shape[dim]
        kind = draw(st.sampled_from(["int", "slice", "none", "ellipsis", "array", "mask", "mask2", "bool"]))
        if kind == "int":
            key.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            key.append(slice(draw(st.none() | st.integers(-n, n)), draw(st.none() | st.integers(-n, n)),
                             draw(st.sampled_from([None, 1, 2, -1]))))
        elif kind == "none":
            key.append(None)
            continue
        elif kind == "ellipsis" and not used_ellipsis:
            key.append(Ellipsis)
            used_ellipsis = True
            dim = len(shape) - sum(1 for k in key if k is not None and k is not Ellipsis)
            dim = max(dim, len(shape))  # nothing after the Ellipsis
            break
        elif kind == "array":
            key.append(rng.integers(-n, n, size=array_shape))
        elif kind == "mask" and booleans:
            key.append(rng.random(n) < 0.6)
        elif kind == "mask2" and booleans and dim + 1 < len(shape):
            key.append(rng.random((n, shape[dim + 1])) < 0.6)
            dim += 1
        elif kind == "bool" and booleans == "all":  # NumPy's x[True]: a new axis of 1 (MLX takes none)
            key.append(draw(st.booleans()))
            continue
        else:
            key.append(slice(None))
        dim += 1
    key = tuple(key)
    try:
        np.empty(shape)[key]
    except IndexError:  # arrays that do not broadcast together (a mask's count against an array)
        assume(False)
    return key


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(data=st.data(), shape=shapes, size=batch_sizes)
def test_getitem_of_any_key_equals_the_loop(backend, data, shape, size):
    key = data.draw(index_keys(shape, booleans="all" if backend == "numpy" else True))
    assume(backend == "numpy" or 0 not in np.empty(shape)[key].shape)  # MLX's scatter of nothing crashes
    at = data.draw(st.integers(-len(shape) - 1, len(shape)))
    x = np.random.default_rng(1).standard_normal(batched_shape(shape, at, size))
    check(lambda t: t[key], [x], at, backend, grad=not _mlx_scatter_differs(backend, key))


SEPARATED_KEYS = [
    (np.array([0, 2]), slice(None), np.array([1, 0])),  # arrays apart: their axes go first
    (1, slice(None), np.array([[0], [1]])),  # an int counts as an array when one is there
    (np.array([0, 1]), Ellipsis, np.array([1, 1])),  # even an Ellipsis spanning no axis parts them
    (np.array([0, 1]), None, np.array([1, 1])),
    (slice(None), np.array([[0, 1]]), np.array([1])),  # adjacent: in place
    (np.array([True, False, True]), slice(1, 3), np.array([0, 3])),
]


@pytest.mark.parametrize("key", SEPARATED_KEYS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_getitem_puts_the_batch_first_wherever_numpy_puts_advanced_axes(backend, key):
    x = np.random.default_rng(2).standard_normal((5, 3, 4, 4))
    check(lambda t: t[key], [x], 0, backend, grad=not _mlx_scatter_differs(backend, key))


@pytest.mark.parametrize("key", SEPARATED_KEYS)
def test_scatter_add_puts_values_where_numpy_puts_advanced_axes(key):
    # NumPy only: MLX's scatter places separated advanced axes in place, one example or many
    picked = np.zeros((3, 4, 4))[key].shape
    check(lambda v: ops.scatter_add(v, shape=(3, 4, 4), key=key), [np.ones((2, *picked))], 0)


@SETTINGS
@given(data=st.data(), shape=shapes.filter(bool), size=batch_sizes)
def test_scatter_add_of_any_key_equals_the_loop(data, shape, size):
    # NumPy only: MLX's scatter places separated advanced axes in place, one example or many
    key = data.draw(index_keys(shape, booleans="all"))
    picked = np.zeros(shape)[key].shape
    values = np.random.default_rng(3).standard_normal((size, *picked))
    check(lambda v: ops.scatter_add(v, shape=shape, key=key), [values], 0)


# ---------------------------------------------------------------------------- axes and shapes


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(data=st.data(), shape=shapes, size=batch_sizes)
def test_axis_ops_equal_the_loop(backend, data, shape, size):
    ndim = len(shape)
    at = data.draw(st.integers(-ndim - 1, ndim))
    x = np.random.default_rng(4).standard_normal(batched_shape(shape, at, size))
    axis = st.integers(-ndim, ndim - 1) if ndim else st.nothing()
    perm = data.draw(st.permutations(range(ndim)))
    cases = [
        lambda t: md.transpose(t),
        lambda t: md.transpose(t, [p - ndim if p % 2 else p for p in perm]),
        lambda t: md.reshape(t, (-1,)),
        lambda t: md.reshape(t, shape[::-1]),
        lambda t: md.squeeze(t),
        lambda t: md.expand_dims(t, (0, -1)),
        lambda t: md.flip(t),
        lambda t: md.repeat(t, 2),
        lambda t: md.tile(t, (2, 1, 1)),
        lambda t: md.broadcast_to(t, (2, *shape)),
    ]
    if ndim:  # (MLX pads no 0-d array)
        a, b = data.draw(axis), data.draw(axis)
        cases += [
            lambda t: md.pad(t, 1, constant_values=0.5),
            lambda t: md.pad(t, [(i % 2, 1) for i in range(ndim)], mode="edge"),
            lambda t: md.swapaxes(t, a, b),
            lambda t: md.moveaxis(t, a, b),
            lambda t: md.flip(t, a),
            lambda t: md.repeat(t, 2, axis=a),
            lambda t: md.concatenate([t, t], axis=a),
            lambda t: md.stack([t, t], axis=a),
            lambda t: md.take_along_axis(t, md.Tensor(np.zeros((1,) * ndim, dtype=int), backend=backend), axis=a),
        ]
        ones = tuple(d for d, n in enumerate(shape) if n == 1)
        if ones:
            cases.append(lambda t: md.squeeze(t, ones[-1] - ndim))
    check(data.draw(st.sampled_from(cases)), [x], at, backend)


def test_squeeze_never_squeezes_a_batch_of_one():
    got = md.vmap(md.squeeze)(md.ones((1, 1, 3, 1)))
    assert got.shape == (1, 3)


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(data=st.data(), shape=shapes.filter(bool), size=batch_sizes)
def test_joining_batched_and_shared_operands(backend, data, shape, size):
    ndim = len(shape)
    axis = data.draw(st.integers(-ndim, ndim - 1))
    mask = data.draw(st.lists(st.booleans(), min_size=3, max_size=3).filter(any))
    rng = np.random.default_rng(5)
    args = [rng.standard_normal((size, *shape) if m else shape) for m in mask]
    in_axes = tuple(0 if m else None for m in mask)
    check(lambda *ts: md.concatenate(ts, axis=axis), args, in_axes, backend)
    check(lambda *ts: md.stack(ts, axis=axis), args, in_axes, backend)
    check(lambda *ts: md.concatenate(ts, axis=None), args, in_axes, backend)


# ---------------------------------------------------------------------------- products


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(data=st.data(), size=batch_sizes)
def test_matmul_of_every_rank_combination(backend, data, size):
    n, k, m = 2, 3, 4
    stack_a = data.draw(st.sampled_from([(), (2,), (1,), (3, 1)]))
    stack_b = data.draw(st.sampled_from([(), (1,), (2,), (1, 2)]))  # each broadcasts against each of a's
    a_shape = data.draw(st.sampled_from([(k,), (*stack_a, n, k)]))
    b_shape = data.draw(st.sampled_from([(k,), (*stack_b, k, m)]))
    in_axes = data.draw(st.sampled_from([(0, 0), (0, None), (None, 0), (-1, 0), (0, -1)]))
    rng = np.random.default_rng(6)
    pairs = zip((a_shape, b_shape), in_axes)
    args = [rng.standard_normal(s if ax is None else batched_shape(s, ax, size)) for s, ax in pairs]
    check(md.matmul, args, in_axes, backend)


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(data=st.data(), size=batch_sizes)
def test_dot_tensordot_outer_inner(backend, data, size):
    a_shape = data.draw(st.sampled_from([(), (3,), (2, 3), (4, 2, 3)]))
    b_shape = data.draw(st.sampled_from([(), (3,), (3, 2), (2, 3, 2)]))
    in_axes = data.draw(st.sampled_from([(0, 0), (0, None), (None, 0)]))
    rng = np.random.default_rng(7)
    args = [rng.standard_normal(s if ax is None else (size, *s)) for s, ax in zip((a_shape, b_shape), in_axes)]
    check(md.dot, args, in_axes, backend)
    check(md.outer, args, in_axes, backend)
    if a_shape and b_shape:
        check(lambda x, y: md.tensordot(x, y, axes=([-1], [-2 if len(b_shape) > 1 else 0])), args, in_axes, backend)
        check(lambda x, y: md.tensordot(x, y, axes=0), args, in_axes, backend)


@st.composite
def einsum_calls(draw):
    """Subscripts over 1-3 operands with explicit or implicit output, '...' sometimes, and
    operand shapes to match."""
    sizes = {c: draw(st.integers(1, 3)) for c in "ijkl"}
    count = draw(st.integers(1, 3))
    specs = ["".join(draw(st.lists(st.sampled_from("ijkl"), min_size=0, max_size=3))) for _ in range(count)]
    ellipsis = draw(st.booleans())
    dots = draw(st.sampled_from([(), (2,), (1, 2)])) if ellipsis else ()
    used = "".join(specs)
    singles = sorted(c for c in set(used) if used.count(c) == 1)
    explicit = draw(st.booleans())
    inputs = ["..." + s if ellipsis else s for s in specs]
    subscripts = ",".join(inputs)
    if explicit:
        out = draw(st.permutations(sorted(set(used)))).copy()
        out = "".join(out[: draw(st.integers(0, len(out)))])
        subscripts += "->" + ("..." if ellipsis else "") + out
    shapes = [dots[len(dots) - draw(st.integers(0, len(dots))):] + tuple(sizes[c] for c in s) for s in specs]
    return subscripts, shapes, singles


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(call=einsum_calls(), data=st.data(), size=batch_sizes)
def test_einsum_strings_equal_the_loop(backend, call, data, size):
    subscripts, shapes, _ = call
    mask = data.draw(st.lists(st.booleans(), min_size=len(shapes), max_size=len(shapes)).filter(any))
    rng = np.random.default_rng(8)
    args = [rng.standard_normal((size, *s) if m else s) for s, m in zip(shapes, mask)]
    in_axes = tuple(0 if m else None for m in mask)
    check(lambda *xs: md.einsum(subscripts, *xs), args, in_axes, backend)


def test_trace_and_einsum_of_a_diagonal():
    x = np.random.default_rng(9).standard_normal((3, 2, 4, 4))
    check(lambda t: md.trace(t, offset=1, axis1=-1, axis2=1), [x], 0)
    check(lambda t: md.einsum("...ii->...i", t), [x], 1)


# ---------------------------------------------------------------------------- nested vmap


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=15, deadline=None)
@given(data=st.data(), shape=shapes.filter(lambda s: len(s) >= 2))
def test_nested_vmap_equals_a_double_loop(backend, data, shape):
    ndim = len(shape)
    key = data.draw(index_keys(shape, booleans="all" if backend == "numpy" else True))
    assume(backend == "numpy" or 0 not in np.empty(shape)[key].shape)
    a, b = data.draw(st.integers(-ndim, ndim - 1)), data.draw(st.integers(-ndim, ndim - 1))
    f = data.draw(st.sampled_from([
        lambda t: t[key],
        lambda t: md.moveaxis(t, a, b),
        lambda t: md.squeeze(md.expand_dims(t, a)),
        lambda t: md.matmul(t, md.swapaxes(t, -1, -2)),
        lambda t: md.einsum("...ij,...kj->...ik", t, t),
    ]))
    x = np.random.default_rng(10).standard_normal((2, *shape[:1], 3, *shape[1:]))
    inner = md.vmap(f, in_axes=1)  # the inner batch is axis 2 of x, axis 1 of what the outer vmap sees
    check(inner, [x], 0, backend, grad=not _mlx_scatter_differs(backend, key))


# ---------------------------------------------------------------------------- numpy extras


@pytest.mark.parametrize("k", [-1, 0, 2])
def test_triangles_of_a_vector_are_its_rows_repeated_per_example(k):
    # NumPy's tril/triu read a 1-D input as the square matrix of its copies (MLX refuses 1-D)
    x = np.random.default_rng(11).standard_normal((3, 4))
    check(lambda t: md.tril(t, k=k), [x], 0)
    check(lambda t: md.triu(t, k=k), [x], 1)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("key", [(None, slice(None, None, -1)), (slice(None, None, -2), None)], ids=["new-reversed", "reversed-new"])
def test_a_reversing_slice_with_a_new_axis_differentiates_batched_and_not(backend, key):
    # MLX takes index positions only from contiguous host arrays; a reversing slice gives
    # negative strides (found by the hypothesis test above)
    weights = md.Tensor(np.arange(1.0, 5.0), backend=backend)
    x = np.arange(8.0).reshape(2, 4)
    f = lambda t: md.sum(t[key] * md.reshape(weights[: t[key].size], t[key].shape))  # noqa: E731
    expected = np.stack([md.grad(f)(md.Tensor(row, backend=backend)).numpy() for row in x])
    got = md.vmap(md.grad(f))(md.Tensor(x, backend=backend)).numpy()
    np.testing.assert_array_equal(got, expected)
    assert np.count_nonzero(expected) > 0
