"""Running an op on its declared samples: the building block of the generated op tests.

A sample's arguments are shapes (random float64 inputs drawn from that argument's domain),
lists of shapes (for ops taking a sequence of operands) or concrete values passed as they
are: float arrays among them are differentiated (a sample pins an input to exact points
that way), everything else is a constant. `check_forward` and `check_gradients` run the
forward against the op's NumPy reference and the gradients against finite differences,
within the sample's `Tolerance`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from minidiff.extend import Op, Sample
from minidiff.optable import functions
from minidiff._tensor import Tensor
from minidiff.testing.gradcheck import first_order_gradient, gradcheck

__all__ = ["assert_close", "check_forward", "check_gradients", "materialize", "op_function", "reference_of"]


def op_function(op: Op) -> Callable[..., Any]:
    """The bound function of a registered op (`md.sin` for `sin`, internal ops too)."""
    from minidiff import plugins

    plugins.load()
    return functions[op.qualname]


def reference_of(op: Op) -> Callable[..., Any]:
    if op.reference is not None:
        return op.reference
    namespace = getattr(np, op.namespace) if op.namespace else np
    reference = getattr(namespace, op.name, None)
    if reference is None:
        raise LookupError(f"op {op.qualname!r} declares no reference and NumPy has no {op.qualname!r}")
    return reference


def _is_shape(arg: Any) -> bool:
    return isinstance(arg, tuple) and all(isinstance(n, int) for n in arg)


def materialize(op: Op, sample: Sample, rng: np.random.Generator, complex_inputs: int = 0) -> list[Any]:
    """The sample's arguments with each shape replaced by random float64 values drawn from
    that argument's domain; every other argument (a float array pinning exact points, an
    index, a number) is passed as it is. The first `complex_inputs` random arguments are
    complex128 instead, with imaginary parts in (-w/2, w/2) for a domain of width w."""
    made = [0]

    def draw(low: float, high: float, shape: tuple[int, ...]) -> np.ndarray:
        values = rng.uniform(low, high, size=shape)
        made[0] += 1
        if made[0] > complex_inputs:
            return values
        half = (high - low) / 2
        return np.asarray(values + 1j * rng.uniform(-half, half, size=shape))  # 0-d stays an array

    def make(position: int, arg: Any) -> Any:
        if op.creation:
            return arg
        if _is_shape(arg):
            return draw(*sample.domain_of(position), arg)
        if isinstance(arg, list) and arg and all(_is_shape(a) for a in arg):
            low, high = sample.domain_of(position)
            return [draw(low, high, a) for a in arg]
        return arg

    return [make(position, arg) for position, arg in enumerate(sample.args)]


def _split(args: list[Any]) -> tuple[list[np.ndarray], Callable[[tuple], list[Any]]]:
    """Differentiable leaves of `args` (float arrays, also inside lists) and how to put
    replacements back."""
    leaves: list[np.ndarray] = []
    layout: list[Any] = []
    for arg in args:
        if isinstance(arg, np.ndarray) and arg.dtype.kind in "fc":
            layout.append(len(leaves))
            leaves.append(arg)
        elif isinstance(arg, list) and arg and all(isinstance(a, np.ndarray) and a.dtype.kind in "fc" for a in arg):
            layout.append([len(leaves) + i for i in range(len(arg))])
            leaves.extend(arg)
        else:
            layout.append(("const", arg))

    def rebuild(values: tuple) -> list[Any]:
        out = []
        for item in layout:
            if isinstance(item, int):
                out.append(values[item])
            elif isinstance(item, list):
                out.append([values[i] for i in item])
            else:
                out.append(item[1])
        return out

    return leaves, rebuild


def check_forward(op: Op, sample: Sample, rng: np.random.Generator, backend: str | None = None) -> None:
    """The op's output matches its NumPy reference in shape, dtype and values."""
    args = materialize(op, sample, rng)
    function = op_function(op)
    leaves, rebuild = _split(args)
    tensors = [Tensor(leaf, backend=backend) for leaf in leaves]
    if op.creation:
        got = function(*args, backend=backend, **sample.params)
    else:
        got = function(*rebuild(tuple(tensors)), **sample.params)
    expected = reference_of(op)(*args, **sample.params)
    for got_one, expected_one in zip(_as_list(got), _as_list(expected)):
        host = got_one.numpy() if isinstance(got_one, Tensor) else np.asarray(got_one)
        expected_one = np.asarray(expected_one)
        assert host.shape == expected_one.shape, f"{op.qualname}: shape {host.shape}, NumPy gives {expected_one.shape}"
        assert host.dtype == expected_one.dtype, f"{op.qualname}: dtype {host.dtype}, NumPy gives {expected_one.dtype}"
        tolerance = sample.tolerance
        assert_close(host, expected_one, rtol=tolerance.forward_rtol, atol=tolerance.forward_atol,
                     what=f"{op.qualname} forward")


def assert_close(got: Any, expected: Any, *, rtol: float, atol: float, what: str) -> None:
    """`got` equals `expected` within `atol + rtol * |expected|` element by element (NaN
    matching NaN, an infinity the same infinity); otherwise an `AssertionError` whose first
    line gives the size of the error, not only the tolerance, so that one line of
    `minidiff check` says how far off the op is.

    >>> assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.1]), rtol=1e-6, atol=0.0, what="demo")
    Traceback (most recent call last):
        ...
    AssertionError: demo: 1 of 2 elements differ from NumPy: max abs error 0.1, max rel error 0.0476 (worst at index (1,): got 2, NumPy 2.1); tolerance rtol=1e-06, atol=0
    """
    got, expected = np.asarray(got), np.asarray(expected)
    kind = np.complex128 if "c" in (got.dtype.kind, expected.dtype.kind) else np.float64
    g, e = got.astype(kind), expected.astype(kind)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        error = np.abs(g - e)
        error = np.where((g == e) | (np.isnan(g) & np.isnan(e)), 0.0, error)
        error = np.where(np.isnan(error), np.inf, error)  # NaN against a number: as wrong as can be
        bad = error > atol + rtol * np.abs(e)
        if not np.any(bad):
            return
        relative = np.where(bad, error / np.abs(e), 0.0)
    nans = np.isnan(g) != np.isnan(e)
    nan_note = f", {int(np.count_nonzero(nans))} NaN where the other has a number" if nans.any() else ""
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.where(bad, error, -1.0))), bad.shape))
    raise AssertionError(
        f"{what}: {int(np.count_nonzero(bad))} of {bad.size} elements differ from NumPy: max abs error "
        f"{np.max(error[bad]):.3g}, max rel error {np.max(relative):.3g}{nan_note} (worst at index {worst}: "
        f"got {g[worst]:.6g}, NumPy {e[worst]:.6g}); tolerance rtol={rtol:g}, atol={atol:g}"
    )


def check_gradients(op: Op, sample: Sample, rng: np.random.Generator, order: int, backend: str | None = None) -> None:
    """Gradients of order `order` (1 or 2) against central finite differences."""
    args = materialize(op, sample, rng)
    function = op_function(op)
    leaves, rebuild = _split(args)
    if not leaves:
        raise ValueError(f"sample of {op.qualname!r} has no floating-point input to differentiate")

    def f(*xs: Any) -> Any:
        return function(*rebuild(xs), **sample.params)

    target = f if order == 1 else first_order_gradient(f)
    tolerance = sample.tolerance
    gradcheck(target, *leaves, backend=backend, eps=tolerance.eps, atol=tolerance.grad_atol, rtol=tolerance.grad_rtol)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (tuple, list)) else [value]
