"""Turning op definitions into the plain functions users call.

`bind(op)` runs once per op when plugins load and returns `md.<name>`. A call then goes:
operands → one backend → the backend's forward kernel on raw arrays → a Tensor, with a
`FuncNode` when grad mode is on and an operand allows grad. No hook, no registry lookup
and no per-call dict building on the way: that is what keeps per-op overhead low.

Two rules hold for every recorded node, checked here once rather than in each op:

- a result whose dtype is integer or bool gets no node and does not allow grad (a cast
  `x.astype(int)` is a constant as far as derivatives go, like `floor(x)`);
- a node keeps private copies of array-valued parameters (index arrays, masks, `repeat`
  counts, `tile` reps, a Tensor used as an index): the caller may change theirs after the
  call, and backward must see the values the forward used.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable
from weakref import WeakValueDictionary

import numpy as np

from minidiff.batching.apply import apply_batched, innermost
from minidiff.batching.tensor import levels
from minidiff.extend import Op
from minidiff.graph import FuncNode, grad_enabled
from minidiff.optable import functions, ops
from minidiff.registry import Registry
from minidiff.inplace import note_view, refresh
from minidiff.saved import RuleReads, params_read, rule_reads
from minidiff._tensor import Tensor, make_tensor, version_of

# Python numbers stay weak scalars, passed to kernels as they are, so `float32 * 2.0`
# stays float32 exactly as in NumPy.
_WEAK_SCALARS = (int, float, bool, complex)

#: types of parameter values nothing can change after the call: a node keeps them as they
#: are. Slices count too: their bounds are ints or None in practice (a 0-d array as a bound,
#: changed after the call, is the one case this lets through), and checking each slice's
#: bounds would cost every recorded `x[1:]` a third more.
_IMMUTABLE = frozenset({int, float, bool, complex, str, type(None), type(Ellipsis), type, slice})

#: whether a result of each dtype (a backend's own dtype object) can carry a gradient: not
#: when it holds integers or bools. Filled on first sight of a dtype; a dict lookup is
#: cheaper than asking the backend each time (MLX dtypes have no `.kind`).
_TAKES_GRAD: dict[Any, bool] = {}


def _learn_dtype(backend: Any, dtype: Any) -> bool:
    takes = _TAKES_GRAD[dtype] = backend.host_dtype(dtype).kind not in "biu"
    return takes


#: every kernel cache (this module's and `multi_output`'s). `md.compile` empties them when a
#: trace starts and ends, so that the kernels built in between are wrapped by
#: `kernel_wrapper(kernel, op)` and record their calls: the eager path pays nothing for it.
kernel_caches: WeakValueDictionary = WeakValueDictionary()  # by id: a dict cannot be hashed
kernel_wrapper: Callable[[Callable[..., Any], Any], Callable[..., Any]] | None = None


class _Kernels(dict):
    """Forward kernels of one op by backend, each built on first use on that backend."""

    def __init__(self, op: Op, overrides: dict[str, Callable[..., Any]]) -> None:
        super().__init__()
        self.op = op
        self.overrides = overrides
        kernel_caches[id(self)] = self

    def __missing__(self, backend: Any) -> Callable[..., Any]:
        custom = self.overrides.get(backend.name)
        forward = self.op.forward
        if custom is not None:
            kernel = partial(custom, backend.xp)
        elif isinstance(forward, str):
            kernel = getattr(backend.xp, forward, None)
            if kernel is None:
                raise NotImplementedError(
                    f"op {self.op.qualname!r} has no kernel on backend {backend.name!r} "
                    f"(its array namespace lacks {forward!r})"
                )
        else:
            kernel = partial(forward, backend.xp)
        if kernel_wrapper is not None:  # md.compile is tracing
            kernel = kernel_wrapper(kernel, self.op)
        self[backend] = kernel
        return kernel


def bind(op: Op, overrides: dict[str, Callable[..., Any]]) -> Callable[..., Any]:
    """The public function for `op`."""
    kernels = _Kernels(op, overrides)
    if op.composite is not None:
        composite = op.composite
        if op.batch is not None:  # a composite with its own batching rule, cheaper than its parts'
            return _described(_batched_composite(op, composite), op)

        def function(*args: Any, **kwargs: Any) -> Any:
            return composite(*args, **kwargs)

    elif op.nout > 1:
        from minidiff.multi_output import bind_multi_output

        function = bind_multi_output(op, overrides)
    elif op.creation:
        function = _creation_function(op, kernels)
    else:
        function = _signature(op, kernels)
    return _described(function, op)


def _described(function: Callable[..., Any], op: Op) -> Callable[..., Any]:
    function.__name__ = op.name
    function.__qualname__ = op.name
    from minidiff.signatures import describe  # imported here: the rest of dispatch does not need it

    describe(function, op)  # __signature__ and __doc__ from the declaration
    function.op = op  # type: ignore[attr-defined]
    return function


def _batched_composite(op: Op, composite: Callable[..., Any]) -> Callable[..., Any]:
    """A composite op's function that uses the op's own batching rule under `md.vmap`. The
    call is bound to the composite's signature first, so an operand given by keyword
    (`weights=w`) reaches the rule as an operand, not as a batched parameter."""
    import inspect

    signature = inspect.signature(composite)

    def function(*args: Any, **kwargs: Any) -> Any:
        if levels.get():
            level = innermost(args, kwargs)
            if level is not None:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                # `function` itself as the call: operands batched at outer levels batch again
                return apply_batched(op, function, bound.args, bound.kwargs, level)
        return composite(*args, **kwargs)

    return function


def _signature(op: Op, kernels: _Kernels) -> Callable[..., Any]:
    """Map the public call onto `apply(operands, params)`."""
    reads = rule_reads(op) if op.vjp is not None else None
    # the parameters a node may have to copy: those its rules read; all of them when a
    # `parse` makes the parameters (their names are known only per call)
    checked = None if op.parse is not None else params_read(op) if reads is not None else ()
    apply = partial(_apply, op, kernels, reads, checked)
    if op.parse is not None:
        parse = op.parse

        def call_parsed(*args: Any, **kwargs: Any) -> Tensor:
            operands, params = parse(*args, **kwargs)
            return apply(tuple(operands), params)

        return call_parsed
    if op.nargs is None:

        def call_variadic(operands: Any, *args: Any, **kwargs: Any) -> Tensor:
            return apply(tuple(operands), _params(op, args, kwargs))

        return call_variadic
    nargs = op.nargs
    if not op.params and nargs == 1:
        return _unary_fast_path(op, kernels, reads, apply)
    if not op.params and nargs == 2:
        return _binary_fast_path(op, kernels, reads, apply)
    if not op.params:
        return lambda *args: apply(_exactly(op, args), {})
    if nargs == 1:
        return _unary_with_params_fast_path(op, kernels, reads, checked, apply)

    def call(*args: Any, **kwargs: Any) -> Tensor:
        return apply(_exactly(op, args[:nargs]), _params(op, args[nargs:], kwargs))

    return call


def _unary_fast_path(
    op: Op, kernels: _Kernels, reads: RuleReads | None, apply: Callable[[tuple, dict], Tensor]
) -> Callable[..., Any]:
    """`md.sin(x)` on a Tensor skips the generic operand handling.

    No dtype check here: a differentiable op without parameters maps a floating `x` (the
    only kind that allows grad) to a floating result (`sin`, `exp`, `abs`, `negative`, ...),
    so the result may always take the node. An op that can produce integers or bools from a
    float either has no rules (`floor`, `sign`, comparisons: never recorded) or takes a
    parameter (`astype`'s dtype), and then the other paths check. (An op pack's
    differentiable one-operand op that returned integers would be recorded here: checking
    every `sin` for it would cost each call what the check costs `sum`.)"""
    differentiable = reads is not None
    keep_ans = differentiable and reads.keeps(0, (True,))
    keep_x = differentiable and reads.keeps(1, (True,))
    empty: dict = {}

    def unary(x: Any) -> Tensor:
        if type(x) is not Tensor:
            return apply((x,), empty)
        if x._view is not None and x._version[0] != x._view[3]:
            refresh(x)  # a view whose buffer was written since it was taken
        backend = x.backend
        data = kernels[backend](x.data)
        if differentiable and x.allow_grad and grad_enabled.get():
            kept = x if keep_x or x.node is None else x.node.as_input(x)
            node = FuncNode(op, (kept,), empty, (x._version[0],))  # version_of(x), inlined
            out = make_tensor(data, backend, node)
            if keep_ans:
                node.keep_output(out)
            return out
        return make_tensor(data, backend, None)

    return unary


def _binary_fast_path(
    op: Op, kernels: _Kernels, reads: RuleReads | None, apply: Callable[[tuple, dict], Tensor]
) -> Callable[..., Any]:
    """`x * y` and `x * 1.5` on Tensors skip the generic operand handling; anything else
    (other operand types, two backends, a kernel error to explain) takes `apply`.

    No dtype check here: a node is recorded only when an operand allows grad, so is
    floating, and NumPy's promotion of a floating operand with anything numeric is floating
    (or complex): `x * int_tensor`, `x + True` and `x ** 2` are all floats. The ops whose
    results are integers or bools from floats (`floor_divide`, comparisons, bitwise ops)
    have no rules and never record."""
    differentiable = reads is not None
    # what to keep (output, x, y), indexed [x takes a gradient][y takes one]: `x * 1.5` keeps
    # nothing. Nested tuples indexed by bools: cheaper than a dict keyed by pairs.
    keeps = tuple(
        tuple(tuple(reads.keeps(value, (x_grad, y_grad)) for value in range(3)) for y_grad in (False, True))
        for x_grad in (False, True)
    ) if differentiable else ()
    empty: dict = {}

    def binary(x: Any, y: Any) -> Tensor:
        if type(x) is Tensor and x._view is not None and x._version[0] != x._view[3]:
            refresh(x)  # a view whose buffer was written since it was taken
        if type(y) is Tensor and y._view is not None and y._version[0] != y._view[3]:
            refresh(y)
        if type(x) is Tensor:
            backend = x.backend
            if type(y) is Tensor and y.backend is backend:
                y_data, y_grad, y_version = y.data, y.allow_grad, y._version[0]  # version_of(y), inlined
            elif type(y) is float or type(y) is int:
                y_data, y_grad, y_version = y, False, 0
            else:
                return apply((x, y), empty)
            x_data, x_grad, x_version = x.data, x.allow_grad, x._version[0]
        elif type(y) is Tensor and (type(x) is float or type(x) is int):
            backend = y.backend
            x_data, x_grad, x_version = x, False, 0
            y_data, y_grad, y_version = y.data, y.allow_grad, y._version[0]
        else:
            return apply((x, y), empty)
        try:
            data = kernels[backend](x_data, y_data)
        except ValueError:
            return apply((x, y), empty)  # the generic path explains the error
        if differentiable and (x_grad or y_grad) and grad_enabled.get():
            keep_ans, keep_x, keep_y = keeps[x_grad][y_grad]
            if not keep_x and type(x) is Tensor and x.node is not None:
                x = x.node.as_input(x)
            if not keep_y and type(y) is Tensor and y.node is not None:
                y = y.node.as_input(y)
            node = FuncNode(op, (x, y), empty, (x_version, y_version))
            out = make_tensor(data, backend, node)
            if keep_ans:
                node.keep_output(out)
            return out
        return make_tensor(data, backend, None)

    return binary


def _unary_with_params_fast_path(
    op: Op, kernels: _Kernels, reads: RuleReads | None, checked: tuple[str, ...], apply: Callable[[tuple, dict], Tensor]
) -> Callable[..., Any]:
    """`md.sum(x, axis=0)`, `md.reshape(x, shape)` on a Tensor skip the generic operand
    handling. Backward rules call these all the time; on a (16, 10) tensor this path takes
    `md.sum(x, axis=0)` from 8.3 to 5.1 us and `md.reshape` from 5.4 to 3.2 us."""
    differentiable = reads is not None
    keep_ans = differentiable and reads.keeps(0, (True,))
    keep_x = differentiable and reads.keeps(1, (True,))

    def unary_with_params(x: Any, *args: Any, **kwargs: Any) -> Tensor:
        params = _params(op, args, kwargs)
        if type(x) is not Tensor:
            return apply((x,), params)
        if x._view is not None and x._version[0] != x._view[3]:
            refresh(x)  # a view whose buffer was written since it was taken
        backend = x.backend
        try:
            data = kernels[backend](x.data, **params)
        except ValueError:
            return apply((x,), params)  # the generic path explains the error
        out = make_tensor(data, backend, None)
        node = None
        if differentiable and x.allow_grad and grad_enabled.get():
            # `astype(x, int)`: an integer or bool result is a constant, with no node
            dtype = out.data.dtype
            takes_grad = _TAKES_GRAD.get(dtype)
            if takes_grad or (takes_grad is None and _learn_dtype(backend, dtype)):
                for name in checked:  # the parameters the rules read: `axis` of sum, not `shape` of reshape
                    value = params[name]
                    kind = type(value)
                    if kind in _IMMUTABLE or (kind is tuple and _IMMUTABLE.issuperset(map(type, value))):
                        continue  # `axis=0`, `axes=(1, 0)`: nothing a later write could change
                    params = _frozen_params(params, backend, checked)  # an index array, a list of counts, ...
                    break
                kept = x if keep_x or x.node is None else x.node.as_input(x)
                node = out.node = FuncNode(op, (kept,), params, (x._version[0],))
                out.allow_grad = True
        base = getattr(data, "base", None)
        if base is not None:
            _share_version_with_viewed_input(out, base, (x,), op, params)
        elif op.view and not hasattr(data, "base"):
            _emulate_view(out, x, op, params)
        if node is not None and keep_ans:
            node.keep_output(out)  # after sharing: a view's counter is its input's
        return out

    return unary_with_params


def _exactly(op: Op, operands: tuple) -> tuple:
    if len(operands) != op.nargs:
        raise TypeError(f"{op.qualname}() takes {op.nargs} operand(s), got {len(operands)}")
    return operands


def _params(op: Op, args: tuple, kwargs: dict) -> dict:
    """The op's parameters with defaults filled in, from extra positionals and keywords."""
    if not args and kwargs.keys() <= op.params.keys():
        return {**op.params, **kwargs}  # the common case, without the checks below
    names = tuple(op.params)
    if len(args) > len(names):
        raise TypeError(f"{op.qualname}() got {len(args)} extra positional arguments; it takes {names}")
    params = dict(op.params)
    params.update(zip(names, args))
    for key, value in kwargs.items():
        if key not in params:
            raise TypeError(f"{op.qualname}() got an unexpected keyword argument {key!r}")
        if key in names[: len(args)]:
            raise TypeError(f"{op.qualname}() got multiple values for argument {key!r}")
        params[key] = value
    return params


