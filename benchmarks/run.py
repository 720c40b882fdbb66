#!/usr/bin/env python3
"""Run every benchmark script in this folder, one after another, print their tables, then one summary table
across workloads.

    python benchmarks/run.py                  # what `python3 dev.py bench` runs
    python benchmarks/run.py --repeats 5      # other arguments go to every script as they are
    python benchmarks/run.py --size small     # every workload that has a smaller version, shrunk
    python benchmarks/run.py --json all.json  # also write every script's results to one file
    python benchmarks/run.py --only overhead,mlp,compile   # those scripts only, in one summary

Each script runs with this same Python interpreter and writes its results as JSON into a temporary folder; the
summary is made of the rows each script declares there (its `summary` key: the workload, each library's number,
minidiff's ratio to PyTorch or to the NumPy floor, and the target), so this file knows nothing of any one
script. A script that writes no summary is listed below the table. The exit code is non-zero if any script
failed. Files whose name starts with "_" (such as `_harness.py`, the code the scripts share) are not benchmarks
and are skipped.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# Run as a script, benchmarks/ is on sys.path: the harness is the file next to this one.
from _harness import summary_table

HERE = Path(__file__).resolve().parent


def is_benchmark(path: Path) -> bool:
    """Every script here but this one and the "_" helpers the scripts import."""
    return path.name != Path(__file__).name and not path.name.startswith("_")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--json", metavar="PATH", help="also write every script's results to this JSON file")
    parser.add_argument("--only", metavar="NAMES", help="comma-separated script names (without .py) to run")
    args, passed = parser.parse_known_args(argv)  # the rest goes to every script
    scripts = sorted(path for path in HERE.glob("*.py") if is_benchmark(path))
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {path.stem for path in scripts}
        if unknown:
            parser.error(f"no benchmark named {', '.join(sorted(unknown))}; there are {', '.join(p.stem for p in scripts)}")
        scripts = [path for path in scripts if path.stem in wanted]
    failed = []
    written: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="minidiff-bench-") as folder:
        for script in scripts:
            print(f"=== {script.name} ===", flush=True)
            out = Path(folder) / f"{script.stem}.json"
            # Output streams straight through, so a long benchmark shows its progress.
            if subprocess.run([sys.executable, str(script), *passed, "--json", str(out)]).returncode != 0:
                failed.append(script.name)
            if out.exists():
                written[script.name] = json.loads(out.read_text(encoding="utf-8"))
            print(flush=True)
    print_summary(scripts, written)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump({"scripts": written}, file, indent=2)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def print_summary(scripts: list[Path], written: dict[str, Any]) -> None:
    """One table across every script's summary rows, in script order; the scripts without any named below."""
    entries = [entry for script in scripts for entry in written.get(script.name, {}).get("summary", [])]
    silent = [script.name for script in scripts if not written.get(script.name, {}).get("summary")]
    print("=== summary ===")
    print("Each row: every library's number, and minidiff's ratio to the library in `against` next to its target.")
    print("Ratios and targets compare numbers measured in the same run; the machine is in each script's table.")
    print()
    if entries:
        print(summary_table(entries))
    if silent:
        print(f"no summary from: {', '.join(silent)}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
