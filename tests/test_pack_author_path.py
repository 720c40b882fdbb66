"""What docs/writing-an-op-pack.md promises a pack author beyond the basics, tested:

- per-operand sample domains and inputs pinned at exact points (`xlogy` with y > 0 and
  x = 0), a multi-output op (`sincos`), both in a pack the kit passes, while the same op
  with one shared domain fails;
- per-sample tolerances (`Tolerance`) that the kit honours for the forward and gradients;
- going past second order with `first_order_gradient` and `gradgradcheck`;
- `minidiff check PACK` checking the kernels a pack ships for another plugin's op, on the
  kernel's backend: a wrong kernel for `sin` on NumPy fails naming `sin`, a right one passes.

Fake packs are installed as `*.dist-info` metadata with a `minidiff` entry point in a
temporary folder put on PYTHONPATH, and run in a subprocess so that entry-point discovery
is the real one (as in tests/test_kit_catches_bugs.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import minidiff as md
from minidiff.extend import Op, Tolerance, sample
from minidiff.testing import GradcheckError, check_forward, check_gradients, gradgradcheck, materialize
from minidiff.testing.gradcheck import first_order_gradient
from minidiff.validation import check_op

# The guide's snippets for per-operand domains, pinned points and multi-output ops.
GUIDE_PACK = '''
import numpy as np

import minidiff as md
from minidiff.extend import Op, PluginRegistry, hookimpl, sample

POSITIVE_Y = ((-2.0, 2.0), (0.1, 3.0))  # x anywhere, y > 0 where log(y) is defined


def _xlogy_forward(xp, x, y):
    # x * log(y), and 0 where x == 0 even if log(y) is -inf. x may be a Python float.
    return xp.where(x == 0, 0.0, x * xp.log(y))


xlogy = Op(
    "xlogy",
    forward=_xlogy_forward,
    vjp=(lambda g, ans, x, y: g * md.log(y), lambda g, ans, x, y: g * x / y),
    nargs=2,
    samples=(
        sample((3, 4), (3, 4), domain=POSITIVE_Y),
        sample((3, 1), (4,), domain=POSITIVE_Y),
        sample((2, 3), (), domain=POSITIVE_Y),
        # x pinned at exactly 0, and differentiated there: d/dx = log(y), d/dy = x / y = 0
        sample(np.array([0.0, 0.0, 0.0, 1.5]), np.array([0.5, 1e-3, 2.0, 2.0])),
        # a Python float operand is passed to the forward as it is, and not differentiated
        sample(0.0, (4,), domain=(None, (0.1, 3.0))),
    ),
    reference=lambda x, y: np.multiply(x, np.log(y)),
)

sincos = Op(
    "sincos",
    forward=lambda xp, x: (xp.sin(x), xp.cos(x)),
    # one rule per operand; gs[k] is the cotangent of output k, ans[k] output k
    vjp=(lambda gs, ans, x: gs[0] * ans[1] - gs[1] * ans[0],),
    nout=2,
    samples=(sample((3, 4)), sample(())),
    reference=lambda x: (np.sin(x), np.cos(x)),
)


@hookimpl
def minidiff_register_ops(registry: PluginRegistry) -> None:
    registry.add_op(xlogy)
    registry.add_op(sincos)
'''

# The same xlogy, but with one domain for both operands: y is drawn negative too.
SHARED_DOMAIN_PACK = GUIDE_PACK.replace("POSITIVE_Y = ((-2.0, 2.0), (0.1, 3.0))", "POSITIVE_Y = (-2.0, 2.0)")

KERNEL_PACK = '''
from minidiff.extend import PluginRegistry, hookimpl


def _sin(xp, x):
    return {body}


@hookimpl
def minidiff_register_kernels(registry: PluginRegistry) -> None:
    registry.add_kernel("sin", "numpy", _sin)
'''


def _site(folder: Path, name: str, module: str) -> Path:
    """`folder` made into a site where plugin `name` (module `module`) is installed."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}_plugin.py").write_text(textwrap.dedent(module))
    dist_info = folder / f"{name}-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(f"[minidiff]\n{name} = {name}_plugin\n")
    return folder


