"""A node keeps only the values its rules read (minidiff.saved), and what it drops cannot
make a gradient wrong: in-place changes to a kept buffer are still caught."""

from __future__ import annotations

import functools
import weakref

import numpy as np
import pytest

import minidiff as md
from minidiff.engine import grad
from minidiff.extend import Op
from minidiff.graph import FuncNode
from minidiff.saved import KEEP_ALL, rule_reads


def test_scaling_by_a_constant_keeps_nothing_of_its_input(no_gc):
    x = md.Tensor(np.linspace(0.1, 0.9, 4), allow_grad=True)
    a = md.sin(x)
    y = a * 1.0001
    ref = weakref.ref(a)
    del a
    assert ref() is None  # the graph leads through sin's node, not through `a`
    assert type(y.node.inputs[0]) is FuncNode and y.node.inputs[1] == 1.0001
    md.cos(y).sum().backward()
    expected = -np.sin(1.0001 * np.sin(x.numpy())) * 1.0001 * np.cos(x.numpy())
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_a_product_of_two_computed_tensors_keeps_both(no_gc):
    x = md.Tensor(np.linspace(0.1, 0.9, 4), allow_grad=True)
    a, b = md.sin(x), md.exp(x)
    y = a * b
    assert y.node.inputs[0] is a and y.node.inputs[1] is b


def test_exp_keeps_its_output_buffer_not_its_input(no_gc):
    x = md.Tensor(np.linspace(0.1, 0.9, 4), allow_grad=True)
    a = md.sin(x)
    y = md.exp(a)
    ref = weakref.ref(a)
    del a
    assert ref() is None
    assert y.node.ans is y.data
    y.sum().backward()
    x0 = x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(np.sin(x0)) * np.cos(x0), rtol=1e-12)


def test_leaves_are_kept_even_when_no_rule_reads_them():
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    y = x * 3.0
    assert y.node.inputs[0] is x  # backward fills x.grad, so the graph must reach x itself


def test_changing_a_kept_output_in_place_is_caught_after_the_tensor_died(no_gc):
    x = md.Tensor([0.5, 1.0], allow_grad=True)
    y = md.exp(x)
    z = y * 2.0  # keeps only exp's node; exp's node keeps y's buffer
    with md.no_grad():
        y += 1.0
    del y
    with pytest.raises(RuntimeError, match="modified in place"):
        z.sum().backward()


def test_changing_a_kept_output_through_a_view_is_caught(no_gc):
    x = md.Tensor([0.5, 1.0], allow_grad=True)
    y = md.exp(x)
    z = y * 2.0
    view = y[:1]
    del y
    with md.no_grad():
        view[...] = 0.0
    with pytest.raises(RuntimeError, match="modified in place"):
        z.sum().backward()


def test_second_order_through_a_rebuilt_output():
    # tanh's rule reads its output; the second derivative differentiates through it.
    x = md.Tensor([0.3, -0.7], allow_grad=True)
    y = md.tanh(md.sin(x) * 2.0).sum()
    (g,) = grad(y, [x], allow_higher_order=True)
    (h,) = grad(g.sum(), [x])
    x0 = x.numpy()
    t = np.tanh(2 * np.sin(x0))
    dt = (1 - t**2) * 2 * np.cos(x0)
    d2 = -2 * t * (1 - t**2) * (2 * np.cos(x0)) ** 2 + (1 - t**2) * (-2 * np.sin(x0))
    np.testing.assert_allclose(g.numpy(), dt, rtol=1e-12)
    np.testing.assert_allclose(h.numpy(), d2, rtol=1e-12)


# ---------------------------------------------------------------------------- the inference


def _op(*rules, nargs=None):
    return Op("probe", forward="add", nargs=len(rules) if nargs is None else nargs, vjp=rules, public=False)


def test_what_each_rule_reads_is_read_from_its_code():
    reads = rule_reads(_op(lambda g, ans, x, y: g / y, lambda g, ans, x, y: -g * ans / y))
    # only x takes a gradient: its rule reads y; then y takes one too: its rule reads the output
    assert [reads.keeps(v, (True, False)) for v in range(3)] == [False, False, True]
    assert [reads.keeps(v, (True, True)) for v in range(3)] == [True, False, True]


def test_a_name_used_only_inside_an_inner_function_counts_as_read():
    reads = rule_reads(_op(lambda g, ans, x: (lambda: g * x)()))
    assert reads.keeps(1, (True,))


def test_rules_that_cannot_be_inspected_keep_everything():
    def rule(g, ans, x, scale):
        return g * scale

    assert rule_reads(_op(functools.partial(rule, scale=2.0))) is KEEP_ALL  # a partial object has no code
    assert rule_reads(_op(np.negative)) is KEEP_ALL  # a builtin has no code to read
    assert rule_reads(_op(lambda g, *args: g)).keeps(1, (True,))  # *args: assume read
    assert rule_reads(Op("v", forward="add", nargs=None, vjp=lambda i, g, ans, *xs: g, public=False)) is KEEP_ALL
