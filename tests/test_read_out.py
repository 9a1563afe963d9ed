"""The read-out's shifted views (``test_time_augmentation``): what they are, and that every
read-out (``labels_``, ``predict``, ``predict_proba``, ``transform``, a saved model, the CLI)
uses the same ones."""

import numpy as np
import pytest
import torch
from _model_files import read_meta, rewrite_model, to_format_1
from conftest import METHODS, TINY, tiny

import ganclust
from ganclust import ClusterGAN
from ganclust.augment import READ_OUT_SHIFT, read_out_views
from ganclust.cli import main
from ganclust.inference import cluster_logits

# the views alone, without the neighbor vote on top (tests/test_neighbor_vote.py covers that)
VIEWS = tiny(options={"read_out_neighbors": 0})


def _centre(image):
    """Centre of mass (row, column) of an image in [-1, 1] whose background is -1."""
    weight = image + 1
    rows, cols = torch.meshgrid(
        torch.arange(image.shape[0], dtype=torch.float32),
        torch.arange(image.shape[1], dtype=torch.float32),
        indexing="ij",
    )
    return float((weight * rows).sum() / weight.sum()), float((weight * cols).sum() / weight.sum())


@pytest.mark.parametrize("strength", [1.0, 2.0])
def test_read_out_views_shift_by_a_fixed_amount_in_four_directions(strength):
    x = -torch.ones(2, 1, 28, 28)
    x[:, 0, 13, 15] = 1.0  # one bright pixel
    views = read_out_views(x, strength)
    assert len(views) == 4 and all(v.shape == x.shape for v in views)
    # the shift is in normalised coordinates, which span 28 pixels over 2 units
    pixels = READ_OUT_SHIFT * strength * 28 / 2
    moves = sorted(tuple(np.round(np.subtract(_centre(v[0, 0]), (13, 15)), 4)) for v in views)
    expected = sorted([(0.0, pixels), (0.0, -pixels), (pixels, 0.0), (-pixels, 0.0)])
    np.testing.assert_allclose(moves, np.round(expected, 4), atol=1e-3)
    again = read_out_views(x, strength)
    assert all(torch.equal(a, b) for a, b in zip(views, again, strict=True))  # fixed, not random


def test_read_out_views_leave_vectors_and_strength_zero_alone():
    assert read_out_views(torch.randn(5, 7)) == []
    assert read_out_views(-torch.ones(3, 1, 8, 8), strength=0.0) == []


@pytest.mark.parametrize("cls", METHODS, ids=lambda c: c.__name__)
def test_predict_proba_averages_each_image_and_its_views(cls, uint8_images):
    model = cls(3, **VIEWS).fit(uint8_images)
    assert model.readout_.view_strength == 1.0 and model.readout_.n_neighbors == 0
    data = model._prepare(uint8_images)
    order = torch.from_numpy(model.cluster_order_)

    def softmax(x):
        return cluster_logits(model._method, model.nets_, x).softmax(dim=1)[:, order]

    views = torch.stack([softmax(v) for v in [data, *read_out_views(data)]]).mean(dim=0)
    with_views = model.predict_proba(uint8_images)
    np.testing.assert_allclose(with_views, views.double().numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(model.labels_, model.predict(uint8_images))
    np.testing.assert_array_equal(model.labels_, with_views.argmax(axis=1))

    alone = softmax(data).double().numpy()
    assert np.abs(alone - with_views).max() > 1e-4  # the views do change the read-out
    # without them (frozen at fit), the same networks read each image alone
    off = cls(3, **tiny(options={"read_out_neighbors": 0, "test_time_augmentation": False}))
    off.fit(uint8_images)
    assert off.readout_.view_strength == 0.0
    off_data = off._prepare(uint8_images)
    head = cluster_logits(off._method, off.nets_, off_data).softmax(dim=1)
    expected = head[:, torch.from_numpy(off.cluster_order_)].double().numpy()
    np.testing.assert_allclose(off.predict_proba(uint8_images), expected, rtol=1e-5, atol=1e-7)


def test_clustergan_transform_ends_with_the_read_out(uint8_images):
    model = ClusterGAN(3, **TINY).fit(uint8_images)
    out = model.transform(uint8_images)
    np.testing.assert_allclose(out[:, -3:], model.predict_proba(uint8_images), rtol=1e-5)
    np.testing.assert_array_equal(out[:, -3:].argmax(axis=1), model.predict(uint8_images))


def test_vectors_are_read_alone(blobs):
    X, _ = blobs
    model = ClusterGAN(3, **VIEWS).fit(X)
    head = cluster_logits(model._method, model.nets_, model._prepare(X)).softmax(dim=1)
    alone = model.readout_.to_public(head).double().numpy()
    assert np.array_equal(model.predict_proba(X), alone)


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_test_time_augmentation_must_be_a_boolean(value, blobs):
    match = r"options\['test_time_augmentation'\] must be True or False"
    with pytest.raises(ValueError, match=match):
        ClusterGAN(3, **tiny(options={"test_time_augmentation": value})).fit(blobs[0])


def test_a_file_saved_before_the_views_existed_reads_samples_alone(uint8_images, tmp_path):
    model = ClusterGAN(3, **VIEWS).fit(uint8_images)
    model.save(tmp_path / "model.safetensors")

    def as_a_format_1_file_without_the_views(meta, tensors):
        to_format_1(meta)
        del meta["params"]["test_time_augmentation"]

    old = rewrite_model(
        tmp_path / "model.safetensors",
        tmp_path / "old.safetensors",
        as_a_format_1_file_without_the_views,
    )
    assert read_meta(old)["format_version"] == 1
    loaded = ganclust.load(old)
    assert loaded.get_params()["options"]["test_time_augmentation"] is False
    assert loaded.readout_.view_strength == 0.0
    data = model._prepare(uint8_images)
    head = cluster_logits(model._method, model.nets_, data).softmax(dim=1)
    alone = model.readout_.to_public(head).double().numpy()
    np.testing.assert_allclose(loaded.predict_proba(uint8_images), alone, rtol=1e-6, atol=1e-7)


def test_cli_refuses_a_value_that_is_not_a_boolean(capsys, tmp_path):
    argv = ["fit", "--option", "test_time_augmentation=maybe", "--out", str(tmp_path / "unused")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "ganclust fit: error: --option test_time_augmentation: cannot read 'maybe' as bool"
    ]
    assert list(tmp_path.iterdir()) == []


def test_cli_turns_the_views_off(tmp_path):
    X = np.random.RandomState(0).randint(0, 256, size=(30, 8, 8)).astype(np.uint8)
    np.save(tmp_path / "images.npy", X)
    out = tmp_path / "run"
    argv = ["fit", "--data", str(tmp_path / "images.npy"), "--n-clusters", "3", "--out", str(out)]
    quick = ["--max-epochs", "1", "--quiet", "--option", "width=8", "--device", "cpu"]
    assert main([*argv, *quick, "--option", "test_time_augmentation=off"]) == 0
    loaded = ganclust.load(out / "model.safetensors")
    assert loaded.get_params()["options"]["test_time_augmentation"] is False
    assert loaded.readout_.view_strength == 0.0
