"""Stochastic gradient descent, with optional momentum, dampening, Nesterov momentum and
L2 weight decay, as PyTorch's `torch.optim.SGD` documents it."""

from __future__ import annotations

from typing import Any, Mapping

from minidiff._tensor import Tensor
from minidiff.optim.optimizer import Optimizer, Params, flag, real


class SGD(Optimizer):
    """Gradient descent: each step, with g the gradient of the loss at the parameter p,

        g <- g + weight_decay * p                                  (if weight_decay != 0)
        b <- g on the first step, else momentum * b + (1 - dampening) * g   (if momentum != 0)
        g <- g + momentum * b if nesterov, else b                  (if momentum != 0)
        p <- p - lr * g

    `nesterov=True` needs `momentum > 0` and `dampening == 0`. As in PyTorch, `lr` scales
    the velocity rather than entering it (Sutskever et al. 2013 put it inside); the two
    agree while `lr` is constant.

    >>> import minidiff as md
    >>> w = md.Tensor([1.0, 2.0], allow_grad=True)
    >>> opt = md.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w ** 2).sum().backward()   # gradient 2 w
    ...     opt.step()
    >>> w                               # 0.8 w, then 0.8 w - 0.1 (0.9 * 2 w + 1.6 w)
    minidiff.Tensor([0.46, 0.92], allow_grad=True)
    """

    state_keys = ("momentum_buffer",)

    def __init__(
        self,
        params: Params,
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(
            params, lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov, weight_decay=weight_decay
        )

    @classmethod
    def _validate(cls, hyperparameters: dict[str, Any]) -> dict[str, Any]:
        h = hyperparameters
        checked = {
            "lr": real("lr", h["lr"]),
            "momentum": real("momentum", h["momentum"]),
            "dampening": real("dampening", h["dampening"], high=1.0),
            "nesterov": flag("nesterov", h["nesterov"]),
            "weight_decay": real("weight_decay", h["weight_decay"]),
        }
        if checked["nesterov"] and (checked["momentum"] <= 0 or checked["dampening"] != 0):
            raise ValueError(
                f"nesterov=True needs momentum > 0 and dampening == 0, got momentum={h['momentum']!r} "
                f"and dampening={h['dampening']!r}"
            )
        return checked

    @classmethod
    def _required_state(cls, hyperparameters: Mapping[str, Any]) -> set[str]:
        return {"momentum_buffer"} if hyperparameters["momentum"] != 0 else set()

    def _update(self, p: Tensor, g: Tensor, state: dict[str, Any]) -> Tensor:
        if self.weight_decay != 0:
            g = g + self.weight_decay * p
        if self.momentum != 0:
            b = state.get("momentum_buffer")
            # the first step starts the buffer at g itself, undamped, as PyTorch does
            b = Tensor(g) if b is None else self.momentum * b + (1 - self.dampening) * g
            state["momentum_buffer"] = b
            g = g + self.momentum * b if self.nesterov else b
        return p - self.lr * g
