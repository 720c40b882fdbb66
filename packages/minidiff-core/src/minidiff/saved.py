"""Which values a recorded node keeps for backward: only those its op's rules read.

A node that kept every operand would hold the whole forward in memory: in a chain that
alternates `sin` and `* 1.0001`, every intermediate. PyTorch and JAX keep only what each
derivative formula uses, and so does minidiff: `x * 1.0001` keeps nothing of `x` (its rule
reads the constant), `sin(x)` keeps `x`, `exp(x)` keeps its output. That halves the memory of
such a chain.

What a rule reads is found once per op, when it is bound, from the names the rule's code
loads: `lambda g, ans, x, y: g * y` reads `y` and not `x` or `ans`. A rule whose code cannot be
inspected (a builtin, a callable object) counts as reading everything, and so does a variadic
rule, so the inference can keep too much but never too little.

    >>> from minidiff.extend import Op
    >>> reads = rule_reads(Op("scale", forward="multiply", nargs=2,
    ...                       vjp=(lambda g, ans, x, y: g * y, lambda g, ans, x, y: g * x)))
    >>> reads.keeps(1, differentiated=(True, False)), reads.keeps(2, differentiated=(True, False))
    (False, True)

Which rules run depends on which operands take a gradient, so what to keep is decided per
call: `x * 1.0001` runs only x's rule, which reads the constant.

The same inspection says which keyword parameters the rules read (`params_read`): a node
copies an array-valued parameter it keeps (see `minidiff.dispatch`), and a parameter no
rule reads, like `reshape`'s `shape`, needs no look at all. And it says which rules only apply
arithmetic to the cotangent, `g * f(ans, x)` (`cotangent_operators`): the engine may run those
in the memory of a cotangent it alone holds.
"""

from __future__ import annotations

import dis
from dataclasses import dataclass
from types import CodeType
from typing import Any, Callable

from minidiff.extend import Op

_CO_VARARGS = 0x04  # code flag of a `*args` parameter (inspect.CO_VARARGS, without importing inspect)
_CO_VARKEYWORDS = 0x08  # code flag of a `**kwargs` parameter (inspect.CO_VARKEYWORDS)


@dataclass(frozen=True)
class RuleReads:
    """What each rule of an op reads. `by_rule[i]` is for the rule of operand `i`: whether it
    reads the output (`ans`), then whether it reads each operand; `None` for an operand with
    no rule. `by_rule` is `None` when that cannot be known: then everything is kept."""

    by_rule: tuple[tuple[bool, ...] | None, ...] | None

    def keeps(self, value: int, differentiated: tuple[bool, ...]) -> bool:
        """Whether a node must keep `value` (0: the output, 1 + i: operand i) when the
        operands with `differentiated[i]` true take a gradient (only their rules run)."""
        if self.by_rule is None or len(differentiated) > len(self.by_rule):
            return True
        return any(runs and reads is not None and reads[value] for reads, runs in zip(self.by_rule, differentiated))


KEEP_ALL = RuleReads(by_rule=None)


def rule_reads(op: Op) -> RuleReads:
    """What `op`'s rules read, from their code; `KEEP_ALL` when that cannot be known."""
    rules = op.vjp
    if not isinstance(rules, tuple) or op.nargs is None:
        return KEEP_ALL  # one variadic rule: it gets every operand by position
    by_rule = []
    for rule in rules:
        if rule is None:
            by_rule.append(None)
            continue
        parameters = _parameters_read(rule)
        if parameters is None:
            return KEEP_ALL
        # positional parameters: g, ans, then one per operand
        by_rule.append(tuple(parameters(1 + value) for value in range(1 + op.nargs)))
    return RuleReads(tuple(by_rule))


