"""Eager release: a first-order backward frees each saved tensor and each cotangent as soon
as it has been used, so memory falls while backward runs instead of after it.

A private probe op (an identity whose rule reports back) is bound with `dispatch.bind`
without registering it anywhere; its rule runs in the middle of a backward pass and
looks at what is still alive there.
"""

from __future__ import annotations

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import minidiff as md
from minidiff.dispatch import bind
from minidiff.extend import Op


def make_probe(callback):
    """An identity op whose VJP calls `callback(g, x)` when backward reaches it."""

    def rule(g, ans, x):
        callback(g, x)
        return g * 1.0  # a fresh cotangent, so the incoming one can die

    op = Op("probe", lambda xp, x: xp.array(x, copy=True), vjp=(rule,), public=False)
    return bind(op, {})


def test_intermediates_die_right_after_backward(no_gc):
    x = md.Tensor(np.linspace(-1, 1, 5), allow_grad=True)
    a = md.exp(x)
    b = md.sin(a)
    c = b * b
    y = md.sin(c).sum()
    refs = [weakref.ref(t) for t in (a, b, c)]
    del a, b, c
    assert all(r() is not None for r in refs)  # the graph holds them
    y.backward()
    assert [r() for r in refs] == [None, None, None]
    assert y.node.released
    e = np.exp(np.linspace(-1, 1, 5))
    expected = np.cos(np.sin(e) ** 2) * 2 * np.sin(e) * np.cos(e) * e
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_retain_graph_keeps_the_intermediates(no_gc):
    x = md.Tensor(np.linspace(-1, 1, 5), allow_grad=True)
    a = md.exp(x)
    b = md.sin(a)
    y = (b * b).sum()
    nodes = [a.node, b.node, y.node]
    refs = [weakref.ref(a), weakref.ref(b)]
    del a, b
    y.backward(retain_graph=True)
    assert all(r() is not None for r in refs)
    assert all(node.inputs is not None for node in nodes)
    y.backward()  # the second, unretained, pass frees them
    assert [r() for r in refs] == [None, None]
    assert all(node.released for node in nodes)


def test_allow_higher_order_keeps_the_graph(no_gc):
    x = md.Tensor(np.linspace(-1, 1, 5), allow_grad=True)
    a = md.exp(x)
    y = md.sin(a).sum()
    ref = weakref.ref(a)
    del a
    y.backward(allow_higher_order=True)
    assert ref() is not None and y.node.inputs is not None


def test_a_dropped_graph_is_freed_without_backward(no_gc):
    x = md.Tensor(np.ones(3), allow_grad=True)
    a = md.exp(x)
    y = md.sin(a)
    ref = weakref.ref(a)
    del a, y
    assert ref() is None


def test_saved_tensors_and_cotangents_die_while_backward_runs(no_gc):
    """When the probe after step k runs, everything downstream of it is already gone."""
    n = 12
    x = md.Tensor(np.linspace(0.1, 0.9, 4), allow_grad=True)
    alive_downstream: list[tuple[int, list[bool], list[bool]]] = []
    tensor_refs: list[weakref.ref] = []
    cotangent_refs: list[weakref.ref] = []

    def observer(k):
        def callback(g, saved):
            # Steps after k: their outputs, and the cotangents their probes received.
            tensors = [r() is not None for r in tensor_refs[k + 1 :]]
            cotangents = [r() is not None for r in cotangent_refs]
            alive_downstream.append((k, tensors, cotangents))
            cotangent_refs.append(weakref.ref(g))

        return callback

    w = x
    for k in range(n):
        w = make_probe(observer(k))(md.sin(w) * 1.1)
        tensor_refs.append(weakref.ref(w))
    y = w.sum()
    del w
    y.backward()

    assert [k for k, _, _ in alive_downstream] == list(range(n - 1, -1, -1))
    for k, tensors, cotangents in alive_downstream:
        assert not any(tensors), f"at step {k}, outputs of later steps are still alive: {tensors}"
        assert not any(cotangents), f"at step {k}, cotangents of later steps are still alive: {cotangents}"
    assert all(r() is None for r in tensor_refs)

    # The same chain with retain_graph=True keeps everything, so the probe can see it.
    alive_downstream.clear()
    tensor_refs.clear()
    w = x
    for k in range(n):
        w = make_probe(observer(k))(md.sin(w) * 1.1)
        tensor_refs.append(weakref.ref(w))
    y = w.sum()
    del w
    y.backward(retain_graph=True)
    assert all(all(tensors) for _, tensors, _ in alive_downstream)


