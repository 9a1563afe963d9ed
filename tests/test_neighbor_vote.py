"""The read-out's neighbor vote (``read_out_neighbors``): what it computes, that every read-out
and a saved model use it, and its limits (the reference cap, bad values, old files, the CLI)."""

import numpy as np
import pytest
import torch
from _model_files import rewrite_model, to_format_1
from conftest import METHODS, TINY, tiny
from safetensors import safe_open

import ganclust
from ganclust import ClusterGAN, _neighbors
from ganclust.cli import main
from ganclust.inference import batched, cluster_proba


def _expected_vote(model, X_train, X, k):
    """The vote computed by hand: standardise the trunk's features by the training data's, find
    each sample's k nearest training samples by brute force, and average their head read-out."""
    method, nets = model._method, model.nets_
    train = model._prepare(X_train)
    train_features = batched(method.features, nets, train).double()
    mean, std = train_features.mean(dim=0), train_features.std(dim=0)
    std = torch.where(std > 1e-8, std, torch.ones_like(std))
    reference = (train_features - mean) / std
    queries = (batched(method.features, nets, model._prepare(X)).double() - mean) / std
    nearest = torch.cdist(queries, reference).argsort(dim=1, stable=True)[:, :k]
    head = cluster_proba(method, nets, train, model.readout_.view_strength)
    order = torch.from_numpy(model.cluster_order_)
    return head[nearest].mean(dim=1)[:, order].double().numpy()


def _head_alone(model, X):
    """The read-out without the vote: the head's public probabilities of ``X`` (with the views),
    computed directly from the networks."""
    proba = cluster_proba(
        model._method, model.nets_, model._prepare(X), model.readout_.view_strength
    )
    return model.readout_.to_public(proba).double().numpy()


@pytest.mark.parametrize("cls", METHODS, ids=lambda c: c.__name__)
def test_predict_proba_is_the_mean_of_the_nearest_training_samples(cls, uint8_images):
    model = cls(3, **tiny(options={"read_out_neighbors": 4})).fit(uint8_images)
    assert model.readout_.n_neighbors == 4 and model.settings_.read_out_neighbors == 4
    X_new = np.clip(uint8_images[:10].astype(int) + 20, 0, 255).astype(np.uint8)
    for X in (uint8_images, X_new):
        proba = model.predict_proba(X)
        np.testing.assert_allclose(proba, _expected_vote(model, uint8_images, X, 4), atol=1e-5)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(model.labels_, model.predict(uint8_images))
    assert model.neighbor_vote_.features.shape == (40, model.neighbor_vote_.mean.shape[0])


def test_by_default_images_vote_and_vectors_do_not(blobs, uint8_images):
    X, _ = blobs
    vectors = ClusterGAN(3, **TINY).fit(X)
    assert vectors.neighbor_vote_ is None and vectors.readout_.n_neighbors == 0
    images = ClusterGAN(3, **TINY).fit(uint8_images)
    assert images.neighbor_vote_ is not None and images.readout_.n_neighbors == 5
    assert images.readout_.vote is images.neighbor_vote_
    # asked for, vectors vote the same way
    model = ClusterGAN(3, **tiny(options={"read_out_neighbors": 5})).fit(X)
    np.testing.assert_allclose(model.predict_proba(X), _expected_vote(model, X, X, 5), atol=1e-5)


def test_one_neighbor_is_each_training_sample_itself(uint8_images):
    model = ClusterGAN(3, **tiny(options={"read_out_neighbors": 1})).fit(uint8_images)
    own = model.predict_proba(uint8_images)
    np.testing.assert_allclose(own, _head_alone(model, uint8_images), rtol=1e-5, atol=1e-7)


def test_the_vote_changes_the_read_out_and_zero_turns_it_off(uint8_images):
    voted = ClusterGAN(3, **TINY).fit(uint8_images)
    alone = ClusterGAN(3, **tiny(options={"read_out_neighbors": 0})).fit(uint8_images)
    assert alone.neighbor_vote_ is None and alone.readout_.n_neighbors == 0
    # the same networks (training does not depend on the read-out), read two ways
    assert torch.equal(voted.nets_["E"].head.weight, alone.nets_["E"].head.weight)
    change = voted.predict_proba(uint8_images) - alone.predict_proba(uint8_images)
    assert np.abs(change).max() > 1e-3
    # without its vote, the voted model reads what the other one does (in internal order)
    internal = _head_alone(voted, uint8_images)[:, np.argsort(voted.cluster_order_)]
    expected = alone.predict_proba(uint8_images)[:, np.argsort(alone.cluster_order_)]
    np.testing.assert_allclose(internal, expected, rtol=1e-6)
    # the read-out is frozen at fit: set_params changes no fitted model's predictions
    before = voted.predict_proba(uint8_images)
    voted.set_params(options={**TINY["options"], "read_out_neighbors": 0})
    assert np.array_equal(voted.predict_proba(uint8_images), before)


