"""`md.save` / `md.load` (minidiff.serialization): every documented structure round-trips with
its types, dtypes, backends and allow_grad; the file is a plain `.npz` that NumPy reads with
pickle off; pickles and foreign, damaged or future files are refused with a ValueError."""

from __future__ import annotations

import io
import json
import math
import os
import pickle
from collections import OrderedDict, namedtuple
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minidiff as md
from minidiff.serialization import FORMAT_VERSION

DTYPES = ["float16", "float32", "float64", "complex64", "complex128", "int8", "int16", "int32", "int64",
          "uint8", "uint16", "uint32", "uint64", "bool"]


def _mlx_or_skip() -> None:
    pytest.importorskip("mlx.core")
    if "mlx" not in md.available_backends():
        pytest.skip("the MLX backend cannot run here")


def roundtrip(obj, **load_kw):
    buffer = io.BytesIO()
    md.save(buffer, obj)
    buffer.seek(0)
    return md.load(buffer, **load_kw)


def assert_same(loaded, original, path="obj"):
    """Equal values and exactly the same types, dtypes, backends and allow_grad, all the way down."""
    if isinstance(original, md.Tensor):
        assert isinstance(loaded, md.Tensor), path
        assert loaded.is_leaf and loaded.grad is None, path
        assert (loaded.backend.name, loaded.dtype, loaded.shape, loaded.allow_grad, loaded.name) == (
            original.backend.name, original.dtype, original.shape, original.allow_grad, original.name), path
        np.testing.assert_array_equal(loaded.numpy(), original.numpy(), err_msg=path)
        return
    assert type(loaded) is type(original), f"{path}: {type(loaded)} is not {type(original)}"
    if isinstance(original, (np.ndarray, np.generic)):
        assert loaded.dtype == original.dtype and np.shape(loaded) == np.shape(original), path
        np.testing.assert_array_equal(loaded, original, err_msg=path)  # NaN equals NaN here
    elif isinstance(original, dict):
        assert list(loaded) == list(original), path  # the same keys, in the same order
        for key in original:
            assert_same(loaded[key], original[key], f"{path}[{key!r}]")
    elif isinstance(original, (list, tuple)):
        assert len(loaded) == len(original), path
        for i, (a, b) in enumerate(zip(loaded, original)):
            assert_same(a, b, f"{path}[{i}]")
    elif isinstance(original, (float, complex)):
        for a, b in ((loaded, original),) if isinstance(original, float) else ((loaded.real, original.real),
                                                                            (loaded.imag, original.imag)):
            assert (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b)), path
    else:
        assert loaded == original, path


# ---------------------------------------------------------------------------- round trips


DOCUMENTED = {
    "tensor": md.Tensor([[1.0, 2.0], [3.0, 4.0]]),
    "tensor allowing grad": md.Tensor([1.0, -2.0], allow_grad=True),
    "named tensor": md.Tensor([1.0], allow_grad=True, name="bias"),
    "int tensor": md.Tensor([1, 2, 3]),
    "array": np.arange(6, dtype=np.int16).reshape(2, 3),
    "numpy scalar": np.float32(1.5),
    "scalars": [0, -(2**100), 1.5, -0.0, float("nan"), float("inf"), 1 - 2j, True, False, "text ü", "", None],
    "dict": {"w": md.Tensor([1.0, 2.0], allow_grad=True), "b": md.Tensor(0.5), "step": 7},
    "tuple and list": ([1, (2, [3.0])], (), []),
    "nest": {"model": {"layers": [{"w": md.Tensor(np.eye(2)), "b": np.zeros(2)}]},
             "optimizer": {"lr": 0.1, "betas": (0.9, 0.999), "moments": [np.ones(2)]}, "note": None},
    "empty dict": {},
    "none": None,
}


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_every_documented_structure_round_trips(name):
    assert_same(roundtrip(DOCUMENTED[name]), DOCUMENTED[name])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (3,), (2, 3)], ids=str)
def test_tensors_and_arrays_of_every_dtype_and_shape_round_trip(dtype, shape):
    values = (np.arange(math.prod(shape)) % 3).reshape(shape).astype(dtype)
    obj = {"tensor": md.Tensor(values), "array": values}
    loaded = roundtrip(obj)
    assert_same(loaded, obj)
    assert loaded["tensor"].dtype == np.dtype(dtype) and loaded["tensor"].shape == shape


