"""Which Dask scheduler computes, and computing several arrays in one pass.

The order (`minidiff_dask.settings` has it in full): the active `distributed.Client`, else a
client connected to the configured address (``MINIDIFF_DASK_SCHEDULER`` or
``[tool.minidiff.dask] scheduler``), else Dask's default (threads in this process).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import dask

from minidiff_dask.settings import scheduler_address

__all__ = ["CONNECT_TIMEOUT", "active_scheduler", "compute", "describe", "disconnect", "persist", "wait"]

#: how long connecting to a configured scheduler may take before it is an error
CONNECT_TIMEOUT = "10s"

# One client per configured address, made on first use and kept: connecting costs a round
# trip, and a client per compute would leave the scheduler a trail of dead connections.
_clients: dict[str, Any] = {}
_lock = threading.Lock()


def _active_client() -> Any:
    """The default `distributed.Client` of this process, or None. Without `distributed`
    imported there can be none, so it is not imported to ask."""
    if "distributed" not in sys.modules:
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:  # "No clients found"
        return None


def _configured_client() -> Any:
    """A client of the configured scheduler, or None when no address is configured."""
    found = scheduler_address()
    if found is None:
        return None
    address, where = found
    with _lock:
        client = _clients.get(address)
        if client is not None and client.status in ("running", "connecting"):
            return client
        from distributed import Client

        try:
            # not the process's default client: other Dask code of the program keeps its scheduler
            client = Client(address, set_as_default=False, timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            raise ConnectionError(
                f"cannot reach the Dask scheduler at {address} (set by {where}): {exc}. Start one with "
                f"`dask-scheduler` and workers with `dask-worker {address}`, or unset the setting to compute "
                f"with Dask's threads in this process"
            ) from exc
        _clients[address] = client
        return client


def disconnect() -> None:
    """Close the clients opened to configured schedulers (the next compute connects again)."""
    with _lock:
        while _clients:
            _clients.popitem()[1].close()


def active_scheduler() -> Any:
    """What computes now: a `distributed.Client`, or None for Dask's default scheduler."""
    return _active_client() or _configured_client()


def describe() -> str:
    """The scheduler that computes now, in words (for `minidiff info`-style reports and errors).

    >>> describe()
    "Dask's default scheduler (threads in this process)"
    """
    client = _active_client()
    if client is not None:
        return f"the active distributed client of {client.scheduler.address}"
    found = scheduler_address()
    if found is not None:
        return f"the scheduler at {found[0]} (set by {found[1]})"
    return "Dask's default scheduler (threads in this process)"


def compute(*arrays: Any) -> tuple[Any, ...]:
    """The values of dask `arrays`, computed together: work they share runs once.

    >>> import dask.array as da
    >>> x = da.arange(6, chunks=2)
    >>> compute(x.sum(), (2 * x).max())
    (np.int64(15), np.int64(10))
    """
    client = active_scheduler()
    if client is None:
        return dask.compute(*arrays)
    return dask.compute(*arrays, scheduler=client)


def wait(*arrays: Any) -> None:
    """Wait until `arrays` are computed, keeping no values here: on a cluster they are computed
    (or, if persisted, finish computing) on the workers and released there; without one they
    are computed in this process and dropped (for timing: `Backend.synchronize`).

    >>> import dask.array as da
    >>> wait(da.ones(4, chunks=2) * 2)
    """
    client = active_scheduler()
    if client is None:
        dask.compute(*arrays)
        return
    from distributed import futures_of
    from distributed import wait as wait_for

    # persisting a persisted array is its own futures; anything else is computed where it is,
    # on the workers: `compute` would gather the whole of it here
    kept = client.persist(list(arrays))
    wait_for([future for array in kept for future in futures_of(array)])


def persist(*arrays: Any) -> tuple[Any, ...]:
    """`arrays` computed and kept where they were computed (in the workers' memory on a
    cluster, in this process otherwise), as dask arrays whose graphs start there.

    >>> import dask.array as da
    >>> (x,) = persist(da.arange(4, chunks=2) * 2)
    >>> len(x.dask) == x.npartitions  # one task per chunk: the results, no longer a recipe
    True
    """
    client = active_scheduler()
    if client is None:
        return dask.persist(*arrays)
    return tuple(client.persist(list(arrays)))
