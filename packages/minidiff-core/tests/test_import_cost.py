"""`import minidiff` stays cheap: what it must not import, checked structurally (no timings).

`import minidiff` imports NumPy, the `Tensor` and the plugin loader, and nothing else of
weight: no entry-point scan (`importlib.metadata`), no `pluggy`, no `tomllib`, no
`dataclasses` or `threading`, and none of the modules whose names `minidiff/__init__.py`
resolves on first use. Each check runs in a fresh interpreter, which imports NumPy first,
so only what minidiff itself adds is counted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# What `import minidiff` must leave unimported (on top of what `import numpy` imports).
NOT_AT_IMPORT = (
    # an entry-point scan would import one of these
    "importlib.metadata",
    "importlib_metadata",
    "pkg_resources",
    # the plugin machinery and the config-file reader
    "pluggy",
    "tomllib",
    "dataclasses",
    "threading",
    # modules whose names `minidiff` binds on first use
    "minidiff.backend",
    "minidiff.config",
    "minidiff.custom",
    "minidiff.dispatch",
    "minidiff.engine",
    "minidiff.extend",
    "minidiff.functional",
    "minidiff.hookspecs",
    "minidiff.random",
    "minidiff.registry",
    "minidiff.testing",
    "minidiff.transform_args",
    "minidiff.utils",
    "minidiff.vectorized",
    # the op families (plugins load on the first op)
    "minidiff.ops",
    "minidiff_numpy",
)

# Names `minidiff/__init__.py` resolves on first access, with the module that defines each.
LAZY_NAMES = {
    "Backend": "minidiff.backend",
    "BackendUnavailable": "minidiff.backend",
    "get_backend": "minidiff.config",
    "reload_config": "minidiff.config",
    "set_backend": "minidiff.config",
    "use_backend": "minidiff.config",
    "as_minidiff": "minidiff.custom",
    "create_op_func": "minidiff.custom",
    "custom_vjp": "minidiff.custom",
    "freeze": "minidiff.dispatch",
    "grad": "minidiff.functional",
    "hessian": "minidiff.functional",
    "hvp": "minidiff.functional",
    "jacobian": "minidiff.functional",
    "jvp": "minidiff.functional",
    "value_and_grad": "minidiff.functional",
    "vjp": "minidiff.functional",
    "Registry": "minidiff.registry",
    "IndependentOutputWarning": "minidiff.transform_args",
}


def _run(code: str, cwd: Path) -> dict:
    """Run `code` in a fresh interpreter in `cwd`, with no user config file; return its JSON output."""
    env = {key: value for key, value in os.environ.items() if key != "MINIDIFF_BACKEND"}
    env["XDG_CONFIG_HOME"] = str(cwd / "no-config")
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


PROBE = """
import json, sys
from pathlib import Path
import numpy
here = Path.cwd()
settings = [str(f / n) for f in (here, *here.parents) for n in ("minidiff.toml", "pyproject.toml") if (f / n).exists()]
before = set(sys.modules)
import minidiff as md
import minidiff.plugins as plugins
after_import = sorted(set(sys.modules) - before)
loaded_at_import = plugins._state is not None
value = md.sin(md.Tensor([1.0])).item()
after_first_op = sorted(set(sys.modules) - before)
print(json.dumps({"after_import": after_import, "loaded_at_import": loaded_at_import, "value": value,
                  "after_first_op": after_first_op, "settings": settings}))
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return _run(PROBE, tmp_path_factory.mktemp("no-settings"))


@pytest.mark.parametrize("module", NOT_AT_IMPORT)
def test_import_minidiff_does_not_import(probe: dict, module: str) -> None:
    imported = [name for name in probe["after_import"] if name == module or name.startswith(module + ".")]
    assert not imported, f"`import minidiff` imports {imported}"


def test_import_does_not_load_plugins(probe: dict) -> None:
    assert probe["loaded_at_import"] is False


def test_first_op_loads_the_plugins_through_entry_points(probe: dict) -> None:
    import math

    assert probe["value"] == pytest.approx(math.sin(1.0))
    for module in ("importlib.metadata", "pluggy", "minidiff.ops.elementwise", "minidiff_numpy.backend"):
        assert module in probe["after_first_op"]


def test_tomllib_only_where_a_settings_file_exists(probe: dict, tmp_path: Path) -> None:
    # the probe ran in a temporary folder, normally with no settings file in it or above it
    if not probe["settings"]:
        assert "tomllib" not in probe["after_first_op"]
    (tmp_path / "minidiff.toml").write_text('backend = "numpy"\n')
    code = """
    import json, sys
    import minidiff as md
    from minidiff import config
    print(json.dumps({"layer": config.decide()[1], "tomllib": "tomllib" in sys.modules}))
    """
    report = _run(code, tmp_path)
    assert report["tomllib"] and report["layer"].endswith("minidiff.toml")


def test_lazy_names_resolve_to_their_modules_without_loading_plugins(tmp_path: Path) -> None:
    code = f"""
    import importlib, json
    import minidiff as md
    import minidiff.plugins as plugins
    lazy = {LAZY_NAMES!r}
    same = {{name: getattr(md, name) is getattr(importlib.import_module(module), name)
             for name, module in lazy.items()}}
    print(json.dumps({{"same": same, "loaded": plugins._state is not None}}))
    """
    report = _run(code, tmp_path)
    assert all(report["same"].values()), report["same"]
    assert report["loaded"] is False, "resolving a lazy name loaded the plugins"


def test_every_public_name_imports_and_is_listed(tmp_path: Path) -> None:
    code = """
    import json
    import minidiff as md
    missing = []
    for name in md.__all__:
        try:
            exec(f"from minidiff import {name}", {})
        except ImportError:
            missing.append(name)
    namespace = {}
    exec("from minidiff import *", namespace)
    print(json.dumps({"missing": missing, "star": sorted(set(md.__all__) - set(namespace)),
                      "unlisted": sorted(set(md.__all__) - set(dir(md))),
                      "random": md.random.__name__, "utils": md.utils.__name__}))
    """
    report = _run(code, tmp_path)
    assert report["missing"] == [] and report["star"] == [] and report["unlisted"] == []
    assert (report["random"], report["utils"]) == ("minidiff.random", "minidiff.utils")


def test_unknown_names_still_raise_attribute_error(tmp_path: Path) -> None:
    code = """
    import json
    import minidiff as md
    try:
        md.no_such_op
    except AttributeError as exc:
        message = str(exc)
    print(json.dumps({"message": message}))
    """
    assert "no installed op family registers it" in _run(code, tmp_path)["message"]
