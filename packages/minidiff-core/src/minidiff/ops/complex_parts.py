"""Parts of complex numbers op family: `real imag conj conjugate angle`.

Gradients follow the convention of docs/gradient-conventions.md (PyTorch's): for a
real-valued loss L of z = x + iy, `z.grad` is dL/dx + i dL/dy, so `z -= lr * z.grad`
descends. None of these ops is complex differentiable, so each rule is written in that
convention directly (`Op(complex=True)`):

- `real(z) = x`: dL/dx = g, dL/dy = 0, so the gradient is `g` (the engine makes it complex).
- `imag(z) = y`: the gradient is `i g`.
- `conj(z) = x - iy`: the gradient is `conj(g)`.
- `angle(z) = atan2(y, x)`: dL/dx = -g y / |z|^2 and dL/dy = g x / |z|^2, so the gradient
  is `i g z / |z|^2`. At z = 0 it is undefined; minidiff gives 0 there, as PyTorch does.

On a real tensor they are NumPy's: `real` and `conj` the identity, `imag` and `angle`
constants (0, and 0 or pi), whose gradients come out 0 (the engine keeps the real part).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minidiff as md
from minidiff.batching import rules
from minidiff.extend import Op, hookimpl, sample

__all__ = ["OPS"]

_SAMPLES = (sample((3, 4)), sample(()))


def _angle_forward(xp: Any, z: Any) -> Any:
    angle = getattr(xp, "angle", None)  # MLX has none; atan2 is its definition
    return angle(z) if angle is not None else xp.arctan2(xp.imag(z), xp.real(z))


def _angle_vjp(g: Any, ans: Any, z: Any) -> Any:
    size = md.real(z * md.conj(z))  # |z|^2, kept real so a real z gets a real gradient
    return g * 1j * z / md.where(size == 0, 1.0, size)


OPS = [
    Op("real", "real", vjp=(lambda g, ans, z: g,), samples=_SAMPLES, batch=rules.elementwise, complex=True),
    Op("imag", "imag", vjp=(lambda g, ans, z: g * 1j,), samples=_SAMPLES, batch=rules.elementwise, complex=True),
    Op("conj", "conj", vjp=(lambda g, ans, z: md.conj(g),), samples=_SAMPLES, batch=rules.elementwise,
       complex=True),
    Op("conjugate", "conj", vjp=(lambda g, ans, z: md.conj(g),), samples=_SAMPLES, batch=rules.elementwise,
       complex=True, reference=np.conjugate),
    Op("angle", _angle_forward, vjp=(_angle_vjp,), samples=_SAMPLES, batch=rules.elementwise, complex=True),
]


@hookimpl
def minidiff_register_ops(registry) -> None:
    for op in OPS:
        registry.add_op(op)
