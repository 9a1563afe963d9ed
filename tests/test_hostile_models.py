"""Hostile model files: every malformed file is refused with one ModelFileError naming it.

The files are built from two tiny models fitted and saved once per module (vectors, and images
with a neighbor vote), edited with safetensors. Files that declare something large are loaded in a
child process whose address space is limited, so a loader that built what they declare fails.
"""

import json
import re
import resource
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from _model_files import rewrite_model
from conftest import SMALL
from safetensors import safe_open
from safetensors.torch import save_file
from sklearn.datasets import make_blobs

import ganclust
from ganclust import _checkpoint
from ganclust._checkpoint import ModelFileError

# a child process's address space: enough to import torch and load a tiny model, far too little
# to build the networks the hostile files declare
LIMIT_BYTES = int(1.5 * 2**30)


@pytest.fixture(scope="module")
def vector_model(tmp_path_factory):
    X, _ = make_blobs(40, n_features=5, centers=3, random_state=0)
    path = tmp_path_factory.mktemp("vectors") / "model.safetensors"
    ganclust.ClusterGAN(3, **SMALL).fit(X).save(path)
    return path


@pytest.fixture(scope="module")
def image_model(tmp_path_factory):
    X = np.random.RandomState(0).randint(0, 256, size=(40, 8, 8)).astype(np.uint8)
    path = tmp_path_factory.mktemp("images") / "model.safetensors"
    model = ganclust.ClusterGAN(3, **SMALL).fit(X)
    assert model.neighbor_vote_ is not None  # images read through the vote by default
    model.save(path)
    return path


def _refused(path, problem):
    """Loading ``path`` raises one ModelFileError that names the file and ``problem``."""
    with pytest.raises(ModelFileError, match=problem) as info:
        ganclust.load(path)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert str(path) in message
    assert "\n" not in message


def _first_float(tensors):
    return next(k for k, v in tensors.items() if k.startswith("nets.") and v.is_floating_point())


def _set(section, key, value):
    def edit(meta, tensors):
        (meta[section] if section else meta)[key] = value

    return edit


def _tensor(name, change):
    def edit(meta, tensors):
        tensors[name] = change(tensors[name]).contiguous()

    return edit


def _nan_weight(meta, tensors):
    tensors[_first_float(tensors)][...] = float("nan")


def _width_in_settings(value):
    def edit(meta, tensors):
        meta["settings"]["nets"]["width"] = value

    return edit


VECTOR_CASES = {
    "missing-key": (lambda m, t: m.pop("cluster_sizes"), r"missing cluster_sizes"),
    "format-version-string": (_set(None, "format_version", "2"), r"format_version must be an int"),
    "newer-format": (_set(None, "format_version", 99), r"newer ganclust \(format 99\)"),
    "unknown-key": (_set(None, "surprise", 1), r"unknown key\(s\) 'surprise'"),
    "unknown-estimator": (_set(None, "estimator", "KMeans"), r"unknown estimator 'KMeans'"),
    "unknown-param": (lambda m, t: m["params"].update(foo=1), r"unknown parameter\(s\) 'foo'"),
    "bad-param": (lambda m, t: m["params"].update(n_clusters="3"), r"n_clusters must be an int"),
    "n-clusters-string": (_set("settings", "n_clusters", "3"), r"settings.n_clusters must be int"),
    "width-huge": (_width_in_settings(30000), r"width 30000 is outside 1..4096"),
    "width-mismatch": (_width_in_settings(64), r"network tensor .* has shape"),
    "backbone-conv-on-vectors": (
        lambda m, t: m["settings"]["nets"].update(backbone="conv"),
        r"needs images",
    ),
    "data-shape-strings": (
        lambda m, t: m["settings"]["nets"].update(data_shape=["5"]),
        r"data_shape must be a list of integers",
    ),
    "nan-weights": (_nan_weight, r"holds NaN or inf values"),
    "labels-bfloat16": (
        _tensor("labels", lambda v: v.to(torch.bfloat16)),
        r"labels must be a 1-D int64 tensor",
    ),
    "labels-float8": (
        _tensor("labels", lambda v: v.float().to(torch.float8_e4m3fn)),
        r"tensor 'labels' is of type float8_e4m3fn",
    ),
    "labels-out-of-range": (_tensor("labels", lambda v: v + 3), r"labels must lie in 0..2"),
    "labels-empty": (_tensor("labels", lambda v: v[:0]), r"2 or more samples"),
    "unknown-tensor": (lambda m, t: t.update(extra=torch.zeros(2)), r"unexpected tensor"),
    "order-not-permutation": (
        _set("readout", "cluster_order", [0, 0, 1]),
        r"cluster_order must be a permutation",
    ),
    "order-floats": (
        _set("readout", "cluster_order", [0.5, 1, 2]),
        r"cluster_order must be a list of integers",
    ),
    "order-booleans": (
        _set("readout", "cluster_order", [True, False, 2]),
        r"cluster_order must be a list of integers",
    ),
    "sizes-disagree-with-labels": (
        _set(None, "cluster_sizes", [1, 1, 38]),
        r"cluster_sizes must hold the 3 cluster counts",
    ),
    "offset-too-short": (
        _tensor("pre.offset", lambda v: v[:3]),
        r"offset holds 3 values; vectors of 5 features need 5",
    ),
    "scale-zero": (_tensor("pre.scale", lambda v: v * 0), r"scale must be positive"),
    "offset-integers": (_tensor("pre.offset", lambda v: v.long()), r"must be a 1-D float tensor"),
    "offset-complex": (
        _tensor("pre.offset", lambda v: v.to(torch.complex64)),
        r"tensor 'pre.offset' is of type complex64",
    ),
    "input-shape-floats": (
        _set("preprocessing", "input_shape", [5.0]),
        r"input_shape must be 1 to 3 positive ints",
    ),
    "view-strength-nan": (
        _set("readout", "view_strength", float("nan")),
        r"readout.view_strength must be finite",
    ),
    "best-init-out-of-range": (_set(None, "best_init", 7), r"best_init 7 is not one of"),
    "history-not-rows": (_set(None, "history", ["x"]), r"history must be a list of objects"),
    "n-features-disagrees": (_set(None, "n_features_in", 6), r"n_features_in 6 does not fit"),
}


