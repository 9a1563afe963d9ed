"""Model files of format 1 (ganclust 0.1.0, before the redesign) load, upgraded to format 2, and
predict what 0.1.0 predicted from them (tests/data/format1 holds real ones): the labels exactly, the
floats to within what another CPU's rounding changes."""

import numpy as np
import pytest
from _model_files import FORMAT_1, FORMAT_1_KEYS, read_meta, rewrite_model, to_format_1
from conftest import tiny

import ganclust
from ganclust import CatGAN, ClusterGAN, InfoGAN

FILES = {
    "clustergan-images": (ClusterGAN, "images", 5),
    "infogan-vectors": (InfoGAN, "vectors", 0),
    "catgan-images": (CatGAN, "images", 3),
}


@pytest.fixture(scope="module")
def expected():
    with np.load(FORMAT_1 / "expected.npz") as saved:
        return dict(saved)


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_format_1_file_predicts_what_it_did(name, expected, tmp_path):
    cls, data, neighbors = FILES[name]
    X = expected[data]
    path = FORMAT_1 / f"{name}.safetensors"
    assert read_meta(path)["format_version"] == 1
    model = ganclust.load(path)
    assert type(model) is cls
    np.testing.assert_array_equal(model.labels_, expected[f"{name}.labels"])
    np.testing.assert_array_equal(model.predict(X), expected[f"{name}.labels"])
    np.testing.assert_allclose(model.predict_proba(X), expected[f"{name}.proba"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(model.transform(X), expected[f"{name}.transform"], rtol=0, atol=5e-6)
    fake, clusters = model.sample(4, random_state=0)
    # the generator's float arithmetic may round differently on another CPU (CI's is not always
    # this machine's): a float sample matches to 1e-6, an 8-bit one to one grey level
    if fake.dtype == np.uint8:
        np.testing.assert_allclose(fake.astype(int), expected[f"{name}.sample"], rtol=0, atol=1)
    else:
        np.testing.assert_allclose(fake, expected[f"{name}.sample"], rtol=1e-6, atol=0)
    np.testing.assert_array_equal(clusters, expected[f"{name}.sample_clusters"])
    # the research knobs that were parameters are options now, and the read-out is as it was
    params = model.get_params()
    assert params["options"]["width"] == 8 and params["options"]["refine"] == 1
    assert params["adversarial"] is True and params["recipe"] == "default"
    assert model.settings_.nets.width == 8 and model.settings_.adversarial is True
    assert model.readout_.n_neighbors == neighbors
    assert model.readout_.view_strength == 1.0
    # saved again, it is a format-2 file that predicts the same
    model.save(tmp_path / "again.safetensors")
    assert read_meta(tmp_path / "again.safetensors")["format_version"] == 2
    again = ganclust.load(tmp_path / "again.safetensors")
    assert np.array_equal(again.predict_proba(X), model.predict_proba(X))
    assert again.get_params() == params


def test_the_test_helper_writes_format_1_as_0_1_0_did(uint8_images, tmp_path):
    real = read_meta(FORMAT_1 / "clustergan-images.safetensors")
    model = ClusterGAN(3, **tiny()).fit(uint8_images)
    model.save(tmp_path / "model.safetensors")
    meta = read_meta(tmp_path / "model.safetensors")
    to_format_1(meta)
    assert set(meta) == set(real) == FORMAT_1_KEYS
    assert set(meta["params"]) == set(real["params"])
    assert set(meta["nets"]) == set(real["nets"])
    assert set(meta["history"][0]) == set(real["history"][0])


def test_a_format_1_dcgan_file_was_called_seed_dcgan(tmp_path):
    X = np.random.RandomState(0).rand(20, 8, 8)
    model = InfoGAN(3, **tiny(max_epochs=1, options={"refine": 0}), backbone="dcgan").fit(X)
    model.save(tmp_path / "model.safetensors")
    old = rewrite_model(
        tmp_path / "model.safetensors", tmp_path / "old.safetensors", lambda m, t: to_format_1(m)
    )
    meta = read_meta(old)
    assert meta["params"]["backbone"] == meta["nets"]["backbone"] == "seed-dcgan"
    loaded = ganclust.load(old)
    assert loaded.get_params()["backbone"] == "dcgan"
    assert loaded.settings_.nets.backbone == "dcgan"
    # format 1 had no shifted views or vote unless asked: these options were saved, so they hold
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_a_format_1_file_with_a_parameter_it_never_had_is_refused(tmp_path):
    def add_a_parameter(meta, tensors):
        meta["params"]["temperature"] = 2.0

    bad = rewrite_model(
        FORMAT_1 / "infogan-vectors.safetensors", tmp_path / "bad.safetensors", add_a_parameter
    )
    with pytest.raises(ganclust._checkpoint.ModelFileError, match="bad.safetensors"):
        ganclust.load(bad)
