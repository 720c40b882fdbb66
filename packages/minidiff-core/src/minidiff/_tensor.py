"""`Tensor`: an array of some backend, plus what reverse-mode differentiation needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from minidiff.array_api.tensor_protocol import ArrayAPIProtocol
from minidiff.graph import no_grad
from minidiff.optable import ops

if TYPE_CHECKING:
    from minidiff.backend import Backend
    from minidiff.graph import FuncNode


class Tensor(ArrayAPIProtocol):
    """An n-dimensional array that records the ops applied to it.

    >>> import minidiff as md
    >>> x = md.Tensor([[0.0, 2.0]], allow_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    minidiff.Tensor([[0., 4.]])

    `allow_grad=True` (or `requires_grad=True`) makes a leaf whose `.grad` backward fills.
    Integer data with `allow_grad=True` and no `dtype` becomes the backend's default float.
    `backend=` picks the array backend (see `md.use_backend` for the other ways).
    """

    __slots__ = ("data", "backend", "allow_grad", "grad", "node", "name", "_version", "_base", "_view", "__weakref__")
    # Tensors compare elementwise, so they hash by identity, as PyTorch's do.
    __hash__ = object.__hash__

    #: the backend array holding the values. Writing into it (or into `numpy()` or
    #: `np.asarray(t)`, which share it on the NumPy backend) bypasses the in-place check:
    #: change a tensor with `t[...] = v` or `t -= v`, which keep graphs honest
    data: Any
    backend: Backend
    allow_grad: bool
    grad: Tensor | None
    node: FuncNode | None
    name: str | None
    #: in-place version counter: a one-element list shared by every tensor over the same
    #: buffer (views, `detach`), so a change through any of them is seen, also by a graph
    #: node that kept the buffer after its tensor died (read it with `version_of`)
    _version: list[int]
    #: the tensor whose buffer this one views, or None
    _base: Tensor | None
    #: how this view was taken, `(parent, op name, params, version then, recorded)`, or None
    #: (see `minidiff.inplace`): a write through it lands in its root, and a use after the
    #: buffer changed takes it again
    _view: tuple | None

    def __init__(
        self,
        data: Any,
        allow_grad: bool = False,
        dtype: Any = None,
        backend: str | None = None,
        *,
        requires_grad: bool | None = None,
        name: str | None = None,
        **options: Any,
    ) -> None:
        from minidiff.config import get_backend

        if requires_grad is not None:
            allow_grad = requires_grad
        if isinstance(data, Tensor):
            chosen = data.backend if backend is None else get_backend(backend)
            data = data.data if chosen is data.backend else data.backend.to_host(data.data)
        else:
            chosen = get_backend(backend)
        if not isinstance(data, (*chosen.array_types, np.ndarray, np.generic, list, tuple, int, float, bool, complex)):
            raise TypeError(
                f"cannot make a minidiff Tensor from {type(data).__name__!r}; "
                f"expected an array, a (nested) list of numbers or a number"
            )
        array = chosen.array(data, dtype, **_backend_options(chosen, options))
        if chosen.host_dtype(array.dtype).kind not in "biufc":
            raise TypeError(f"minidiff Tensors hold numbers; got data of dtype {array.dtype}")
        _init(self, array, chosen, None)
        self._set_allow_grad(allow_grad, dtype_given=dtype is not None)
        self.name = name

    @classmethod
    def _leaf(cls, data: Any, backend: Backend, allow_grad: bool, *, dtype_given: bool) -> Tensor:
        tensor = make_tensor(data, backend, None)
        tensor._set_allow_grad(allow_grad, dtype_given=dtype_given)
        return tensor

    def _set_allow_grad(self, allow_grad: bool, *, dtype_given: bool) -> None:
        if allow_grad and not self.backend.is_inexact(self.data.dtype):
            if dtype_given or self.dtype.kind not in "biu":
                raise TypeError(f"only floating-point and complex tensors can allow grad, got dtype {self.dtype}")
            self.data = self.backend.astype(self.data, self.backend.default_float)
        self.allow_grad = bool(allow_grad)

    # ------------------------------------------------------------------ array facts

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return int(self.data.size)

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the values, on every backend."""
        return self.backend.host_dtype(self.data.dtype)

    @property
    def T(self) -> Tensor:
        return ops.transpose(self)

    @property
    def real(self) -> Tensor:
        """The real part, differentiable (`md.real(self)`); a real tensor's own values.

        >>> import minidiff as md
        >>> md.Tensor([1 + 2j]).real
        minidiff.Tensor([1.])
        """
        return ops.real(self)

    @property
    def imag(self) -> Tensor:
        """The imaginary part, differentiable (`md.imag(self)`); zeros for a real tensor.

        >>> import minidiff as md
        >>> md.Tensor([1 + 2j]).imag
        minidiff.Tensor([2.])
        """
        return ops.imag(self)

    @property
    def is_leaf(self) -> bool:
        """True for tensors no recorded op produced: only leaves get `.grad`."""
        return self.node is None

    @property
    def requires_grad(self) -> bool:
        """PyTorch's name for `allow_grad`. Settable on leaves only: a computed tensor allows
        grad because its inputs do (`detach()` gives one that does not).

        >>> import minidiff as md
        >>> w = md.zeros(3)
        >>> w.requires_grad = True
        >>> w.allow_grad, (w * 2).requires_grad
        (True, True)
        """
        return self.allow_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Make this leaf allow grad (or not), in place, and return it, as PyTorch's method does."""
        if self.node is not None:
            raise RuntimeError(
                "only leaf tensors can change whether they allow grad; this one was computed from tensors that "
                "allow grad (use .detach() for a tensor cut from the graph)"
            )
        self._set_allow_grad(flag, dtype_given=True)
        return self

    def item(self) -> Any:
        """The single element as a Python number."""
        if self.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        _fresh(self)
        return self.data.item()

    def tolist(self) -> Any:
        """The values as (nested) Python lists of Python numbers, as `ndarray.tolist`; a 0-d
        tensor gives a number. Not differentiable: the result leaves the graph.

        >>> import minidiff as md
        >>> md.Tensor([[1, 2], [3, 4]]).tolist()
        [[1, 2], [3, 4]]
        """
        return self.numpy().tolist()

    def copy(self) -> Tensor:
        """A copy with its own memory that stays in the graph, like PyTorch's `clone()`:
        gradients flow back through it to this tensor. (NumPy's `copy` has no graph to keep;
        `t.detach().copy()` is a copy cut from it.)

        >>> import minidiff as md
        >>> x = md.Tensor([1.0, 2.0], allow_grad=True)
        >>> y = x.copy()
        >>> (3 * y).sum().backward()
        >>> x.grad
        minidiff.Tensor([3., 3.])
        """
        return ops.astype(self, dtype=self.data.dtype)  # astype always makes a new array

    clone = copy

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array on the host: on the NumPy backend the tensor's own
        memory, not a copy (MLX and CuPy give a copy).

        Writing into that array changes the tensor without the in-place check that guards
        `t[...] = v` and `t -= v`, so a graph that saved the tensor would silently use the
        new values in backward; `np.asarray(t)` and `t.data` share memory the same way.
        Take `np.array(t)` (a copy) to work on the values, and change a tensor through its
        own in-place operations.

        >>> import minidiff as md
        >>> t = md.Tensor([1.0, 2.0])
        >>> a = np.array(t)     # a copy: writing into it leaves t alone
        >>> a[0] = 5.0
        >>> t
        minidiff.Tensor([1., 2.])
        """
        _fresh(self)
        return self.backend.to_host(self.data)

    def as_numpy(self) -> np.ndarray:
        """The original minidiff's name for `numpy()`.

        >>> import minidiff as md
        >>> md.Tensor([1.0, 2.0]).as_numpy()
        array([1., 2.])
        """
        return self.numpy()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """`np.asarray(t)`: the values as in `numpy()` (the tensor's own memory on the NumPy
        backend, with the same caveat about writing into it); `np.array(t)` and
        `copy=True` give a copy; `copy=False` raises where a copy cannot be avoided.

        >>> import minidiff as md
        >>> t = md.Tensor([1.0, 2.0])
        >>> np.shares_memory(np.asarray(t), t.data), np.shares_memory(np.array(t), t.data)
        (True, False)
        """
        host = self.numpy()
        shared = host is self.data  # the NumPy backend: no copy was made
        if dtype is not None and np.dtype(dtype) != host.dtype:
            if copy is False:
                raise ValueError(f"np.asarray(t, dtype={np.dtype(dtype)}, copy=False): a tensor of dtype {self.dtype} needs a copy")
            return host.astype(dtype)
        if copy is False and not shared:
            raise ValueError(
                f"np.asarray(t, copy=False): backend {self.backend.name!r} keeps its own memory, so its values "
                f"reach NumPy only as a copy"
            )
        return host.copy() if copy and shared else host

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """NumPy's ufuncs on Tensors (`np.sin(t)`, `ndarray + t`) run minidiff's ops, so the
        result is a Tensor with its gradient; see `minidiff.interop`."""
        from minidiff.interop import array_ufunc

        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        """NumPy's functions on Tensors (`np.sum(t)`, `np.concatenate([a, t])`) run minidiff's
        ops; one without a minidiff op raises a TypeError naming it. See `minidiff.interop`."""
        from minidiff.interop import array_function

        return array_function(func, types, args, kwargs)

    def detach(self, allow_grad: bool = False) -> Tensor:
        """The same values (the same memory), cut from the graph: a new leaf, that allows grad
        only with `allow_grad=True` (the original minidiff's keyword).

        >>> import minidiff as md
        >>> y = md.Tensor([1.0], allow_grad=True) * 2
        >>> y.detach().allow_grad, y.detach(allow_grad=True).is_leaf
        (False, True)
        """
        detached = make_tensor(self.data, self.backend, None)
        detached._base = _owner(self)
        detached._version = self._version  # one buffer, one version counter
        if allow_grad:
            detached._set_allow_grad(True, dtype_given=True)
        return detached

    def to(self, backend: str, **options: Any) -> Tensor:
        """A copy on another backend, with the same values and dtype; not differentiable.
        `options` are the target backend's array options (`chunks=` on Dask).

        >>> import minidiff as md
        >>> md.Tensor([1.0, 2.0]).to("numpy", chunks=2)
        Traceback (most recent call last):
            ...
        TypeError: backend 'numpy' takes no array option 'chunks' (it takes none)
        """
        from minidiff.config import get_backend

        target = get_backend(backend)
        options = _backend_options(target, options)
        if target is self.backend and not options:
            return self
        data = target.array(self.data, **options) if target is self.backend else target.from_host(self.numpy(), **options)
        return Tensor._leaf(data, target, self.allow_grad and self.is_leaf, dtype_given=True)

    def compute(self) -> np.ndarray:
        """The values as a NumPy array, computed now on a lazy backend (Dask); the same as
        `numpy()` elsewhere. `md.compute(a, b, ...)` computes several in one pass.

        >>> import minidiff as md
        >>> md.Tensor([1.0, 2.0]).compute()
        array([1., 2.])
        """
        from minidiff.lazy import compute

        return compute(self)[0]

    def astype(self, dtype: Any, /, *, copy: bool = True, device: str | None = None) -> Tensor:
        """The values cast to `dtype`. A cast between floating dtypes passes the gradient
        through; a cast to an integer or bool dtype gives a constant, as `floor` does.

        >>> import minidiff as md
        >>> x = md.Tensor([1.5, -2.5], allow_grad=True)
        >>> x.astype("float32").allow_grad, x.astype("int64").allow_grad
        (True, False)
        """
        return ops.astype(self, dtype=dtype, copy=copy, device=device)

    def wipe(self) -> None:
        """Cut this tensor from the graph that computed it, in place: it becomes a leaf (that
        still allows grad if it did), so a backward from a later result stops here and fills
        its `.grad`. The original minidiff's method; today's out-of-place spelling is
        `t.detach().requires_grad_()`.

        >>> import minidiff as md
        >>> x = md.Tensor(2.0, allow_grad=True)
        >>> h = x * x
        >>> h.wipe()
        >>> (3 * h).backward()
        >>> h.is_leaf, h.grad.item(), x.grad
        (True, 3.0, None)
        """
        self.node = None

    def zero_grad(self) -> None:
        """Set `.grad` to zeros of this tensor's shape and dtype."""
        self.grad = make_tensor(self.backend.xp.zeros_like(self.data), self.backend, None)

    def backward(
        self,
        grad: Any = None,
        allow_higher_order: bool = False,
        retain_graph: bool = False,
        reset_grads: bool = True,
        *,
        retain_grads: bool | None = None,
        cleanup_mode: str | None = None,
    ) -> None:
        """Fill `.grad` of every leaf this tensor depends on.

        `grad` is the cotangent to start from (ones of this tensor's shape by default);
        `allow_higher_order=True` records the backward pass itself, so each leaf's `.grad`
        can be differentiated again (and keeps the graph); `retain_graph=True` keeps the
        graph for another backward; `reset_grads=False` adds to existing `.grad` instead of
        replacing it.

        >>> import minidiff as md
        >>> x = md.Tensor(3.0, allow_grad=True)
        >>> (x ** 3).backward(allow_higher_order=True)
        >>> x.grad.item()
        27.0
        >>> x.grad.backward()
        >>> x.grad.item()
        18.0

        The original minidiff's keywords still work (`minidiff.compat.backward_options` has
        the details): `cleanup_mode="keep"` is `retain_graph=True`; `"prune"` and
        `"destroy"` free the graph, as by default; any other mode raises ValueError;
        `retain_grads` changes nothing, since only leaves get `.grad`.
        """
        from minidiff.engine import backward

        if cleanup_mode is not None or retain_grads is not None:
            from minidiff.compat import backward_options

            retain_graph = backward_options(retain_graph, retain_grads, cleanup_mode)
        backward(self, grad, allow_higher_order=allow_higher_order, retain_graph=retain_graph, reset_grads=reset_grads)

    # ------------------------------------------------------------------ python protocol

    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), separator=", ", prefix="minidiff.Tensor(")
        extras = []
        if self.dtype != np.float64 and self.dtype != np.int64 and self.dtype != np.bool_:
            extras.append(f"dtype={self.dtype}")
        if self.backend.name != "numpy":
            extras.append(f"backend={self.backend.name!r}")
        if self.allow_grad:
            extras.append("allow_grad=True")
        return "minidiff.Tensor(" + ", ".join([body, *extras]) + ")"

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self.size} elements is ambiguous; use .any() or .all()"
            )
        return bool(self.data.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __index__(self) -> int:
        # as NumPy: only a 0-d integer array is an index (`range(n)`, `[0, 1][i]`, `bin(n)`)
        if self.ndim != 0 or self.dtype.kind not in "iu":
            raise TypeError(
                f"only 0-d integer tensors can be used as an index, not one of shape {self.shape} and dtype {self.dtype}"
            )
        return int(self.data.item())

    def __format__(self, spec: str) -> str:
        # as NumPy and PyTorch: a 0-d tensor formats as its number (f"{loss:.3f}"); a
        # format spec on other tensors is an error, an empty one gives str(t)
        if self.ndim == 0:
            return format(self.data.item(), spec)
        if spec:
            raise TypeError(
                f"unsupported format string {spec!r} for a tensor of shape {self.shape}: only 0-d tensors "
                f"take one (as in NumPy); format t.item() or the elements"
            )
        return str(self)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickling and `copy.deepcopy`: the values (through the host), dtype, backend name,
        `allow_grad`, `name` and `.grad` survive; the graph does not. A computed tensor comes
        back as a leaf (that allows grad if it did), as `detach` would cut it, then allow grad.

        >>> import minidiff as md, pickle
        >>> x = md.Tensor([1.0, 2.0], allow_grad=True)
        >>> y = pickle.loads(pickle.dumps(2 * x))
        >>> y, y.is_leaf
        (minidiff.Tensor([2., 4.], allow_grad=True), True)
        """
        state = {"grad": self.grad, "name": self.name}
        return (Tensor, (self.numpy(), self.allow_grad, None, self.backend.name), state)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.grad = state.get("grad")
        self.name = state.get("name")

    def __getitem__(self, key: Any) -> Tensor:
        return ops.getitem(self, key=_unwrap_key(key))

    def __setitem__(self, key: Any, value: Any) -> None:
        """`t[key] = value` in place, with NumPy's indexing. On a tensor in a graph (or with a
        value that allows grad) the write is recorded, as in PyTorch: the surviving elements
        keep their gradient path and the written ones lead to `value` (see `minidiff.inplace`).

        >>> import minidiff as md
        >>> x = md.Tensor([1.0, 2.0, 3.0], allow_grad=True)
        >>> y = x * 1
        >>> y[0] = 0.0
        >>> y.sum().backward()
        >>> x.grad
        minidiff.Tensor([0., 1., 1.])
        """
        from minidiff.inplace import check_writable, needs_recording, store, write

        check_writable(self, "item assignment")
        key = _unwrap_key(key)
        if needs_recording(self, value):
            write(self, key, value)
            return
        if isinstance(value, Tensor):
            _fresh(value)
            value = value.data
        store(self, key, value)

    def _inplace(self, op: Any, other: Any, what: str) -> Tensor:
        from minidiff.inplace import check_writable, needs_recording, refresh, store, write

        check_writable(self, what)
        if needs_recording(self, other):
            if self._view is not None and self._version[0] != self._view[3]:
                refresh(self)
            # the old value as its own tensor (own buffer, same node): the op's rule may read it,
            # and the write below overwrites this tensor's buffer
            old = make_tensor(self.backend.array(self.data), self.backend, self.node)
            old.allow_grad = self.allow_grad
            result = op(old, old if other is self else other)  # `y *= y` reads the old value twice
            if result.shape != self.shape:
                raise ValueError(
                    f"in-place {what}: the result has shape {result.shape}, which does not fit this tensor's "
                    f"shape {self.shape}"
                )
            write(self, Ellipsis, result)
            return self
        if isinstance(other, Tensor):
            _fresh(other)
        _fresh(self)
        if op is not ops.matmul and self.backend.update(
            self.data, op.__name__, other.data if isinstance(other, Tensor) else other
        ):
            self._version[0] += 1
            return self
        with no_grad():
            result = op(self, other)
        if result.shape != self.shape:
            raise ValueError(
                f"in-place {what}: the result has shape {result.shape}, which does not fit this tensor's "
                f"shape {self.shape}"
            )
        store(self, Ellipsis, result.data)
        return self

    # ------------------------------------------------------------------ operators

    def __neg__(self) -> Tensor:
        return ops.negative(self)

    def __pos__(self) -> Tensor:
        return ops.positive(self)

    def __abs__(self) -> Tensor:
        return ops.abs(self)

    def __invert__(self) -> Tensor:
        return ops.invert(self)

    def __add__(self, other: Any) -> Tensor:
        return ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.subtract(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.subtract(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.multiply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.multiply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.divide(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.divide(other, self)

    def __floordiv__(self, other: Any) -> Tensor:
        return ops.floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return ops.floor_divide(other, self)

    def __mod__(self, other: Any) -> Tensor:
        return ops.mod(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return ops.mod(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return ops.power(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return ops.power(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(other, self)

    def __and__(self, other: Any) -> Tensor:
        return ops.bitwise_and(self, other)

    def __rand__(self, other: Any) -> Tensor:
        return ops.bitwise_and(other, self)

    def __or__(self, other: Any) -> Tensor:
        return ops.bitwise_or(self, other)

    def __ror__(self, other: Any) -> Tensor:
        return ops.bitwise_or(other, self)

    def __xor__(self, other: Any) -> Tensor:
        return ops.bitwise_xor(self, other)

    def __rxor__(self, other: Any) -> Tensor:
        return ops.bitwise_xor(other, self)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        if other is None:  # as NumPy: elementwise False (`t == None` does not raise)
            return _constant_like(self, False)
        return ops.equal(self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        if other is None:
            return _constant_like(self, True)
        return ops.not_equal(self, other)

    def __lt__(self, other: Any) -> Tensor:
        return ops.less(self, other)

    def __le__(self, other: Any) -> Tensor:
        return ops.less_equal(self, other)

    def __gt__(self, other: Any) -> Tensor:
        return ops.greater(self, other)

    def __ge__(self, other: Any) -> Tensor:
        return ops.greater_equal(self, other)

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace(ops.add, other, "+=")

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace(ops.subtract, other, "-=")

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace(ops.multiply, other, "*=")

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace(ops.divide, other, "/=")

    def __ipow__(self, other: Any) -> Tensor:
        return self._inplace(ops.power, other, "**=")

    def __imatmul__(self, other: Any) -> Tensor:
        return self._inplace(ops.matmul, other, "@=")

    # ------------------------------------------------------------------ methods that are ops

    def reshape(self, *shape: Any) -> Tensor:
        return ops.reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes: Any) -> Tensor:
        return ops.transpose(self, (axes[0] if len(axes) == 1 else axes) or None)

    def flatten(self) -> Tensor:
        return ops.reshape(self, -1)

    ravel = flatten


def _method(name: str) -> Any:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        try:
            function = getattr(ops, name)
        except AttributeError:
            raise AttributeError(
                f"Tensor.{name}() calls md.{name}, which no installed op family registers "
                f"(`minidiff info --ops` lists every op)"
            ) from None
        return function(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"`md.{name}(self, ...)`."
    return method


# NumPy's ndarray methods that are ops with the tensor as first operand, then the
# elementwise functions PyTorch users call as methods (`t.exp()`, `t.relu()`). Each looks
# the op up when called, so an op pack that overrides one changes the method too.
_OP_METHODS = (
    "sum", "mean", "prod", "max", "min", "var", "std", "cumsum", "cumprod", "argmax", "argmin", "all", "any",
    "swapaxes", "squeeze", "clip", "repeat", "dot", "trace", "round", "diagonal",
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "abs", "sqrt", "square", "reciprocal", "sign",
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "floor", "ceil",
    "sigmoid", "relu", "softmax", "log_softmax", "erf", "conj", "conjugate",
)
for _name in _OP_METHODS:
    setattr(Tensor, _name, _method(_name))

# Where users reach it, as `torch.Tensor.__module__` is "torch": pickles refer to
# `minidiff.Tensor`, which stays valid wherever the class is defined, and `help()` says so.
Tensor.__module__ = "minidiff"


def _constant_like(tensor: Tensor, value: bool) -> Tensor:
    """A bool tensor of `tensor`'s shape and backend filled with `value`."""
    xp = tensor.backend.xp
    return make_tensor(xp.full(tensor.shape, value, dtype=np.bool_), tensor.backend, None)


