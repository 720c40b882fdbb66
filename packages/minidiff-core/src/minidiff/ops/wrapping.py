"""The original minidiff's `minidiff.ops.wrapping`, where its op builders lived: the same
names, with the original's conventions, re-exported from `minidiff.compat` (which documents
them). Not an op family: nothing here registers ops.

New code builds ops with `md.custom_vjp` or `md.create_op_func`; see
docs/coming-from-minidiff-0.x.md.

>>> import numpy as np, minidiff as md
>>> import minidiff.ops.wrapping as wrapping
>>> cube = wrapping.create_unary_op_func(
...     forward_func=wrapping.as_minidiff(lambda x: x ** 3),
...     grad=lambda x, grad: 3 * x ** 2 * grad,
... )
>>> x = md.Tensor(2.0, allow_grad=True)
>>> cube(x).backward()
>>> x.grad.item()
12.0
"""

from minidiff.compat import (
    BinaryOpClass,
    OpClass,
    TernaryOpClass,
    UnaryOpClass,
    as_minidiff,
    binary_op_func,
    create_binary_op_func,
    create_op_func,
    create_stateful_op_func,
    create_ternary_op_func,
    create_unary_op_func,
    op_func,
    ternary_op_func,
    unary_op_func,
)

__all__ = [
    "BinaryOpClass",
    "OpClass",
    "TernaryOpClass",
    "UnaryOpClass",
    "as_minidiff",
    "binary_op_func",
    "create_binary_op_func",
    "create_op_func",
    "create_stateful_op_func",
    "create_ternary_op_func",
    "create_unary_op_func",
    "op_func",
    "ternary_op_func",
    "unary_op_func",
]
