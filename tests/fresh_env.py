"""What the tests that build a fresh virtual environment share: an environment that does not
leak the workspace into it, and pip failures told apart from an unreachable package index."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

# What pip says when it cannot reach an index (as opposed to a broken distribution).
NO_INDEX = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Temporary failure in name resolution|"
    r"Name or service not known|Network is unreachable|ConnectTimeoutError|ReadTimeoutError|ProxyError|"
    r"SSLError|connection broken by|No route to host"
)


def clean_environment() -> dict[str, str]:
    """The caller's environment without what would leak the workspace's installs or
    configuration into the fresh one (pip's own configuration stays: local indexes)."""
    leaks = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PIP_REQUIRE_VIRTUALENV")
    return {k: v for k, v in os.environ.items() if k not in leaks and not k.startswith("MINIDIFF_")}


def check_pip(result: subprocess.CompletedProcess[str], what: str) -> None:
    """Fail the test on a failed pip `what`, or skip it, with pip's words, when pip could not
    reach a package index at all."""
    if result.returncode == 0:
        return
    output = result.stderr + result.stdout
    if NO_INDEX.search(output):
        lines = [line.strip() for line in output.splitlines()]
        network = next(line for line in lines if NO_INDEX.search(line))
        errors = [line for line in lines if line.startswith("ERROR")]
        pytest.skip(f"pip cannot reach a package index: {' | '.join([network, *errors])[:800]}")
    pytest.fail(f"pip {what} failed (exit {result.returncode}):\n{output}", pytrace=False)
