"""The example pack's ops: one declaration each, registered through minidiff's hook.

Each `Op` says how to compute the forward on raw arrays of a backend's namespace `xp`,
one gradient rule per operand written with minidiff ops (so the gradient can itself be
differentiated, at any order), a NumPy reference the conformance kit compares the
forward with, and samples whose domains keep away from kinks and singular points.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minidiff as md
from minidiff.extend import Op, PluginRegistry, batching, hookimpl, sample

__all__ = ["OPS", "huber", "minidiff_register_ops", "softplus", "squared_difference"]


# ---------------------------------------------------------------------------- softplus


def _softplus_forward(xp: Any, x: Any) -> Any:
    # log(1 + exp(x)) overflows for x > ~709; max(x, 0) + log1p(exp(-|x|)) is the same
    # function and never exponentiates a positive number.
    return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))


softplus = Op(
    "softplus",
    forward=_softplus_forward,
    # d/dx softplus(x) = sigmoid(x) = exp(x - softplus(x)): x - ans <= 0, so this never overflows.
    vjp=(lambda g, ans, x: g * md.exp(x - ans),),
    samples=(
        sample((3, 4)),
        sample(()),
        sample((3, 4), domain=(-40.0, 40.0)),  # saturated on both sides
        sample((3, 4), domain=(-800.0, 800.0), order=0),  # forward only: where log1p(exp(x)) is inf
    ),
    reference=lambda x: np.logaddexp(0.0, x),
    batch=batching.elementwise,  # under md.vmap: one call on the whole batch
    doc="softplus(x) = log(1 + exp(x)), computed without overflow; its derivative is sigmoid(x).",
)


# ---------------------------------------------------------------------------- huber


def _huber_forward(xp: Any, x: Any, delta: float) -> Any:
    if not delta > 0:
        raise ValueError(f"delta must be positive, got {delta!r}")
    quadratic = 0.5 * x * x
    linear = delta * (xp.abs(x) - 0.5 * delta)
    return xp.where(xp.abs(x) <= delta, quadratic, linear)


def _huber_reference(x: np.ndarray, delta: float = 1.0) -> np.ndarray:
    # An independent formula for the same function: with c = clip(x, -delta, delta),
    # huber(x) = c**2 / 2 + delta * (|x| - |c|).
    c = np.clip(x, -delta, delta)
    return 0.5 * c * c + delta * (np.abs(x) - np.abs(c))


huber = Op(
    "huber",
    forward=_huber_forward,
    # huber'(x) = clip(x, -delta, delta); written with md.clip, so huber'' (1 inside, 0 outside) follows.
    vjp=(lambda g, ans, x, delta: g * md.clip(x, -delta, delta),),
    params={"delta": 1.0},
    # The kink of huber' sits at |x| = delta: each sample stays on one side of it.
    samples=(
        sample((3, 4), domain=(-0.9, 0.9)),  # quadratic part
        sample((3, 4), domain=(1.1, 3.0)),  # linear part, x > delta
        sample((3, 4), domain=(-3.0, -1.1)),  # linear part, x < -delta
        sample((2, 3), delta=0.25, domain=(0.3, 2.0)),  # another delta
        sample((), delta=2.5),  # inside a wide quadratic part
    ),
    reference=_huber_reference,
    batch=batching.elementwise,
    doc="huber(x, delta=1.0): x**2 / 2 where |x| <= delta, delta * (|x| - delta / 2) elsewhere (the Huber loss).",
)


# ---------------------------------------------------------------------------- squared_difference

squared_difference = Op(
    "squared_difference",
    forward=lambda xp, x, y: xp.square(x - y),
    vjp=(
        lambda g, ans, x, y: 2.0 * g * (x - y),
        lambda g, ans, x, y: -2.0 * g * (x - y),
    ),
    nargs=2,
    # The engine sums each gradient over the dimensions its operand was broadcast along,
    # so the rules above return the output's shape and need no reduction of their own.
    samples=(
        sample((3, 4), (3, 4)),  # also checked as squared_difference(x, x)
        sample((3, 1), (4,)),  # broadcasting both ways
        sample((2, 3), ()),
    ),
    reference=lambda x, y: np.subtract(x, y) ** 2,
    batch=batching.elementwise,
    doc="squared_difference(x, y) = (x - y)**2, elementwise with NumPy broadcasting.",
)


OPS: tuple[Op, ...] = (softplus, huber, squared_difference)


@hookimpl
def minidiff_register_ops(registry: PluginRegistry) -> None:
    """Add this pack's ops; minidiff calls this once, when plugins load."""
    for op in OPS:
        registry.add_op(op)