def test_allow_grad_survives_and_a_computed_tensor_comes_back_as_a_leaf():
    x = md.Tensor([1.0, 2.0], allow_grad=True)
    y = 3.0 * x  # computed: allows grad through its graph
    loaded_x, loaded_y, frozen = roundtrip([x, y, x.detach()])
    assert loaded_x.allow_grad and loaded_y.allow_grad and not frozen.allow_grad
    assert loaded_y.is_leaf and loaded_y.node is None
    (loaded_y * loaded_y).sum().backward()  # a leaf of its own graph: the gradient is 2 * y
    np.testing.assert_array_equal(loaded_y.grad.numpy(), [6.0, 12.0])


def test_an_object_saved_twice_loads_as_one_object():
    w = md.Tensor([1.0, 2.0], allow_grad=True)
    a = np.arange(3)
    loaded = roundtrip({"encoder": w, "decoder": w, "arrays": [a, a], "copy": md.Tensor([1.0, 2.0])})
    assert loaded["encoder"] is loaded["decoder"]
    assert loaded["arrays"][0] is loaded["arrays"][1]
    assert loaded["copy"] is not loaded["encoder"]


def test_loaded_tensors_do_not_share_memory_with_each_other_or_the_saved_ones():
    x = md.Tensor([1.0, 2.0])
    loaded = roundtrip(x)
    loaded[0] = 5.0
    assert x.numpy()[0] == 1.0


LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.complex_numbers(), st.text(max_size=5),
    hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)),
    hnp.arrays(hnp.scalar_dtypes(), ()).map(lambda a: a[()]),  # NumPy scalars: np.float32(1.5), ...
    hnp.arrays(st.sampled_from(DTYPES), hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3)).map(
        md.Tensor),
    hnp.arrays(st.sampled_from(["float32", "float64"]), hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)).map(
        lambda a: md.Tensor(a, allow_grad=True)),
)
NESTS = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=6), children, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(NESTS)
def test_hypothesis_nests_round_trip(obj):
    assert_same(roundtrip(obj), obj)


@settings(max_examples=40, deadline=None)
@given(NESTS)
def test_hypothesis_nests_round_trip_compressed(obj):
    buffer = io.BytesIO()
    md.save(buffer, obj, compress=True)
    buffer.seek(0)
    assert_same(md.load(buffer), obj)


# ---------------------------------------------------------------------------- backends


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "complex64", "int32", "uint8", "bool"])
def test_backend_moves_tensors_from_numpy_to_mlx_and_back(dtype):
    _mlx_or_skip()
    values = (np.arange(6) % 4).reshape(2, 3).astype(dtype)
    obj = {"t": md.Tensor(values, allow_grad=dtype.startswith("float")), "a": values, "n": 3}
    on_mlx = roundtrip(obj, backend="mlx")
    assert on_mlx["t"].backend.name == "mlx" and on_mlx["t"].dtype == np.dtype(dtype)
    assert on_mlx["t"].allow_grad == obj["t"].allow_grad
    assert type(on_mlx["a"]) is np.ndarray and on_mlx["n"] == 3  # arrays stay host arrays
    np.testing.assert_array_equal(on_mlx["t"].numpy(), values)
    # saved from MLX: MLX again by default, NumPy when asked
    assert roundtrip(on_mlx["t"]).backend.name == "mlx"
    back = roundtrip(on_mlx, backend="numpy")
    assert_same(back, obj)


def test_mlx_arrays_are_saved_as_host_arrays():
    _mlx_or_skip()
    import mlx.core as mx

    loaded = roundtrip({"key": mx.array([1, 2], dtype=mx.uint32)})
    assert type(loaded["key"]) is np.ndarray and loaded["key"].dtype == np.uint32
    np.testing.assert_array_equal(loaded["key"], [1, 2])


def test_a_dtype_the_target_backend_lacks_names_the_tensor_and_the_file():
    _mlx_or_skip()
    with pytest.raises(TypeError, match="complex128") as raised:
        roundtrip({"z": md.Tensor(np.ones(2, dtype=np.complex128))}, backend="mlx")
    assert any("obj['z']" in note and "'mlx'" in note for note in raised.value.__notes__)


def test_an_unknown_backend_is_refused_by_name():
    with pytest.raises(ValueError, match="no-such-backend"):
        roundtrip(md.Tensor([1.0]), backend="no-such-backend")


# ---------------------------------------------------------------------------- the file


