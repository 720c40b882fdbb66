"""What the benchmark scripts share: checking and timing, one process per library, the machine, the table, the
command line.

A script describes its workload as a `Suite`: one function per library that builds an `Entry` (the value and
gradient it computed, and its forward and forward + backward passes), the check of that value and gradient, the
unit its times are printed in, and the words around its table (`backward_entry` builds the Entry of a library with
`.backward()`). `main(suite)` then does the rest:

    python benchmarks/SCRIPT.py                  # the parent: runs each library in a child process, prints the table
    python benchmarks/SCRIPT.py --child torch    # a child: one library, its result as JSON on the last stdout line

A script whose workload has a smaller version for smoke tests passes `main` a function of the size ("full" or
"small") that builds its Suite, instead of the Suite. A Suite may also ask for the peak memory of one forward +
backward pass (`memory=True`, measured by `peak_memory_mb`), and declares the rows it adds to the summary table
that `run.py` prints across every script (`SummaryRow`; read from the `summary` key of the --json file).

This file is not a benchmark: `run.py` skips files whose name starts with "_".
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

# One thread everywhere: what each library adds is the subject, not how it uses a thread pool.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# A library the running Python cannot import is reported as skipped, not as a failure.
NOT_IMPORTABLE: Mapping[type[Exception], str] = {ImportError: "not importable: {error}"}
# --size: "small" shrinks a workload that has a smaller version (for smoke tests); other scripts ignore it.
SIZES = ("full", "small")
# The summary table's columns: a benchmark's key (its --child name) and its column header.
SUMMARY_LIBRARIES: Mapping[str, str] = {
    "minidiff": "minidiff", "torch": "PyTorch", "autograd": "autograd", "numpy": "NumPy floor",
}
MEASURES = ("fwd", "fwd_bwd", "peak")  # what a summary row reads: a time of either pass, or the peak memory
MB = 1e6  # memory is reported in megabytes of 10**6 bytes


@dataclass(frozen=True)
class Unit:
    """How a script's times are stored and printed.

    `key` names the result fields (`fwd_<key>`, `fwd_bwd_<key>`), `label` goes in the column headers, `scale` turns
    seconds into the unit and `digits` is how many decimals the table shows.
    """

    key: str
    label: str
    scale: float
    digits: int

    @property
    def fields(self) -> tuple[str, str]:
        """The result fields of the forward and of the forward + backward time."""
        return f"fwd_{self.key}", f"fwd_bwd_{self.key}"


@dataclass(frozen=True)
class Entry:
    """One library, ready to run: what it computed once (checked before any timing) and the two passes to time."""

    library: str  # the name in the table, e.g. "torch (CPU)"
    version: str
    value_and_grad: tuple[Any, Any]  # the value and the gradient, as the library returned them
    forward: Callable[[], Any]
    forward_backward: Callable[[], Any]


def backward_entry(
    library: str, version: str, forward: Callable[[], Any], leaf: Any, *, reset_grad: bool = False
) -> Entry:
    """The Entry of a library whose scalar result has `.backward()`, which leaves the gradient in `leaf.grad`.

    That is minidiff and PyTorch. `reset_grad` clears `leaf.grad` before each backward, for a library that would
    otherwise add each pass's gradient to the last one's (PyTorch).
    """

    def forward_backward() -> Any:
        if reset_grad:
            leaf.grad = None
        value = forward()
        value.backward()
        return value

    value = forward_backward()  # once, for the check: the value and the gradient of a single pass
    return Entry(library, version, (value.item(), leaf.grad.numpy()), forward, forward_backward)


@dataclass(frozen=True)
class SummaryRow:
    """One row a script adds to `run.py`'s summary across workloads.

    `measure` is which number of each library goes in the row: "fwd" or "fwd_bwd" (the times of the two passes)
    or "peak" (the peak memory, for a Suite with `memory=True`). The row's ratio is minidiff's number divided by
    that of `against` ("torch" or "numpy", the hand-written floor); `target` is the most that ratio should be
    (None: no target stated). `columns` names the benchmark that fills a library's column when it is not the
    library's own key, e.g. `(("minidiff", "minidiff_checkpoint"),)` for a row about a variant.
    """

    workload: str
    measure: str = "fwd_bwd"
    against: str = "torch"
    target: float | None = None
    columns: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.measure not in MEASURES:
            raise ValueError(f"SummaryRow measure must be one of {MEASURES}, got {self.measure!r}")
        if self.against not in ("torch", "numpy"):
            raise ValueError(f"SummaryRow against must be 'torch' or 'numpy', got {self.against!r}")


@dataclass(frozen=True)
class Suite:
    """A benchmark script's workload and the words around its table.

    The fields after `config` are optional: `reference` is the benchmark every ratio column divides by,
    `passes` the headers of the two timed passes, `memory` adds the peak memory of one forward + backward pass
    (measured before the timing), `summary` the rows this script adds to `run.py`'s summary (by default one row:
    the forward + backward time against PyTorch), and `repeats`/`warmup` the defaults of those options.
    """

    script: str  # the script's own file: each child process runs it again with --child
    description: str  # the first line of --help
    benchmarks: Mapping[str, Callable[[], Entry]]  # --child name -> the function that builds its Entry; table order
    check: Callable[[str, Any, Any], None]  # (library, value, gradient) -> None; raises if they are wrong
    unit: Unit
    intro: Sequence[str]  # the lines above "Median of ..."
    numpy_note: str  # below the table: what the numpy row's two columns are
    config: Mapping[str, Any]  # the workload, written to --json with repeats and warmup
    skips: Mapping[type[Exception], str] = field(default_factory=lambda: dict(NOT_IMPORTABLE))  # "{error}" filled in
    reference: str = "minidiff"  # a key of `benchmarks`
    passes: tuple[str, str] = ("fwd", "fwd+bwd")
    memory: bool = False
    summary: Sequence[SummaryRow] = ()
    repeats: int = 30
    warmup: int = 3

    def __post_init__(self) -> None:
        if self.reference not in self.benchmarks:
            raise ValueError(
                f"Suite reference {self.reference!r} is not one of its benchmarks {tuple(self.benchmarks)}"
            )

    @property
    def summary_rows(self) -> Sequence[SummaryRow]:
        """The declared summary rows, or one row named after the script: its forward + backward time against
        PyTorch, with no target."""
        return self.summary or (SummaryRow(Path(self.script).stem),)


# --------------------------------------------------------------------------- one library, in the child process


def run_library(suite: Suite, library: str, repeats: int, warmup: int) -> dict[str, Any]:
    """Build one library's entry, check its value and gradient, then time both passes."""
    # The skips cover the whole run, not only the imports: a missing extension (md.linalg) surfaces only when the
    # forward first runs.
    try:
        entry = suite.benchmarks[library]()
        suite.check(entry.library, *entry.value_and_grad)
        # Memory first: building the entry ran one pass (the warm-up the baseline is taken after), and no timing
        # loop has yet left its garbage around.
        memory = {"peak_mb": peak_memory_mb(entry.forward_backward)} if suite.memory else {}
        times = time_passes(entry, suite.unit, repeats, warmup)
        return {"library": entry.library, "version": entry.version, **times, **memory}
    except tuple(suite.skips) as error:
        reason = next(message for kind, message in suite.skips.items() if isinstance(error, kind))
        return {"library": library, "skipped": reason.format(error=error)}