def _parameters_read(rule: Callable[..., Any]) -> Callable[[int], bool] | None:
    """A test of whether `rule` reads its positional parameter at an index, or None when
    its code cannot be inspected."""
    while hasattr(rule, "__wrapped__"):  # a wrapper that passes (g, ans, *inputs) through
        rule = rule.__wrapped__
    code = getattr(rule, "__code__", None)
    if not isinstance(code, CodeType):
        return None
    names = code.co_varnames[: code.co_argcount]
    loaded = _names_used(code, shape_only_free=True)
    takes_more = bool(code.co_flags & _CO_VARARGS)

    def reads(index: int) -> bool:
        if index >= len(names):
            return takes_more  # reached through *args: assume read
        return names[index] in loaded

    return reads


def _names_used(code: CodeType, shape_only_free: bool = False) -> set[str]:
    """Every name the code loads, stores or hands to an inner function (closures). With
    `shape_only_free`, a local read only as `x.shape` or `x.ndim` does not count: a node can stand for
    a computed operand by its own node, which knows the shape (`FuncNode.as_input`), so
    `getitem`'s and `sum`'s rules keep no values, and a later in-place write to the operand
    does not make them stale."""
    names = set(code.co_cellvars)
    instructions = list(dis.get_instructions(code))
    for at, instruction in enumerate(instructions):
        value = instruction.argval
        if isinstance(value, str):
            if (
                shape_only_free
                and instruction.opname == "LOAD_FAST"
                and at + 1 < len(instructions)
                and instructions[at + 1].opname == "LOAD_ATTR"
                and instructions[at + 1].argval in ("shape", "ndim")
            ):
                continue
            names.add(value)
        elif isinstance(value, tuple):  # Python 3.13's LOAD_FAST_LOAD_FAST loads two names
            names.update(v for v in value if isinstance(v, str))
    return names


def params_read(op: Op) -> tuple[str, ...]:
    """The names of `op`'s keyword parameters that some rule of `op` reads; every parameter
    when a rule's code cannot be inspected or takes `**params`.

    >>> params_read(Op("sum", forward="sum", params={"axis": None, "keepdims": False},
    ...                vjp=(lambda g, ans, x, axis, keepdims: g * axis,)))
    ('axis',)
    """
    names = tuple(op.params)
    rules = op.vjp if isinstance(op.vjp, tuple) else (op.vjp,)
    read: set[str] = set()
    for rule in rules:
        if rule is None:
            continue
        # no unwrapping of `__wrapped__` here: a wrapper may read a parameter it does not pass on
        code = getattr(rule, "__code__", None)
        if not isinstance(code, CodeType) or code.co_flags & _CO_VARKEYWORDS:
            return names
        read |= _locals_loaded(code)
    return tuple(name for name in names if name in read)


def _locals_loaded(code: CodeType) -> set[str]:
    """The local variables `code` reads, and those an inner function captures."""
    names = set(code.co_cellvars)
    for instruction in dis.get_instructions(code):
        if instruction.opname.startswith(("LOAD_FAST", "LOAD_DEREF", "LOAD_CLOSURE", "DELETE_FAST")):
            value = instruction.argval
            names.update(value if isinstance(value, tuple) else (value,))  # 3.13's LOAD_FAST_LOAD_FAST: two
        elif instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME") and instruction.argval in ("locals", "vars", "eval", "exec"):
            return set(code.co_varnames)  # reads its locals some other way: every one counts
    return names


# --------------------------------------------------------------------------- cotangent donation

#: the ufunc each binary operator runs (its `argrepr` since Python 3.11, its own opcode before)
_OPERATORS = {
    "*": "multiply", "/": "divide", "+": "add", "-": "subtract",
    "BINARY_MULTIPLY": "multiply", "BINARY_TRUE_DIVIDE": "divide", "BINARY_ADD": "add", "BINARY_SUBTRACT": "subtract",
}
#: instructions that only push (a constant, a local, a global, a closure cell): the first thing
#: after the cotangent, so that nothing between it and its operator can reach it
_PURE_LOADS = frozenset({
    "LOAD_CONST", "LOAD_SMALL_INT", "LOAD_FAST", "LOAD_FAST_BORROW", "LOAD_FAST_CHECK", "LOAD_GLOBAL",
    "LOAD_DEREF", "PUSH_NULL", "LOAD_FAST_LOAD_FAST", "LOAD_FAST_BORROW_LOAD_FAST_BORROW",
})
_SKIPPED = frozenset({"RESUME", "NOP", "CACHE", "EXTENDED_ARG"})
_JUMPS = frozenset(dis.hasjrel) | frozenset(dis.hasjabs) | frozenset(getattr(dis, "hasjump", ()))


