"""Random programs built from the registered op table, with first- and second-order
gradients checked against central finite differences in float64.

A program starts from one or two inputs (0-d, size-1 and broadcasting shapes; exact zeros,
integers and arbitrary floats as values) and applies 2 to 4 steps, each an op the
registry holds:

- an elementwise op (any op whose NumPy reference keeps its operand's shape, or
  broadcasts two operands), on an earlier value, a new input or a Python number;
- an elementwise op with the constant operand one of its samples declares (`x ** 0`);
- a reduction (an op taking `axis` and `keepdims`) over a drawn axis;
- any other op, on one of its samples' shapes: an earlier value broadcast to it when it
  fits, a new input otherwise.

Every value an op receives lies in the domain its samples declare (a value outside is
first mapped smoothly into it), and an op with a kink or tie is only drawn where its
operands keep clear of it (`KINKS`): the conventions at those points are the business of
test_edge_points.py. Every value no later step consumes is an output, so every input counts.

Hypothesis runs a fixed number of derandomized examples, so CI sees the same programs
every time; a failure prints the program.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import minidiff as md
from minidiff import plugins
from minidiff.extend import Op, Sample
from minidiff.testing import gradcheck, gradgradcheck
from minidiff.testing.samples import op_function, reference_of

# How far an operand keeps from a kink or tie: finite differences step by 1e-6 at the
# inputs, which a few ops with slopes of tens can stretch, but not to this.
CLEAR = 0.05

LEAF_SHAPES = [(), (1,), (3,), (1, 3), (2, 1), (2, 3), (2, 1, 3)]
SPECIAL_VALUES = [0.0, 0.0, 1.0, -1.0, 2.0, -2.0]  # exact zeros and integers, zero twice as often
CONSTANTS = [0.0, 1.0, 2.0, -1.5, 0.5, 3.0]


# ---------------------------------------------------------------------------- the op table


def _reduced_slices(x: np.ndarray, axis: Any) -> np.ndarray:
    """x with the reduced axes moved last and flattened into one."""
    if x.ndim == 0:
        return x.reshape(1, 1)
    axes = tuple(range(x.ndim)) if axis is None else (axis,) if isinstance(axis, int) else axis
    axes = tuple(a % x.ndim for a in axes)
    kept = [d for d in range(x.ndim) if d not in axes]
    moved = np.transpose(x, kept + list(axes))
    return moved.reshape(int(np.prod([x.shape[d] for d in kept])), -1)


def _top_gap(x: np.ndarray, axis: Any, sign: float) -> float:
    slices = np.sort(sign * _reduced_slices(x, axis), axis=-1)
    if slices.shape[-1] < 2:
        return math.inf
    return float(np.min(slices[:, -1] - slices[:, -2]))


def _spread(x: np.ndarray, axis: Any) -> float:
    return float(np.min(np.std(_reduced_slices(x, axis), axis=-1)))


def _length(x: np.ndarray, axis: Any) -> float:
    return float(np.min(np.linalg.norm(_reduced_slices(x, axis), axis=-1)))


def _mod_clearance(x: Any, y: Any) -> float:
    r = np.mod(x, y)
    return float(np.min(np.minimum(r, np.abs(y) - r)))


def _clip_clearance(x: Any, lo: Any = None, hi: Any = None, min: Any = None, max: Any = None) -> float:
    lo, hi = (min if lo is None else lo), (max if hi is None else hi)
    lo, hi = (-math.inf if lo is None else lo), (math.inf if hi is None else hi)
    gaps = np.broadcast_arrays(np.subtract(x, lo), np.subtract(x, hi), np.subtract(hi, lo))
    return float(np.min(np.abs(np.stack(gaps))))


def _distinct(x: np.ndarray) -> float:
    flat = np.sort(np.ravel(x))
    return float(np.min(np.diff(flat))) if flat.size > 1 else math.inf


# Ops with a kink, a jump or a tie: how far their operands are from one (operands, params).
# Another pack's op with a kink of its own joins this table.
KINKS: dict[str, Callable[..., float]] = {
    "abs": lambda x, **p: float(np.min(np.abs(x))),
    "relu": lambda x, **p: float(np.min(np.abs(x))),
    "heaviside": lambda x, y, **p: float(np.min(np.abs(x))),
    "copysign": lambda x, y, **p: float(min(np.min(np.abs(x)), np.min(np.abs(y)))),
    "maximum": lambda x, y, **p: float(np.min(np.abs(np.subtract(x, y)))),
    "minimum": lambda x, y, **p: float(np.min(np.abs(np.subtract(x, y)))),
    "fmax": lambda x, y, **p: float(np.min(np.abs(np.subtract(x, y)))),
    "fmin": lambda x, y, **p: float(np.min(np.abs(np.subtract(x, y)))),
    "mod": lambda x, y, **p: _mod_clearance(x, y),
    "clip": lambda x, *bounds, **p: _clip_clearance(x, *bounds, **p),
    "max": lambda x, axis=None, **p: _top_gap(x, axis, 1.0),
    "min": lambda x, axis=None, **p: _top_gap(x, axis, -1.0),
    "std": lambda x, axis=None, **p: _spread(x, axis),
    "linalg.vector_norm": lambda x, axis=None, **p: _length(x, axis),
}

# Ops of other packs (and those to come) whose name says they pick by order: a tie anywhere
# in the operand counts, which keeps clear of every tie they can meet.
ORDER_WORDS = ("max", "min", "ptp", "median", "quantile", "percentile", "sort", "partition")
SMOOTH_NAMES = {"softmax", "log_softmax", "logsumexp"}


def _operand_like(arg: Any) -> bool:
    return (isinstance(arg, tuple) and all(isinstance(n, int) for n in arg)) or (
        isinstance(arg, np.ndarray) and arg.dtype.kind == "f"
    )


def _probe(op: Op, *shapes: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = reference_of(op)(*[np.full(s, 0.6 + 0.1 * i) for i, s in enumerate(shapes)])
    except Exception:
        return None
    return np.shape(out) if isinstance(out, (np.ndarray, np.generic, float)) else None


@dataclass
class Table:
    unary: list[Op] = field(default_factory=list)  # keeps its operand's shape
    binary: list[Op] = field(default_factory=list)  # broadcasts two operands
    with_constant: list[tuple[Op, Sample, int]] = field(default_factory=list)  # (op, sample, operand slot)
    reductions: list[Op] = field(default_factory=list)
    templates: list[tuple[Op, Sample]] = field(default_factory=list)  # anything else, on its samples' shapes


def _build_table() -> Table:
    table = Table()
    for entry in plugins.load().ops.values():
        op = getattr(entry, "value", entry)
        if not op.differentiable or op.creation or op.nout != 1 or not op.samples:
            continue
        if op.nargs == 1 and not op.params and op.parse is None and op.composite is None:
            if _probe(op, (2, 1, 3)) == (2, 1, 3) and _probe(op, ()) == ():
                table.unary.append(op)
                continue
        if op.nargs == 2 and not op.params and op.parse is None and op.composite is None:
            if _probe(op, (2, 1, 3), (4, 1)) == (2, 4, 3) and _probe(op, (), ()) == ():
                table.binary.append(op)
                for s in op.samples:
                    slots = [i for i, a in enumerate(s.args) if _operand_like(a)]
                    others = [a for i, a in enumerate(s.args) if i not in slots]
                    if len(slots) == 1 and all(type(a) in (int, float) for a in others) and s.order >= 2:
                        table.with_constant.append((op, s, slots[0]))
                continue
        if op.nargs == 1 and {"axis", "keepdims"} <= set(op.params) and op.composite is None:
            table.reductions.append(op)
            continue
        if op.namespace:
            continue  # linalg's samples are chosen matrices, not random draws
        for s in op.samples:
            if s.order >= 2 and s.args and all(isinstance(a, tuple) for a in s.args) and all(map(_operand_like, s.args)):
                table.templates.append((op, s))
    return table


TABLE = _build_table()


# ---------------------------------------------------------------------------- programs


def _inside(value: Any, domain: tuple[float, float]) -> bool:
    low, high = domain
    host = value.numpy() if isinstance(value, md.Tensor) else np.asarray(value)
    return bool(np.all((host >= low) & (host <= high)))


def _into(value: Any, domain: tuple[float, float], squash: bool) -> Any:
    """`value`, or with `squash` `value` mapped smoothly and monotonically into `domain`.
    Whether to squash is decided once, when the program is drawn: deciding on each run
    would make the program jump where finite differences step across a domain's edge."""
    if not squash:
        return value
    low, high = domain
    if isinstance(value, md.Tensor):
        return low + (high - low) * 0.5 * (1.0 + md.tanh(value / 4.0))
    return low + (high - low) * 0.5 * (1.0 + math.tanh(float(value) / 4.0))