def _apply(
    op: Op, kernels: _Kernels, reads: RuleReads | None, checked: tuple[str, ...] | None, operands: tuple, params: dict
) -> Tensor:
    """Run `op` on `operands`: one backend, its kernel, and a graph node when needed."""
    if levels.get():  # under md.vmap: an operand or parameter may be a batch
        level = innermost(operands, params)
        if level is not None:
            call = partial(_call_normalized, partial(_apply, op, kernels, reads, checked))
            return apply_batched(op, call, operands, params, level)
    backend = None
    for a in operands:
        if isinstance(a, Tensor):
            if a._view is not None and a._version[0] != a._view[3]:
                refresh(a)  # a view whose buffer was written since it was taken
            if backend is None:
                backend = a.backend
            elif a.backend is not backend:
                raise ValueError(
                    f"{op.qualname}: operands live on different backends ({backend.name!r} and "
                    f"{a.backend.name!r}); move one with .to({backend.name!r})"
                )
    if backend is None:
        from minidiff.config import get_backend

        backend = get_backend()
    inputs = tuple(
        a if isinstance(a, (Tensor, *_WEAK_SCALARS)) else _constant(op, a, backend) for a in operands
    )
    arrays = [a.data if isinstance(a, Tensor) else a for a in inputs]
    try:
        data = kernels[backend](*arrays, **params)
    except ValueError as exc:
        shapes = " and ".join(str(tuple(np.shape(a))) for a in arrays)
        message = f"{op.qualname}: {exc} (operand shapes {shapes})"
        try:
            explained = type(exc)(message)  # keep the type: numpy.linalg.LinAlgError is a ValueError
        except Exception:
            explained = ValueError(message)
        raise explained from exc
    out = make_tensor(data, backend, None)
    node = None
    differentiated = tuple(isinstance(a, Tensor) and a.allow_grad for a in inputs) if reads is not None else ()
    if reads is not None and grad_enabled.get() and any(differentiated) and result_takes_grad(backend, out.data.dtype):
        versions = tuple(version_of(a) if isinstance(a, Tensor) else 0 for a in inputs)
        kept = tuple(
            a.node.as_input(a) if isinstance(a, Tensor) and a.node is not None and not reads.keeps(1 + i, differentiated) else a
            for i, a in enumerate(inputs)
        )
        node = out.node = FuncNode(op, kept, _frozen_params(params, backend, checked) if params else params, versions)
        out.allow_grad = True
    base = getattr(data, "base", None)
    if base is not None:
        _share_version_with_viewed_input(out, base, inputs, op, params)
    elif op.view and len(inputs) == 1 and isinstance(inputs[0], Tensor) and not hasattr(data, "base"):
        _emulate_view(out, inputs[0], op, params)
    if node is not None and reads.keeps(0, differentiated):
        node.keep_output(out)  # after sharing: a view's counter is its input's
    return out


