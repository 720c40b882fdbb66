"""The complex-number checks: an op that declares complex rules (`Op(complex=...)`) is run on
each of its samples with complex inputs, against NumPy's forward and against finite
differences along the real and imaginary direction of every input element.

Gradients are those of docs/gradient-conventions.md: for a real loss L of z = x + iy,
dL/dx + i dL/dy. Every random input is made complex; an op with two or more is also
checked with only its first input complex, where the engine must keep the real part of
the other inputs' cotangents. A backend without complex128 (MLX) is checked as float32
backends are: the rules' math in complex128 on NumPy, the backend's kernels loosely in
complex64.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

import minidiff as md
from minidiff.extend import Op, Sample
from minidiff.testing.gradcheck import GradcheckWarning, first_order_gradient, gradcheck
from minidiff.testing.samples import _as_list, _is_shape, _split, assert_close, materialize, op_function, reference_of

__all__ = ["check_complex_gradients", "complex_applies"]


def complex_applies(op: Op, sample: Sample, order: int) -> bool:
    """An op with complex rules, on a sample with a random input and gradients of `order`."""
    return (
        bool(op.complex) and op.differentiable and not op.creation and sample.complex and sample.order >= order
        and _random_inputs(sample) > 0
    )


def check_complex_gradients(op: Op, sample: Sample, rng: np.random.Generator, backend: str, order: int) -> None:
    """Forward against NumPy and gradients of `order` (1 or 2) against finite differences,
    with every random input complex, then (first order) with only the first one complex."""
    counts = [_random_inputs(sample)]
    if order == 1 and counts[0] > 1:
        counts.append(1)
    state = rng.bit_generator.state
    for count in counts:
        rng.bit_generator.state = state  # the same draws, so only the imaginary parts differ
        args = materialize(op, sample, rng, complex_inputs=count)
        function, params = op_function(op), sample.params
        leaves, rebuild = _split(args)
        f: Callable[..., Any] = lambda *xs: function(*rebuild(xs), **params)  # noqa: E731
        if order == 1:
            _check_forward(op, sample, args, f, leaves, backend)
        _gradcheck(f if order == 1 else first_order_gradient(f), leaves, sample, backend, op, count)


def _random_inputs(sample: Sample) -> int:
    return sum(len(arg) if isinstance(arg, list) else 1 for arg in sample.args if _is_shape(arg) or (
        isinstance(arg, list) and arg and all(_is_shape(a) for a in arg)))


def _has_complex128(backend: str) -> bool:
    chosen = md.get_backend(backend)
    return np.dtype(np.complex128) in {chosen.host_dtype(kind) for kind in chosen.complex_dtypes}


def _check_forward(op: Op, sample: Sample, args: list[Any], f: Callable[..., Any], leaves: list[np.ndarray],
                   backend: str) -> None:
    wide = _has_complex128(backend)
    inputs = leaves if wide else [leaf.astype(np.complex64 if leaf.dtype.kind == "c" else np.float32)
                                  for leaf in leaves]
    got = _as_list(f(*[md.Tensor(leaf, backend=backend) for leaf in inputs]))
    expected = _as_list(reference_of(op)(*args, **sample.params))
    tolerance = sample.tolerance
    for got_one, expected_one in zip(got, expected):
        host, expected_one = got_one.numpy(), np.asarray(expected_one)
        what = f"{op.qualname} forward on complex input"
        assert host.shape == expected_one.shape, f"{what}: shape {host.shape}, NumPy gives {expected_one.shape}"
        if wide:
            assert host.dtype == expected_one.dtype, f"{what}: dtype {host.dtype}, NumPy gives {expected_one.dtype}"
            assert_close(host, expected_one, rtol=tolerance.forward_rtol, atol=tolerance.forward_atol, what=what)
        else:
            assert_close(host, expected_one, rtol=max(1e-4, tolerance.forward_rtol),
                         atol=max(1e-5, tolerance.forward_atol), what=what)


def _gradcheck(f: Callable[..., Any], leaves: list[np.ndarray], sample: Sample, backend: str, op: Op,
               count: int) -> None:
    tolerance = sample.tolerance
    where = f"{op.qualname} with {count} complex input{'s' if count > 1 else ''}"
    try:
        if _has_complex128(backend):
            gradcheck(f, *leaves, backend=backend, eps=tolerance.eps, atol=tolerance.grad_atol,
                      rtol=tolerance.grad_rtol)
            return
        gradcheck(f, *leaves, backend="numpy", eps=tolerance.eps, atol=tolerance.grad_atol,
                  rtol=tolerance.grad_rtol)
        narrow = [leaf.astype(np.complex64 if leaf.dtype.kind == "c" else np.float32) for leaf in leaves]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GradcheckWarning)
            gradcheck(f, *narrow, backend=backend, eps=1e-2, atol=max(2e-2, tolerance.grad_atol),
                      rtol=max(2e-2, tolerance.grad_rtol))
    except AssertionError as error:
        raise type(error)(f"{where}: {error}") from None
