"""What `md.compile` warns and raises."""

from __future__ import annotations


class CompileWarning(UserWarning):
    """A compiled step runs eagerly: while tracing it, its Python code read a tensor's value
    (`if loss > 0`, `float(t)`, `.item()`) or drew random numbers, so no program could stand
    for later calls. Shown once per signature, naming the line that read."""


class CompileError(RuntimeError):
    """`md.compile(f, strict=True)`: tracing `f` found what would make it run eagerly."""