@pytest.mark.parametrize("case", list(VECTOR_CASES))
def test_malformed_vector_model(tmp_path, vector_model, case):
    edit, problem = VECTOR_CASES[case]
    _refused(rewrite_model(vector_model, tmp_path / f"{case}.safetensors", edit), problem)


def test_an_unedited_rewrite_still_loads(tmp_path, vector_model):
    """The rewriting itself keeps a model loadable: each refusal above is the edit's."""
    copy = rewrite_model(vector_model, tmp_path / "copy.safetensors", lambda m, t: None)
    X, _ = make_blobs(40, n_features=5, centers=3, random_state=0)
    assert np.array_equal(ganclust.load(copy).predict(X), ganclust.load(vector_model).predict(X))


def _vote(name, change):
    return _tensor(f"vote.{name}", change)


IMAGE_CASES = {
    "offset-two-values": (
        _tensor("pre.offset", lambda v: torch.cat([v, v])),
        r"offset holds 2 values; images need 1",
    ),
    "vote-features-too-narrow": (
        _vote("features", lambda v: v[:, :-1]),
        r"neighbor vote's tensors do not fit together",
    ),
    "vote-width-not-the-networks": (
        lambda m, t: t.update(
            {
                f"vote.{k}": t[f"vote.{k}"][..., :3].contiguous()
                for k in ("features", "mean", "scale")
            }
        ),
        r"the neighbor vote holds 3 features; the networks give",
    ),
    "vote-not-probabilities": (_vote("proba", lambda v: v * 2), r"are not probabilities"),
    "vote-scale-zero": (_vote("scale", lambda v: v * 0), r"feature scale must be positive"),
    "vote-missing": (
        lambda m, t: [t.pop(k) for k in list(t) if k.startswith("vote.")],
        r"asks for a neighbor vote that the file does not hold",
    ),
    "conv-wider-than-the-file": (
        _width_in_settings(4096),
        r"network tensor .* has shape",
    ),
}


@pytest.mark.parametrize("case", list(IMAGE_CASES))
def test_malformed_image_model(tmp_path, image_model, case):
    edit, problem = IMAGE_CASES[case]
    _refused(rewrite_model(image_model, tmp_path / f"{case}.safetensors", edit), problem)


def _header(meta, entries):
    header = json.dumps({"__metadata__": {"ganclust": json.dumps(meta)}, **entries}).encode()
    return len(header).to_bytes(8, "little") + header


