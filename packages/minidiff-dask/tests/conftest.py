"""Fixtures of the Dask backend's tests: a scheduler that refuses to run, to prove that
building graphs computes nothing, and a recorder of what each computed task returned."""

from __future__ import annotations

from typing import Any, Iterator

import dask
import pytest
from dask.callbacks import Callback


class Computed(AssertionError):
    """Something was computed where nothing should have been."""


def _refuse(dsk: Any, keys: Any, **kwargs: Any) -> Any:
    raise Computed("a graph was computed")


@pytest.fixture
def nothing_computed() -> Iterator[None]:
    """Inside the test, any compute (through minidiff or Dask) raises `Computed`."""
    with dask.config.set(scheduler=_refuse):
        yield


class TaskRecorder(Callback):
    """Records the number of bytes each task returned, by key, as the graph runs."""

    def __init__(self) -> None:
        super().__init__()
        self.nbytes: dict[Any, int] = {}

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        self.nbytes[key] = int(getattr(result, "nbytes", 0))

    @property
    def largest(self) -> int:
        return max(self.nbytes.values(), default=0)


@pytest.fixture
def recorder() -> Iterator[TaskRecorder]:
    """Every compute in the test runs in this thread (Dask's synchronous scheduler), recorded."""
    with dask.config.set(scheduler="sync"), TaskRecorder() as recording:
        yield recording
