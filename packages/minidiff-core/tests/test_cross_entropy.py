"""md.cross_entropy: its values by hand and its errors. Its gradients (first and second order,
against finite differences), batching and dtypes are checked by the conformance kit from the
op's samples; its agreement with torch.nn.functional.cross_entropy was checked by running both."""

import math

import numpy as np
import pytest

import minidiff as md


def test_value_and_gradient_by_hand() -> None:
    logits = md.Tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]], allow_grad=True)
    loss = md.cross_entropy(logits, md.Tensor([0, 2]))
    # row 0: log(e^2 + 2) - 2; row 1: log 3; their mean
    assert loss.item() == pytest.approx((math.log(math.exp(2.0) + 2.0) - 2.0 + math.log(3.0)) / 2, rel=1e-14)
    loss.backward()
    softmax = np.array([[math.exp(2.0), 1.0, 1.0], [1.0, 1.0, 1.0]])
    softmax /= softmax.sum(axis=1, keepdims=True)
    expected = (softmax - np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])) / 2
    np.testing.assert_allclose(logits.grad.numpy(), expected, rtol=1e-14)


def test_reductions_and_float32() -> None:
    logits = md.Tensor(np.array([[0.0, 1.0], [3.0, 0.0], [0.5, 0.5]], dtype=np.float32))
    target = np.array([1, 1, 0])
    each = md.cross_entropy(logits, target, reduction="none")
    assert each.shape == (3,) and each.dtype == np.float32
    assert md.cross_entropy(logits, target, reduction="sum").item() == pytest.approx(float(each.numpy().sum()), rel=1e-6)
    assert md.cross_entropy(logits, target).dtype == np.float32


@pytest.mark.parametrize("bad", [[0, 1, -1], [0, 2, 1]])
def test_a_target_outside_the_classes_raises(bad: list[int]) -> None:
    with pytest.raises(IndexError, match=f"target {bad[-1] if bad[-1] < 0 else 2} is out of bounds for 2 classes"):
        md.cross_entropy(md.zeros((3, 2)), np.array(bad))


def test_errors_name_what_is_wrong() -> None:
    logits = md.zeros((3, 4))
    with pytest.raises(TypeError, match="integer class indices"):
        md.cross_entropy(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"target has shape \(2,\).*need a target of shape \(3,\)"):
        md.cross_entropy(logits, np.array([0, 1]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        md.cross_entropy(logits, np.array([0, 1, 2]), reduction="avg")
