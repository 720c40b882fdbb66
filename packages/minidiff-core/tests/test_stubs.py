"""Signatures, docstrings and type stubs of the ops bound at run time.

The shipped stubs (`minidiff/__init__.pyi`, `minidiff/linalg.pyi`) must match what the
registry generates: an op added, renamed or re-parametrized without `python -m minidiff.stubs`
fails here.
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass
from pathlib import Path

import pytest

import minidiff as md
from minidiff import stubs
from minidiff.extend import Op, sample
from minidiff.signatures import doc_of, signature_of

pytest.importorskip("minidiff_ops_linalg", reason="the stubs declare md.linalg, from minidiff-ops-linalg")


def test_shipped_stubs_match_the_registry() -> None:
    problems = stubs.check()
    assert not problems, "the stubs are out of date; run python -m minidiff.stubs\n" + "\n".join(problems)


def test_an_op_added_without_regenerating_is_caught(tmp_path: Path) -> None:
    stubs.write(tmp_path)
    assert stubs.check(tmp_path) == []
    text = (tmp_path / "__init__.pyi").read_text()
    (tmp_path / "__init__.pyi").write_text(text.replace("def sin(", "def sine("))
    (problem,) = stubs.check(tmp_path)
    assert "-def sine(x: _ArrayLike, /) -> Tensor:" in problem and "+def sin(x: _ArrayLike, /) -> Tensor:" in problem


def test_stubs_declare_every_public_op_and_name() -> None:
    files = stubs.render()
    package = ast.parse(files["__init__.pyi"])
    declared = {node.name for node in package.body if isinstance(node, ast.FunctionDef)}
    declared |= {alias.asname for node in package.body if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert set(md.__all__) <= declared
    for name in ("sin", "sum", "concatenate", "zeros", "einsum", "split", "where", "linalg"):
        assert name in declared
    linalg = {node.name for node in ast.parse(files["linalg.pyi"]).body if isinstance(node, ast.FunctionDef)}
    assert {"solve", "inv", "det", "slogdet", "cholesky", "eigh", "svd", "qr", "norm"} <= linalg
    assert "_svd" not in linalg  # internal ops are not part of the API


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (lambda: md.sin, "(x, /)"),
        (lambda: md.sum, "(x, /, axis=None, keepdims=False, dtype=None)"),
        (lambda: md.add, "(x, y, /)"),
        (lambda: md.concatenate, "(arrays, /, axis=0)"),
        (lambda: md.zeros, "(shape, dtype=None, *, device=None, backend=None, allow_grad=False, requires_grad=None)"),
        (
            lambda: md.linspace,
            "(start, stop, num=50, endpoint=True, retstep=False, dtype=None, *, device=None, backend=None, "
            "allow_grad=False, requires_grad=None)",
        ),
        (lambda: md.linalg.solve, "(a, b, /)"),
    ],
    ids=["sin", "sum", "add", "concatenate", "zeros", "linspace", "linalg.solve"],
)
def test_bound_ops_have_their_real_signature(function, expected: str) -> None:
    sig = inspect.signature(function())
    assert str(sig.replace(return_annotation=inspect.Signature.empty)) == expected


def test_signatures_bind_the_calls_the_ops_accept() -> None:
    # what the signature accepts, the op accepts, and what it refuses, the op refuses
    x = md.Tensor([[1.0, 2.0], [3.0, 4.0]])
    inspect.signature(md.sum).bind(x, 0, keepdims=True)
    assert md.sum(x, 0, keepdims=True).shape == (1, 2)
    with pytest.raises(TypeError):
        inspect.signature(md.sum).bind(x, bogus=1)
    with pytest.raises(TypeError):
        md.sum(x, bogus=1)


def test_help_says_what_the_op_computes_how_it_differentiates_and_who_registered_it() -> None:
    text = md.sum.__doc__
    assert "numpy.sum" in text and "every order" in text
    assert "minidiff.ops.reductions" in text and "minidiff-core" in text
    assert "Not differentiable" in md.floor.__doc__
    assert md.linalg.det.__doc__.startswith("det(a): the determinant") and "minidiff-ops-linalg" in md.linalg.det.__doc__
    assert "allow_grad" in md.zeros.__doc__
    assert (md.sum.__module__, md.linalg.solve.__module__) == ("minidiff", "minidiff.linalg")


def test_public_ops_pickle_by_reference() -> None:
    import pickle

    assert pickle.loads(pickle.dumps(md.sin)) is md.sin
    assert pickle.loads(pickle.dumps(md.linalg.solve)) is md.linalg.solve


def test_a_convention_at_kinks_is_part_of_the_docstring() -> None:
    @dataclass(frozen=True, eq=False)
    class OpWithConvention(Op):
        convention: str = ""

    op = OpWithConvention("softabs", "abs", vjp=(None,), samples=(sample((2,)),), convention="0 at x = 0, as PyTorch")
    assert "At kinks: 0 at x = 0, as PyTorch" in doc_of(op)
    assert "At kinks" not in doc_of(Op("plain", "abs", vjp=(None,)))


def test_operand_names_come_from_the_forward_or_the_rules() -> None:
    op = Op("scaled", lambda xp, values, weights, axis=0: values * weights, nargs=2, params={"axis": 0})
    assert str(signature_of(op).replace(return_annotation=inspect.Signature.empty)) == "(values, weights, /, axis=0)"
    unnamed = Op("twice", "negative", nargs=2)
    assert list(signature_of(unnamed).parameters) == ["x", "y"]
