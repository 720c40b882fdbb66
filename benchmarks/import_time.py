#!/usr/bin/env python3
"""The time `import minidiff` takes, and `import minidiff` with its first op, next to `import numpy` (and PyTorch
and HIPS autograd where they are installed).

Each measurement is a fresh `python -c ...` process, so nothing is already imported: the process times its own
import statement with `time.perf_counter` (the interpreter's startup is left out), then the first op (for minidiff
`md.sin(md.Tensor([1.0]))`, which loads the op-family plugins). The median of `--repeats` processes per library
is reported, after `--warmup` untimed ones (which warm the file-system cache), also as a ratio to `import numpy`;
the libraries take turns, one process each, so that a busy spell of the machine slows them alike.

The minidiff process also says whether `import minidiff` scanned the installed distributions' entry points:
`entry_points()` lives in `importlib.metadata` (or the `importlib_metadata` backport, or `pkg_resources`), so if
none of them is imported after `import minidiff`, no entry point was scanned; after the first op they are.

    python benchmarks/import_time.py                # the table
    python benchmarks/import_time.py --repeats 31
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
from typing import Any

# Run as a script, benchmarks/ is on sys.path: the harness is the file next to this one.
from _harness import (
    SIZES,
    SUMMARY_LIBRARIES,
    THREAD_VARIABLES,
    _aligned,
    distribution_version,
    machine,
    summary_entry,
    write_json,
)

# library -> (its distribution, the import statement, the first op); the order of the table
LIBRARIES = {
    "numpy": ("numpy", "import numpy as np", "np.sin(np.array([1.0]))"),
    "minidiff": ("minidiff-core", "import minidiff as md", "md.sin(md.Tensor([1.0]))"),
    "torch": ("torch", "import torch", "torch.sin(torch.tensor([1.0]))"),
    "autograd": ("autograd", "import autograd.numpy as anp", "anp.sin(anp.array([1.0]))"),
}
TARGET = 1.3  # import minidiff / import numpy
# Where an entry-point scan would come from: its modules are absent from sys.modules unless something scanned.
METADATA_MODULES = ("importlib.metadata", "importlib_metadata", "pkg_resources")

# The program each measuring process runs; it prints one line: the two times, then what was imported when.
PROBE = """\
import sys, time
metadata = {metadata!r}
at_start = any(m in sys.modules for m in metadata)
start = time.perf_counter()
{import_statement}
imported = time.perf_counter()
after_import = any(m in sys.modules for m in metadata)
plugins_after_import = "minidiff.ops.elementwise" in sys.modules
{first_op}
done = time.perf_counter()
after_first_op = any(m in sys.modules for m in metadata)
print(imported - start, done - start, at_start, after_import, plugins_after_import, after_first_op)
"""


def probe(library: str) -> dict[str, Any]:
    """One fresh process importing `library` and running its first op: the times in ms and the module facts."""
    _, import_statement, first_op = LIBRARIES[library]
    program = PROBE.format(metadata=METADATA_MODULES, import_statement=import_statement, first_op=first_op)
    env = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, "1")}
    done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"timing `{import_statement}` failed:\n{done.stderr.strip()}")
    imported, with_first_op, *facts = done.stdout.split()
    at_start, after_import, plugins_after_import, after_first_op = (fact == "True" for fact in facts)
    return {
        "import_ms": float(imported) * 1e3,
        "import_first_op_ms": float(with_first_op) * 1e3,
        "metadata_at_start": at_start,
        "metadata_after_import": after_import,
        "plugins_after_import": plugins_after_import,
        "metadata_after_first_op": after_first_op,
    }


def measure(repeats: int, warmup: int) -> list[dict[str, Any]]:
    """Each library's median times over `repeats` fresh processes after `warmup` untimed ones, or why it was
    skipped; in table order."""
    importable = [library for library in LIBRARIES if importlib.util.find_spec(_top_module(library)) is not None]
    for _ in range(warmup):
        for library in importable:
            probe(library)
    # Round by round, one process per library each: a slow spell of a shared machine hits every library alike.
    runs: dict[str, list[dict[str, Any]]] = {library: [] for library in importable}
    for _ in range(repeats):
        for library in importable:
            runs[library].append(probe(library))
    return [summarize(library, runs[library]) if library in runs else skipped(library) for library in LIBRARIES]


def _top_module(library: str) -> str:
    """The top-level module the library's import statement imports."""
    return LIBRARIES[library][1].split()[1].split(".")[0]


