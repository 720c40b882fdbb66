"""Hostile and broken plugins: each is skipped with a warning naming it (and the op), and the
rest of minidiff works; name clashes cost only the clashing name, with a documented winner.

As in test_plugins.py, each scenario installs tiny distributions (``*.dist-info`` with a
``minidiff`` entry point) into a temporary folder and runs Python in a subprocess with that
folder on its path, so entry-point discovery and the load order are the real ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HEADER = "from minidiff.extend import Op, hookimpl, sample\nimport minidiff as md\n"


def install(site: Path, entry_point: str, source: str, distribution: str | None = None) -> None:
    """Install module `<entry_point>_plugin` as entry point `entry_point` of `distribution`."""
    distribution = distribution or entry_point
    module = f"{entry_point}_plugin"
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    dist_info = site / f"{distribution.replace('-', '_')}-0.1.dist-info"
    dist_info.mkdir(exist_ok=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1\n")
    with (dist_info / "entry_points.txt").open("a") as handle:
        if handle.tell() == 0:
            handle.write("[minidiff]\n")
        handle.write(f"{entry_point} = {module}\n")


def run(site: Path, code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MINIDIFF_")}
    environment.update(PYTHONPATH=str(site), **env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=environment, timeout=120
    )


def ops_plugin(*ops: str) -> str:
    """A plugin module whose hook registers the `Op(...)` expressions `ops`, in order."""
    lines = "".join(f"    registry.add_op({op})\n" for op in ops)
    return HEADER + f"\n@hookimpl\ndef minidiff_register_ops(registry):\n{lines}"


GOOD = 'Op("still_here", "negative", vjp=(lambda g, ans, x: -g,), samples=(sample((2,)),))'

PROBE = """
import json, warnings

def where(value):
    return None if value is None else getattr(value, "__module__", None) or value.__name__

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import minidiff as md
    from minidiff import plugins
    x = md.Tensor([0.5, 1.0], allow_grad=True)
    md.sin(x).sum().backward()
    from minidiff.cli import info_text
    info = info_text()
