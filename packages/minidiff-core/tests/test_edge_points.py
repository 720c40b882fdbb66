"""The table of edge points in docs/gradient-conventions.md: zeros, ties, kinks and singular
points, each with the convention minidiff documents for it.

Each row is a scalar function of one array, the point, the gradient there and the Hessian
applied to a fixed direction `w` (a Hessian-vector product), both written in closed form
next to the row. Rows where the function is smooth at the point are also checked against
central finite differences, first and second order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest

import minidiff as md
from minidiff.testing import gradcheck, gradgradcheck

INF, NAN = math.inf, math.nan
LOG2 = math.log(2.0)


@dataclass(frozen=True)
class Edge:
    """`f` at `at`: its gradient `grad` and `hvp`, the Hessian times `direction(at)`."""

    id: str
    f: Callable[[Any], Any]
    at: np.ndarray
    grad: np.ndarray
    hvp: np.ndarray | None  # None: the second order is not part of the convention
    smooth: bool = False  # differentiable twice around `at`: finite differences apply too


def direction(x: np.ndarray) -> np.ndarray:
    """A fixed direction with no zero entry (so no 0 * inf from the direction itself)."""
    return np.linspace(0.3, 1.1, x.size).reshape(x.shape) if x.size > 1 else np.full(x.shape, 0.7)


def edge(id: str, f, at, grad, hessian=None, smooth: bool = False, elementwise: bool = False) -> Edge:
    """A row; `hessian` is the full matrix, or with `elementwise` the second derivative of
    each element of a sum of elementwise terms (a diagonal Hessian, kept as a vector so
    that an inf on it does not meet a 0 off it)."""
    at = np.asarray(at, dtype=np.float64)
    w = direction(at)
    if hessian is None:
        hvp = None
    elif elementwise:
        hvp = np.asarray(hessian, dtype=np.float64) * w
    else:
        hvp = (np.asarray(hessian, dtype=np.float64) @ w.ravel()).reshape(at.shape)
    return Edge(id, f, at, np.asarray(grad, dtype=np.float64).reshape(at.shape), hvp, smooth)


def total(op: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda x: md.sum(op(x))


def const(values) -> md.Tensor:
    return md.Tensor(np.asarray(values, dtype=np.float64))


ZERO_BASE = np.array([0.0, 0.5, -1.5])
SQRT_AT = np.array([0.0, 1.0, 4.0])
ONES4 = np.ones(4)
_centered_row = np.array([0.5, -1.0, 2.0, 0.25]) - np.mean([0.5, -1.0, 2.0, 0.25])
_row_std = math.sqrt(np.mean(_centered_row**2))


def _var_hessian(n: int, ddof: int) -> np.ndarray:
    # var = |x - mean|^2 / (n - ddof): Hessian 2 (I - 1 1ᵀ / n) / (n - ddof) everywhere.
    return 2.0 * (np.eye(n) - np.ones((n, n)) / n) / (n - ddof)


with np.errstate(divide="ignore"):
    SQRT_GRAD = 0.5 / np.sqrt(SQRT_AT)  # inf at 0: the slope is unbounded, with a sign
    SQRT_SECOND = -0.25 / SQRT_AT**1.5

EDGES = [
    # power at x = 0 with a Python exponent: x**0 is the constant 1; x**1 is x.
    edge("x**0", total(lambda x: x**0), ZERO_BASE, np.zeros(3), np.zeros(3), smooth=True, elementwise=True),
    edge("x**0.0", total(lambda x: x**0.0), ZERO_BASE, np.zeros(3), np.zeros(3), smooth=True, elementwise=True),
    edge("x**1", total(lambda x: x**1), ZERO_BASE, np.ones(3), np.zeros(3), smooth=True, elementwise=True),
    edge("x**1.0", total(lambda x: x**1.0), ZERO_BASE, np.ones(3), np.zeros(3), smooth=True, elementwise=True),
    edge("x**2", total(lambda x: x**2), ZERO_BASE, 2 * ZERO_BASE, np.full(3, 2.0), smooth=True, elementwise=True),
    edge("x**2.0", total(lambda x: x**2.0), ZERO_BASE, 2 * ZERO_BASE, np.full(3, 2.0), smooth=True, elementwise=True),
    edge("x**3", total(lambda x: x**3), ZERO_BASE, 3 * ZERO_BASE**2, 6 * ZERO_BASE, smooth=True, elementwise=True),
    # x**0.5 = sqrt(x): d/dx = 1 / (2 sqrt x), d2/dx2 = -1 / (4 x^1.5): inf and -inf at 0.
    edge("x**0.5", total(lambda x: x**0.5), SQRT_AT, SQRT_GRAD, SQRT_SECOND, elementwise=True),
    # The same with a tensor exponent: y x**(y-1) masked where x = 0 and y = 0 only.
    edge("x**y tensor y, y=0", total(lambda x: x ** const([0.0, 0.0, 0.0])), ZERO_BASE, np.zeros(3), np.zeros(3),
         smooth=True, elementwise=True),
    edge("x**y tensor y, y=1", total(lambda x: x ** const([1.0, 1.0, 1.0])), ZERO_BASE, np.ones(3), np.zeros(3),
         smooth=True, elementwise=True),
    edge("x**y tensor y, y=3", total(lambda x: x ** const([3.0, 3.0, 3.0])), ZERO_BASE, 3 * ZERO_BASE**2,
         6 * ZERO_BASE, smooth=True, elementwise=True),
    # sum_k x^k, k = 0..3 = 1 + x + x^2 + x^3: 1 + 2x + 3x^2 and 2 + 6x, at 0: 1 and 2.
    edge("x**arange(4)", lambda x: md.sum(x ** md.arange(4)), 0.0, 1.0, 2.0, smooth=True, elementwise=True),
    edge("x**arange(4.0)", lambda x: md.sum(x ** md.arange(4.0)), 0.0, 1.0, 2.0, smooth=True, elementwise=True),
    # d/dy 0**y: 0**y = 0 for every y > 0 (flat); at y = 0 PyTorch's convention, 0.
    edge("0**y, y>=0", total(lambda y: md.power(0.0, y)), [2.0, 0.5, 0.0], np.zeros(3), np.zeros(3), elementwise=True),
    edge("0**y, y>0 smooth", total(lambda y: md.power(0.0, y)), [2.0, 0.5, 1.0], np.zeros(3), np.zeros(3), smooth=True,
         elementwise=True),
    # 0**y = inf for y < 0: d/dy = 0**y log 0 = inf * -inf.
    edge("0**y, y<0", total(lambda y: md.power(0.0, y)), [-1.0], [-INF]),
    # x**y with x < 0 is not real for y near an integer: NaN, as in PyTorch and JAX.
    edge("(-1.5)**y", total(lambda y: md.power(-1.5, y)), [2.0], [NAN]),
    # One zero in a base array: sum_i x_i^y with x = (0, 1, 2): d/dy = 0 + 0 + 4 log 2 and
    # d2/dy2 = 4 log^2 2 (a zero must not make the sum NaN).
    edge("sum(power([0,1,2], y))", lambda y: md.sum(md.power(const([0.0, 1.0, 2.0]), y)), 2.0, 4 * LOG2,
         4 * LOG2**2, smooth=True, elementwise=True),
    # power(x, y) with both as tensors, v = (x, y). At (0, 0): x**0 is 1 for every x, 0**y is 0
    # for y > 0: gradient (0, 0), and the Hessian is taken as 0. At (0, 2): x^2 has gradient
    # (0, 0) and d2/dx2 = 2; 0**y is flat near y = 2, so every other entry is 0. At (0, 3): all 0.
    edge("power(x, y) at (0, 0)", lambda v: md.power(v[0], v[1]), [0.0, 0.0], [0.0, 0.0], np.zeros((2, 2))),
    edge("power(x, y) at (0, 2)", lambda v: md.power(v[0], v[1]), [0.0, 2.0], [0.0, 0.0], [[2.0, 0.0], [0.0, 0.0]]),
    edge("power(x, y) at (0, 3)", lambda v: md.power(v[0], v[1]), [0.0, 3.0], [0.0, 0.0], np.zeros((2, 2))),
    # At (0, 1), d/dx x**y = y x**(y-1) jumps with y (inf below 1, 0 above), so the cross
    # derivatives do not exist; d/dy (d/dx) is read as 1 (d/dy of y x**0) and d/dx (d/dy) as
    # 0 (0**y is flat). The matrix is [i][j] = d(grad_j)/d v_i, what <grad, w> differentiates.
    edge("power(x, y) at (0, 1)", lambda v: md.power(v[0], v[1]), [0.0, 1.0], [1.0, 0.0], [[0.0, 0.0], [1.0, 0.0]]),
    # hypot at (0, 0): x / hypot is 0 / 0, left NaN as in PyTorch.
    edge("hypot at (0, 0)", lambda v: md.hypot(v[0], v[1]), [0.0, 0.0], [NAN, NAN]),
    # abs at 0: sign(0) = 0, the subgradient PyTorch returns; sqrt at 0: inf.
    edge("abs", total(md.abs), ZERO_BASE, [0.0, 1.0, -1.0], np.zeros(3), elementwise=True),
    edge("sqrt", total(md.sqrt), SQRT_AT, SQRT_GRAD, SQRT_SECOND, elementwise=True),
    # Ties in maximum/minimum split g in half; c = (1, 0, 0) ties x = (1, 1, -1) at element 0.
    edge("maximum tie", total(lambda x: md.maximum(x, const([1.0, 0.0, 0.0]))), [1.0, 1.0, -1.0], [0.5, 1.0, 0.0],
         np.zeros(3), elementwise=True),
    edge("maximum tie, y side", total(lambda x: md.maximum(const([1.0, 0.0, 0.0]), x)), [1.0, 1.0, -1.0],
         [0.5, 1.0, 0.0], np.zeros(3), elementwise=True),
    edge("minimum tie", total(lambda x: md.minimum(x, const([1.0, 0.0, 0.0]))), [1.0, 1.0, -1.0], [0.5, 0.0, 1.0],
         np.zeros(3), elementwise=True),
    edge("relu as maximum(x, 0)", total(lambda x: md.maximum(x, 0.0)), [0.0, 1.0, -1.0], [0.5, 1.0, 0.0],
         np.zeros(3), elementwise=True),
    edge("relu as where", total(lambda x: md.where(x > 0, x, 0.0)), [0.0, 1.0, -1.0], [0.0, 1.0, 0.0],
         np.zeros(3), elementwise=True),
    # clip at a bound: all of g to x (PyTorch's choice), none to the bound.
    edge("clip at bounds", total(lambda x: md.clip(x, -0.5, 0.5)), [-0.5, 0.5, 0.0, 1.0, -1.0],
         [1.0, 1.0, 1.0, 0.0, 0.0], np.zeros(5), elementwise=True),
    edge("clip, lower bound tied", total(lambda lo: md.clip(const([-0.5, -1.0, 0.0]), lo, 0.5)), [-0.5, -0.5, -0.5],
         [0.0, 1.0, 0.0], np.zeros(3), elementwise=True),
    # max/min over k tied values: 1/k to each.
    edge("max tie of 2", md.max, [1.0, 3.0, 3.0, -1.0], [0.0, 0.5, 0.5, 0.0], np.zeros((4, 4))),
    edge("min tie of 2", md.min, [1.0, -1.0, -1.0, 2.0], [0.0, 0.5, 0.5, 0.0], np.zeros((4, 4))),
    edge("max tie of 3", md.max, [2.0, 2.0, 2.0], np.full(3, 1 / 3), np.zeros((3, 3))),
    # prod with zeros: d/dx_i = product of the others, H_ij = product of all but i, j.
    edge("prod one zero", md.prod, [0.0, 2.0, 3.0], [6.0, 0.0, 0.0], [[0, 3, 2], [3, 0, 0], [2, 0, 0]], smooth=True),
    edge("prod two zeros", md.prod, [0.0, 0.0, 3.0], [0.0, 0.0, 0.0], [[0, 3, 0], [3, 0, 0], [0, 0, 0]], smooth=True),
    # A tiny element: d/dx_i (ans / x_i) = 0 must not come out as the difference of two terms
    # of size ans / x_i^2 (which was 1.3e117 for 1.3 prod([1e-133])).
    edge("prod of one tiny value", lambda x: 1.3 * md.prod(x), [1e-133], [1.3], [[0.0]]),
    edge("prod with a tiny value", md.prod, [1e-40, 2.0, 3.0], [6.0, 3e-40, 2e-40],
         [[0, 3, 2], [3, 0, 1e-40], [2, 1e-40, 0]]),
    # std at zero variance: the subgradient 0; its derivative is NaN (unbounded near there).
    edge("std constant", md.std, ONES4, np.zeros(4), np.full((4, 4), NAN)),
    edge("std constant, ddof=1", lambda x: md.std(x, ddof=1), ONES4, np.zeros(4), np.full((4, 4), NAN)),
    # One row constant, one not: d std/dx = (x - mean) / (n std) on the other row.
    edge("std rows, one constant", lambda x: md.sum(md.std(x, axis=1)), np.stack([ONES4, _centered_row + 0.75]),
         np.stack([np.zeros(4), _centered_row / (4 * _row_std)])),
    # std over an axis of length 1 is identically 0.
    edge("std of one value", lambda x: md.sum(md.std(x, axis=1)), [[1.0], [2.0]], [[0.0], [0.0]], np.zeros((2, 2)),
         smooth=True),
    # var is smooth: 2 (x - mean) / (n - ddof) = 0 at a constant, Hessian as above.
    edge("var constant", md.var, ONES4, np.zeros(4), _var_hessian(4, 0), smooth=True),
    edge("var constant, ddof=1", lambda x: md.var(x, ddof=1), ONES4, np.zeros(4), _var_hessian(4, 1), smooth=True),
]

NORM_EDGES = [
    # The 2-norm at 0: the subgradient 0; its derivative NaN (the Hessian grows as 1/|x|).
    edge("norm at 0", lambda x: md.linalg.norm(x), np.zeros(3), np.zeros(3), np.full((3, 3), NAN)),
    edge("vector_norm ord=3 at 0", lambda x: md.linalg.vector_norm(x, ord=3), np.zeros(3), np.zeros(3),
         np.full((3, 3), NAN)),
    edge("Frobenius norm at 0", lambda x: md.linalg.norm(x), np.zeros((2, 3)), np.zeros((2, 3))),
    # Rows (0, 0, 0) and (1, 2, 2) (norm 3): gradient 0 and x / 3.
    edge("norm of rows, one zero", lambda x: md.sum(md.linalg.norm(x, axis=1)), [[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]],
         [[0.0, 0.0, 0.0], [1 / 3, 2 / 3, 2 / 3]]),
    # ord=1: sign(x), 0 at a zero entry; ord=inf: ties for the largest |x| share g, with sign.
    edge("norm ord=1, zero entry", lambda x: md.linalg.norm(x, ord=1), [0.0, 2.0, -1.0], [0.0, 1.0, -1.0],
         np.zeros((3, 3))),
    edge("norm ord=inf, tie", lambda x: md.linalg.norm(x, ord=INF), [1.0, -1.0, 0.5], [0.5, -0.5, 0.0],
         np.zeros((3, 3))),
    # Matrix 2-norm at 0: both singular values tie at 0, each u vᵀ gets half: I / 2 (PyTorch's);
    # the nuclear norm at 0: U Vᵀ = I.
    edge("matrix norm ord=2 at 0", lambda x: md.linalg.norm(x, ord=2), np.zeros((2, 2)), np.eye(2) / 2),
    edge("matrix norm ord=nuc at 0", lambda x: md.linalg.norm(x, ord="nuc"), np.zeros((2, 2)), np.eye(2)),
]


def _first_and_second(row: Edge) -> tuple[np.ndarray, np.ndarray | None]:
    x = md.Tensor(row.at, allow_grad=True)
    row.f(x).backward(allow_higher_order=True)
    grad = x.grad
    if row.hvp is None:
        return grad.numpy(), None
    along = md.sum(grad * direction(row.at))
    if not along.allow_grad:
        return grad.numpy(), np.zeros(row.at.shape)  # the gradient does not depend on x
    along.backward()
    return grad.numpy(), x.grad.numpy()


def _check(row: Edge) -> None:
    with np.errstate(all="ignore"):
        grad, hvp = _first_and_second(row)
    np.testing.assert_allclose(grad, row.grad, rtol=1e-12, atol=1e-12, err_msg=f"{row.id}: gradient")
    if row.hvp is not None:
        np.testing.assert_allclose(hvp, row.hvp, rtol=1e-12, atol=1e-12, err_msg=f"{row.id}: second order")


@pytest.mark.parametrize("row", EDGES, ids=[row.id for row in EDGES])
def test_edge_point_convention(row):
    _check(row)


@pytest.mark.parametrize("row", NORM_EDGES, ids=[row.id for row in NORM_EDGES])
def test_norm_edge_point_convention(row):
    pytest.importorskip("minidiff_ops_linalg")
    _check(row)


SMOOTH = [row for row in EDGES if row.smooth]


@pytest.mark.parametrize("row", SMOOTH, ids=[row.id for row in SMOOTH])
def test_smooth_edge_points_match_finite_differences(row):
    gradcheck(row.f, row.at)
    gradgradcheck(row.f, row.at)



def test_norm_of_order_below_one_at_a_zero_entry_raises():
    pytest.importorskip("minidiff_ops_linalg")
    x = md.Tensor([0.0, 1.0, 2.0], allow_grad=True)
    with pytest.raises(ValueError, match="ord=0.5 norm at a zero entry is infinite"):
        md.linalg.vector_norm(x, ord=0.5).backward()
