"""Base test classes that a backend or an op pack subclasses to run the conformance kit.

In an op pack's tests::

    from minidiff.testing import OpPackSuite

    class TestMyOps(OpPackSuite):
        op_pack = "myops"          # the entry-point name in the `minidiff` group

pytest then runs every check of `minidiff.testing.cases` on every op the pack registers,
on every sample it declares, on every usable backend (or those given with
``--minidiff-backend``). Known gaps are declared by the pack or backend itself, in its
plugin module's `EXPECTED_FAILURES` (`minidiff.testing.expected`), so that these tests and
`minidiff check` agree; a suite's `expected_failures` adds local ones. pytest is imported
only when a suite is collected.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any, ClassVar

import numpy as np

import minidiff as md
from minidiff import plugins
from minidiff.extend import Op
from minidiff.testing.cases import CHECKS, Case

__all__ = ["BackendSuite", "OpPackSuite", "pack_kernels", "pack_ops", "selected_backends"]


def _plugin_names(op_pack: str) -> set[str]:
    """The plugin names `op_pack` may stand for (`elementwise` is `minidiff.ops.elementwise`).
    Raises if no such plugin is installed, or if it failed to load."""
    plugins.load()
    names = {op_pack, f"minidiff.ops.{op_pack}"}
    for info in plugins.state().plugins:
        if info.name in names and info.error:
            raise RuntimeError(f"op pack {info.name!r} failed to load: {info.error}")
    if not any(info.name in names for info in plugins.state().plugins):
        known = ", ".join(sorted(info.name for info in plugins.state().plugins))
        raise LookupError(f"no minidiff plugin named {op_pack!r} is installed; installed plugins: {known}")
    return names


def pack_ops(op_pack: str) -> list[Op]:
    """The ops a plugin registered (by entry-point name, or a built-in family such as
    `elementwise` or `minidiff.ops.elementwise`). Raises if the plugin failed to load."""
    names = _plugin_names(op_pack)
    return [entry.value for entry in plugins.load().ops.values() if entry.plugin in names]


def pack_kernels(op_pack: str) -> list[tuple[Op, str]]:
    """`(op, backend)` for each kernel the plugin registered (`add_kernel`) for an op of
    another plugin, and which is in effect: the kit checks that op on that backend, where
    its forward is the kernel. (Kernels for the pack's own ops are checked with its ops;
    one for an op no installed plugin registers is never called, so it is not listed.)"""
    names = _plugin_names(op_pack)
    registry = plugins.load()
    found = []
    for (qualname, backend), entry in registry.kernels.items():
        op_entry = registry.ops.get(qualname)
        if entry.plugin in names and op_entry is not None and op_entry.plugin not in names:
            found.append((op_entry.value, backend))
    return found


def selected_backends(config: Any = None) -> list[str]:
    """Backends to test on: `--minidiff-backend` choices, else every usable backend."""
    chosen = config.getoption("minidiff_backend", default=None) if config is not None else None
    return list(chosen) if chosen else md.available_backends()


class _Suite:
    expected_failures: ClassVar[dict[str, str]] = {}

    def _params(self, check: str, cases: list[Case]) -> list[Any]:
        import pytest

        applies, _ = CHECKS[check]
        params = []
        for case in cases:
            if not applies(case):
                continue
            reason = self._expected(f"test_{check}", case)
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            params.append(pytest.param(case, id=case.id, marks=marks))
        return params

    def _expected(self, test: str, case: Case) -> str | None:
        # A key may name one backend (`...[sin-0-numpy]`) or all of them (`...[sin-0]`). The
        # plugins' own declarations (`minidiff.testing.expected`) come first: they are what
        # `minidiff check` uses too; `expected_failures` adds a suite's local ones.
        from minidiff.testing.expected import expected_failure

        declared = expected_failure(test.removeprefix("test_"), case)
        if declared:
            return declared
        for key in (f"{test}[{case.id}]", f"{test}[{case.op.qualname}-{case.index}]"):
            if key in self.expected_failures:
                return self.expected_failures[key]
        return None

    def _cases(self, config: Any) -> list[Case]:
        raise NotImplementedError

    def pytest_generate_tests(self, metafunc: Any) -> None:
        if "case" not in metafunc.fixturenames:
            return
        check = metafunc.function.__name__.removeprefix("test_")
        metafunc.parametrize("case", self._params(check, self._cases(metafunc.config)))

    def test_forward(self, case: Case) -> None:
        CHECKS["forward"][1](case)

    def test_first_order(self, case: Case) -> None:
        CHECKS["first_order"][1](case)

    def test_second_order(self, case: Case) -> None:
        CHECKS["second_order"][1](case)

    def test_broadcasting(self, case: Case) -> None:
        CHECKS["broadcasting"][1](case)

    def test_same_operand(self, case: Case) -> None:
        CHECKS["same_operand"][1](case)

    def test_no_grad(self, case: Case) -> None:
        CHECKS["no_grad"][1](case)

    def test_float32(self, case: Case) -> None:
        CHECKS["float32"][1](case)

    def test_refuses_gradients(self, case: Case) -> None:
        CHECKS["refuses_gradients"][1](case)

    def test_batching(self, case: Case) -> None:
        CHECKS["batching"][1](case)

    def test_inplace(self, case: Case) -> None:
        CHECKS["inplace"][1](case)

    def test_complex_first_order(self, case: Case) -> None:
        CHECKS["complex_first_order"][1](case)

    def test_complex_second_order(self, case: Case) -> None:
        CHECKS["complex_second_order"][1](case)


class OpPackSuite(_Suite):
    """Every check on every op of `op_pack`, on every sample and every usable backend."""

    op_pack: ClassVar[str] = ""

    def _cases(self, config: Any) -> list[Case]:
        if not self.op_pack:
            return []
        backends = selected_backends(config)
        own = [
            Case(op, index, s, backend)
            for op in pack_ops(self.op_pack)
            for index, s in enumerate(op.samples)
            for backend in backends
        ]
        # The pack's kernels for other plugins' ops: those ops, on the kernel's backend only.
        kernels = [
            Case(op, index, s, backend)
            for op, backend in pack_kernels(self.op_pack)
            if backend in backends
            for index, s in enumerate(op.samples)
        ]
        return own + kernels

    def test_pack_registers_ops(self) -> None:
        assert self.op_pack, f"{type(self).__name__} must set `op_pack` to the pack's entry-point name"
        assert pack_ops(self.op_pack) or pack_kernels(self.op_pack), (
            f"op pack {self.op_pack!r} registers no ops and no kernels"
        )

    def test_declared_expected_failures_name_real_cases(self) -> None:
        ops = pack_ops(self.op_pack) + [op for op, _ in pack_kernels(self.op_pack)]
        names = {self.op_pack, f"minidiff.ops.{self.op_pack}"}
        plugin = next(info.name for info in plugins.state().plugins if info.name in names)
        _check_declaration(plugin, {op.qualname: op for op in ops})

    def test_every_op_declares_samples(self) -> None:
        missing = [op.qualname for op in pack_ops(self.op_pack) if not op.samples]
        assert not missing, f"ops without samples cannot be checked: {missing}"


class BackendSuite(_Suite):
    """Creation, host round trips, scatter-add, lazy import, and every registered op on `backend`.

    Set `array_module` to the module your plugin must not import until the backend is used.
    """

    backend: ClassVar[str] = ""
    array_module: ClassVar[str] = ""

    def _cases(self, config: Any) -> list[Case]:
        registry = plugins.load()
        return [
            Case(entry.value, index, s, self.backend)
            for entry in registry.ops.values()
            for index, s in enumerate(entry.value.samples)
        ]

    def test_declared_expected_failures_name_real_cases(self) -> None:
        registry = plugins.load()
        _check_declaration(registry.backends[self.backend].plugin, {q: e.value for q, e in registry.ops.items()})

    def test_backend_is_usable(self) -> None:
        assert self.backend, f"{type(self).__name__} must set `backend`"
        assert md.get_backend(self.backend).name == self.backend

    def test_creation_and_dtypes(self) -> None:
        b = md.get_backend(self.backend)
        floats = [np.float32, np.float64] if b.supports_float64 else [np.float32]
        for dtype in (*floats, np.int32, np.int64, np.bool_):
            t = md.zeros((2, 3), dtype=dtype, backend=self.backend)
            assert t.backend is b and t.shape == (2, 3) and t.dtype == dtype
        assert md.ones(3, backend=self.backend).dtype == b.default_float
        assert md.Tensor([1, 2], backend=self.backend).dtype.kind == "i"

    def test_host_round_trip(self) -> None:
        host = np.arange(6, dtype=np.float32).reshape(2, 3)
        t = md.Tensor(host, backend=self.backend)
        back = t.numpy()
        assert isinstance(back, np.ndarray) and back.dtype == np.float32
        np.testing.assert_array_equal(back, host)
        there_and_back = t.to("numpy").to(self.backend)
        np.testing.assert_array_equal(there_and_back.numpy(), host)
        assert there_and_back.dtype == np.float32

    def test_scatter_add_accumulates_repeated_indices(self) -> None:
        b = md.get_backend(self.backend)
        target = b.from_host(np.zeros(4, dtype=np.float32))
        b.scatter_add(target, b.from_host(np.array([0, 0, 3, 0])), b.from_host(np.array([1, 2, 3, 4], dtype=np.float32)))
        np.testing.assert_array_equal(b.to_host(target), [7.0, 0.0, 0.0, 3.0])

    def test_plugin_import_does_not_import_the_array_library(self) -> None:
        import pytest

        entry = plugins.load().backends[self.backend]
        if not self.array_module or self.array_module in ("numpy",):
            pytest.skip(f"{self.array_module or 'no array module'} is imported by minidiff itself")
        code = (
            "import importlib, sys; "
            f"importlib.import_module({entry.factory.__module__!r}); "
            f"sys.exit(1 if {self.array_module!r} in sys.modules else 0)"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"importing {entry.factory.__module__} imported {self.array_module}"


def _check_declaration(plugin: str, ops: dict[str, Op]) -> None:
    """Every key of the plugin's `EXPECTED_FAILURES` names a check, an op it covers and one of
    that op's samples: a stale key (an op renamed, a sample removed) would hide nothing."""
    from minidiff.testing.expected import declared, parse_key

    for key in declared(plugin):
        check, qualname, index, _ = parse_key(key)
        assert check in CHECKS, f"{plugin}: expected failure {key!r} names no check; checks: {sorted(CHECKS)}"
        op = ops.get(qualname)
        assert op is not None, f"{plugin}: expected failure {key!r} names op {qualname!r}, which it does not cover"
        assert index < len(op.samples), f"{plugin}: expected failure {key!r}: {qualname} has {len(op.samples)} samples"