def _check(site: Path, name: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MINIDIFF_")}
    environment["PYTHONPATH"] = str(site)
    return subprocess.run(
        [sys.executable, "-m", "minidiff", "check", name, "--backend", "numpy"],
        capture_output=True, text=True, env=environment, timeout=300, cwd=site,
    )


def _summary(stdout: str, name: str) -> tuple[int, int, int]:
    match = re.search(rf"minidiff check {name}: (\d+) ops(?:, \d+ kernels[^,]*)?, (\d+) checks passed, (\d+) failed", stdout)
    assert match, stdout
    ops, passed, failed = map(int, match.groups())
    return ops, passed, failed


def _failed(stdout: str) -> set[tuple[str, str]]:
    """(check, case) of each `FAILED <check> on <case>: ...` line."""
    return set(re.findall(r"^\s*FAILED (\w+) on (\S+):", stdout, re.MULTILINE))


# ---------------------------------------------------------------------------- domains, pinned points, nout


@pytest.fixture(scope="module")
def guide_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    return _check(_site(tmp_path_factory.mktemp("guide"), "guidepack", GUIDE_PACK), "guidepack")


def test_per_operand_domains_pinned_points_and_multi_output_pass_the_kit(
    guide_run: subprocess.CompletedProcess[str],
) -> None:
    assert guide_run.returncode == 0, guide_run.stdout + guide_run.stderr
    ops, passed, failed = _summary(guide_run.stdout, "guidepack")
    assert (ops, failed) == (2, 0) and passed >= 20, guide_run.stdout


def test_one_shared_domain_puts_y_where_log_is_undefined_and_fails(tmp_path: Path) -> None:
    # The control for the test above: the per-operand domain is what makes the pack pass.
    result = _check(_site(tmp_path, "shareddomain", SHARED_DOMAIN_PACK), "shareddomain")
    assert result.returncode == 1, result.stdout + result.stderr
    failed = _failed(result.stdout)
    # (the forward is NaN where y < 0 in NumPy's reference too, so it is the gradients that fail)
    assert ("first_order", "xlogy-0-numpy") in failed and ("broadcasting", "xlogy-1-numpy") in failed, result.stdout
    # the pinned sample (4) and the sample with its own domain for y (5) pass either way
    assert not {case for _, case in failed} & {"xlogy-3-numpy", "xlogy-4-numpy"}, result.stdout


def test_materialize_draws_each_operand_from_its_own_domain() -> None:
    op = Op("demo", "add", nargs=2, samples=())
    s = sample((50,), (50,), np.array([0.0, 1.0]), 3, domain=((-3.0, -2.0), (5.0, 6.0), None, None))
    x, y, pinned, count = materialize(op, s, np.random.default_rng(0))
    assert x.min() >= -3.0 and x.max() <= -2.0
    assert y.min() >= 5.0 and y.max() <= 6.0
    assert pinned is s.args[2] and count == 3  # concrete values are passed as they are
    assert s.domain_of(1) == (5.0, 6.0)
    assert sample((2,), domain=(0.5, 1.0)).domain_of(0) == (0.5, 1.0)


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        (((-1.0, 1.0),), r"one \(low, high\) per argument \(2 here"),
        (((-1.0, 1.0), None), r"domain\[1\] is None, but argument 1 is a shape"),
        (((-1.0, 1.0), (2.0, 1.0)), r"domain\[1\] must be \(low, high\) with low < high"),
        ((1.0, -1.0), r"domain must be \(low, high\) with low < high"),
    ],
)
def test_add_op_rejects_a_malformed_per_operand_domain(domain: tuple, message: str) -> None:
    op = Op("demo", "add", vjp=(None, None), nargs=2, samples=(sample((3,), (3,), domain=domain),))
    with pytest.raises(ValueError, match=message):
        check_op(op, "testplugin")


def test_add_op_rejects_a_tolerance_that_is_not_one() -> None:
    op = Op("demo", "sin", vjp=(None,), samples=(sample((3,), tolerance=Tolerance(eps=0.0)),))
    with pytest.raises(ValueError, match=r"tolerance\.eps must be positive"):
        check_op(op, "testplugin")


# ---------------------------------------------------------------------------- tolerances


