"""Which scheduler computes: a real `dask scheduler` and `dask worker` started here and reached
through MINIDIFF_DASK_SCHEDULER, the active client, the config file, and the errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import dask.array as da
import numpy as np
import pytest

import minidiff as md
from minidiff.config import ConfigWarning
from minidiff_dask import scheduler, scheduler_address
from minidiff_dask.settings import ENVIRONMENT_VARIABLE

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "distributed_logreg.py"
DASK = Path(sys.executable).with_name("dask")  # the `dask` command of this environment


@pytest.fixture(autouse=True)
def _no_configured_scheduler(monkeypatch):
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    yield
    scheduler.disconnect()
    md.reload_config()


@pytest.fixture
def cluster(tmp_path):
    """A `dask scheduler` on a free port of localhost and one `dask worker` process, both
    stopped afterwards; yields the scheduler's address."""
    info = tmp_path / "scheduler.json"
    common = ["--no-dashboard"]
    started = [subprocess.Popen(
        [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(info), *common],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() or not info.read_text().strip():
            assert time.monotonic() < deadline, "dask scheduler did not start in 60 s"
            assert started[0].poll() is None, "dask scheduler exited"
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        started.append(subprocess.Popen(
            [str(DASK), "worker", address, "--nthreads", "1", "--no-nanny", "--memory-limit", "0",
             "--local-directory", str(tmp_path), *common],
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
        from distributed import Client

        with Client(address, set_as_default=False, timeout="30s") as probe:
            probe.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for process in reversed(started):
            process.terminate()
        for process in reversed(started):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _pid_where_computed() -> int:
    """The id of the process that computes a one-element dask array through minidiff."""
    data = da.zeros(1, dtype=np.int64).map_blocks(lambda block: block + os.getpid(), dtype=np.int64)
    (value,) = md.compute(md.Tensor(data, backend="dask"))
    return int(value[0])


def test_a_running_scheduler_computes_through_the_environment_variable(cluster, monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, cluster)
    assert scheduler.describe() == f"the scheduler at {cluster} (set by {ENVIRONMENT_VARIABLE} environment variable)"
    assert _pid_where_computed() != os.getpid()  # a worker process computed it
    x = md.Tensor(np.arange(6.0), allow_grad=True, backend="dask")
    loss = md.sum(md.sin(x) * x)
    loss.backward()
    value, gradient = md.compute(loss, x.grad)
    np.testing.assert_allclose(gradient, np.sin(np.arange(6.0)) + np.arange(6.0) * np.cos(np.arange(6.0)))
    # the example on the same cluster: no LocalCluster, the configured scheduler
    environment = {**os.environ, ENVIRONMENT_VARIABLE: cluster}
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--rows", "12000", "--chunk-rows", "3000", "--steps", "3"],
        capture_output=True, text=True, timeout=300, env=environment,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"computed on the scheduler at {cluster}" in done.stdout, done.stdout
    assert re.search(r"check on 12000 rows: .* \(agree\)", done.stdout), done.stdout


def test_the_active_client_wins_over_the_configured_scheduler(monkeypatch):
    from distributed import Client, LocalCluster

    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "tcp://127.0.0.1:9")  # nothing listens there: never reached
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as local:
        with Client(local) as client:
            assert scheduler.active_scheduler() is client
            assert scheduler.describe().startswith("the active distributed client of")
            assert md.Tensor([1.0, 2.0], backend="dask").sum().item() == 3.0


def test_without_a_client_or_a_setting_dasks_threads_compute():
    assert scheduler.active_scheduler() is None
    assert scheduler.describe() == "Dask's default scheduler (threads in this process)"
    assert _pid_where_computed() == os.getpid()


def test_an_unreachable_scheduler_is_an_error_naming_it_and_where_it_was_set(monkeypatch):
    monkeypatch.setattr(scheduler, "CONNECT_TIMEOUT", "1s")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "tcp://127.0.0.1:9")
    with pytest.raises(ConnectionError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9 \(set by MINIDIFF_DASK"):
        md.Tensor([1.0], backend="dask").numpy()


def test_the_project_file_names_the_scheduler(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.minidiff]\nbackend = "dask"\n\n[tool.minidiff.dask]\nscheduler = "tcp://10.1.2.3:8786"\n'
    )
    monkeypatch.chdir(tmp_path)
    md.reload_config()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConfigWarning)  # a backend's table is not an unknown key
        assert md.get_backend().name == "dask"
        assert scheduler_address() == ("tcp://10.1.2.3:8786", f"[tool.minidiff.dask] of {tmp_path / 'pyproject.toml'}")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "tcp://10.9.9.9:8786")  # the environment wins
    assert scheduler_address() == ("tcp://10.9.9.9:8786", f"{ENVIRONMENT_VARIABLE} environment variable")


def test_settings_that_are_not_an_address_or_a_table_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "minidiff.toml").write_text("[dask]\nscheduler = 8786\n")
    md.reload_config()
    with pytest.raises(ValueError, match=r"scheduler in the dask settings of \[dask\] of .*minidiff.toml must be an address"):
        scheduler_address()
    (tmp_path / "minidiff.toml").write_text('dask = "tcp://10.1.2.3:8786"\n')
    md.reload_config()
    with pytest.raises(ValueError, match="dask in .*minidiff.toml must be a table of 'dask' backend settings"):
        scheduler_address()
    with pytest.warns(ConfigWarning, match="unknown key 'dask'"):
        md.get_backend()
