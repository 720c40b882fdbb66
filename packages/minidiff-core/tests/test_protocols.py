"""What a NumPy or PyTorch user types first: `md.tensor/array/asarray`, dtype names and
constants, Python protocols on Tensors (format, index, complex, pickle, copy, `== None`),
elementwise methods, `requires_grad`, creation calls in NumPy's spelling, and the error
for a name minidiff does not have. Expected values come from NumPy (or closed forms)."""

from __future__ import annotations

import copy
import inspect
import math
import operator
import pickle

import numpy as np
import pytest

import minidiff as md
from minidiff.extend import Op, sample
from minidiff.testing import gradcheck, gradgradcheck


def _mlx_usable() -> bool:
    try:
        md.get_backend("mlx")
    except Exception:  # not installed or not usable here: the MLX cases skip
        return False
    return True


MLX = pytest.param("mlx", marks=pytest.mark.skipif(not _mlx_usable(), reason="MLX is not usable here"))
BACKENDS = ["numpy", MLX]

DTYPE_NAMES = (
    "float16", "float32", "float64", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "bool", "complex64", "complex128",
)

# ---------------------------------------------------------------------------- factories


@pytest.mark.parametrize("backend", BACKENDS)
def test_tensor_copies_and_takes_dtype_positionally(backend):
    source = np.array([1.0, 2.0, 3.0])
    t = md.tensor(source, md.float32, backend=backend, requires_grad=True)
    source[0] = 99.0
    assert t.tolist() == [1.0, 2.0, 3.0] and t.dtype == np.float32
    assert t.requires_grad and t.is_leaf and t.backend.name == backend


def test_tensor_of_a_tensor_is_a_detached_leaf_with_its_own_memory():
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    y = 2 * x
    copied = md.tensor(y)  # torch.tensor(y): y.clone().detach()
    assert copied.is_leaf and not copied.allow_grad
    assert not np.shares_memory(copied.data, y.data)
    assert md.tensor(y, requires_grad=True).allow_grad


def test_array_copies_and_asarray_shares_on_numpy():
    a = np.arange(3.0)
    assert not np.shares_memory(md.array(a).data, a)
    assert np.shares_memory(md.asarray(a).data, a)
    assert not np.shares_memory(md.asarray(a, md.float32).data, a)
    assert np.shares_memory(md.array(a, copy=None).data, a)
    assert np.shares_memory(md.array(a, copy=False).data, a)
    with pytest.raises(ValueError, match="copy=False"):
        md.array([1.0, 2.0], copy=False)
    with pytest.raises(ValueError, match="copy=False"):
        md.array(md.Tensor([1.0]), md.float32, copy=False)


@pytest.mark.parametrize("backend", BACKENDS)
def test_asarray_returns_a_matching_tensor_itself(backend):
    t = md.Tensor([1.0, 2.0], backend=backend)
    assert md.asarray(t) is t
    assert md.asarray(t, t.dtype, backend=backend) is t
    cast = md.asarray(t, md.float16)
    assert cast is not t and cast.dtype == np.float16 and cast.backend is t.backend
    copied = md.array(t)
    assert copied is not t
    copied[0] = 5.0
    assert t.tolist() == [1.0, 2.0]


def test_array_of_a_tensor_is_a_differentiable_copy():
    x = np.array([0.3, -1.2, 2.0])
    assert gradcheck(lambda x: md.array(x) * md.sin(x), x)
    assert gradgradcheck(lambda x: md.array(x) * md.sin(x), x)
    assert gradcheck(lambda x: md.asarray(x, md.float64) ** 2, x)


def test_array_stacks_a_list_of_tensors_with_a_gradient():
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    y = md.array([[x[1], 3.0 * x[0]], [x[0] * x[1], 4.0]])
    np.testing.assert_array_equal(y.numpy(), [[2.0, 3.0], [2.0, 4.0]])
    y.sum().backward()
    # d/dx0 of x1 + 3 x0 + x0 x1 = 3 + x1; d/dx1 = 1 + x0
    np.testing.assert_allclose(x.grad.numpy(), [3.0 + 2.0, 1.0 + 1.0])
    with pytest.raises(ValueError, match="copy=False"):
        md.array([x[0], x[1]], copy=False)


def test_array_allow_grad_turns_a_copy_into_a_leaf_or_a_constant():
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    constant = md.array(2 * x, allow_grad=False)
    assert not constant.allow_grad and constant.is_leaf
    leaf = md.asarray(np.zeros(2), requires_grad=True)
    assert leaf.allow_grad and leaf.is_leaf
    promoted = md.array([1, 2], allow_grad=True)  # integer data becomes float, as in md.Tensor
    assert promoted.dtype == np.float64


