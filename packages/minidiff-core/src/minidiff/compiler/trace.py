"""Capture: run a step eagerly once and record every backend call it makes.

While a trace runs, four things are switched on (and off again when the last trace ends),
so the eager path pays nothing when no trace is running:

- the kernel caches of `minidiff.dispatch` are emptied and rebuilt with recording kernels,
  so every op's forward kernel call (the forward pass, the backward rules' ops, the
  engine's unbroadcasting and accumulation, higher orders) is recorded as one call;
- the `Backend` methods that make or write arrays outside kernels (`array`, `asarray`,
  `astype`, `from_host`, `update`, `setitem`, `scatter_add`) record their calls too, so a
  copy the engine makes, a `Tensor(...)` built inside the step and an in-place
  `w -= lr * g` are part of the program;
- each backend's array namespace `backend.xp` becomes a recording one, so library code that
  calls it directly on arrays (`md.vmap` stacking its inputs, the engine's seed of ones)
  is recorded too; a call there that returns a Python number computed from the step's
  arrays is a value read;
- the `Tensor` methods that hand a value to Python (`bool(t)`, `float(t)`, `t.item()`,
  `t.numpy()`, `np.asarray(t)`, printing) and `md.random`'s draws report to the trace, which
  then stops recording: the call finishes eagerly and the signature stays eager;
- `Tensor.grad` becomes a property that reports reads of gradients made before the call
  (accumulation with `reset_grads=False`, read afresh at each replay) and writes of
  `.grad` on tensors that existed before it (replayed onto the same tensors).

Each recorded call is a `Step` whose array arguments are `Ref`s to the step's inputs or to
earlier results; any other value (a Python number, a shape, an array the step did not
compute, such as a weight it closes over) is kept as it is, by reference, so an in-place
update of a weight between calls is seen by the next replay.
"""

from __future__ import annotations

import os
import sys
import threading
from functools import partial
from types import ModuleType
from typing import Any, Callable

from minidiff import dispatch
from minidiff.backend import Backend
from minidiff.lazy import tracing
from minidiff._tensor import Tensor

from minidiff.compiler.errors import CompileError

#: Backend methods that make or write arrays: recorded like kernels
RECORDED_METHODS = ("array", "asarray", "astype", "from_host", "update", "setitem", "scatter_add")
#: the `Step.op` of a recorded write into an existing array: fusion keeps reads on their side of it
WRITES = "writes"
#: how a call through a recording `backend.xp` is recorded: a result that is not an array is
#: not replayed (a dtype, a shape), or is a value read (a number computed from the step's arrays)
QUERY = "query"
_NUMBERS = frozenset({bool, int, float, complex})
#: Backend methods that hand values to the host: a value read
READING_METHODS = ("to_host", "compute")
#: Tensor methods that hand a value to Python, with how the warning names them
READING_TENSOR_METHODS = {
    "item": "t.item()",
    "tolist": "t.tolist()",
    "numpy": "t.numpy()",
    "__array__": "np.asarray(t)",
    "__bool__": "bool(t) (an `if` or `while` on a tensor)",
    "__float__": "float(t)",
    "__int__": "int(t)",
    "__complex__": "complex(t)",
    "__index__": "a tensor used as an index",
    "__format__": "format(t)",
    "__repr__": "repr(t) (printing a tensor)",
}
#: results that are not arrays and never stand for one (update's bool, setitem's None)
_PLAIN = frozenset({bool, int, float, complex, str, type(None)})
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Ref:
    """A value known only at replay: `expr` in the replay function's source (`v3`, `a0`)."""

    __slots__ = ("expr",)

    def __init__(self, expr: str) -> None:
        self.expr = expr

    def __repr__(self) -> str:
        return self.expr


class Build:
    """A tuple, list or dict holding `Ref`s (`concatenate`'s operands, an index key)."""

    __slots__ = ("kind", "items")

    def __init__(self, kind: type, items: list) -> None:
        self.kind = kind
        self.items = items


class Step:
    """One recorded call: `out = fn(*args, **kwargs)`; `op` is the op whose kernel it is."""

    __slots__ = ("fn", "op", "args", "kwargs", "out", "meta")

    def __init__(self, fn: Callable[..., Any], op: Any, args: tuple, kwargs: dict, out: str | None) -> None:
        self.fn, self.op, self.args, self.kwargs, self.out = fn, op, args, kwargs, out
        self.meta: Any = None  # what fusion needs to know of the result (its shape and dtype)


