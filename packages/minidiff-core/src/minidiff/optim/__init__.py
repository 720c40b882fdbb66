"""minidiff.optim: optimizers that update parameter tensors in place from their `.grad`.

`SGD`, `Adam`, `AdamW` and `RMSprop` follow the update rules PyTorch's `torch.optim`
documents, step for step, on every backend; `docs/optimizers.md` has a tour.

>>> import minidiff as md
>>> w = md.Tensor([3.0], allow_grad=True)
>>> opt = md.optim.SGD([w], lr=0.25)
>>> for _ in range(3):
...     opt.zero_grad()
...     ((w - 1.0) ** 2).sum().backward()
...     opt.step()
>>> w                           # halves the distance to 1 each step: 2, 1.5, 1.25
minidiff.Tensor([1.25], allow_grad=True)
"""

from minidiff.optim.adam import Adam, AdamW
from minidiff.optim.optimizer import Optimizer
from minidiff.optim.rmsprop import RMSprop
from minidiff.optim.sgd import SGD

__all__ = ["Adam", "AdamW", "Optimizer", "RMSprop", "SGD"]