print(json.dumps({
    "warnings": [str(w.message) for w in caught],
    "grad": x.grad.numpy().tolist(),
    "failed": {p.name: p.error for p in plugins.state().plugins if p.error},
    "loaded": [p.name for p in plugins.state().plugins if not p.error],
    "backends": {name: e.plugin for name, e in plugins.load().backends.items()},
    "attrs": {name: where(getattr(md, name, None)) for name in ("Tensor", "grad", "still_here", "linalg")},
    "info": info,
}))
"""


def probe(site: Path, **env: str) -> dict:
    result = run(site, PROBE, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --------------------------------------------------------------------------- plugins that end the program


def test_sys_exit_and_other_base_exceptions_skip_only_that_plugin(tmp_path: Path) -> None:
    install(tmp_path, "exits_at_import", "import sys\nsys.exit(3)\n")
    install(tmp_path, "exits_in_hook", HEADER + "@hookimpl\ndef minidiff_register_ops(registry):\n    raise SystemExit('bye')\n")
    install(
        tmp_path,
        "base_in_hook",
        HEADER + "class Odd(BaseException): pass\n@hookimpl\ndef minidiff_register_ops(registry):\n    raise Odd('odd')\n",
    )
    install(tmp_path, "fine", ops_plugin(GOOD))
    report = probe(tmp_path)
    assert set(report["failed"]) == {"exits_at_import", "exits_in_hook", "base_in_hook"}
    assert report["failed"]["exits_at_import"] == "SystemExit: 3"
    assert report["failed"]["base_in_hook"] == "Odd: odd"
    messages = "\n".join(report["warnings"])
    for name in report["failed"]:
        assert f"minidiff plugin {name!r}" in messages
    assert "fine" in report["loaded"] and report["attrs"]["still_here"] is not None
    import numpy as np

    np.testing.assert_allclose(report["grad"], np.cos([0.5, 1.0]))


def test_a_factory_that_exits_makes_its_backend_unavailable_not_the_program(tmp_path: Path) -> None:
    install(
        tmp_path,
        "exiting_backend",
        HEADER + "import sys\n@hookimpl\ndef minidiff_register_backends(registry):\n"
        "    registry.add_backend('exiting', lambda: sys.exit(1))\n",
    )
    code = """
    import minidiff as md
    try:
        md.zeros(2, backend="exiting")
    except md.BackendUnavailable as exc:
        print("unavailable:", exc)
    print(md.zeros(2).backend.name)
    """
    result = run(tmp_path, code)
    assert result.returncode == 0, result.stderr
    assert "unavailable: minidiff backend 'exiting' (from exiting_backend) is installed but unusable here: SystemExit" in result.stdout
    assert result.stdout.strip().endswith("numpy")


# --------------------------------------------------------------------------- malformed ops

# Each entry: plugin name, the op as it would be written, and what the error must say.
MALFORMED = [
    ("name_not_str", 'Op(3, "sin", vjp=(None,), samples=(sample((2,)),))', "an op's name must be a str, got 3"),
    ("name_not_identifier", 'Op("two words", "sin", vjp=(None,), samples=(sample((2,)),))', "not a Python identifier"),
    ("nargs_str", 'Op("nargs_op", "add", nargs="2", vjp=(None, None), samples=(sample((2,), (2,)),))', "nargs must be an int"),
    ("too_many_rules", 'Op("arity_op", "sin", vjp=(None, None), samples=(sample((2,)),))', "vjp has 2 rule(s) but the op takes 1 operand(s)"),
    ("rule_not_tuple", 'Op("bare_rule", "sin", vjp=lambda g, ans, x: g, samples=(sample((2,)),))', "vjp must be a tuple with one rule"),
    ("forward_not_callable", 'Op("bad_forward", 3.0, vjp=(None,), samples=(sample((2,)),))', "forward must be callable"),
    ("rule_not_callable", 'Op("bad_rule", "sin", vjp=("cos",), samples=(sample((2,)),))', "vjp[0] must be callable"),
    ("sample_not_sample", 'Op("bad_sample", "sin", vjp=(None,), samples=((2,),))', "samples[0] is a tuple, not a Sample"),
    ("samples_not_tuple", 'Op("lone_sample", "sin", vjp=(None,), samples=sample((2,)))', "samples must be a tuple of Sample"),
    ("bad_domain", 'Op("bad_domain", "sin", vjp=(None,), samples=(sample((2,), domain=(1.0, -1.0)),))', "domain must be (low, high)"),
    ("shadows_tensor", 'Op("Tensor", "sin", vjp=(None,), samples=(sample((2,)),))', "'Tensor' is part of minidiff's core API"),
    ("shadows_grad", 'Op("grad", "sin", vjp=(None,), samples=(sample((2,)),))', "'grad' is part of minidiff's core API"),
    ("shadows_testing", 'Op("testing", "sin", vjp=(None,), samples=(sample((2,)),))', "'testing' is part of minidiff's core API"),
    ("namespace_random", 'Op("gauss", "sin", namespace="random", vjp=(None,), samples=(sample((2,)),))', "namespace 'random' is part of"),
    ("dunder", 'Op("__getattr__", "sin", vjp=(None,), samples=(sample((2,)),))', "may not start with an underscore"),
    ("twice", f'{GOOD.replace("still_here", "dup")}); registry.add_op({GOOD.replace("still_here", "dup")}', "registers op 'dup' twice"),
]


@pytest.fixture(scope="module")
def malformed_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    site = tmp_path_factory.mktemp("malformed")
    for plugin, op, _ in MALFORMED:
        install(site, plugin, ops_plugin(GOOD.replace("still_here", f"{plugin}_good"), op))
    install(site, "fine", ops_plugin(GOOD))
    return probe(site)


@pytest.mark.parametrize(("plugin", "op", "expected"), MALFORMED, ids=[case[0] for case in MALFORMED])
def test_a_malformed_op_fails_its_plugin_naming_plugin_and_op(malformed_report: dict, plugin: str, op: str, expected: str) -> None:
    error = malformed_report["failed"].get(plugin, "")
    assert expected in error, f"{plugin}: {error!r}"
    assert f"plugin {plugin!r}" in error
    warning = next(w for w in malformed_report["warnings"] if f"minidiff plugin {plugin!r}" in w)
    assert expected in warning
    assert plugin in malformed_report["info"].split("Plugins that failed to load:")[1]


def test_malformed_ops_leave_the_core_and_other_plugins_intact(malformed_report: dict) -> None:
    attrs = malformed_report["attrs"]
    assert attrs["Tensor"] == "minidiff" and attrs["grad"] == "minidiff.functional"
    assert attrs["still_here"] is not None and "fine" in malformed_report["loaded"]
    assert "Op families:" in malformed_report["info"]


def test_a_root_op_named_like_a_namespace_is_skipped_not_the_pack(tmp_path: Path) -> None:
    # the minidiff-ops-linalg pack (entry point 'linalg') loads before 'rootlinalg'
    install(tmp_path, "rootlinalg", ops_plugin(GOOD, 'Op("linalg", "sin", vjp=(None,), samples=(sample((2,)),))'))
    report = probe(tmp_path)
    assert "rootlinalg" in report["loaded"] and report["attrs"]["still_here"] is not None
    assert report["attrs"]["linalg"] == "minidiff.linalg"  # still the namespace module
    clash = next(w for w in report["warnings"] if "'rootlinalg'" in w)
    assert "md.linalg is already used by op 'linalg." in clash and "MINIDIFF_DISABLE_PLUGINS" in clash


# --------------------------------------------------------------------------- backend names


NUMPY_IMPOSTOR = HEADER + """
from minidiff_numpy.backend import NumpyBackend