def _shown(i: int, domain: tuple[float, float], squash: bool) -> str:
    return f"into{domain}(v{i})" if squash else f"v{i}"


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _clear(op: Op, operands: list[Any], params: dict) -> bool:
    """Whether the operands keep clear of the op's kinks and ties."""
    hosts = [o.numpy() if isinstance(o, md.Tensor) else np.asarray(o) for o in operands]
    distance = KINKS.get(op.qualname)
    with np.errstate(all="ignore"):
        if distance is not None:
            try:
                return distance(*hosts, **params) > CLEAR
            except TypeError:
                return False  # a sample form the table does not know: draw another step
        if op.name not in SMOOTH_NAMES and any(word in op.name for word in ORDER_WORDS):
            return _distinct(np.concatenate([np.ravel(h) for h in hosts])) > CLEAR
    return True


@dataclass
class Program:
    """Inputs and steps; each step appends one value, computed from earlier values (an
    input is a step that reads it)."""

    leaves: list[np.ndarray] = field(default_factory=list)
    steps: list[tuple[str, Callable[[list, tuple], Any], tuple[int, ...]]] = field(default_factory=list)
    consumed: set[int] = field(default_factory=set)

    def run(self, *leaves: md.Tensor) -> list[md.Tensor]:
        values: list[Any] = []
        for _, step, _ in self.steps:
            values.append(step(values, leaves))
        outputs: list[md.Tensor] = []
        for i, v in enumerate(values):
            if i not in self.consumed:
                outputs.extend(v if isinstance(v, (list, tuple)) else [v])
        return outputs

    def describe(self) -> str:
        return "\n".join(f"v{i} = {text}" for i, (text, _, _) in enumerate(self.steps))


