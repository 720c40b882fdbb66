"""minidiff-dask: the Dask backend of minidiff, for gradients over data that outgrows one machine.

Install with `pip install "minidiff[dask]"`; use with `md.Tensor(..., backend="dask")`,
`with md.use_backend("dask"):` or `MINIDIFF_BACKEND=dask`. Tensors hold lazy `dask.array`
arrays: ops and `backward()` build one task graph, and `md.compute(a, b, ...)`, `t.numpy()`,
`t.item()` or printing run it, on the active `distributed.Client`, the scheduler named by
``MINIDIFF_DASK_SCHEDULER`` (or ``[tool.minidiff.dask] scheduler``), or Dask's threads.

Importing this package does not import Dask: `minidiff_dask.backend` does, when the backend
is first used. docs/dask.md has the whole story.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from minidiff_dask.settings import DaskComputeWarning, chunks, current_chunks, scheduler_address

if TYPE_CHECKING:
    from minidiff import Tensor

__all__ = ["DaskComputeWarning", "chunks", "current_chunks", "persist", "scheduler_address"]

__version__ = "0.1.0"


def persist(*tensors: Tensor) -> tuple[Tensor, ...]:
    """The tensors' values computed now and kept where they were computed: in the workers'
    memory on a cluster, in this process's otherwise. Each result is a new leaf over the
    same values, cut from the graph as `detach()` cuts (`requires_grad_()` makes it allow
    grad). Persist data that later steps read again (a training set generated on the
    workers), so that each step does not compute it again.

    >>> import minidiff as md, minidiff_dask
    >>> x = md.arange(6.0, backend="dask") * 2
    >>> (kept,) = minidiff_dask.persist(x)
    >>> kept.sum().item(), kept.is_leaf
    (30.0, True)
    """
    from minidiff._tensor import make_tensor
    from minidiff_dask import scheduler, xp

    for position, t in enumerate(tensors):
        if getattr(getattr(t, "backend", None), "name", None) != "dask":
            raise TypeError(f"minidiff_dask.persist takes tensors of the dask backend; argument {position} is {t!r:.80}")
    kept = scheduler.persist(*(t.data for t in tensors))
    return tuple(make_tensor(xp.wrap(array), t.backend, None) for t, array in zip(tensors, kept))