class Impostor(NumpyBackend):
    pass

@hookimpl
def minidiff_register_backends(registry):
    registry.add_backend("numpy", Impostor, description="not the real one")

@hookimpl
def minidiff_register_ops(registry):
    registry.add_op(Op("impostor_op", "negative", vjp=(lambda g, ans, x: -g,), samples=(sample((2,)),)))
"""


def test_the_distribution_that_ships_a_backend_keeps_its_name(tmp_path: Path) -> None:
    # 'aaa' loads before minidiff-numpy's 'numpy' entry point, and still does not win
    install(tmp_path, "aaa", NUMPY_IMPOSTOR, distribution="impostor-pack")
    report = probe(tmp_path)
    assert report["backends"]["numpy"] == "numpy"
    assert "numpy" in report["loaded"] and "aaa" in report["loaded"] and not report["failed"]
    clash = next(w for w in report["warnings"] if "backend 'numpy'" in w)
    assert "'numpy' (from minidiff-numpy" in clash and "'aaa' (from impostor-pack 0.1)" in clash
    assert "minidiff-numpy, ships that backend" in clash and "MINIDIFF_DISABLE_PLUGINS=aaa" in clash
    assert "backend 'numpy' from 'numpy' is kept; the one from 'aaa' is skipped" in report["info"]
    code = "import minidiff as md; print(type(md.get_backend('numpy')).__name__, md.impostor_op(md.Tensor([1.0])).item())"
    result = run(tmp_path, code)
    assert result.stdout.split() == ["NumpyBackend", "-1.0"], result.stderr


def test_without_an_owner_the_first_loaded_keeps_a_backend_name(tmp_path: Path) -> None:
    source = HEADER + """
from minidiff_numpy.backend import NumpyBackend

class Toy(NumpyBackend):
    name = "toy"
    made_by = {who!r}

@hookimpl
def minidiff_register_backends(registry):
    registry.add_backend("toy", Toy)
