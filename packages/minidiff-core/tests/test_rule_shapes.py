"""The engine fits a rule's result to its operand, and names the op when it cannot."""

import numpy as np
import pytest

import minidiff as md


def _op_with_rule(rule):
    return md.create_op_func(lambda x: np.sin(x), rule, name="bad_sin")


def test_a_rule_of_lower_rank_is_an_error_naming_the_op():
    # sum(g) is a broadcastable shape (), but stretching it would give every element the same
    # wrong gradient
    f = _op_with_rule(lambda g, ans, x: md.sum(g * md.cos(x)))
    x = md.Tensor(np.ones((3, 4)), allow_grad=True)
    with pytest.raises(ValueError, match=r"'bad_sin' for operand 0 returned shape \(\)") as info:
        f(x).sum().backward()
    assert "(3, 4)" in str(info.value)


def test_an_incompatible_shape_names_the_op_not_broadcast_to():
    f = _op_with_rule(lambda g, ans, x: md.ones(5))
    x = md.Tensor(np.ones((3, 4)), allow_grad=True)
    with pytest.raises(ValueError, match=r"'bad_sin' for operand 0 returned shape \(5,\)"):
        f(x).sum().backward()


def test_size_one_axes_of_the_operands_rank_stretch_up():
    # sum's own rule returns g with the reduced axes kept as size 1
    x = md.Tensor(np.arange(12.0).reshape(3, 4), allow_grad=True)
    md.sum(x, axis=0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((3, 4)))


def test_the_broadcast_output_shape_is_summed_down():
    x = md.Tensor(np.arange(4.0), allow_grad=True)
    y = md.Tensor(np.ones((3, 1)), allow_grad=True)
    (x * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(4, 3.0))
    np.testing.assert_array_equal(y.grad.numpy(), np.full((3, 1), 6.0))