def _call_normalized(apply: Callable[[tuple, dict], Tensor], *operands: Any, **params: Any) -> Tensor:
    return apply(operands, params)


def result_takes_grad(backend: Any, dtype: Any) -> bool:
    """Whether a result of `dtype` can carry a gradient: not when it holds integers or bools."""
    takes_grad = _TAKES_GRAD.get(dtype)
    return _learn_dtype(backend, dtype) if takes_grad is None else takes_grad


def _frozen_params(params: dict, backend: Any, names: tuple[str, ...] | None = None) -> dict:
    """`params` as a node keeps them: every value a later write could change (an index
    array, a boolean mask, a list of `repeat` counts, a Tensor used as an index) replaced by
    a private copy, since the forward has used the values and backward must see the same
    ones. Only the parameters in `names` (those the op's rules read; all when None) are
    looked at. The dict itself is returned when nothing needed copying (`axis=0`,
    `shape=(2, 3)`, a key of slices and ints), which is the common case and costs no copy.

    >>> import numpy as np
    >>> idx = np.array([0, 2])
    >>> kept = _frozen_params({"key": idx, "axis": 0}, None)
    >>> idx[0] = 1
    >>> kept["key"].tolist(), kept["axis"]
    ([0, 2], 0)
    """
    frozen = None
    for name in params if names is None else names:
        value = params[name]
        if type(value) in _IMMUTABLE:
            continue
        copy = frozen_copy(value, backend)
        if copy is not value:
            if frozen is None:
                frozen = dict(params)
            frozen[name] = copy
    return params if frozen is None else frozen


