"""NumPy's names for minidiff ops, and the error for a NumPy function that has none.

`numpy.sin` is `md.sin` and `numpy.linalg.solve` is `md.linalg.solve`: a NumPy function's
name is looked up in the op registry (through `ALIASES` for NumPy's other spellings), so an
op a plugin registers under a NumPy name is reachable from NumPy at once.

>>> import numpy as np
>>> _numpy_name(np.linalg.solve), _numpy_name(np.sum), _numpy_name(len)
('linalg.solve', 'sum', None)
"""

from __future__ import annotations

from typing import Any, Callable

from minidiff import plugins
from minidiff.optable import functions


#: where the list of NumPy functions minidiff differentiates is read, also without a checkout
DOCS_URL = "https://github.com/minidiff/minidiff/blob/main/docs/numpy-interop.md"

# NumPy names that are another name for a minidiff op.
ALIASES: dict[str, str] = {
    "absolute": "abs",
    "fabs": "abs",
    "remainder": "mod",
    "true_divide": "divide",
    "amax": "max",
    "amin": "min",
    "around": "round",
    "concat": "concatenate",
    "permute_dims": "transpose",
    "radians": "deg2rad",
    "degrees": "rad2deg",
    "row_stack": "vstack",  # deprecated in NumPy 2, which warns and calls vstack
    # the array API standard's copies in numpy.linalg
    "linalg.matmul": "matmul",
    "linalg.tensordot": "tensordot",
    "linalg.matrix_transpose": "matrix_transpose",
}

# Functions whose answers are integers, booleans, shapes, dtypes or text: nothing to
# differentiate, so they are answered on the values.
QUERIES: tuple[str, ...] = (
    "shape", "ndim", "size", "result_type", "can_cast", "min_scalar_type", "iscomplexobj", "isrealobj",
    "isreal", "iscomplex", "allclose", "isclose", "array_equal", "array_equiv", "shares_memory",
    "may_share_memory", "count_nonzero", "nonzero", "flatnonzero", "argwhere", "argsort", "searchsorted",
    "digitize", "array_repr", "array_str", "array2string",
)


def _numpy_name(func: Callable[..., Any]) -> str | None:
    """`"sum"` for `numpy.sum`, `"linalg.solve"` for `numpy.linalg.solve`, None for others."""
    module = getattr(func, "__module__", None) or ""
    name = getattr(func, "__name__", "")
    if module == "numpy":
        return name
    parts = module.split(".")
    if parts[0] == "numpy" and len(parts) > 1:
        return name if parts[1].startswith("_") or parts[1] in ("core", "lib") else f"{parts[1]}.{name}"
    return None


def _op(name: str) -> Callable[..., Any] | None:
    """The public minidiff op for NumPy's `name`, if one is registered."""
    plugins.load()
    function = functions.get(ALIASES.get(name, name))
    return function if function is not None and function.op.public else None


class NotDifferentiableError(TypeError):
    """A NumPy function whose floating-point answer would need a gradient minidiff cannot give."""

    __module__ = "minidiff.interop"  # where users import it from, and what tracebacks show


def _unsupported(name: str) -> TypeError:
    hint = ""
    if name.startswith("linalg."):
        hint = f" (no installed op pack registers md.{name}; the minidiff-ops-linalg distribution provides md.linalg)"
    return NotDifferentiableError(
        f"numpy.{name} is not differentiable in minidiff: there is no minidiff op for it{hint}, and its "
        f"floating-point result would need a gradient from an argument that allows grad. Use minidiff ops "
        f"(`python -m minidiff.interop` lists the NumPy functions minidiff differentiates; also {DOCS_URL}), "
        f"give it a gradient with md.custom_vjp or md.create_op_func, or call it where no gradient is needed: "
        f"on t.detach(), or inside `with md.no_grad():`"
    )
