"""`md.compile`: trace a step once per signature, replay the program afterwards."""

from __future__ import annotations

import functools
import warnings
from collections import OrderedDict
from typing import Any, Callable, TypeVar, overload

from minidiff.graph import grad_enabled
from minidiff.lazy import tracing
from minidiff._tensor import Tensor, make_tensor

from minidiff.compiler import trace as tracer
from minidiff.compiler.errors import CompileWarning
from minidiff.compiler.fusion import optimize
from minidiff.compiler.program import Program
from minidiff.compiler.trace import Build, GradWrite, Ref, Trace

F = TypeVar("F", bound=Callable[..., Any])

#: how many signatures a compiled function keeps by default (least recently used goes first)
CACHE_SIZE = 8
_EAGER = "eager"  # a signature whose trace read a value: it runs eagerly from then on
_SCALARS = frozenset({int, float, bool, complex, str, type(None)})


@overload
def compile(fn: F, *, strict: bool = ..., fuse: bool = ..., cache_size: int = ...) -> F: ...
@overload
def compile(fn: None = None, *, strict: bool = ..., fuse: bool = ..., cache_size: int = ...) -> Callable[[F], F]: ...


def compile(  # noqa: A001 - the public name is md.compile, as jax.jit / torch.compile
    fn: Callable[..., Any] | None = None, *, strict: bool = False, fuse: bool = True, cache_size: int = CACHE_SIZE
) -> Any:
    """Compile a step: the first call with a given signature runs `fn` eagerly and records
    every kernel it runs (forward, `backward()`, `md.grad`, in-place updates); later calls
    with that signature replay the recording without building a graph.

    The signature is the tensor arguments' shapes, dtypes, backends and `allow_grad` (found
    in nested tuples, lists and dicts), the other arguments' values (or identity), and the
    grad mode. Tensors `fn` uses without taking them as arguments (a model's weights) are
    read by reference at each call: in-place updates to them (`w -= lr * g` under
    `md.no_grad()`, inside the step or outside) are seen; to use *other* tensors, pass them
    as arguments. Outputs come back as Tensors without a graph, and `.grad` of the tensors
    that `backward()` reached is set as eagerly. `cache_size` signatures are kept, the least
    recently used dropped first.

    If `fn` hands a tensor's value to Python while tracing (`if loss > 0`, `float(t)`,
    `.item()`, printing) or draws from `md.random`, that call finishes eagerly and the
    signature stays eager, with one `md.CompileWarning` naming the line; `strict=True` raises
    `md.CompileError` instead. `fuse=False` replays kernel by kernel (bitwise equal to eager);
    with `fuse=True` chains of elementwise ops run as one numexpr expression on NumPy (when
    numexpr is installed) and the program goes through the backend's compiler where it has
    one (`mx.compile` on MLX): equal within float rounding.

    >>> import minidiff as md
    >>> @md.compile
    ... def step(w, x):
    ...     loss = ((w * x).sum() - 1.0) ** 2
    ...     loss.backward()
    ...     with md.no_grad():
    ...         w -= 0.1 * w.grad   # in place: part of the program
    ...     return loss
    >>> w = md.Tensor([1.0, 2.0], allow_grad=True)
    >>> [round(float(step(w, md.Tensor([1.0, 1.0]))), 4) for _ in range(3)]
    [4.0, 1.44, 0.5184]
    >>> w
    minidiff.Tensor([0.216, 1.216], allow_grad=True)
    """
    if fn is None:
        return lambda f: Compiled(f, strict=strict, fuse=fuse, cache_size=cache_size)
    return Compiled(fn, strict=strict, fuse=fuse, cache_size=cache_size)


class _Entry:
    """One signature's program, and how to turn its results back into what `fn` returned."""

    __slots__ = ("program", "run", "template", "writes", "grad_inputs", "grad_specs", "grad_none", "keep")

    def __init__(
        self, program: Program, template: Any, writes: list, grad_inputs: list, grad_metas: list, keep: list[Any]
    ) -> None:
        self.program = program
        self.run = program.function
        self.template = template
        self.writes = writes
        self.grad_inputs = grad_inputs
        self.grad_specs = [meta[:2] for meta in grad_metas]  # as the trace read them
        self.grad_none: list[tuple] = []  # tensors whose .grad the trace found None (and branched on)
        self.keep = keep  # the argument objects the signature holds by identity