class Builder:
    """Draws a program step by step, evaluating it as it goes so that each op's operands
    can be checked against its domain and kinks."""

    def __init__(self, data: Any) -> None:
        self.data = data
        self.program = Program()
        self.values: list[md.Tensor] = []

    def draw(self, strategy: Any, label: str) -> Any:
        return self.data.draw(strategy, label=label)

    def new_leaf(self, shape: tuple[int, ...]) -> int:
        size = int(np.prod(shape, dtype=int))
        element = st.one_of(st.sampled_from(SPECIAL_VALUES), st.floats(-2.0, 2.0, allow_nan=False, width=64))
        leaf = np.array(self.draw(st.lists(element, min_size=size, max_size=size), "input"), dtype=np.float64)
        leaf = leaf.reshape(shape)
        k = len(self.program.leaves)
        self.program.leaves.append(leaf)
        self.values.append(md.Tensor(leaf))
        self.program.steps.append((f"input {k} {shape}: {leaf.tolist()}", lambda vs, leaves: leaves[k], ()))
        return len(self.values) - 1

    def tensors(self) -> list[int]:
        """The values a step can take: every one except the lists some ops return."""
        return [i for i, v in enumerate(self.values) if isinstance(v, md.Tensor)]

    def value(self) -> int:
        return self.draw(st.sampled_from(self.tensors()), "value")

    def add_step(self, text: str, step: Callable[[list], Any], uses: tuple[int, ...]) -> None:
        self.values.append(step(self.values))
        self.program.steps.append((text, lambda vs, leaves: step(vs), uses))
        self.program.consumed.update(uses)

    # -- operands

    def operand_for(self, shape: tuple[int, ...]) -> int:
        """An earlier value of a shape that broadcasts to `shape`, or a new input of it."""
        fits = [i for i in self.tensors() if _broadcasts_to(self.values[i].shape, shape)]
        if fits and self.draw(st.booleans(), "reuse a value"):
            return self.draw(st.sampled_from(fits), "operand")
        return self.new_leaf(shape)

    # -- the kinds of step

    def unary_step(self) -> bool:
        src = self.value()
        candidates = []
        for op in TABLE.unary:
            domain = op.samples[0].domain
            squash = not _inside(self.values[src], domain)
            if _clear(op, [_into(self.values[src], domain, squash)], {}):
                candidates.append((op, squash))
        if not candidates:
            return False
        op, squash = self.draw(st.sampled_from(candidates), "unary op")
        domain, function = op.samples[0].domain, op_function(op)
        self.add_step(
            f"{op.qualname}({_shown(src, domain, squash)})", lambda vs: function(_into(vs[src], domain, squash)), (src,)
        )
        return True

    def binary_step(self) -> bool:
        a = self.value()
        kind = self.draw(st.sampled_from(["value", "number"]), "other operand")
        if kind == "value":
            b = self.value()
            try:
                np.broadcast_shapes(self.values[a].shape, self.values[b].shape)
            except ValueError:
                return False
            other: Any = None
        else:
            b, other = None, self.draw(st.sampled_from(CONSTANTS), "number")
        swap = self.draw(st.booleans(), "swap")
        second = self.values[b] if b is not None else other
        candidates = []
        for op in TABLE.binary:
            domain = op.samples[0].domain
            squash_x, squash_y = not _inside(self.values[a], domain), not _inside(second, domain)
            x, y = _into(self.values[a], domain, squash_x), _into(second, domain, squash_y)
            if _clear(op, [y, x] if swap else [x, y], {}):
                candidates.append((op, squash_x, squash_y))
        if not candidates:
            return False
        op, squash_x, squash_y = self.draw(st.sampled_from(candidates), "binary op")
        domain, function = op.samples[0].domain, op_function(op)

        def step(vs: list) -> Any:
            x = _into(vs[a], domain, squash_x)
            y = _into(vs[b] if b is not None else other, domain, squash_y)
            return function(y, x) if swap else function(x, y)

        names = [_shown(a, domain, squash_x), _shown(b, domain, squash_y) if b is not None else repr(_into(other, domain, squash_y))]
        text = f"{op.qualname}({', '.join(names[::-1] if swap else names)})"
        self.add_step(text, step, (a,) if b is None else (a, b))
        return True

    def constant_step(self) -> bool:
        if not TABLE.with_constant:
            return False
        op, s, slot = self.draw(st.sampled_from(TABLE.with_constant), "op with a constant")
        src = self.value()
        domain, function = s.domain, op_function(op)
        squash = not _inside(self.values[src], domain)
        args = list(s.args)
        args[slot] = _into(self.values[src], domain, squash)
        if not _clear(op, args, {}):
            return False

        def step(vs: list) -> Any:
            call = list(s.args)
            call[slot] = _into(vs[src], domain, squash)
            return function(*call, **s.params)

        shown = [_shown(src, domain, squash) if i == slot else repr(a) for i, a in enumerate(s.args)]
        self.add_step(f"{op.qualname}({', '.join(shown)})", step, (src,))
        return True

    def reduction_step(self) -> bool:
        if not TABLE.reductions:
            return False
        src = self.value()
        ndim = self.values[src].ndim
        axis_choices: list[Any] = [None]
        if ndim:
            axis_choices += list(range(-ndim, ndim))
            if ndim >= 2:
                axis_choices.append((0, -1))
        axis = self.draw(st.sampled_from(axis_choices), "axis")
        params: dict[str, Any] = {"axis": axis, "keepdims": self.draw(st.booleans(), "keepdims")}
        op = self.draw(st.sampled_from(TABLE.reductions), "reduction")
        if "ddof" in op.params:
            reduced = _reduced_slices(self.values[src].numpy(), axis).shape[-1]
            params["ddof"] = self.draw(st.sampled_from([0, 1] if reduced > 1 else [0]), "ddof")
        domain, function = op.samples[0].domain, op_function(op)
        squash = not _inside(self.values[src], domain)
        if not _clear(op, [_into(self.values[src], domain, squash)], params):
            return False
        self.add_step(
            f"{op.qualname}({_shown(src, domain, squash)}, {params})",
            lambda vs: function(_into(vs[src], domain, squash), **params),
            (src,),
        )
        return True

    def template_step(self) -> bool:
        if not TABLE.templates:
            return False
        op, s = self.draw(st.sampled_from(TABLE.templates), "op on a sample's shapes")
        if sum(int(np.prod(a)) for a in s.args) > 12:
            return False  # finite differences cost two runs per input element
        sources = [self.operand_for(arg) for arg in s.args]
        domain, function = s.domain, op_function(op)
        squash = [not _inside(self.values[i], domain) for i in sources]

        def operands(vs: list) -> list[Any]:
            out = []
            for i, shape, squash_i in zip(sources, s.args, squash):
                v = _into(vs[i], domain, squash_i)
                out.append(v if v.shape == shape else md.broadcast_to(v, shape))
            return out

        if not _clear(op, operands(self.values), dict(s.params)):
            return False
        shown = ", ".join(f"{_shown(i, domain, q)} as {shape}" for i, shape, q in zip(sources, s.args, squash))
        self.add_step(
            f"{op.qualname}({shown}, {dict(s.params)})",
            lambda vs: function(*operands(vs), **s.params),
            tuple(sources),
        )
        return True


