"""The conformance checks, one function per check, on one op sample on one backend.

`OpPackSuite` and `BackendSuite` (in `suites.py`) only decide which cases exist; each check
here runs one case and raises `AssertionError` (or `GradcheckError`) on a violation, so
`minidiff check` and pytest report the same failures.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

import minidiff as md
from minidiff.extend import Op, Sample
from minidiff._tensor import Tensor
from minidiff.testing.gradcheck import first_order_gradient, gradcheck
from minidiff.testing.samples import _is_shape, _split, materialize, op_function, reference_of

SEED = 20261122


@dataclass(frozen=True)
class Case:
    """One op sample on one backend; `id` is what pytest shows: `sin-0-numpy`."""

    op: Op
    index: int
    sample: Sample
    backend: str

    @property
    def id(self) -> str:
        return f"{self.op.qualname}-{self.index}-{self.backend}"


def _rng(case: Case) -> np.random.Generator:
    return np.random.default_rng([SEED, case.index])


def _gradcheck_on(case: Case, f: Callable[..., Any], leaves: list[np.ndarray]) -> None:
    """Finite differences need float64. On a backend without it, the rule's math is checked
    in float64 on the host (NumPy) and the backend's own kernels loosely in float32."""
    tolerance = case.sample.tolerance
    if md.get_backend(case.backend).supports_float64:
        gradcheck(f, *leaves, backend=case.backend, eps=tolerance.eps, atol=tolerance.grad_atol,
                  rtol=tolerance.grad_rtol)
        return
    gradcheck(f, *leaves, backend="numpy", eps=tolerance.eps, atol=tolerance.grad_atol, rtol=tolerance.grad_rtol)
    import warnings

    from minidiff.testing.gradcheck import GradcheckWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GradcheckWarning)
        gradcheck(f, *[leaf.astype(np.float32) for leaf in leaves], backend=case.backend, eps=1e-2,
                  atol=max(2e-2, tolerance.grad_atol), rtol=max(2e-2, tolerance.grad_rtol))


def _function_of_leaves(case: Case, args: list[Any]) -> tuple[list[np.ndarray], Callable[..., Any]]:
    function = op_function(case.op)
    leaves, rebuild = _split(args)
    params = case.sample.params
    return leaves, lambda *xs: function(*rebuild(xs), **params)


# ---------------------------------------------------------------------------- the checks


def check_forward(case: Case) -> None:
    """The output matches the NumPy reference in shape, dtype and values."""
    from minidiff.testing.samples import check_forward as forward

    forward(case.op, case.sample, _rng(case), backend=case.backend)


def check_first_order(case: Case) -> None:
    """The VJP matches central finite differences."""
    leaves, f = _function_of_leaves(case, materialize(case.op, case.sample, _rng(case)))
    _gradcheck_on(case, f, leaves)


def check_second_order(case: Case) -> None:
    """The gradient of the VJP matches finite differences of the VJP."""
    leaves, f = _function_of_leaves(case, materialize(case.op, case.sample, _rng(case)))
    _gradcheck_on(case, first_order_gradient(f), leaves)


def broadcast_shapes(case: Case) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """Shapes (3, 1) and (4,) when the op broadcasts its two operands as NumPy does, else None."""
    args = case.sample.args
    if len(args) != 2 or not all(_is_shape(a) for a in args):
        return None
    try:
        out = reference_of(case.op)(np.full((3, 1), 0.5), np.full((4,), 0.7), **case.sample.params)
        broadcasts = np.shape(out) == (3, 4)
    except Exception:  # an op that does not take these shapes (or returns several outputs)
        return None
    return ((3, 1), (4,)) if broadcasts else None


def check_broadcasting(case: Case) -> None:
    """Gradients of broadcast operands are reduced back to each operand's shape."""
    shapes = broadcast_shapes(case)
    assert shapes is not None
    rng = _rng(case)
    inputs = [rng.uniform(*case.sample.domain_of(position), size=shape) for position, shape in enumerate(shapes)]
    function, params = op_function(case.op), case.sample.params
    _gradcheck_on(case, lambda x, y: function(x, y, **params), inputs)


