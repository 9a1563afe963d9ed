"""Bad input raises ValueError naming the problem, for every estimator; bad files never load,
and a failed save leaves nothing behind."""

import os

import numpy as np
import pytest
import torch
from _model_files import rewrite_model
from conftest import METHODS, by_method, tiny
from safetensors.torch import save_file
from sklearn.exceptions import NotFittedError

import ganclust
import ganclust._checkpoint
from ganclust import CatGAN, ClusterGAN, InfoGAN
from ganclust._checkpoint import ModelFileError

TINY = tiny(max_epochs=1)
with_loss = pytest.mark.parametrize("cls", [ClusterGAN, InfoGAN], ids=lambda c: c.__name__)


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).randn(30, 5)


@pytest.fixture(scope="module", params=METHODS, ids=lambda c: c.__name__)
def fitted(request, X):
    return request.param(3, **TINY).fit(X)


@pytest.fixture(scope="module", params=METHODS, ids=lambda c: c.__name__)
def fitted_images(request):
    images = np.random.RandomState(0).rand(20, 8, 8)
    return request.param(3, **TINY).fit(images)


# ---------------------------------------------------------------- data given to fit
@by_method
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("shape", [(30, 5), (20, 8, 8), (20, 1, 8, 8)], ids=["vec", "HW", "CHW"])
def test_non_finite_values(cls, value, shape):
    data = np.random.RandomState(0).rand(*shape)
    data.flat[7] = value
    with pytest.raises(ValueError, match="NaN|infinity"):
        cls(3, **TINY).fit(data)


@by_method
@pytest.mark.parametrize("shape", [(0, 5), (0, 8, 8)], ids=["vectors", "images"])
def test_no_samples(cls, shape):
    with pytest.raises(ValueError, match="0 sample"):
        cls(3, **TINY).fit(np.zeros(shape))


@by_method
def test_one_sample(cls):
    with pytest.raises(ValueError, match="at least 2 samples"):
        cls(2, **TINY).fit(np.zeros((1, 5)))


@by_method
def test_1d_input(cls):
    with pytest.raises(ValueError, match="Expected 2D array"):
        cls(3, **TINY).fit(np.arange(10.0))


@by_method
def test_too_many_dimensions(cls):
    with pytest.raises(ValueError, match="got 5 dimensions"):
        cls(3, **TINY).fit(np.zeros((10, 1, 1, 8, 8)))


@by_method
@pytest.mark.parametrize("shape", [(6, 2), (6, 8, 8)], ids=["vectors", "images"])
def test_strings(cls, shape):
    data = np.full(shape, "a", dtype=object).astype(str)
    with pytest.raises(ValueError, match="numeric|string"):
        cls(3, **TINY).fit(data)


@by_method
def test_n_clusters_one(cls, X):
    with pytest.raises(ValueError, match="n_clusters must be >= 2"):
        cls(1, **TINY).fit(X)


@by_method
def test_more_clusters_than_samples(cls, X):
    with pytest.raises(ValueError, match=r"n_clusters=31 must be at most the number of samples"):
        cls(31, **TINY).fit(X)


@by_method
@pytest.mark.parametrize("n_clusters", [2.5, "3", True])
def test_n_clusters_not_an_integer(cls, X, n_clusters):
    with pytest.raises(ValueError, match="n_clusters must be an integer"):
        cls(n_clusters, **TINY).fit(X)


@by_method
@pytest.mark.parametrize(
    "name, value",
    [("max_epochs", 0), ("batch_size", -1), ("learning_rate", 0.0), ("n_init", 0)],
)
def test_out_of_range_parameters(cls, X, name, value):
    with pytest.raises(ValueError, match=name):
        cls(3, **{**TINY, name: value}).fit(X)


@by_method
@pytest.mark.parametrize(
    "name, value",
    [("tol", -1), ("refine", -1), ("refine", 1.5), ("ema", -0.1), ("ema", 1.0)],
)
def test_out_of_range_options(cls, X, name, value):
    with pytest.raises(ValueError, match=rf"options\['{name}'\]"):
        cls(3, **tiny(max_epochs=1, options={name: value})).fit(X)


@by_method
def test_images_smaller_than_8x8(cls):
    images = np.random.RandomState(0).rand(20, 4, 4)
    for backbone in ("auto", "conv"):
        with pytest.raises(ValueError, match="at least 8x8"):
            cls(3, **TINY, backbone=backbone).fit(images)


# ---------------------------------------------------------------- settings
@by_method
def test_unknown_backbone(cls, X):
    with pytest.raises(ValueError, match="unknown backbone 'resnet'"):
        cls(3, **TINY, backbone="resnet").fit(X)


