"""The flat program a trace becomes, and its replay.

A program is one generated Python function over raw arrays, one line per recorded call:

    def replay(a0, a1, g0):
        v0 = f0(a0, c0)          # a forward kernel: np.multiply(x, 1.5)
        v1 = f1(v0)
        ...
        return (v5, v9)          # the outputs, then the gradients written to `.grad`

Inputs are the arrays of the tensor arguments (`a*`) and the gradients the step reads from
before the call (`g*`); `f*` are the recorded functions and `c*` the values they took as
they were (numbers, shapes, arrays the step did not compute, by reference). Replaying it
makes no Tensor and no graph node: the time per op is the kernel's and one Python call.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from minidiff.compiler.trace import Build, GradWrite, Ref, Step


class Program:
    """A generated replay function and what it returns (`results`, expressions in order)."""

    def __init__(
        self, steps: Sequence[Step | GradWrite], n_args: int, n_grads: int, results: Sequence[Any]
    ) -> None:
        self.steps = list(steps)
        self.n_args = n_args
        self.n_grads = n_grads
        self.results = list(results)
        self.source, self.function = _generate(self.steps, n_args, n_grads, self.results)

    @property
    def calls(self) -> int:
        """How many recorded calls the program makes."""
        return sum(1 for s in self.steps if type(s) is Step)


class _Namespace:
    """Names for the functions and constants a generated function refers to, by identity."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.by_id: dict[int, str] = {}

    def name(self, value: Any, prefix: str) -> str:
        name = self.by_id.get(id(value))
        if name is None:
            name = self.by_id[id(value)] = f"{prefix}{len(self.by_id)}"
            self.values[name] = value
        return name


def expression(value: Any, names: _Namespace) -> str:
    """Source text that evaluates to `value` at replay."""
    kind = type(value)
    if kind is Ref:
        return value.expr
    if kind is Build:
        if value.kind is dict:
            return "{" + ", ".join(f"{names.name(k, 'c')}: {expression(v, names)}" for k, v in value.items) + "}"
        inner = ", ".join(expression(v, names) for v in value.items)
        if value.kind is tuple:
            return f"({inner},)" if value.items else "()"
        if value.kind is list:
            return f"[{inner}]"
        return f"{names.name(value.kind, 'c')}(({inner},))"
    if value is None or kind is bool or kind is int:
        return repr(value)
    return names.name(value, "c")


def call_source(step: Step, names: _Namespace) -> str:
    args = [expression(a, names) for a in step.args]
    for key, value in step.kwargs.items():
        if key.isidentifier():
            args.append(f"{key}={expression(value, names)}")
        else:
            args.append(f"**{{{names.name(key, 'c')}: {expression(value, names)}}}")
    call = f"{names.name(step.fn, 'f')}({', '.join(args)})"
    return call if step.out is None else f"{step.out} = {call}"


def _names_in(value: Any, found: set[str]) -> None:
    kind = type(value)
    if kind is Ref:
        found.add(value.expr.partition("[")[0])  # `v5[0]` keeps `v5`
    elif kind is Build:
        for item in value.items:
            _names_in(item[1] if value.kind is dict else item, found)
    elif kind is tuple or kind is list:
        for item in value:
            _names_in(item, found)


def _last_uses(steps: Sequence[Any], results: Sequence[Any]) -> dict[int, list[str]]:
    """For each step's index, the variables no later step or result reads."""
    kept: set[str] = set()
    _names_in(tuple(results), kept)
    last: dict[str, int] = {}
    for index, step in enumerate(steps):
        if type(step) is not Step:
            continue
        used: set[str] = set()
        _names_in(step.args, used)
        _names_in(tuple(step.kwargs.values()), used)
        if step.out is not None:
            used.add(step.out)  # a result nothing reads dies where it is made
        for name in used:
            last[name] = index
    by_step: dict[int, list[str]] = {}
    for name, index in last.items():
        if name not in kept:
            by_step.setdefault(index, []).append(name)
    return by_step


def _generate(
    steps: Sequence[Step | GradWrite], n_args: int, n_grads: int, results: Sequence[Any]
) -> tuple[str, Callable[..., tuple]]:
    names = _Namespace()
    params = [f"a{i}" for i in range(n_args)] + [f"g{i}" for i in range(n_grads)]
    lines = [f"def replay({', '.join(params)}):"]
    last_use = _last_uses(steps, results)
    for index, step in enumerate(steps):
        if type(step) is Step:
            lines.append("    " + call_source(step, names))
            dead = [name for name in last_use.get(index, ()) if name not in params]
            if dead:  # free each value after its last use, as eager code lets it go
                lines.append(f"    del {', '.join(dead)}")
    returned = ", ".join(expression(r, names) for r in results)
    lines.append(f"    return ({returned},)" if results else "    return ()")
    source = "\n".join(lines)
    namespace = dict(names.values)
    exec(compile(source, "<minidiff.compiler replay>", "exec"), namespace)
    return source, namespace["replay"]
