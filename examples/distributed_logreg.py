#!/usr/bin/env python3
"""Logistic regression whose gradient over N rows runs on a Dask cluster (minidiff's dask backend).

The N x d data set is generated on the workers, chunk by chunk (`dask.array.random`), and
stays there: the client holds only the d weights. Each gradient-descent step writes the loss
with minidiff ops and calls `backward()`, which builds one Dask graph for the loss and its
gradient; `md.compute(loss, w.grad)` runs that graph on the cluster, which sends back d + 1
numbers. Then the same steps run on the first --check-rows rows with the NumPy backend (those
rows computed to the client) and with the Dask backend, and the two must agree.

    python examples/distributed_logreg.py                    # 1e6 rows, a LocalCluster of 2 worker processes
    python examples/distributed_logreg.py --rows 20000 --threads   # 2 workers as threads in this process
    MINIDIFF_DASK_SCHEDULER=tcp://host:8786 python examples/distributed_logreg.py   # a running cluster

With MINIDIFF_DASK_SCHEDULER set (the address of a `dask scheduler`, whose `dask worker`s
compute), no LocalCluster is started: minidiff computes on that scheduler. Needs
`pip install "minidiff[dask]"`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from typing import Iterator

import dask.array as da
import numpy as np

import minidiff as md
import minidiff_dask
from minidiff_dask.scheduler import describe


def make_data(rows: int, features: int, chunk_rows: int, seed: int) -> tuple[da.Array, da.Array]:
    """X (rows x features, standard normal) and labels y drawn from a logistic model, both
    lazy: each chunk is generated where the graph runs, from `seed` and the chunk's place,
    so every scheduler makes the same numbers."""
    rng = da.random.default_rng(seed)
    X = rng.standard_normal((rows, features), chunks=(chunk_rows, features))
    true_w = np.linspace(-1.0, 1.0, features)
    noise = rng.logistic(size=rows, chunks=chunk_rows)
    y = (X @ true_w + noise > 0).astype(np.float64)
    return X, y


def loss_of(X: md.Tensor, y: md.Tensor, w: md.Tensor) -> md.Tensor:
    """The mean logistic loss, log(1 + e^z) - y z with z = X w, written stably."""
    z = X @ w
    return md.mean(md.logaddexp(0.0, z) - y * z)


def descend(X: md.Tensor, y: md.Tensor, steps: int, lr: float, *, report: bool = False) -> tuple[np.ndarray, list[float]]:
    """Gradient descent from w = 0: the weights and the loss before each step.

    On the dask backend each step is one graph, computed by `md.compute` in one pass."""
    backend = X.backend.name
    w = md.zeros(X.shape[1], backend=backend, allow_grad=True)
    losses = []
    for step in range(steps):
        start = time.perf_counter()
        loss = loss_of(X, y, w)
        loss.backward()
        loss_value, gradient = md.compute(loss, w.grad)
        w = md.Tensor(w.numpy() - lr * gradient, allow_grad=True, backend=backend)
        losses.append(float(loss_value))
        if report:
            print(f"step {step + 1:2d}: loss {loss_value:.6f}  ({time.perf_counter() - start:.2f} s)", flush=True)
    return w.numpy(), losses


@contextlib.contextmanager
def cluster(workers: int, threads: bool) -> Iterator[str]:
    """A LocalCluster with a client, unless MINIDIFF_DASK_SCHEDULER names a running scheduler."""
    if os.environ.get(minidiff_dask.settings.ENVIRONMENT_VARIABLE):
        yield describe()
        return
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=not threads, dashboard_address=None) as local:
        with Client(local):
            kind = "threads in this process" if threads else "processes"
            yield f"a LocalCluster of {workers} workers ({kind}), {describe()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the data set (default 1e6)")
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--chunk-rows", type=int, default=250_000, help="rows per chunk")
    parser.add_argument("--steps", type=int, default=8, help="gradient-descent steps")
    parser.add_argument("--lr", type=float, default=2.0, help="learning rate")
    parser.add_argument("--check-rows", type=int, default=20_000, help="rows of the check against the NumPy backend")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", action="store_true", help="workers as threads in this process, not processes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    with cluster(args.workers, args.threads) as where:
        print(f"{args.rows} rows x {args.features} features in chunks of {args.chunk_rows} rows, computed on {where}")
        X_lazy, y_lazy = make_data(args.rows, args.features, min(args.chunk_rows, args.rows), args.seed)
        # generated once on the workers and kept there, not again at every step
        X, y = minidiff_dask.persist(md.Tensor(X_lazy, backend="dask"), md.Tensor(y_lazy, backend="dask"))
        w, losses = descend(X, y, args.steps, args.lr, report=True)
        print("weights:", np.array2string(w, precision=4, max_line_width=200))

        # The check: the same steps on the first rows, by both backends.
        n = min(args.check_rows, args.rows)
        X_head, y_head = X[:n], y[:n]
        X_host, y_host = md.compute(X_head, y_head)  # the only rows that come to the client
        w_numpy, _ = descend(md.Tensor(X_host, backend="numpy"), md.Tensor(y_host, backend="numpy"), args.steps, args.lr)
        w_dask = w if n == args.rows else descend(X_head, y_head, args.steps, args.lr)[0]
    difference = float(np.max(np.abs(w_dask - w_numpy)))
    agree = np.allclose(w_dask, w_numpy, rtol=1e-10, atol=1e-12)
    print(f"check on {n} rows: max |w_dask - w_numpy| = {difference:.3g} ({'agree' if agree else 'DISAGREE'})")
    print(f"loss fell from {losses[0]:.6f} to {losses[-1]:.6f}")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