def time_passes(entry: Entry, unit: Unit, repeats: int, warmup: int) -> dict[str, float]:
    """The median time of the forward pass and of forward + backward, in `unit`."""
    fwd, fwd_bwd = unit.fields
    return {
        fwd: median_seconds(entry.forward, repeats, warmup) * unit.scale,
        fwd_bwd: median_seconds(entry.forward_backward, repeats, warmup) * unit.scale,
    }


def median_seconds(run: Callable[[], Any], repeats: int, warmup: int) -> float:
    """Call `run` `warmup` times untimed, then `repeats` times timed; the median time of one call."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_memory_mb(run: Callable[[], Any]) -> float:
    """How far one call of `run` raises this process's resident memory above what it held before, in MB.

    Read from Linux's /proc, so it sees every library's allocations (tracemalloc would miss PyTorch's): the
    baseline is VmRSS once garbage is collected and the C allocator has handed its free memory back; writing "5"
    to /proc/self/clear_refs resets the high-water mark VmHWM, which is read again after the call.
    """
    gc.collect()
    _trim_free_memory()
    try:
        baseline = _status_kb("VmRSS")
        with open("/proc/self/clear_refs", "w", encoding="ascii") as file:
            file.write("5")  # resets VmHWM to the current VmRSS
    except OSError as error:
        raise RuntimeError(
            "peak memory is measured through /proc/self/status and /proc/self/clear_refs (Linux only), "
            f"which this system does not allow: {error}"
        ) from error
    result = run()
    peak = _status_kb("VmHWM")
    del result
    return (peak - baseline) * 1024 / MB


def _status_kb(field_name: str) -> int:
    """A memory field of /proc/self/status, in KiB (the file says "kB")."""
    with open("/proc/self/status", encoding="ascii") as file:
        for line in file:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field_name} line, so peak memory cannot be measured here")


def _trim_free_memory() -> None:
    """Hand the C allocator's free memory back to the system, where it is glibc.

    Without it, memory a warm-up pass freed may still be resident: the baseline would count it, and a pass
    reusing it would look as if it needed none.
    """
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to trim through this call


def distribution_version(distribution: str) -> str:
    """The installed version of `distribution`, for libraries without a `__version__`; "?" when unknown."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "?"


# --------------------------------------------------------------------------- the parent process


def run_child(script: str, library: str, repeats: int, warmup: int, size: str = "full") -> dict[str, Any]:
    """Run one library's benchmark in a fresh process; its last stdout line is its result as JSON."""
    # A process per library, so that one library's imports cannot change another's timings.
    env = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, "1")}
    command = [sys.executable, script, "--child", library, "--repeats", str(repeats), "--warmup", str(warmup),
               "--size", size]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        return {"library": library, "error": done.stderr.strip() or f"exit code {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> dict[str, Any]:
    """What the numbers were measured on, printed above the table and written to --json."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "numpy": np.__version__,
    }


def table(
    results: list[dict[str, Any]],
    unit: Unit,
    *,
    reference: int | None = None,
    passes: tuple[str, str] = ("fwd", "fwd+bwd"),
    memory: bool = False,
) -> str:
    """The results, aligned, each number also as a ratio to the reference row's; skipped or failed libraries as
    notes below.

    `reference` is the index of the reference row in `results` (by default minidiff's); `memory` adds the peak
    memory and its ratio.
    """
    keys = [*unit.fields, *(["peak_mb"] if memory else [])]
    if reference is None:
        base = next((r for r in results if r["library"] == "minidiff" and keys[0] in r), None)
    else:
        base = results[reference] if keys[0] in results[reference] else None
    name = "minidiff" if base is None else _short_name(base["library"])
    labels = [f"{passes[0]} {unit.label}", f"{passes[1]} {unit.label}", *(["peak MB"] if memory else [])]
    ratio_labels = [f"{label.split()[0]} / {name}" for label in labels]
    header = ("library", "version", *labels, *ratio_labels)
    rows, notes = [], []
    for result in results:
        if "skipped" in result:
            notes.append(f"{result['library']}: skipped ({result['skipped']})")
        elif "error" in result:
            notes.append(f"{result['library']}: FAILED, see above")
        else:
            rows.append(_row(result, base, keys, unit.digits))
    return "\n".join([*_aligned(header, rows), *notes])


def _short_name(library: str) -> str:
    """A library's name without its note: "numpy (by hand)" -> "numpy"."""
    return library.split(" (")[0]


def _row(result: dict[str, Any], base: dict[str, Any] | None, keys: list[str], digits: int) -> tuple[str, ...]:
    """One library's cells: name, version, its numbers, and their ratios to the reference ("-" without one)."""
    values = [result[key] for key in keys]
    cells = [f"{v:.{digits}f}" if key != "peak_mb" else f"{v:.1f}" for v, key in zip(values, keys)]
    ratios = ["-"] * len(keys) if base is None else [_ratio(v, base[key]) for v, key in zip(values, keys)]
    return (result["library"], result["version"], *cells, *ratios)


def _ratio(value: float | None, base: float | None) -> str:
    """value / base to two decimals, or "-" where either is missing or the base is not positive."""
    if value is None or base is None or base <= 0:
        return "-"
    return f"{value / base:.2f}"


def _aligned(header: tuple[str, ...], rows: list[tuple[str, ...]], names: int = 2) -> list[str]:
    """The header, a rule and the rows, each column as wide as its widest cell; the first `names` columns are
    names (to the left), the others numbers (to the right)."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            cell.ljust(w) if i < names else cell.rjust(w) for i, (cell, w) in enumerate(zip(cells, widths))
        )

    return [line(header), "  ".join("-" * w for w in widths), *map(line, rows)]


# --------------------------------------------------------------------------- the summary across scripts


def summary_entries(suite: Suite, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The suite's summary rows filled with its results, as written to --json for `run.py`."""
    by_key = dict(zip(suite.benchmarks, results))
    entries = []
    for row in suite.summary_rows:
        key = "peak_mb" if row.measure == "peak" else suite.unit.fields[row.measure == "fwd_bwd"]
        if row.measure == "peak":
            measure = "peak MB"
        else:
            measure = f"{suite.passes[row.measure == 'fwd_bwd']} {suite.unit.label}"
        chosen = dict(row.columns)
        values = {library: by_key.get(chosen.get(library, library), {}).get(key) for library in SUMMARY_LIBRARIES}
        entries.append(summary_entry(row.workload, measure, values, row.against, row.target))
    return entries


def summary_entry(
    workload: str, measure: str, values: Mapping[str, float | None], against: str, target: float | None
) -> dict[str, Any]:
    """One summary row as JSON: the workload, what was measured (e.g. "fwd+bwd ms"), each library's number (None
    where it has none), and minidiff's ratio to `against` ("torch" or "numpy") next to its target."""
    minidiff, base = values.get("minidiff"), values.get(against)
    ratio = None if minidiff is None or base is None or base <= 0 else minidiff / base
    return {
        "workload": workload,
        "measure": measure,
        "values": {library: values.get(library) for library in SUMMARY_LIBRARIES},
        "against": against,
        "ratio": ratio,
        "target": target,
    }


def summary_table(entries: list[dict[str, Any]]) -> str:
    """The rows of every script's summary, aligned and ordered by workload: each library's number, then what
    minidiff's ratio is taken against, the ratio, its target and whether the target is met."""
    header = ("workload", "measure", *SUMMARY_LIBRARIES.values(), "ratio of", "ratio", "target", "met")
    rows = []
    for entry in sorted(entries, key=lambda entry: entry["workload"]):  # stable: a script's rows keep their order
        ratio, target = entry["ratio"], entry["target"]
        met = "-" if ratio is None or target is None else ("yes" if ratio <= target else "NO")
        rows.append((
            entry["workload"],
            entry["measure"],
            *(_number(entry["values"].get(library)) for library in SUMMARY_LIBRARIES),
            "minidiff / " + SUMMARY_LIBRARIES[entry["against"]],
            "-" if ratio is None else f"{ratio:.2f}",
            "-" if target is None else f"{target:.2f}",
            met,
        ))
    return "\n".join(_aligned(header, rows))


def _number(value: float | None) -> str:
    """A time or a size with about four significant digits, "-" for none."""
    if value is None:
        return "-"
    return f"{value:.{0 if value >= 1000 else 1 if value >= 100 else 2 if value >= 10 else 3}f}"


# --------------------------------------------------------------------------- the command line


def parse_args(suite: Suite, argv: list[str] | None) -> argparse.Namespace:
    """--repeats, --warmup, --json, --size, and the internal --child."""
    parser = argparse.ArgumentParser(description=suite.description)
    parser.add_argument(
        "--repeats", type=int, default=suite.repeats, help="timed runs per pass; the median is reported"
    )
    parser.add_argument("--warmup", type=int, default=suite.warmup, help="untimed runs before timing")
    parser.add_argument("--json", metavar="PATH", help="also write the results to this JSON file")
    parser.add_argument(
        "--size", choices=SIZES, default="full", help="'small' shrinks the workload, where it has a smaller version"
    )
    parser.add_argument("--child", choices=tuple(suite.benchmarks), help=argparse.SUPPRESS)  # internal: one library
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0:
        parser.error("--repeats must be at least 1 and --warmup at least 0")
    return args


SuiteOrSizes = Union[Suite, Callable[[str], Suite]]


def main(suite: SuiteOrSizes, argv: list[str] | None = None) -> int:
    """A benchmark script's entry point: one library with --child, else every library and the table.

    `suite` is the Suite, or a function of the size ("full" or "small") that builds it.
    """
    of_size = suite if callable(suite) else (lambda size: suite)
    args = parse_args(of_size("full"), argv)  # the options do not depend on the size
    chosen = of_size(args.size)
    if args.child:
        # Printed last: the parent reads only the last line, so a library may print what it likes before it.
        print(json.dumps(run_library(chosen, args.child, args.repeats, args.warmup)))
        return 0
    return run_all(chosen, args)


def run_all(suite: Suite, args: argparse.Namespace) -> int:
    """Run every library in its own process, print the table, and write --json; non-zero if any library failed."""
    info = machine()
    print_intro(suite, args, info)
    results = [run_reporting(suite, library, args) for library in suite.benchmarks]
    reference = list(suite.benchmarks).index(suite.reference)
    print(table(results, suite.unit, reference=reference, passes=suite.passes, memory=suite.memory))
    print()
    print(suite.numpy_note)
    if "autograd" in suite.benchmarks:
        print(f"autograd records only inside grad(): its {suite.passes[0]} is the untraced autograd.numpy call.")
    if suite.memory:
        print("peak MB: how far one fwd+bwd pass raises the process's resident memory (VmHWM) above its baseline.")
    print(f"Ratios are to the {results[reference]['library']} row: below 1 is faster (or smaller) than it.")
    if args.json:
        config = {**suite.config, "size": args.size, "repeats": args.repeats, "warmup": args.warmup}
        write_json(args.json, info, config, results, summary_entries(suite, results))
    return 1 if any("error" in result for result in results) else 0


def print_intro(suite: Suite, args: argparse.Namespace, info: dict[str, Any]) -> None:
    """The lines above the table: the workload, the method and the machine."""
    for line in suite.intro:
        print(line)
    print(f"Median of {args.repeats} runs after {args.warmup} warmup runs; "
          "each library in its own process, one thread.")
    print("Machine: " + ", ".join(f"{key} {value}" for key, value in info.items()))
    print()


def run_reporting(suite: Suite, library: str, args: argparse.Namespace) -> dict[str, Any]:
    """One library's result; a failure's traceback goes to stderr now, the table only says it failed."""
    result = run_child(suite.script, library, args.repeats, args.warmup, args.size)
    if "error" in result:
        print(f"{library} failed:\n{result['error']}\n", file=sys.stderr)
    return result


def write_json(
    path: str,
    info: dict[str, Any],
    config: dict[str, Any],
    results: list[dict[str, Any]],
    summary: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> None:
    """The machine, the settings, every library's result and the summary rows, for --json."""
    with open(path, "w", encoding="utf-8") as file:
        json.dump({"machine": info, "config": config, "results": results, "summary": list(summary)}, file, indent=2)