def _init(tensor: Tensor, data: Any, backend: Backend, node: FuncNode | None) -> None:
    tensor.data = data
    tensor.backend = backend
    tensor.node = node
    tensor.allow_grad = node is not None
    tensor.grad = None
    tensor.name = None
    tensor._version = [0]
    tensor._base = None
    tensor._view = None


def _backend_options(backend: Backend, options: dict[str, Any]) -> dict[str, Any]:
    """`options` for `backend.array`/`from_host`, refused with a TypeError naming any the
    backend does not take (`chunks=` is Dask's)."""
    unknown = sorted(set(options) - backend.array_options)
    if unknown:
        takes = ", ".join(sorted(backend.array_options)) or "none"
        raise TypeError(f"backend {backend.name!r} takes no array option {unknown[0]!r} (it takes {takes})")
    return options


def make_tensor(data: Any, backend: Backend, node: FuncNode | None) -> Tensor:
    """Wrap a backend array without copying: the fast constructor ops use."""
    tensor = object.__new__(Tensor)
    if type(data) is not backend.array_type:
        data = backend.asarray(data)  # NumPy returns a scalar, not a 0-d array, from 0-d ops
    _init(tensor, data, backend, node)
    return tensor


def _fresh(tensor: Tensor) -> None:
    """Take a view again if its buffer changed since (on backends without shared memory its
    values would otherwise be the old ones)."""
    view = tensor._view
    if view is not None and tensor._version[0] != view[3]:
        from minidiff.inplace import refresh

        refresh(tensor)


def _owner(tensor: Tensor) -> Tensor:
    """The tensor that owns `tensor`'s buffer: itself, or the one it views."""
    return tensor if tensor._base is None else tensor._base


def version_of(tensor: Tensor) -> int:
    """The in-place version of `tensor`'s buffer."""
    return tensor._version[0]


def _unwrap_key(key: Any) -> Any:
    """An index with Tensors replaced by their arrays."""
    if isinstance(key, Tensor):
        return key.data
    if isinstance(key, tuple):
        for k in key:
            if isinstance(k, Tensor):
                return tuple(k.data if isinstance(k, Tensor) else k for k in key)
    return key  # the same object: a node then keeps a key of slices and ints without a copy
