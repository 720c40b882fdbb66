"""The CuPy backend: the conformance kit on a GPU (marked `gpu`, skipped with the reason
where CuPy or a GPU is missing), plus what must hold on every machine: the plugin installs,
registers `cupy` without importing CuPy, and says why the backend is unusable. Its kernels
take the array namespace as an argument, so their index checks run here with NumPy."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import minidiff as md
from minidiff import plugins
from minidiff.testing import BackendSuite
from minidiff_cupy import kernels
from minidiff_cupy.plugin import INSTALL


@pytest.mark.gpu
class TestCupyBackend(BackendSuite):
    """The conformance kit on CuPy: every registered op, on the GPU."""

    backend = "cupy"
    array_module = "cupy"  # known failures: minidiff_cupy.plugin.EXPECTED_FAILURES


def _cupy_usable() -> bool:
    try:
        md.get_backend("cupy")
    except md.BackendUnavailable:
        return False
    return True


no_gpu = pytest.mark.skipif(_cupy_usable(), reason="CuPy is usable here: the unusable path cannot be seen")


def test_plugin_registers_cupy_through_its_entry_point():
    registry = plugins.load()
    assert registry.backends["cupy"].plugin == "cupy"
    assert "cupy" in md.plugins.backend_names()
    assert {name for name, backend in registry.kernels if backend == "cupy"} == set(kernels.KERNELS)


def test_importing_the_plugin_does_not_import_cupy():
    code = (
        "import sys, importlib; importlib.import_module('minidiff_cupy.plugin'); "
        "import minidiff as md; md.plugins.load(); "
        "sys.exit(1 if 'cupy' in sys.modules else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@no_gpu
def test_unusable_backend_raises_with_the_reason_and_the_install_command():
    with pytest.raises(md.BackendUnavailable) as raised:
        md.Tensor([1.0], backend="cupy")
    message = str(raised.value)
    assert "'cupy'" in message and "unusable here" in message
    if "cannot be imported" in message:  # no CuPy; with CuPy but no GPU the reason names the GPU
        assert 'pip install "minidiff[cuda]"' in message and "cupy-cuda13x" in message
    assert "cupy" not in md.available_backends()
    with pytest.raises(md.BackendUnavailable):
        md.set_backend("cupy")


@no_gpu
def test_info_says_why_cupy_is_unusable():
    result = subprocess.run(
        [sys.executable, "-m", "minidiff", "info"], capture_output=True, text=True, timeout=120
    )
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("cupy"))
    assert "unusable" in lines[at]
    assert "why:" in lines[at + 1] and ("cannot be imported" in lines[at + 1] or "GPU" in lines[at + 1])


def test_install_command_names_the_extra_and_cuda_13():
    assert INSTALL.startswith('pip install "minidiff[cuda]"') and "cupy-cuda13x" in INSTALL


# ---------------------------------------------------------------------------- kernels, with xp=numpy


@pytest.mark.parametrize(
    "key",
    [(np.array([0, 3]),), (slice(None), np.array([[0, 4]])), [2, -5], (0, Ellipsis, np.array([4]))],
    ids=["array", "array on axis 1", "list", "after an ellipsis"],
)
def test_checked_key_raises_where_cupy_would_wrap_around(key):
    with pytest.raises(IndexError, match="out of bounds"):
        kernels.checked_key(np, key, (3, 4))
    with pytest.raises(IndexError):
        np.zeros((3, 4))[key]


def test_checked_key_passes_valid_keys_unchanged_in_meaning():
    x = np.arange(24.0).reshape(2, 3, 4)
    mask = np.array([[True, False, True], [False, True, True]])
    for key in [(mask, np.array([0, 3, 1, 2])), (Ellipsis, np.array([-1, 0])), 1, (None, slice(1, None), [0, 2])]:
        np.testing.assert_array_equal(kernels.getitem(np, x, key), x[key])


def test_scatter_add_kernel_accumulates_repeated_indices():
    out = kernels.scatter_add(np, np.array([1.0, 2.0, 3.0, 4.0]), (4,), np.array([0, 0, 3, 0]))
    np.testing.assert_array_equal(out, [7.0, 0.0, 0.0, 3.0])


def test_repeat_pad_and_take_along_axis_kernels_match_numpy():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(kernels.repeat(np, x, np.array([1, 0, 2]), axis=1), np.repeat(x, [1, 0, 2], axis=1))
    np.testing.assert_array_equal(kernels.repeat(np, x, 2, axis=None), np.repeat(x, 2))
    np.testing.assert_array_equal(kernels.pad(np, x, {-1: (1, 2)}, "edge", 0), np.pad(x, ((0, 0), (1, 2)), mode="edge"))
    idx = np.array([[2, 0, 1]])
    np.testing.assert_array_equal(kernels.take_along_axis(np, x, idx, axis=1), np.take_along_axis(x, idx, axis=1))
    with pytest.raises(IndexError, match="out of bounds"):
        kernels.take_along_axis(np, x, np.array([[3]]), axis=1)
