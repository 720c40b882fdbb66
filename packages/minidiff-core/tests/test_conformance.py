"""The conformance kit on every built-in op family, as any op pack runs it on itself:
every op on every declared sample and usable backend, forward against NumPy, first and
second order against finite differences, broadcasting, the same tensor as both operands,
no-grad mode, float32 preservation, and non-differentiable ops refusing gradients."""

from minidiff import plugins
from minidiff.testing import OpPackSuite


class TestCreation(OpPackSuite):
    op_pack = "creation"


class TestElementwise(OpPackSuite):
    op_pack = "elementwise"


class TestReductions(OpPackSuite):
    op_pack = "reductions"


class TestShape(OpPackSuite):
    op_pack = "shape"


class TestLinear(OpPackSuite):
    op_pack = "linear"


class TestNumpyExtras(OpPackSuite):
    op_pack = "numpy_extras"


class TestArrangement(OpPackSuite):
    op_pack = "arrangement"


class TestOrdering(OpPackSuite):
    op_pack = "ordering"


class TestCalculus(OpPackSuite):
    op_pack = "calculus"


class TestStatistics(OpPackSuite):
    op_pack = "statistics"


class TestSpecial(OpPackSuite):
    op_pack = "special"


class TestIndexingExtras(OpPackSuite):
    op_pack = "indexing_extras"


class TestComplexParts(OpPackSuite):
    op_pack = "complex_parts"


class TestFft(OpPackSuite):
    op_pack = "fft"


class TestStandard(OpPackSuite):
    op_pack = "standard"


def test_every_builtin_family_is_covered_above():
    covered = {
        "creation", "elementwise", "reductions", "shape", "linear", "numpy_extras", "arrangement", "ordering",
        "calculus", "statistics", "special", "indexing_extras", "complex_parts", "fft", "standard",
    }
    assert {name.rsplit(".", 1)[-1] for name in plugins.DEFAULT_PLUGINS} == covered