# ---------------------------------------------------------------------------- dtype names and constants


@pytest.mark.parametrize("name", DTYPE_NAMES)
def test_dtype_names_are_numpys(name):
    dtype = getattr(md, name)
    assert dtype is getattr(np, name)
    t = md.zeros(2, dtype=dtype)
    assert t.dtype == dtype and t.dtype == np.dtype(name)


@pytest.mark.parametrize("name", ["float16", "float32", "int8", "int32", "uint8", "bool", "complex64"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_dtype_names_work_on_every_backend(name, backend):
    t = md.ones(3, dtype=getattr(md, name), backend=backend)
    assert t.dtype == getattr(md, name) and t.backend.name == backend
    np.testing.assert_array_equal(t.numpy(), np.ones(3, dtype=name))


def test_md_bool_does_not_shadow_the_builtin():
    import minidiff

    assert md.bool is np.bool_
    assert "bool" not in vars(minidiff)  # minidiff's own code still sees the builtin
    assert "bool" not in md.__all__ and "bool" in dir(md)
    namespace: dict = {}
    exec("from minidiff import *", namespace)
    assert "bool" not in namespace
    exec("from minidiff import bool as b", namespace)
    assert namespace["b"] is np.bool_


def test_constants():
    assert (md.pi, md.e, md.inf) == (math.pi, math.e, math.inf)
    assert math.isnan(md.nan) and md.newaxis is None
    x = md.Tensor([1.0, 2.0, 3.0])
    assert x[:, md.newaxis].shape == (3, 1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_finfo_and_iinfo_take_dtypes_and_tensors(backend):
    assert md.finfo(md.float32).eps == np.finfo(np.float32).eps
    assert md.finfo(md.zeros(2, dtype="float16", backend=backend)).max == np.finfo(np.float16).max
    assert md.finfo(md.zeros(2, dtype="float32", backend=backend).data.dtype).bits == 32  # a backend's dtype
    assert md.iinfo(md.int8).min == -128
    assert md.iinfo(md.zeros(2, dtype="uint16", backend=backend)).max == np.iinfo(np.uint16).max


# ---------------------------------------------------------------------------- Python protocols


@pytest.mark.parametrize("backend", BACKENDS)
def test_format_of_a_0d_tensor_is_its_numbers(backend):
    loss = md.Tensor(1.234567, backend=backend)
    assert f"{loss:.3f}" == f"{loss.item():.3f}" == "1.235"
    assert f"{md.Tensor(7, backend=backend):>4d}" == "   7"
    assert f"{md.Tensor([1.0, 2.0], backend=backend)}" == str(md.Tensor([1.0, 2.0], backend=backend))


@pytest.mark.parametrize("values", [[1.5], [1.0, 2.0], [[2.0]]], ids=["size-1", "vector", "1x1"])
def test_format_spec_on_other_shapes_raises_as_in_numpy(values):
    with pytest.raises(TypeError):
        format(np.array(values), ".3f")
    with pytest.raises(TypeError, match="0-d"):
        format(md.Tensor(values), ".3f")


@pytest.mark.parametrize(
    "values",
    [np.array(3), np.array(2, dtype=np.uint8), np.array(3.0), np.array([3]), np.array(True)],
    ids=["int", "uint8", "float", "1-d int", "bool"],
)
def test_index_accepts_what_numpy_accepts(values):
    t = md.Tensor(values)
    try:
        expected = operator.index(values)
    except TypeError:
        with pytest.raises(TypeError, match="index"):
            operator.index(t)
    else:
        assert operator.index(t) == expected
        assert list(range(t)) == list(range(expected))
        assert [10, 20, 30, 40][t] == [10, 20, 30, 40][expected]


@pytest.mark.parametrize("backend", BACKENDS)
def test_complex_and_tolist(backend):
    assert complex(md.Tensor(2.5, backend=backend)) == 2.5 + 0j
    assert complex(md.Tensor(np.complex64(1 - 2j), backend=backend)) == 1 - 2j
    data = np.arange(6, dtype=np.int32).reshape(2, 3)
    assert md.Tensor(data, backend=backend).tolist() == data.tolist()
    assert md.Tensor(1.5, backend=backend).tolist() == 1.5


@pytest.mark.parametrize("backend", BACKENDS)
def test_compare_with_none_is_elementwise_as_in_numpy(backend):
    t = md.Tensor([[1.0, 2.0, 3.0]], backend=backend)
    eq, ne = t == None, t != None  # noqa: E711
    np.testing.assert_array_equal(eq.numpy(), np.ones((1, 3)) == None)  # noqa: E711
    np.testing.assert_array_equal(ne.numpy(), np.ones((1, 3)) != None)  # noqa: E711
    assert eq.dtype == np.bool_ and eq.backend.name == backend
    assert not (md.Tensor(1.0, backend=backend) == None)  # noqa: E711
    assert md.Tensor(1.0, backend=backend) != None  # noqa: E711


@pytest.mark.parametrize("backend", BACKENDS)
def test_copy_is_differentiable_and_has_its_own_memory(backend):
    x = md.Tensor([1.0, 2.0], allow_grad=True, backend=backend)
    y = x.copy()
    assert y is not x and not y.is_leaf
    (3.0 * y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6.0 * np.array([1.0, 2.0]))
    with md.no_grad():
        z = x.copy()
        z[0] = 10.0
    assert x.tolist() == [1.0, 2.0]
    assert md.Tensor([True, False], backend=backend).copy().tolist() == [True, False]


def test_copy_gradients_to_second_order():
    x = np.array([0.5, -0.7, 1.3])
    assert gradcheck(lambda x: x.copy() * md.exp(x), x)
    assert gradgradcheck(lambda x: x.copy() * md.exp(x), x)


ELEMENTWISE_METHODS = (
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "abs", "sqrt", "square", "reciprocal", "sign",
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "floor", "ceil",
)


@pytest.mark.parametrize("name", ELEMENTWISE_METHODS)
def test_elementwise_methods_match_numpy(name):
    values = np.array([0.2, 0.5, 0.9])
    t = md.Tensor(values)
    np.testing.assert_allclose(getattr(t, name)().numpy(), getattr(np, name)(values), rtol=1e-12)


def test_activation_methods_match_closed_forms():
    values = np.array([-1.5, 0.0, 2.0])
    t = md.Tensor(values)
    np.testing.assert_allclose(t.sigmoid().numpy(), 1.0 / (1.0 + np.exp(-values)))
    np.testing.assert_allclose(t.relu().numpy(), np.maximum(values, 0.0))
    softmax = np.exp(values) / np.exp(values).sum()
    np.testing.assert_allclose(t.softmax().numpy(), softmax)
    np.testing.assert_allclose(t.log_softmax(-1).numpy(), np.log(softmax))
    np.testing.assert_allclose(t.erf().numpy(), [math.erf(v) for v in values])


def test_methods_differentiate_like_their_functions():
    x = np.array([0.3, 0.8, 1.7])
    assert gradcheck(lambda x: x.exp() * x.log() + x.tanh().sqrt(), x)
    assert gradgradcheck(lambda x: x.sigmoid() * x.abs(), x)


def test_requires_grad_reads_and_writes_leaves():
    w = md.zeros(3)
    assert w.requires_grad is False
    w.requires_grad = True
    assert w.allow_grad
    (2.0 * w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 2.0, 2.0])
    assert w.requires_grad_(False) is w and not w.allow_grad
    y = md.ones(2, requires_grad=True) * 2
    assert y.requires_grad
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False
    with pytest.raises(TypeError, match="floating"):
        md.arange(3).requires_grad = True


# ---------------------------------------------------------------------------- creation calls


CREATIONS = [
    ("zeros", ((2, 3),)),
    ("ones", (4,)),
    ("empty", ((2, 2),)),
    ("full", ((2, 3), 1.5)),
    ("eye", (3, 4, 1)),
    ("arange", (1, 7, 2)),
    ("linspace", (0.0, 1.0, 5, False, False)),
]


@pytest.mark.parametrize(("name", "args"), CREATIONS, ids=[name for name, _ in CREATIONS])
@pytest.mark.parametrize("backend", BACKENDS)
def test_creation_takes_numpys_positional_dtype_and_requires_grad(name, args, backend):
    expected = getattr(np, name)(*args, "float32")
    if name == "empty":
        expected = np.zeros_like(expected)  # minidiff's empty is zeros
    made = getattr(md, name)(*args, "float32", backend=backend)
    assert made.dtype == np.float32 and made.backend.name == backend
    np.testing.assert_allclose(made.numpy(), expected)
    leaf = getattr(md, name)(*args, requires_grad=True, backend=backend)
    assert leaf.allow_grad and leaf.requires_grad and leaf.is_leaf
    assert not getattr(md, name)(*args, requires_grad=False, backend=backend).allow_grad


@pytest.mark.parametrize(("name", "args"), CREATIONS, ids=[name for name, _ in CREATIONS])
def test_creation_errors_name_the_public_function(name, args):
    with pytest.raises(TypeError) as info:
        getattr(md, name)(*args, bogus=1)
    message = str(info.value)
    assert name in message and "lambda" not in message and "<locals>" not in message
    assert "bogus" in message


def test_creation_errors_for_a_missing_or_doubled_argument():
    with pytest.raises(TypeError, match=r"md\.full\(\).*fill_value"):
        md.full(3)
    with pytest.raises(TypeError, match=r"md\.zeros\(\).*dtype"):
        md.zeros(3, "float32", dtype="float64")
    with pytest.raises(ValueError, match="retstep"):
        md.linspace(0.0, 1.0, retstep=True)


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "full", "eye", "arange", "linspace"])
def test_creation_signatures_follow_numpy_up_to_dtype(name):
    ours = list(inspect.signature(getattr(md, name)).parameters)
    try:
        numpys = list(inspect.signature(getattr(np, name)).parameters)
    except ValueError:
        pytest.skip(f"numpy.{name} has no signature before NumPy 2.4 (a C function without a text signature)")
    numpys = ["start" if p == "start_or_stop" else p for p in numpys]  # arange's first argument
    assert ours[: ours.index("dtype") + 1] == numpys[: numpys.index("dtype") + 1]
    assert ours[-3:] == ["backend", "allow_grad", "requires_grad"]


