"""Creation op family: zeros, ones, full, arange, linspace, eye, empty and the *_like forms.

Creation ops make a tensor from parameters alone. Each forward has NumPy's signature up to
`dtype`, so `md.zeros((2, 3), "float32")` passes the dtype positionally as in NumPy; the
public functions add the keywords `backend=` and `allow_grad=` (or `requires_grad=`):
`md.zeros((2, 3), requires_grad=True)`. The forwards are named after their op, so a bad
call's error names the public function (`zeros() got an unexpected keyword argument`).
The `*_like` forms take a tensor operand, but their output depends on its shape and dtype
only, so they are non-differentiable: the result is a constant. Under `md.vmap` they make
the whole batch at once (the creation ops proper take no operand, so nothing to batch).

`empty` and `empty_like` return zeros: a tensor whose values depend on stale memory would
make results irreproducible, and zeros cost the same.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from minidiff.array_api.tensor_protocol import check_device
from minidiff.batching import rules
from minidiff.extend import Op, hookimpl, sample


def _shape(shape) -> int | tuple[int, ...]:
    """An int or a sequence of ints, as a shape every backend takes."""
    try:
        return operator.index(shape)
    except TypeError:
        pass
    try:
        return tuple(operator.index(n) for n in shape)
    except TypeError:
        raise TypeError(f"a shape must be an int or a sequence of ints, got {shape!r}") from None


SHAPES = (sample((2, 3)), sample(4), sample(()), sample([2, 1, 3]))
LIKE_SAMPLES = (sample((2, 3)), sample((2, 3), dtype=np.float32), sample((), dtype=np.int64))
# zeros and ones: every shape, and dtype= by keyword and by position (NumPy's second argument)
FILLED_SAMPLES = (*SHAPES, sample((2, 3), dtype=np.float32), sample(3, dtype=np.int32), sample(2, "float32"))

def _named(function: Any) -> Any:
    """`function` renamed after its op (`_zeros` -> `zeros`), so Python's own errors about
    its arguments name the public function."""
    function.__name__ = function.__qualname__ = function.__name__.lstrip("_")
    return function


@_named
def _zeros(xp, shape, dtype=None):
    return xp.zeros(_shape(shape), dtype=dtype)


@_named
def _ones(xp, shape, dtype=None):
    return xp.ones(_shape(shape), dtype=dtype)


@_named
def _empty(xp, shape, dtype=None):
    return xp.zeros(_shape(shape), dtype=dtype)


@_named
def _full(xp, shape, fill_value, dtype=None):
    return xp.full(_shape(shape), fill_value, dtype=dtype)


@_named
def _arange(xp, start, stop=None, step=None, dtype=None):
    # NumPy's arange(start_or_stop, stop=None, step=None, dtype=None)
    if stop is None:
        start, stop = 0, start
    return xp.arange(start, stop, *(() if step is None else (step,)), dtype=dtype)


@_named
def _linspace(xp, start, stop, num=50, endpoint=True, retstep=False, dtype=None):
    if retstep:
        raise ValueError(
            "linspace(retstep=True) is not supported: the step is (stop - start) / (num - 1), or / num with "
            "endpoint=False"
        )
    return xp.linspace(start, stop, num=num, endpoint=endpoint, dtype=dtype)


@_named
def _eye(xp, N, M=None, k=0, dtype=None):
    return xp.eye(N, M, k=k, dtype=dtype)


def _like(name: str) -> Any:
    def forward(xp: Any, x: Any, dtype: Any = None, device: Any = None) -> Any:
        check_device(xp, device, name)
        return getattr(xp, name)(x, dtype=dtype)

    forward.__name__ = name
    return forward


def _like_reference(name: str) -> Any:
    return lambda x, dtype=None, device=None: getattr(np, name)(x, dtype=dtype)


def _full_like(xp: Any, x: Any, fill_value: Any, dtype: Any = None, device: Any = None) -> Any:
    check_device(xp, device, "full_like")
    return xp.full_like(x, fill_value, dtype=dtype)


def _full_like_parse(x: Any, /, fill_value: Any, *, dtype: Any = None, device: Any = None) -> tuple[tuple, dict]:
    return (x, fill_value), {"dtype": dtype, "device": device}


def _full_like_batch(call, args, batched, params):
    # numpy.full_like broadcasts the fill into x's shape: a fill given per example goes in
    # front (as a batch of x does), and a shared x is copied for each example's fill.
    x, fill = args
    if not batched[0]:
        x = rules.to_batched(x, rules.batch_size(args, batched))
    if batched[1]:
        fill = rules.pad_to(fill, x.ndim - 1)
    return call(x, fill, **params)


OPS = [
    Op(
        "zeros",
        _zeros,
        creation=True,
        nargs=0,
        samples=FILLED_SAMPLES,
    ),
    Op(
        "ones",
        _ones,
        creation=True,
        nargs=0,
        samples=FILLED_SAMPLES,
    ),
    Op(
        "full",
        _full,
        creation=True,
        nargs=0,
        samples=(
            sample((2, 3), 1.5),
            sample(4, 2),  # an int fill gives an int tensor, as in NumPy
            sample((2, 3), 2, dtype=np.float32),
            sample((), -1.0),
            sample(3, 1, "float32"),
        ),
    ),
    Op(
        "empty",
        _empty,
        creation=True,
        nargs=0,
        samples=(sample((2, 3)), sample(4, dtype=np.float32)),
        reference=np.zeros,
        doc="A tensor of `shape` whose values do not matter. minidiff fills it with zeros, so results never "
        "depend on stale memory.",
    ),
    Op(
        "arange",
        _arange,
        creation=True,
        nargs=0,
        samples=(
            sample(5),
            sample(1.0, 3.0, 0.5),
            sample(2, 11, 3),
            sample(4, dtype=np.float32),
            sample(0, 4, 1, "float32"),
        ),
    ),
    Op(
        "linspace",
        _linspace,
        creation=True,
        nargs=0,
        samples=(
            sample(0.0, 1.0, 5),
            sample(-1.0, 2.0, 4, endpoint=False),
            sample(0.0, 1.0),
            sample(0, 3, 4, dtype=np.float32),
            sample(0.0, 1.0, 3, True, False, "float32"),
        ),
    ),
    Op(
        "eye",
        _eye,
        creation=True,
        nargs=0,
        samples=(sample(3), sample(3, 4, k=1), sample(4, 2, k=-1), sample(2, dtype=np.int64), sample(2, 3, 0, "float32")),
    ),
    # Non-differentiable: the output depends only on the operand's shape and dtype.
    *(
        Op(
            name,
            _like(name),
            params={"dtype": None, "device": None},
            samples=LIKE_SAMPLES,
            reference=_like_reference(name),
            batch=rules.elementwise,
        )
        for name in ("zeros_like", "ones_like")
    ),
    Op(
        "full_like",
        _full_like,
        nargs=2,
        params={"dtype": None, "device": None},
        parse=_full_like_parse,
        reference=lambda x, fill_value, dtype=None, device=None: np.full_like(x, fill_value, dtype=dtype),
        samples=(
            sample((2, 3), 1.5),
            sample((2, 3), 2, dtype=np.int32),
            sample((3,), 0.25, dtype=np.float32),
            sample((2, 3), np.array([0.5, -1.0, 2.0])),  # a fill array, broadcast into x's shape
        ),
        batch=_full_like_batch,
    ),
    Op(
        "empty_like",
        _like("zeros_like"),
        params={"dtype": None, "device": None},
        samples=LIKE_SAMPLES,
        reference=_like_reference("zeros_like"),
        doc="A tensor of `x`'s shape and dtype whose values do not matter; minidiff fills it with zeros.",
        batch=rules.elementwise,
    ),
]


@hookimpl
def minidiff_register_ops(registry) -> None:
    for op in OPS:
        registry.add_op(op)
