"""Gradients checked against central finite differences.

`gradcheck(f, *inputs)` compares the VJP minidiff computes for `f` with a finite-difference
estimate of the same quantity, element by element; `gradgradcheck` does the same for the
gradient function itself (second order), and `mode="direction"` compares one random
directional derivative instead of every element, which is cheap at any order.

Floating and complex inputs are differentiated; every other input (index arrays, ints) is
passed to `f` as it is. A complex input z = x + iy is perturbed along x and along y
separately, and its gradient is checked as dL/dx + i dL/dy, the convention of
docs/gradient-conventions.md; a complex output is contracted with a complex cotangent v as
L = sum(Re(conj(v) * out)). Run in float64 (complex128): in float32 a finite difference has
too few digits, and a warning says so.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import numpy as np

from minidiff.engine import grad as engine_grad
from minidiff.graph import enable_grad
from minidiff._tensor import Tensor

__all__ = ["GradcheckError", "GradcheckWarning", "gradcheck", "gradgradcheck"]


class GradcheckError(AssertionError):
    """The analytic gradient disagrees with finite differences."""


class GradcheckWarning(UserWarning):
    """The check runs in a precision too low for finite differences to be trusted."""


def gradcheck(
    f: Callable[..., Any],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    mode: str = "full",
    seed: int = 0,
    backend: str | None = None,
) -> bool:
    """Check the first-order gradient of `f` at `inputs` against central differences.

    `f` returns a Tensor or a sequence of Tensors; each output is contracted with a fixed
    random cotangent, so the whole Jacobian is exercised. Raises `GradcheckError` naming
    the input, the element and the size of the disagreement.

    >>> import minidiff as md
    >>> gradcheck(lambda x: md.sin(x) * x, np.array([0.5, 1.0, 2.0]))
    True
    """
    if mode not in ("full", "direction"):
        raise ValueError(f"mode must be 'full' or 'direction', got {mode!r}")
    problem = _Problem(f, inputs, seed, backend)
    analytic = problem.analytic()
    if mode == "direction":
        return _check_direction(problem, analytic, eps, atol, rtol, seed)
    for slot, got in zip(problem.slots, analytic):
        expected = problem.numeric_gradient(slot, eps)
        _compare(slot, got, expected, atol, rtol)
    return True


def gradgradcheck(
    f: Callable[..., Any],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    mode: str = "full",
    seed: int = 0,
    backend: str | None = None,
) -> bool:
    """Check the second-order gradient of `f`: the gradient of its VJP, against finite
    differences of that VJP. Nest `first_order_gradient` for higher orders.

    >>> import minidiff as md
    >>> gradgradcheck(lambda x: md.exp(x) * x, np.array([0.5, 1.0]))
    True
    """
    return gradcheck(
        first_order_gradient(f, seed), *inputs, eps=eps, atol=atol, rtol=rtol, mode=mode, seed=seed + 1,
        backend=backend,
    )


def first_order_gradient(f: Callable[..., Any], seed: int = 0) -> Callable[..., tuple]:
    """The function `xs -> grad <f(xs), v>` for a fixed random `v`, itself differentiable."""
    cotangents: dict[int, list[np.ndarray]] = {}

    def gradient(*xs: Any) -> tuple:
        with enable_grad():
            outputs = _outputs(f(*xs))
            vs = cotangents.setdefault(0, _random_like(outputs, seed))
            total = _contract(outputs, vs)
            differentiable = [x for x in xs if isinstance(x, Tensor) and x.allow_grad]
            return engine_grad(total, differentiable, allow_higher_order=True)

    return gradient


# ---------------------------------------------------------------------------- internals


class _Slot:
    """One differentiable input: where it sits among the arguments and its host values."""

    def __init__(self, position: int, values: np.ndarray) -> None:
        self.position = position
        self.values = values


class _Problem:
    def __init__(self, f: Callable[..., Any], inputs: Sequence[Any], seed: int, backend: str | None) -> None:
        self.f = f
        self.args = list(inputs)
        self.backend = backend
        self.slots: list[_Slot] = []
        for position, value in enumerate(self.args):
            host = _host_float(value)
            if host is not None:
                if host.dtype not in (np.float64, np.complex128):
                    warnings.warn(
                        f"gradcheck input {position} is {host.dtype}: finite differences need float64 "
                        f"to be trusted; expect spurious failures",
                        GradcheckWarning,
                        stacklevel=4,
                    )
                self.slots.append(_Slot(position, host))
                if backend is None and isinstance(value, Tensor):
                    self.backend = value.backend.name
        if not self.slots:
            raise ValueError("gradcheck needs at least one floating-point input to differentiate")
        self.cotangents = _random_like(_outputs(self._call({}, allow_grad=True)), seed)

    def _call(self, replaced: dict[int, np.ndarray], allow_grad: bool = False) -> Any:
        args = list(self.args)
        for slot in self.slots:
            values = replaced.get(slot.position, slot.values)
            args[slot.position] = Tensor(values, allow_grad=allow_grad, backend=self.backend)
        self.last_tensors = [args[slot.position] for slot in self.slots]
        return self.f(*args)

    def value(self, replaced: dict[int, np.ndarray]) -> float:
        outputs = _outputs(self._call(replaced, allow_grad=True))
        return float(sum(np.sum(np.real(np.conj(v) * out.numpy().astype(np.complex128)))
                         for out, v in zip(outputs, self.cotangents)))

    def analytic(self) -> list[np.ndarray]:
        outputs = _outputs(self._call({}, allow_grad=True))
        tensors = self.last_tensors
        total = _contract(outputs, self.cotangents)
        grads = engine_grad(total, tensors)
        result = []
        for slot, x, g in zip(self.slots, tensors, grads):
            if g.shape != x.shape or g.dtype != x.dtype:
                raise GradcheckError(
                    f"gradient of input {slot.position} has shape {g.shape} and dtype {g.dtype}, but the "
                    f"input has shape {x.shape} and dtype {x.dtype}"
                )
            result.append(g.numpy().astype(np.complex128 if _is_complex(g.dtype) else np.float64))
        return result

    def numeric_gradient(self, slot: _Slot, eps: float) -> np.ndarray:
        """dL/dx by central differences; for a complex input, dL/dx + i dL/dy."""
        directions = (1.0, 1j) if _is_complex(slot.values.dtype) else (1.0,)
        estimate = np.zeros(slot.values.shape, dtype=slot.values.dtype)
        for index in np.ndindex(*slot.values.shape):
            for direction in directions:
                up, down = slot.values.copy(), slot.values.copy()
                up[index] += eps * direction
                down[index] -= eps * direction
                change = (self.value({slot.position: up}) - self.value({slot.position: down})) / (2 * eps)
                estimate[index] += change * direction
        return estimate


def _check_direction(problem: _Problem, analytic: list[np.ndarray], eps: float, atol: float, rtol: float, seed: int) -> bool:
    rng = np.random.default_rng(seed + 12345)
    directions = [_random(rng, slot.values.shape, slot.values.dtype) for slot in problem.slots]
    up = {s.position: s.values + eps * u for s, u in zip(problem.slots, directions)}
    down = {s.position: s.values - eps * u for s, u in zip(problem.slots, directions)}
    numeric = (problem.value(up) - problem.value(down)) / (2 * eps)
    exact = float(sum(np.sum(np.real(np.conj(g) * u)) for g, u in zip(analytic, directions)))
    if abs(exact - numeric) > atol + rtol * abs(numeric):
        raise GradcheckError(
            f"directional derivative along a random direction: analytic {exact:.10g}, finite differences "
            f"{numeric:.10g}, difference {abs(exact - numeric):.3g} (atol={atol}, rtol={rtol})"
        )
    return True


def _compare(slot: _Slot, got: np.ndarray, expected: np.ndarray, atol: float, rtol: float) -> None:
    error = np.abs(got - expected)
    bad = ~(error <= atol + rtol * np.abs(expected))  # NaN on either side counts as bad
    if not bad.any():
        return
    indices = np.argwhere(bad)
    lines = [
        f"  element {tuple(int(i) for i in index)}: analytic {got[tuple(index)]:.10g}, "
        f"finite differences {expected[tuple(index)]:.10g}, difference {error[tuple(index)]:.3g}"
        for index in indices[:5]
    ]
    more = f"\n  ... and {len(indices) - 5} more" if len(indices) > 5 else ""
    raise GradcheckError(
        f"gradient of input {slot.position} disagrees with finite differences at {len(indices)} of "
        f"{got.size} elements (atol={atol}, rtol={rtol}):\n" + "\n".join(lines) + more
    )


def _host_float(value: Any) -> np.ndarray | None:
    if isinstance(value, Tensor):
        host = value.numpy()
    elif isinstance(value, (np.ndarray, np.generic)):
        host = np.asarray(value)
    else:
        return None
    return np.array(host) if host.dtype.kind in "fc" else None


def _is_complex(dtype: Any) -> bool:
    return np.dtype(dtype).kind == "c"


def _outputs(result: Any) -> list[Tensor]:
    items = list(result) if isinstance(result, (tuple, list)) else [result]
    return [out for out in items if isinstance(out, Tensor) and out.dtype.kind in "fc"]


def _random(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """Standard normal values, with an imaginary part of its own for a complex dtype."""
    values = rng.standard_normal(shape)
    return values + 1j * rng.standard_normal(shape) if _is_complex(dtype) else values


def _random_like(outputs: list[Tensor], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [_random(rng, out.shape, out.dtype) for out in outputs]


def _contract(outputs: list[Tensor], cotangents: list[np.ndarray]) -> Tensor:
    """sum(Re(conj(v) * out)) over the outputs: a real loss whose gradient at out is v."""
    from minidiff.optable import ops

    total = None
    for out, v in zip(outputs, cotangents):
        if _is_complex(out.dtype):
            term = ops.sum(ops.real(out * Tensor(np.conj(v).astype(out.dtype), backend=out.backend.name)))
        else:
            term = ops.sum(out * Tensor(v.astype(out.dtype), backend=out.backend.name))
        total = term if total is None else total + term
    if total is None:
        raise ValueError("the function has no floating-point output to differentiate")
    return total
