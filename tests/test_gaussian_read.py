"""``init="auto"``: on vectors that a K-component Gaussian mixture describes, the mixture's
components are the first pseudo-labels; everywhere else the t-SNE map's read-out is."""

from __future__ import annotations

import numpy as np
import torch
from conftest import tiny

import ganclust._gaussian_look as gaussian_look
import ganclust.pseudo_labels as pseudo
from ganclust import ClusterGAN, evaluate
from ganclust.preprocess import Preprocessor
from ganclust.rows import Rows


def _overlapping(n_each: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four unit 10-D Gaussians on a square of side 4.5: neighbours overlap (the Bayes rule
    gets about 0.975 of the samples right)."""
    rng = np.random.default_rng(seed)
    means = np.zeros((4, 10))
    means[1, 0] = means[3, 0] = means[2, 1] = means[3, 1] = 4.5
    y = np.repeat(np.arange(4), n_each)
    return (means[y] + rng.normal(size=(len(y), 10))).astype(np.float32), y


def _cubes(n: int = 600) -> np.ndarray:
    """Three far-apart 6-D cubes of uniform points: clusters no Gaussian mixture describes."""
    rng = np.random.default_rng(0)
    centres = 12 * np.eye(6)[:3]
    return (centres[np.arange(n) % 3] + rng.uniform(-1, 1, (n, 6))).astype(np.float32)


def _no_map(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the t-SNE map was drawn")

    monkeypatch.setattr(pseudo, "embed", refuse)


def test_a_mixture_that_describes_the_vectors_gives_the_first_labels(monkeypatch):
    from sklearn.mixture import GaussianMixture

    X, y = _overlapping()
    _no_map(monkeypatch)
    labels = pseudo.pseudo_labels(torch.from_numpy(X), 4, "auto", seed=0).numpy()
    assert (labels >= 0).all(), "every sample is labelled"
    assert evaluate(y, labels)["acc"] >= 0.95
    # the same partition as a mixture fitted directly (up to the component order)
    direct = GaussianMixture(4, covariance_type="diag", n_init=10, random_state=0).fit(X)
    assert evaluate(direct.predict(X), labels)["acc"] >= 0.99


def test_vectors_no_mixture_describes_and_images_are_read_on_the_map():
    cubes = torch.from_numpy(_cubes())
    assert gaussian_look.gaussian_read(cubes, 3, seed=0) is None
    auto = pseudo.pseudo_labels(cubes, 3, "auto", seed=0)
    assert torch.equal(auto, pseudo.pseudo_labels(cubes, 3, "tsne", seed=0))
    # images never take the mixture, even where their pixels are Gaussian
    X, _ = _overlapping(100)
    images = torch.from_numpy(X[:, :9].reshape(-1, 1, 3, 3))
    assert torch.equal(
        pseudo.pseudo_labels(images, 4, "auto", seed=0),
        pseudo.pseudo_labels(images, 4, "tsne", seed=0),
    )
    # "tsne" asked for by name always draws the map
    gaussian = torch.from_numpy(_overlapping()[0])
    assert not torch.equal(
        pseudo.pseudo_labels(gaussian, 4, "tsne", seed=0),
        pseudo.pseudo_labels(gaussian, 4, "auto", seed=0),
    )


def test_too_few_samples_for_k_components_fall_back_to_the_map():
    X, _ = _overlapping(n_each=75)  # 300 samples: MIN_MEMBERS (20) a component for up to 15
    assert gaussian_look.gaussian_read(torch.from_numpy(X), 4, seed=0) is not None
    assert gaussian_look.gaussian_read(torch.from_numpy(X), 16, seed=0) is None


def test_vectors_on_disk_are_read_in_chunks_to_the_same_labels(tmp_path, monkeypatch):
    X, _ = _overlapping()
    path = tmp_path / "x.npy"
    np.save(path, X)
    pre = Preprocessor.fit(X, "float32")
    in_memory = gaussian_look.gaussian_read(pre.to_tensor(X), 4, seed=0)
    monkeypatch.setattr(gaussian_look, "READ_CHUNK", 250)  # 1,200 rows: five chunks
    on_disk = gaussian_look.gaussian_read(Rows(np.load(path, mmap_mode="r"), pre), 4, seed=0)
    assert in_memory is not None and np.array_equal(in_memory, on_disk)


def test_a_default_fit_of_overlapping_gaussians_learns_the_mixtures_partition(monkeypatch):
    X, y = _overlapping()
    _no_map(monkeypatch)  # the first round reads no map (the refinement, off here, would)
    model = ClusterGAN(4, **tiny(max_epochs=10, options={"refine": 0})).fit(X)
    assert model.settings_.init == "auto"
    assert evaluate(y, model.labels_)["acc"] >= 0.95
    assert evaluate(y, model.predict(X + 0.01))["acc"] >= 0.95


def test_n_clusters_auto_draws_no_map_where_a_mixture_describes_the_vectors(monkeypatch):
    X, y = _overlapping()
    _no_map(monkeypatch)  # neither the look for K nor the first round reads a map
    model = ClusterGAN("auto", max_clusters=6, **tiny(max_epochs=3, options={"refine": 0}))
    model.fit(X)
    assert model.n_clusters_ == 4 and model.state_.n_clusters_estimate.measure == "bic"
    assert evaluate(y, model.labels_)["acc"] >= 0.9