def _shared_domain(case: Case) -> tuple[float, float] | None:
    """Where `x` may lie in `op(x, x)`: the overlap of both operands' domains, if any."""
    (low0, high0), (low1, high1) = case.sample.domain_of(0), case.sample.domain_of(1)
    low, high = max(low0, low1), min(high0, high1)
    return (low, high) if low < high else None


def same_operand_applies(case: Case) -> bool:
    args = case.sample.args
    return (
        len(args) >= 2 and _is_shape(args[0]) and _is_shape(args[1]) and args[0] == args[1]
        and _shared_domain(case) is not None
    )


def check_same_operand(case: Case) -> None:
    """`op(x, x)`: both operands' gradients are accumulated into the one tensor. `x` is
    drawn where both operands' domains overlap (all of it, when they share one)."""
    shared = _shared_domain(case)
    assert shared is not None
    x = _rng(case).uniform(*shared, size=case.sample.args[0])  # the sample's first input, if one domain
    rest = materialize(case.op, case.sample, _rng(case))[2:]
    function, params = op_function(case.op), case.sample.params
    _gradcheck_on(case, lambda x: function(x, x, *rest, **params), [x])


def check_no_grad(case: Case) -> None:
    """Under `md.no_grad()` the output records no graph."""
    leaves, f = _function_of_leaves(case, materialize(case.op, case.sample, _rng(case)))
    with md.no_grad():
        outputs = _as_list(f(*[Tensor(leaf, allow_grad=True, backend=case.backend) for leaf in leaves]))
    for out in outputs:
        assert not out.allow_grad and out.node is None, f"{case.op.qualname} recorded a graph under md.no_grad()"


def check_float32(case: Case) -> None:
    """float32 inputs give the dtype NumPy gives, and float32 gradients."""
    args = materialize(case.op, case.sample, _rng(case))
    args32 = [a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype == np.float64 else
              [x.astype(np.float32) for x in a] if isinstance(a, list) and a and isinstance(a[0], np.ndarray) else a
              for a in args]
    leaves, f = _function_of_leaves(case, args32)
    tensors = [Tensor(leaf, allow_grad=True, backend=case.backend) for leaf in leaves]
    outputs = _as_list(f(*tensors))
    expected = _as_list(reference_of(case.op)(*args32, **case.sample.params))
    for out, ref in zip(outputs, expected):
        assert out.dtype == np.asarray(ref).dtype, (
            f"{case.op.qualname} on float32 gives {out.dtype}; NumPy gives {np.asarray(ref).dtype}"
        )
    floating = [out for out in outputs if out.dtype.kind == "f" and out.allow_grad]
    if not floating:
        return
    total = sum(out.sum() for out in floating)
    total.backward()
    for t in tensors:
        if t.grad is not None:
            assert t.grad.dtype == t.dtype, f"{case.op.qualname}: a {t.dtype} input got a {t.grad.dtype} gradient"


def check_refuses_gradients(case: Case) -> None:
    """A non-differentiable op's output never allows grad, so backward through it raises."""
    leaves, f = _function_of_leaves(case, materialize(case.op, case.sample, _rng(case)))
    if not leaves:
        return
    outputs = _as_list(f(*[Tensor(leaf, allow_grad=True, backend=case.backend) for leaf in leaves]))
    for out in outputs:
        assert not out.allow_grad, f"non-differentiable {case.op.qualname} returned a tensor that allows grad"
        try:
            out.backward()
        except RuntimeError:
            continue
        raise AssertionError(f"backward through non-differentiable {case.op.qualname} did not raise")


def inplace_applies(case: Case) -> bool:
    """An op with an in-place form, on a sample of two arrays whose result has the first one's shape."""
    args = case.sample.args
    if case.op.inplace is None or not case.op.differentiable or case.sample.order < 1:
        return False
    if len(args) != 2 or not all(_is_shape(a) for a in args):
        return False
    try:
        out = reference_of(case.op)(np.full(args[0], 0.5), np.full(args[1], 0.5), **case.sample.params)
    except Exception:
        return False
    return np.shape(out) == tuple(args[0]) and not case.sample.params