def frozen_copy(value: Any, backend: Any) -> Any:
    """`value`, or a copy of it that later writes to `value` cannot reach."""
    kind = type(value)
    if kind is tuple:
        if _IMMUTABLE.issuperset(map(type, value)):
            return value  # a shape, or a key of ints and slices: nothing to copy, no new tuple
        return tuple([frozen_copy(item, backend) for item in value])
    if kind in _IMMUTABLE or isinstance(value, (np.generic, np.dtype)):
        return value
    if isinstance(value, Tensor):
        return make_tensor(value.backend.array(value.data), value.backend, None)
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [frozen_copy(item, backend) for item in value]  # a list itself can change: always copied
    if isinstance(value, dict):
        return {k: frozen_copy(v, backend) for k, v in value.items()}
    if isinstance(value, tuple):  # a named tuple
        items = [frozen_copy(item, backend) for item in value]
        if all(a is b for a, b in zip(items, value)):
            return value
        return kind(*items) if hasattr(value, "_fields") else kind(items)
    if backend is not None and isinstance(value, backend.array_types):
        return backend.array(value)  # a copy, as `Backend.array` promises
    return value  # anything else (a dtype, a callable) is kept as it is


def _share_version_with_viewed_input(out: Tensor, base: Any, inputs: tuple, op: Op, params: dict) -> None:
    """A view (reshape, transpose, basic indexing) shares its input's in-place version
    counter, so changing either one in place is seen by a graph that saved the other; a
    one-operand view also remembers how it was taken, so a write through it reaches its
    input and a use after a write takes it again (see `minidiff.inplace`)."""
    for a in inputs:
        if isinstance(a, Tensor) and (a.data is base or getattr(a.data, "base", None) is base):
            out._base = a if a._base is None else a._base
            out._version = a._version
            if len(inputs) == 1 and op.nargs == 1 and op.parse is None:
                note_view(out, a, op.qualname, params)
            return


