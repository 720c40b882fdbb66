"""Ops with several outputs (`slogdet`, `eigh`, `svd`, `qr`), on an engine that records one
output per node.

The op's forward runs as usual; its outputs are then packed, flattened and concatenated,
into one recorded tensor, and the public function returns differentiable slices of it
reshaped back. So the engine sees a single-output node, cotangents of unused outputs are
zeros (getitem's gradient scatters into the packed shape), and the op's rules receive
tuples: `rule(gs, ans, *inputs, **params)`, where `gs[k]` and `ans[k]` belong to output k.
Packing costs one copy of the outputs.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import replace
from typing import Any, Callable

import numpy as np

from minidiff.batching.apply import apply_batched, innermost
from minidiff.batching.tensor import levels
from minidiff.extend import Op
from minidiff.optable import ops
from minidiff._tensor import Tensor


def bind_multi_output(op: Op, overrides: dict[str, Callable[..., Any]]) -> Callable[..., Any]:
    """The public function of a multi-output op: a tuple of Tensors per call."""
    from minidiff.dispatch import _Kernels, _signature

    packed_op = replace(op, nout=1, params={**op.params, "_layout": None}, parse=_packed_parse(op), vjp=_packed_rules(op))
    kernels = _PackedKernels(op, overrides, packed_op)
    packed_call = _signature(packed_op, kernels)
    # `op.outputs` names the outputs: a named tuple (`svd(a).U`), else a plain tuple
    result = namedtuple(f"{op.name.strip('_').capitalize()}Result", op.outputs)._make if op.outputs else tuple

    def function(*args: Any, **kwargs: Any) -> tuple[Tensor, ...]:
        if levels.get():  # under md.vmap: the op's own rule (or a loop) sees the outputs unpacked
            level = innermost(args, kwargs)
            if level is not None:
                operands, params = _normalized(op, args, kwargs)
                return result(apply_batched(op, function, operands, params, level))
        layout: list[tuple[tuple[int, ...], Any]] = []
        return result(unpack(packed_call(*args, _layout=layout, **kwargs), layout))

    return function


def _normalized(op: Op, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """The call as (operands, parameters), so a parameter given positionally (`eigh(a, "U")`)
    is not taken for an operand."""
    from minidiff.dispatch import _params

    if op.parse is not None:
        operands, params = op.parse(*args, **kwargs)
        return tuple(operands), params
    return tuple(args[: op.nargs]), _params(op, args[op.nargs :], kwargs)


def unpack(packed: Tensor, layout: list[tuple[tuple[int, ...], Any]]) -> tuple[Tensor, ...]:
    """The outputs packed into `packed`, as differentiable slices reshaped back."""
    outputs, start = [], 0
    for shape, dtype in layout:
        size = 1
        for n in shape:
            size *= n
        piece = ops.reshape(ops.getitem(packed, key=slice(start, start + size)), shape)
        if piece.dtype.kind == "c" and np.dtype(dtype).kind != "c":
            piece = ops.real(piece)  # a real output packed beside a complex one (eigh's eigenvalues)
        outputs.append(piece if piece.dtype == dtype else ops.astype(piece, dtype=dtype))
        start += size
    return tuple(outputs)


class _PackedKernels(dict):
    """Forward kernels that run the op's own kernel, then pack its outputs."""

    def __init__(self, op: Op, overrides: dict[str, Callable[..., Any]], packed_op: Op) -> None:
        super().__init__()
        from minidiff.dispatch import _Kernels, kernel_caches

        self.inner = _Kernels(op, overrides)
        self.packed_op = packed_op
        kernel_caches[id(self)] = self

    def __missing__(self, backend: Any) -> Callable[..., Any]:
        inner, xp = self.inner[backend], backend.xp

        def packed_kernel(*arrays: Any, _layout: list, **params: Any) -> Any:
            outputs = [xp.asarray(out) for out in inner(*arrays, **params)]
            _layout[:] = [(tuple(out.shape), backend.host_dtype(out.dtype)) for out in outputs]
            dtype = xp.result_type(*outputs)
            return xp.concatenate([xp.reshape(out, (-1,)).astype(dtype) for out in outputs])

        from minidiff import dispatch

        # while md.compile traces, the packing is recorded as one call (its parts read shapes)
        self[backend] = packed_kernel if dispatch.kernel_wrapper is None else dispatch.kernel_wrapper(packed_kernel, None)
        return self[backend]


def _packed_parse(op: Op) -> Callable[..., tuple[tuple, dict]] | None:
    if op.parse is None:
        return None
    parse = op.parse

    def parse_with_layout(*args: Any, _layout: list, **kwargs: Any) -> tuple[tuple, dict]:
        operands, params = parse(*args, **kwargs)
        return operands, {**params, "_layout": _layout}

    return parse_with_layout


def _packed_rules(op: Op) -> Any:
    if op.vjp is None:
        return None
    if not isinstance(op.vjp, tuple):
        variadic = op.vjp

        def variadic_rule(g: Tensor, ans: Tensor, *inputs: Any, _layout: list, **params: Any) -> Any:
            return variadic(unpack(g, _layout), unpack(ans, _layout), *inputs, **params)

        return variadic_rule
    return tuple(None if rule is None else _packed_rule(rule) for rule in op.vjp)


def _packed_rule(rule: Callable[..., Any]) -> Callable[..., Any]:
    def packed_rule(g: Tensor, ans: Tensor, *inputs: Any, _layout: list, **params: Any) -> Any:
        # `ans` is None when no rule reads it, and then the node did not keep it
        return rule(unpack(g, _layout), None if ans is None else unpack(ans, _layout), *inputs, **params)

    packed_rule.__wrapped__ = rule  # type: ignore[attr-defined]  # so minidiff.saved sees what `rule` reads
    return packed_rule
