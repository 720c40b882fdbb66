"""The benchmarks run and print their tables (a smoke test: no timing is asserted)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True, timeout=600
    )


def test_overhead_prints_a_table_and_writes_json(tmp_path: Path) -> None:
    results = tmp_path / "overhead.json"
    done = run("overhead.py", "--repeats", "2", "--warmup", "1", "--json", str(results))
    assert done.returncode == 0, done.stderr
    assert re.search(r"^library\s+version\s+fwd us/op\s+fwd\+bwd us/op", done.stdout, re.MULTILINE), done.stdout
    # The minidiff row: its two times, then ratios of 1 to itself.
    assert re.search(r"^minidiff\s+\S+\s+[\d.]+\s+[\d.]+\s+1\.00\s+1\.00$", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^numpy \(by hand\)\s", done.stdout, re.MULTILINE), done.stdout
    written = json.loads(results.read_text())
    by_library = {result["library"]: result for result in written["results"]}
    assert by_library["minidiff"]["fwd_us_per_op"] > 0
    assert by_library["minidiff"]["fwd_bwd_us_per_op"] > 0
    assert written["config"]["repeats"] == 2
    assert written["machine"]["numpy"]


def test_run_passes_arguments_to_every_benchmark_and_sums_them_up(tmp_path: Path) -> None:
    everything = tmp_path / "all.json"
    done = run("run.py", "--repeats", "1", "--warmup", "0", "--size", "small", "--json", str(everything))
    assert done.returncode == 0, done.stderr
    for script in ("overhead.py", "mlp.py", "elementwise.py", "deep_chain.py", "import_time.py", "hessian.py",
                   "per_example.py"):
        assert f"=== {script} ===" in done.stdout
    assert "Median of 1 runs after 0 warmup runs" in done.stdout
    summary = done.stdout.split("=== summary ===")[1]
    assert re.search(r"^workload\s+measure\s+minidiff\s+PyTorch\s+autograd\s+NumPy floor", summary, re.MULTILINE)
    for workload in ("W1 per-op overhead", "W2 MLP", "W3 elementwise chain", "W4 Rosenbrock Hessian",
                     "W5 Gaussian NLL", "W6 deep chain", "W8 per-example grads", "import"):
        assert re.search(rf"^{workload}", summary, re.MULTILINE), summary
    assert "no summary from" not in summary
    written = json.loads(everything.read_text())["scripts"]
    assert written["mlp.py"]["config"]["repeats"] == 1


def test_run_only_runs_the_scripts_named() -> None:
    done = run("run.py", "--only", "overhead", "--repeats", "1", "--warmup", "0", "--size", "small")
    assert done.returncode == 0, done.stderr
    assert "=== overhead.py ===" in done.stdout and "=== mlp.py ===" not in done.stdout
    summary = done.stdout.split("=== summary ===")[1]
    assert re.search(r"^W1 per-op overhead", summary, re.MULTILINE) and "W2 MLP" not in summary, summary
    unknown = run("run.py", "--only", "overhead,nope")
    assert unknown.returncode == 2 and "no benchmark named nope" in unknown.stderr, unknown.stderr


# The workloads below have a smaller version (--size small): at full size W3 and W6 allocate about 2 GB.
SMALL = ("--size", "small", "--repeats", "2", "--warmup", "0")


@pytest.mark.parametrize(
    ("script", "passes", "memory"),
    [("mlp.py", ("fwd ms", "step ms"), False), ("elementwise.py", ("fwd ms", "fwd+bwd ms"), True),
     ("deep_chain.py", ("fwd ms", "fwd+bwd ms"), True)],
)
def test_workload_prints_a_table_and_writes_json(
    tmp_path: Path, script: str, passes: tuple[str, str], memory: bool
) -> None:
    results = tmp_path / "results.json"
    done = run(script, *SMALL, "--json", str(results))
    assert done.returncode == 0, done.stderr
    columns = r"\s+".join(re.escape(column) for column in (*passes, *(["peak MB"] if memory else [])))
    assert re.search(rf"^library\s+version\s+{columns}\s+fwd / numpy", done.stdout, re.MULTILINE), done.stdout
    # The floor is the reference: its ratios are 1 to itself.
    ones = r"\s+1\.00" * (3 if memory else 2)
    assert re.search(rf"^numpy \(by hand\)\s+\S+(\s+[\d.]+){{{3 if memory else 2}}}{ones}$", done.stdout,
                     re.MULTILINE), done.stdout
    assert re.search(r"^minidiff\s", done.stdout, re.MULTILINE), done.stdout
    written = json.loads(results.read_text())
    minidiff = next(result for result in written["results"] if result["library"] == "minidiff")
    assert minidiff["fwd_ms"] > 0 and minidiff["fwd_bwd_ms"] > 0
    if memory:
        assert minidiff["peak_mb"] > 0
    assert written["config"]["size"] == "small"
    assert written["summary"] and all(row["against"] in ("torch", "numpy") for row in written["summary"])
    assert all(row["values"]["minidiff"] > 0 for row in written["summary"])


def test_import_time_prints_a_table_and_sees_no_entry_point_scan(tmp_path: Path) -> None:
    results = tmp_path / "import.json"
    done = run("import_time.py", "--repeats", "1", "--warmup", "0", "--json", str(results))
    assert done.returncode == 0, done.stderr
    assert re.search(r"^library\s+version\s+import ms\s+import \+ first op ms", done.stdout, re.MULTILINE)
    assert re.search(r"^minidiff\s+\S+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+$", done.stdout, re.MULTILINE)
    written = json.loads(results.read_text())
    minidiff = next(result for result in written["results"] if result["library"] == "minidiff")
    assert minidiff["import_ms"] > 0
    assert minidiff["import_first_op_ms"] >= minidiff["import_ms"]
    # `import minidiff` leaves entry points alone; the first op loads the plugins and scans them.
    assert minidiff["scans_entry_points_on_import"] is False, done.stdout
    assert minidiff["loads_plugins_on_import"] is False, done.stdout
    assert minidiff["scans_entry_points_on_first_op"] is True, done.stdout
    assert written["summary"][0]["target"] == 1.3


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="peak memory is read from Linux's /proc")
def test_peak_memory_sees_an_allocation() -> None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from _harness import peak_memory_mb
    finally:
        sys.path.remove(str(BENCHMARKS))
    import numpy as np

    # 40 MB written to: all of it resident at the peak, on top of the baseline.
    peak = peak_memory_mb(lambda: np.ones(5_000_000).sum())
    assert 38 < peak < 60, peak


def test_hessian_prints_both_sizes_and_checks_every_library(tmp_path: Path) -> None:
    results = tmp_path / "hessian.json"
    done = run("hessian.py", "--size", "small", "--repeats", "2", "--warmup", "0", "--json", str(results))
    assert done.returncode == 0, done.stderr
    # The two timed columns are the Hessian at the two sizes.
    assert re.search(r"^library\s+version\s+n=5 ms\s+n=12 ms\s", done.stdout, re.MULTILINE), done.stdout
    # The default md.hessian's row names the ops that ran once per example, if any: "(md.hessian; loops: ...)".
    for row in (r"numpy \(closed form\)", r"minidiff \(md\.hessian[;)].*?", r"minidiff \(vectorized=False\)"):
        assert re.search(rf"^{row}\s+\S+\s+[\d.]+\s+[\d.]+\s", done.stdout, re.MULTILINE), done.stdout
    written = json.loads(results.read_text())
    by_key = dict(zip(("numpy", "minidiff", "minidiff-rows"), written["results"]))
    assert by_key["minidiff"]["library"].startswith("minidiff (md.hessian"), by_key
    assert by_key["minidiff-rows"]["library"] == "minidiff (vectorized=False)", by_key
    for key in ("minidiff", "minidiff-rows"):
        assert by_key[key]["fwd_ms"] > 0 and by_key[key]["fwd_bwd_ms"] > 0
    assert written["config"]["sizes"] == [5, 12]
    workloads = [row["workload"] for row in written["summary"]]
    assert workloads == ["W4 Rosenbrock Hessian, n=5", "W4 Rosenbrock Hessian, n=12"]
    assert written["summary"][1]["target"] == 1.0 and written["summary"][1]["against"] == "torch"
    assert all(row["values"]["minidiff"] > 0 for row in written["summary"])


def test_variadic_prints_time_per_input_and_checks_every_gradient(tmp_path: Path) -> None:
    results = tmp_path / "variadic.json"
    done = run("variadic.py", *SMALL, "--json", str(results))
    assert done.returncode == 0, done.stderr
    assert re.search(r"^library\s+version\s+fwd us/input\s+fwd\+bwd us/input", done.stdout, re.MULTILINE), done.stdout
    written = json.loads(results.read_text())
    assert written["config"]["inputs"] == 10_000
    minidiff = next(result for result in written["results"] if result["library"] == "minidiff")
    assert minidiff["fwd_bwd_us_per_input"] > 0  # its value and every input's gradient passed the check
    assert written["summary"][0]["workload"].startswith("W7 concatenate+stack")


def test_per_example_checks_every_gradient_and_sums_up_against_torch_func(tmp_path: Path) -> None:
    results = tmp_path / "per_example.json"
    done = run("per_example.py", *SMALL, "--json", str(results))
    assert done.returncode == 0, done.stderr
    assert re.search(r"^library\s+version\s+losses ms\s+grads ms\s+peak MB\s", done.stdout, re.MULTILINE), done.stdout
    # The md.vmap row names the ops that ran once per example, if any: "(md.vmap; loops: ...)".
    for row in (r"numpy \(by hand\)", r"minidiff \(md\.vmap[;)].*?", r"minidiff \(Python loop\)"):
        assert re.search(rf"^{row}\s+\S+(\s+[\d.]+){{3}}\s", done.stdout, re.MULTILINE), done.stdout
    written = json.loads(results.read_text())
    # Every row that ran passed the check of every example's loss and gradients against the floor.
    by_key = dict(zip(("numpy", "minidiff", "minidiff-loop", "torch"), written["results"]))
    for key in ("numpy", "minidiff", "minidiff-loop"):
        assert "error" not in by_key[key] and "skipped" not in by_key[key], by_key[key]
        assert by_key[key]["fwd_ms"] > 0 and by_key[key]["fwd_bwd_ms"] > 0 and by_key[key]["peak_mb"] > 0
    assert written["config"]["batch"] == 16 and written["config"]["widths"] == [64, 32, 32, 10]
    grads, peak = written["summary"]
    assert grads["workload"] == peak["workload"] == "W8 per-example grads 64-32-32-10"
    assert (grads["measure"], grads["against"], grads["target"]) == ("grads ms", "torch", 1.2)
    assert (peak["measure"], peak["target"]) == ("peak MB", None)
    assert grads["values"]["minidiff"] == by_key["minidiff"]["fwd_bwd_ms"]


def test_per_example_floor_matches_the_batch_gradient_and_the_check_catches_a_wrong_gradient() -> None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import per_example
    finally:
        sys.path.remove(str(BENCHMARKS))
    import numpy as np

    net = per_example.SIZES["small"]
    # numpy_reference checks the floor's per-example gradients against mlp.py's batch backward (their mean).
    losses, grads = per_example.numpy_reference(net)
    assert losses.shape == (16,) and [g.shape[0] for g in grads] == [16] * 6
    check = per_example.make_suite("small").check
    float32 = [g.astype(np.float32) for g in grads]
    check("floor", losses.astype(np.float32), float32)
    wrong = [g.copy() for g in float32]
    wrong[2][3] += 0.1 * np.abs(wrong[2]).max()  # one example's w2 gradient is off
    with pytest.raises(AssertionError, match="gradient 2"):
        check("wrong", losses.astype(np.float32), wrong)
    with pytest.raises(AssertionError, match="float32"):
        check("float64", losses, float32)
