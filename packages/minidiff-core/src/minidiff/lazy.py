"""`md.compute`: the values of several tensors, computed together.

On a lazy backend (Dask) a tensor is a recipe until its value is asked for, and asking for
two values one after the other runs the work they share twice: `loss.item()` then
`w.grad.numpy()` would compute the forward pass again for the gradient. `md.compute(loss,
w.grad)` hands every tensor of a backend to that backend at once, so one pass of its
scheduler computes them all. On an eager backend it is `t.numpy()` for each.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import numpy as np

from minidiff._tensor import Tensor

__all__ = ["compute", "reads_values_ok"]

#: the trace `md.compile` is recording in this context, or None. Library code that reads
#: values to choose a formula asks `reads_values_ok` instead of reading this.
tracing: ContextVar[Any] = ContextVar("minidiff_tracing", default=None)


def reads_values_ok(backend: Any) -> bool:
    """Whether code may read array values to pick a formula (`_has_zero` in power's rule).

    Not on a lazy backend (reading would compute the graph) nor while `md.compile` traces a
    step (the choice would be baked into the program for every later call): there the
    formula that is exact for all values must be taken.

    >>> import minidiff as md
    >>> reads_values_ok(md.get_backend("numpy"))
    True
    """
    if backend.lazy:
        return False
    trace = tracing.get()
    return trace is None or not trace.active


def compute(*tensors: Tensor) -> tuple[np.ndarray, ...]:
    """The values of `tensors` as NumPy arrays, in order; those of one lazy backend are
    computed in one pass, so work they share runs once (as `dask.compute` does).

    >>> import minidiff as md
    >>> x = md.Tensor([1.0, 2.0], allow_grad=True)
    >>> loss = (x * x).sum()
    >>> loss.backward()
    >>> md.compute(loss, x.grad)
    (array(5.), array([2., 4.]))
    """
    for position, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"md.compute takes Tensors; argument {position} is a {type(t).__name__}")
    values: list[Any] = [None] * len(tensors)
    by_backend: dict[int, list[int]] = {}
    for position, t in enumerate(tensors):
        by_backend.setdefault(id(t.backend), []).append(position)
    for positions in by_backend.values():
        backend = tensors[positions[0]].backend
        arrays = [tensors[p].data for p in positions]
        results = backend.compute(*arrays)
        # a lazy backend computes several arrays at once; an eager one has them already
        for p, value in zip(positions, results):
            values[p] = np.asarray(value)
    return tuple(values)
