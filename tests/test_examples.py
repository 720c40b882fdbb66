"""The examples run, quickly, and print what they promise: the MLP's loss falls, Newton's
method reaches the Rosenbrock minimum, the complex filter fit reaches the least-squares
taps, and the graph example writes its DOT file (and an SVG where Graphviz's `dot` program
is installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(script: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], cwd=cwd or EXAMPLES.parent,
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result


def test_mlp_loss_falls():
    out = run("mlp.py", "--steps", "60").stdout
    losses = [float(v) for v in re.findall(r"loss (\d+\.\d+)", out)]
    assert len(losses) >= 5 and losses[-1] < 0.7 * losses[0], out
    accuracy = re.search(r"final accuracy: ([\d.]+)%", out)
    assert accuracy and 50.0 < float(accuracy.group(1)) <= 100.0, out


def test_newton_reaches_the_rosenbrock_minimum():
    out = run("newton.py").stdout
    match = re.search(r"minimum at \(([-\d.]+), ([-\d.]+)\) after (\d+) Newton steps", out)
    assert match, out
    assert float(match.group(1)) == pytest.approx(1.0, abs=1e-6)
    assert float(match.group(2)) == pytest.approx(1.0, abs=1e-6)
    assert int(match.group(3)) <= 10


def test_graph_prints_dot_text():
    out = run("graph.py").stdout
    assert out.startswith("digraph minidiff {") and "sin" in out and "x\\n(2, 4) float64" in out


def test_graph_writes_its_files(tmp_path: Path):
    run("graph.py", "--out", str(tmp_path))
    assert (tmp_path / "tour-graph.dot").read_text().startswith("digraph minidiff {")
    if shutil.which("dot") is not None:
        assert "<svg" in (tmp_path / "tour-graph.svg").read_text()


def test_complex_fit_reaches_the_least_squares_taps():
    out = run("complex_fit.py").stdout
    losses = [float(v) for v in re.findall(r"loss (\d+\.\d+)", out)]
    assert len(losses) >= 5 and losses[-1] < 0.01 * losses[0], out
    match = re.search(r"max \|fitted - least squares\| = ([\d.e+-]+)", out)
    assert match and float(match.group(1)) < 1e-6, out
