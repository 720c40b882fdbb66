"""The `minidiff` command line (also `python -m minidiff`).

- `minidiff info [--ops]`: installed backends, op families, the active backend and which
  configuration layer chose it, disabled and failed plugins; `--ops` lists every op with
  the plugin and distribution that registered it. Exits 1 when the active backend cannot run.
- `minidiff check NAME [--backend B ...]`: the conformance suite on an installed op pack or
  backend, with the failures that pack or backend declares as known (`EXPECTED_FAILURES`);
  for a pack, also the ops of other plugins that it ships kernels for, on those kernels' backends.
- `minidiff --version`; a bare `minidiff` prints this help and exits 2 (no command given),
  as argparse does for a missing argument.

Exit codes: 0 success, 1 a check failed or the active backend cannot run, 2 a usage error
(an unknown name, a backend that cannot run, an option that does not apply).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections import Counter

import numpy as np

from minidiff import config, plugins
from minidiff.backend import BackendUnavailable


def info_text(show_ops: bool = False) -> str:
    """What is installed: backends, op families, the active backend and failed plugins."""
    return "\n".join(_info(show_ops)[0])


def _info(show_ops: bool) -> tuple[list[str], bool]:
    """The lines of `minidiff info`, and whether the active backend can run."""
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
        lines.append(f"  {name:<10} {status:<8} {entry.description} (plugin {entry.plugin!r}, {origin.get(entry.plugin, '?')})")
        if reason:
            lines.append(f"  {'':<10} why: {reason}")
    if not registry.backends:
        lines.append("  none installed (pip install minidiff-numpy)")
    active_ok = True
    try:
        active, layer = config.decide()
    except Exception as exc:  # the report must still print when the configuration is broken
        lines.append(f"Active backend: unknown ({exc})")
        active_ok = False
    else:
        try:
            config.get_backend()
            lines.append(f"Active backend: {active} (chosen by {layer})")
        except (ValueError, TypeError, BackendUnavailable) as exc:
            lines.append(f"Active backend: {active} (chosen by {layer}), which cannot run here")
            lines.append(f"  why: {exc}")
            active_ok = False

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
    lines += ["", *_disabled_lines()]
    failed = [plugin for plugin in state.plugins if plugin.error]
    lines += ["", "Plugins that failed to load:" if failed else "Plugins that failed to load: none"]
    lines += [f"  {p.name} (from {p.distribution} {p.version}): {p.error}" for p in failed]
    if show_ops:
        lines += ["", *_op_lines(state)]
    return lines, active_ok


def _disabled_lines() -> list[str]:
    """Plugins skipped by MINIDIFF_DISABLE_PLUGINS, each with its distribution, or a note
    that no installed plugin has that name (a misspelling disables nothing)."""
    names = [name.strip() for name in os.environ.get("MINIDIFF_DISABLE_PLUGINS", "").split(",") if name.strip()]
    if not names:
        return ["Plugins disabled (MINIDIFF_DISABLE_PLUGINS): none"]
    from importlib.metadata import entry_points

    known: dict[str, str] = {}
    for module in plugins.DEFAULT_PLUGINS:
        known[module] = known[module.rsplit(".", 1)[-1]] = f"{module}, built into minidiff-core"
    for ep in entry_points(group=plugins.ENTRY_POINT_GROUP):
        dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "?"
        known[ep.name] = f"from {dist}"
    lines = ["Plugins disabled (MINIDIFF_DISABLE_PLUGINS):"]
    for name in names:
        lines.append(f"  {name} ({known[name]})" if name in known else f"  {name} (no installed plugin has this name)")
    return lines


def _op_lines(state: plugins._State) -> list[str]:
    """Every registered op, `md.`-qualified, with the plugin and distribution that registered it."""
    origin = {p.name: f"{p.distribution} {p.version}" for p in state.plugins}
    ops = state.registry.ops
    names = {q: f"md.{q}" if e.value.public else f"{q} (internal)" for q, e in ops.items()}
    width = max((len(name) for name in names.values()), default=0) + 2
    lines = [f"Ops ({len(ops)}; internal ones are reached through Tensor methods):"]
    for qualname in sorted(ops):
        plugin = ops[qualname].plugin
        lines.append(f"  {names[qualname]:<{width}}{plugin} ({origin.get(plugin, '?')})")
    return lines


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


def _isolated(folder: str) -> list[str]:
    """pytest options that keep a run inside `folder`, a private temporary directory.

    Without them pytest looks for `pytest.ini`, `tox.ini`, `setup.cfg`, `pyproject.toml` and
    `conftest.py` in the folder's parents, that is in the system's temporary directory,
    where other users may write: their conftest.py would run as the user running the check.
    An explicit, empty ini file fixes the configuration and the rootdir; `--confcutdir`
    stops the conftest search at the folder; no cache is written anywhere."""
    from pathlib import Path

    ini = Path(folder) / "pytest.ini"
    ini.write_text("[pytest]\n")
    return ["-c", str(ini), "--rootdir", folder, "--confcutdir", folder, "-p", "no:cacheprovider", "-p", "no:terminal"]


def _backend_problem(name: str) -> str | None:
    """Why `name` cannot be checked (unknown, or unusable here), or None."""
    try:
        plugins.backend(name)
    except BackendUnavailable as exc:
        return f"cannot check backend {name!r}: {exc}"
    except ValueError as exc:
        return str(exc)
    return None


def _usage_error(message: str) -> int:
    print(f"minidiff check: {message}", file=sys.stderr)
    return 2


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

    from minidiff.testing.suites import pack_kernels, pack_ops

    registry = plugins.load()
    if name in registry.backends:
        stray = [b for b in backends if b != name]
        if stray:
            return _usage_error(
                f"--backend applies to op packs; {name!r} is a backend and is checked on itself "
                f"(drop --backend {' '.join(stray)})"
            )
        suite, attribute, op_count = "BackendSuite", "backend", len(registry.ops)
        kernel_count = 0
        backends = [name]
    else:
        try:
            op_count = len(pack_ops(name))
            kernel_count = len(pack_kernels(name))  # for other plugins' ops: checked on their backends
        except (LookupError, RuntimeError) as exc:
            return _usage_error(str(exc))
        suite, attribute = "OpPackSuite", "op_pack"
    for backend in dict.fromkeys(backends):  # before running: one line, not one failure per check
        problem = _backend_problem(backend)
        if problem:
            return _usage_error(problem)
    outcomes = _Outcomes()
    with tempfile.TemporaryDirectory() as folder:
        module = Path(folder) / "test_minidiff_conformance.py"
        module.write_text(_CHECK_MODULE.format(suite=suite, attribute=attribute, name=name))
        options = [arg for backend in backends for arg in ("--minidiff-backend", backend)]
        exit_code = pytest.main([str(module), *_isolated(folder), *options], plugins=[outcomes])
    counts = Counter(outcome for _, outcome, _ in outcomes.results)
    kernels = f", {kernel_count} kernels for other plugins' ops" if kernel_count else ""
    print(
        f"minidiff check {name}: {op_count} ops{kernels}, {counts['passed']} checks passed, {counts['failed']} failed, "
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


def _parser() -> argparse.ArgumentParser:
    import minidiff

    parser = argparse.ArgumentParser(
        prog="minidiff",
        description="minidiff's command line: what is installed, and the conformance kit.",
        epilog="Exit codes: 0 success; 1 a check failed or the active backend cannot run; "
        "2 a usage error (no command, an unknown name, a backend that cannot run).",
    )
    parser.add_argument("--version", action="version", version=f"minidiff {minidiff.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    info_parser = commands.add_parser(
        "info", help="installed backends, op families, the active backend, disabled and failed plugins"
    )
    info_parser.add_argument("--ops", action="store_true", help="also list every op and the distribution that registered it")
    check_parser = commands.add_parser("check", help="run the conformance suite on an op pack or a backend")
    check_parser.add_argument("name", help="entry-point name of the op pack or backend (e.g. numpy, elementwise)")
    check_parser.add_argument(
        "--backend", action="append", default=[], help="backend to check an op pack on (repeatable; default: every usable one)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `minidiff` command: `main(["check", "numpy"])` runs `minidiff check numpy`."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:  # a bare `minidiff`: the help, and exit 2 as for a missing argument
        parser.print_help()
        return 2
    if args.command == "check":
        return check(args.name, args.backend)
    lines, active_ok = _info(args.ops)
    print("\n".join(lines))
    return 0 if active_ok else 1


if __name__ == "__main__":
    sys.exit(main())
