"""The arguments of composite ops as Tensors, or as host arrays where they only choose
indices; shared by the composite op families."""

from __future__ import annotations

from typing import Any

import numpy as np

from minidiff.batching.tensor import BatchedTensor
from minidiff._tensor import Tensor

# under md.vmap a composite's operands are batches: ops take them as they are
_TENSORS = (Tensor, BatchedTensor)


def as_tensor(x: Any) -> Tensor:
    """`x` as a Tensor (itself if it is one, or a batch under `md.vmap`)."""
    return x if isinstance(x, _TENSORS) else Tensor(x)


def as_tensors(*xs: Any) -> list[Tensor]:
    """Each argument as a Tensor, arrays and numbers on the backend of the Tensors among them."""
    backend = next((x.backend.name for x in xs if isinstance(x, _TENSORS)), None)
    return [x if isinstance(x, _TENSORS) else Tensor(x, backend=backend) for x in xs]


def to_host(x: Any) -> np.ndarray:
    """The values of `x` as a host array (for choosing indices, which carry no gradient)."""
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)
