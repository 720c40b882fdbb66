#!/usr/bin/env python3
"""Distributed logistic regression with minidiff's dask backend: one worker against two, and the NumPy floor.

    python benchmarks/distributed_logreg.py                 # 2e7 rows x 16 features float64 (2.56 GB)
    python benchmarks/distributed_logreg.py --size small    # 2e5 rows, for a smoke test
    python benchmarks/distributed_logreg.py --rows 5000000  # another size

The data set is generated on the workers of a `distributed.LocalCluster` (worker processes, one
thread each) and persisted there; each timed step is one gradient-descent step as
examples/distributed_logreg.py writes it: the loss in minidiff ops, `backward()`, and one
`md.compute(loss, w.grad)` on the cluster. The table gives the median step time, the scaling
from one worker to two, the time to generate the data, and the peak resident memory of the
client process (the data never reaches it). The floor is NumPy by hand on the same number of
rows held in one process's memory, one thread. Each setup runs in a child process of its own,
so each peak is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

# Run as a script, benchmarks/ is on sys.path: the harness is the file next to this one.
from _harness import THREAD_VARIABLES, machine, summary_entry, write_json

SIZES = {"full": (20_000_000, 1_000_000), "small": (200_000, 50_000)}  # rows, rows per chunk
SETUPS = {"numpy": "NumPy by hand, in memory", "1": "minidiff dask, 1 worker", "2": "minidiff dask, 2 workers"}
LR = 2.0


def peak_rss_mb() -> float | None:
    """The peak resident memory of this process so far, in MB (None where it cannot be read)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6  # bytes on macOS, kB on Linux


def run_numpy(rows: int, features: int, chunk_rows: int, steps: int, warmup: int) -> dict[str, Any]:
    """The floor: the data in this process's memory, the gradient written by hand."""
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    X = np.empty((rows, features))
    for first in range(0, rows, chunk_rows):  # chunk by chunk, so no temporary doubles the peak
        X[first : first + chunk_rows] = rng.standard_normal((min(chunk_rows, rows - first), features))
    true_w = np.linspace(-1.0, 1.0, features)
    y = ((X @ true_w + rng.logistic(size=rows)) > 0).astype(np.float64)
    generate = time.perf_counter() - start
    w = np.zeros(features)
    times = []
    for step in range(warmup + steps):
        start = time.perf_counter()
        z = X @ w
        loss = np.mean(np.logaddexp(0.0, z) - y * z)
        gradient = X.T @ (1.0 / (1.0 + np.exp(-z)) - y) / rows
        w = w - LR * gradient
        if step >= warmup:
            times.append(time.perf_counter() - start)
    return {"generate_s": generate, "step_ms": 1e3 * statistics.median(times), "loss": float(loss),
            "peak_mb": peak_rss_mb()}


def run_dask(workers: int, rows: int, features: int, chunk_rows: int, steps: int, warmup: int) -> dict[str, Any]:
    """minidiff on the dask backend: a LocalCluster of `workers` processes, the data made there."""
    from distributed import Client, LocalCluster

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    from distributed_logreg import loss_of, make_data

    import minidiff as md
    import minidiff_dask

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster):
            start = time.perf_counter()
            X_lazy, y_lazy = make_data(rows, features, chunk_rows, seed=0)
            X, y = minidiff_dask.persist(md.Tensor(X_lazy, backend="dask"), md.Tensor(y_lazy, backend="dask"))
            md.get_backend("dask").synchronize(X.data, y.data)  # wait until every chunk is made
            generate = time.perf_counter() - start
            w = md.zeros(features, backend="dask", allow_grad=True)
            times = []
            for step in range(warmup + steps):
                start = time.perf_counter()
                loss = loss_of(X, y, w)
                loss.backward()
                loss_value, gradient = md.compute(loss, w.grad)
                w = md.Tensor(w.numpy() - LR * gradient, allow_grad=True, backend="dask")
                if step >= warmup:
                    times.append(time.perf_counter() - start)
    return {"generate_s": generate, "step_ms": 1e3 * statistics.median(times), "loss": float(loss_value),
            "peak_mb": peak_rss_mb()}


