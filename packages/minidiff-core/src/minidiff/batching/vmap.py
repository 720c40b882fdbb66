"""`md.vmap`: a function of one example, run on a batch of them, with JAX's semantics."""

from __future__ import annotations

import functools
from typing import Any, Callable

from minidiff.batching.tensor import BatchedTensor, Level, levels, new_level
from minidiff.factories import asarray
from minidiff.optable import ops
from minidiff._tensor import Tensor

Axes = Any  # an int, None, or a tuple/list/dict of them mirroring the arguments (a prefix of their structure)


def vmap(f: Callable[..., Any], in_axes: Axes = 0, out_axes: Axes = 0, *, axis_size: int | None = None) -> Callable[..., Any]:
    """`f` mapped over a batch axis of its arguments: `vmap(f)(xs)[i]` is `f(xs[i])`, computed
    by batched ops rather than a Python loop.

    - `in_axes`: the axis of each argument that is the batch (an int, negatives allowed), or
      None for an argument shared by every example; one value for all arguments, or a
      tuple/list with one entry per positional argument, each entry itself an int/None or a
      tuple/list/dict mirroring that argument's structure. Keyword arguments are mapped over
      axis 0.
    - `out_axes`: where the batch axis goes in each output, the same way (None: the output
      does not depend on the batch and is returned once).
    - `axis_size`: the batch size, needed only when no argument is mapped.

    Composes with itself and with `md.grad`, `md.jacobian`, `md.hessian`, ...:
    `md.vmap(md.grad(loss), in_axes=(None, 0, 0))(w, xs, ys)` gives per-example gradients.

    >>> import minidiff as md
    >>> xs = md.Tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> md.vmap(lambda x: x @ x)(xs)
    minidiff.Tensor([ 5., 25., 61.])
    >>> md.vmap(md.grad(lambda w, x: md.sum(md.sin(w * x))), in_axes=(None, 0))(md.Tensor([1.0, 0.5]), xs).shape
    (3, 2)
    """
    if axis_size is not None and (not isinstance(axis_size, int) or axis_size < 0):
        raise ValueError(f"md.vmap: axis_size must be an int >= 0, got {axis_size!r}")

    @functools.wraps(f)
    def batched(*args: Any, **kwargs: Any) -> Any:
        top = tuple(in_axes) if isinstance(in_axes, list) else in_axes
        if isinstance(top, tuple) and len(top) != len(args):
            raise ValueError(
                f"md.vmap: in_axes has {len(top)} entries but the function was called with {len(args)} positional "
                f"argument(s); give one entry per argument (None for one that is not mapped)"
            )
        sizes: list[tuple[str, int]] = []
        moved_args = _map(args, top, lambda leaf, axis, path: _to_front(leaf, axis, path, sizes), "argument")
        moved_kwargs = _map(kwargs, 0, lambda leaf, axis, path: _to_front(leaf, axis, path, sizes), "argument")
        size = _size(sizes, axis_size)
        level = new_level(size)
        token = levels.set(levels.get() + (level,))
        try:
            out = f(*_wrap(moved_args, level), **_wrap(moved_kwargs, level))
            return _map(out, out_axes, lambda leaf, axis, path: _from_front(leaf, axis, path, level), "output")
        finally:
            levels.reset(token)

    return batched


