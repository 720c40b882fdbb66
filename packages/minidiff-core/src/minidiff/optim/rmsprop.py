"""RMSprop (Hinton's lecture 6e; the centered form from Graves 2013), as PyTorch's
`torch.optim.RMSprop` documents it."""

from __future__ import annotations

from typing import Any, Mapping

import minidiff as md
from minidiff._tensor import Tensor
from minidiff.optim.optimizer import Optimizer, Params, flag, real


class RMSprop(Optimizer):
    """RMSprop: each step, with g the gradient at the parameter p,

        g <- g + weight_decay * p                          (if weight_decay != 0)
        v <- alpha * v + (1 - alpha) * g**2                (v, g_avg, b start at 0)
        g_avg <- alpha * g_avg + (1 - alpha) * g           (if centered)
        d <- sqrt(v - g_avg**2) + eps if centered, else sqrt(v) + eps
        b <- momentum * b + g / d; p <- p - lr * b         (if momentum > 0)
        p <- p - lr * g / d                                (otherwise)

    `eps` is added after the square root, as in PyTorch (TensorFlow adds it inside).

    >>> import minidiff as md
    >>> w = md.Tensor([1.0, -3.0], allow_grad=True)
    >>> opt = md.optim.RMSprop([w], lr=0.01)
    >>> (w ** 2).sum().backward()
    >>> opt.step()          # the first step is lr / sqrt(1 - alpha) = 0.1 against the gradient's sign
    >>> w
    minidiff.Tensor([ 0.9, -2.9], allow_grad=True)
    """

    state_keys = ("square_avg", "grad_avg", "momentum_buffer")

    def __init__(
        self,
        params: Params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(
            params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered
        )

    @classmethod
    def _validate(cls, hyperparameters: dict[str, Any]) -> dict[str, Any]:
        h = hyperparameters
        return {
            "lr": real("lr", h["lr"]),
            "alpha": real("alpha", h["alpha"], high=1.0),
            "eps": real("eps", h["eps"]),
            "weight_decay": real("weight_decay", h["weight_decay"]),
            "momentum": real("momentum", h["momentum"]),
            "centered": flag("centered", h["centered"]),
        }

    @classmethod
    def _required_state(cls, hyperparameters: Mapping[str, Any]) -> set[str]:
        needed = {"square_avg"}
        if hyperparameters["centered"]:
            needed.add("grad_avg")
        if hyperparameters["momentum"] > 0:
            needed.add("momentum_buffer")
        return needed

    def _update(self, p: Tensor, g: Tensor, state: dict[str, Any]) -> Tensor:
        alpha = self.alpha
        if self.weight_decay != 0:
            g = g + self.weight_decay * p
        v = state["square_avg"] = alpha * state.get("square_avg", 0.0) + (1 - alpha) * (g * g)
        if self.centered:
            g_avg = state["grad_avg"] = alpha * state.get("grad_avg", 0.0) + (1 - alpha) * g
            v = v - g_avg * g_avg
        denominator = md.sqrt(v) + self.eps
        if self.momentum > 0:
            b = state["momentum_buffer"] = self.momentum * state.get("momentum_buffer", 0.0) + g / denominator
            return p - self.lr * b
        return p - self.lr * (g / denominator)
