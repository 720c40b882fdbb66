"""The Array API standard's names for functions minidiff has under NumPy's names.

Each alias is the same function object as the op it names (`md.acos is md.arccos`), bound
on `minidiff` (or `minidiff.linalg`) right after the op families load, so an op pack that
overrides `arccos` changes `acos` too, and the conformance kit tests the op once.

>>> import minidiff as md
>>> md.acos is md.arccos, md.concat is md.concatenate
(True, True)
"""

from __future__ import annotations

import sys
import types
from typing import Any

#: standard name -> minidiff's (NumPy's) name, in the main namespace
ALIASES: dict[str, str] = {
    "acos": "arccos",
    "acosh": "arccosh",
    "asin": "arcsin",
    "asinh": "arcsinh",
    "atan": "arctan",
    "atan2": "arctan2",
    "atanh": "arctanh",
    "pow": "power",
    "remainder": "mod",
    "bitwise_invert": "invert",
    "bitwise_left_shift": "left_shift",
    "bitwise_right_shift": "right_shift",
    "concat": "concatenate",
    "permute_dims": "transpose",
}

#: standard name in `minidiff.linalg` -> the function of the main namespace it is
LINALG_ALIASES: dict[str, str] = {
    "matmul": "matmul",
    "matrix_transpose": "matrix_transpose",
    "outer": "outer",
    "tensordot": "tensordot",
    "vecdot": "vecdot",
}


#: `minidiff.special`: SciPy (`SCIPY_ARRAY_API=1`) runs `scipy.special.<name>` as
#: `xp.special.<name>` where the namespace has one, so these are differentiated through
SPECIAL: dict[str, str] = {"erf": "erf", "erfc": "erfc", "expit": "sigmoid"}


def bind_aliases(registry: Any = None) -> None:
    """Set every alias whose target op is loaded; runs after `minidiff._bind_ops`.

    Reads the modules' `vars()` directly: a lookup through `minidiff.__getattr__` would
    start another plugin load while this one holds the lock.
    """
    minidiff = sys.modules["minidiff"]
    here = vars(minidiff)
    linalg = here.get("linalg")
    holders = [(minidiff, ALIASES, ""), (_special(minidiff), SPECIAL, "special.")]
    if getattr(linalg, "__minidiff_namespace__", False):
        holders.append((linalg, LINALG_ALIASES, "linalg."))
    for holder, aliases, prefix in holders:
        for alias, target in aliases.items():
            own = getattr(vars(holder).get(alias), "op", None)
            if getattr(own, "qualname", None) == prefix + alias:
                continue  # an op registered under the standard's name itself stays
            if target in here:
                setattr(holder, alias, here[target])
            elif alias in vars(holder):
                delattr(holder, alias)  # its op is gone (a plugin disabled since the last load)


def _special(minidiff: Any) -> Any:
    """The `minidiff.special` namespace, made on the first load."""
    special = vars(minidiff).get("special")
    if special is None:
        special = types.ModuleType("minidiff.special", "SciPy's names of minidiff ops: `md.special.expit is md.sigmoid`.")
        minidiff.special = special
    return special
