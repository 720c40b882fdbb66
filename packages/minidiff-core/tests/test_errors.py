"""Bad input raises a clear error naming what was wrong (shapes, types, names), never a
silent wrong answer."""

from __future__ import annotations

import re

import numpy as np
import pytest

import minidiff as md


def both_shapes(a, b) -> str:
    """A pattern matching a message that names shapes `a` and `b`, in either order."""
    a, b = re.escape(str(a)), re.escape(str(b))
    return f"{a}.*{b}|{b}.*{a}"


# ---------------------------------------------------------------------------- shapes


@pytest.mark.parametrize(
    "f",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a * b,
        lambda a, b: a / b,
        lambda a, b: a**b,
        lambda a, b: md.add(a, b),
        lambda a, b: a < b,
    ],
    ids=["add", "subtract", "multiply", "divide", "power", "md.add", "less"],
)
def test_a_shape_mismatch_names_both_shapes(f):
    a, b = md.Tensor(np.ones((2, 3))), md.Tensor(np.ones((4,)))
    with pytest.raises(ValueError, match=both_shapes((2, 3), (4,))):
        f(a, b)


def test_a_shape_mismatch_with_a_numpy_array_names_both_shapes():
    with pytest.raises(ValueError, match=both_shapes((2, 3), (4,))):
        md.Tensor(np.ones((2, 3)), allow_grad=True) * np.ones(4)
    with pytest.raises(ValueError, match=both_shapes((2, 3), (4,))):
        np.ones(4) - md.Tensor(np.ones((2, 3)), allow_grad=True)


def test_a_shape_mismatch_leaves_no_graph_behind():
    x = md.Tensor(np.ones(3), allow_grad=True)
    with pytest.raises(ValueError):
        md.sin(x) + md.Tensor(np.ones(2))
    md.sin(x).sum().backward()  # the failed op did not break anything
    np.testing.assert_allclose(x.grad.numpy(), np.cos(np.ones(3)))


def test_reshape_and_broadcast_to_name_the_shapes():
    t = md.Tensor(np.ones(3))
    with pytest.raises(ValueError, match=r"\(3,\)") as info:
        md.reshape(t, (2, 2))
    assert re.search(r"\(2, ?2\)", str(info.value))
    with pytest.raises(ValueError, match=r"\(3,\)") as info:
        md.broadcast_to(t, (2, 2))
    assert re.search(r"\(2, ?2\)", str(info.value))


def test_backward_seed_of_the_wrong_shape():
    x = md.Tensor(np.ones((2, 3)), allow_grad=True)
    with pytest.raises(ValueError, match=both_shapes((2, 3), (6,))):
        md.sin(x).backward(grad=np.ones(6))


# ---------------------------------------------------------------------------- types


@pytest.mark.parametrize(
    "value, type_name",
    [("abc", "str"), (object(), "object"), (None, "NoneType"), ({"a": 1}, "dict"), ({1.0}, "set")],
    ids=["str", "object", "None", "dict", "set"],
)
def test_an_op_on_an_unknown_type_names_the_type(value, type_name):
    with pytest.raises(TypeError, match=re.escape(repr(type_name))):
        md.sin(value)
    with pytest.raises(TypeError, match=re.escape(repr(type_name))):
        md.Tensor([1.0, 2.0]) + value
    with pytest.raises(TypeError, match=re.escape(repr(type_name))):
        md.multiply(value, md.Tensor([1.0, 2.0], allow_grad=True))


def test_the_error_names_the_op():
    with pytest.raises(TypeError, match="sin"):
        md.sin(object())
    with pytest.raises(TypeError, match="multiply"):
        md.Tensor([1.0]) * "abc"


def test_an_unknown_keyword_argument_is_named():
    with pytest.raises(TypeError, match="'axes'"):
        md.sum(md.Tensor([1.0, 2.0]), axes=0)
    with pytest.raises(TypeError, match="'out'"):
        md.sin(md.Tensor([1.0]), out=None)


def test_a_parameter_given_twice_is_an_error():
    x = md.Tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(TypeError, match="'axis'"):
        md.sum(x, 0, axis=1)


def test_string_data_is_refused():
    with pytest.raises(TypeError, match="dtype"):
        md.Tensor(["a", "b"])


def test_too_many_or_too_few_operands():
    with pytest.raises(TypeError):
        md.sin()
    with pytest.raises(TypeError):
        md.sin(md.Tensor([1.0]), md.Tensor([1.0]))
    with pytest.raises(TypeError):
        md.add(md.Tensor([1.0]))
    with pytest.raises(TypeError):
        md.sum(md.Tensor([1.0]), 0, False, "extra", "extra")


@pytest.mark.parametrize(
    "data, type_name",
    [(object(), "object"), (None, "NoneType"), ({"a": 1}, "dict"), ("abc", "str")],
    ids=["object", "None", "dict", "str"],
)
def test_a_tensor_from_an_unknown_type(data, type_name):
    with pytest.raises(TypeError, match=re.escape(repr(type_name))):
        md.Tensor(data)


def test_a_ragged_list_is_rejected():
    with pytest.raises(ValueError):
        md.Tensor([[1.0, 2.0], [3.0]])


def test_only_floating_and_complex_tensors_allow_grad():
    with pytest.raises(TypeError, match="int32"):
        md.Tensor([1, 2], dtype=np.int32, allow_grad=True)
    with pytest.raises(TypeError, match="bool"):
        md.Tensor([True], dtype=bool, allow_grad=True)
    assert md.Tensor([1j], allow_grad=True).allow_grad


# ---------------------------------------------------------------------------- backends


def test_an_unknown_backend_lists_the_installed_ones():
    with pytest.raises(ValueError, match=r"'nope'.*'numpy'"):
        md.Tensor([1.0], backend="nope")
    with pytest.raises(ValueError, match=r"'nope'.*'numpy'"):
        md.set_backend("nope")
    with pytest.raises(ValueError, match=r"'nope'.*'numpy'"):
        with md.use_backend("nope"):
            pass
    assert md.get_backend().name == "numpy"  # the failed calls changed nothing


def test_an_unknown_attribute_of_the_package():
    with pytest.raises(AttributeError, match="no_such_op"):
        md.no_such_op  # noqa: B018


# ---------------------------------------------------------------------------- Tensor protocol


def test_truth_value_and_item_of_several_elements():
    t = md.Tensor([1.0, 2.0])
    with pytest.raises(ValueError, match="ambiguous"):
        bool(t)
    with pytest.raises(ValueError, match=r"\(2,\)"):
        t.item()
    with pytest.raises(ValueError):
        float(t)


def test_len_and_iteration_of_a_0d_tensor():
    with pytest.raises(TypeError, match="0-d"):
        len(md.Tensor(1.0))
    with pytest.raises(TypeError, match="0-d"):
        iter(md.Tensor(1.0))


def test_backward_on_a_tensor_that_does_not_allow_grad():
    with pytest.raises(RuntimeError, match="allow_grad=True"):
        md.Tensor([1.0]).backward()
