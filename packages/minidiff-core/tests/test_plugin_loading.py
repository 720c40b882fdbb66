"""Loading plugins is atomic: threads that start at once all see every op, a backend is built
once, and an interrupted load (Ctrl-C anywhere in it) is retried cleanly by the next use.

Each scenario needs a process in which nothing has loaded yet, so it runs in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

HEADER = "from minidiff.extend import Op, hookimpl, sample\nimport minidiff as md\n"


def install(site: Path, name: str, source: str) -> None:
    (site / f"{name}_plugin.py").write_text(textwrap.dedent(source))
    dist_info = site / f"{name}-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(f"[minidiff]\n{name} = {name}_plugin\n")


def run(site: Path, code: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MINIDIFF_")}
    environment["PYTHONPATH"] = str(site)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=environment, timeout=120
    )


# A backend whose factory is slow and counts its calls: two threads that both miss the cache
# would build two different backend objects (and then "operands live on different backends").
SLOW_BACKEND = HEADER + """
import time
from minidiff_numpy.backend import NumpyBackend

calls = []

class Slow(NumpyBackend):
    name = "slow"

def make():
    calls.append(1)
    time.sleep(0.2)
    return Slow()

@hookimpl
def minidiff_register_backends(registry):
    registry.add_backend("slow", make)
"""

COLD_START = """
import threading, time
import minidiff as md
from minidiff import plugins
import slow_plugin

# Half the threads start together (whoever gets there first loads); the other half start
# while that load is binding ops, which is made to take 0.3 s: a load that published its
# state before binding every op would show them a minidiff without `sin`.
binding = threading.Event()

def slow_binding(registry):
    binding.set()
    time.sleep(0.3)

plugins._on_loaded.insert(0, slow_binding)

THREADS = 16
barrier = threading.Barrier(THREADS // 2)
errors, backends, values = [], [], []

def work(index):
    try:
        if index % 2:
            assert binding.wait(30)
        else:
            barrier.wait()
        if index % 4 < 2:
            values.append(md.sin(md.zeros(2)).sum().item())  # first use through an op
        else:
            values.append(float(md.Tensor([0.0]).sum().item()))  # first use through a tensor
        t = md.ones(2, backend="slow")
        backends.append(t.backend)
        (t + md.ones(2, backend="slow")).sum().item()  # operands from two threads' lookups
    except BaseException as exc:
        errors.append(f"{type(exc).__name__}: {exc}")

threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("errors:", sorted(set(errors)))
print("factory calls:", len(slow_plugin.calls))
print("backend objects:", len({id(b) for b in backends}))
print("values:", sorted(set(values)))
"""


def test_cold_start_from_many_threads(tmp_path: Path) -> None:
    install(tmp_path, "slow", SLOW_BACKEND)
    result = run(tmp_path, COLD_START)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == ["errors: []", "factory calls: 1", "backend objects: 1", "values: [0.0]"], result.stdout


INTERRUPTING = HEADER + """
interrupted = []

@hookimpl
def minidiff_register_ops(registry):
    registry.add_op(Op("after_interrupt", "negative", vjp=(lambda g, ans, x: -g,), samples=(sample((2,)),)))
    if not interrupted:
        interrupted.append(1)
        raise KeyboardInterrupt  # Ctrl-C while this hook runs, the first time only
"""

INTERRUPTED = """
import minidiff as md
from minidiff import dispatch, plugins
from minidiff.optable import functions

def interrupt(what, loading=True):
    try:
        what()
    except KeyboardInterrupt:
        print("interrupted")
    if loading:
        assert plugins._state is None, "an interrupted load published its state"

# 1. Ctrl-C in a plugin's hook
interrupt(lambda: md.sin)

# 2. Ctrl-C half-way through binding the ops onto minidiff
real_bind, count = dispatch.bind, [0]
def bind_then_interrupt(op, overrides):
    count[0] += 1
    if count[0] == 40:
        raise KeyboardInterrupt
    return real_bind(op, overrides)
dispatch.bind = bind_then_interrupt
interrupt(lambda: md.Tensor([1.0]))

# 3. Ctrl-C in a backend's factory: nothing is recorded, the next use builds it
import minidiff_numpy.plugin as numpy_plugin
real_make, first = numpy_plugin.make_backend, [True]
def make_then_interrupt():
    if first:
        first.pop()
        raise KeyboardInterrupt
    return real_make()
registry = plugins.load()  # now loads completely
registry.backends["numpy"] = registry.backends["numpy"].__class__(
    "numpy", make_then_interrupt, "numpy", "NumPy arrays on the CPU")
interrupt(lambda: md.get_backend("numpy"), loading=False)
assert "numpy" not in plugins.state().backends and not plugins.state().backend_errors

missing = [q for q, e in registry.ops.items()
           if e.value.public and not hasattr(getattr(md, e.value.namespace) if e.value.namespace else md,
                                             e.value.name)]
unbound = [q for q in registry.ops if q not in functions]
print("missing:", missing, "unbound:", unbound)
x = md.Tensor([0.5, 2.0], allow_grad=True)
md.after_interrupt(md.sin(x)).sum().backward()
print("grad:", [round(v, 6) for v in x.grad.numpy().tolist()])
print("backend:", md.get_backend("numpy").name, plugins.state().backend_errors)
"""


def test_an_interrupted_load_is_retried_cleanly(tmp_path: Path) -> None:
    install(tmp_path, "interrupting", INTERRUPTING)
    result = run(tmp_path, INTERRUPTED)
    assert result.returncode == 0, result.stderr
    import math

    grad = [round(-math.cos(0.5), 6), round(-math.cos(2.0), 6)]
    assert result.stdout.splitlines() == [
        "interrupted",
        "interrupted",
        "interrupted",
        "missing: [] unbound: []",
        f"grad: {grad}",
        "backend: numpy {}",
    ], result.stdout


def test_using_ops_while_registering_fails_that_plugin_only(tmp_path: Path) -> None:
    # a hook that creates a tensor would otherwise start a second, nested load
    source = HEADER + "@hookimpl\ndef minidiff_register_ops(registry):\n    md.zeros(2)\n"
    install(tmp_path, "eager", source)
    code = """
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import minidiff as md
        print(md.sin(md.zeros(1)).item())
    print([str(w.message) for w in caught])
    """
    result = run(tmp_path, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("0.0\n")
    assert "minidiff plugin 'eager'" in result.stdout and "while plugins were loading" in result.stdout