"""
    # installed in the opposite order to the load order, which is by entry-point name
    install(tmp_path, "toy_b", source.format(who="b"), distribution="zz-toys")
    install(tmp_path, "toy_a", source.format(who="a"), distribution="toys-a")
    report = probe(tmp_path)
    assert report["backends"]["toy"] == "toy_a"
    clash = next(w for w in report["warnings"] if "backend 'toy'" in w)
    assert "'toy_a' keeps it (it loaded first); the one from 'toy_b' is skipped" in clash
    result = run(tmp_path, "import minidiff as md; print(md.get_backend('toy').made_by)")
    assert result.stdout.strip() == "a", result.stderr


def test_an_explicit_override_takes_a_backend_name(tmp_path: Path) -> None:
    install(tmp_path, "aaa", NUMPY_IMPOSTOR.replace('description="not the real one"', "override=True"))
    report = probe(tmp_path)
    assert report["backends"]["numpy"] == "aaa"
    assert "backend 'numpy' from 'aaa' overrides 'numpy'" in report["info"]


def test_strict_mode_makes_a_clash_an_error(tmp_path: Path) -> None:
    install(tmp_path, "aaa", NUMPY_IMPOSTOR)
    result = run(tmp_path, "import minidiff as md; md.sin", MINIDIFF_STRICT_PLUGINS="1")
    assert result.returncode != 0
    assert "PluginError: minidiff plugin" in result.stderr and "backend 'numpy' is registered by both" in result.stderr
    assert "'aaa' (from aaa 0.1)" in result.stderr


def test_a_factory_must_return_a_backend_of_its_name(tmp_path: Path) -> None:
    install(
        tmp_path,
        "wrong_backend",
        HEADER + "@hookimpl\ndef minidiff_register_backends(registry):\n    registry.add_backend('wrong', lambda: 42)\n",
    )
    result = run(tmp_path, "import minidiff as md\nmd.zeros(1, backend='wrong')")
    assert "must return a minidiff.backend.Backend named 'wrong', got 42" in result.stderr


# --------------------------------------------------------------------------- the rules, in this process


def _staged(plugin: str, distribution: str, *, backends=(), ops=(), kernels=(), override: bool = False):
    from minidiff.registry import PluginRegistry

    staged = PluginRegistry(plugin, distribution, "1.0")
    for name in backends:
        staged.add_backend(name, lambda: None, override=override)
    for op in ops:
        staged.add_op(op, override=override)
    for qualname, backend in kernels:
        staged.add_kernel(qualname, backend, lambda xp, x: x, override=override)
    return staged


def _op(name: str, namespace: str = ""):
    from minidiff.extend import Op, sample

    return Op(name, "sin", namespace=namespace, vjp=(None,), samples=(sample((2,)),))


@pytest.mark.parametrize("owner_first", [True, False])
def test_the_owner_keeps_a_backend_name_in_either_load_order(owner_first: bool) -> None:
    from minidiff.registry import Registry

    registry = Registry()
    owner, other = _staged("numpy", "minidiff_NumPy", backends=["numpy"]), _staged("aaa", "impostor", backends=["numpy"])
    lost = [registry.merge(s) for s in ((owner, other) if owner_first else (other, owner))]
    assert registry.backends["numpy"].plugin == "numpy"  # the distribution name is compared normalized
    (message,) = [m for messages in lost for m in messages]
    assert "'numpy' keeps it (its distribution, minidiff-numpy, ships that backend)" in message
    assert "the one from 'aaa' is skipped" in message


def test_two_overrides_of_one_name_clash_and_the_first_keeps_it() -> None:
    from minidiff.registry import Registry

    registry = Registry()
    registry.merge(_staged("first", "a", ops=[_op("tan")]))
    assert registry.merge(_staged("second", "b", ops=[_op("tan")], override=True)) == []
    assert registry.ops["tan"].plugin == "second"
    (message,) = registry.merge(_staged("third", "c", ops=[_op("tan"), _op("mine")], kernels=[("tan", "numpy")], override=True))
    assert "'second' keeps it (it loaded first)" in message
    assert registry.ops["tan"].plugin == "second" and registry.ops["mine"].plugin == "third"
    assert ("tan", "numpy") not in registry.kernels  # the kernel went with the op 'third' lost


def test_registrations_are_checked_as_they_are_made() -> None:
    from minidiff.registry import PluginRegistry

    staged = PluginRegistry("demo")
    with pytest.raises(ValueError, match="plugin 'demo': a backend's name must be a non-empty str"):
        staged.add_backend(3, lambda: None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="plugin 'demo', backend 'toy': the factory must be callable"):
        staged.add_backend("toy", "make_toy")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"plugin 'demo', kernel for 'sin' on 'numpy': the kernel must be callable"):
        staged.add_kernel("sin", "numpy", None)  # type: ignore[arg-type]
    staged.add_op(_op("signal"))
    with pytest.raises(ValueError, match=r"op 'signal.lfilter' and another of its ops both claim md.signal"):
        staged.add_op(_op("lfilter", namespace="signal"))
    with pytest.raises(TypeError, match="add_op expects a minidiff.extend.Op, got str"):
        staged.add_op("sin")  # type: ignore[arg-type]


def test_every_builtin_op_passes_validation_and_takes_no_reserved_name() -> None:
    from minidiff import plugins, validation

    registry = plugins.load()
    for entry in registry.ops.values():
        validation.check_op(entry.value, entry.plugin)
    reserved = validation.reserved_names()
    assert {"Tensor", "grad", "no_grad", "custom_vjp", "testing", "extend", "random", "plugins"} <= reserved
    assert not {"sin", "sum", "linalg"} & reserved  # ops and op namespaces are not core API