#: the ops whose NumPy results view their operand (`getitem` with a basic key only): on a
#: backend whose arrays share no memory (MLX), their results act as views all the same
_BASIC_KEY_TYPES = (int, slice, type(None), type(Ellipsis))


def _emulate_view(out: Tensor, x: Tensor, op: Op, params: dict) -> None:
    """On a backend without shared memory, make `out` a view of `x` as NumPy's would be: one
    version counter, and writes through either reach the other (by taking the view again)."""
    if op.name == "getitem":
        key = params["key"]
        parts = key if type(key) is tuple else (key,)
        if not all(type(k) in _BASIC_KEY_TYPES for k in parts):
            return  # advanced indexing copies, in NumPy too
        if all(type(k) is int for k in parts) and len(parts) == x.ndim:
            return  # one element: NumPy gives a scalar, not a view
    out._base = x if x._base is None else x._base
    out._version = x._version
    note_view(out, x, op.qualname, params)


def _constant(op: Op, value: Any, backend: Any) -> Tensor:
    """A host array, list or backend array as a constant Tensor on `backend`."""
    if isinstance(value, (np.ndarray, np.generic, list, tuple, *backend.array_types)):
        # a copy: the caller may change their array after the graph saved it
        data = backend.array(value)
        if backend.host_dtype(data.dtype).kind in "biufc":
            return make_tensor(data, backend, None)
    raise TypeError(
        f"{op.qualname}: unsupported operand of type {type(value).__name__!r}; expected a minidiff "
        f"Tensor, a NumPy array, a (nested) list of numbers or a Python number"
    )


