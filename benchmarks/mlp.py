#!/usr/bin/env python3
"""One SGD training step of a 784-256-256-10 tanh MLP in float32 (W2), next to NumPy by hand, PyTorch and HIPS
autograd.

The workload is a classifier as a user would write it: two tanh hidden layers and a linear output on a batch of
128 random float32 inputs with random integer labels, the softmax cross-entropy averaged over the batch, its
gradient with respect to the six weights and biases, and an SGD update (lr 0.01) in place on them. Everything is
float32. The matrix products dominate, so what each library adds around them (graph recording, the backward's
bookkeeping, extra copies) shows as its ratio to the hand-written NumPy step, the floor.

Each library runs in its own process with one thread and checks its first step's loss and gradients (values and
float32 dtype) against the hand-written backward before timing; then it times `--repeats` forward passes and
`--repeats` training steps after a warmup, and reports the median.

    python benchmarks/mlp.py                 # the table
    python benchmarks/mlp.py --size small    # a tiny network, for smoke tests
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

# Run as a script, benchmarks/ is on sys.path: the harness is the file next to this one.
from _harness import Entry, Suite, SummaryRow, Unit, distribution_version, main

LR = 0.01
DTYPE = np.float32


@dataclass(frozen=True)
class Network:
    """The layer widths (input first) and the batch size; its data is the same in every process."""

    widths: tuple[int, ...]
    batch: int

    @cached_property
    def inputs(self) -> tuple[np.ndarray, np.ndarray]:
        """A batch of standard normal inputs and integer labels, from a fixed seed."""
        rng = np.random.default_rng(0)
        x = rng.standard_normal((self.batch, self.widths[0])).astype(DTYPE)
        labels = rng.integers(0, self.widths[-1], size=self.batch)
        return x, labels

    def initial_params(self) -> list[np.ndarray]:
        """Fresh copies of the initial weights and biases [w1, b1, w2, b2, w3, b3]: each library updates its own."""
        rng = np.random.default_rng(1)
        params = []
        for fan_in, fan_out in zip(self.widths, self.widths[1:]):
            params.append((rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(DTYPE))
            params.append(np.zeros(fan_out, dtype=DTYPE))
        return params


SIZES = {"full": Network((784, 256, 256, 10), batch=128), "small": Network((64, 32, 32, 10), batch=16)}


def logits_of(params: Sequence[Any], x: Any, tanh: Callable[[Any], Any]) -> Any:
    """The network, written once for every library: tanh hidden layers, a linear output."""
    *hidden, w_out, b_out = params
    for w, b in zip(hidden[::2], hidden[1::2]):
        x = tanh(x @ w + b)
    return x @ w_out + b_out


def sgd(params: Sequence[Any], grads: Sequence[Any]) -> None:
    """The update, in place on each parameter."""
    for p, g in zip(params, grads):
        p -= LR * g


# --------------------------------------------------------------------------- the floor: NumPy by hand


def numpy_forward(params: Sequence[np.ndarray], x: np.ndarray, labels: np.ndarray) -> tuple[Any, list]:
    """The loss, and what the backward needs: each layer's output and the softmax's exponentials and sums."""
    rows = np.arange(len(labels))
    *hidden, w_out, b_out = params
    activations = [x]
    for w, b in zip(hidden[::2], hidden[1::2]):
        activations.append(np.tanh(activations[-1] @ w + b))
    logits = activations[-1] @ w_out + b_out
    shifted = logits - logits.max(axis=1, keepdims=True)  # exp cannot overflow
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    loss = np.mean(np.log(total[:, 0]) - shifted[rows, labels])
    return loss, [activations, e, total]


def numpy_backward(params: Sequence[np.ndarray], labels: np.ndarray, saved: list) -> list[np.ndarray]:
    """The gradients [dw1, db1, ...]: softmax - onehot, then back through each layer."""
    activations, e, total = saved
    d = e / total  # the softmax
    d[np.arange(len(labels)), labels] -= 1
    d /= len(labels)  # the mean over the batch
    grads: list[np.ndarray] = []
    for layer in reversed(range(len(activations))):
        w, a = params[2 * layer], activations[layer]
        grads[:0] = [a.T @ d, d.sum(axis=0)]
        if layer:  # d tanh = 1 - tanh**2; the inputs x need no gradient
            d = (d @ w.T) * (1 - a * a)
    return grads


def numpy_step(params: list[np.ndarray], x: np.ndarray, labels: np.ndarray) -> tuple[Any, list[np.ndarray]]:
    """One training step by hand: forward, backward, SGD; the loss and gradients before the update."""
    loss, saved = numpy_forward(params, x, labels)
    grads = numpy_backward(params, labels, saved)
    sgd(params, grads)
    return loss, grads


def make_suite(size: str) -> Suite:
    """The suite of the network of `size`."""
    net = SIZES[size]
    x, labels = net.inputs
    rows = np.arange(net.batch)

    def bench_numpy() -> Entry:
        """The floor: the NumPy forward, and the hand-written step."""
        params = net.initial_params()
        return Entry(
            "numpy (by hand)",
            np.__version__,
            numpy_step(params, x, labels),
            forward=lambda: numpy_forward(params, x, labels),
            forward_backward=lambda: numpy_step(params, x, labels),
        )

    def bench_minidiff() -> Entry:
        import minidiff as md

        params = [md.Tensor(p, allow_grad=True) for p in net.initial_params()]
        inputs, targets = md.Tensor(x), md.Tensor(labels)

        def forward() -> Any:
            # the library's own loss, as PyTorch's row uses F.cross_entropy
            return md.cross_entropy(logits_of(params, inputs, md.tanh), targets)

        def step() -> Any:
            loss = forward()
            loss.backward()
            with md.no_grad():
                sgd(params, [p.grad for p in params])
            return loss

        loss = step()
        return Entry("minidiff", md.__version__, (loss.numpy(), [p.grad.numpy() for p in params]), forward, step)

    def bench_torch() -> Entry:
        import torch
        import torch.nn.functional as F

        torch.set_num_threads(1)
        params = [torch.tensor(p, requires_grad=True) for p in net.initial_params()]
        inputs, targets = torch.from_numpy(x), torch.from_numpy(labels)

        def forward() -> Any:
            return F.cross_entropy(logits_of(params, inputs, torch.tanh), targets)

        def step() -> Any:
            for p in params:
                p.grad = None  # else backward adds to the last step's gradient
            loss = forward()
            loss.backward()
            with torch.no_grad():
                sgd(params, [p.grad for p in params])
            return loss

        loss = step()
        value_and_grad = (loss.detach().numpy(), [p.grad.numpy() for p in params])
        return Entry("torch (CPU)", torch.__version__, value_and_grad, forward, step)

    def bench_autograd() -> Entry:
        """HIPS autograd traces only inside `grad`: its forward column is the untraced autograd.numpy call."""
        import autograd
        import autograd.numpy as anp

        def loss(params: list[Any]) -> Any:
            logits = logits_of(params, x, anp.tanh)
            # autograd.scipy.special.logsumexp needs SciPy: the shifted form a user writes without it
            top = anp.max(logits, axis=1, keepdims=True)
            logsumexp = anp.log(anp.sum(anp.exp(logits - top), axis=1)) + top[:, 0]
            return anp.mean(logsumexp - logits[rows, labels])

        value_and_grad = autograd.value_and_grad(loss)
        params = net.initial_params()

        def step() -> Any:
            value, grads = value_and_grad(params)
            sgd(params, grads)
            return value, grads

        return Entry("autograd", distribution_version("autograd"), step(), lambda: loss(params), step)

    def check(library: str, value: Any, grads: Any) -> None:
        """Fail the run, rather than time a wrong answer, unless the first step's loss and gradients match the
        hand-written backward in float64, and are float32."""
        expected_loss, expected_grads = numpy_backward_reference(net)
        value = np.asarray(value)
        assert value.dtype == DTYPE, f"{library}: the loss is {value.dtype}, not float32"
        np.testing.assert_allclose(float(value), expected_loss, rtol=1e-5, err_msg=f"{library}: loss")
        assert len(grads) == len(expected_grads), f"{library}: {len(grads)} gradients, expected {len(expected_grads)}"
        for i, (grad, want) in enumerate(zip(grads, expected_grads)):
            grad = np.asarray(grad)
            assert grad.dtype == DTYPE, f"{library}: gradient {i} is {grad.dtype}, not float32"
            assert grad.shape == want.shape, f"{library}: gradient {i} has shape {grad.shape}, not {want.shape}"
            scale = float(np.max(np.abs(want)))
            np.testing.assert_allclose(grad, want, rtol=1e-3, atol=1e-4 * scale, err_msg=f"{library}: gradient {i}")

    widths = "-".join(map(str, net.widths))
    return Suite(
        script=__file__,
        description=__doc__.splitlines()[0],
        benchmarks={"numpy": bench_numpy, "minidiff": bench_minidiff, "torch": bench_torch, "autograd": bench_autograd},
        check=check,
        unit=Unit(key="ms", label="ms", scale=1e3, digits=3),
        intro=(
            f"One training step of a {widths} tanh MLP, batch {net.batch}, float32: forward, softmax",
            f"cross-entropy (mean over the batch), backward, SGD (lr {LR}) in place on the weights.",
        ),
        numpy_note="numpy (by hand): fwd is the NumPy forward, step the forward, hand-written backward and update.",
        config={"widths": list(net.widths), "batch": net.batch, "dtype": "float32", "lr": LR},
        reference="numpy",
        passes=("fwd", "step"),
        summary=(SummaryRow(f"W2 MLP {widths} step", measure="fwd_bwd", against="numpy", target=1.10),),
        repeats=50,
        warmup=5,
    )


def numpy_backward_reference(net: Network) -> tuple[float, list[np.ndarray]]:
    """The first step's loss and gradients, by hand in float64 from the same float32 data: the check's answer."""
    x, labels = net.inputs
    params = [p.astype(np.float64) for p in net.initial_params()]
    loss, saved = numpy_forward(params, x.astype(np.float64), labels)
    return float(loss), numpy_backward(params, labels, saved)


if __name__ == "__main__":
    sys.exit(main(make_suite))