def skipped(library: str) -> dict[str, Any]:
    return {"library": library, "skipped": f"not importable: no module named {_top_module(library)!r}"}


def summarize(library: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median times of `runs`, and for minidiff what its last process saw of entry points and plugins."""
    result: dict[str, Any] = {
        "library": library,
        "version": distribution_version(LIBRARIES[library][0]),
        "import_ms": statistics.median(run["import_ms"] for run in runs),
        "import_first_op_ms": statistics.median(run["import_first_op_ms"] for run in runs),
    }
    if library == "minidiff":
        last = runs[-1]
        # Inconclusive where the interpreter had one of the modules before minidiff was imported.
        result["scans_entry_points_on_import"] = None if last["metadata_at_start"] else last["metadata_after_import"]
        result["loads_plugins_on_import"] = last["plugins_after_import"]
        result["scans_entry_points_on_first_op"] = last["metadata_after_first_op"]
    return result


def table(results: list[dict[str, Any]]) -> str:
    """The results, aligned, each time also as a ratio to numpy's; skipped libraries as notes below."""
    numpy = next((r for r in results if r["library"] == "numpy" and "import_ms" in r), None)
    keys = ("import_ms", "import_first_op_ms")
    header = ("library", "version", "import ms", "import + first op ms", "import / numpy",
              "import + first op / numpy")
    rows, notes = [], []
    for result in results:
        if "skipped" in result:
            notes.append(f"{result['library']}: skipped ({result['skipped']})")
            continue
        times = [result[key] for key in keys]
        ratios = ["-" if numpy is None else f"{t / numpy[key]:.2f}" for t, key in zip(times, keys)]
        rows.append((result["library"], result["version"], *(f"{t:.1f}" for t in times), *ratios))
    return "\n".join([*_aligned(header, rows), *notes])


def scan_note(result: dict[str, Any]) -> str:
    """What the minidiff process saw of entry points and plugins, in words."""
    scanned = result.get("scans_entry_points_on_import")
    if scanned is None:
        return ("import minidiff scans entry points: inconclusive (importlib.metadata was imported before "
                "minidiff in this interpreter)")
    verdict = "YES" if scanned else f"no ({', '.join(METADATA_MODULES)} not imported)"
    plugins = "yes" if result["loads_plugins_on_import"] else "no"
    first = "yes" if result["scans_entry_points_on_first_op"] else "no"
    return (f"import minidiff scans entry points: {verdict}; loads the op plugins: {plugins}; "
            f"the first op scans them: {first}.")


def summary(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows this script adds to run.py's summary: the import, and the import with the first op."""
    by_library = {result["library"]: result for result in results}
    rows = []
    for key, workload, measure, target in (
        ("import_ms", "import", "import ms", TARGET),
        ("import_first_op_ms", "import + first op", "import + first op ms", None),
    ):
        values = {library: by_library.get(library, {}).get(key) for library in SUMMARY_LIBRARIES}
        rows.append(summary_entry(workload, measure, values, "numpy", target))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11, help="timed processes per library; the median is reported")
    parser.add_argument("--warmup", type=int, default=1, help="untimed processes per library before timing")
    parser.add_argument("--json", metavar="PATH", help="also write the results to this JSON file")
    parser.add_argument("--size", choices=SIZES, default="full", help="accepted like the other scripts'; no effect")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0:
        parser.error("--repeats must be at least 1 and --warmup at least 0")

    info = machine()
    print("Import time: each library imported in a fresh `python -c` process, which times its import statement")
    print("(without the interpreter's startup), then the import and the first op together.")
    print(f"Median of {args.repeats} processes after {args.warmup} warmup processes per library, the libraries taking")
    print("turns process by process.")
    print("Machine: " + ", ".join(f"{key} {value}" for key, value in info.items()))
    print()
    results = measure(args.repeats, args.warmup)
    print(table(results))
    print()
    print("first op: " + "; ".join(f"{library}: {op}" for library, (_, _, op) in LIBRARIES.items()))
    minidiff = next(result for result in results if result["library"] == "minidiff")
    if "skipped" not in minidiff:
        print(scan_note(minidiff))
    print(f"Target: import minidiff / import numpy <= {TARGET}.")
    if args.json:
        config = {"repeats": args.repeats, "warmup": args.warmup, "size": args.size}
        write_json(args.json, info, config, results, summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
