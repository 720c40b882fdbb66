"""Recorded in-place writes and views (`minidiff.inplace`), against hand-derived gradients.

Every case builds `y = x * 1` (a computed tensor), writes into it, and checks the values and
the gradients of `x` (the surviving elements) and of the written value, on NumPy and on MLX
(whose arrays are immutable: views and writes there are emulated by functional updates).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minidiff as md


def tensor(values, allow_grad=True):
    return md.Tensor(np.array(values, dtype=np.float32), allow_grad=allow_grad)


def close(t, expected):
    np.testing.assert_allclose(np.asarray(t.numpy(), dtype=np.float64), expected, rtol=1e-5, atol=1e-6)


C = np.array([1.0, 2.0, 3.0, 4.0])  # loss weights: d sum(C * y) / d y = C


def weighted(y):
    return md.sum(y * md.Tensor(C.astype(np.float32)))


# ---------------------------------------------------------------------------- __setitem__


@pytest.mark.parametrize(
    "key, value, x_grad, v_grad",
    [
        (1, 10.0, [1, 0, 3, 4], 2.0),  # an int
        (slice(1, 3), [10.0, 20.0], [1, 0, 0, 4], [2, 3]),  # a slice
        (slice(None, None, 2), 10.0, [0, 2, 0, 4], 4.0),  # a broadcast value gets the sum
        ([2, 0, 2], [10.0, 20.0, 30.0], [0, 2, 0, 4], [0, 1, 3]),  # repeated: the last write wins
        (np.array([True, False, False, True]), [10.0, 20.0], [0, 2, 3, 0], [1, 4]),  # a mask
        (Ellipsis, [5.0, 6.0, 7.0, 8.0], [0, 0, 0, 0], [1, 2, 3, 4]),  # the whole tensor
    ],
)
def test_setitem_sends_survivors_to_x_and_writes_to_the_value(backend, key, value, x_grad, v_grad):
    x = tensor([1.0, 2.0, 3.0, 4.0])
    v = tensor(value)
    y = x * 1
    before = id(y)
    y[key] = v
    expected = np.array([1.0, 2.0, 3.0, 4.0])
    expected[key] = value
    assert id(y) == before and y.allow_grad and not y.is_leaf
    close(y, expected)
    weighted(y).backward()
    if key is Ellipsis:
        assert x.grad is None  # nothing of x survives: the pass does not reach it
    else:
        close(x.grad, x_grad)
    close(v.grad, v_grad)


def test_setitem_with_a_two_dimensional_advanced_key_and_extra_leading_axes(backend):
    x = tensor(np.arange(6.0).reshape(2, 3))
    v = tensor([[[10.0, 20.0]]])  # shape (1, 1, 2): NumPy drops the leading size-1 axes
    y = x * 1
    y[[0, 1], [2, 0]] = v
    close(y, [[0, 1, 10], [20, 4, 5]])
    md.sum(y * y).backward()
    close(x.grad, [[0, 2, 0], [0, 8, 10]])
    close(v.grad, [[[20, 40]]])


def test_a_constant_written_into_a_computed_tensor_cuts_only_the_written_elements(backend):
    x = tensor([1.0, 2.0, 3.0, 4.0])
    y = x * 1
    y[0] = 7.0
    y[[1, 1]] = md.Tensor(np.array([8.0, 9.0], dtype=np.float32))  # a constant tensor value
    close(y, [7, 9, 3, 4])
    weighted(y).backward()
    close(x.grad, [0, 0, 3, 4])


def test_repeated_writes_to_one_place_leave_only_the_last_one_differentiable(backend):
    x = tensor([1.0, 2.0, 3.0, 4.0])
    a, b = tensor(5.0), tensor(6.0)
    y = x * 1
    y[0] = a
    y[0] = b
    y[1] = a * b
    weighted(y).backward()
    close(x.grad, [0, 0, 3, 4])
    close(a.grad, 2 * 6.0)  # only through y[1] = a * b
    close(b.grad, 1 + 2 * 5.0)


def test_a_value_that_allows_grad_makes_a_constant_a_computed_tensor(backend):
    t = md.zeros(4, dtype=np.float32)
    v = tensor([3.0, 4.0])
    t[1:3] = v * v
    assert t.allow_grad and not t.is_leaf
    weighted(t).backward()
    close(v.grad, [2 * 3.0 * 2, 2 * 4.0 * 3])


# ---------------------------------------------------------------------------- augmented assignment


@pytest.mark.parametrize(
    "how, y_expected, x_grad, w_grad",
    [
        # y = x op w, with x = [1, 2, 3, 4] and w = [2, 2, 4, 4]; loss = sum(C * y)
        ("+=", [3, 4, 7, 8], C, C),
        ("-=", [-1, 0, -1, 0], C, -C),
        ("*=", [2, 4, 12, 16], C * [2, 2, 4, 4], C * [1, 2, 3, 4]),
        ("/=", [0.5, 1, 0.75, 1], C / [2, 2, 4, 4], -C * np.array([1, 2, 3, 4]) / np.array([2, 2, 4, 4]) ** 2),
        (
            "**=",
            np.array([1, 2, 3, 4]) ** np.array([2, 2, 4, 4]),
            C * [2, 2, 4, 4] * np.array([1, 2, 3, 4]) ** np.array([1, 1, 3, 3]),
            C * np.array([1, 2, 3, 4]) ** np.array([2, 2, 4, 4]) * np.log([1, 2, 3, 4]),
        ),
    ],
)
def test_augmented_assignment_is_recorded(backend, how, y_expected, x_grad, w_grad):
    x = tensor([1.0, 2.0, 3.0, 4.0])
    w = tensor([2.0, 2.0, 4.0, 4.0])
    y = x * 1
    before = id(y)
    if how == "+=":
        y += w
    elif how == "-=":
        y -= w
    elif how == "*=":
        y *= w
    elif how == "/=":
        y /= w
    else:
        y **= w
    assert id(y) == before
    close(y, y_expected)
    weighted(y).backward()
    close(x.grad, x_grad)
    close(w.grad, w_grad)


def test_matmul_assignment_is_recorded(backend):
    x = tensor([[1.0, 2.0], [3.0, 4.0]])
    a = tensor([[0.0, 1.0], [2.0, 3.0]])
    y = x * 1
    y @= a
    close(y, np.array([[1, 2], [3, 4]]) @ np.array([[0, 1], [2, 3]]))
    md.sum(y).backward()
    close(x.grad, np.ones((2, 2)) @ np.array([[0, 1], [2, 3]]).T)
    close(a.grad, np.array([[1, 2], [3, 4]]).T @ np.ones((2, 2)))


# ---------------------------------------------------------------------------- views


@pytest.mark.parametrize(
    "view, key, x_grad",
    [
        (lambda y: y[1:], 0, [[1, 2, 3], [0, 0, 0]]),  # y[1:][0] is y[1]: the whole second row
        (lambda y: y.T, (2, 0), [[1, 2, 0], [4, 5, 6]]),
        (lambda y: md.transpose(y), (0, 1), [[1, 2, 3], [0, 5, 6]]),
        (lambda y: md.reshape(y, (6,)), 4, [[1, 2, 3], [4, 0, 6]]),
        (lambda y: md.diagonal(y), 1, [[1, 2, 3], [4, 0, 6]]),
        (lambda y: md.swapaxes(y, 0, 1), (1, 1), [[1, 2, 3], [4, 0, 6]]),
        (lambda y: md.expand_dims(y, 0), (0, 0, 2), [[1, 2, 0], [4, 5, 6]]),
        (lambda y: md.squeeze(md.reshape(y, (1, 2, 3))), (1, 2), [[1, 2, 3], [4, 5, 0]]),
    ],
)
def test_a_write_through_a_view_lands_in_its_base(backend, view, key, x_grad):
    weights = np.arange(1.0, 7.0).reshape(2, 3)
    x = tensor(np.zeros((2, 3)))
    v = tensor(100.0)
    y = x * 1
    written = view(y)
    written[key] = v
    hit = np.array(x_grad) == 0  # the elements of y the write reached
    close(y, np.where(hit, 100.0, 0.0))
    v_grad = weights[hit].sum()  # a broadcast value collects every element it wrote
    md.sum(y * md.Tensor(weights.astype(np.float32))).backward()
    close(x.grad, x_grad)
    close(v.grad, v_grad)


def test_a_view_used_after_its_base_changed_sees_the_write(backend):
    x = tensor([1.0, 2.0, 3.0, 4.0])
    v = tensor(10.0)
    y = x * 1
    tail = y[1:]
    y[1] = v
    close(tail, [10, 3, 4])
    md.sum(tail * tail).backward()
    close(x.grad, [0, 0, 6, 8])
    close(v.grad, 20)


def test_augmented_assignment_through_a_view(backend):
    x = tensor([1.0, 2.0, 3.0, 4.0])
    w = tensor([2.0, 3.0])
    y = x * 1
    y[1:3] *= w  # y = [x0, 2 x1, 3 x2, x3]
    close(y, [1, 4, 9, 4])
    weighted(y).backward()
    close(x.grad, C * [1, 2, 3, 1])
    close(w.grad, [2 * 2, 3 * 3])


def test_one_view_sees_a_write_through_another(backend):
    x = tensor(np.zeros((2, 2)))
    y = x * 1
    transposed = y.T
    row = y[0]
    row[1] = tensor(5.0)
    close(transposed, [[0, 0], [5, 0]])
    md.sum(transposed * md.Tensor(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))).backward()
    close(x.grad, [[1, 0], [2, 4]])


def test_unrecorded_writes_through_a_view_reach_the_base(backend):
    c = md.zeros(4, dtype=np.float32)
    c[1:][1] = 7.0
    c.reshape(2, 2)[1, 1] += 1.0
    close(c, [0, 0, 7, 1])


# ---------------------------------------------------------------------------- what still raises


def test_a_leaf_that_allows_grad_still_refuses_outside_no_grad(backend):
    x = tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="no_grad"):
        x[0] = 3.0
    with pytest.raises(RuntimeError, match="no_grad"):
        x[1:] += 1.0
    with pytest.raises(RuntimeError, match="no_grad"):
        x **= 2
    with md.no_grad():
        x[0] = 3.0
    assert x.is_leaf
    close(x, [3, 2])


def test_a_write_to_a_value_a_rule_still_needs_raises_at_backward(backend):
    x = tensor([1.0, 2.0])
    y = md.exp(x)  # exp's rule reads its output
    y[0] = 0.0
    with pytest.raises(RuntimeError, match="modified in place"):
        md.sum(y).backward()
    z = x * 1
    s = md.sin(z)  # sin's rule reads its input
    z += 1.0
    with pytest.raises(RuntimeError, match="modified in place"):
        md.sum(s).backward()


def test_a_write_after_use_that_no_rule_reads_keeps_the_old_gradient(backend):
    x = tensor([1.0, 2.0])
    y = x * 1
    doubled = y * 2.0  # multiply by a constant keeps nothing of y
    y[0] = 100.0
    md.sum(doubled + y).backward()
    close(x.grad, [2, 3])


def test_a_recorded_write_into_a_detached_alias_raises(backend):
    y = tensor([1.0, 2.0]) * 1
    alias = y.detach()
    with pytest.raises(RuntimeError, match="shares memory"):
        alias[0] = tensor(3.0)


# ---------------------------------------------------------------------------- higher order


def test_hessian_through_in_place_code(backend):
    def f(x):
        y = x * 1
        y[0] = x[1] ** 2
        y[1:] *= x[:2]  # y = [x1^2, x0 x1, x1 x2]
        return md.sum(y**3)

    # f = x1^6 + x0^3 x1^3 + x1^3 x2^3, at (1, 2, 3)
    x0, x1, x2 = 1.0, 2.0, 3.0
    expected = [
        [6 * x0 * x1**3, 9 * x0**2 * x1**2, 0],
        [9 * x0**2 * x1**2, 30 * x1**4 + 6 * x0**3 * x1 + 6 * x1 * x2**3, 9 * x1**2 * x2**2],
        [0, 9 * x1**2 * x2**2, 6 * x1**3 * x2],
    ]
    close(md.hessian(f)(md.Tensor(np.array([x0, x1, x2], dtype=np.float32))), expected)


def test_allow_higher_order_through_a_write(backend):
    x = tensor([2.0, 3.0])
    y = x * 1
    y[0] = x[1] * x[1]
    md.sum(y * y).backward(allow_higher_order=True)  # d/dx = [0, 2 x1 + 4 x1^3]
    close(x.grad, [0, 2 * 3 + 4 * 27])
    md.sum(x.grad).backward()
    close(x.grad, [0, 2 + 12 * 9])


# ---------------------------------------------------------------------------- generic


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=8))
def test_an_index_array_with_repeats_matches_the_last_write_rule(index):
    x = md.Tensor(np.arange(6.0), allow_grad=True)
    values = np.arange(10.0, 10.0 + len(index))
    v = md.Tensor(values, allow_grad=True)
    weights = np.linspace(1.0, 2.0, 6)
    y = x * 1
    y[np.array(index)] = v
    expected = np.arange(6.0)
    last = {position: j for j, position in enumerate(index)}
    for position, j in last.items():
        expected[position] = values[j]
    np.testing.assert_array_equal(y.numpy(), expected)
    md.sum(y * md.Tensor(weights)).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0 if i in last else weights[i] for i in range(6)])
    np.testing.assert_allclose(
        v.grad.numpy(), [weights[p] if last[p] == j else 0.0 for j, p in enumerate(index)]
    )


# ---------------------------------------------------------------------------- aliasing and odd values


def test_an_augmented_assignment_of_a_tensor_with_itself_reads_the_old_value(backend):
    x = tensor([1.0, 2.0])
    y = x * 1
    y *= y
    close(y, [1, 4])
    md.sum(y).backward()
    close(x.grad, [2, 4])


def test_an_augmented_assignment_from_a_view_of_the_same_tensor(backend):
    x = tensor([1.0, 2.0, 5.0])
    y = x * 1
    y[1:] += y[:-1]  # Python reads y[:-1] first: y = [x0, x1 + x0, x2 + x1]
    close(y, [1, 3, 7])
    md.sum(y * md.Tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32))).backward()
    close(x.grad, [1 + 2, 2 + 3, 3])


def test_an_integer_tensor_holds_a_cast_of_a_value_that_allows_grad(backend):
    t = md.zeros(3, dtype=np.int64)
    t[0] = tensor(2.5) * 1
    assert not t.allow_grad and t.numpy().tolist() == [2, 0, 0]


def test_jacobian_through_in_place_code(backend):
    def f(x):
        y = x * 1
        y[1:] += x[:-1] ** 2
        y[0] = md.sin(x[2])
        return y

    x0, x1, x2 = 0.3, 0.7, 1.1
    expected = [[0, 0, np.cos(x2)], [2 * x0, 1, 0], [0, 2 * x1, 1]]
    close(md.jacobian(f)(md.Tensor(np.array([x0, x1, x2], dtype=np.float32))), expected)


def test_a_slice_used_before_a_write_keeps_its_gradient_and_a_saved_one_raises(backend):
    x = tensor([1.0, 2.0, 3.0])
    y = x * 1
    s = md.sum(y[1:] * 3.0)  # getitem needs only the shape of y, multiply by a constant nothing
    y[1] = tensor(10.0)
    s.backward()
    close(x.grad, [0, 3, 3])
    y = x * 1
    saved = md.sum(md.sin(y[1:]))  # sin keeps the slice, which shares y's buffer
    y[2] = 0.0
    with pytest.raises(RuntimeError, match="modified in place"):
        saved.backward()


# ---------------------------------------------------------------------------- ufuncs with out= and where=


def test_ufunc_out_into_a_computed_tensor_is_recorded(backend):
    x = tensor([1.0, 2.0, 3.0, 4.0])
    y = x * 1
    assert np.multiply(y, y, out=y) is y  # y = x^2, y an operand too: its old value is read
    close(y, [1, 4, 9, 16])
    weighted(y).backward()
    close(x.grad, 2 * C * [1, 2, 3, 4])


def test_ufunc_where_keeps_the_old_values_elsewhere(backend):
    x = tensor([1.0, 2.0, 3.0, 4.0])
    y = x * 1
    np.exp(y, out=y, where=np.array([True, False, True, False]))
    close(y, [np.e, 2, np.exp(3), 4])
    weighted(y).backward()
    close(x.grad, C * [np.e, 1, np.exp(3), 1])
    target = md.zeros(4, dtype=np.float32)  # a constant out= becomes the result
    np.sin(x, out=target, where=np.array([False, True, True, False]))
    weighted(target).backward()
    close(x.grad, C * [0, np.cos(2), np.cos(3), 0])


def test_ufunc_out_through_a_view_lands_in_the_base(backend):
    x = tensor([1.0, 2.0, 3.0, 4.0])
    y = x * 1
    np.add(y[2:], 10.0, out=y[2:])
    close(y, [1, 2, 13, 14])
    md.sum(y * y).backward()
    close(x.grad, [2, 4, 26, 28])


def test_ufunc_out_into_a_leaf_that_allows_grad_still_refuses(backend):
    x = tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="no_grad"):
        np.add(x, 1.0, out=x)
    with md.no_grad():
        np.add(x, 1.0, out=x)
    assert x.is_leaf
    close(x, [2, 3])


def test_a_long_chain_of_views_follows_a_write_without_recursion(backend):
    x = md.Tensor(np.ones(3000, dtype=np.float32), allow_grad=True)
    y = x * 1
    z = y
    for _ in range(2000):  # beyond Python's recursion limit
        z = z[1:]
    y[2500] = tensor(5.0)
    assert md.sum(z).item() == 1004.0
    md.sum(z).backward()
    assert x.grad.numpy().sum() == 999.0
    z[0] = 7.0  # and a write through the last view reaches y
    assert y[2000].item() == 7.0


def test_one_element_is_a_copy_and_a_row_a_view_as_in_numpy(backend):
    y = md.Tensor(np.array([1.0, 2.0], dtype=np.float32))
    element = y[0]
    element[...] = 9.0
    close(y, [1, 2])
    z = md.Tensor(np.array([[1.0, 2.0]], dtype=np.float32))
    row = z[0]
    row[0] = 9.0
    close(z, [[9, 2]])