def test_plain_numpy_reads_the_file_without_pickle(tmp_path):
    path = tmp_path / "checkpoint.npz"
    md.save(path, {"w": md.Tensor([1.0, 2.0], allow_grad=True), "arrays": [np.arange(3)], "step": 5})
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["__minidiff__", "a0", "a1"]
        np.testing.assert_array_equal(archive["a0"], [1.0, 2.0])
        np.testing.assert_array_equal(archive["a1"], [0, 1, 2])
        manifest = json.loads(str(archive["__minidiff__"]))
    assert manifest["format"] == "minidiff" and manifest["version"] == FORMAT_VERSION
    w = manifest["root"]["items"]["w"]
    assert w == {"type": "tensor", "array": "a0", "dtype": "float64", "backend": "numpy", "allow_grad": True}
    assert manifest["root"]["items"]["step"] == {"type": "int", "value": 5}


@pytest.mark.parametrize("as_path", [str, Path], ids=["str", "Path"])
def test_a_path_is_written_exactly_as_given(tmp_path, as_path):
    target = tmp_path / "checkpoint"  # no .npz: none is appended, unlike numpy.savez
    md.save(as_path(target), [md.Tensor([1.0])])
    assert os.listdir(tmp_path) == ["checkpoint"]
    assert_same(md.load(as_path(target)), [md.Tensor([1.0])])


def test_a_missing_file_says_when_numpy_added_the_suffix(tmp_path):
    np.savez(tmp_path / "weights", w=np.ones(2))  # NumPy writes weights.npz
    with pytest.raises(FileNotFoundError) as raised:
        md.load(tmp_path / "weights")
    assert any("weights.npz" in note for note in raised.value.__notes__)


def test_open_binary_files_work_both_ways(tmp_path):
    path = tmp_path / "state.npz"
    with open(path, "wb") as f:
        md.save(f, {"x": md.Tensor([1.0, 2.0])})
    with open(path, "rb") as f:
        assert_same(md.load(f), {"x": md.Tensor([1.0, 2.0])})


def test_compress_makes_compressible_data_smaller():
    plain, packed = io.BytesIO(), io.BytesIO()
    obj = md.Tensor(np.zeros(10_000))
    md.save(plain, obj)
    md.save(packed, obj, compress=True)
    assert len(packed.getvalue()) < len(plain.getvalue()) / 10
    packed.seek(0)
    assert_same(md.load(packed), obj)


# ---------------------------------------------------------------------------- what save refuses


Point = namedtuple("Point", "x y")


class _Opaque:
    pass


@pytest.mark.parametrize(
    "obj, where",
    [
        ({"a": {1, 2}}, r"obj\['a'\]"),
        ([1, _Opaque()], r"obj\[1\]"),
        ({1: 2.0}, "key 1"),
        ({"a": np.array([object()])}, r"obj\['a'\].*object"),
        ([Point(1, 2)], r"obj\[0\].*Point.*tuple"),
        (OrderedDict(a=1), "OrderedDict.*dict"),
    ],
    ids=["set", "object", "int key", "object array", "namedtuple", "OrderedDict"],
)
def test_save_refuses_what_it_cannot_store_and_leaves_no_file(tmp_path, obj, where):
    path = tmp_path / "never.npz"
    with pytest.raises(TypeError, match=where):
        md.save(path, obj)
    assert not path.exists()


def test_save_refuses_a_nest_that_contains_itself():
    loop: list = [1]
    loop.append({"again": loop})
    with pytest.raises(TypeError, match="contains itself"):
        md.save(io.BytesIO(), loop)


# ---------------------------------------------------------------------------- what load refuses


