#!/usr/bin/env python3
"""`md.compile` on W1, W2 and W3: the compiled step next to eager minidiff, the NumPy floor and PyTorch.

The workloads are those of `overhead.py` (W1: 300 elementwise ops on a (16,) vector, per-op time), `mlp.py` (W2:
a float32 784-256-256-10 MLP training step) and `elementwise.py` (W3: a 20-op chain on 2,000,000 float64
elements), imported from those scripts so they cannot drift apart. The `minidiff compiled` row runs the same
function through `md.compile` (numexpr fusion where numexpr is installed), after the first call traced it; its
value and gradient are checked against the hand-written NumPy backward like every other row's. For W2 the time of
that first call (trace + program build) is also reported, in eager steps.

    python benchmarks/compile.py                 # the three tables
    python benchmarks/compile.py --size small    # smaller workloads, for smoke tests
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable

import numpy as np

# Run as a script, benchmarks/ is on sys.path: the harness and the workloads are the files next to this one.
import elementwise
import mlp
import overhead
from _harness import (
    Entry,
    Suite,
    SummaryRow,
    distribution_version,
    machine,
    parse_args,
    print_intro,
    run_library,
    run_reporting,
    summary_entries,
    table,
    write_json,
)

COMPILED = "minidiff compiled"
_extra: dict[str, Any] = {}  # what a child adds to its result (the W2 compile time)


def _numexpr_note() -> str:
    try:
        import numexpr
    except ImportError:
        return "numexpr not installed: replay unfused"
    return f"numexpr {numexpr.__version__}"


def _compiled_entry(version: str, step: Callable[[], Any], forward: Callable[[], Any], value_and_grad: Callable[[Any], Any]) -> Entry:
    step()  # traces
    return Entry(COMPILED, f"{version}, {_numexpr_note()}", value_and_grad(step()), forward, step)


# --------------------------------------------------------------------------- W1 and W3: elementwise chains


def _chain_compiled(x0: Callable[[], np.ndarray], chain: Callable[[Any, Any], Any]) -> Callable[[], Entry]:
    def bench() -> Entry:
        import minidiff as md

        x = md.Tensor(x0(), allow_grad=True)

        def step(x: Any) -> Any:
            y = chain(x, md)
            y.backward()
            return y

        compiled_step, compiled_forward = md.compile(step), md.compile(lambda x: chain(x, md))
        compiled_forward(x)
        return _compiled_entry(
            md.__version__, lambda: compiled_step(x), lambda: compiled_forward(x), lambda y: (y.item(), x.grad.numpy())
        )

    return bench


def w1_suite(size: str) -> Suite:
    suite = overhead.SUITE
    benchmarks = {f"W1-{key}": bench for key, bench in suite.benchmarks.items() if key != "autograd"}
    benchmarks["W1-compiled"] = _chain_compiled(lambda: overhead.X0, overhead.chain)
    return _variant(suite, benchmarks, "W1", (
        SummaryRow("W1 per-op overhead, fwd+bwd, compiled", measure="fwd_bwd", against="torch", target=0.3),
    ))


def w3_suite(size: str) -> Suite:
    suite = elementwise.make_suite(size)
    n = elementwise.SIZES[size]
    benchmarks = {f"W3-{key}": bench for key, bench in suite.benchmarks.items() if key != "autograd"}
    benchmarks["W3-compiled"] = _chain_compiled(lambda: np.linspace(-1.0, 1.0, n), elementwise.chain)
    return _variant(suite, benchmarks, "W3", (
        SummaryRow(f"W3 elementwise chain, {n:,} elements, compiled", measure="fwd_bwd", against="numpy", target=0.6),
    ))


# --------------------------------------------------------------------------- W2: the MLP step


def w2_suite(size: str) -> Suite:
    suite = mlp.make_suite(size)
    net = mlp.SIZES[size]
    x, labels = net.inputs

    def bench_compiled() -> Entry:
        import minidiff as md

        params = [md.Tensor(p, allow_grad=True) for p in net.initial_params()]
        inputs, targets = md.Tensor(x), md.Tensor(labels)

        def forward(inputs: Any) -> Any:
            return md.cross_entropy(mlp.logits_of(params, inputs, md.tanh), targets)

        def step(inputs: Any) -> Any:  # as bench_minidiff's step in mlp.py
            loss = forward(inputs)
            loss.backward()
            with md.no_grad():
                mlp.sgd(params, [p.grad for p in params])
            return loss

        # the compile time in eager steps, on copies of the parameters (the timed run starts from the same ones)
        originals = [p.numpy().copy() for p in params]
        eager_times = []
        for _ in range(7):
            start = time.perf_counter()
            step(inputs)
            eager_times.append(time.perf_counter() - start)
        for p, original in zip(params, originals):
            p.numpy()[...] = original
        compiled_step, compiled_forward = md.compile(step), md.compile(forward)
        start = time.perf_counter()
        compiled_step(inputs)  # the trace and the program build
        compile_seconds = time.perf_counter() - start
        for p, original in zip(params, originals):
            p.numpy()[...] = original
        eager_step = float(np.median(eager_times[2:]))
        _extra.update(compile_ms=compile_seconds * 1e3, eager_step_ms=eager_step * 1e3)
        compiled_forward(inputs)
        return Entry(
            COMPILED,
            f"{md.__version__}, {_numexpr_note()}",
            (lambda loss: (loss.numpy(), [p.grad.numpy() for p in params]))(compiled_step(inputs)),
            lambda: compiled_forward(inputs),
            lambda: compiled_step(inputs),
        )

    benchmarks = {f"W2-{key}": bench for key, bench in suite.benchmarks.items() if key != "autograd"}
    benchmarks["W2-compiled"] = bench_compiled
    widths = "-".join(map(str, net.widths))
    return _variant(suite, benchmarks, "W2", (
        SummaryRow(f"W2 MLP {widths} step, compiled", measure="fwd_bwd", against="numpy", target=0.8),
    ))


# --------------------------------------------------------------------------- running the three


def _variant(suite: Suite, benchmarks: dict[str, Callable[[], Entry]], workload: str, rows: tuple) -> Suite:
    """`suite` with the compiled row added and every key prefixed by the workload (one --child namespace)."""
    columns = (("minidiff", f"{workload}-compiled"), ("numpy", f"{workload}-numpy"), ("torch", f"{workload}-torch"))
    return Suite(
        script=__file__,
        description=__doc__.splitlines()[0],
        benchmarks=benchmarks,
        check=suite.check,
        unit=suite.unit,
        intro=(f"{workload}: " + suite.intro[0], *suite.intro[1:]),
        numpy_note=suite.numpy_note,
        config=dict(suite.config),
        reference=f"{workload}-minidiff",
        passes=suite.passes,
        summary=tuple(SummaryRow(r.workload, r.measure, r.against, r.target, columns) for r in rows),
        repeats=suite.repeats,
        warmup=suite.warmup,
    )


SUITES = {"W1": w1_suite, "W2": w2_suite, "W3": w3_suite}


def main(argv: list[str] | None = None) -> int:
    every = {key: bench for make in SUITES.values() for key, bench in make("small").benchmarks.items()}
    parsing = Suite(
        script=__file__, description=__doc__.splitlines()[0], benchmarks=every, check=lambda *a: None,
        unit=overhead.SUITE.unit, intro=(), numpy_note="", config={}, reference="W1-minidiff", repeats=10, warmup=2,
    )
    args = parse_args(parsing, argv)
    if args.child:
        import json

        suite = SUITES[args.child.split("-")[0]](args.size)
        result = run_library(suite, args.child, args.repeats, args.warmup)
        print(json.dumps({**result, **_extra}))
        return 0
    info = machine()
    summary, results_all, failed = [], [], False
    for workload, make in SUITES.items():
        suite = make(args.size)
        # each workload's own defaults, unless given on the command line
        chosen = argparse.Namespace(**vars(args))
        if argv is None and "--repeats" not in sys.argv:
            chosen.repeats = suite.repeats
        if argv is None and "--warmup" not in sys.argv:
            chosen.warmup = suite.warmup
        print_intro(suite, chosen, info)
        results = [run_reporting(suite, library, chosen) for library in suite.benchmarks]
        failed = failed or any("error" in r for r in results)
        reference = list(suite.benchmarks).index(suite.reference)
        print(table(results, suite.unit, reference=reference, passes=suite.passes))
        print()
        print(suite.numpy_note)
        print(f"Ratios are to the {results[reference]['library']} row: below 1 is faster than it.")
        summary.extend(summary_entries(suite, results))
        for r in results:
            if "compile_ms" in r:
                steps = r["compile_ms"] / r["eager_step_ms"]
                print(f"Compile time of the step (first call: trace + build): {r['compile_ms']:.1f} ms = "
                      f"{steps:.1f} eager steps of {r['eager_step_ms']:.2f} ms (target <= 20).")
                summary.append({
                    "workload": "W2 MLP step, compile time", "measure": "ms, in eager steps",
                    "values": {"minidiff": r["compile_ms"], "torch": None, "autograd": None, "numpy": None},
                    "against": "minidiff", "ratio": steps, "target": 20.0,
                })
        print()
        results_all.extend(results)
    if args.json:
        write_json(args.json, info, {"size": args.size, "repeats": args.repeats, "warmup": args.warmup},
                   results_all, summary)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
