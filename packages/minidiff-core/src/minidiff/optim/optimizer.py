"""`Optimizer`: what every optimizer in `minidiff.optim` shares.

An optimizer holds a list of named parameters (leaf tensors that allow grad), its
hyperparameters as plain attributes (`opt.lr = 0.01` between steps changes the next one),
and per-parameter state (running averages) as tensors on the parameter's backend.

`step()` turns each parameter's `.grad` into a new value without recording a graph and
writes it into the parameter itself (`p[...] = new`), so the tensors a model holds stay the
same objects; on MLX, whose arrays are immutable, the assignment swaps the array inside
the tensor, which is what an in-place update means there. The write bumps the tensor's
in-place version, so a graph recorded before the step and still waiting for its backward
raises instead of silently using the new values.

`state_dict()` is a nest of dicts with str keys, lists, tuples, Tensors, ints, floats, bools
and strs, which `md.save` can store; `load_state_dict` checks it against the optimizer
before changing anything.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from minidiff._tensor import Tensor
from minidiff.graph import no_grad
from minidiff.optable import ops

Params = Iterable[Tensor] | Mapping[str, Tensor] | Iterable[tuple[str, Tensor]]


class Optimizer:
    """Base class: subclasses declare their state and hyperparameters and write `_update`.

    A subclass sets `state_keys` (every per-parameter state entry it may hold, "step" for a
    step count and the others tensors shaped like the parameter), `_required_state` (the
    entries given settings need) and `_validate` (checks and normalizes a dict of
    hyperparameters), and implements `_update(p, g, state)`, which returns the parameter's
    new value and replaces the entries of `state` (empty before the first step).
    `_update` works elementwise, so a complex parameter is updated as the pair of real
    parameters it is (its real and imaginary parts), as in PyTorch.

    >>> import minidiff as md
    >>> w = md.Tensor([1.0, -2.0], allow_grad=True)
    >>> opt = md.optim.SGD([w], lr=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    minidiff.Tensor([0., 0.], allow_grad=True)
    """

    #: every per-parameter state entry this optimizer may hold
    state_keys: tuple[str, ...] = ()

    def __init__(self, params: Params, **hyperparameters: Any) -> None:
        self.names, self.params = _named_parameters(params)
        self._hyperparameter_names = tuple(hyperparameters)
        for name, value in self._validate(hyperparameters).items():
            setattr(self, name, value)
        self.state: dict[str, dict[str, Any]] = {name: {} for name in self.names}

    # ------------------------------------------------------------------ to override

    @classmethod
    def _validate(cls, hyperparameters: dict[str, Any]) -> dict[str, Any]:
        """The hyperparameters checked and normalized (floats, bools); raises on a bad one."""
        raise NotImplementedError

    @classmethod
    def _required_state(cls, hyperparameters: Mapping[str, Any]) -> set[str]:
        """The state entries a parameter that has taken a step holds under `hyperparameters`."""
        raise NotImplementedError

    def _update(self, p: Tensor, g: Tensor, state: dict[str, Any]) -> Tensor:
        """The new value of `p` given its gradient `g`; replaces the entries of `state`."""
        raise NotImplementedError

    # ------------------------------------------------------------------ public API

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The current hyperparameters by name, as `__init__` takes them."""
        return {name: getattr(self, name) for name in self._hyperparameter_names}

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a `.grad` (those whose `.grad` is None are left
        alone, their state too). `closure`, if given, is called first with grad enabled
        (it should compute the loss and call backward) and its result returned, as in PyTorch."""
        loss = closure() if closure is not None else None
        with no_grad():
            for name, p in self._named():
                g = p.grad
                if g is None:
                    continue
                if g.shape != p.shape:
                    raise ValueError(
                        f"parameter {name!r} has shape {p.shape} but its .grad has shape {g.shape}; "
                        f"an optimizer needs a gradient shaped like its parameter"
                    )
                state = self.state[name]
                p[...] = self._update_pair(p, g, state) if p.dtype.kind == "c" else self._update(p, g, state)
        return loss

    def _update_pair(self, p: Tensor, g: Tensor, state: dict[str, Any]) -> Tensor:
        """A complex parameter's step: `_update` on its real and on its imaginary part, each
        with its own half of the state, as PyTorch's optimizers do (`view_as_real`). So
        Adam's second moment holds gx**2 and gy**2, not the complex g*g; the state entries
        are stored complex again (real part: the real half's), as PyTorch stores them."""
        halves = []
        for part in (ops.real, ops.imag):
            half = {key: value if key == "step" else part(value) for key, value in state.items()}
            halves.append((self._update(part(p), part(g), half), half))
        (new_real, real_half), (new_imag, imag_half) = halves
        for key, value in real_half.items():
            state[key] = value if key == "step" else value + 1j * imag_half[key]
        return new_real + 1j * new_imag

    def zero_grad(self) -> None:
        """Set every parameter's `.grad` to None (PyTorch's default, `set_to_none=True`):
        the next backward fills it afresh, and `step` skips parameters it did not reach."""
        for p in self.params:
            p.grad = None

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue training elsewhere: the optimizer's class name,
        hyperparameters, parameter names in order, and each parameter's state (copies of the
        running tensors, and step counts). The parameters themselves are not included.

        >>> import minidiff as md
        >>> w = md.Tensor([1.0], allow_grad=True)
        >>> opt = md.optim.Adam({"w": w}, lr=0.1)
        >>> (w ** 2).sum().backward()
        >>> opt.step()
        >>> d = opt.state_dict()
        >>> d["optimizer"], d["params"], sorted(d["state"]["w"])
        ('Adam', ['w'], ['exp_avg', 'exp_avg_sq', 'step'])
        """
        state = {}
        for name in self.names:
            state[name] = {key: Tensor(v) if isinstance(v, Tensor) else v for key, v in self.state[name].items()}
        return {
            "optimizer": type(self).__name__,
            "hyperparameters": self.hyperparameters,
            "params": list(self.names),
            "state": state,
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Take the hyperparameters and state from `state_dict` (as `state_dict()` made it, or
        as `md.load` gives it back), so that training continues exactly where it was saved.
        State tensors are copied onto each parameter's backend and dtype. Everything is
        checked first (optimizer class, parameter names, state entries and their shapes);
        on an error nothing changes."""
        _expect_keys("state_dict", state_dict, {"optimizer", "hyperparameters", "params", "state"})
        kind = state_dict["optimizer"]
        if kind != type(self).__name__:
            raise ValueError(
                f"this state_dict is from a {kind!r} optimizer; it cannot be loaded into {type(self).__name__}"
            )
        names = list(state_dict["params"])
        if names != list(self.names):
            raise ValueError(
                f"the state_dict's parameters {names} are not this optimizer's {list(self.names)} "
                f"(the same names, in the same order)"
            )
        raw = state_dict["hyperparameters"]
        _expect_keys("state_dict['hyperparameters']", raw, set(self._hyperparameter_names))
        hyperparameters = self._validate(dict(raw))
        required = self._required_state(hyperparameters)
        saved = state_dict["state"]
        _expect_keys("state_dict['state']", saved, set(self.names))
        state = {name: self._checked_state(name, p, saved[name], required) for name, p in self._named()}
        for name, value in hyperparameters.items():
            setattr(self, name, value)
        self.state = state

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters.items())
        return f"{type(self).__name__}({len(self.params)} parameters, {settings})"

    # ------------------------------------------------------------------ helpers

    def _named(self) -> Iterable[tuple[str, Tensor]]:
        return zip(self.names, self.params)

    def _checked_state(self, name: str, p: Tensor, entry: Any, required: set[str]) -> dict[str, Any]:
        where = f"state_dict['state'][{name!r}]"
        if not isinstance(entry, Mapping):
            raise TypeError(f"{where} should be a dict of state entries, got {type(entry).__name__}")
        unknown = set(entry) - set(self.state_keys)
        if unknown:
            raise ValueError(
                f"{where} has entries {sorted(unknown)} that {type(self).__name__} does not keep "
                f"(it keeps {list(self.state_keys)})"
            )
        if entry and not required <= set(entry):
            raise ValueError(f"{where} lacks {sorted(required - set(entry))}, which these settings need")
        state: dict[str, Any] = {}
        for key, value in entry.items():
            if key == "step":
                if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 0:
                    raise ValueError(f"{where}['step'] should be a whole number >= 0, got {value!r}")
                state[key] = int(value)
                continue
            if not isinstance(value, (Tensor, np.ndarray, *p.backend.array_types)):
                raise TypeError(f"{where}[{key!r}] should be a Tensor or an array, got {type(value).__name__}")
            shape = tuple(value.shape)
            if shape != p.shape:
                raise ValueError(f"{where}[{key!r}] has shape {shape}, but parameter {name!r} has shape {p.shape}")
            # a copy, on the parameter's backend and in its dtype, as PyTorch casts state to its parameter
            state[key] = Tensor(value, dtype=p.dtype, backend=p.backend.name)
        return state


