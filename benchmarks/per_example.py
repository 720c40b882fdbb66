#!/usr/bin/env python3
"""Per-example gradients of the W2 MLP's loss for a batch of 128 (W8): md.vmap(md.grad(...)) next to a Python loop
of md.grad, torch.func.vmap(torch.func.grad(...)) and NumPy by hand.

The network and data are those of `mlp.py` (784-256-256-10, tanh hidden layers, float32, batch 128): the loss of
one example is its softmax cross-entropy, and what each library computes is the gradient of every example's own
loss with respect to the six weights and biases, 128 gradients of each, stacked on a new leading axis (about 137 MB
of float32). The label enters as a one-hot row, the same function for every library (`loss` below): see the README
for why not `logits[label]`.

Each library runs in its own process with one thread and checks every example's loss and gradients (values, shapes
and float32 dtype) against the NumPy floor computed in float64 before timing; then it times `--repeats` runs of the
per-example losses and of the per-example gradients after a warmup, and reports the medians.

    python benchmarks/per_example.py                 # the table
    python benchmarks/per_example.py --size small    # mlp.py's small network, for smoke tests
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# Run as a script, benchmarks/ is on sys.path: the harness and the W2 network are the files next to this one.
from _batching import labeled, with_looped_ops
from _harness import Entry, Suite, SummaryRow, Unit, main
from mlp import DTYPE, SIZES, Network, logits_of, numpy_backward

PARAMS = 6  # w1, b1, w2, b2, w3, b3: the gradient is taken with respect to each, positional arguments 0 to 5
ARGNUMS = tuple(range(PARAMS))
IN_AXES = (None,) * PARAMS + (0, 0)  # the parameters are shared, the input and its label are mapped


def loss(xp: Any, tanh: Callable[[Any], Any], *args: Any) -> Any:
    """One example's cross-entropy, written once for every library (`xp` its namespace, `tanh` its tanh):
    `args` are the six parameters, the input (784,) and the label as a one-hot row (10,)."""
    *params, x, onehot = args
    logits = logits_of(params, x, tanh)
    # -log softmax(logits)[label] = logsumexp(logits) - logits[label]
    return xp.logsumexp(logits, axis=-1) - xp.sum(logits * onehot, axis=-1)


def onehot_of(labels: np.ndarray, classes: int) -> np.ndarray:
    """The labels as one-hot float32 rows."""
    return np.eye(classes, dtype=DTYPE)[labels]


# --------------------------------------------------------------------------- the floor: NumPy by hand


def numpy_losses(params: Sequence[np.ndarray], x: np.ndarray, onehot: np.ndarray) -> tuple[np.ndarray, list]:
    """Every example's loss, and what the backward needs: each layer's output and the softmax."""
    *hidden, w_out, b_out = params
    activations = [x]
    for w, b in zip(hidden[::2], hidden[1::2]):
        activations.append(np.tanh(activations[-1] @ w + b))
    logits = activations[-1] @ w_out + b_out
    shifted = logits - logits.max(axis=1, keepdims=True)  # exp cannot overflow
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    losses = np.log(total[:, 0]) - np.sum(shifted * onehot, axis=1)
    return losses, [activations, e / total]


def numpy_per_example(
    params: Sequence[np.ndarray], x: np.ndarray, onehot: np.ndarray
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Every example's loss and gradients [dw1, db1, ...], each with the examples on axis 0: the batch's backward
    (softmax - onehot, back through each layer), keeping each example's weight gradient, the outer product of its
    layer input and its cotangent, apart instead of summing them (`einsum('bi,bj->bij')`)."""
    losses, (activations, softmax) = numpy_losses(params, x, onehot)
    d = softmax - onehot
    grads: list[np.ndarray] = []
    for layer in reversed(range(len(activations))):
        w, a = params[2 * layer], activations[layer]
        grads[:0] = [np.einsum("bi,bj->bij", a, d), d]
        if layer:  # d tanh = 1 - tanh**2; the inputs x need no gradient
            d = (d @ w.T) * (1 - a * a)
    return losses, grads


