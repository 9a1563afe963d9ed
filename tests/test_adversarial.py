"""``adversarial=False``: the clustering head alone, trained on real data with the pseudo-labels
and the consistency term, and no generator: what it builds, trains, saves and refuses."""

import json

import numpy as np
import pytest
import torch
from conftest import METHODS, by_method, timeless, tiny
from sklearn.datasets import make_blobs

import ganclust
import ganclust.training
from ganclust import CatGAN, ClusterGAN, InfoGAN, clustering_accuracy
from ganclust.cli import main

HEAD = {ClusterGAN: "E", InfoGAN: "D", CatGAN: "D"}
# what only the adversarial game logs
GAME_LOGS = {"d_adv", "g_adv", "inversion", "info"}
HEAD_ONLY = tiny(adversarial=False)


@pytest.fixture(scope="module")
def recorded(blobs):
    """Each method fitted with adversarial=False, with the networks' initial weights and every
    batch's logs recorded from the training loop."""
    X, _ = blobs
    fits = {}
    loop = ganclust.training._loop
    with pytest.MonkeyPatch.context() as patch:
        for cls in METHODS:
            initial, logs = [], []

            def record(x, nets, cfg, rng, callback, initial=initial, logs=logs):
                initial.append({k: v.clone() for k, v in nets.state_dict().items()})

                def logging_callback(event):
                    if event["event"] == "batch":
                        logs.append(event["logs"])
                    callback(event)

                return loop(x, nets, cfg, rng, logging_callback)

            patch.setattr(ganclust.training, "_loop", record)
            model = cls(3, **HEAD_ONLY).fit(X)
            # each run trains once, then once per refinement round, from the weights it has
            first_call = model.best_init_ * (1 + model.settings_.refine)
            fits[cls] = model, initial[first_call], logs
    return fits, X


@by_method
def test_only_the_clustering_head_is_built(cls, recorded):
    (model, _, _), _ = recorded[0][cls], recorded[1]
    assert set(model.nets_) == {HEAD[cls]}
    assert model.settings_.adversarial is False and model.settings_.nets.adversarial is False
    names = [name for name, _ in model.nets_.named_parameters()]
    assert names and all(name.startswith(f"{HEAD[cls]}.") for name in names)
    # no generator anywhere: no transposed convolution or any module of a G
    adversarial = cls(3, **tiny()).fit(recorded[1])
    assert "G" in adversarial.nets_
    assert sum(p.numel() for p in model.nets_.parameters()) < sum(
        p.numel() for p in adversarial.nets_.parameters()
    )


@by_method
def test_no_adversarial_losses_are_logged(cls, recorded):
    model, _, logs = recorded[0][cls]
    assert logs, "no batch was recorded"
    logged = {key for row in logs for key in row}
    assert logged and not logged & GAME_LOGS
    assert logged <= {"consistency", "pseudo"}
    in_history = {key for row in model.history_ for key in row}
    assert not in_history & GAME_LOGS
    assert {"epoch", "occupancy"} <= in_history


@by_method
def test_the_head_learns_and_nothing_else_moves(cls, recorded):
    model, initial, _ = recorded[0][cls]
    head = HEAD[cls]
    final = model.nets_.state_dict()
    assert set(final) == set(initial)
    rows = model.nets_[head].sizes
    k = model.settings_.n_clusters
    # the rows of the head's output layer that read clusters: ClusterGAN's E gives (noise,
    # clusters), InfoGAN's D (realness, clusters, continuous codes), CatGAN's D the clusters
    start = {ClusterGAN: rows[0], InfoGAN: rows[0], CatGAN: 0}[cls]
    clusters = list(range(start, start + k))
    others = [i for i in range(sum(rows)) if i not in clusters]
    weight, bias = f"{head}.head.weight", f"{head}.head.bias"
    assert not torch.equal(final[weight][clusters], initial[weight][clusters])
    assert not torch.equal(final[bias][clusters], initial[bias][clusters])
    trunk = [name for name in final if name.startswith(f"{head}.trunk.")]
    assert trunk and all(not torch.equal(final[name], initial[name]) for name in trunk)
    # the outputs only the game trains get no gradient: InfoGAN's realness and continuous
    # codes, ClusterGAN's noise part
    assert others == {ClusterGAN: [0, 1, 2, 3], InfoGAN: [0, 4, 5], CatGAN: []}[cls]
    assert torch.equal(final[weight][others], initial[weight][others])
    assert torch.equal(final[bias][others], initial[bias][others])