def check_inplace(case: Case) -> None:
    """`t = x * 1; t op= y` (and the same through a view of `t`) gives the out-of-place values
    and gradients, and keeps `t`'s identity."""
    x, y = materialize(case.op, case.sample, _rng(case))
    weights = _rng(case).uniform(0.5, 1.5, size=np.shape(x))
    form = case.op.inplace

    def leaves() -> tuple[Tensor, Tensor]:
        return Tensor(x, allow_grad=True, backend=case.backend), Tensor(y, allow_grad=True, backend=case.backend)

    def gradients(result: Tensor, a: Tensor, b: Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        md.sum(result * Tensor(weights, backend=case.backend)).backward()
        return result.numpy(), a.grad.numpy(), b.grad.numpy()

    a, b = leaves()
    expected = gradients(op_function(case.op)(a, b), a, b)
    for through_view in (False, True):
        a, b = leaves()
        t = a * 1
        target = md.reshape(t, t.shape) if through_view else t  # a view of t, on NumPy and emulated on MLX
        before = id(target)
        written = form(target, b)
        assert id(written) == before, f"{case.op.qualname}: the in-place form made a new tensor"
        got = gradients(t, a, b)
        where = " through a view" if through_view else ""
        for name, value, want in zip(("value", "gradient of x", "gradient of y"), got, expected):
            np.testing.assert_allclose(
                value, want, rtol=1e-5, atol=1e-6,
                err_msg=f"{case.op.qualname}: the in-place form{where} differs from the out-of-place op in its {name}",
            )


def check_batching(case: Case) -> None:
    """`md.vmap` of the op equals a loop over the batch, in values and gradients."""
    from minidiff.testing.batching import check_batching as batching

    batching(case.op, case.sample, _rng(case), case.backend)


def _batching_applies(case: Case) -> bool:
    from minidiff.testing.batching import batching_applies

    return batching_applies(case.op, case.sample)


def check_complex_first_order(case: Case) -> None:
    """With complex inputs: the forward matches NumPy and the VJP finite differences along
    real and imaginary directions."""
    from minidiff.testing.complex_inputs import check_complex_gradients

    check_complex_gradients(case.op, case.sample, _rng(case), case.backend, order=1)


def check_complex_second_order(case: Case) -> None:
    """With complex inputs: the gradient of the VJP matches finite differences."""
    from minidiff.testing.complex_inputs import check_complex_gradients

    check_complex_gradients(case.op, case.sample, _rng(case), case.backend, order=2)


def _complex_applies(order: int) -> Callable[[Case], bool]:
    from minidiff.testing.complex_inputs import complex_applies

    return lambda case: complex_applies(case.op, case.sample, order)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (tuple, list)) else [value]


#: check name -> (applies to the case?, run it)
CHECKS: dict[str, tuple[Callable[[Case], bool], Callable[[Case], None]]] = {
    "forward": (lambda c: True, check_forward),
    "first_order": (lambda c: c.op.differentiable and c.sample.order >= 1, check_first_order),
    "second_order": (lambda c: c.op.differentiable and c.sample.order >= 2, check_second_order),
    "broadcasting": (lambda c: c.op.differentiable and c.sample.order >= 1 and broadcast_shapes(c) is not None,
                     check_broadcasting),
    "same_operand": (lambda c: c.op.differentiable and c.sample.order >= 1 and same_operand_applies(c),
                     check_same_operand),
    "no_grad": (lambda c: c.op.differentiable and not c.op.creation, check_no_grad),
    "float32": (lambda c: c.op.differentiable and c.sample.order >= 1, check_float32),
    "refuses_gradients": (lambda c: not c.op.differentiable and not c.op.creation, check_refuses_gradients),
    "batching": (_batching_applies, check_batching),
    "inplace": (inplace_applies, check_inplace),
    "complex_first_order": (_complex_applies(1), check_complex_first_order),
    "complex_second_order": (_complex_applies(2), check_complex_second_order),
}