def draw_program(data: Any) -> Program:
    builder = Builder(data)
    for _ in range(data.draw(st.integers(1, 2), label="inputs")):
        builder.new_leaf(data.draw(st.sampled_from(LEAF_SHAPES), label="shape"))
    kinds = {
        "unary": builder.unary_step,
        "binary": builder.binary_step,
        "constant": builder.constant_step,
        "reduction": builder.reduction_step,
        "template": builder.template_step,
    }
    wanted = data.draw(st.integers(2, 4), label="steps")
    made = tries = 0
    while made < wanted and tries < 20:  # a step whose operands sit at a kink is drawn again
        tries += 1
        made += kinds[data.draw(st.sampled_from(sorted(kinds)), label="kind")]()
    return builder.program


# ---------------------------------------------------------------------------- the test


def test_the_table_has_every_kind_of_step():
    # A program can only be as varied as the table the registry yields.
    assert {op.name for op in TABLE.unary} >= {"sin", "exp", "log", "abs", "sqrt"}
    assert {op.name for op in TABLE.binary} >= {"add", "multiply", "divide", "power", "maximum"}
    assert {(op.name, s.args[1]) for op, s, _ in TABLE.with_constant if op.name == "power"} >= {("power", 0), ("power", 2)}
    assert {op.name for op in TABLE.reductions} >= {"sum", "prod", "max", "std", "logsumexp"}
    assert {op.name for op, _ in TABLE.templates} >= {"reshape", "transpose", "broadcast_to", "getitem"}


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(st.data())
def test_random_program_gradients_match_finite_differences(data):
    with np.errstate(all="ignore"):
        program = draw_program(data)
    note(program.describe())
    with np.errstate(all="ignore"):
        gradcheck(program.run, *program.leaves)
        gradgradcheck(program.run, *program.leaves)