class Compiled:
    """A compiled function (what `md.compile(fn)` returns); call it as `fn`."""

    def __init__(self, fn: Callable[..., Any], *, strict: bool, fuse: bool, cache_size: int) -> None:
        if not callable(fn):
            raise TypeError(f"md.compile takes a function, got {type(fn).__name__}")
        if cache_size < 1:
            raise ValueError(f"md.compile: cache_size must be at least 1, got {cache_size}")
        self.fn = fn
        self.strict = strict
        self.fuse = fuse
        self.cache_size = cache_size
        self.cache: OrderedDict[Any, Any] = OrderedDict()
        self.traces = 0  # how many times `fn` was traced (a new signature, or after eviction)
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<md.compile of {getattr(self.fn, '__qualname__', self.fn)!r}, {len(self.cache)} signature(s)>"

    def clear(self) -> None:
        """Forget every signature's program."""
        self.cache.clear()

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        # as a method decorator: bind like a function
        return self if instance is None else functools.partial(self, instance)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        active = tracing.get()
        if active is not None:  # inside another trace: this call is part of that one
            return self.fn(*args, **kwargs)
        tensors: list[Tensor] = []
        held: list[Any] = []
        key = _signature(args, kwargs, tensors, held)
        entry = self.cache.get(key)
        if entry is None:
            return self._trace(key, tensors, held, args, kwargs)
        if entry is _EAGER:
            self.cache.move_to_end(key)
            return self.fn(*args, **kwargs)
        # the `.grad`s the program reads, or found None, must still be so: else trace again
        for owner, (shape, dtype) in zip(entry.grad_inputs, entry.grad_specs):
            g = owner.grad
            if g is None or g.data.shape != shape or g.data.dtype != dtype:
                return self._trace(key, tensors, held, args, kwargs)
        for kind, owner in entry.grad_none:
            if (tensors[owner] if kind == "arg" else owner).grad is not None:
                return self._trace(key, tensors, held, args, kwargs)
        self.cache.move_to_end(key)
        return _replay(entry, tensors)

    def _trace(self, key: Any, tensors: list[Tensor], held: list[Any], args: tuple, kwargs: dict) -> Any:
        self.traces += 1
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        trace = Trace(tensors, self.strict, name)
        tracer.install()
        token = tracing.set(trace)
        try:
            result = self.fn(*args, **kwargs)
        finally:
            tracing.reset(token)
            tracer.uninstall()
        self.cache[key] = _EAGER if trace.stopped is not None else self._build(trace, result, tensors, held)
        if len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        if trace.stopped is not None:
            what, where = trace.stopped
            warnings.warn_explicit(
                f"md.compile: {what} at {where} reads a tensor's value while tracing {name}; calls with "
                f"this signature run eagerly (use minidiff ops such as md.where instead, or "
                f"md.compile(..., strict=True) to make this an error)",
                CompileWarning,
                *_file_and_line(where),
            )
            return result
        return _detached(result, trace)

    def _build(self, trace: Trace, result: Any, tensors: list[Tensor], held: list[Any]) -> _Entry:
        results: list[Any] = []
        template = _template(result, trace, results)
        writes = []
        for step in trace.steps:
            if type(step) is GradWrite:
                slot = None
                if step.value is not None:
                    slot = len(results)
                    results.append(step.value)
                writes.append((step.owner, slot, step.backend, type(step.value) is not Ref))
        steps = [s for s in trace.steps if type(s) is not GradWrite]
        inputs = {f"a{i}": _meta(t.data) for i, t in enumerate(tensors)}
        inputs.update((f"g{i}", meta) for i, meta in enumerate(trace.grad_metas))
        program = optimize(
            steps, len(tensors), len(trace.grad_inputs), results, self.fuse, _one_backend(trace, tensors), inputs,
            trace.shared,
        )
        entry = _Entry(program, template, writes, trace.grad_inputs, trace.grad_metas, held)
        # the first read of each tensor's .grad decides; later reads see what the call wrote
        seen: set[Any] = set()
        for kind, owner in trace.grad_none:
            if (kind, id(owner)) not in seen:
                seen.add((kind, id(owner)))
                entry.grad_none.append((kind, owner))
        return entry


def _meta(array: Any) -> tuple:
    return (array.shape, array.dtype, type(array))


