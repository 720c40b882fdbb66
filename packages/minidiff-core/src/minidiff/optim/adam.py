"""Adam (Kingma and Ba 2015) with optional AMSGrad (Reddi et al. 2018), and AdamW
(Loshchilov and Hutter 2019), as PyTorch's `torch.optim.Adam` and `AdamW` document them."""

from __future__ import annotations

import math
from typing import Any, Mapping

import minidiff as md
from minidiff._tensor import Tensor
from minidiff.optim.optimizer import Optimizer, Params, flag, real


class Adam(Optimizer):
    """Adam: each step t = 1, 2, ..., with g the gradient at the parameter p,

        g <- g + weight_decay * p                          (L2 penalty, if weight_decay != 0)
        m <- beta1 * m + (1 - beta1) * g                   (m, v start at 0)
        v <- beta2 * v + (1 - beta2) * g**2
        v_max <- max(v_max, v)                             (if amsgrad; v_max starts at 0)
        p <- p - lr * (m / (1 - beta1**t)) / (sqrt(v or v_max) / sqrt(1 - beta2**t) + eps)

    `eps` is added after the square root and the bias correction, as in PyTorch (and the
    paper). For weight decay that is not scaled by the adaptive step, use `AdamW`.

    >>> import minidiff as md
    >>> w = md.Tensor([1.0, -3.0], allow_grad=True)
    >>> opt = md.optim.Adam([w], lr=0.1)
    >>> (w ** 2).sum().backward()
    >>> opt.step()          # the first step moves each entry by about lr, against its gradient's sign
    >>> w
    minidiff.Tensor([ 0.9, -2.9], allow_grad=True)
    """

    state_keys = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)

    @classmethod
    def _validate(cls, hyperparameters: dict[str, Any]) -> dict[str, Any]:
        h = hyperparameters
        betas = h["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas should be a pair (beta1, beta2), got {betas!r}")
        return {
            "lr": real("lr", h["lr"]),
            "betas": (real("betas[0]", betas[0], below=1.0), real("betas[1]", betas[1], below=1.0)),
            "eps": real("eps", h["eps"]),
            "weight_decay": real("weight_decay", h["weight_decay"]),
            "amsgrad": flag("amsgrad", h["amsgrad"]),
        }

    @classmethod
    def _required_state(cls, hyperparameters: Mapping[str, Any]) -> set[str]:
        return {"step", "exp_avg", "exp_avg_sq", *(("max_exp_avg_sq",) if hyperparameters["amsgrad"] else ())}

    def _update(self, p: Tensor, g: Tensor, state: dict[str, Any]) -> Tensor:
        if self.weight_decay != 0:
            g = g + self.weight_decay * p
        return self._adam(p, g, state)

    def _adam(self, p: Tensor, g: Tensor, state: dict[str, Any]) -> Tensor:
        """The Adam step from the (already decayed) gradient `g`."""
        beta1, beta2 = self.betas
        t = state["step"] = state.get("step", 0) + 1
        m = state["exp_avg"] = beta1 * state.get("exp_avg", 0.0) + (1 - beta1) * g
        v = state["exp_avg_sq"] = beta2 * state.get("exp_avg_sq", 0.0) + (1 - beta2) * (g * g)
        if self.amsgrad:
            # the max of the raw second moments, before bias correction, as PyTorch's code does
            v = state["max_exp_avg_sq"] = md.maximum(state["max_exp_avg_sq"], v) if "max_exp_avg_sq" in state else v
        denominator = md.sqrt(v) / math.sqrt(1 - beta2**t) + self.eps
        return p - (self.lr / (1 - beta1**t)) * (m / denominator)


class AdamW(Adam):
    """Adam with decoupled weight decay: each step first shrinks the parameter,

        p <- p - lr * weight_decay * p

    then takes the Adam step of `Adam` with the undecayed gradient. Unlike Adam's L2
    penalty, the decay is not divided by the adaptive denominator. The default
    `weight_decay=1e-2` is PyTorch's.

    >>> import minidiff as md
    >>> w = md.Tensor([1.0], allow_grad=True)
    >>> opt = md.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (0 * w).sum().backward()    # a zero gradient: only the decay moves w
    >>> opt.step()
    >>> w
    minidiff.Tensor([0.95], allow_grad=True)
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)

    def _update(self, p: Tensor, g: Tensor, state: dict[str, Any]) -> Tensor:
        if self.weight_decay != 0:
            p = p * (1 - self.lr * self.weight_decay)
        return self._adam(p, g, state)