class _Mapped:
    """An argument leaf moved to have its batch on axis 0, until `f` is called."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _to_front(leaf: Any, axis: int | None, path: str, sizes: list[tuple[str, int]]) -> Any:
    if axis is None:
        return leaf
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise TypeError(f"md.vmap: in_axes entries must be ints or None, got {axis!r} for {path}")
    if not isinstance(leaf, (Tensor, BatchedTensor)):
        if isinstance(leaf, (int, float, complex, bool)) or leaf is None:
            raise ValueError(
                f"md.vmap: {path} is a {type(leaf).__name__}, which has no axis {axis} to map over; give it "
                f"in_axes None"
            )
        leaf = asarray(leaf)  # a NumPy array or a nested list
    ndim = len(leaf.shape)
    if not -ndim <= axis < ndim:
        raise ValueError(f"md.vmap: in_axes {axis} for {path}, of shape {tuple(leaf.shape)}, is out of range")
    sizes.append((path, leaf.shape[axis]))
    return _Mapped(leaf if axis % ndim == 0 else ops.moveaxis(leaf, axis, 0))


def _size(sizes: list[tuple[str, int]], axis_size: int | None) -> int:
    found = {n for _, n in sizes}
    if axis_size is not None:
        found.add(axis_size)
    if not found:
        raise ValueError("md.vmap: no argument is mapped (every in_axes is None); give axis_size= for the batch size")
    if len(found) > 1:
        listed = ", ".join(f"{path} has {n}" for path, n in sizes)
        given = f" and axis_size={axis_size}" if axis_size is not None else ""
        raise ValueError(f"md.vmap: the mapped axes have different sizes: {listed}{given}")
    return found.pop()


def _wrap(tree: Any, level: Level) -> Any:
    if isinstance(tree, _Mapped):
        return BatchedTensor(tree.value, level)
    if isinstance(tree, dict):
        return {k: _wrap(v, level) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return _rebuild(tree, [_wrap(v, level) for v in tree])
    return tree


def _from_front(leaf: Any, axis: int | None, path: str, level: Level) -> Any:
    mapped = type(leaf) is BatchedTensor and leaf.level is level
    if axis is None:
        if mapped:
            raise ValueError(
                f"md.vmap: out_axes is None for {path}, but it depends on the mapped inputs (it differs per batch "
                f"element); give it an axis"
            )
        return leaf
    if mapped:
        physical = leaf.value
    else:  # the same for every example: one copy each, as JAX does
        if not hasattr(leaf, "shape") and not isinstance(leaf, (int, float, complex, bool)):
            raise TypeError(f"md.vmap: {path} is a {type(leaf).__name__}, not a tensor or a number")
        value = leaf if hasattr(leaf, "shape") else asarray(leaf)
        physical = ops.broadcast_to(ops.expand_dims(value, axis=0), shape=(level.size, *value.shape))
    ndim = len(physical.shape)
    if not -ndim <= axis < ndim:
        raise ValueError(f"md.vmap: out_axes {axis} for {path}, of {ndim - 1} dimension(s), is out of range")
    return physical if axis % ndim == 0 else ops.moveaxis(physical, 0, axis)


def _map(tree: Any, axes: Axes, leaf_fn: Callable[[Any, Any, str], Any], what: str, path: str = "") -> Any:
    """`leaf_fn(leaf, axis, path)` on each leaf of `tree`, with `axes` a prefix of its structure."""
    here = path or what
    if axes is None or isinstance(axes, int):
        if isinstance(tree, dict):
            return {k: _map(v, axes, leaf_fn, what, f"{here}[{k!r}]") for k, v in tree.items()}
        if isinstance(tree, (tuple, list)) and not hasattr(tree, "shape"):
            if not path and what == "argument":
                return tuple(_map(v, axes, leaf_fn, what, f"argument {i}") for i, v in enumerate(tree))
            return _rebuild(tree, [_map(v, axes, leaf_fn, what, f"{here}[{i}]") for i, v in enumerate(tree)])
        return leaf_fn(tree, axes, here)
    if isinstance(axes, (tuple, list)):
        if not isinstance(tree, (tuple, list)) or len(tree) != len(axes):
            got = f"{len(tree)} items" if isinstance(tree, (tuple, list)) else f"a {type(tree).__name__}"
            raise ValueError(f"md.vmap: {what} axes {axes!r} do not match the structure of {here} ({got})")
        if not path and what == "argument":
            return tuple(_map(v, a, leaf_fn, what, f"argument {i}") for i, (v, a) in enumerate(zip(tree, axes)))
        return _rebuild(tree, [_map(v, a, leaf_fn, what, f"{here}[{i}]") for i, (v, a) in enumerate(zip(tree, axes))])
    if isinstance(axes, dict):
        if not isinstance(tree, dict) or set(tree) != set(axes):
            raise ValueError(f"md.vmap: {what} axes with keys {sorted(axes)} do not match {here}")
        return {k: _map(v, axes[k], leaf_fn, what, f"{here}[{k!r}]") for k, v in tree.items()}
    raise TypeError(f"md.vmap: {what} axes must be an int, None, or a tuple/list/dict of them, got {axes!r}")


def _rebuild(like: Any, items: list) -> Any:
    if isinstance(like, list):
        return items
    if hasattr(like, "_fields"):  # a named tuple
        return type(like)(*items)
    return tuple(items)