# ---------------------------------------------------------------------- parameters


def _named_parameters(params: Any) -> tuple[tuple[str, ...], tuple[Tensor, ...]]:
    """Parameter names and tensors from a dict, an iterable of tensors, or of (name, tensor) pairs."""
    if isinstance(params, Tensor):
        # a tensor is iterable (over its rows), which would silently optimize copies of rows
        raise TypeError("params should be a list, tuple or dict of tensors, not one Tensor: write [t] for one tensor")
    if isinstance(params, Mapping):
        items = list(params.items())
        for key, _ in items:
            if not isinstance(key, str):
                raise TypeError(f"parameter names should be strs (state_dict keys are), got {key!r}")
    else:
        try:
            entries = list(params)
        except TypeError:
            raise TypeError(f"params should be a list, tuple or dict of tensors, got {type(params).__name__}") from None
        items = []
        for i, entry in enumerate(entries):
            if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str):
                items.append(entry)  # ("name", tensor), as from dict.items()
            elif isinstance(entry, Mapping):
                raise TypeError(
                    "parameter groups (dicts inside params) are not supported: make one optimizer per group"
                )
            else:
                items.append((str(i), entry))
    if not items:
        raise ValueError("the optimizer got no parameters: params is empty")
    seen: dict[int, str] = {}
    names = [name for name, _ in items]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"parameter names {twice} occur more than once")
    for name, p in items:
        if not isinstance(p, Tensor):
            raise TypeError(f"parameter {name!r} should be a minidiff Tensor, got {type(p).__name__}")
        if not p.is_leaf:
            raise ValueError(
                f"parameter {name!r} (shape {p.shape}) is not a leaf: it was computed from other tensors, so "
                f"backward never fills its .grad; optimize the leaves it came from, or use t.detach().requires_grad_()"
            )
        if not p.allow_grad:
            raise ValueError(
                f"parameter {name!r} (shape {p.shape}) does not allow grad, so it never gets a .grad: "
                f"create it with allow_grad=True, or call t.requires_grad_()"
            )
        if id(p) in seen:
            raise ValueError(
                f"parameter {name!r} is the same tensor as parameter {seen[id(p)]!r}; list each tensor once"
            )
        seen[id(p)] = name
    return tuple(names), tuple(p for _, p in items)


# ---------------------------------------------------------------------- checks


def real(name: str, value: Any, *, low: float = 0.0, below: float | None = None, high: float | None = None) -> float:
    """`value` as a float, checked to be finite and in `[low, below)` or `[low, high]`."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} should be a real number, got {value!r} of type {type(value).__name__}")
    number = float(value)
    upper = f", {below})" if below is not None else f", {high}]" if high is not None else ", inf)"
    if not math.isfinite(number) or number < low or (below is not None and number >= below) or (
        high is not None and number > high
    ):
        raise ValueError(f"{name} should be in [{low}{upper}, got {value!r}")
    return number


def flag(name: str, value: Any) -> bool:
    """`value` checked to be a bool (a stray number for a flag is usually a misplaced argument)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} should be True or False, got {value!r}")
    return bool(value)


def _expect_keys(what: str, mapping: Any, expected: set[str]) -> None:
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{what} should be a dict, got {type(mapping).__name__}")
    missing, extra = expected - set(mapping), set(mapping) - expected
    if missing or extra:
        parts = [f"lacks {sorted(missing)}"] if missing else []
        parts += [f"has unexpected {sorted(map(str, extra))}"] if extra else []
        raise ValueError(f"{what} {' and '.join(parts)}")
