"""Fusion: hand parts of a program to a real compiler.

- NumPy arrays, with numexpr installed: a chain of elementwise kernels (ops that declare
  `Op.fuse`, forward and backward-rule kernels alike) whose intermediates are used once
  becomes one numexpr expression, so the intermediates are never materialized. Only
  float64 chains are fused (numexpr's casting of constants against float32 differs from
  NumPy's), and only between writes (an in-place step ends a chain: moving a read past a
  write would change what it reads).
- A backend with a compiler (`Backend.compile_function`, `mx.compile` on MLX): the whole
  program goes through it when the program writes nothing in place, with every array the
  program reads passed as an argument (a compiler would freeze captured arrays).

Without either, the program replays kernel by kernel, bitwise equal to eager.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minidiff.compiler.buffers import reuse_buffers
from minidiff.compiler.program import Program, _Namespace, expression
from minidiff.compiler.trace import WRITES, Build, Ref, Step, _has_ref

#: at most this many array inputs and ops in one numexpr expression (numexpr takes up to
#: NumPy's limit of operands; long expressions cost more to compile than they save)
MAX_INPUTS = 8
MAX_OPS = 48


def optimize(
    steps: list[Step], n_args: int, n_grads: int, results: list[Any], fuse: bool, backend: Any,
    inputs: dict[str, Any], shared: set[str],
) -> Program:
    """The program for `steps`, fused where `fuse` allows and a compiler is at hand, with large
    results written into dying inputs (`minidiff.compiler.buffers`). `inputs` gives the
    (shape, dtype, type) of the program's inputs by name (`a0`, `g0`); `shared` the values
    that share memory with another."""
    if fuse:
        ne = _numexpr()
        if ne is not None:
            steps = fuse_elementwise(steps, results, ne, inputs)
    compilable = fuse and backend is not None and _has_compiler(backend)
    if not compilable:
        steps = reuse_buffers(steps, results, shared)  # a compiler allocates its own
    program = Program(steps, n_args, n_grads, results)
    if compilable:
        compiled = _through_compiler(program, backend)
        if compiled is not None:
            program.function = compiled
    return program


def _has_compiler(backend: Any) -> bool:
    """Whether the backend declares a compiler (overrides `Backend.compile_function`)."""
    from minidiff.backend import Backend

    return getattr(type(backend), "compile_function", Backend.compile_function) is not Backend.compile_function


def _numexpr() -> Any:
    try:
        import numexpr
    except ImportError:  # optional (`minidiff[fast]`): replay is unfused without it
        return None
    return numexpr


# ------------------------------------------------------------------------------ numexpr


def _fusable(step: Step, functions: bool) -> bool:
    op = step.op
    if op is None or op is WRITES or step.kwargs or not getattr(op, "fuse", None) or step.out is None:
        return False
    if not functions and not op.fuse.startswith("("):
        return False  # `sin(...)`: see `fuse_elementwise`
    meta = step.meta
    return meta is not None and meta[2] is np.ndarray and meta[1] == np.float64


def fuse_elementwise(steps: list[Step], results: list[Any], ne: Any, inputs: dict[str, Any]) -> list[Step]:
    """`steps` with each chain of fusable kernels replaced by one numexpr call.

    Functions (`sin`, `exp`) join a chain only when numexpr uses Intel's VML: without it
    numexpr computes them with the C library's scalar code, slower than NumPy's SIMD loops
    (on W3, 2e6 elements: fusing them made the step 18% slower, fusing only arithmetic 10%
    faster), while arithmetic gains from never writing its intermediates to memory."""
    functions = bool(getattr(ne, "use_vml", False))
    metas = dict(inputs)
    metas.update((step.out, step.meta) for step in steps if step.meta is not None)
    uses: dict[str, int] = {}
    for step in steps:
        _count(step.args, uses)
        _count(tuple(step.kwargs.values()), uses)
    _count(tuple(results), uses)
    by_out: dict[str, tuple[int, Step]] = {}  # fusable producers, with the write epoch they ran in
    epoch = 0
    plans: dict[int, tuple[str, list[Any], list[int]]] = {}
    for index, step in enumerate(steps):
        if step.op is WRITES:
            epoch += 1
            continue
        if not _fusable(step, functions):
            continue
        by_out[step.out] = (epoch, step)
        leaves: list[Any] = []
        taken: list[int] = []
        text = _inline(step, epoch, by_out, uses, metas, leaves, taken, [0])
        if text is None:
            continue
        if taken:  # at least two ops: worth a numexpr call
            plans[index] = (text, leaves, taken)
    if not plans:
        return steps
    # a plan whose root a later plan inlined is dropped; walking from the last plan back,
    # only the plans kept say which steps are gone
    absorbed: set[int] = set()
    for index in sorted(plans, reverse=True):
        if id(steps[index]) in absorbed:
            del plans[index]
        else:
            absorbed.update(plans[index][2])
    fused = []
    for index, step in enumerate(steps):
        if id(step) in absorbed:
            continue
        plan = plans.get(index)
        if plan is None:
            fused.append(step)
            continue
        text, leaves, _ = plan
        names = [f"x{i}" for i in range(len(leaves))]
        kernel = ne.NumExpr(text, signature=[(n, np.float64) for n in names])
        replacement = Step(kernel, None, tuple(leaves), {}, step.out)
        replacement.meta = step.meta
        fused.append(replacement)
    return fused


def _count(values: Any, uses: dict[str, int]) -> None:
    for value in values:
        kind = type(value)
        if kind is Ref:
            uses[value.expr] = uses.get(value.expr, 0) + 1
        elif kind is Build:
            _count([v for _, v in value.items] if value.kind is dict else value.items, uses)


def _inline(
    step: Step, epoch: int, by_out: dict, uses: dict, metas: dict, leaves: list, taken: list, ops: list
) -> str | None:
    """numexpr source for `step`, inlining producers used only here; None when an operand
    cannot go into an expression (then `step` stays a plain call)."""
    ops[0] += 1
    operands = []
    for arg in step.args:
        kind = type(arg)
        if kind is float or kind is int:
            if not math.isfinite(arg):
                return None  # numexpr has no literal for inf or nan
            operands.append(f"({arg!r})")
            continue
        if kind is not Ref:
            return None
        producer = by_out.get(arg.expr)
        if (
            producer is not None
            and producer[0] == epoch
            and uses.get(arg.expr) == 1
            and ops[0] < MAX_OPS
            and len(leaves) < MAX_INPUTS
        ):
            mark = (len(leaves), len(taken), ops[0])
            inner = _inline(producer[1], epoch, by_out, uses, metas, leaves, taken, ops)
            if inner is not None:
                taken.append(id(producer[1]))
                operands.append(inner)
                continue
            del leaves[mark[0]:], taken[mark[1]:]  # the producer stays a call of its own
            ops[0] = mark[2]
        meta = metas.get(arg.expr)
        if meta is None or meta[2] is not np.ndarray or meta[1] != np.float64:
            return None
        if len(leaves) >= MAX_INPUTS:
            return None
        for position, leaf in enumerate(leaves):
            if leaf.expr == arg.expr:
                operands.append(f"x{position}")
                break
        else:
            leaves.append(arg)
            operands.append(f"x{len(leaves) - 1}")
    return step.op.fuse.format(*operands)


# ------------------------------------------------------------------------------ backend compilers


def _through_compiler(program: Program, backend: Any) -> Any:
    """The program's function compiled by the backend's compiler, with the arrays it reads
    as arguments, or None where the backend has no compiler. A program the compiler
    cannot take (it reads a value inside a kernel) replays uncompiled: the first call tries."""
    compile_function = getattr(backend, "compile_function", None)
    if compile_function is None:
        return None
    names = _Namespace()
    lifted: list[Any] = []
    array_types = backend.array_types
    params = [f"a{i}" for i in range(program.n_args)] + [f"g{i}" for i in range(program.n_grads)]
    lines = []
    by_id: dict[int, str] = {}

    def lift(value: Any) -> Any:
        if isinstance(value, array_types):
            name = by_id.get(id(value))
            if name is None:
                name = by_id[id(value)] = f"k{len(lifted)}"
                lifted.append(value)
            return Ref(name)
        if type(value) in (tuple, list):
            items = [lift(v) for v in value]
            return Build(type(value), items) if any(type(i) in (Ref, Build) for i in items) else value
        if type(value) is Build:
            if value.kind is dict:
                return Build(dict, [(k, lift(v)) for k, v in value.items])
            return Build(value.kind, [lift(v) for v in value.items])
        return value

    from minidiff.backend import Backend
    from minidiff.compiler.program import _names_in, call_source

    lifted_steps = [
        Step(step.fn, step.op, tuple(lift(a) for a in step.args), {k: lift(v) for k, v in step.kwargs.items()}, step.out)
        for step in program.steps
    ]
    # Writes in place (a training step's update) cannot run inside a compiled function (it
    # would write into its own copies): `t[...] = value` at the end of the program is done
    # after the call instead, with `value` computed inside. Anything else: not compiled.
    deferred: list[tuple[Any, Any, Any, Any]] = []  # (setitem, backend, target, key)
    deferred_values: list[Any] = []
    body = []
    for index, step in enumerate(lifted_steps):
        if step.op is not WRITES:
            body.append(step)
            continue
        if step.fn is Backend.update:
            continue  # the base class's update writes nothing (it answers False)
        if getattr(step.fn, "__name__", "") != "setitem" or len(step.args) != 4 or step.kwargs:
            return None
        owner, target, key, value = step.args
        if type(target) is not Ref or target.expr[0] not in "agk" or _has_ref([key]) or type(owner) is Ref:
            return None
        later: set[str] = set()
        for after in lifted_steps[index + 1 :]:
            _names_in(after.args, later)
            _names_in(tuple(after.kwargs.values()), later)
        _names_in(tuple(lift(r) for r in program.results), later)
        if target.expr in later:
            return None  # read again after the write
        deferred.append((step.fn, owner, target.expr, key))
        deferred_values.append(value)
    for step in body:
        lines.append("    " + call_source(step, names))  # no `del`: the compiler sees the whole function
    returned = ", ".join(expression(v, names) for v in [*(lift(r) for r in program.results), *deferred_values])
    all_params = params + [f"k{i}" for i in range(len(lifted))]
    source = "\n".join([f"def replay({', '.join(all_params)}):", *lines, f"    return ({returned},)" if program.results else "    return ()"])
    namespace = dict(names.values)
    exec(compile(source, "<minidiff.compiler replay>", "exec"), namespace)
    compiled = compile_function(namespace["replay"])
    if compiled is None:
        return None
    plain = program.function
    refused: list[bool] = []
    count = len(program.results)

    def target_of(expr: str, arrays: tuple) -> Any:
        position = int(expr[1:])
        if expr[0] == "k":
            return lifted[position]
        return arrays[position if expr[0] == "a" else program.n_args + position]

    def run(*arrays: Any) -> tuple:
        if not refused:
            try:
                out = compiled(*arrays, *lifted)
            except Exception:  # e.g. a kernel that reads a value: the compiler refuses it
                refused.append(True)
            else:
                for (setitem, owner, target, key), value in zip(deferred, out[count:]):
                    setitem(owner, target_of(target, arrays), key, value)
                return out[:count] if deferred else out
        return plain(*arrays)

    run.refused = refused  # type: ignore[attr-defined]  # non-empty once the compiler refused the program
    return run