# ---------------------------------------------------------------------------- peak memory

SIZE = 200_000
STEPS = 50
ARRAY = SIZE * 8  # bytes of one float64 array


def _chain(x, probe=None):
    w = x
    for k in range(STEPS):
        w = _step(w, k)
        if probe is not None and k == STEPS // 2 - 1:
            w = probe(w)
    return w.sum()


def _step(w, k):
    # One new array per step (scalar operands are weak Python scalars, not arrays).
    kind = k % 3
    if kind == 0:
        return md.sin(w)
    if kind == 1:
        return w * 1.01
    return w + 0.5


def _measure(**backward_options):
    """(forward peak, backward peak, memory at the chain's midpoint during backward,
    memory after backward), in bytes above what was allocated before the forward."""
    x = md.Tensor(np.random.default_rng(0).standard_normal(SIZE), allow_grad=True)
    middle = {}
    probe = make_probe(lambda g, saved: middle.setdefault("current", tracemalloc.get_traced_memory()[0]))
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        y = _chain(x, probe)
        forward_peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.reset_peak()
        y.backward(**backward_options)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(x.grad.numpy()[:3], _expected_grad(x.numpy()[:3]), rtol=1e-10)
    return forward_peak, peak - base, middle["current"] - base, current - base


def _expected_grad(x0):
    """The chain's derivative, by the chain rule on plain NumPy."""
    w, derivative = x0.copy(), np.ones_like(x0)
    for k in range(STEPS):
        kind = k % 3
        if kind == 0:
            derivative *= np.cos(w)
            w = np.sin(w)
        elif kind == 1:
            derivative *= 1.01
            w = w * 1.01
        else:
            w = w + 0.5
    return derivative


def test_backward_peak_stays_near_the_forward_peak():
    forward_peak, backward_peak, middle, after = _measure()
    # The forward keeps what the rules read: the input of each sin (every third step; the
    # rules of `* 1.01` and `+ 0.5` read no array), plus the probe's copy.
    kept = STEPS // 3 + 1
    assert (kept - 2) * ARRAY < forward_peak < (kept + 3) * ARRAY, forward_peak / ARRAY
    # Backward never holds more than the forward did plus a few working arrays.
    assert backward_peak < forward_peak + 5 * ARRAY, (forward_peak / ARRAY, backward_peak / ARRAY)
    # Halfway through, about half of the forward's arrays are already freed.
    assert middle < 0.65 * forward_peak, (middle / ARRAY, forward_peak / ARRAY)
    # Afterwards only x.grad (and small change) remains.
    assert after < 2 * ARRAY, after / ARRAY


def test_the_measurement_sees_retained_memory():
    """Counterfactuals: keeping the graph shows up in the same numbers, so the bounds above
    are not vacuous."""
    forward_peak, _, middle, after = _measure(retain_graph=True)
    assert middle > 0.9 * forward_peak
    assert after > 0.9 * forward_peak

    forward_peak, backward_peak, _, _ = _measure(allow_higher_order=True)
    # Recording the backward pass keeps its cotangents and cos(x) terms as well.
    assert backward_peak > forward_peak + 20 * ARRAY, (forward_peak / ARRAY, backward_peak / ARRAY)