class GradWrite:
    """`owner.grad = value` on a tensor that existed before the call, replayed onto it.
    `owner` is `("arg", i)` (the i-th tensor argument) or `("obj", tensor)`."""

    __slots__ = ("owner", "value", "backend")

    def __init__(self, owner: tuple, value: Any, backend: Any) -> None:
        self.owner, self.value, self.backend = owner, value, backend


class Trace:
    """What one traced call recorded. `active` turns False when the call read a value."""

    def __init__(self, arg_tensors: list[Tensor], strict: bool, name: str) -> None:
        self.active = True
        self.depth = 0
        self.strict = strict
        self.name = name
        self.names: dict[int, str] = {}  # id(array) -> its expression at replay
        self.keep: list[Any] = []  # what `names` refers to, alive so no id is reused
        self.steps: list[Step | GradWrite] = []
        self.produced: set[int] = set()  # ids of the arrays recorded calls returned
        self.made: set[int] = set()  # ids of the tensors made during the call
        self.grad_owners: dict[int, Tensor] = {}  # id(gradient array from before) -> its tensor
        self.grad_inputs: list[Tensor] = []  # tensors whose current .grad is an input at replay
        self.grad_metas: list[tuple] = []  # (shape, dtype, type) of those gradients when read
        self.grad_none: list[tuple] = []  # tensors from before the call whose .grad was read as None
        self.grad_written: set[int] = set()  # ids of the tensors whose .grad the call wrote
        self.shared: set[str] = set()  # values that share memory with another value
        self.stopped: tuple[str, str] | None = None  # (what read a value, where)
        self.arg_ids = {id(t): i for i, t in enumerate(arg_tensors)}
        self.count = 0
        for i, t in enumerate(arg_tensors):
            self._name(t.data, f"a{i}")

    def _name(self, value: Any, expr: str) -> None:
        self.names[id(value)] = expr
        self.keep.append(value)

    # ------------------------------------------------------------------ recording

    def record(self, fn: Callable[..., Any], op: Any, args: tuple, kwargs: dict, out: Any) -> None:
        resolve = self.resolve
        step = Step(fn, op, tuple([resolve(a) for a in args]), {k: resolve(v) for k, v in kwargs.items()}, None)
        if op is QUERY:
            kind = type(out)
            if out is not None and (kind in _PLAIN or isinstance(out, (type, tuple)) or hasattr(out, "kind")):
                if kind in _NUMBERS and (_has_ref(step.args) or _has_ref(tuple(step.kwargs.values()))):
                    self.value_read(f"xp.{getattr(fn, '__name__', 'function')}(...) returning a number")
                return  # a dtype, a shape, a flag: fixed by the signature, nothing to replay
            step.op = None
        if type(out) not in _PLAIN:
            step.out = name = f"v{self.count}"
            self.count += 1
            earlier = self.names.get(id(out))
            if earlier is not None:  # the same array under two names: neither may be written over
                self.shared.update((earlier.partition("[")[0], name))
            self._name(out, name)
            self.produced.add(id(out))
            if type(out) is tuple or type(out) is list:
                for i, item in enumerate(out):
                    if type(item) not in _PLAIN:
                        self._name(item, f"{name}[{i}]")
                        self.produced.add(id(item))
            else:
                base = getattr(out, "base", None)
                if base is not None:  # a view: what it views must not be written over
                    viewed = self.names.get(id(base))
                    if viewed is not None:
                        self.shared.add(viewed.partition("[")[0])
                flags = getattr(out, "flags", None)
                owns = base is None and flags is not None and bool(flags.c_contiguous) and bool(flags.writeable)
                step.meta = (getattr(out, "shape", None), getattr(out, "dtype", None), type(out), owns)
        self.steps.append(step)

    def resolve(self, value: Any) -> Any:
        """`value` with every array the replay computes or receives replaced by its `Ref`."""
        expr = self.names.get(id(value))
        if expr is not None:
            return Ref(expr)
        kind = type(value)
        if kind is tuple or kind is list:
            items = [self.resolve(v) for v in value]
            if any(type(i) is Ref or type(i) is Build for i in items):
                return Build(kind, items)
            return value
        if kind is dict:
            resolved = {k: self.resolve(v) for k, v in value.items()}
            if any(type(i) is Ref or type(i) is Build for i in resolved.values()):
                return Build(dict, list(resolved.items()))
            return value
        owner = self.grad_owners.get(id(value))
        if owner is not None:  # a gradient from before the call: read afresh at each replay
            expr = f"g{len(self.grad_inputs)}"
            self.grad_inputs.append(owner)
            self.grad_metas.append((getattr(value, "shape", None), getattr(value, "dtype", None), type(value)))
            self._name(value, expr)
            return Ref(expr)
        return value

    def owner_ref(self, tensor: Tensor) -> tuple:
        position = self.arg_ids.get(id(tensor))
        return ("arg", position) if position is not None else ("obj", tensor)

    def note_grad_read(self, owner: Tensor, g: Tensor) -> None:
        if id(g.data) not in self.names and id(owner) not in self.grad_written:
            self.grad_owners[id(g.data)] = owner
            self.keep.append(g)

    def note_grad_write(self, owner: Tensor, value: Any) -> None:
        if id(owner) in self.made:
            return  # a tensor made inside the step: rebuilt, not written to
        self.grad_written.add(id(owner))
        resolved = None if value is None else self.resolve(value.data)
        self.steps.append(GradWrite(self.owner_ref(owner), resolved, owner.backend))
        self.keep.append(owner)

    def value_read(self, what: str) -> None:
        """The traced function handed a tensor's value to Python: its control flow may depend on
        it, so the program cannot stand for later calls."""
        where = user_location()
        if self.strict:
            raise CompileError(
                f"md.compile(strict=True): {what} at {where} reads a tensor's value while tracing "
                f"{self.name}, so the step's Python code may depend on it and it cannot be replayed; "
                f"compute with minidiff ops instead (md.where for a branch), or drop strict=True to run "
                f"such calls eagerly"
            )
        self.active = False
        self.stopped = (what, where)