class _RunsCode:
    """Unpickling this makes a directory: the pickle test checks nothing ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_a_pickle_is_refused_and_never_run(tmp_path, protocol):
    marker = tmp_path / "pickle-ran"
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"w": _RunsCode(marker)}, protocol=protocol))
    with pytest.raises(ValueError, match="evil.pt") as raised:
        md.load(path)
    assert not marker.exists()
    if protocol >= 2:
        assert "pickle" in str(raised.value)


def _npz_with_manifest(manifest, **arrays) -> bytes:
    buffer = io.BytesIO()
    member = manifest if isinstance(manifest, np.ndarray) else np.array(
        manifest if isinstance(manifest, str) else json.dumps(manifest))
    np.savez(buffer, __minidiff__=member, **arrays)
    return buffer.getvalue()


def _minidiff_file(root, version=1, **arrays) -> bytes:
    return _npz_with_manifest({"format": "minidiff", "version": version, "root": root}, **arrays)


TENSOR_NODE = {"type": "tensor", "array": "a0", "dtype": "float64", "backend": "numpy", "allow_grad": False}


def _npy_bytes() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ones(3))
    return buffer.getvalue()


def _plain_npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, w=np.ones(3))
    return buffer.getvalue()


FOREIGN = {
    "empty file": (b"", "empty"),
    "random bytes": (bytes(np.random.default_rng(0).integers(0, 256, 200, dtype=np.uint8)), r"not a \.npz"),
    "text": (b"hello, world\n", r"not a \.npz"),
    "a .npy array": (_npy_bytes(), r"single \.npy"),
    "a plain .npz": (_plain_npz(), "plain NumPy .npz.*manifest"),
    "a future format": (_minidiff_file({"type": "none"}, version=FORMAT_VERSION + 1),
                        f"version {FORMAT_VERSION + 1}.*upgrade minidiff"),
    "a manifest that is not JSON": (_npz_with_manifest("{not json"), "not valid JSON"),
    "a manifest nested too deep": (_npz_with_manifest("[" * 100_000 + "]" * 100_000), "recursion depth"),
    "a manifest of bytes": (_npz_with_manifest(np.frombuffer(b'{"format": "minidiff"}', np.uint8)),
                            "not a JSON string"),
    "another format": (_npz_with_manifest({"format": "other", "version": 1, "root": None}), "not a minidiff manifest"),
    "no version": (_npz_with_manifest({"format": "minidiff", "root": {"type": "none"}}), "no valid format version"),
    "no root": (_npz_with_manifest({"format": "minidiff", "version": 1}), "no 'root'"),
    "an unknown node": (_minidiff_file({"type": "lambda"}), "unknown type 'lambda'"),
    "a missing array": (_minidiff_file(TENSOR_NODE), "array 'a0', which the file does not hold"),
    "a wrong dtype": (_minidiff_file({**TENSOR_NODE, "dtype": "float32"}, a0=np.ones(2)), "says dtype float32"),
    "a bool as int": (_minidiff_file({"type": "int", "value": True}), "no valid 'value'"),
    "a float that is no number": (_minidiff_file({"type": "float", "value": "__import__('os')"}), "no valid 'value'"),
}


@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_foreign_and_corrupt_files_raise_a_value_error_naming_the_file(tmp_path, name):
    content, what = FOREIGN[name]
    path = tmp_path / "suspect.bin"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"suspect.bin.*{what}"):
        md.load(path)


def _saved_bytes(compress: bool) -> tuple[bytes, object]:
    obj = {"w": md.Tensor(np.linspace(0.0, 1.0, 20), allow_grad=True), "rest": [np.arange(5), 3, "x"]}
    buffer = io.BytesIO()
    md.save(buffer, obj, compress=compress)
    return buffer.getvalue(), obj


@pytest.mark.parametrize("compress", [False, True], ids=["stored", "compressed"])
def test_every_truncation_raises_a_value_error(tmp_path, compress):
    content, _ = _saved_bytes(compress)
    path = tmp_path / "cut.npz"
    for size in range(len(content)):
        path.write_bytes(content[:size])
        with pytest.raises(ValueError, match="cut.npz"):
            md.load(path)


@settings(max_examples=300, deadline=None)
@given(compress=st.booleans(), where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_a_flipped_bit_raises_a_value_error_or_changes_nothing(compress, where, bit):
    content, obj = _saved_bytes(compress)
    damaged = bytearray(content)
    damaged[int(where * len(content))] ^= 1 << bit
    try:
        loaded = md.load(io.BytesIO(bytes(damaged)))
    except ValueError:
        return
    assert_same(loaded, obj)  # a bit zip does not read (a timestamp, a comment) changes no value


def test_md_namespace_serves_save_and_load():
    assert {"save", "load"} <= set(md.__all__)
    assert md.save.__module__ == md.load.__module__ == "minidiff.serialization"


DOC = Path(__file__).resolve().parents[3] / "docs" / "saving-and-loading.md"


def _doc_examples() -> list[str]:
    if not DOC.exists():  # the distribution tested on its own, without the repository's docs
        return []
    return DOC.read_text().split("```python\n")[1:]


@pytest.mark.skipif(not DOC.exists(), reason="docs/saving-and-loading.md is not next to this distribution")
@pytest.mark.parametrize("index", range(len(_doc_examples())))
def test_the_docs_examples_run(tmp_path, monkeypatch, index):
    code = _doc_examples()[index].split("```")[0]
    if 'backend="mlx"' in code:
        _mlx_or_skip()
    monkeypatch.chdir(tmp_path)
    try:
        exec(compile(code, f"{DOC.name} example {index + 1}", "exec"), {})
    finally:
        md.random.seed(None)