# ---------------------------------------------------------------------------- pickle and deepcopy


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("clone", [lambda t: pickle.loads(pickle.dumps(t)), copy.deepcopy], ids=["pickle", "deepcopy"])
def test_pickle_and_deepcopy_keep_values_dtype_backend_grad_and_name(backend, clone):
    x = md.Tensor([[1.0, -2.0]], allow_grad=True, dtype="float32", backend=backend, name="w")
    (x * x).sum().backward()
    y = clone(x)
    assert y is not x and y.is_leaf and y.allow_grad
    assert (y.dtype, y.backend.name, y.name) == (np.float32, backend, "w")
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    np.testing.assert_array_equal(y.grad.numpy(), [[2.0, -4.0]])
    with md.no_grad():
        y[0, 0] = 7.0
    assert x.tolist() == [[1.0, -2.0]]  # its own memory
    ints = clone(md.Tensor([1, 2], dtype="int16", backend=backend))
    assert ints.dtype == np.int16 and not ints.allow_grad


@pytest.mark.parametrize("clone", [lambda t: pickle.loads(pickle.dumps(t)), copy.deepcopy], ids=["pickle", "deepcopy"])
def test_a_computed_tensor_comes_back_as_a_leaf_without_its_graph(clone):
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    y = clone(md.sin(x) * 3.0)
    assert y.is_leaf and y.allow_grad and y.node is None
    np.testing.assert_allclose(y.numpy(), 3.0 * np.sin([1.0, 2.0]))
    (y * 2.0).sum().backward()  # a leaf of its own: the gradient stops there
    np.testing.assert_array_equal(y.grad.numpy(), [2.0, 2.0])
    assert x.grad is None
    assert not clone(md.sin(x).detach()).allow_grad


