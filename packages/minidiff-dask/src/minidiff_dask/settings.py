"""The Dask backend's settings: the chunks of arrays made from host data, and which scheduler
computes. Nothing here imports Dask, so setting them costs nothing until the backend is used.

Chunks: arrays the backend makes from host data (`md.Tensor(numpy_array, backend="dask")`,
`t.to("dask")`, `md.zeros(..., backend="dask")`) get the chunks of the innermost
``with minidiff_dask.chunks(spec):`` block, else Dask's ``"auto"`` (chunks of about
`dask.config` ``array.chunk-size``, 128 MiB). A Dask array given as data keeps its own chunks.

Scheduler, first match wins:

1. the active `distributed.Client` (the one a ``Client(...)`` or ``with Client(...):`` made
   the default);
2. the address of a running ``dask-scheduler``: the ``MINIDIFF_DASK_SCHEDULER`` environment
   variable, else ``[tool.minidiff.dask] scheduler = "tcp://host:8786"`` in the nearest
   ``pyproject.toml`` (``[dask]`` in ``minidiff.toml``, or in the user config file; the same
   files, searched in the same order, as the ``backend`` setting);
3. Dask's default scheduler (threads in this process, unless `dask.config` says otherwise).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

__all__ = ["DaskComputeWarning", "ENVIRONMENT_VARIABLE", "chunks", "current_chunks", "scheduler_address"]

#: the environment variable that names a running scheduler's address
ENVIRONMENT_VARIABLE = "MINIDIFF_DASK_SCHEDULER"


class DaskComputeWarning(UserWarning):
    """An op that Dask cannot run lazily computed values now, to go on.

    Ops whose result's shape depends on values (`x[mask]`, `md.argwhere`) learn
    their chunk sizes this way, and NumPy functions Dask has no version of run on computed
    inputs; the message names the op and what was computed.
    """


_chunks: ContextVar[Any] = ContextVar("minidiff_dask_chunks", default="auto")


@contextmanager
def chunks(spec: Any) -> Iterator[Any]:
    """Chunk arrays made from host data inside the block with `spec` (anything
    `dask.array.from_array` takes: ``1000``, ``(1000, -1)``, ``"auto"``, ``{0: 1000}``).

    >>> import minidiff_dask
    >>> with minidiff_dask.chunks((2, -1)):
    ...     minidiff_dask.current_chunks()
    (2, -1)
    >>> minidiff_dask.current_chunks()
    'auto'
    """
    token = _chunks.set(spec)
    try:
        yield spec
    finally:
        _chunks.reset(token)


def current_chunks() -> Any:
    """The chunks new arrays from host data get here (``"auto"`` outside any `chunks` block)."""
    return _chunks.get()


def scheduler_address() -> tuple[str, str] | None:
    """The configured scheduler's address and where it was set, or None (layer 2 above).

    >>> import os
    >>> os.environ["MINIDIFF_DASK_SCHEDULER"] = "tcp://127.0.0.1:8786"
    >>> scheduler_address()
    ('tcp://127.0.0.1:8786', 'MINIDIFF_DASK_SCHEDULER environment variable')
    >>> del os.environ["MINIDIFF_DASK_SCHEDULER"]
    """
    from_environment = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if from_environment:
        return from_environment, f"{ENVIRONMENT_VARIABLE} environment variable"
    from minidiff.config import backend_settings

    table, where = backend_settings("dask")
    address = table.get("scheduler")
    if address is None:
        return None
    if not isinstance(address, str) or not address.strip():
        raise ValueError(f"scheduler in the dask settings of {where} must be an address such as \"tcp://host:8786\"; got {address!r}")
    return address.strip(), where
