"""Complex gradients across ops: random chains of the registry's complex-capable one-operand
ops on complex128 inputs, checked by `minidiff.testing.gradcheck` (finite differences along
the real and imaginary direction of every element); the rules the kit's finite samples
cannot reach (nan_to_num on complex NaN parts); and backward through a real-only op with a
complex operand raising.

The kit checks each op alone on its samples (tests/test_conformance.py, `-k complex`);
chains check that the declarations compose: a holomorphic op's engine conjugation next to
a convention rule (abs, var, angle) and a linear one, and real-valued results feeding
complex-capable ops.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import minidiff as md
from minidiff import plugins
from minidiff.extend import Op, Sample
from minidiff.testing import gradcheck
from minidiff.testing.samples import op_function

START_SHAPES = [(3, 4), (5,), (2, 3, 2)]


def _unary_sample(op: Op) -> Sample | None:
    """The op's first sample that takes one random operand and nothing else, checked with
    complex inputs and by first-order gradients."""
    for s in op.samples:
        if len(s.args) == 1 and isinstance(s.args[0], tuple) and not s.params and s.complex and s.order >= 1:
            return s
    return None


@functools.cache
def _complex_unary_ops() -> tuple[tuple[Op, float, float], ...]:
    """(op, center, radius) for each core op that declares complex rules and has a
    one-operand sample; its operands are kept in the disk of `radius` around `center`,
    inside the region the kit checks it on (its domain, imaginary parts within half its width)."""
    table = []
    for entry in plugins.load().ops.values():
        op = getattr(entry, "value", entry)
        if not op.complex or not op.differentiable or op.creation or op.namespace or op.nout != 1:
            continue
        s = _unary_sample(op)
        if s is None:
            continue
        low, high = s.domain_of(0)
        table.append((op, (low + high) / 2, 0.9 * (high - low) / 2))
    return tuple(sorted(table, key=lambda entry: entry[0].qualname))


@functools.cache
def _applicable(shape: tuple[int, ...]) -> tuple[tuple[Op, float, float], ...]:
    """The ops that take an operand of `shape` and give one non-empty tensor."""
    probe = md.Tensor(np.full(shape, 0.5 + 0.25j))
    usable = []
    for entry in _complex_unary_ops():
        try:
            out = op_function(entry[0])(probe)
        except Exception:  # noqa: BLE001 (wrong rank for this op: not drawn for this shape)
            continue
        if isinstance(out, md.Tensor) and out.size > 0:
            usable.append(entry)
    return tuple(usable)


def _into_disk(v: md.Tensor, center: float, radius: float) -> md.Tensor:
    """v mapped smoothly into the disk of `radius` around `center` (complex differentiable
    parts and |v|, away from v = 0)."""
    return center + radius * v / (1.0 + md.abs(v))


def test_the_chains_draw_from_every_family():
    families = {op.qualname for op, _, _ in _complex_unary_ops()}
    for name in ("exp", "sum", "prod", "var", "cumprod", "ravel", "abs", "angle", "diff", "sinc", "trace"):
        assert name in families, f"{name} is not among the complex-capable one-operand ops: {sorted(families)}"


@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_random_chains_of_complex_ops_match_finite_differences(data):
    shape = data.draw(st.sampled_from(START_SHAPES), label="shape")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    rng = np.random.default_rng(seed)
    z0 = 0.7 * (rng.normal(size=shape) + 1j * rng.normal(size=shape))
    steps, current = [], shape
    for _ in range(data.draw(st.integers(2, 4), label="length")):
        choices = _applicable(current)
        if not choices:
            break
        op, center, radius = data.draw(st.sampled_from(choices), label="op")
        steps.append((op, center, radius))
        current = op_function(op)(md.Tensor(np.full(current, 0.5 + 0.25j))).shape
    note(" -> ".join(op.qualname for op, _, _ in steps))

    def program(z):
        for op, center, radius in steps:
            z = op_function(op)(_into_disk(z, center, radius))
        return z

    assert gradcheck(program, z0, backend="numpy", atol=1e-5, rtol=1e-4)


# ---------------------------------------------------------------------- nan_to_num on complex NaN parts


BACKENDS = ["numpy", "mlx"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_nan_to_num_replaces_and_stops_each_part_of_a_complex_number_apart(backend):
    try:
        md.get_backend(backend)
    except Exception:  # noqa: BLE001 (not installed or not usable here)
        pytest.skip(f"{backend} is not usable here")
    dtype = np.complex128 if backend == "numpy" else np.complex64
    z = np.array([complex(1.5, np.nan), complex(np.inf, 2.0), complex(np.nan, -0.5), complex(3.0, -1.0)])
    x = md.Tensor(z.astype(dtype), allow_grad=True, backend=backend)
    y = md.nan_to_num(x, nan=-1.0, posinf=9.0)
    np.testing.assert_allclose(y.numpy(), np.nan_to_num(z, nan=-1.0, posinf=9.0), rtol=1e-6)
    c = np.array([1 + 2j, 3 + 4j, 5 + 6j, 7 + 8j])
    md.sum(md.real(y * md.Tensor(c.astype(dtype), backend=backend))).backward()
    # L = sum Re(c y): dL/dRe(y) = Re(c), dL/dIm(y) = -Im(c), each where that part of x was kept
    kept_real, kept_imag = np.isfinite(z.real), np.isfinite(z.imag)
    expected = np.where(kept_real, c.real, 0.0) + 1j * np.where(kept_imag, -c.imag, 0.0)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)


# ---------------------------------------------------------------------- real-only ops refuse


@pytest.mark.parametrize("name", ["max", "min", "logsumexp", "maximum", "relu", "fmax"])
def test_backward_through_a_real_only_op_with_complex_input_raises(name):
    z = md.Tensor(np.array([1.0 + 2.0j, -0.5 + 0.25j, 2.0 - 1.0j]), allow_grad=True)
    f = getattr(md, name)
    out = f(z, z * 0.5) if name in ("maximum", "fmax") else f(z)
    with pytest.raises(TypeError, match=name):
        md.sum(md.real(out)).backward()
