"""Utilities: pictures of the computation graph.

`draw_graph(t)` walks the graph that produced `t` (iteratively, so deep graphs are fine)
and draws it in Graphviz's DOT language: one ellipse per op with its name and parameters,
one box per tensor with its shape and dtype (and its name, if you give one); leaves that
allow grad are blue, the output orange, constants grey:

    x ──┐
        ├─ multiply ── (2, 4) float64 ── ...
    y ──┘

With the optional `graphviz` Python package installed (`pip install graphviz`) you get a
`graphviz.Digraph`, which notebooks display inline and `.render()` writes to SVG or PNG
(that needs Graphviz's `dot` program); without it you get the DOT text, which any
Graphviz tool or viewer reads (`dot -Tsvg graph.dot -o graph.svg`).

The original minidiff's helpers here, `draw_tensor_op_graph`, `calculate_finite_differences`
and `compute_grads`, still work: they are `minidiff.compat`'s, served from this module too.
"""

from __future__ import annotations

import importlib
from typing import Any, Mapping

import numpy as np

from minidiff.graph import FuncNode
from minidiff._tensor import Tensor

__all__ = ["calculate_finite_differences", "compute_grads", "draw_graph", "draw_tensor_op_graph", "graph_dot"]

#: the original minidiff's names, defined with its other old names in `minidiff.compat`
_COMPAT = ("calculate_finite_differences", "compute_grads", "draw_tensor_op_graph")


