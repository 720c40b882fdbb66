"""Differentiating through libraries written against the Python Array API standard.

SciPy (with `SCIPY_ARRAY_API=1`) and array-api-extra run their own code on whatever
namespace `x.__array_namespace__()` returns; for a minidiff Tensor that is `minidiff`, so
their functions build a minidiff graph and the result has a gradient. Each case below runs
a real function of the released library (pinned in the root pyproject.toml's
`array-api-libs` extra) on Tensors and checks:

- the result is a Tensor that allows grad (not values silently converted through NumPy),
- its values equal the library's own on NumPy arrays,
- its first and second derivatives agree with finite differences in float64.

docs/array-api-libraries.md lists every function tried, including those that do not work
and why. SciPy reads `SCIPY_ARRAY_API` once, when it is first imported: if something in
this process imported SciPy before this module without it, the cases run in a fresh
interpreter instead (`test_cases_in_a_fresh_process`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, Callable

import numpy as np
import pytest

# SciPy takes the switch at its first import, so it is set before SciPy is imported.
_SCIPY_FLAG_MISSED = "scipy" in sys.modules and os.environ.get("SCIPY_ARRAY_API") != "1"
os.environ["SCIPY_ARRAY_API"] = "1"

_MISSING = "the array-api-libs extra: pip install -e '.[array-api-libs]'"
scipy = pytest.importorskip("scipy", reason=_MISSING)
xpx = pytest.importorskip("array_api_extra", reason=_MISSING)
compat = pytest.importorskip("array_api_compat", reason=_MISSING)

import scipy.fft  # noqa: E402
import scipy.integrate as integrate  # noqa: E402
from scipy.cluster.vq import whiten  # noqa: E402
import scipy.linalg as linalg  # noqa: E402
import scipy.optimize as optimize  # noqa: E402
import scipy.signal as signal  # noqa: E402
import scipy.special as special  # noqa: E402
import scipy.stats as stats  # noqa: E402

import minidiff as md  # noqa: E402
from minidiff.testing import gradcheck, gradgradcheck  # noqa: E402

in_this_process = pytest.mark.skipif(
    _SCIPY_FLAG_MISSED, reason="SciPy was imported without SCIPY_ARRAY_API=1; see test_cases_in_a_fresh_process"
)

# Input makers: each draws one float64 array from the case's seeded generator.
Maker = Callable[[np.random.Generator], np.ndarray]


def normal(*shape: int) -> Maker:
    return lambda rng: rng.standard_normal(shape)


def positive(*shape: int) -> Maker:
    return lambda rng: rng.uniform(0.2, 2.0, shape)


def increasing(n: int) -> Maker:
    return lambda rng: np.cumsum(rng.uniform(0.1, 1.0, n))


def _one_hot_scaled(x: Any) -> Any:
    xp = compat.array_namespace(x)
    return xpx.one_hot(xp.asarray([0, 2, 1]), 3, dtype=x.dtype) * x


#: (name, function, input makers): the function takes arrays of any Array API namespace.
CASES: list[tuple[str, Callable[..., Any], list[Maker]]] = [
    # scipy.special
    ("special.logsumexp", lambda x: special.logsumexp(x), [normal(5)]),
    ("special.logsumexp axis=1", lambda x: special.logsumexp(x, axis=1), [normal(3, 4)]),
    ("special.softmax", lambda x: special.softmax(x, axis=-1), [normal(3, 4)]),
    ("special.rel_entr", lambda x, y: special.rel_entr(x, y), [positive(5), positive(5)]),
    ("special.xlogy", lambda x, y: special.xlogy(x, y), [normal(5), positive(5)]),
    # through md.special, where SciPy looks for a namespace's own special functions
    ("special.erf", lambda x: special.erf(x), [normal(5)]),
    ("special.erfc", lambda x: special.erfc(x), [normal(5)]),
    ("special.expit", lambda x: special.expit(x), [normal(5)]),
    # scipy.stats
    ("stats.moment order=3", lambda x: stats.moment(x, order=3), [normal(8)]),
    ("stats.moment axis=0", lambda x: stats.moment(x, order=2, axis=0), [normal(6, 3)]),
    ("stats.skew", lambda x: stats.skew(x), [normal(8)]),
    ("stats.skew bias=False", lambda x: stats.skew(x, bias=False), [normal(8)]),
    ("stats.kurtosis", lambda x: stats.kurtosis(x), [normal(8)]),
    ("stats.kurtosis fisher=False bias=False", lambda x: stats.kurtosis(x, fisher=False, bias=False), [normal(8)]),
    ("stats.variation", lambda x: stats.variation(x), [positive(8)]),
    ("stats.zmap", lambda x, y: stats.zmap(x, y), [normal(4), normal(8)]),
    ("stats.gmean weights", lambda x, w: stats.gmean(x, weights=w), [positive(8), positive(8)]),
    ("stats.hmean", lambda x: stats.hmean(x), [positive(8)]),
    ("stats.pmean p=2.5", lambda x: stats.pmean(x, 2.5), [positive(8)]),
    ("stats.describe", lambda x: tuple(stats.describe(x))[2:], [normal(8)]),
    ("stats.entropy qk", lambda p, q: stats.entropy(p, q), [positive(6), positive(6)]),
    ("stats.differential_entropy", lambda x: stats.differential_entropy(x), [normal(20)]),
    ("stats.sem", lambda x: stats.sem(x), [normal(8)]),
    ("stats.tmean", lambda x: stats.tmean(x), [normal(8)]),
    ("stats.tvar", lambda x: stats.tvar(x), [normal(8)]),
    ("stats.tstd", lambda x: stats.tstd(x), [normal(8)]),
    ("stats.trim_mean", lambda x: stats.trim_mean(x, 0.1), [normal(10)]),
    ("stats.pearsonr", lambda x, y: stats.pearsonr(x, y).statistic, [normal(8), normal(8)]),
    ("stats.ttest_1samp", lambda x: stats.ttest_1samp(x, 0.0).statistic, [normal(8)]),
    ("stats.ttest_ind", lambda x, y: stats.ttest_ind(x, y).statistic, [normal(8), normal(7)]),
    ("stats.ttest_rel", lambda x, y: stats.ttest_rel(x, y).statistic, [normal(8), normal(8)]),
    ("stats.skewtest", lambda x: stats.skewtest(x).statistic, [normal(10)]),
    ("stats.kurtosistest", lambda x: stats.kurtosistest(x).statistic, [normal(20)]),
    ("stats.jarque_bera", lambda x: stats.jarque_bera(x).statistic, [normal(10)]),
    ("stats.chisquare", lambda x: stats.chisquare(x).statistic, [positive(6)]),
    ("stats.quantile", lambda x: stats.quantile(x, 0.3), [normal(9)]),
    ("stats.power_divergence", lambda x: stats.power_divergence(x, lambda_="log-likelihood").statistic, [positive(6)]),
    ("stats.iqr", lambda x: stats.iqr(x), [normal(9)]),
    ("stats.median_abs_deviation", lambda x: stats.median_abs_deviation(x), [normal(9)]),
    ("stats.circmean", lambda x: stats.circmean(x), [normal(8)]),
    ("stats.circvar", lambda x: stats.circvar(x), [normal(8)]),
    ("stats.circstd", lambda x: stats.circstd(x), [normal(8)]),
    ("stats.bartlett", lambda x, y: stats.bartlett(x, y).statistic, [normal(8), normal(8)]),
    ("stats.directional_stats", lambda x: stats.directional_stats(x).mean_direction, [normal(6, 3)]),
    # scipy.fft and scipy.signal: SciPy runs `xp.fft`, minidiff's md.fft
    ("fft.fft", lambda x: scipy.fft.fft(x), [normal(8)]),
    ("fft.ifft", lambda x: scipy.fft.ifft(x), [normal(8)]),
    ("fft.rfft", lambda x: scipy.fft.rfft(x), [normal(8)]),
    ("fft.irfft", lambda x: scipy.fft.irfft(scipy.fft.rfft(x) * 2.0), [normal(8)]),
    ("fft.fft2", lambda x: scipy.fft.fft2(x), [normal(4, 4)]),
    ("fft.rfftn", lambda x: scipy.fft.rfftn(x), [normal(4, 4)]),
    ("fft.hfft", lambda x: scipy.fft.hfft(x), [normal(5)]),
    ("fft.fftshift", lambda x: scipy.fft.fftshift(x), [normal(8)]),
    ("fft.ifftshift", lambda x: scipy.fft.ifftshift(x), [normal(7)]),
    ("signal.fftconvolve", lambda x, y: signal.fftconvolve(x, y), [normal(8), normal(3)]),
    ("signal.fftconvolve mode=same", lambda x, y: signal.fftconvolve(x, y, mode="same"), [normal(8), normal(3)]),
    ("signal.oaconvolve", lambda x, y: signal.oaconvolve(x, y), [normal(8), normal(3)]),
    # scipy.integrate, scipy.linalg, scipy.optimize
    ("integrate.trapezoid", lambda y, x: integrate.trapezoid(y, x), [normal(8), increasing(8)]),
    ("integrate.cumulative_trapezoid", lambda y: integrate.cumulative_trapezoid(y), [normal(8)]),
    ("integrate.cumulative_simpson", lambda y: integrate.cumulative_simpson(y), [normal(9)]),
    ("linalg.block_diag", lambda a, b: linalg.block_diag(a, b), [normal(2, 2), normal(3, 3)]),
    ("optimize.rosen", lambda x: optimize.rosen(x), [normal(4)]),
    ("optimize.rosen_der", lambda x: optimize.rosen_der(x), [normal(4)]),
    # array_api_extra
    ("xpx.atleast_nd", lambda x: xpx.atleast_nd(x, ndim=3), [normal(4)]),
    ("xpx.cov", lambda x: xpx.cov(x), [normal(3, 6)]),
    ("xpx.sinc", lambda x: xpx.sinc(x), [normal(6)]),
    ("xpx.kron", lambda x, y: xpx.kron(x, y), [normal(2, 2), normal(2, 3)]),
    ("xpx.pad", lambda x: xpx.pad(x, 2), [normal(3, 4)]),
    ("xpx.create_diagonal", lambda x: xpx.create_diagonal(x), [normal(4)]),
    ("xpx.nan_to_num", lambda x: xpx.nan_to_num(x), [normal(4)]),
    ("xpx.partition", lambda x: xpx.partition(x, 2), [normal(6)]),
    ("xpx.apply_where", lambda x: xpx.apply_where(x > 0, x, lambda v: v**2, lambda v: -v), [normal(6)]),
    ("xpx.one_hot", _one_hot_scaled, [normal(3, 3)]),
    ("xpx.setdiff1d", lambda x: xpx.setdiff1d(x, x[:2]), [normal(5)]),
    ("xpx.nanmean", lambda x: xpx.nanmean(x), [normal(5)]),
    ("xpx.at set copy=True", lambda x, y: xpx.at(x)[1:3].set(y, copy=True), [normal(6), normal(2)]),
    ("xpx.at add copy=True", lambda x, y: xpx.at(x)[np.array([0, 2])].add(y, copy=True), [normal(6), normal(2)]),
    ("xpx.at multiply copy=True", lambda x, y: xpx.at(x)[1:3].multiply(y, copy=True), [normal(6), normal(2)]),
    ("xpx.at divide copy=True", lambda x, y: xpx.at(x)[1:3].divide(y, copy=True), [normal(6), positive(2)]),
    ("xpx.at set mask copy=True", lambda x: xpx.at(x)[x > 0].set(0.0, copy=True), [normal(6)]),
    ("xpx.at add, computed x", lambda x, y: xpx.at(x * 1.0)[1:3].add(y), [normal(6), normal(2)]),
]
IDS = [name for name, _, _ in CASES]


def _inputs(name: str, makers: list[Maker]) -> list[np.ndarray]:
    rng = np.random.default_rng(sum(map(ord, name)))  # fixed per case, independent of order
    return [make(rng) for make in makers]


def _as_tuple(value: Any) -> tuple:
    return value if isinstance(value, tuple) else (value,)


@in_this_process
@pytest.mark.parametrize(("name", "f", "makers"), CASES, ids=IDS)
def test_forward_matches_the_library_on_numpy(name: str, f: Callable[..., Any], makers: list[Maker]) -> None:
    inputs = _inputs(name, makers)
    got = _as_tuple(f(*[md.Tensor(a, allow_grad=True) for a in inputs]))
    expected = _as_tuple(f(*[a.copy() for a in inputs]))
    for g, e in zip(got, expected, strict=True):
        # a Tensor with a graph, not values that went through NumPy and lost their gradient
        assert isinstance(g, md.Tensor) and g.allow_grad, f"{name} returned {type(g).__name__} without a gradient"
        np.testing.assert_allclose(g.numpy(), np.asarray(e), rtol=1e-12, atol=1e-12)


@in_this_process
@pytest.mark.parametrize(("name", "f", "makers"), CASES, ids=IDS)
def test_first_order_gradient(name: str, f: Callable[..., Any], makers: list[Maker]) -> None:
    assert gradcheck(f, *_inputs(name, makers))


@in_this_process
@pytest.mark.parametrize(("name", "f", "makers"), CASES, ids=IDS)
def test_second_order_gradient(name: str, f: Callable[..., Any], makers: list[Maker]) -> None:
    assert gradgradcheck(f, *_inputs(name, makers))


#: functions that write into a value minidiff saved for a gradient (the output of `max`,
#: `divide`, `std`): minidiff refuses to differentiate rather than give a wrong gradient.
WRITES_INTO_SAVED = [
    ("special.log_softmax", lambda x: special.log_softmax(x, axis=-1), "max"),
    ("special.logsumexp b=", lambda x: special.logsumexp(x, b=md.Tensor(np.linspace(0.5, 2.0, 8))), "max"),
    ("stats.zscore", lambda x: stats.zscore(x), "divide"),
    ("stats.f_oneway", lambda x: stats.f_oneway(x[:4], x[4:]).statistic, "divide"),
    ("cluster.vq.whiten", lambda x: whiten(md.reshape(x, (4, 2))), "std"),
    ("xpx.at min copy=True", lambda x: xpx.at(x)[1:3].min(x[4:6], copy=True), "minimum"),
]


@in_this_process
@pytest.mark.parametrize(("name", "f", "op"), WRITES_INTO_SAVED, ids=[c[0] for c in WRITES_INTO_SAVED])
def test_writes_into_saved_values_are_refused(name: str, f: Callable[..., Any], op: str) -> None:
    x = md.Tensor(np.random.default_rng(3).standard_normal(8), allow_grad=True)
    y = f(x)
    with pytest.raises(RuntimeError, match=f"needed to differentiate '{op}' was modified in place"):
        md.sum(y).backward()


@pytest.mark.skipif(not _SCIPY_FLAG_MISSED, reason="SciPy took SCIPY_ARRAY_API=1 in this process")
def test_cases_in_a_fresh_process() -> None:
    """SciPy was imported before this module without the switch: run the cases in an
    interpreter where this module imports it first."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__],
        env={**os.environ, "SCIPY_ARRAY_API": "1"}, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
