"""`md.compile`: capture a step once, replay it without per-op Python, fuse elementwise chains.

A layer over the engine in its own modules: `trace` (capture), `program` (the flat program
and its replay), `fusion` (numexpr on NumPy, the backend's compiler such as `mx.compile`),
`api` (`md.compile`, its signature and cache). See docs/compile.md.
"""

from minidiff.compiler.api import CACHE_SIZE, Compiled, compile
from minidiff.compiler.errors import CompileError, CompileWarning

__all__ = ["CACHE_SIZE", "CompileError", "CompileWarning", "Compiled", "compile"]