def test_clustergan_transform_ends_with_the_vote(uint8_images):
    model = ClusterGAN(3, **TINY).fit(uint8_images)
    np.testing.assert_allclose(
        model.transform(uint8_images)[:, -3:], model.predict_proba(uint8_images), rtol=1e-5
    )


def test_large_training_sets_keep_a_reproducible_random_reference(monkeypatch, blobs):
    monkeypatch.setattr(_neighbors, "MAX_REFERENCE", 25)
    X, _ = blobs
    first = ClusterGAN(3, **tiny(options={"read_out_neighbors": 5})).fit(X)
    second = ClusterGAN(3, **tiny(options={"read_out_neighbors": 5})).fit(X)
    assert first.neighbor_vote_.features.shape[0] == 25
    assert torch.equal(first.neighbor_vote_.features, second.neighbor_vote_.features)
    np.testing.assert_array_equal(first.labels_, first.predict(X))
    np.testing.assert_array_equal(first.labels_, second.labels_)


def test_a_saved_model_votes_with_the_same_references(uint8_images, tmp_path):
    model = ClusterGAN(3, **TINY).fit(uint8_images)
    model.save(tmp_path / "voted.safetensors")
    loaded = ganclust.load(tmp_path / "voted.safetensors")
    assert torch.equal(loaded.neighbor_vote_.features, model.neighbor_vote_.features)
    np.testing.assert_array_equal(
        loaded.predict_proba(uint8_images), model.predict_proba(uint8_images)
    )
    assert loaded.readout_.n_neighbors == 5
    compact = ClusterGAN(3, **tiny(options={"read_out_neighbors": 0})).fit(uint8_images)
    compact.save(tmp_path / "compact.safetensors")
    with safe_open(str(tmp_path / "compact.safetensors"), framework="pt") as handle:
        assert not [key for key in handle.keys() if key.startswith("vote.")]
    assert ganclust.load(tmp_path / "compact.safetensors").neighbor_vote_ is None


def test_a_file_saved_before_the_vote_existed_reads_the_head(uint8_images, tmp_path):
    model = ClusterGAN(3, **TINY).fit(uint8_images)
    model.save(tmp_path / "model.safetensors")

    def as_a_format_1_file_without_the_vote(meta, tensors):
        to_format_1(meta)
        del meta["params"]["read_out_neighbors"]
        for key in [key for key in tensors if key.startswith("vote.")]:
            del tensors[key]

    old = rewrite_model(
        tmp_path / "model.safetensors",
        tmp_path / "old.safetensors",
        as_a_format_1_file_without_the_vote,
    )
    loaded = ganclust.load(old)
    assert loaded.get_params()["options"]["read_out_neighbors"] == 0
    assert loaded.neighbor_vote_ is None and loaded.readout_.n_neighbors == 0
    np.testing.assert_array_equal(
        loaded.predict_proba(uint8_images), _head_alone(model, uint8_images)
    )


@pytest.mark.parametrize("value", [-1, 2.5, "5"])
def test_read_out_neighbors_must_be_a_non_negative_integer(value, blobs):
    with pytest.raises(ValueError, match=r"options\['read_out_neighbors'\]"):
        ClusterGAN(3, **tiny(options={"read_out_neighbors": value})).fit(blobs[0])


def test_cli_sets_the_number_of_neighbors(tmp_path):
    X = np.random.RandomState(0).randint(0, 256, size=(30, 8, 8)).astype(np.uint8)
    np.save(tmp_path / "images.npy", X)
    out = tmp_path / "run"
    argv = ["fit", "--data", str(tmp_path / "images.npy"), "--n-clusters", "3", "--out", str(out)]
    quick = ["--max-epochs", "1", "--quiet", "--option", "width=8", "--device", "cpu"]
    assert main([*argv, *quick, "--option", "read_out_neighbors=3"]) == 0
    loaded = ganclust.load(out / "model.safetensors")
    assert loaded.get_params()["options"] == {"width": 8, "read_out_neighbors": 3}
    assert loaded.readout_.n_neighbors == 3


def test_a_file_whose_vote_does_not_fit_together_is_refused(uint8_images, tmp_path):
    model = ClusterGAN(3, **TINY).fit(uint8_images)
    model.save(tmp_path / "model.safetensors")

    def shorten_the_mean(meta, tensors):
        tensors["vote.mean"] = tensors["vote.mean"][:-1].clone()

    bad = rewrite_model(
        tmp_path / "model.safetensors", tmp_path / "bad.safetensors", shorten_the_mean
    )
    with pytest.raises(ValueError, match="not a usable ganclust model.*do not fit together"):
        ganclust.load(bad)
