"""Index helpers op family: `copy argwhere isin unravel_index index_add`.

- `copy`: a differentiable copy (its gradient is `g`): the copy stays in the graph, as
  PyTorch's `clone` does.
- `argwhere`, `isin`, `unravel_index`: NumPy's, answering with integers or booleans, so
  not differentiable (their outputs never allow grad, as `argmax`'s). A backend whose
  array namespace lacks one (MLX) gets NumPy's answer computed on the host.
- `index_add(a, indices, b)`: `a` with `b` added at `a[indices]`, repeated indices
  accumulating as in `numpy.add.at`; differentiable in `a` (gradient `g`) and `b`
  (gradient `g[indices]`, summed over what `b` was broadcast along). It is a composite of
  `scatter_add` (getitem's gradient), so every order works.

The original minidiff's `index_add` wrote into `a` and returned None, as `numpy.add.at`
does; code written for it ignores the result. So `md.index_add` also writes the result
into `a` when `a` is a Tensor that does not allow grad (a buffer `t[...] = v` may change),
and returns it either way: new code uses the result, old code sees `a` change.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

import minidiff as md
from minidiff.batching import rules
from minidiff.extend import Op, hookimpl, sample
from minidiff.ops._operands import as_tensor, as_tensors, to_host
from minidiff.optable import ops
from minidiff._tensor import Tensor, make_tensor

__all__ = ["OPS"]


def _native_or_host(name: str) -> Callable[..., Any]:
    """A forward running `xp.<name>`, or `numpy.<name>` on the host when the backend's
    namespace has none (integer and boolean answers: nothing is lost on the way)."""

    def forward(xp: Any, *arrays: Any, **params: Any) -> Any:
        native = getattr(xp, name, None)
        if native is not None:
            return native(*arrays, **params)
        answer = getattr(np, name)(*(np.asarray(a) for a in arrays), **params)
        return tuple(xp.asarray(a) for a in answer) if isinstance(answer, tuple) else xp.asarray(answer)

    forward.__name__ = name
    return forward


# ---------------------------------------------------------------------------- copy


def copy(a: Any) -> Tensor:
    """`numpy.copy`: the values in new memory. The copy stays in the graph: gradients flow
    back through it to `a` unchanged (`t.detach().copy()` is a copy cut from the graph).

    >>> import minidiff as md
    >>> x = md.Tensor([1.0, 2.0], allow_grad=True)
    >>> y = md.copy(x)
    >>> (3 * y).sum().backward()
    >>> x.grad
    minidiff.Tensor([3., 3.])
    """
    a = as_tensor(a)
    return md.astype(a, dtype=a.dtype)  # astype always makes a new array


# ---------------------------------------------------------------------------- where elements are


def _isin(xp: Any, element: Any, test_elements: Any, assume_unique: bool = False, invert: bool = False,
          kind: Any = None) -> Any:
    # `kind` only when asked for: CuPy's isin does not take it
    extra = {} if kind is None else {"kind": kind}
    return _native_or_host("isin")(xp, element, test_elements, assume_unique=assume_unique, invert=invert, **extra)


def unravel_index(indices: Any, shape: Any, order: str = "C") -> tuple[Tensor, ...]:
    """`numpy.unravel_index`: the coordinates, one integer tensor per axis of `shape`, of
    each flat index in `indices`. Not differentiable.

    The original minidiff returned these stacked into one tensor; `md.stack(md.unravel_index(...))`
    gives that.

    >>> import minidiff as md
    >>> rows, cols = md.unravel_index(md.Tensor([1, 5, 11]), (3, 4))
    >>> rows, cols
    (minidiff.Tensor([0, 1, 2]), minidiff.Tensor([1, 1, 3]))
    """
    if isinstance(indices, Tensor):
        backend, data = indices.backend, indices.data
    else:
        backend = md.get_backend()
        data = backend.asarray(to_host(indices))
    if not isinstance(shape, (int, np.integer)):
        shape = tuple(int(n) for n in shape)
    coordinates = _native_or_host("unravel_index")(backend.xp, data, shape, order=order)
    return tuple(make_tensor(c, backend, None) for c in coordinates)


def _isin_batch(call: Callable[..., Any], args: tuple, batched: tuple, params: dict) -> Any:
    """Under `md.vmap`: a batch of elements against one set of test elements is one call (isin
    is elementwise in `element`); test elements that differ per example need a loop."""
    if batched[1]:
        return rules.per_example(call, args, batched, params)
    return call(*args, **params)


# ---------------------------------------------------------------------------- adding at indices


def _key_on(backend: Any, indices: Any) -> Any:
    """`indices` as an index of `backend`'s arrays: Tensors and arrays (also inside a tuple)
    as arrays of that backend; lists as arrays, as NumPy reads a list index."""
    if isinstance(indices, tuple):
        return tuple(_key_on(backend, k) for k in indices)
    if isinstance(indices, Tensor):
        if indices.backend is not backend:
            raise ValueError(
                f"index_add: the indices live on backend {indices.backend.name!r} and the target on "
                f"{backend.name!r}; move one with .to({backend.name!r})"
            )
        return indices.data
    if isinstance(indices, (list, np.ndarray)):
        return backend.asarray(np.asarray(indices))
    return indices


def index_add(a: Any, indices: Any, b: Any) -> Tensor:
    """`a` with `b` added at `a[indices]`, where repeated indices accumulate (`numpy.add.at`).

    Differentiable in `a` and `b`. When `a` is a Tensor that does not allow grad, the
    result is also written into `a`, as the original minidiff's `index_add` (and NumPy's
    `add.at`) did; the result is returned either way.

    >>> import minidiff as md
    >>> b = md.Tensor([1.0, 2.0, 3.0], allow_grad=True)
    >>> out = md.index_add(md.zeros(3), [0, 0, 2], b)
    >>> out
    minidiff.Tensor([3., 0., 3.], allow_grad=True)
    >>> (out * md.Tensor([10.0, 20.0, 30.0])).sum().backward()
    >>> b.grad
    minidiff.Tensor([10., 10., 30.])
    """
    target = a
    a, b = as_tensors(a, b)
    if not np.can_cast(b.dtype, a.dtype, "same_kind"):
        raise TypeError(
            f"index_add: cannot add values of dtype {b.dtype} into a target of dtype {a.dtype} "
            f"(NumPy's add.at refuses this cast too); cast one with astype"
        )
    spread = ops.scatter_add(b, shape=a.shape, key=_key_on(a.backend, indices))
    if spread.dtype != a.dtype:
        spread = md.astype(spread, dtype=a.dtype)
    in_place = isinstance(target, Tensor) and not target.allow_grad
    if in_place:
        # the sum must not record `a` itself: writing into it would make the graph stale
        a = make_tensor(a.backend.array(a.data), a.backend, None)
    out = a + spread
    if in_place:
        target[...] = out.detach()
    return out


def _index_add_reference(a: Any, indices: Any, b: Any) -> np.ndarray:
    out = np.array(a, copy=True)
    np.add.at(out, indices, b)
    return out


# ---------------------------------------------------------------------------- the ops

_INTS = np.array([[0, 3, 5], [7, 0, 2]])
_FLOATS = np.array([[0.0, 1.5, -2.0], [0.0, 0.0, 3.25]])

# Complex input: `copy` and `index_add` are linear with real coefficients (complex=True).
OPS = [
    Op(
        "copy",
        composite=copy,
        samples=(sample((3, 4)), sample(()), sample(_INTS, order=0)),
        complex=True,
    ),
    # Integer- or boolean-valued: their outputs never allow grad.
    Op(
        "argwhere",
        _native_or_host("argwhere"),
        batch=rules.per_example,  # how many indices depends on the values
        samples=(sample(_INTS), sample(_FLOATS), sample(np.zeros((2, 2))), sample(np.array(1.5))),
    ),
    Op(
        "isin",
        _isin,
        nargs=2,
        params={"assume_unique": False, "invert": False, "kind": None},
        batch=_isin_batch,
        samples=(
            sample(_INTS, np.array([0, 5, 9])),
            sample(_INTS, np.array([0, 5, 9]), invert=True),
            sample(_FLOATS, np.array([1.5, 3.25])),
            sample(_INTS, np.array([2, 3]), kind="table"),
        ),
    ),
    Op(
        "unravel_index",
        composite=unravel_index,
        doc="`numpy.unravel_index`: one integer Tensor of coordinates per axis of `shape`; integers, so never "
        "differentiated.",
        # `shape` as a keyword: a tuple of ints among a sample's arguments is drawn at random
        samples=(
            sample(np.array([0, 5, 11, 7]), shape=(3, 4), order=0),
            sample(np.array([[3, 0], [23, 12]]), shape=(2, 3, 4), order=0),
            sample(7, shape=(4, 2), order=0),
        ),
    ),
    Op(
        "index_add",
        composite=index_add,
        reference=_index_add_reference,
        doc="`a` with `b` added at `a[indices]`, repeated indices accumulating as in `numpy.add.at`; the result "
        "is also written into `a` when `a` is a Tensor that does not allow grad (as the original minidiff's "
        "`index_add` did).",
        samples=(
            sample((4, 3), np.array([0, 2, 2, 0, 3]), (5, 3)),  # repeated rows accumulate
            sample((4, 3), np.array([1, 3]), (3,)),  # values broadcast along the rows
            sample((3, 4), (np.array([0, 2, 2]), np.array([1, 1, 3])), (3,)),  # a repeated element
            sample((3, 4), (slice(None), np.array([[0], [3]])), (2, 1)),
            sample((3, 4), (slice(1, None), 2), ()),
            sample((5,), np.array([4, 4, 4]), 2.5),
        ),
        complex=True,
    ),
]


@hookimpl
def minidiff_register_ops(registry) -> None:
    for op in OPS:
        registry.add_op(op)