def make_suite(size: str) -> Suite:
    """The suite of mlp.py's network of `size`."""
    net = SIZES[size]
    x, labels = net.inputs
    onehot = onehot_of(labels, net.widths[-1])

    def bench_numpy() -> Entry:
        """The floor: the batch's forward, and the per-example backward by hand."""
        params = net.initial_params()
        return Entry(
            "numpy (by hand)",
            np.__version__,
            numpy_per_example(params, x, onehot),
            forward=lambda: numpy_losses(params, x, onehot),
            forward_backward=lambda: numpy_per_example(params, x, onehot),
        )

    def bench_minidiff() -> Entry:
        import minidiff as md

        params = [md.Tensor(p) for p in net.initial_params()]
        inputs, targets = md.Tensor(x), md.Tensor(onehot)

        def one(*args: Any) -> Any:
            return loss(md, md.tanh, *args)

        losses = md.vmap(one, in_axes=IN_AXES)
        grads = md.vmap(md.grad(one, argnums=ARGNUMS), in_axes=IN_AXES)

        def forward() -> Any:
            return losses(*params, inputs, targets)

        def forward_backward() -> Any:
            return grads(*params, inputs, targets)

        (values, gradients), looped = with_looped_ops(lambda: (forward(), forward_backward()))
        return Entry(
            labeled("minidiff (md.vmap)", looped), md.__version__,
            (values.numpy(), [g.numpy() for g in gradients]), forward, forward_backward,
        )

    def bench_minidiff_loop() -> Entry:
        import minidiff as md

        params = [md.Tensor(p) for p in net.initial_params()]
        inputs, targets = md.Tensor(x), md.Tensor(onehot)

        def one(*args: Any) -> Any:
            return loss(md, md.tanh, *args)

        grad = md.grad(one, argnums=ARGNUMS)

        def forward() -> Any:
            return md.stack([one(*params, inputs[i], targets[i]) for i in range(net.batch)])

        def forward_backward() -> Any:
            per_example = [grad(*params, inputs[i], targets[i]) for i in range(net.batch)]
            return [md.stack([g[k] for g in per_example]) for k in range(PARAMS)]

        return Entry(
            "minidiff (Python loop)", md.__version__, (forward().numpy(), [g.numpy() for g in forward_backward()]),
            forward, forward_backward,
        )

    def bench_torch() -> Entry:
        import torch

        torch.set_num_threads(1)
        params = [torch.from_numpy(p) for p in net.initial_params()]
        inputs, targets = torch.from_numpy(x), torch.from_numpy(onehot)

        def one(*args: Any) -> Any:
            return loss(torch, torch.tanh, *args)

        losses = torch.func.vmap(one, in_dims=IN_AXES)
        grads = torch.func.vmap(torch.func.grad(one, argnums=ARGNUMS), in_dims=IN_AXES)

        def forward() -> Any:
            return losses(*params, inputs, targets)

        def forward_backward() -> Any:
            return grads(*params, inputs, targets)

        return Entry(
            "torch.func (CPU)", torch.__version__, (forward().numpy(), [g.numpy() for g in forward_backward()]),
            forward, forward_backward,
        )

    reference = numpy_reference(net)

    def check(library: str, losses: Any, grads: Any) -> None:
        """Fail the run, rather than time a wrong answer, unless every example's loss and gradients match the floor
        computed in float64 from the same float32 data, with the examples on axis 0, in float32."""
        expected_losses, expected_grads = reference
        losses = np.asarray(losses)
        assert losses.dtype == DTYPE, f"{library}: the losses are {losses.dtype}, not float32"
        assert losses.shape == (net.batch,), f"{library}: the losses have shape {losses.shape}, not ({net.batch},)"
        np.testing.assert_allclose(losses, expected_losses, rtol=1e-5, err_msg=f"{library}: losses")
        assert len(grads) == PARAMS, f"{library}: {len(grads)} gradients, expected {PARAMS}"
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
        benchmarks={
            "numpy": bench_numpy, "minidiff": bench_minidiff, "minidiff-loop": bench_minidiff_loop,
            "torch": bench_torch,
        },
        check=check,
        unit=Unit(key="ms", label="ms", scale=1e3, digits=3),
        intro=(
            f"Per-example gradients of the {widths} tanh MLP's softmax cross-entropy (mlp.py's network),",
            f"batch {net.batch}, float32: losses is every example's loss, grads every example's gradient with",
            "respect to the six weights and biases, stacked on a new leading axis.",
        ),
        numpy_note="numpy (by hand): losses is the batch's forward, grads the backward keeping each example's "
                   "outer products (einsum).",
        config={
            "widths": list(net.widths), "batch": net.batch, "dtype": "float32",
            "columns": {"fwd_ms": "per-example losses", "fwd_bwd_ms": "per-example gradients"},
        },
        reference="torch",
        passes=("losses", "grads"),
        memory=True,
        summary=(
            SummaryRow(f"W8 per-example grads {widths}", measure="fwd_bwd", against="torch", target=1.2),
            SummaryRow(f"W8 per-example grads {widths}", measure="peak", against="torch"),
        ),
        repeats=20,
        warmup=2,
    )


def numpy_reference(net: Network) -> tuple[np.ndarray, list[np.ndarray]]:
    """Every example's loss and gradients by the floor in float64 from the same float32 data: the check's answer.

    The floor itself is checked here against mlp.py's batch backward, written without einsum: the mean of the
    per-example gradients is the gradient of the mean loss.
    """
    x, labels = net.inputs
    params = [p.astype(np.float64) for p in net.initial_params()]
    losses, grads = numpy_per_example(params, x.astype(np.float64), onehot_of(labels, net.widths[-1]))
    _, saved = numpy_losses(params, x.astype(np.float64), onehot_of(labels, net.widths[-1]))
    activations, softmax = saved
    batch = numpy_backward(params, labels, [activations, softmax, np.ones((net.batch, 1))])
    for i, (per_example, mean) in enumerate(zip(grads, batch)):
        np.testing.assert_allclose(per_example.mean(axis=0), mean, rtol=1e-10, atol=1e-14,
                                   err_msg=f"the floor's gradient {i} against mlp.py's batch backward")
    return losses, grads


if __name__ == "__main__":
    sys.exit(main(make_suite))
