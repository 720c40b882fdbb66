"""The index helpers op family (`copy argwhere isin unravel_index index_add`): the conformance
kit on every sample and backend, NumPy agreement on generated inputs, and `index_add`'s
write into a target that does not allow grad (as the original minidiff's did)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minidiff as md
from minidiff.testing import gradcheck, gradgradcheck


small_ints = hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), elements=st.integers(-3, 3))


@settings(max_examples=40, deadline=None)
@given(small_ints, st.lists(st.integers(-3, 3), max_size=5), st.booleans())
def test_isin_and_argwhere_agree_with_numpy(values, tests, invert):
    got = md.isin(md.Tensor(values), tests, invert=invert)
    np.testing.assert_array_equal(got.numpy(), np.isin(values, tests, invert=invert))
    assert got.dtype == np.bool_ and not got.allow_grad
    np.testing.assert_array_equal(md.argwhere(md.Tensor(values)).numpy(), np.argwhere(values))


@settings(max_examples=40, deadline=None)
@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), st.data(), st.sampled_from(["C", "F"]))
def test_unravel_index_agrees_with_numpy(shape, data, order):
    size = int(np.prod(shape))
    flat = data.draw(hnp.arrays(np.int64, st.integers(0, 4), elements=st.integers(0, size - 1)))
    got = md.unravel_index(md.Tensor(flat), shape, order=order)
    expected = np.unravel_index(flat, shape, order=order)
    assert isinstance(got, tuple) and len(got) == len(shape)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g.numpy(), e)


@settings(max_examples=40, deadline=None)
@given(
    hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
    st.data(),
)
def test_index_add_matches_numpy_add_at_and_finite_differences(shape, data):
    rows = data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=6))
    index = np.array(rows)
    target = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-2, 2)))
    values = data.draw(hnp.arrays(np.float64, (len(rows), *shape[1:]), elements=st.floats(-2, 2)))
    expected = target.copy()
    np.add.at(expected, index, values)
    np.testing.assert_allclose(md.index_add(md.Tensor(target), index, md.Tensor(values)).numpy(), expected)
    gradcheck(lambda a, b: md.index_add(a, index, b) ** 2, target, values)


def test_index_add_gradients_are_the_cotangent_and_its_gather():
    a = md.Tensor(np.zeros((4, 2)), allow_grad=True)
    b = md.Tensor(np.ones((3, 2)), allow_grad=True)
    weights = md.Tensor(np.arange(8.0).reshape(4, 2))
    (md.index_add(a, [0, 0, 3], b) * weights).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), weights.numpy())  # d out / d a = identity
    np.testing.assert_array_equal(b.grad.numpy(), weights.numpy()[[0, 0, 3]])  # d out / d b = g[indices]


def test_index_add_differentiates_to_second_order():
    index = np.array([1, 1, 0])
    gradgradcheck(lambda a, b: md.index_add(a, index, b) ** 3, np.array([0.5, -1.0]), np.array([0.3, 0.7, -0.2]))


def test_index_add_writes_into_a_target_that_does_not_allow_grad():
    # the original minidiff's getitem gradient, verbatim in spirit: the result is ignored
    grad = md.Tensor([1.0, 2.0, 3.0])
    ret = md.zeros(4)
    returned = md.index_add(ret, md.Tensor([3, 0, 3]), grad)
    np.testing.assert_array_equal(ret.numpy(), [2.0, 0.0, 0.0, 4.0])
    np.testing.assert_array_equal(returned.numpy(), ret.numpy())
    assert returned is not ret


def test_index_add_leaves_a_target_that_allows_grad_alone():
    a = md.Tensor([1.0, 1.0], allow_grad=True)
    out = md.index_add(a, [0], 5.0)
    np.testing.assert_array_equal(a.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(out.numpy(), [6.0, 1.0])


def test_index_add_into_a_constant_target_still_differentiates_the_values():
    b = md.Tensor([2.0, 3.0], allow_grad=True)
    target = md.zeros(3)
    out = md.index_add(target, [2, 2], b)
    (out * md.Tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(target.numpy(), [0.0, 0.0, 5.0])
    np.testing.assert_array_equal(b.grad.numpy(), [100.0, 100.0])


def test_index_add_in_place_is_seen_by_a_graph_that_saved_the_target():
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    c = md.Tensor([3.0, 4.0])
    y = (x * c).sum()  # saves c for x's gradient
    md.index_add(c, [0], 1.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_index_add_refuses_a_narrowing_cast():
    with pytest.raises(TypeError, match="float64 into a target of dtype int64"):
        md.index_add(md.Tensor([1, 2]), [0], md.Tensor([0.5]))


def test_copy_is_new_memory_with_an_identity_gradient():
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    y = md.copy(x)
    assert not np.shares_memory(x.numpy(), y.numpy())
    (md.sin(y)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos([1.0, 2.0]))
    with md.no_grad():
        assert not md.copy(x).allow_grad