def _has_ref(values: Any) -> bool:
    for value in values:
        kind = type(value)
        if kind is Ref or (kind is Build and _has_ref([v for _, v in value.items] if value.kind is dict else value.items)):
            return True
    return False


def user_location() -> str:
    """`file:line` of the innermost frame outside minidiff: the user's code that read."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


# ------------------------------------------------------------------------------ hooks


def recording(fn: Callable[..., Any], op: Any = None) -> Callable[..., Any]:
    """`fn`, recording each outermost call made while a trace is active in this context."""

    def recorded(*args: Any, **kwargs: Any) -> Any:
        trace = tracing.get()
        if trace is None or not trace.active or trace.depth:
            return fn(*args, **kwargs)
        trace.depth = 1  # calls made inside `fn` belong to this one
        try:
            out = fn(*args, **kwargs)
        finally:
            trace.depth = 0
        trace.record(fn, op, args, kwargs, out)
        return out

    recorded.__wrapped__ = fn  # type: ignore[attr-defined]
    recorded.__md_recorded__ = fn  # type: ignore[attr-defined]
    return recorded


class _RecordingNamespace:
    """`backend.xp` while tracing: its functions record their calls (submodules such as
    `xp.linalg` too); classes and constants (dtypes, `newaxis`) are the namespace's own."""

    def __init__(self, xp: Any) -> None:
        self._xp = xp
        self._made: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        made = self._made.get(name)
        if made is not None:
            return made
        value = getattr(self._xp, name)
        if isinstance(value, type) or not callable(value):
            made = _RecordingNamespace(value) if isinstance(value, ModuleType) else value
        else:
            made = recording(value, QUERY)
        self._made[name] = made
        return made


def _real(kernel: Callable[..., Any]) -> Callable[..., Any]:
    """`kernel` as built outside a trace: a kernel built while `backend.xp` records calls
    the namespace's own functions, not their recording wrappers."""
    inner = getattr(kernel, "__md_recorded__", None)
    if inner is not None:
        return inner
    if type(kernel) is partial and kernel.args and type(kernel.args[0]) is _RecordingNamespace:
        return partial(kernel.func, kernel.args[0]._xp, *kernel.args[1:], **kernel.keywords)
    return kernel


def _record_kernel(kernel: Callable[..., Any], op: Any) -> Callable[..., Any]:
    return recording(_real(kernel), op)