@with_loss
def test_unknown_loss(cls, X):
    with pytest.raises(ValueError, match=r"unknown options\['loss'\] 'mse'"):
        cls(3, **tiny(max_epochs=1, options={"loss": "mse"})).fit(X)


def test_catgan_has_no_loss_option(X):
    assert "loss" not in CatGAN().get_params()
    with pytest.raises(ValueError, match=r"unknown option\(s\) 'loss' for catgan"):
        CatGAN(3, **tiny(max_epochs=1, options={"loss": "bce"})).fit(X)


@by_method
@pytest.mark.parametrize("device", ["tpu", "gpu", "cuda:x", ""])
def test_unknown_device(cls, X, device):
    with pytest.raises(ValueError, match="unknown device"):
        cls(3, **{**TINY, "device": device}).fit(X)


@by_method
def test_cuda_device_that_does_not_exist(cls, X):
    # "CUDA is not available" on a CPU-only machine, "has N CUDA device(s)" on a GPU one
    with pytest.raises(ValueError, match=r"device='cuda:99' but (CUDA is not available|this)"):
        cls(3, **{**TINY, "device": "cuda:99"}).fit(X)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@by_method
def test_cuda_on_a_cpu_only_machine(cls, X):
    with pytest.raises(ValueError, match="CUDA is not available"):
        cls(3, **{**TINY, "device": "cuda"}).fit(X)


# ---------------------------------------------------------------- data given after fit
def test_predict_before_fit(tmp_path):
    for cls in METHODS:
        model = cls(3)
        with pytest.raises(NotFittedError):
            model.predict(np.zeros((3, 5)))
        with pytest.raises(NotFittedError):
            model.predict_proba(np.zeros((3, 5)))
        with pytest.raises(NotFittedError):
            model.transform(np.zeros((3, 5)))
        with pytest.raises(NotFittedError):
            model.sample(3)
        with pytest.raises(NotFittedError):
            model.save(tmp_path / "never-written.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_feature_count_differs_from_fit(fitted, X):
    with pytest.raises(ValueError, match="X has 4 features, but .* is expecting 5"):
        fitted.predict(X[:, :4])
    with pytest.raises(ValueError, match="4 features"):
        fitted.transform(X[:, :4])


def test_images_given_to_a_vector_model(fitted):
    with pytest.raises(ValueError, match="shape"):
        fitted.predict(np.zeros((3, 1, 5)))


def test_image_shape_differs_from_fit(fitted_images):
    with pytest.raises(ValueError, match=r"shape 9 x 9, but .* shape 8 x 8"):
        fitted_images.predict(np.zeros((4, 9, 9)))
    with pytest.raises(ValueError, match=r"shape 1 x 8 x 8, but .* shape 8 x 8"):
        fitted_images.predict_proba(np.zeros((4, 1, 8, 8)))
    with pytest.raises(ValueError, match="shape"):
        fitted_images.transform(np.zeros((4, 64)))


def test_non_finite_at_predict(fitted, X):
    bad = X[:4].copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fitted.predict(bad)


def test_sample_bad_cluster(fitted):
    for cluster in (3, -1, 1.0, [0, 1, 5]):
        with pytest.raises(ValueError, match=r"cluster must be an integer in 0\.\.2"):
            fitted.sample(3, cluster=cluster)
    with pytest.raises(ValueError):
        fitted.sample(3, cluster=[0, 1])  # one per sample, or one for all
    with pytest.raises(ValueError, match="n_samples"):
        fitted.sample(0)


# ---------------------------------------------------------------- loading bad files
@pytest.fixture(scope="module")
def saved_bytes(tmp_path_factory, fitted):
    path = tmp_path_factory.mktemp("model") / "model.safetensors"
    fitted.save(path)
    return path.read_bytes()


def test_load_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="not found: .*nope.safetensors"):
        ganclust.load(tmp_path / "nope.safetensors")
    # a folder is read as a run folder, and this one holds no model
    with pytest.raises(ModelFileError, match="folder without a model.safetensors"):
        ganclust.load(tmp_path)
    assert issubclass(ModelFileError, ValueError)


def test_load_random_bytes(tmp_path):
    path = tmp_path / "corrupt.safetensors"
    for content in (os.urandom(2000), b"", b"\x00" * 7):
        path.write_bytes(content)
        with pytest.raises(ValueError, match="not a safetensors file or corrupt"):
            ganclust.load(path)