def child(setup: str, args: argparse.Namespace) -> dict[str, Any]:
    rows, chunk_rows = args.rows, args.chunk_rows
    if setup == "numpy":
        return run_numpy(rows, args.features, chunk_rows, args.repeats, args.warmup)
    return run_dask(int(setup), rows, args.features, chunk_rows, args.repeats, args.warmup)


def run_child(setup: str, args: argparse.Namespace) -> dict[str, Any]:
    """One setup in its own process; its result, or the error it printed."""
    command = [sys.executable, __file__, "--child", setup, "--rows", str(args.rows), "--features", str(args.features),
               "--chunk-rows", str(args.chunk_rows), "--repeats", str(args.repeats), "--warmup", str(args.warmup)]
    environment = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, "1")}
    done = subprocess.run(command, capture_output=True, text=True, env=environment)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"setup": SETUPS[setup], "error": (done.stderr or done.stdout)[-2000:]}
    return {"setup": SETUPS[setup], **json.loads(lines[-1])}


def table(results: list[dict[str, Any]]) -> str:
    one_worker = next((r["step_ms"] for r in results if r["setup"] == SETUPS["1"] and "step_ms" in r), None)
    header = ("setup", "generate s", "step ms", "scaling", "client peak MB")
    rows = []
    for r in results:
        if "error" in r:
            rows.append((r["setup"], "failed", "", "", ""))
            continue
        dask_row = r["setup"] != SETUPS["numpy"]
        scaling = f"{one_worker / r['step_ms']:.2f}x" if dask_row and one_worker else "-"
        peak = "-" if r["peak_mb"] is None else f"{r['peak_mb']:.0f}"
        rows.append((r["setup"], f"{r['generate_s']:.1f}", f"{r['step_ms']:.0f}", scaling, peak))
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in (header, *rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=tuple(SIZES), default="full", help="'small': 2e5 rows, for a smoke test")
    parser.add_argument("--rows", type=int, help="rows of the data set (default: 2e7, or 2e5 with --size small)")
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--chunk-rows", type=int, help="rows per chunk (default: 1e6, or 5e4 with --size small)")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps; the median is reported")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps before timing")
    parser.add_argument("--json", metavar="PATH", help="also write the results to this JSON file")
    parser.add_argument("--child", choices=tuple(SETUPS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    rows, chunk_rows = SIZES[args.size]
    args.rows = args.rows or rows
    args.chunk_rows = args.chunk_rows or chunk_rows
    if args.child:
        print(json.dumps(child(args.child, args)))
        return 0
    info = machine()
    print(f"Logistic regression, {args.rows:,} rows x {args.features} features float64 "
          f"({args.rows * args.features * 8 / 1e6:.0f} MB), chunks of {args.chunk_rows:,} rows; "
          f"median of {args.repeats} gradient-descent steps after {args.warmup} warmup steps.")
    print("Dask workers are processes of a LocalCluster, one thread each; the data is generated and kept on them.")
    print("Machine: " + ", ".join(f"{key} {value}" for key, value in info.items()))
    print()
    results = [run_child(setup, args) for setup in SETUPS]
    print(table(results))
    print()
    print("step ms: one step (loss, backward, computing loss and gradient, the update); scaling: the 1-worker")
    print("step time over this one. client peak MB: the peak resident memory of the process that runs the steps")
    print("(for the NumPy floor, the process that holds the data).")
    for r in results:
        if "error" in r:
            print(f"{r['setup']} failed:\n{r['error']}", file=sys.stderr)
    if args.json:
        config = {"rows": args.rows, "features": args.features, "chunk_rows": args.chunk_rows, "size": args.size,
                  "repeats": args.repeats, "warmup": args.warmup}
        by_setup = {r["setup"]: r for r in results}
        values = {"minidiff": by_setup[SETUPS["2"]].get("step_ms"), "numpy": by_setup[SETUPS["numpy"]].get("step_ms")}
        summary = [summary_entry("W9 distributed logreg step, 2 Dask workers", "step ms", values, "numpy", None)]
        write_json(args.json, info, config, results, summary)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
