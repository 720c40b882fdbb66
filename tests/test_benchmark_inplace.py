"""benchmarks/inplace.py (W10) runs, checks every library against the floor, and prints its table (no timing is
asserted)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_inplace_prints_both_minidiff_spellings_and_a_summary_row(tmp_path: Path) -> None:
    results = tmp_path / "inplace.json"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "inplace.py"), "--size", "small", "--repeats", "2", "--warmup", "0",
         "--json", str(results)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    for row in (r"numpy \(by hand\)", r"minidiff \(in place\)", r"minidiff \(md\.where\)"):
        assert re.search(rf"^{row}\s+\S+\s+[\d.]+\s+[\d.]+\s", done.stdout, re.MULTILINE), done.stdout
    written = json.loads(results.read_text())
    libraries = [result["library"] for result in written["results"]]
    assert "minidiff (in place)" in libraries and "minidiff (md.where)" in libraries
    assert written["config"] == {"n": 1000, "updates": 10, "dtype": "float64", **{
        key: written["config"][key] for key in written["config"] if key not in ("n", "updates", "dtype")}}
    assert written["summary"][0]["workload"].startswith("W10 masked update loop")
    assert written["summary"][0]["values"]["minidiff"] > 0
