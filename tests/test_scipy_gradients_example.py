"""examples/scipy_gradients.py runs, and what it prints agrees with what it checks: the
logsumexp gradient with its closed form, the softmax regression's loss falls, and the power
transform found by gradient descent through scipy.stats is the one a grid search of the
same loss on NumPy finds."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "scipy_gradients.py"

# find_spec, not an import: SciPy imported here without SCIPY_ARRAY_API=1 would keep it off
# for tests/test_array_api_libraries.py in this process.
if importlib.util.find_spec("scipy") is None:
    pytest.skip("the example needs the array-api-libs extra: pip install -e '.[array-api-libs]'", allow_module_level=True)


@pytest.fixture(scope="module")
def output() -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], cwd=EXAMPLE.parents[1], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def number(output: str, pattern: str) -> float:
    match = re.search(pattern, output)
    assert match, f"the example prints nothing matching {pattern!r}:\n{output}"
    return float(match.group(1))


def test_logsumexp_gradient_matches_the_closed_form(output: str) -> None:
    assert number(output, r"gradient vs closed form, max abs difference ([-+\d.e]+)") < 1e-12


def test_softmax_regression_loss_falls(output: str) -> None:
    losses = [float(v) for v in re.findall(r"step +\d+ +loss (\d+\.\d+)", output)]
    assert len(losses) >= 4 and all(b < a for a, b in zip(losses, losses[1:])), output
    assert losses[-1] < 0.6 * losses[0], output
    assert number(output, r"training accuracy ([\d.]+)%") > 60.0


def test_power_transform_reaches_the_grid_minimum(output: str) -> None:
    fitted = number(output, r"power transform: lam ([-\d.]+);")
    grid = number(output, r"grid search on NumPy finds lam ([-\d.]+)")
    assert abs(fitted - grid) <= 0.001, output  # within one grid step
    assert abs(number(output, r"skew ([-\d.]+), excess kurtosis [-\d.]+ after")) < 0.2