def cotangent_operators(rule: Callable[..., Any]) -> tuple[str, ...] | None:
    """The operations a rule applies to its cotangent `g` when it is written `g * f(ans, x)`,
    `-g * a / b`, `g / f(x)`, ...: `g` read once, first, and then only ever the left operand of
    `*`, `/`, `+`, `-` (or negated), each result taking its place, until it is returned. The
    engine may then run those operations in the memory of a cotangent it owns (see
    `minidiff.engine`), since nothing else in the rule can see `g` or a value made from it.
    None for any other rule (one that reads `g` twice, passes it to a function, stores it,
    branches, or returns it unchanged); the test reads the rule's bytecode, so it can refuse
    a rule that would do but never accepts one that would not.

    >>> cotangent_operators(lambda g, ans, x: g * (1.0 - ans * ans))
    ('multiply',)
    >>> cotangent_operators(lambda g, ans, x, y: -g * ans / y)
    ('negative', 'multiply', 'divide')
    >>> cotangent_operators(lambda g, ans, x: g * x + g) is None
    True
    """
    code = getattr(rule, "__code__", None)  # not unwrapped: a wrapper may read `g` itself
    if not isinstance(code, CodeType) or code.co_argcount < 1 or code.co_flags & (_CO_VARARGS | _CO_VARKEYWORDS):
        return None
    g = code.co_varnames[0]
    if g in code.co_cellvars:
        return None  # an inner function captures it
    instructions = [i for i in dis.get_instructions(code) if i.opname not in _SKIPPED]
    # every instruction naming `g` (3.13's LOAD_FAST_LOAD_FAST names two locals): one load only
    uses = [at for at, i in enumerate(instructions) if i.argval == g or (type(i.argval) is tuple and g in i.argval)]
    read = instructions[uses[0]] if len(uses) == 1 else None
    if read is None or not read.opname.startswith("LOAD_FAST") or read.argval != g:
        return None
    depth = 0
    applied: list[str] = []
    for at, instruction in enumerate(instructions):
        name = instruction.opname
        if instruction.opcode in _JUMPS or name in ("COPY", "SWAP", "DUP_TOP", "DUP_TOP_TWO", "ROT_TWO", "ROT_THREE"):
            return None
        if name == "LOAD_GLOBAL" and instruction.argval in ("locals", "vars", "eval", "exec"):
            return None
        if at < uses[0]:  # statements before `g` is read: they must leave the stack empty
            depth += _stack_effect(instruction)
            continue
        if at == uses[0]:
            if depth != 0:
                return None
            depth = 1
            continue
        if depth == 1:
            # only the cotangent (or a result made from it) is on the stack: the next step
            # either returns it, negates it, or pushes the right operand of an operator
            if name in ("RETURN_VALUE",):
                return tuple(applied) if applied and at == len(instructions) - 1 else None
            if name == "UNARY_NEGATIVE":
                applied.append("negative")
                continue
            if name not in _PURE_LOADS:
                return None
        after = depth + _stack_effect(instruction)
        if after <= 1:
            # this instruction took the cotangent off the stack: it must be an operator with
            # it on the left (the only other item is its right operand)
            operator = _OPERATORS.get(instruction.argrepr if name == "BINARY_OP" else name)
            if depth != 2 or after != 1 or operator is None:
                return None
            applied.append(operator)
        depth = after
    return None


def _stack_effect(instruction: dis.Instruction) -> int:
    if instruction.opcode < dis.HAVE_ARGUMENT:
        return dis.stack_effect(instruction.opcode)
    return dis.stack_effect(instruction.opcode, instruction.arg)