@pytest.mark.parametrize(
    "metadata",
    [None, {"other": "x"}, {"ganclust": "{not json"}, {"ganclust": "[1, 2]"}, {"ganclust": "{}"}],
    ids=["none", "other-key", "bad-json", "json-list", "wrong-format"],
)
def test_load_foreign_safetensors(tmp_path, metadata):
    path = tmp_path / "foreign.safetensors"
    save_file({"weight": torch.zeros(3, 2)}, str(path), metadata=metadata)
    with pytest.raises(ValueError, match="a safetensors file, but not a ganclust model"):
        ganclust.load(path)


def test_load_truncated_model(tmp_path, saved_bytes):
    path = tmp_path / "truncated.safetensors"
    for size in (len(saved_bytes) - 1, len(saved_bytes) // 2, 100, 8):
        path.write_bytes(saved_bytes[:size])
        with pytest.raises(ValueError, match="not a safetensors file or corrupt"):
            ganclust.load(path)


def test_load_model_with_missing_weights(tmp_path, fitted):
    good = tmp_path / "good.safetensors"
    fitted.save(good)

    def drop_one_weight(meta, tensors):
        tensors.pop(next(k for k in tensors if k.startswith("nets.")))

    bad = rewrite_model(good, tmp_path / "bad.safetensors", drop_one_weight)
    with pytest.raises(ModelFileError, match=r"bad\.safetensors: not a usable ganclust model"):
        ganclust.load(bad)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda meta, t: meta.pop("settings"), "missing settings"),
        (
            lambda meta, t: meta["readout"].update(n_neighbors="5"),
            "readout.n_neighbors must be int",
        ),
        (lambda meta, t: meta.update(best_init=True), "best_init must be int"),
        (lambda meta, t: meta.update(format_version=3), "newer ganclust"),
        (lambda meta, t: meta.update(format_version="2"), "format_version must be an integer"),
        (lambda meta, t: meta.update(estimator="kmeans"), "unknown estimator 'kmeans'"),
        (lambda meta, t: meta["readout"].update(cluster_order=[0, 0, 1]), "permutation"),
        (lambda meta, t: meta["params"].update(n_clusters=1), "n_clusters must be >= 2"),
        (lambda meta, t: meta["settings"]["nets"].update(width=10**6), "width"),
        (lambda meta, t: t.update(labels=t["labels"] + 7), "labels must lie in"),
    ],
    ids=[
        "no-settings",
        "string-neighbors",
        "bool-best-init",
        "newer-format",
        "string-version",
        "unknown-estimator",
        "not-a-permutation",
        "bad-param",
        "huge-width",
        "labels-out-of-range",
    ],
)
def test_load_model_whose_metadata_is_wrong(tmp_path, saved_bytes, edit, match):
    good = tmp_path / "good.safetensors"
    good.write_bytes(saved_bytes)
    bad = rewrite_model(good, tmp_path / "bad.safetensors", edit)
    with pytest.raises(ModelFileError, match="bad.safetensors") as error:
        ganclust.load(bad)
    assert match in str(error.value)


def test_load_refuses_nan_weights(tmp_path, saved_bytes):
    good = tmp_path / "good.safetensors"
    good.write_bytes(saved_bytes)

    def poison(meta, tensors):
        name = next(k for k in tensors if k.startswith("nets.") and k.endswith("weight"))
        tensors[name] = torch.full_like(tensors[name], float("nan"))

    bad = rewrite_model(good, tmp_path / "bad.safetensors", poison)
    with pytest.raises(ModelFileError, match="bad.safetensors: tensor 'nets.*NaN or inf"):
        ganclust.load(bad)


def test_save_refuses_nan_weights(tmp_path, X):
    model = ClusterGAN(3, **TINY).fit(X)
    with torch.no_grad():
        next(model.nets_.parameters()).fill_(float("nan"))
    with pytest.raises(ValueError, match="refusing to save a model whose tensor 'nets.*not finite"):
        model.save(tmp_path / "model.safetensors")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- a failed save
@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_failed_save_leaves_no_file(tmp_path, monkeypatch, fitted, error):
    def half_write(tensors, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(b"\x00" * 100)  # a partial file, then the failure
        raise error

    monkeypatch.setattr(ganclust._checkpoint, "save_file", half_write)
    dest = tmp_path / "model.safetensors"
    with pytest.raises(type(error)):
        fitted.save(dest)
    assert list(tmp_path.iterdir()) == []


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch, fitted, saved_bytes):
    dest = tmp_path / "model.safetensors"
    dest.write_bytes(saved_bytes)

    def half_write(tensors, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(b"\x00" * 100)
        raise OSError("disk full")

    monkeypatch.setattr(ganclust._checkpoint, "save_file", half_write)
    with pytest.raises(OSError, match="disk full"):
        fitted.save(dest)
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]
    assert dest.read_bytes() == saved_bytes
