"""Variadic ops (`concatenate`, `stack`, `einsum`, custom ones): the engine calls the op's one
rule once per node and gets every input's cotangent from it, so a backward through n inputs
costs O(n) (it used to call the rule once per input, O(n^2)). Checked by counting rule
calls, not by timing; gradients against closed forms and finite differences. Also `repeat`
with an empty `repeats`, as NumPy allows it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import minidiff as md
from minidiff.dispatch import bind
from minidiff.extend import Op
from minidiff.testing import gradcheck, gradgradcheck


def counted(op_function):
    """`op_function`'s op bound again with its variadic rule wrapped to count its calls."""
    op = op_function.op
    calls = []

    def rule(*args, **kwargs):
        calls.append(len(args) - 2)  # the number of inputs it was given
        return op.vjp(*args, **kwargs)

    return bind(dataclasses.replace(op, vjp=rule), {}), calls


@pytest.mark.parametrize("name, axis", [("concatenate", 0), ("concatenate", None), ("stack", 0), ("stack", -1)])
def test_a_variadic_rule_runs_once_per_node(name, axis):
    join, calls = counted(getattr(md, name))
    n = 300
    xs = [md.Tensor(np.full(2, float(i)), allow_grad=True) for i in range(n)]
    out = join(xs, axis=axis)
    weights = np.arange(out.size, dtype=np.float64).reshape(out.shape)
    md.sum(out * weights).backward()
    assert calls == [n]
    # d sum(w * out) / d x_i is x_i's part of w, wherever the join put it
    parts = weights.reshape(-1, 2) if name == "concatenate" else np.moveaxis(weights, axis, 0)
    for i, x in enumerate(xs):
        np.testing.assert_array_equal(x.grad.numpy(), parts[i])


@pytest.mark.parametrize("name", ["concatenate", "stack"])
def test_inputs_that_take_no_gradient_are_skipped(name):
    join = getattr(md, name)
    x, y = md.Tensor([1.0, 2.0], allow_grad=True), md.Tensor([3.0, 4.0], allow_grad=True)
    constant = md.Tensor([5.0, 6.0])
    out = join([x, constant, y])
    md.sum(out * md.Tensor(np.arange(6.0).reshape(out.shape))).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0])
    np.testing.assert_array_equal(y.grad.numpy(), [4.0, 5.0])
    assert constant.grad is None


@pytest.mark.parametrize("axis", [0, -1, None])
def test_concatenate_of_many_inputs_against_finite_differences(rng, axis):
    shapes = [(2, 1), (2, 3), (2, 2), (2, 1)] if axis == -1 else [(1, 2), (3, 2), (2, 2), (1, 2)]
    arrays = [rng.standard_normal(shape) for shape in shapes]
    f = lambda *xs: md.concatenate(list(xs), axis=axis) ** 2  # noqa: E731  (the square gives a second order)
    gradcheck(f, *arrays)
    gradgradcheck(f, *arrays)


def test_einsum_rule_runs_once_and_skips_constants(rng):
    einsum, calls = counted(md.einsum)
    a, b, c = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    x, z = md.Tensor(a, allow_grad=True), md.Tensor(c, allow_grad=True)
    md.sum(einsum("ij,jk,kl->il", x, md.Tensor(b), z)).backward()
    assert calls == [3]
    ones = np.ones((2, 2))
    np.testing.assert_allclose(x.grad.numpy(), ones @ (b @ c).T)  # d sum(A B C) / dA = 1 (B C)^T
    np.testing.assert_allclose(z.grad.numpy(), (a @ b).T @ ones)


def _weighted_sum_op(rule) -> Op:
    return Op(
        "weighted_sum",
        forward=lambda xp, *arrays: sum((k + 1) * a for k, a in enumerate(arrays)),
        vjp=rule,
        nargs=None,
        public=False,
    )


def test_a_custom_variadic_op_gets_one_cotangent_per_input_and_every_order():
    calls = []

    def rule(g, ans, *inputs):
        calls.append(1)
        return tuple(g * (k + 1) * x / x for k, x in enumerate(inputs))  # written to have a second order

    weighted_sum = bind(_weighted_sum_op(rule), {})
    xs = [md.Tensor([0.5, 1.5], allow_grad=True) for _ in range(4)]
    md.sum(weighted_sum(xs) ** 2).backward(allow_higher_order=True)
    assert len(calls) == 1
    total = sum((k + 1) * 0.5 for k in range(4))  # the output's first element
    for k, x in enumerate(xs):
        assert x.grad.numpy()[0] == pytest.approx(2 * total * (k + 1))
    xs[0].grad[0].backward()  # d/dx_j of 2 (sum_k (k+1) x_k) * 1 = 2 (j+1)
    for k, x in enumerate(xs):
        assert x.grad.numpy()[0] == pytest.approx(2 * (k + 1))


@pytest.mark.parametrize("result", [lambda inputs: (None,), lambda inputs: None], ids=["short", "not a tuple"])
def test_a_variadic_rule_with_the_wrong_number_of_cotangents_is_named(result):
    weighted_sum = bind(_weighted_sum_op(lambda g, ans, *inputs: result(inputs)), {})
    xs = [md.Tensor([1.0], allow_grad=True) for _ in range(3)]
    with pytest.raises(TypeError, match=r"'weighted_sum'.*one cotangent \(or None\) per input, 3 in all"):
        md.sum(weighted_sum(xs)).backward()


# ---------------------------------------------------------------------------- repeat with no counts


@pytest.mark.parametrize("shape, axis", [((0,), None), ((0, 3), 0), ((2, 0), 1), ((2, 0), None)])
def test_repeat_with_empty_repeats_matches_numpy_and_differentiates(shape, axis):
    x = md.Tensor(np.ones(shape), allow_grad=True)
    out = md.repeat(x, [], axis=axis)
    assert out.shape == np.repeat(np.ones(shape), [], axis=axis).shape
    md.sum(out).backward()
    assert x.grad.shape == shape


def test_repeat_with_empty_repeats_on_a_non_empty_input_raises_as_numpy_does():
    with pytest.raises(ValueError):
        np.repeat(np.ones(2), [])
    with pytest.raises(ValueError, match="repeat"):
        md.repeat(md.Tensor([1.0, 2.0], allow_grad=True), [])
