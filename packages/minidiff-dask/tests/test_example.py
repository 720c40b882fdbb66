"""examples/distributed_logreg.py runs on a LocalCluster of two worker processes: its loss
falls, and its steps on the first rows agree with the NumPy backend's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from minidiff_dask.settings import ENVIRONMENT_VARIABLE

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "distributed_logreg.py"


def test_logistic_regression_on_a_local_cluster_agrees_with_numpy():
    environment = {k: v for k, v in os.environ.items() if k != ENVIRONMENT_VARIABLE}
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--rows", "40000", "--chunk-rows", "10000", "--steps", "4", "--check-rows", "15000"],
        capture_output=True, text=True, timeout=300, env=environment,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "computed on a LocalCluster of 2 workers (processes)" in out, out
    losses = [float(v) for v in re.findall(r"^step +\d+: loss ([\d.]+)", out, re.MULTILINE)]
    assert len(losses) == 4 and abs(losses[0] - 0.693147) < 1e-6, out  # log 2, at w = 0
    assert losses[-1] < 0.75 * losses[0], out
    check = re.search(r"check on 15000 rows: max \|w_dask - w_numpy\| = (\S+) \(agree\)", out)
    assert check and float(check.group(1)) < 1e-12, out