def test_the_forward_tolerance_of_a_sample_is_honoured() -> None:
    # md.sin against a reference 1e-5 off (relative): outside the default rtol of 1e-6
    sin = Op("sin", "sin", reference=lambda x: np.sin(x) * (1 + 1e-5), samples=())
    rng = np.random.default_rng(0)
    with pytest.raises(AssertionError, match=r"tolerance rtol=1e-06"):
        check_forward(sin, sample((3, 4)), rng)
    check_forward(sin, sample((3, 4), tolerance=Tolerance(forward_rtol=1e-4)), rng)


def test_the_gradient_tolerance_and_step_of_a_sample_are_honoured() -> None:
    # A step of 0.05 gives central differences an error of about eps**2 / 6 * |cos| ~ 4e-4.
    sin = Op("sin", "sin", vjp=(lambda g, ans, x: g * md.cos(x),), samples=())
    coarse = Tolerance(eps=0.05)
    with pytest.raises(GradcheckError, match=r"atol=1e-06"):
        check_gradients(sin, sample((3, 4), tolerance=coarse), np.random.default_rng(0), order=1)
    loose = Tolerance(eps=0.05, grad_atol=1e-2, grad_rtol=1e-2)
    check_gradients(sin, sample((3, 4), tolerance=loose), np.random.default_rng(0), order=1)


# ---------------------------------------------------------------------------- past second order


def _sin_with_a_cut_third_derivative() -> md.custom_vjp:
    """sin whose first and second derivatives are right, but whose second derivative's rule
    leaves the graph, so the third derivative is wrong (0 instead of -cos)."""

    @md.custom_vjp
    def cos(x):  # type: ignore[no-untyped-def]
        return md.cos(x)

    cos.defvjp(lambda x: (cos(x), x), lambda x, g: (-g * md.Tensor(md.sin(x).numpy()),))

    @md.custom_vjp
    def sin(x):  # type: ignore[no-untyped-def]
        return md.sin(x)

    sin.defvjp(lambda x: (sin(x), x), lambda x, g: (g * cos(x),))
    return sin


def test_third_order_is_checked_by_nesting_first_order_gradient() -> None:
    x = np.array([0.3, -1.1, 2.0])
    assert gradgradcheck(first_order_gradient(md.sin), x)  # the guide's third-order check
    cut = _sin_with_a_cut_third_derivative()
    assert gradgradcheck(cut, x)  # second order is right
    with pytest.raises(GradcheckError):
        gradgradcheck(first_order_gradient(cut), x)


# ---------------------------------------------------------------------------- kernels for other plugins' ops


@pytest.fixture(scope="module")
def wrong_kernel_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    module = KERNEL_PACK.format(body="xp.sin(1.001 * x)  # wrong on purpose")
    return _check(_site(tmp_path_factory.mktemp("wrongkernel"), "wrongkernel", module), "wrongkernel")


def test_check_fails_a_pack_whose_kernel_for_another_plugins_op_is_wrong(
    wrong_kernel_run: subprocess.CompletedProcess[str],
) -> None:
    assert wrong_kernel_run.returncode == 1, wrong_kernel_run.stdout + wrong_kernel_run.stderr
    assert "0 ops, 1 kernels for other plugins' ops" in wrong_kernel_run.stdout
    failed = _failed(wrong_kernel_run.stdout)
    assert ("forward", "sin-0-numpy") in failed and ("first_order", "sin-0-numpy") in failed, wrong_kernel_run.stdout
    assert all(case.startswith("sin-") and case.endswith("-numpy") for _, case in failed), wrong_kernel_run.stdout


def test_check_passes_a_pack_whose_kernel_for_another_plugins_op_is_right(tmp_path: Path) -> None:
    result = _check(_site(tmp_path, "rightkernel", KERNEL_PACK.format(body="xp.sin(x)")), "rightkernel")
    assert result.returncode == 0, result.stdout + result.stderr
    ops, passed, failed = _summary(result.stdout, "rightkernel")
    sin_samples = len(md.sin.op.samples)
    # forward, first and second order, no_grad and float32 on each of sin's samples, and the suite-wide checks
    assert (ops, failed) == (0, 0) and passed >= 5 * sin_samples, result.stdout
