"""`md.utils.draw_graph`: the computation graph as DOT text (or a graphviz.Digraph when the
optional `graphviz` package is installed), with op names, shapes, dtypes, leaf names and
optionally gradients."""

from __future__ import annotations

import doctest
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import minidiff as md
from minidiff import utils
from minidiff.utils import draw_graph, graph_dot


def tour():
    x = md.Tensor([[0.0, 2.0, -2.0, 1.0], [-1.0, -1.0, -2.0, -2.0]], allow_grad=True)
    y = md.Tensor([[2.0, 3.0, 4.0, 5.0], [0.0, -1.0, -3.0, 2.0]], allow_grad=True)
    return x, y, 2 * y * md.sin(x) - x**2


def labels(dot: str) -> list[str]:
    return re.findall(r'label="((?:[^"\\]|\\.)*)"', dot)


@pytest.fixture
def no_graphviz(monkeypatch):
    """Make `import graphviz` fail, as on a machine without the optional package."""
    monkeypatch.setitem(sys.modules, "graphviz", None)


def test_without_graphviz_draw_graph_returns_dot_text(no_graphviz):
    x, y, f = tour()
    dot = draw_graph(f, names={"x": x, "y": y, "f": f})
    assert isinstance(dot, str) and dot.startswith("digraph minidiff {") and dot.rstrip().endswith("}")
    assert dot == graph_dot(f, names={"x": x, "y": y, "f": f})


def test_nodes_show_ops_shapes_dtypes_and_names():
    x, y, f = tour()
    found = labels(graph_dot(f, names={"x": x, "y": y, "f": f}))
    assert sorted(label for label in found if label in ("sin", "multiply", "power", "subtract")) == [
        "multiply", "multiply", "power", "sin", "subtract"
    ]
    assert "x\\n(2, 4) float64" in found and "y\\n(2, 4) float64" in found and "f\\n(2, 4) float64" in found
    assert found.count("2") == 2  # the constants of 2 * y and x ** 2
    assert sum(label == "(2, 4) float64" for label in found) == 4  # the unnamed intermediates


def test_edges_run_from_inputs_through_ops_to_outputs():
    x = md.Tensor([1.0, 2.0], allow_grad=True, name="x")
    dot = graph_dot(md.sin(x))
    ids = dict((label, node) for node, label in re.findall(r'^\s+(\w+) \[label="([^"]*)"', dot, re.MULTILINE))
    leaf = ids["x\\n(2,) float64"]  # `.name` labels a tensor too
    assert f"{leaf} -> {ids['sin']};" in dot
    assert f"{ids['sin']} -> t0;" in dot


def test_params_dtypes_constants_and_gradients():
    x = md.Tensor(np.ones((2, 3), dtype=np.float32), allow_grad=True)
    total = md.sum(x * md.Tensor(np.full((2, 3), 2.0, dtype=np.float32)), axis=1)
    total.backward(retain_graph=True)
    found = labels(graph_dot(total, names={"x": x}, show_grads=True))
    assert "sum\\naxis=1\\nkeepdims=False\\ndtype=None" in found
    assert any(label.startswith("x\\n(2, 3) float32\\ngrad [[2. 2. 2.]") for label in found)
    assert "(2,) float32" in found
    assert all("grad" not in label for label in labels(graph_dot(total, names={"x": x})))


def test_a_freed_graph_is_drawn_up_to_where_it_was_freed():
    x = md.Tensor([1.0], allow_grad=True)
    y = md.exp(md.sin(x))
    y.backward()
    found = labels(graph_dot(y))
    assert "exp\\n(graph freed)" in found and "sin" not in found


def test_a_deep_graph_does_not_recurse():
    x = md.Tensor(1.0, allow_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    assert graph_dot(y).count("multiply") == 3000


def test_a_leaf_alone_and_bad_input():
    assert labels(graph_dot(md.Tensor([1.0]))) == ["(1,) float64"]
    with pytest.raises(TypeError, match="needs a minidiff Tensor"):
        graph_dot(np.ones(2))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's `dot` program is not installed")
def test_graphviz_reads_the_dot_text():
    x, y, f = tour()
    result = subprocess.run(["dot", "-Tsvg"], input=graph_dot(f, names={"x": x}), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "<svg" in result.stdout and "sin" in result.stdout


def test_with_graphviz_draw_graph_returns_a_digraph():
    graphviz = pytest.importorskip("graphviz", reason="the optional graphviz package is not installed")
    x, y, f = tour()
    graph = draw_graph(f, names={"x": x})
    assert isinstance(graph, graphviz.Digraph)
    assert "sin" in graph.source and "x\\n(2, 4) float64" in graph.source


def test_docstring_examples_run():
    result = doctest.testmod(utils)
    assert result.failed == 0 and result.attempted >= 4
