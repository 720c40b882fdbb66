"""What the benchmarks of `md.vmap` share: which ops fell back to a Python loop over the batch.

An op without a batching rule still gives the right answer under `md.vmap`, once per example, with a
`BatchingFallbackWarning`; a benchmark would then time a loop while its row says vmap. So a row that runs through
`md.vmap` names, in the table, the ops that looped during its first run (the one the check reads).

This file is not a benchmark: `run.py` skips files whose name starts with "_".
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

# The op's name as the warning quotes it: "md.vmap: op 'matmul' has no batching rule, ..."
_OP_NAME = re.compile(r"op '([^']+)'")


def with_looped_ops(run: Callable[[], Any]) -> tuple[Any, list[str]]:
    """`run()`'s result, and the names of the ops that ran once per example during it, in order, each once."""
    from minidiff.batching.apply import BatchingFallbackWarning

    with warnings.catch_warnings(record=True) as caught:
        # "always": the warning is given once per op and place, and an earlier call may have used that up
        warnings.simplefilter("always", BatchingFallbackWarning)
        result = run()
    names = [_name(w.message) for w in caught if issubclass(w.category, BatchingFallbackWarning)]
    return result, list(dict.fromkeys(names))


def labeled(library: str, looped: list[str]) -> str:
    """The row's name, with the ops that looped: "minidiff (md.vmap)" or "minidiff (md.vmap; loops: matmul, add)"."""
    if not looped:
        return library
    note = "loops: " + ", ".join(looped)
    return f"{library[:-1]}; {note})" if library.endswith(")") else f"{library} ({note})"


def _name(message: Warning | str) -> str:
    found = _OP_NAME.search(str(message))
    return found.group(1) if found else str(message)
