"""Recorded in-place writes: `y[key] = v`, `y += v` and `out=` on tensors in a graph.

PyTorch's semantics. A write to a computed tensor that allows grad (or of a value that
allows grad) changes the tensor's values and replaces its node by a `setitem` node whose
inputs are the tensor's old value and the value written:

    y_old ──┐
            ├─ setitem[key] ─ y      d y / d y_old = g with g[key] zeroed
    v ──────┘                        d y / d v     = g[key] (the last write of a repeated index wins)

The tensor object keeps its identity and its buffer; its version counter goes up, so a
node that saved the old values (`exp`'s output, `sin`'s input) raises at backward instead
of using the new ones. A leaf that allows grad is refused outside `md.no_grad()`.

Views (`y[1:]`, `y.T`, `reshape`, ...) remember how they were taken from their parent. A
write through a view is recorded on the tensor at the root of the chain, at the positions
the view covers (found by taking the same view of the root's element numbers), and a
view used after its root changed is taken again, so it sees the write in values and in
gradients, as PyTorch regenerates a view's node.

    >>> import minidiff as md
    >>> x = md.Tensor([1.0, 2.0, 3.0], allow_grad=True)
    >>> v = md.Tensor(10.0, allow_grad=True)
    >>> y = x * 1
    >>> y[1:][0] = v            # a write through a view lands in y
    >>> (y * y).sum().backward()
    >>> x.grad, v.grad
    (minidiff.Tensor([2., 0., 6.]), minidiff.Tensor(20.))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minidiff.extend import Op
from minidiff.graph import FuncNode, grad_enabled, enable_grad, no_grad
from minidiff.optable import functions, ops
from minidiff._tensor import Tensor, make_tensor


def _old_rule(g: Tensor, ans: Any, old: Any, value: Any, key: Any, keep: Any, wins: Any, value_ndim: int) -> Tensor:
    # the old value survives where the write did not reach
    return g * keep


def _value_rule(g: Tensor, ans: Any, old: Any, value: Any, key: Any, keep: Any, wins: Any, value_ndim: int) -> Tensor:
    written = ops.getitem(g, key=key) if key is not Ellipsis else g
    if wins is not None:  # a repeated index: only its last write reached the result
        written = written * wins
    if written.ndim < value_ndim:  # NumPy lets the value carry extra leading axes of size 1
        written = ops.reshape(written, (1,) * (value_ndim - written.ndim) + written.shape)
    return written  # the engine sums a broadcast value down to its shape


#: the node of a recorded write; never called as an op (the write happens in place), so its
#: forward only says so
SETITEM = Op(
    "setitem",
    forward=lambda xp, old, value, **params: None,
    nargs=2,
    params={"key": None, "keep": None, "wins": None, "value_ndim": 0},
    vjp=(_old_rule, _value_rule),
    public=False,
    doc="`y[key] = value` recorded: the old value where not written, `value` where written.",
)


# ---------------------------------------------------------------------------- views


def note_view(out: Tensor, parent: Tensor, qualname: str, params: dict) -> None:
    """Record that `out` was taken from `parent` by `md.<qualname>(parent, **params)`."""
    out._view = (parent, qualname, params, out._version[0], out.node is not None)


def refresh(view: Tensor) -> None:
    """Take `view` again from its parent when the buffer changed since it was taken, so its
    values (on backends without shared memory) and its node follow the write."""
    stale = [view]  # the view, then each stale view it was taken from: refreshed outermost first
    parent = view._view[0]
    while parent._view is not None and parent._version[0] != parent._view[3]:
        stale.append(parent)  # a loop, not recursion: a chain of 10,000 views is fine
        parent = parent._view[0]
    for tensor in reversed(stale):
        parent, qualname, params, _, recorded = tensor._view
        with enable_grad(recorded or grad_enabled.get()):
            fresh = functions[qualname](parent, **params)
        tensor.data = fresh.data
        tensor.node = fresh.node
        tensor.allow_grad = fresh.allow_grad
        tensor._view = (parent, qualname, params, tensor._version[0], fresh.node is not None)


def _root_and_positions(view: Tensor) -> tuple[Tensor, Any]:
    """The tensor at the root of `view`'s chain of views, and for each element of `view` its
    flat position in that root's buffer (a backend integer array of `view`'s shape)."""
    chain = []
    root = view
    while root._view is not None:
        chain.append(root._view)
        root = root._view[0]
    backend = root.backend
    positions = make_tensor(backend.xp.reshape(backend.xp.arange(root.size), root.shape), backend, None)
    with no_grad():
        for _, qualname, params, _, _ in reversed(chain):
            positions = functions[qualname](positions, **params)
    return root, positions.data


# ---------------------------------------------------------------------------- writes


def needs_recording(target: Tensor, value: Any) -> bool:
    """Whether a write of `value` into `target` must be recorded in the graph."""
    if not grad_enabled.get():
        return False
    if target._view is not None:
        target = _root(target)
    if not target.backend.is_inexact(target.data.dtype):
        return False  # an integer or bool tensor holds a cast of the value: a constant, as `astype(int)` gives
    return target.allow_grad or (isinstance(value, Tensor) and value.allow_grad)


def _root(view: Tensor) -> Tensor:
    while view._view is not None:
        view = view._view[0]
    return view


def check_writable(target: Tensor, what: str) -> None:
    """Refuse a write to a leaf that allows grad outside `md.no_grad()`, as PyTorch does."""
    root = _root(target)
    if root.allow_grad and root.node is None and grad_enabled.get():
        raise RuntimeError(
            f"{what} on a tensor that allows grad would corrupt its gradient; do it inside "
            f"`with md.no_grad():` (as for a parameter update) or use an out-of-place op"
        )


def store(target: Tensor, key: Any, raw: Any) -> None:
    """`target[key] = raw` unrecorded (nothing in the write needs a gradient). On a backend
    whose views share no memory (MLX) a write through a view goes to its root."""
    if target._view is not None and not hasattr(target.data, "base"):
        root, coordinates = _root_coordinates(target, key)
        root.backend.setitem(root.data, coordinates, raw)
        root._version[0] += 1
        return
    target.backend.setitem(target.data, key, raw)
    target._version[0] += 1


def _root_coordinates(view: Tensor, key: Any) -> tuple[Tensor, tuple]:
    """The root of `view` and, as an index into it, the positions `view[key]` covers."""
    root, positions = _root_and_positions(view)
    flat = positions if key is Ellipsis else ops.getitem(make_tensor(positions, root.backend, None), key=key).data
    coordinates = np.unravel_index(np.asarray(root.backend.to_host(flat), dtype=np.int64), root.shape)
    return root, tuple(root.backend.asarray(c) for c in coordinates)


def write(target: Tensor, key: Any, value: Any) -> None:
    """`target[key] = value`, recorded in the graph (see the module docstring)."""
    from minidiff.dispatch import frozen_copy

    if target._view is not None:
        root, coordinates = _root_coordinates(target, key)
        write(root, coordinates, value)
        return
    if target._base is not None:
        raise RuntimeError(
            "a recorded write into a tensor that shares memory with another (a `detach()` of it, the output "
            "of an md.custom_vjp function) would change the other behind its graph's back; write into a "
            "copy (`t.copy()`) instead"
        )
    backend = target.backend
    key = frozen_copy(key, backend)
    value_tensor = value if isinstance(value, Tensor) else None
    raw = value.data if value_tensor is not None else value
    if value_tensor is not None and value_tensor._view is not None and value_tensor._version[0] != value_tensor._view[3]:
        refresh(value_tensor)
        raw = value_tensor.data
    keep = wins = None
    if key is not Ellipsis:
        # bool, an eighth of a float64 mask: `g * keep` keeps g's dtype
        keep_array = backend.xp.ones(target.shape, dtype=bool)
        backend.setitem(keep_array, key, False)
        keep = make_tensor(keep_array, backend, None)
        wins = _winners(target, key)
    value_ndim = len(getattr(raw, "shape", ()))
    # a write of the whole tensor leaves nothing of the old value to differentiate
    old = target.node.as_input(target) if target.allow_grad and key is not Ellipsis else None
    if value_tensor is not None and value_tensor.allow_grad:
        new = value_tensor.node.as_input(value_tensor) if value_tensor.node is not None else value_tensor
        value_version = value_tensor._version[0]
    else:
        new, value_version = None, 0
    backend.setitem(target.data, key, raw)
    target._version[0] += 1
    params = {"key": key, "keep": keep, "wins": wins, "value_ndim": value_ndim}
    target.node = FuncNode(SETITEM, (old, new), params, (0, value_version))
    target.allow_grad = True


def _integer_array(backend: Any, k: Any) -> bool:
    if isinstance(k, (list, tuple)):
        return True  # a list index: NumPy makes it an array (of ints, or of bools: then no repeats either)
    dtype = getattr(k, "dtype", None)
    return dtype is not None and getattr(k, "ndim", 0) >= 0 and backend.host_dtype(dtype).kind in "iu"


def _winners(target: Tensor, key: Any) -> Tensor | None:
    """For each element `target[key]` selects, whether it is the last write to its position
    (None when every one is: no index repeats)."""
    backend = target.backend
    xp = backend.xp
    parts = key if type(key) is tuple else (key,)
    if not any(_integer_array(backend, k) for k in parts):
        return None  # slices, ints and masks select each position once
    with no_grad():
        selected_shape = ops.getitem(make_tensor(xp.zeros(target.shape), backend, None), key=key).shape
    count = int(np.prod(selected_shape, dtype=np.int64))
    if count <= 1:
        return None
    owner = xp.full(target.shape, -1, dtype=xp.int64) if hasattr(xp, "int64") else xp.full(target.shape, -1)
    ids = xp.reshape(xp.arange(count), selected_shape)
    backend.setitem(owner, key, ids)
    with no_grad():
        landed = ops.getitem(make_tensor(owner, backend, None), key=key).data
    wins = landed == ids
    if bool(backend.to_host(wins).all()):
        return None
    return make_tensor(wins, backend, None)
