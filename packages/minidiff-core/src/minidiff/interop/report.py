"""What minidiff does with NumPy's functions, generated from the registry: `supported()`
(the list in docs/numpy-interop.md, `markdown()`), `coverage()` (NumPy's public functions
counted by kind) and `main`, the command `python -m minidiff.interop`.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from minidiff import plugins
from minidiff._tensor import Tensor
from minidiff.interop.adapters import _HANDLERS
from minidiff.interop.names import ALIASES, QUERIES, NotDifferentiableError, _op
from minidiff.interop.passthrough import _needs_grad
from minidiff.interop.ufuncs import _ACCUMULATE, _REDUCE


def supported(core_only: bool = True) -> list[tuple[str, str, str, str]]:
    """Every NumPy function that works on Tensors: `(numpy name, minidiff target, kind, note)`,
    kind being "ufunc", "function", "not differentiable" or "query". `core_only` lists the
    ops of minidiff's built-in families only (so the list does not depend on what else is
    installed); `numpy.linalg.*` then maps to `md.linalg.*` of any installed op pack."""
    registry = plugins.load()
    rows: dict[str, tuple[str, str, str, str]] = {}
    reverse: dict[str, list[str]] = {}
    for alias, target in ALIASES.items():
        reverse.setdefault(target, []).append(alias)
    for entry in registry.ops.values():
        op = entry.value
        if not op.public or (core_only and entry.plugin not in plugins.DEFAULT_PLUGINS):
            continue
        for name in (op.name, *reverse.get(op.name, ())):
            qualname = f"{op.namespace}.{name}" if op.namespace else name
            if _numpy_function(qualname) is None or ALIASES.get(name, name) in _HANDLERS:
                continue
            row = _row(qualname, op)
            if row is not None:
                rows[qualname] = row
    for name, handler in _HANDLERS.items():
        for numpy_name in (name, *reverse.get(name, ())):
            if _numpy_function(numpy_name) is not None:
                kind = "not differentiable" if handler.note.startswith("not differentiable") else "function"
                note = handler.note.removeprefix("not differentiable").lstrip("; ")
                rows[numpy_name] = (numpy_name, handler.target, kind, note)
    for name in QUERIES:
        if _numpy_function(name) is not None:
            rows[name] = (name, "answered on the values", "query", "")
    return [rows[name] for name in sorted(rows)]


def _numpy_function(qualname: str) -> Any:
    namespace: Any = np
    for part in qualname.split("."):
        namespace = getattr(namespace, part, None)
        if namespace is None:
            return None
    return namespace


def _parameters(function: Any) -> list[str]:
    try:
        return list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return []


def _row(qualname: str, op: Any) -> tuple[str, str, str, str] | None:
    numpy_function = _numpy_function(qualname)
    target = f"md.{op.qualname}"
    if not op.differentiable:
        if op.creation and "like" not in _parameters(numpy_function):
            return None
        note = "creation, with `like=` a Tensor" if op.creation else ""
        return (qualname, target, "not differentiable", note)
    if isinstance(numpy_function, np.ufunc) and numpy_function.signature is not None:
        return (qualname, target, "ufunc", "`out=`, `dtype=`")
    if isinstance(numpy_function, np.ufunc):
        name = numpy_function.__name__
        methods = [f".{m}" for m, ufuncs in (("reduce", _REDUCE), ("accumulate", _ACCUMULATE)) if name in ufuncs]
        if numpy_function.nin == 2:
            methods.append(".outer")
        note = "`out=`, `where=`, `dtype=`" + (f"; {', '.join(methods)}" if methods else "")
        return (qualname, target, "ufunc", note)
    note = "composite (built from other ops)" if op.composite is not None else ""
    return (qualname, target, "function", note)


# ---------------------------------------------------------------------------- coverage

#: what minidiff does with each of NumPy's public functions, given a Tensor that allows grad
COVERAGE_KINDS: dict[str, str] = {
    "differentiated": "differentiated: a minidiff op, gradients of every order",
    "answered by an op": "answered by a minidiff op with no gradient to give (integer, boolean or "
    "piecewise-constant results; creation with `like=`)",
    "passed through": "passed to NumPy, with or without grad: the answer holds no float (indices, counts, "
    "masks, shapes, text)",
    "raises with grad": "passed to NumPy without grad; raise with grad: a float answer minidiff has no "
    "gradient for",
    "not probed": "passed to NumPy without grad; with grad, as the answer decides (the count could not "
    "call them on plain arrays)",
    "not dispatched": "not dispatched: no argument NumPy hands to minidiff (configuration, file readers, "
    "constructors without `like=`); NumPy converts a Tensor itself",
}


def _probe(func: Callable[..., Any]) -> str:
    """Call `func` on small Tensors that allow grad, in a few argument patterns, and say what
    happened: "passed through", "raises with grad", or "not probed" when no pattern suits
    it. A function that takes integers only (`gcd`, `bincount`) passes through: an integer
    Tensor never allows grad."""
    matrix = np.array([[2.0, 0.5, 0.1], [0.5, 1.5, 0.3], [0.1, 0.3, 1.0]])
    a, b = Tensor(matrix, allow_grad=True), Tensor(matrix.T + 0.25, allow_grad=True)
    v, w = Tensor(matrix[0], allow_grad=True), Tensor(matrix[1], allow_grad=True)
    i, j = Tensor(np.array([3, 1, 2])), Tensor(np.array([1, 2, 0]))
    patterns = ((a,), (v,), (a, b), (v, w), (a, 1), (v, 1), (a, v), (io.BytesIO(), a), (i,), (i, j), (i, 1))
    if isinstance(func, np.ufunc):  # no Tensor as out=
        patterns = tuple(args for args in patterns if len(args) == func.nin)
    for args in patterns:
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                result = func(*args)
        except NotDifferentiableError:
            return "raises with grad"
        except Exception:  # noqa: BLE001 (a pattern the function does not take: try the next)
            continue
        if _needs_grad(list(result) if isinstance(result, tuple) else result):
            return "differentiated"
        return "passed through"
    return "not probed"


def coverage() -> dict[str, list[str]]:
    """NumPy's public functions (the callables of `numpy` and `numpy.linalg` that are not
    classes or scalar types) by what minidiff does with a Tensor that allows grad: the keys
    of `COVERAGE_KINDS`, each with its sorted names. Functions without an op are called on
    small Tensors to see whether their answer holds a floating-point value; every op of
    every installed plugin counts (`md.linalg` from minidiff-ops-linalg too).

    >>> counts = {kind: len(names) for kind, names in coverage().items()}
    >>> counts["differentiated"] > 150
    True
    """
    plugins.load()
    kinds: dict[str, list[str]] = {kind: [] for kind in COVERAGE_KINDS}
    for namespace, prefix in ((np, ""), (np.linalg, "linalg.")):
        # NumPy's own names: other libraries add some at import (numexpr sets numpy.expm1x)
        public = set(getattr(namespace, "__all__", dir(namespace)))
        for attribute in sorted(dir(namespace)):
            func = getattr(namespace, attribute)
            skipped = attribute not in public or attribute.startswith("_") or attribute == "test"
            if skipped or not callable(func) or isinstance(func, type):
                continue
            name = prefix + attribute
            kinds[_coverage_kind(name, func)].append(name)
    return kinds


def _coverage_kind(name: str, func: Any) -> str:
    if isinstance(func, np.ufunc):
        name = func.__name__  # np.acos is np.arccos
    target = ALIASES.get(name, name)
    handler = _HANDLERS.get(target)
    if handler is not None:
        return "answered by an op" if handler.note.startswith("not differentiable") else "differentiated"
    if name in QUERIES:
        return "passed through"
    function = _op(name)
    if function is not None and (not isinstance(func, np.ufunc) or func.nout == 1):
        return "differentiated" if function.op.differentiable else "answered by an op"
    if isinstance(func, np.ufunc) or type(func).__name__ == "_ArrayFunctionDispatcher":
        return _probe(func)
    return "not dispatched"


def coverage_markdown() -> list[str]:
    """The coverage figures as lines of docs/numpy-interop.md."""
    kinds = {kind: len(names) for kind, names in coverage().items()}
    total = sum(kinds.values())
    without = kinds["answered by an op"] + kinds["passed through"]
    return [
        "## Coverage of NumPy's functions",
        "",
        f"NumPy {np.__version__.rsplit('.', 1)[0]} has {total} public functions (the callables of `numpy` and "
        f"`numpy.linalg` that are not classes or scalar types). Given Tensors that allow grad, with every "
        f"distribution of this repository installed, minidiff differentiates {kinds['differentiated']}, answers "
        f"{without} without a gradient (there is none to lose), and raises for {kinds['raises with grad']} "
        f"(which NumPy answers for Tensors that need no gradient). `python -m minidiff.interop --coverage` "
        f"counts them for what is installed; `--coverage --list` names them.",
        "",
        "| what minidiff does, given a Tensor that allows grad | functions |",
        "| --- | --- |",
        *(f"| {COVERAGE_KINDS[kind]} | {count} |" for kind, count in kinds.items()),
    ]


_SECTIONS = (
    ("ufunc", "Ufuncs (elementwise, differentiable)"),
    ("function", "Functions (differentiable)"),
    ("not differentiable", "Not differentiable (integer, boolean or piecewise-constant results: no gradient to lose)"),
    ("query", "Queries (answered on the values: shapes, dtypes, indices, comparisons)"),
)


def markdown() -> str:
    """docs/numpy-interop.md: the supported NumPy functions, generated from the registry."""
    rows = supported()
    lines = [
        "# NumPy functions on minidiff Tensors",
        "",
        "<!-- Generated by `python -m minidiff.interop --markdown` from the op registry; do not edit. -->",
        "",
        "Call these NumPy functions with minidiff Tensors and you get minidiff Tensors back, with gradients:",
        "`np.sum(np.sin(x) * x)` is differentiable in `x`. Every other NumPy function is answered by NumPy on",
        "the values and returns what NumPy returns (NumPy arrays, not Tensors) whenever no gradient is lost:",
        "when no argument allows grad or inside `md.no_grad()` (`np.histogram(t)`, `np.save(path, t)`,",
        "`np.unique(t)`), and whenever the answer holds no floating-point value (`np.argsort(x)`,",
        "`np.isclose(x, y)`, `np.count_nonzero(x)`: indices, counts, masks, shapes, text). Only a",
        "floating-point answer that would need a gradient minidiff cannot give raises a `TypeError`",
        "(`minidiff.interop.NotDifferentiableError`) naming the function: minidiff never drops a gradient",
        "silently. A function that writes into a Tensor argument (`np.copyto(t, a)`, `np.fill_diagonal(t, 0)`)",
        "changes it as `t[...] = ...` does. `np.asarray(t)` gives the",
        "plain values. Writing into `t.data`, or into `np.asarray(t)` or `t.numpy()` on the NumPy backend",
        "(there they are the tensor's own memory), bypasses the check that makes `backward()` raise after an",
        "in-place change to a tensor a graph saved: use `np.array(t)` (a copy) to work on the values.",
        "`numpy.linalg.X` maps to `md.linalg.X` whenever an installed op pack registers it",
        "(the `minidiff-ops-linalg` distribution), and any op a plugin registers under a NumPy name is",
        "reachable from NumPy the same way. See `minidiff.interop` for `out=` and `where=`.",
        "",
        f"{len(rows)} NumPy functions, from minidiff's built-in op families, are listed below.",
        "",
        *coverage_markdown(),
    ]
    for kind, title in _SECTIONS:
        selected = [row for row in rows if row[2] == kind]
        if not selected:
            continue
        lines += ["", f"## {title}", "", "| NumPy | minidiff | notes |", "| --- | --- | --- |"]
        lines += [f"| `numpy.{name}` | `{target}` | {note} |".replace("`answered on the values`", "answered on the values")
                  for name, target, _, note in selected]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m minidiff.interop`: the list of supported functions, `--markdown` or `--coverage`."""
    from minidiff import interop  # the package's docstring describes the command

    parser = argparse.ArgumentParser(prog="python -m minidiff.interop", description=interop.__doc__.split("\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print docs/numpy-interop.md")
    parser.add_argument(
        "--coverage", action="store_true", help="count NumPy's public functions by what minidiff does with them"
    )
    parser.add_argument("--list", action="store_true", help="with --coverage: name the functions of each kind")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(), end="")
        return 0
    if args.coverage:
        kinds = coverage()
        print(f"NumPy {np.__version__}: {sum(map(len, kinds.values()))} public functions of numpy and numpy.linalg")
        for kind, names in kinds.items():
            print(f"{len(names):5}  {kind}: {COVERAGE_KINDS[kind].removeprefix(kind + ': ')}")
            if args.list:
                print("       " + " ".join(names))
        return 0
    for name, target, kind, _ in supported():
        print(f"numpy.{name:24} {target:28} {kind}")
    return 0