@pytest.mark.parametrize(
    "case", ["empty", "truncated", "not-safetensors", "huge-header-length", "huge-tensor"]
)
def test_unreadable_file(tmp_path, vector_model, case):
    good = vector_model.read_bytes()
    with safe_open(str(vector_model), framework="pt") as handle:
        meta = json.loads(handle.metadata()["ganclust"])
    content = {
        "empty": b"",
        "truncated": good[: len(good) // 2],
        "not-safetensors": b"PK\x03\x04 this is a zip file, honestly" * 50,
        "huge-header-length": (2**62).to_bytes(8, "little") + b"{}",
        # a tensor of 8 TB declared by a header on a file of a few hundred bytes
        "huge-tensor": _header(
            meta, {"labels": {"dtype": "I64", "shape": [10**12], "data_offsets": [0, 8 * 10**12]}}
        )
        + b"\x00" * 64,
    }[case]
    path = tmp_path / f"{case}.safetensors"
    path.write_bytes(content)
    _refused(path, r"not a safetensors file or corrupt")


def test_metadata_nested_100000_deep(tmp_path):
    path = tmp_path / "deep.safetensors"
    deep = "[" * 100_000 + "]" * 100_000
    save_file({"labels": torch.zeros(2, dtype=torch.int64)}, str(path), {"ganclust": deep})
    _refused(path, r"nested deeper than 32 levels")


def test_metadata_too_large(tmp_path, monkeypatch):
    monkeypatch.setattr(_checkpoint, "MAX_METADATA_CHARS", 1000)
    path = tmp_path / "large.safetensors"
    save_file({"labels": torch.zeros(2, dtype=torch.int64)}, str(path), {"ganclust": " " * 2000})
    _refused(path, r"metadata of 2000 characters is too large")


@pytest.mark.parametrize("kind", ["folder-without-model", "missing-file"])
def test_not_a_model_path(tmp_path, kind):
    path = tmp_path / "somewhere"
    if kind == "folder-without-model":
        path.mkdir()
        (path / "notes.txt").write_text("not a run folder")
        problem = r"is a folder without a model.safetensors"
    else:
        problem = r"model file not found"
    _refused(path, problem)


def test_run_folder_loads_its_model(tmp_path, vector_model):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(vector_model.read_bytes())
    assert ganclust.load(folder).n_features_in_ == 5


# ------------------------------------------------------------------ bounded memory
CHILD = textwrap.dedent(
    """
    import sys
    import ganclust
    try:
        ganclust.load(sys.argv[1])
    except ValueError as exc:
        print("refused:", exc)
    """
)


def _load_in_limited_child(path):
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))

    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        preexec_fn=limit,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _declare(width, padding_chars):
    def edit(meta, tensors):
        meta["settings"]["nets"]["width"] = width
        # padding, so the file is about 0.9 MB: large, but nothing like what it declares
        meta["history"] = [{"epoch": 1, "note": "x" * 1000} for _ in range(padding_chars // 1000)]

    return edit


@pytest.mark.parametrize(
    "model, width, problem",
    [
        ("vector_model", 30000, "width 30000 is outside"),
        ("image_model", 4096, "network tensor .* has shape"),
    ],
    ids=["mlp-width-30000", "conv-width-4096"],
)
def test_declared_size_is_refused_before_building(tmp_path, request, model, width, problem):
    source = request.getfixturevalue(model)
    path = rewrite_model(source, tmp_path / "declares.safetensors", _declare(width, 900_000))
    assert 0.85e6 < path.stat().st_size < 1e6
    out = _load_in_limited_child(path)
    assert re.search(r"refused: .*declares.safetensors.*" + problem, out), out


# ------------------------------------------------------------------ writing
def test_write_model_refuses_nan_and_leaves_nothing(tmp_path, vector_model):
    meta, tensors = _checkpoint.read_model(vector_model)
    tensors[_first_float(tensors)][0] = float("nan")
    meta = {k: v for k, v in meta.items() if k not in ("format", "format_version")}
    dest = tmp_path / "model.safetensors"
    with pytest.raises(ValueError, match=r"refusing to save a model whose tensor .* is not finite"):
        _checkpoint.write_model(dest, tensors, meta)
    assert list(tmp_path.iterdir()) == []


def test_write_model_keeps_the_previous_file_when_refusing(tmp_path, vector_model):
    dest = tmp_path / "model.safetensors"
    dest.write_bytes(vector_model.read_bytes())
    meta, tensors = _checkpoint.read_model(vector_model)
    tensors["pre.scale"] = torch.full_like(tensors["pre.scale"], float("inf"))
    with pytest.raises(ValueError, match=r"tensor 'pre.scale' is not finite"):
        _checkpoint.write_model(dest, tensors, meta)
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]
    assert dest.read_bytes() == vector_model.read_bytes()