def __getattr__(name: str) -> Any:
    # imported on first use: compat pulls in the op-building machinery, which drawing does not need
    if name in _COMPAT:
        from minidiff import compat

        return getattr(compat, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

# Colors: leaves that allow grad (the ones .grad is filled for), the output, constants.
_LEAF = "#cfe8ff"
_ROOT = "#ffe7b3"
_CONSTANT = "#eeeeee"
_INTERMEDIATE = "#ffffff"
_OP = "#e8e8e8"


def draw_graph(t: Tensor, names: Mapping[str, Tensor] | None = None, show_grads: bool = False) -> Any:
    """The computation graph that produced `t`: a `graphviz.Digraph` when the `graphviz`
    package is installed, else its DOT source text (a `str`).

    `names` labels tensors (`names={"x": x, "loss": loss}`); tensors with a `.name` are
    labelled with it too. `show_grads=True` adds each tensor's `.grad` values, where set.

    >>> import minidiff as md
    >>> x = md.Tensor([1.0, 2.0], allow_grad=True)
    >>> dot = graph_dot(md.sin(x) * 2.0, names={"x": x})
    >>> print(dot.splitlines()[0])
    digraph minidiff {
    >>> "sin" in dot and "(2,) float64" in dot
    True
    """
    nodes, edges = _collect(t, names, show_grads)
    try:
        graphviz = importlib.import_module("graphviz")
    except ImportError:
        return _to_dot(nodes, edges)
    digraph = graphviz.Digraph("minidiff", graph_attr=_GRAPH_ATTRS, node_attr=_NODE_ATTRS)
    for node_id, attrs in nodes:
        # graphviz quotes the strings but keeps backslash escapes: line breaks as \n
        digraph.node(node_id, **{key: _escape(value) for key, value in attrs.items()})
    for tail, head in edges:
        digraph.edge(tail, head)
    return digraph


def graph_dot(t: Tensor, names: Mapping[str, Tensor] | None = None, show_grads: bool = False) -> str:
    """The DOT source text of `draw_graph(t, ...)`, whether or not `graphviz` is installed."""
    return _to_dot(*_collect(t, names, show_grads))


_GRAPH_ATTRS = {"rankdir": "LR"}
_NODE_ATTRS = {"fontname": "Helvetica", "fontsize": "11"}


def _collect(
    root: Tensor, names: Mapping[str, Tensor] | None, show_grads: bool
) -> tuple[list[tuple[str, dict[str, str]]], list[tuple[str, str]]]:
    """Nodes `(id, attributes)` and edges `(tail, head)`, from the inputs to `root`."""
    if not isinstance(root, Tensor):
        raise TypeError(f"draw_graph needs a minidiff Tensor, got {type(root).__name__!r}")
    # A value drawn as a box is a leaf or constant Tensor, or a computed value, known by the
    # node that made it (the graph may keep only that node, not the Tensor).
    labels = {_key(tensor): name for name, tensor in (names or {}).items()}
    ids: dict[int, str] = {}
    nodes: list[tuple[str, dict[str, str]]] = []
    edges: list[tuple[str, str]] = []
    keep_alive: list[Any] = []  # constants' ids must stay unique while we walk

    def value_id(value: Tensor | FuncNode) -> tuple[str, bool]:
        key = _key(value)
        if key in ids:
            return ids[key], False
        ids[key] = f"t{len(ids)}"
        tensor = value if isinstance(value, Tensor) else None
        name = labels.get(key) or (tensor.name if tensor is not None else None)
        shape, dtype = (tensor.shape, tensor.dtype) if tensor is not None else (value.shape, value.dtype)
        lines = ([name] if name else []) + [f"{shape} {dtype}"]
        if show_grads and tensor is not None and tensor.grad is not None:
            lines.append("grad " + _values(tensor.grad))
        if value is root:
            fill = _ROOT
        elif tensor is not None and tensor.node is None:
            fill = _LEAF if tensor.allow_grad else _CONSTANT
        else:
            fill = _INTERMEDIATE
        nodes.append((ids[key], {"label": "\n".join(lines), "shape": "box", "style": "filled,rounded", "fillcolor": fill}))
        return ids[key], True

    stack: list[Tensor | FuncNode] = [root]
    value_id(root)
    while stack:
        value = stack.pop()
        node = value.node if isinstance(value, Tensor) else value
        if node is None:
            continue
        out_id = ids[_key(value)]
        op_id = f"op{out_id[1:]}"
        released = node.inputs is None
        label = node.op.qualname + _params(node.params) + ("\n(graph freed)" if released else "")
        nodes.append((op_id, {"label": label, "shape": "ellipse", "style": "filled", "fillcolor": _OP}))
        edges.append((op_id, out_id))
        for position, x in enumerate(() if released else node.inputs):
            if isinstance(x, (Tensor, FuncNode)):
                x_id, new = value_id(x)
                if new:
                    stack.append(x)
            else:
                keep_alive.append(x)
                x_id = f"c{op_id[2:]}_{position}"
                nodes.append((x_id, {"label": repr(x), "shape": "plaintext"}))
            edges.append((x_id, op_id))
    return nodes, edges


def _key(value: Tensor | FuncNode) -> int:
    """One key per value: a computed Tensor and the node standing for it are the same value."""
    if isinstance(value, Tensor) and value.node is not None:
        return id(value.node)
    return id(value)


def _params(params: Mapping[str, Any] | None) -> str:
    """Short `key=value` lines for an op's parameters (index arrays and the like abridged)."""
    if not params:
        return ""
    shown = []
    for key, value in params.items():
        text = repr(value) if not hasattr(value, "shape") else f"<array {tuple(value.shape)}>"
        shown.append(f"{key}={text if len(text) <= 30 else text[:27] + '...'}")
    return "\n" + "\n".join(shown)


def _values(tensor: Tensor) -> str:
    return np.array2string(tensor.numpy(), precision=3, threshold=8, edgeitems=2, max_line_width=40)


def _escape(text: str) -> str:
    """Backslashes escaped and line breaks written as DOT's `\\n` escape."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _quote(text: str) -> str:
    return '"' + _escape(text).replace('"', '\\"') + '"'


def _to_dot(nodes: list[tuple[str, dict[str, str]]], edges: list[tuple[str, str]]) -> str:
    def attrs(values: Mapping[str, str]) -> str:
        return ", ".join(f"{key}={_quote(value)}" for key, value in values.items())

    lines = ["digraph minidiff {", f"  graph [{attrs(_GRAPH_ATTRS)}];", f"  node [{attrs(_NODE_ATTRS)}];"]
    lines += [f"  {node_id} [{attrs(values)}];" for node_id, values in nodes]
    lines += [f"  {tail} -> {head};" for tail, head in edges]
    lines.append("}")
    return "\n".join(lines) + "\n"
