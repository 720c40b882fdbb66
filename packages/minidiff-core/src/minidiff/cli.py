"""The `minidiff` command line: `minidiff info` (also `python -m minidiff info`)."""

from __future__ import annotations

import argparse
import platform
import sys
from collections import Counter

import numpy as np

from minidiff import config, plugins
from minidiff.backend import BackendUnavailable


def info_text() -> str:
    """What is installed: backends, op families, the active backend and failed plugins."""
    import minidiff

    state = plugins.state()
    registry = state.registry
    lines = [
        f"minidiff {minidiff.__version__} on Python {platform.python_version()}, NumPy {np.__version__}",
        "",
        "Backends:",
    ]
    origin = {p.name: f"{p.distribution} {p.version}" for p in state.plugins}
    for name in sorted(registry.backends):
        entry = registry.backends[name]
        reason = ""
        try:
            plugins.backend(name)
            status = "usable"
        except BackendUnavailable as exc:
            status, reason = "unusable", str(exc)
        lines.append(f"  {name:<10} {status:<8} {entry.description} (plugin {entry.plugin!r}, {origin[entry.plugin]})")
        if reason:
            lines.append(f"  {'':<10} why: {reason}")
    if not registry.backends:
        lines.append("  none installed (pip install minidiff-numpy)")
    try:
        active, layer = config.decide()
        lines.append(f"Active backend: {active} (chosen by {layer})")
    except Exception as exc:  # the report must still print when the configuration is broken
        lines.append(f"Active backend: unknown ({exc})")

    lines += ["", "Op families:"]
    ops_per_plugin = Counter(entry.plugin for entry in registry.ops.values())
    kernels_per_plugin = Counter(entry.plugin for entry in registry.kernels.values())
    for plugin in state.plugins:
        if plugin.error:
            continue
        count = ops_per_plugin.get(plugin.name, 0)
        kernels = kernels_per_plugin.get(plugin.name, 0)
        if not count and not kernels:
            continue
        what = f"{count} ops" + (f", {kernels} kernels" if kernels else "")
        lines.append(f"  {plugin.name:<28} {plugin.distribution} {plugin.version:<8} {what}")
    if registry.overrides:
        lines += ["", "Overrides:", *(f"  {note}" for note in registry.overrides)]
    failed = [plugin for plugin in state.plugins if plugin.error]
    lines += ["", "Plugins that failed to load:" if failed else "Plugins that failed to load: none"]
    lines += [f"  {p.name} (from {p.distribution} {p.version}): {p.error}" for p in failed]
    return "\n".join(lines)


_CHECK_MODULE = """
from minidiff.testing import {suite}


class TestConformance({suite}):
    {attribute} = {name!r}
"""


class _Outcomes:
    """A pytest plugin that keeps each test's outcome for the summary."""

    def __init__(self) -> None:
        self.results: list[tuple[str, str, str]] = []

    def pytest_runtest_logreport(self, report) -> None:  # type: ignore[no-untyped-def]
        if report.when == "call" or report.outcome != "passed":
            if report.when == "teardown" and report.outcome == "passed":
                return
            outcome = "xfailed" if hasattr(report, "wasxfail") else report.outcome
            message = ""
            if report.outcome == "failed":
                crash = getattr(report.longrepr, "reprcrash", None)
                message = crash.message if crash is not None else str(report.longrepr)
            self.results.append((report.nodeid.split("::")[-1], outcome, message))

    def pytest_collectreport(self, report) -> None:  # type: ignore[no-untyped-def]
        if report.failed:
            self.results.append(("collection", "failed", str(report.longrepr).strip().splitlines()[-1]))


def _first_line(message: str) -> str:
    """The exception's first informative line (NumPy's assertion messages start blank)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    head = " ".join(lines[:2]) if lines and lines[0].endswith(":") else (lines[0] if lines else "")
    return head


def check(name: str, backends: list[str]) -> int:
    """Run the conformance suite on an installed op pack or backend; print a summary."""
    import tempfile
    from pathlib import Path

    try:
        import pytest
    except ModuleNotFoundError:  # pytest comes with the `test` extra, not with minidiff itself
        print('minidiff check needs pytest, which is not installed: pip install "minidiff[test]"', file=sys.stderr)
        return 2

    from minidiff.testing.suites import pack_ops

    registry = plugins.load()
    if name in registry.backends:
        suite, attribute, op_count = "BackendSuite", "backend", len(registry.ops)
        backends = [name]
    else:
        try:
            op_count = len(pack_ops(name))
        except (LookupError, RuntimeError) as exc:
            print(f"minidiff check: {exc}", file=sys.stderr)
            return 2
        suite, attribute = "OpPackSuite", "op_pack"
    outcomes = _Outcomes()
    with tempfile.TemporaryDirectory() as folder:
        module = Path(folder) / "test_minidiff_conformance.py"
        module.write_text(_CHECK_MODULE.format(suite=suite, attribute=attribute, name=name))
        options = [arg for backend in backends for arg in ("--minidiff-backend", backend)]
        exit_code = pytest.main(
            [str(module), "-p", "no:terminal", "-p", "no:cacheprovider", "--rootdir", folder, *options],
            plugins=[outcomes],
        )
    counts = Counter(outcome for _, outcome, _ in outcomes.results)
    print(
        f"minidiff check {name}: {op_count} ops, {counts['passed']} checks passed, {counts['failed']} failed, "
        f"{counts['skipped']} skipped, {counts['xfailed']} expected failures"
    )
    for test, outcome, message in outcomes.results:
        if outcome == "failed":
            check_name, _, case = test.partition("[")
            print(f"  FAILED {check_name.removeprefix('test_')} on {case.rstrip(']') or name}: {_first_line(message)}")
    if not outcomes.results:
        print("  no checks ran", file=sys.stderr)
        return 1
    return 1 if counts["failed"] or exit_code not in (0, 5) else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `minidiff` command."""
    parser = argparse.ArgumentParser(prog="minidiff", description="minidiff's command line")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="installed backends, op families, the active backend and plugin failures")
    check_parser = commands.add_parser("check", help="run the conformance suite on an op pack or a backend")
    check_parser.add_argument("name", help="entry-point name of the op pack or backend (e.g. numpy, elementwise)")
    check_parser.add_argument("--backend", action="append", default=[], help="backend to check an op pack on")
    args = parser.parse_args(argv)
    if args.command == "check":
        return check(args.name, args.backend)
    print(info_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
