"""Which backend new tensors use: every configuration layer, in order, and the errors.

The layers read from the environment (MINIDIFF_BACKEND, project files, the user config file)
are read once per process, so those tests run Python in a subprocess whose working
directory is a temporary folder and whose XDG_CONFIG_HOME is empty unless a test fills it.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import minidiff as md
from minidiff import config

HAS_MLX = "mlx" in md.available_backends()
needs_mlx = pytest.mark.skipif(not HAS_MLX, reason='MLX is not usable here (pip install "minidiff[mlx]")')

REPORT = "from minidiff import config; import minidiff as md; print(md.zeros(1).backend.name, '|', config.decide()[1])"


def run_python(code: str, cwd: Path, xdg: Path, **env: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter in `cwd`, with only the minidiff settings given."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MINIDIFF_")}
    environment["XDG_CONFIG_HOME"] = str(xdg)
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120
    )


def chosen(cwd: Path, xdg: Path, code: str = REPORT, **env: str) -> tuple[str, str]:
    result = run_python(code, cwd, xdg, **env)
    assert result.returncode == 0, result.stderr
    name, _, layer = result.stdout.strip().rpartition("\n")[2].partition(" | ")
    return name, layer


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    """An empty project folder and an empty XDG_CONFIG_HOME, both under a temporary folder."""
    folder, xdg = tmp_path / "project", tmp_path / "xdg"
    folder.mkdir()
    xdg.mkdir()
    return folder, xdg


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------- the layers, in subprocesses


def test_default_is_numpy(project):
    assert chosen(*project) == ("numpy", "default")


@needs_mlx
def test_environment_variable_selects_mlx(project):
    assert chosen(*project, MINIDIFF_BACKEND="mlx") == ("mlx", "MINIDIFF_BACKEND environment variable")


@needs_mlx
def test_pyproject_setting_selects_mlx(project):
    folder, xdg = project
    pyproject = write(folder / "pyproject.toml", '[project]\nname = "demo"\n\n[tool.minidiff]\nbackend = "mlx"\n')
    assert chosen(folder, xdg) == ("mlx", str(pyproject))
    # from a subfolder too: the nearest project file above the working directory counts
    (folder / "src" / "pkg").mkdir(parents=True)
    assert chosen(folder / "src" / "pkg", xdg) == ("mlx", str(pyproject))


@needs_mlx
def test_minidiff_toml_selects_and_wins_over_pyproject_in_the_same_folder(project):
    folder, xdg = project
    write(folder / "pyproject.toml", '[tool.minidiff]\nbackend = "numpy"\n')
    settings = write(folder / "minidiff.toml", 'backend = "mlx"\n')
    assert chosen(folder, xdg) == ("mlx", str(settings))


@needs_mlx
def test_the_nearest_project_file_wins_and_one_without_the_table_is_passed_over(project):
    folder, xdg = project
    write(folder / "pyproject.toml", '[tool.minidiff]\nbackend = "mlx"\n')
    inner = write(folder / "inner" / "pyproject.toml", '[tool.minidiff]\nbackend = "numpy"\n')
    write(folder / "inner" / "deeper" / "pyproject.toml", '[project]\nname = "no-minidiff-table"\n')
    assert chosen(folder / "inner" / "deeper", xdg) == ("numpy", str(inner))
    assert chosen(folder, xdg)[0] == "mlx"


@needs_mlx
def test_user_config_file_via_xdg_config_home(project):
    folder, xdg = project
    user_file = write(xdg / "minidiff" / "config.toml", 'backend = "mlx"\n')
    assert chosen(folder, xdg) == ("mlx", f"user config file {user_file}")


@needs_mlx
def test_each_layer_beats_the_ones_below_it(project):
    folder, xdg = project
    write(xdg / "minidiff" / "config.toml", 'backend = "numpy"\n')
    write(folder / "pyproject.toml", '[tool.minidiff]\nbackend = "mlx"\n')
    assert chosen(folder, xdg)[0] == "mlx"  # project file over user file
    assert chosen(folder, xdg, MINIDIFF_BACKEND="numpy")[0] == "numpy"  # environment over project file
    set_code = "import minidiff as md; md.set_backend('mlx'); " + REPORT
    assert chosen(folder, xdg, set_code, MINIDIFF_BACKEND="numpy") == ("mlx", "md.set_backend()")
    use_code = (
        "import minidiff as md; md.set_backend('mlx')\n"
        "with md.use_backend('numpy'):\n"
        "    from minidiff import config; print(md.zeros(1).backend.name, '|', config.decide()[1])"
    )
    assert chosen(folder, xdg, use_code) == ("numpy", "md.use_backend()")
    explicit = "import minidiff as md\nwith md.use_backend('numpy'):\n    print(md.zeros(1, backend='mlx').backend.name, '| explicit')"
    assert chosen(folder, xdg, explicit)[0] == "mlx"


@needs_mlx
def test_info_names_the_layer_that_decided(project):
    folder, xdg = project
    info = "from minidiff.cli import main; main(['info'])"
    result = run_python(info, folder, xdg, MINIDIFF_BACKEND="mlx")
    assert "Active backend: mlx (chosen by MINIDIFF_BACKEND environment variable)" in result.stdout
    pyproject = write(folder / "pyproject.toml", '[tool.minidiff]\nbackend = "mlx"\n')
    assert f"Active backend: mlx (chosen by {pyproject})" in run_python(info, folder, xdg).stdout
    assert "Active backend: numpy (chosen by default)" in run_python(info, folder.parent, xdg).stdout


def test_unknown_backend_from_a_layer_names_the_layer(project):
    folder, xdg = project
    result = run_python(REPORT, folder, xdg, MINIDIFF_BACKEND="nmupy")
    assert result.returncode != 0
    assert "unknown minidiff backend 'nmupy' (chosen by MINIDIFF_BACKEND environment variable)" in result.stderr
    assert "installed backends: " in result.stderr and "'numpy'" in result.stderr


WARNINGS = (
    "import warnings\n"
    "warnings.simplefilter('always')\n"
    "from minidiff import config; import minidiff as md; print(md.zeros(1).backend.name, '|', config.decide()[1])"
)


def test_an_unreadable_settings_file_warns_and_the_search_goes_on(project):
    folder, xdg = project
    user_file = write(xdg / "minidiff" / "config.toml", 'backend = "numpy"\n')
    # an unrelated, invalid pyproject.toml between the working directory and the real setting
    inner = folder / "inner"
    bad = write(inner / "pyproject.toml", "[project\nname = 'unrelated'\n")
    result = run_python(WARNINGS, inner, xdg)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"numpy | user config file {user_file}"
    assert f"ConfigWarning: cannot read {bad}: TOMLDecodeError" in result.stderr and "line 1" in result.stderr
    assert "The file is skipped" in result.stderr
    # the nearer, broken file is passed over for a readable one further up
    good = write(folder / "minidiff.toml", 'backend = "numpy"\n')
    assert chosen(inner, xdg, WARNINGS) == ("numpy", str(good))
    # a broken user file falls through to the default
    good.unlink()
    write(user_file, "backend = \n")
    result = run_python(WARNINGS, inner, xdg)
    assert result.stdout.strip() == "numpy | default", result.stderr
    assert f"cannot read {user_file}" in result.stderr and f"cannot read {bad}" in result.stderr


def test_a_settings_file_that_is_not_utf8_warns(project):
    folder, xdg = project
    bad = folder / "minidiff.toml"
    bad.write_bytes(b'backend = "\xff"\n')
    result = run_python(WARNINGS, folder, xdg)
    assert result.stdout.strip() == "numpy | default", result.stderr
    assert f"cannot read {bad}: UnicodeDecodeError" in result.stderr


@needs_mlx
def test_an_unreadable_file_above_does_not_hide_a_setting_below(project):
    folder, xdg = project
    write(folder / "pyproject.toml", "this is = not [toml\n")
    setting = write(folder / "inner" / "pyproject.toml", '[tool.minidiff]\nbackend = "mlx"\n')
    result = run_python(WARNINGS, folder / "inner", xdg)
    assert result.stdout.strip() == f"mlx | {setting}" and "ConfigWarning" not in result.stderr, result.stderr


def test_invalid_backend_settings_raise_naming_the_file(project):
    folder, xdg = project
    pyproject = write(folder / "pyproject.toml", "[tool.minidiff]\nbackend = 3\n")
    result = run_python(REPORT, folder, xdg)
    assert result.returncode != 0
    assert f"tool.minidiff.backend in {pyproject} must name a backend" in result.stderr and "got 3" in result.stderr
    write(folder / "pyproject.toml", "[tool]\nminidiff = 'mlx'\n")
    result = run_python(REPORT, folder, xdg)
    assert result.returncode != 0 and "tool.minidiff in" in result.stderr and "must be a table" in result.stderr


def test_unrelated_malformed_pyproject_tables_are_not_minidiffs_business(project):
    folder, xdg = project
    write(folder / "pyproject.toml", "tool = 'not a table'\n")
    result = run_python(WARNINGS, folder, xdg)
    assert result.stdout.strip() == "numpy | default" and "Warning" not in result.stderr, result.stderr


def test_unknown_keys_warn_naming_the_known_ones(project):
    folder, xdg = project
    pyproject = write(folder / "pyproject.toml", '[project]\nname = "demo"\n\n[tool.minidiff]\nbakend = "mlx"\n')
    result = run_python(WARNINGS, folder, xdg)
    assert result.stdout.strip() == "numpy | default", result.stderr  # the misspelt key is not read
    assert (
        f"ConfigWarning: unknown key 'bakend' in [tool.minidiff] of {pyproject}, line 5 is ignored "
        f"(did you mean 'backend'?); known keys: 'backend'"
    ) in result.stderr
    user_file = write(xdg / "minidiff" / "config.toml", 'backend = "numpy"\ncolour = "blue"\n')
    result = run_python(WARNINGS, folder, xdg)
    assert f"unknown key 'colour' in {user_file}, line 2 is ignored; known keys: 'backend'" in result.stderr
    # the known key beside it still counts
    write(folder / "pyproject.toml", '[tool.minidiff]\nbackend = "numpy"\nthreads = 4\n')
    result = run_python(WARNINGS, folder, xdg)
    assert result.stdout.strip() == f"numpy | {pyproject}" and "unknown key 'threads'" in result.stderr


def test_a_deleted_working_directory_warns_and_falls_through(project):
    folder, xdg = project
    user_file = write(xdg / "minidiff" / "config.toml", 'backend = "numpy"\n')
    gone = folder / "gone"
    gone.mkdir()
    write(gone / "minidiff.toml", 'backend = "nmupy"\n')  # would raise if it were still read
    code = (
        "import os, shutil, warnings\n"
        "warnings.simplefilter('always')\n"
        f"os.chdir({str(gone)!r}); shutil.rmtree({str(gone)!r})\n"
        "from minidiff import config; import minidiff as md; print(md.zeros(1).backend.name, '|', config.decide()[1])"
    )
    result = run_python(code, folder, xdg)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"numpy | user config file {user_file}"
    assert "ConfigWarning: the working directory cannot be read (FileNotFoundError" in result.stderr


# ---------------------------------------------------------------------------- in this process


@pytest.fixture
def clean_config(monkeypatch):
    """No MINIDIFF_BACKEND, no process-wide backend; restored (and re-read) afterwards."""
    monkeypatch.delenv("MINIDIFF_BACKEND", raising=False)
    md.set_backend(None)
    md.reload_config()
    yield
    md.set_backend(None)
    monkeypatch.undo()
    md.reload_config()


@needs_mlx
def test_layers_in_process(clean_config, monkeypatch):
    baseline = config.decide()[0]
    monkeypatch.setenv("MINIDIFF_BACKEND", "mlx")
    assert config.decide()[0] == baseline  # read once and cached ...
    md.reload_config()  # ... until read again
    assert config.decide() == ("mlx", "MINIDIFF_BACKEND environment variable")
    md.set_backend("numpy")
    assert config.decide() == ("numpy", "md.set_backend()")
    with md.use_backend("mlx") as backend:
        assert backend.name == "mlx" and md.ones(2).backend.name == "mlx"
        with md.use_backend("numpy"):
            assert md.ones(2).backend.name == "numpy"  # the innermost block wins
        assert md.ones(2, backend="numpy").backend.name == "numpy"  # explicit beats every block
        assert md.Tensor([1.0]).backend.name == "mlx" and md.random.rand(2).backend.name == "mlx"
    assert md.get_backend().name == "numpy"


def test_unknown_backend_lists_the_installed_ones():
    installed = ", ".join(repr(name) for name in md.plugins.backend_names())
    with pytest.raises(ValueError, match=f"unknown minidiff backend 'nmupy'; installed backends: {installed}; check the spelling"):
        md.Tensor([1.0], backend="nmupy")
    with pytest.raises(ValueError, match=r"unknown minidiff backend 'nmupy' \(chosen by md\.set_backend\(\)\)"):
        md.set_backend("nmupy")
    with pytest.raises(ValueError, match=r"unknown minidiff backend 'nmupy' \(chosen by md\.use_backend\(\)\)"):
        with md.use_backend("nmupy"):
            pass


def test_known_but_uninstalled_backend_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(config.INSTALL_COMMANDS, "jaxlike", 'pip install "minidiff[jaxlike]"')
    with pytest.raises(ValueError, match=r"install it with: pip install \"minidiff\[jaxlike\]\""):
        md.get_backend("jaxlike")


@pytest.mark.skipif("cupy" in md.available_backends(), reason="CuPy is usable here")
def test_known_but_unusable_backend_raises_with_reason_and_install_command():
    with pytest.raises(md.BackendUnavailable, match="'cupy'.*unusable here.*") as raised:
        md.Tensor([1.0], backend="cupy")
    if "cannot be imported" in str(raised.value):  # CuPy missing, rather than the GPU
        assert 'pip install "minidiff[cuda]"' in str(raised.value)


# ---------------------------------------------------------------------------- threads and context variables


@needs_mlx
def test_use_backend_is_per_thread_and_set_backend_is_process_wide(clean_config):
    outside = config.decide()[0]
    seen: dict[str, str] = {}

    def record(key: str) -> None:
        seen[key] = md.get_backend().name

    with md.use_backend("mlx"):
        plain = threading.Thread(target=record, args=("thread",))
        plain.start()
        plain.join()
        carried = threading.Thread(target=contextvars.copy_context().run, args=(record, "copied"))
        carried.start()
        carried.join()
        with ThreadPoolExecutor(1) as pool:
            pool.submit(record, "pool").result()
            pool.submit(contextvars.copy_context().run, record, "pool copied").result()
    inherits = bool(getattr(sys.flags, "thread_inherit_context", False))  # Python 3.14 free-threaded
    assert seen == {
        "thread": "mlx" if inherits else outside,
        "copied": "mlx",
        "pool": "mlx" if inherits else outside,
        "pool copied": "mlx",
    }
    md.set_backend("mlx")
    plain = threading.Thread(target=record, args=("after set_backend",))
    plain.start()
    plain.join()
    assert seen["after set_backend"] == "mlx"


@needs_mlx
def test_asyncio_tasks_inherit_the_block_and_keep_their_own(clean_config):
    async def work(name: str | None) -> list[str]:
        names = []
        if name is None:
            for _ in range(3):
                names.append(md.zeros(1).backend.name)
                await asyncio.sleep(0)
            return names
        with md.use_backend(name):
            for _ in range(3):
                names.append(md.zeros(1).backend.name)
                await asyncio.sleep(0)  # the other task runs in between
        return names

    async def main() -> tuple[list[str], ...]:
        with md.use_backend("mlx"):
            inherited = asyncio.create_task(work(None))  # created inside the block: copies it
        return await asyncio.gather(work("numpy"), work("mlx"), inherited)

    assert asyncio.run(main()) == [["numpy"] * 3, ["mlx"] * 3, ["mlx"] * 3]


# ---------------------------------------------------------------------------- tensors on two backends


@needs_mlx
def test_operands_from_two_backends_raise_with_a_to_hint():
    a, b = md.Tensor([1.0, 2.0], backend="mlx"), md.Tensor([1.0, 2.0], backend="numpy")
    with pytest.raises(ValueError, match=r"different backends \('mlx' and 'numpy'\); move one with \.to\('mlx'\)"):
        a * b
    with pytest.raises(ValueError, match=r"\.to\('numpy'\)"):
        md.where(b > 1.0, b, a)
    np.testing.assert_array_equal((a * b.to("mlx")).numpy(), [1.0, 4.0])


@pytest.mark.parametrize("backend", md.available_backends())
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.bool_])
def test_to_numpy_and_back_keeps_values_and_dtype(backend, dtype):
    if dtype == np.float64 and not md.get_backend(backend).supports_float64:
        pytest.skip(f"{backend} has no float64 here")
    values = np.array([[0, 1, 2], [3, 4, 5]]).astype(dtype)
    t = md.Tensor(values, backend=backend)
    there = t.to("numpy")
    back = there.to(backend)
    assert (there.backend.name, back.backend.name) == ("numpy", backend)
    assert t.dtype == there.dtype == back.dtype == dtype
    np.testing.assert_array_equal(back.numpy(), values)
    leaf = md.Tensor(values.astype(np.float32), allow_grad=True, backend=backend).to("numpy")
    assert leaf.allow_grad and leaf.is_leaf  # a leaf moves as a leaf; the copy is not differentiable back