def _creation_function(op: Op, kernels: _Kernels) -> Callable[..., Any]:
    """`md.zeros` and the like: the forward's own arguments (with `dtype` where NumPy puts it,
    positional too), plus the keywords `backend`, `allow_grad` and `requires_grad`."""
    from minidiff.config import get_backend

    dtype_at = _dtype_position(op.forward)

    def create(
        *args: Any,
        device: str | None = None,
        backend: str | None = None,
        allow_grad: bool = False,
        requires_grad: bool | None = None,
        **kwargs: Any,
    ) -> Tensor:
        if requires_grad is not None:
            allow_grad = requires_grad
        if device is not None:  # the Array API's name for the backend
            backend = _device_backend(device, backend)
        chosen = get_backend(backend)
        dtype = args[dtype_at] if dtype_at is not None and len(args) > dtype_at else kwargs.get("dtype")
        try:
            data = kernels[chosen](*args, **kwargs)
        except TypeError as exc:
            _check_call(create, args, kwargs, exc)
            raise
        return Tensor._leaf(data, chosen, allow_grad, dtype_given=dtype is not None)

    return create


def _device_backend(device: Any, backend: str | None) -> str:
    """The backend a creation call's `device=` names (a backend name, a Tensor's `.device`)."""
    from minidiff.array_api.tensor_protocol import device_name

    name = device_name(device)
    if backend is not None and backend != name:
        raise ValueError(f"device={name!r} and backend={backend!r} name two backends; give one")
    return name


def _dtype_position(forward: Any) -> int | None:
    """Where `dtype` sits among a creation forward's positional arguments (after `xp`), or None."""
    code = getattr(forward, "__code__", None)
    if code is None:
        return None
    positional = code.co_varnames[1 : code.co_argcount]
    return positional.index("dtype") if "dtype" in positional else None


def _check_call(function: Callable[..., Any], args: tuple, kwargs: dict, exc: TypeError) -> None:
    """Raise a TypeError naming the public function when the call does not fit its signature
    (the kernel's own message would name a backend function or a forward)."""
    import inspect

    try:
        inspect.signature(function).bind(*args, **kwargs)
    except TypeError as bad:
        raise TypeError(f"md.{function.__name__}(): {bad}") from exc


def freeze(registry: Registry) -> dict[str, Callable[..., Any]]:
    """Bind every registered op; returns the functions by qualified name."""
    overrides: dict[str, dict[str, Callable[..., Any]]] = {}
    for (qualname, backend_name), entry in registry.kernels.items():
        overrides.setdefault(qualname, {})[backend_name] = entry.value
    functions.clear()
    for qualname, entry in registry.ops.items():
        functions[qualname] = bind(entry.value, overrides.get(qualname, {}))
        if not entry.value.namespace:
            setattr(ops, entry.value.name, functions[qualname])
    return dict(functions)