def _reading(method: Callable[..., Any], what: str) -> Callable[..., Any]:
    def read(*args: Any, **kwargs: Any) -> Any:
        trace = tracing.get()
        if trace is not None and trace.active and not trace.depth:
            trace.value_read(what)
        return method(*args, **kwargs)

    read.__wrapped__ = method  # type: ignore[attr-defined]
    return read


_GRAD_SLOT = Tensor.__dict__["grad"]


def _get_grad(tensor: Tensor) -> Any:
    g = _GRAD_SLOT.__get__(tensor, Tensor)
    trace = tracing.get()
    if trace is not None and trace.active:
        if g is not None:
            trace.note_grad_read(tensor, g)
        elif id(tensor) not in trace.made and id(tensor) not in trace.grad_written:
            trace.grad_none.append(trace.owner_ref(tensor))  # `backward(reset_grads=False)` branches on it
    return g


def _set_grad(tensor: Tensor, value: Any) -> None:
    trace = tracing.get()
    if trace is not None and trace.active:
        try:
            _GRAD_SLOT.__get__(tensor, Tensor)
        except AttributeError:  # a new tensor's first `grad = None`: made during the call
            trace.made.add(id(tensor))
            trace.keep.append(tensor)
        else:
            trace.note_grad_write(tensor, value)
    _GRAD_SLOT.__set__(tensor, value)


class _Drawing:
    """A backend's generator as `md.random._rng` hands it out while tracing: taking one of its
    methods (a draw) stops the trace. Only asking for the generator (`md.checkpoint` does, to
    save the random state) does not."""

    def __init__(self, rng: Any) -> None:
        self._rng = rng

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._rng, name)
        trace = tracing.get()
        if callable(attribute) and trace is not None and trace.active:
            trace.value_read("an md.random draw (random numbers are not replayed)")
        return attribute


def _random_generator(original: Callable[..., Any]) -> Callable[..., Any]:
    def generator(*args: Any) -> Any:
        rng = original(*args)
        trace = tracing.get()
        return _Drawing(rng) if trace is not None and trace.active else rng

    generator.__wrapped__ = original  # type: ignore[attr-defined]
    return generator


_lock = threading.Lock()
_users = 0
_saved: list[tuple[Any, str, Any]] = []  # (owner, name, original value) to put back


def install() -> None:
    """Switch the recording hooks on (first trace) for every context; they record only in
    the contexts where a trace is active."""
    global _users
    with _lock:
        _users += 1
        if _users == 1:
            _patch()


def uninstall() -> None:
    global _users
    with _lock:
        _users -= 1
        if _users == 0:
            _unpatch()


def _swap(owner: Any, name: str, value: Any) -> None:
    _saved.append((owner, name, owner.__dict__[name]))
    setattr(owner, name, value)


def _backend_classes() -> list[type]:
    classes, stack = [], [Backend]
    while stack:
        cls = stack.pop()
        classes.append(cls)
        stack.extend(cls.__subclasses__())
    return classes


def _patch() -> None:
    import minidiff.random as random_module

    dispatch.kernel_wrapper = _record_kernel
    for cache in list(dispatch.kernel_caches.values()):
        cache.clear()  # rebuilt on first use, wrapped
    for cls in _backend_classes():
        if cls.__dict__.get("xp") is not None:
            _swap(cls, "xp", _RecordingNamespace(cls.__dict__["xp"]))
        for name in RECORDED_METHODS:
            if name in cls.__dict__:
                writes = WRITES if name in ("update", "setitem", "scatter_add") else None
                _swap(cls, name, recording(cls.__dict__[name], writes))
        for name in READING_METHODS:
            if name in cls.__dict__:
                _swap(cls, name, _reading(cls.__dict__[name], "reading values to the host"))
    for name, what in READING_TENSOR_METHODS.items():
        if name in Tensor.__dict__:
            _swap(Tensor, name, _reading(Tensor.__dict__[name], what))
    _swap(Tensor, "grad", property(_get_grad, _set_grad))
    _swap(random_module, "_rng", _random_generator(random_module._rng))


def _unpatch() -> None:
    dispatch.kernel_wrapper = None
    while _saved:
        owner, name, value = _saved.pop()
        setattr(owner, name, value)
    for cache in list(dispatch.kernel_caches.values()):
        cache.clear()  # the recording kernels go; plain ones are rebuilt on first use