def _one_backend(trace: Trace, tensors: list[Tensor]) -> Any:
    """The one backend the step's tensors live on, or None when it mixes several."""
    backends = {id(t.backend): t.backend for t in [*tensors, *trace.keep] if type(t) is Tensor}
    return next(iter(backends.values())) if len(backends) == 1 else None


def _file_and_line(where: str) -> tuple[str, int]:
    filename, _, line = where.rpartition(":")
    return (filename, int(line)) if line.isdigit() else (where, 0)


def _signature(args: tuple, kwargs: dict, tensors: list[Tensor], held: list[Any]) -> Any:
    """The cache key of a call; fills `tensors` with its tensor arguments, in order, and
    `held` with the arguments the key names by identity (kept alive with the program, so
    their ids are not reused)."""
    key: list[Any] = [grad_enabled.get()]
    _flatten(args, key, tensors, held)
    if kwargs:
        _flatten(kwargs, key, tensors, held)
    ids = [id(t.data) for t in tensors]
    if len(set(ids)) != len(ids):  # the same array twice: the program must read it twice too
        key.append(tuple(ids.index(i) for i in ids))
    return tuple(key)


def _flatten(value: Any, key: list[Any], tensors: list[Tensor], held: list[Any]) -> None:
    kind = type(value)
    if kind is Tensor:
        data = value.data
        tensors.append(value)
        key.append((data.shape, data.dtype, id(value.backend), value.allow_grad))
    elif kind is tuple or kind is list:
        key.append((kind, len(value)))
        for item in value:
            _flatten(item, key, tensors, held)
    elif kind is dict:
        key.append((dict, tuple(value)))
        for item in value.values():
            _flatten(item, key, tensors, held)
    elif kind in _SCALARS:
        key.append((kind, value))
    else:  # anything else is part of the step as it is: by identity
        key.append((kind, id(value)))
        held.append(value)


def _template(value: Any, trace: Trace, results: list[Any]) -> Any:
    """What the call returned, with each tensor computed by the step replaced by the
    position of its array among the program's results."""
    kind = type(value)
    if kind is Tensor:
        if id(value) in trace.arg_ids:
            return ("arg", trace.arg_ids[id(value)])
        if id(value) not in trace.made:
            return ("obj", value)  # a tensor from before the call, returned as it is
        resolved = trace.resolve(value.data)
        results.append(resolved)
        return ("new", len(results) - 1, value.backend, type(resolved) is not Ref)
    if kind is tuple or kind is list:
        return ("seq", kind, [_template(v, trace, results) for v in value])
    if kind is dict:
        return ("dict", [(k, _template(v, trace, results)) for k, v in value.items()])
    return ("const", value)


def _rebuild(template: tuple, values: tuple, tensors: list[Tensor]) -> Any:
    tag = template[0]
    if tag == "new":
        data = values[template[1]]
        backend = template[2]
        if template[3]:  # a constant: a copy, so changing the result changes no later call's
            data = backend.array(data)
        return make_tensor(data, backend, None)
    if tag == "arg":
        return tensors[template[1]]
    if tag == "obj" or tag == "const":
        return template[1]
    if tag == "seq":
        return template[1](_rebuild(t, values, tensors) for t in template[2])
    return {k: _rebuild(t, values, tensors) for k, t in template[1]}


def _replay(entry: _Entry, tensors: list[Tensor]) -> Any:
    arrays = [t.data for t in tensors]
    if entry.grad_inputs:
        arrays.extend(owner.grad.data for owner in entry.grad_inputs)
    values = entry.run(*arrays)
    for owner, slot, backend, constant in entry.writes:
        target = tensors[owner[1]] if owner[0] == "arg" else owner[1]
        if slot is None:
            target.grad = None
        else:
            data = values[slot]
            target.grad = make_tensor(backend.array(data) if constant else data, backend, None)
    template = entry.template
    if template[0] == "new" and not template[3]:  # one tensor: the common case, without the walk
        return make_tensor(values[template[1]], template[2], None)
    return _rebuild(template, values, tensors)


def _detached(value: Any, trace: Trace) -> Any:
    """The traced call's result as a replay returns it: tensors computed by the step without a graph."""
    kind = type(value)
    if kind is Tensor:
        if id(value) in trace.made:
            return make_tensor(value.data, value.backend, None)
        return value
    if kind is tuple or kind is list:
        return kind(_detached(v, trace) for v in value)
    if kind is dict:
        return {k: _detached(v, trace) for k, v in value.items()}
    return value