@by_method
def test_sample_is_refused(cls, recorded):
    model, _, _ = recorded[0][cls]
    with pytest.raises(RuntimeError, match=r"adversarial=False.*no generator"):
        model.sample(3, random_state=0)
    with pytest.raises(RuntimeError, match="adversarial=False"):
        model.sample(3, cluster=1)


@by_method
def test_save_load_predicts_identically(cls, recorded, tmp_path):
    (model, _, _), X = recorded[0][cls], recorded[1]
    model.save(tmp_path / "model.safetensors")
    loaded = ganclust.load(tmp_path / "model.safetensors")
    assert type(loaded) is cls and loaded.get_params() == model.get_params()
    assert loaded.settings_ == model.settings_
    assert set(loaded.nets_) == {HEAD[cls]}
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert np.array_equal(loaded.transform(X), model.transform(X))
    np.testing.assert_array_equal(loaded.predict(X), model.labels_)
    with pytest.raises(RuntimeError, match="adversarial=False"):
        loaded.sample(2)


@by_method
def test_same_random_state_gives_identical_fits(cls, recorded):
    (model, _, _), X = recorded[0][cls], recorded[1]
    again = cls(3, **HEAD_ONLY).fit(X)
    np.testing.assert_array_equal(again.labels_, model.labels_)
    assert np.array_equal(again.predict_proba(X), model.predict_proba(X))
    assert timeless(again.history_) == timeless(model.history_)
    other = cls(3, **{**HEAD_ONLY, "random_state": 1}).fit(X)
    assert not np.array_equal(other.predict_proba(X), model.predict_proba(X))


@by_method
def test_images_with_the_views_and_the_vote(cls, uint8_images, tmp_path):
    model = cls(3, **HEAD_ONLY).fit(uint8_images)
    assert set(model.nets_) == {HEAD[cls]}
    assert model.readout_.n_neighbors == 5 and model.readout_.view_strength == 1.0
    np.testing.assert_array_equal(model.predict(uint8_images), model.labels_)
    model.save(tmp_path / "model.safetensors")
    loaded = ganclust.load(tmp_path / "model.safetensors")
    assert np.array_equal(loaded.predict_proba(uint8_images), model.predict_proba(uint8_images))


def test_without_pseudo_labels_or_consistency_there_is_nothing_to_train(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="adversarial=False"):
        ClusterGAN(3, **tiny(adversarial=False, recipe="published")).fit(X)
    with pytest.raises(ValueError, match="adversarial=False"):
        ClusterGAN(3, **tiny(adversarial=False, options={"init": "random", "consistency": 0})).fit(
            X
        )
    # either one is enough
    ClusterGAN(3, **tiny(adversarial=False, options={"init": "random"})).fit(X)


def test_clustergan_head_alone_separates_blobs():
    X, y = make_blobs(150, n_features=5, centers=3, random_state=0)
    model = ClusterGAN(3, adversarial=False, max_epochs=20, device="cpu", random_state=0).fit(X)
    # measured: seeds 0-4 all give 1.0, in about 5 s each
    assert clustering_accuracy(y, model.labels_) >= 0.95


def test_cli_fits_without_the_game_and_sample_says_why(tmp_path, capsys):
    X, y = make_blobs(40, n_features=3, centers=3, random_state=0)
    np.savez(tmp_path / "vectors.npz", X=X, y=y)
    out = tmp_path / "run"
    argv = ["fit", "--data", str(tmp_path / "vectors.npz"), "--n-clusters", "3"]
    argv += ["--out", str(out), "--adversarial", "false", "--max-epochs", "1", "--quiet"]
    assert main([*argv, "--option", "width=8", "--device", "cpu", "--random-state", "0"]) == 0
    # no generator, so no figure of generated samples
    files = {".ganclust-run", "model.safetensors", "labels.csv", "history.csv", "run.json"}
    assert {p.name for p in out.iterdir()} == files | {"metrics.json"}
    run = json.loads((out / "run.json").read_text())
    assert run["params"]["adversarial"] is False and run["settings"]["adversarial"] is False
    assert set(ganclust.load(out).nets_) == {"E"}
    capsys.readouterr()
    assert main(["sample", str(out), "--out", str(tmp_path / "x.npy")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganclust sample: error: ") and "adversarial=False" in err
    assert not (tmp_path / "x.npy").exists()