def test_deepcopy_keeps_shared_references_shared():
    x = md.Tensor([1.0])
    first, second = copy.deepcopy([x, x])
    assert first is second and first is not x


def test_pickles_name_minidiff_tensor_not_its_module():
    # pickles stay loadable if the class moves to another module
    assert md.Tensor.__module__ == "minidiff"
    assert b"minidiff._tensor" not in pickle.dumps(md.Tensor([1.0]), protocol=0)


# ---------------------------------------------------------------------------- the namespace


def test_md_tensor_is_the_factory_not_a_module():
    import minidiff._tensor as module

    assert callable(md.tensor) and md.tensor.__name__ == "tensor"
    assert module.Tensor is md.Tensor


@pytest.mark.parametrize(("typo", "suggestion"), [("flaot32", "md.float32"), ("sine", "md.sin"), ("asaray", "md.asarray")])
def test_a_missing_name_says_what_exists(typo, suggestion):
    with pytest.raises(AttributeError) as info:
        getattr(md, typo)
    message = str(info.value)
    assert "not a minidiff function" in message and "no installed op family registers it" in message
    assert suggestion in message and "minidiff info --ops" in message


def test_a_name_with_nothing_close_suggests_nothing():
    with pytest.raises(AttributeError) as info:
        md.qqqqqqqqqq
    assert "did you mean" not in str(info.value)


@pytest.mark.parametrize("name", ["float32", "bool", "pi", "newaxis", "tensor", "array", "asarray", "finfo"])
def test_new_core_names_are_reserved_from_op_packs(name):
    from minidiff import validation

    op = Op(name, "negative", vjp=(lambda g, ans, x: -g,), samples=(sample((2,)),))
    with pytest.raises(ValueError, match="core API"):
        validation.check_op(op, "demo")
