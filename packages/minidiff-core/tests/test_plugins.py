"""Plugin loading: broken plugins are isolated and named, clashes name both plugins,
overrides are deliberate and visible, and the environment switches work.

Each scenario installs real (if tiny) distributions into a temporary folder, as
`*.dist-info` metadata with a `minidiff` entry point, and runs Python in a subprocess with
that folder on its path, so entry-point discovery is the real one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

GOOD_PACK = """
import minidiff as md
from minidiff.extend import Op, hookimpl, sample

@hookimpl
def minidiff_register_ops(registry):
    registry.add_op(Op("twice", lambda xp, x: 2 * x, vjp=(lambda g, ans, x: 2 * g,), samples=(sample((3,)),),
                       reference=lambda x: 2 * x))
"""

PLUGINS = {
    "goodpack": GOOD_PACK,
    "brokenimport": "raise ImportError('this plugin is broken on purpose')\n",
    "brokenhook": """
from minidiff.extend import Op, hookimpl, sample

@hookimpl
def minidiff_register_ops(registry):
    registry.add_op(Op("halfway", "sin", vjp=(None,), samples=(sample((2,)),)))
    raise RuntimeError('hook failed on purpose')  # after one op: none of this plugin's ops may remain
""",
    "clasher": """
from minidiff.extend import Op, hookimpl, sample

@hookimpl
def minidiff_register_ops(registry):
    registry.add_op(Op("sin", "cos", vjp=(None,), samples=(sample((2,)),)))
    registry.add_op(Op("clasher_own", "cos", vjp=(None,), samples=(sample((2,)),)))  # kept: only 'sin' clashes
""",
    "overrider": """
from minidiff.extend import Op, hookimpl, sample

@hookimpl
def minidiff_register_ops(registry):
    registry.add_op(Op("cosh", lambda xp, x: xp.cosh(x) + 100.0, vjp=(None,), samples=(sample((2,)),)), override=True)
""",
    "misspelled": """
from minidiff.extend import hookimpl

@hookimpl
def minidiff_register_opps(registry):
    pass
""",
}


def _install(site: Path, name: str, source: str) -> None:
    (site / f"{name}_plugin.py").write_text(textwrap.dedent(source))
    dist_info = site / f"{name}-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(f"[minidiff]\n{name} = {name}_plugin\n")


def _run(site: Path, code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(site), **env}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=environment, timeout=120
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    for name, source in PLUGINS.items():
        _install(tmp_path, name, source)
    return tmp_path


PROBE = """
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import minidiff as md
    x = md.Tensor([0.5, 1.0], allow_grad=True)
    y = md.sin(md.twice(x)).sum()
    y.backward()
from minidiff.cli import info_text
print(json.dumps({
    "warnings": [str(w.message) for w in caught],
    "grad": x.grad.numpy().tolist(),
    "cosh": md.cosh(md.Tensor([0.0])).item(),
    "halfway": hasattr(md, "halfway"),
    "clasher_own": hasattr(md, "clasher_own"),
    "sin": md.sin(md.Tensor([0.5])).item(),
    "info": info_text(),
}))
"""


def test_broken_plugins_are_named_and_the_others_still_load(site: Path) -> None:
    result = _run(site, PROBE)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    messages = "\n".join(report["warnings"])
    for broken in ("brokenimport", "brokenhook", "clasher", "misspelled"):
        assert f"'{broken}'" in messages, f"no warning names {broken}: {messages}"
    assert "broken on purpose" in messages and "hook failed on purpose" in messages
    # the good pack and every built-in op still work, with correct gradients
    import numpy as np

    x = np.array([0.5, 1.0])
    np.testing.assert_allclose(report["grad"], 2 * np.cos(2 * x))
    info = report["info"]
    assert report["halfway"] is False, "a plugin that failed half-way left an op behind"
    assert "Plugins that failed to load:" in info
    for broken in ("brokenimport", "brokenhook", "misspelled"):
        assert broken in info.split("Plugins that failed to load:")[1]
    loaded = info.split("Plugins that failed to load:")[0]
    assert "goodpack" in loaded and "clasher" in loaded  # a clash costs the clashing op only


def test_a_clash_names_both_plugins_and_skips_only_the_clashing_op(site: Path) -> None:
    report = json.loads(_run(site, PROBE).stdout)
    clash = next(w for w in report["warnings"] if "'clasher'" in w)
    assert "'minidiff.ops.elementwise' (from minidiff-core" in clash and "'clasher' (from clasher 0.1)" in clash
    assert "override=True" in clash and "MINIDIFF_DISABLE_PLUGINS=clasher" in clash
    assert "it loaded first" in clash
    import math

    assert report["sin"] == pytest.approx(math.sin(0.5))  # the built-in, loaded first, keeps 'sin'
    assert report["clasher_own"] is True
    assert "op 'sin' from 'minidiff.ops.elementwise' is kept; the one from 'clasher' is skipped" in report["info"]


def test_an_explicit_override_wins_and_is_shown(site: Path) -> None:
    report = json.loads(_run(site, PROBE).stdout)
    assert report["cosh"] == pytest.approx(101.0)
    assert "op 'cosh' from 'overrider' overrides 'minidiff.ops.elementwise'" in report["info"]


def test_disabled_plugins_are_not_loaded(site: Path) -> None:
    result = _run(site, PROBE, MINIDIFF_DISABLE_PLUGINS="brokenimport, brokenhook,clasher,misspelled,overrider")
    report = json.loads(result.stdout)
    assert report["warnings"] == []
    assert report["cosh"] == pytest.approx(1.0)


def test_strict_mode_turns_a_failure_into_an_error(site: Path) -> None:
    result = _run(site, "import minidiff as md; md.sin", MINIDIFF_STRICT_PLUGINS="1")
    assert result.returncode != 0
    assert "PluginError" in result.stderr and "minidiff plugin" in result.stderr


def test_plugins_load_lazily_not_at_import() -> None:
    code = """
    import minidiff, minidiff.plugins as p
    assert p._state is None, "plugins loaded at import"
    minidiff.sin
    assert p._state is not None
    """
    result = _run(Path("."), code)
    assert result.returncode == 0, result.stderr


def test_info_command_lists_numpy_and_the_builtin_families() -> None:
    result = subprocess.run([sys.executable, "-m", "minidiff", "info"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for expected in ("numpy", "usable", "minidiff-numpy", "minidiff.ops.elementwise", "minidiff-core", "Active backend: numpy"):
        assert expected in result.stdout
