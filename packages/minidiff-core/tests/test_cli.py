"""The `minidiff` command line: help and version, `info` that tells the truth about the
active backend and the plugins, and `check` that validates before it runs, expects what a
plugin declares, says how far off a forward is, and runs isolated from its temporary folder.

Plugins are real (if tiny) distributions installed into a temporary folder as `*.dist-info`
metadata with a `minidiff` entry point; each command runs in a subprocess with that folder
on its path, so entry-point discovery is the real one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from minidiff.cli import main

PACKS = {
    # `nudged` is 2x + 0.001 against NumPy's 2x: a forward error of exactly 1e-3
    "gappack": """
        from minidiff.extend import Op, hookimpl, sample

        EXPECTED_FAILURES = {"test_forward[nudged-0]": "off by 1e-3 on purpose"}

        @hookimpl
        def minidiff_register_ops(registry):
            registry.add_op(Op("nudged", lambda xp, x: 2 * x + 1e-3, vjp=(lambda g, ans, x: 2 * g,),
                               samples=(sample((3,)),), reference=lambda x: 2 * x))
    """,
    "offpack": """
        from minidiff.extend import Op, hookimpl, sample

        @hookimpl
        def minidiff_register_ops(registry):
            registry.add_op(Op("nudged2", lambda xp, x: 2 * x + 1e-3, vjp=(lambda g, ans, x: 2 * g,),
                               samples=(sample((3,)),), reference=lambda x: 2 * x))
    """,
    "stalepack": """
        from minidiff.extend import Op, hookimpl, sample

        EXPECTED_FAILURES = {"test_forward[renamed_long_ago-0]": "a key for an op that is gone"}

        @hookimpl
        def minidiff_register_ops(registry):
            registry.add_op(Op("thrice", lambda xp, x: 3 * x, vjp=(lambda g, ans, x: 3 * g,),
                               samples=(sample((3,)),), reference=lambda x: 3 * x))
    """,
    "deadbackend": """
        from minidiff.backend import BackendUnavailable
        from minidiff.extend import hookimpl

        def make():
            raise BackendUnavailable("the device of this backend is missing on purpose")

        @hookimpl
        def minidiff_register_backends(registry):
            registry.add_backend("deadbackend", make, description="never usable")
    """,
}


def _install(site: Path, name: str, source: str) -> None:
    (site / f"{name}_plugin.py").write_text(textwrap.dedent(source))
    dist_info = site / f"{name}-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(f"[minidiff]\n{name} = {name}_plugin\n")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    for name, source in PACKS.items():
        _install(folder, name, source)
    return folder


def _minidiff(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("MINIDIFF_")}
    environment.update(PYTHONPATH=str(site), **env)
    return subprocess.run(
        [sys.executable, "-m", "minidiff", *args], capture_output=True, text=True, env=environment, timeout=300
    )


def _summary(stdout: str, name: str) -> dict[str, int]:
    found = re.search(
        rf"minidiff check {name}: (\d+) ops, (\d+) checks passed, (\d+) failed, (\d+) skipped, (\d+) expected failures",
        stdout,
    )
    assert found, stdout
    return dict(zip(("ops", "passed", "failed", "skipped", "xfailed"), map(int, found.groups())))


# ---------------------------------------------------------------------------- help and version


def test_bare_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out = capsys.readouterr().out
    assert out.startswith("usage: minidiff") and "info" in out and "check" in out and "Exit codes" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import minidiff

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"minidiff {minidiff.__version__}"


# ---------------------------------------------------------------------------- info


def test_info_with_a_backend_that_does_not_exist_says_so_and_fails(site: Path) -> None:
    result = _minidiff(site, "info", MINIDIFF_BACKEND="nonsense")
    assert result.returncode == 1
    at = result.stdout.index("Active backend: nonsense")
    active = result.stdout[at:].splitlines()
    assert "cannot run here" in active[0] and "MINIDIFF_BACKEND" in active[0]
    assert active[1].strip().startswith("why:") and "'numpy'" in active[1]


def test_info_with_an_unusable_active_backend_fails(site: Path) -> None:
    result = _minidiff(site, "info", MINIDIFF_BACKEND="deadbackend")
    assert result.returncode == 1
    assert "missing on purpose" in result.stdout.split("Active backend: deadbackend", 1)[1].splitlines()[1]


def test_info_with_a_usable_backend_exits_0_and_names_the_layer(site: Path) -> None:
    result = _minidiff(site, "info", MINIDIFF_BACKEND="numpy")
    assert result.returncode == 0, result.stdout
    assert "Active backend: numpy (chosen by MINIDIFF_BACKEND" in result.stdout


def test_info_shows_disabled_plugins_and_misspelt_names(site: Path) -> None:
    result = _minidiff(site, "info", MINIDIFF_DISABLE_PLUGINS="gappack, elementwise, nosuchplugin")
    lines = result.stdout.split("Plugins disabled (MINIDIFF_DISABLE_PLUGINS):", 1)[1].splitlines()[1:4]
    assert lines[0].strip() == "gappack (from gappack 0.1)"
    assert lines[1].strip().startswith("elementwise (minidiff.ops.elementwise, built into minidiff-core")
    assert lines[2].strip() == "nosuchplugin (no installed plugin has this name)"
    assert "md.sin " not in _minidiff(site, "info", "--ops", MINIDIFF_DISABLE_PLUGINS="elementwise").stdout


def test_info_ops_lists_every_op_with_its_distribution(site: Path) -> None:
    result = _minidiff(site, "info", "--ops")
    assert result.returncode == 0
    rows = {line.split()[0]: line for line in result.stdout.split("Ops (", 1)[1].splitlines()[1:] if line.strip()}
    assert "minidiff.ops.elementwise (minidiff-core" in rows["md.sin"]
    assert "nudged_plugin" not in rows["md.nudged"] and "gappack (gappack 0.1)" in rows["md.nudged"]
    assert "linalg (minidiff-ops-linalg" in rows["md.linalg.solve"]
    assert "getitem" in rows and "(internal)" in rows["getitem"]
    count = int(re.search(r"Ops \((\d+);", result.stdout).group(1))
    assert count == len(rows)


# ---------------------------------------------------------------------------- check: validation


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("check", "deadbackend"), "cannot check backend 'deadbackend': "),
        (("check", "gappack", "--backend", "nonsense"), "unknown minidiff backend 'nonsense'"),
        (("check", "gappack", "--backend", "deadbackend"), "cannot check backend 'deadbackend': "),
        (("check", "numpy", "--backend", "deadbackend"), "--backend applies to op packs; 'numpy' is a backend"),
        (("check", "nosuchpack"), "no minidiff plugin named 'nosuchpack'"),
    ],
    ids=["unusable backend", "unknown --backend", "unusable --backend", "ignored --backend", "unknown pack"],
)
def test_check_refuses_before_running_with_one_line(site: Path, args: tuple[str, ...], says: str) -> None:
    result = _minidiff(site, *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("minidiff check: ") and says in result.stderr


# ---------------------------------------------------------------------------- check: declarations


def test_check_expects_the_failures_a_pack_declares(site: Path) -> None:
    result = _minidiff(site, "check", "gappack", "--backend", "numpy")
    assert result.returncode == 0, result.stdout + result.stderr
    counts = _summary(result.stdout, "gappack")
    assert counts["failed"] == 0 and counts["xfailed"] == 1 and counts["passed"] > 0


def test_a_forward_failure_gives_the_size_of_the_error(site: Path) -> None:
    result = _minidiff(site, "check", "offpack", "--backend", "numpy")
    assert result.returncode == 1
    assert _summary(result.stdout, "offpack")["failed"] == 1
    line = next(line for line in result.stdout.splitlines() if "FAILED" in line)
    assert line.strip().startswith("FAILED forward on nudged2-0-numpy: AssertionError: nudged2 forward: 3 of 3 elements")
    assert "max abs error 0.001," in line and "tolerance rtol=1e-06, atol=1e-12" in line


def test_a_stale_declaration_fails_the_check(site: Path) -> None:
    result = _minidiff(site, "check", "stalepack", "--backend", "numpy")
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and "declared_expected_failures_name_real_cases" in failed[0]
    assert "renamed_long_ago" in failed[0]


# ---------------------------------------------------------------------------- check: isolation


def test_check_ignores_config_and_conftest_in_the_temporary_folder(site: Path, tmp_path: Path) -> None:
    # Anyone may write to the system's temporary folder: a conftest.py or pytest.ini there
    # must not be read by the pytest run `minidiff check` makes in a folder below it.
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    marker = tmp_path / "conftest-ran"
    (shared / "conftest.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (shared / "pytest.ini").write_text("[pytest]\naddopts = --an-option-that-does-not-exist\n")
    (shared / "pyproject.toml").write_text("[tool.pytest.ini_options]\naddopts = '-x --another-bad-option'\n")
    result = _minidiff(site, "check", "gappack", "--backend", "numpy", TMPDIR=str(shared))
    assert not marker.exists(), "minidiff check ran a conftest.py from its temporary folder's parent"
    assert result.returncode == 0, result.stdout + result.stderr
    assert _summary(result.stdout, "gappack")["passed"] > 0
