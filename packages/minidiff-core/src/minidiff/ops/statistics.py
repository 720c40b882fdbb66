"""Placeholder, filled in by the next commits."""

from __future__ import annotations

from minidiff.extend import Op, hookimpl

OPS: list[Op] = []


@hookimpl
def minidiff_register_ops(registry) -> None:
    for op in OPS:
        registry.add_op(op)
