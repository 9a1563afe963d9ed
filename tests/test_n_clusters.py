"""``n_clusters="auto"``: K estimated without labels, kept on the model, refused when it cannot be.

The estimator reads the first round's t-SNE map; these tests fit well-separated blobs (where the
right K is not in doubt) and check the estimate, the evidence kept with it, that "auto" at the
estimated K is exactly the fit at that K, and the messages for values it refuses.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from _model_files import rewrite_model
from conftest import tiny
from sklearn.datasets import make_blobs

import ganclust
from ganclust import ClusterGAN, InfoGAN
from ganclust._rotation_links import LINK_SHARE, rotation_links
from ganclust.augment import rotated
from ganclust.cli import main
from ganclust.n_clusters import (
    FeatureLook,
    KEstimate,
    estimate_n_clusters,
    smallest_within,
    with_links,
)
from ganclust.pseudo_labels import Manifold
from ganclust.report import _k_estimate
from ganclust.runs import k_estimate_line


def _blobs(k: int, n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    X, y = make_blobs(n, n_features=6, centers=k, cluster_std=0.6, random_state=seed)
    return X.astype(np.float32), y


def _cubes(k: int, n: int, seed: int = 0) -> np.ndarray:
    """``n`` points spread uniformly in ``k`` far-apart 6-D cubes: clusters that no Gaussian
    mixture describes, which the silhouette on the map reads."""
    rng = np.random.default_rng(seed)
    centres = 12 * np.eye(6)[:k]
    return (centres[np.arange(n) % k] + rng.uniform(-1, 1, (n, 6))).astype(np.float32)


def _map_of(points: np.ndarray) -> Manifold:
    return Manifold(np.arange(len(points)), points, is_map=True)


@pytest.mark.parametrize("k", [3, 6])
def test_the_estimate_is_the_number_of_separated_blobs_on_a_map(k):
    # islands on a circle, as a t-SNE map draws well-separated clusters
    angles = 2 * np.pi * np.arange(k) / k
    centers = 10 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    points, _ = make_blobs(600, centers=centers, cluster_std=0.8, random_state=1)
    estimate = estimate_n_clusters(_map_of(points), max_clusters=10, seed=0)
    assert estimate.n_clusters == k
    assert list(estimate.candidates) == list(range(2, 11))
    assert int(estimate.candidates[estimate.scores.argmax()]) == k
    assert np.all(estimate.errors >= 0)


def test_the_estimate_takes_the_smallest_k_within_one_standard_error():
    estimate = estimate_n_clusters(_map_of(make_blobs(400, 2, centers=4, random_state=2)[0]), 8, 0)
    best = estimate.scores.argmax()
    margin = np.sqrt(estimate.errors[best] ** 2 + estimate.errors**2)
    within = estimate.scores >= estimate.scores[best] - margin
    assert estimate.n_clusters == int(estimate.candidates[within][0])


def test_a_difference_within_the_noise_of_both_means_is_not_followed():
    candidates = np.array([9, 10, 11, 12])
    # like MNIST-10k's features (seed 0): 11 is 0.0055 above 10, with errors 0.005 and 0.003;
    # the best's error alone (0.005) would keep 11, the difference's (0.0058) does not
    scores = np.array([0.500, 0.5245, 0.530, 0.510])
    errors = np.array([0.004, 0.003, 0.005, 0.004])
    assert smallest_within(candidates, scores, errors) == 10
    # a difference beyond both errors is followed: the best is kept
    assert smallest_within(candidates, np.array([0.500, 0.515, 0.530, 0.510]), errors) == 11
    # with no error at all, the best and only the best
    assert smallest_within(candidates, scores, np.zeros(4)) == 11


@pytest.mark.slow  # two t-SNE maps of 300 samples and four tiny fits: about 20 s
@pytest.mark.parametrize("k", [3, 6])
def test_auto_finds_k_on_separated_blobs_and_is_the_fit_at_that_k(k):
    X, _ = _blobs(k)
    auto = ClusterGAN("auto", max_clusters=10, **tiny()).fit(X)
    assert auto.n_clusters_ == k == auto.settings_.n_clusters
    assert set(auto.n_clusters_scores_) == set(range(2, 11))
    assert max(auto.n_clusters_scores_, key=auto.n_clusters_scores_.get) == k
    assert auto.predict_proba(X).shape == (len(X), k)
    # the estimate shares the first round's map: the fit is the one at the K it chose
    fixed = ClusterGAN(k, max_clusters=10, **tiny()).fit(X)
    assert np.array_equal(auto.labels_, fixed.labels_)
    assert np.array_equal(auto.predict_proba(X), fixed.predict_proba(X))
    assert fixed.n_clusters_ == k and fixed.n_clusters_scores_ is None


def test_max_clusters_bounds_the_candidates():
    X, _ = _blobs(6, n=200)
    model = InfoGAN("auto", max_clusters=4, **tiny(max_epochs=1, options={"refine": 0})).fit(X)
    assert set(model.n_clusters_scores_) == {2, 3, 4}
    assert 2 <= model.n_clusters_ <= 4


def test_max_clusters_is_capped_below_the_number_of_samples():
    X, _ = _blobs(2, n=12)
    model = ClusterGAN("auto", **tiny(max_epochs=1, options={"refine": 0})).fit(X)
    # each of the estimate's partitions reads half of the 12 samples: K from 2 to 5
    assert max(model.n_clusters_scores_) == 5


@pytest.mark.parametrize(
    "value, message",
    [
        (0, "n_clusters must be >= 2; got 0"),
        (1, "n_clusters must be >= 2; got 1"),
        ("automatic", "n_clusters must be an integer or 'auto'; got 'automatic'"),
        (2.5, "n_clusters must be an integer or 'auto'; got 2.5"),
        (50, r"n_clusters=50 must be at most the number of samples \(n_samples=30\)"),
    ],
)
def test_bad_n_clusters_are_refused_by_name(value, message):
    X, _ = _blobs(3, n=30)
    with pytest.raises(ValueError, match=message):
        ClusterGAN(value, **tiny()).fit(X)


@pytest.mark.parametrize(
    "value, message",
    [(1, "max_clusters must be >= 2; got 1"), ("20", "max_clusters must be an integer")],
)
def test_bad_max_clusters_are_refused_even_with_a_given_k(value, message):
    X, _ = _blobs(3, n=30)
    for k in ("auto", 3):
        with pytest.raises(ValueError, match=message):
            ClusterGAN(k, max_clusters=value, **tiny()).fit(X)


def test_auto_needs_six_samples():
    X, _ = _blobs(2, n=5)
    with pytest.raises(ValueError, match=r'n_clusters="auto" needs at least 6 samples.*got n_samp'):
        ClusterGAN("auto", **tiny()).fit(X)


def test_the_estimate_is_saved_and_checked_on_load(tmp_path):
    X, _ = _blobs(3, n=120)
    model = ClusterGAN("auto", max_clusters=6, **tiny(max_epochs=1)).fit(X)
    model.save(tmp_path / "model.safetensors")
    loaded = ganclust.load(tmp_path / "model.safetensors")
    assert loaded.n_clusters_ == model.n_clusters_
    assert loaded.n_clusters_scores_ == model.n_clusters_scores_
    assert loaded.get_params()["n_clusters"] == "auto"
    assert np.array_equal(loaded.predict(X), model.predict(X))
    # an estimate that names another K than the networks' is not this model's
    other = 2 if model.n_clusters_ != 2 else 3

    def edit(meta, tensors):
        estimate = meta["n_clusters_estimate"]
        for part in (estimate, estimate["data_map"], estimate["features"]):
            if part is not None:  # the BIC of a mixture that describes the blobs takes no second
                part["n_clusters"] = other

    bad = rewrite_model(tmp_path / "model.safetensors", tmp_path / "bad.safetensors", edit)
    with pytest.raises(ValueError, match=f"n_clusters_estimate says K={other}"):
        ganclust.load(bad)


def test_an_estimate_round_trips_through_json_and_refuses_bad_json():
    estimate = KEstimate(3, np.array([2, 3, 4]), np.array([0.5, 0.8, 0.6]), np.zeros(3))
    again = KEstimate.from_json(json.loads(json.dumps(estimate.to_json())))
    assert again.n_clusters == 3 and again.score_of_k() == {2: 0.5, 3: 0.8, 4: 0.6}
    second = KEstimate(4, np.array([2, 3, 4]), np.array([0.5, 0.6, 0.7]), np.zeros(3))
    both = KEstimate.from_json(json.loads(json.dumps(replace(estimate, features=second).to_json())))
    assert both.n_clusters == 3 and both.chosen == 4 and both.score_of_k()[4] == 0.7
    with pytest.raises(ValueError, match="must be its last look's"):
        KEstimate.from_json(estimate.to_json() | {"n_clusters": 4})
    look = estimate.to_json()["data_map"] | {"n_clusters": 7}
    with pytest.raises(ValueError, match="include its estimate"):
        KEstimate.from_json(estimate.to_json() | {"data_map": look, "n_clusters": 7})


def test_the_cli_takes_auto_and_says_what_it_chose(tmp_path, capsys):
    X, y = _cubes(3, n=90), np.arange(90) % 3  # read by the silhouette: both looks are taken
    np.savez(tmp_path / "blobs.npz", X=X, y=y)
    out = tmp_path / "run"
    argv = ["fit", "--data", str(tmp_path / "blobs.npz"), "--n-clusters", "auto"]
    argv += ["--max-clusters", "6", "--out", str(out), "--max-epochs", "1", "--device", "cpu"]
    assert main([*argv, "--option", "width=8", "--option", "refine=0"]) == 0
    printed = capsys.readouterr().out
    run = json.loads((out / "run.json").read_text())
    k = run["n_clusters"]
    assert run["n_clusters_estimate"]["n_clusters"] == k
    assert run["n_clusters_estimate"]["data_map"]["candidates"] == [2, 3, 4, 5, 6]
    assert run["n_clusters_estimate"]["features"]["n_clusters"] == k
    assert f"n_clusters=auto chose K={k} of 2..6" in printed
    assert len(run["cluster_sizes"]) == k


def test_a_second_look_naming_another_k_starts_again_at_it(monkeypatch, tmp_path):
    X = _cubes(3, n=120)
    looked = []

    def look(self, nets):  # the learned features, as if they pointed to 4 clusters
        looked.append(nets)
        self.look = KEstimate(4, np.arange(2, 7), np.linspace(0.1, 0.5, 5), np.zeros(5))
        return 4

    monkeypatch.setattr(FeatureLook, "__call__", look)
    folder = tmp_path / "ckpt"
    auto = ClusterGAN("auto", max_clusters=6, **tiny(max_epochs=1)).fit(X, checkpoint_dir=folder)
    assert auto.state_.n_clusters_estimate.gaussian["describes"] is False
    assert len(looked) == 1  # once, after the first round of the fit at the first look's K
    assert auto.n_clusters_ == 4 and auto.state_.n_clusters_estimate.chosen == 4
    assert auto.n_clusters_scores_[6] == 0.5
    assert not folder.exists()  # the abandoned fit's checkpoint is gone, and so is the folder
    fixed = ClusterGAN(4, max_clusters=6, **tiny(max_epochs=1)).fit(X)
    assert np.array_equal(auto.labels_, fixed.labels_)
    assert auto.phase_seconds_["n_clusters"] > 0


def _bars(degrees: float, n: int) -> torch.Tensor:
    """``n`` 17x17 images of a bar through the centre, tilted ``degrees`` counter-clockwise."""
    upright = -torch.ones(n, 1, 17, 17)
    upright[:, :, 2:15, 8] = 1.0
    return rotated(upright, degrees)


def _by_tilt(spec, nets, x):
    """A stand-in clustering head: 1 for bars tilted over 13 degrees counter-clockwise, 0 for
    other bars, 2 for what is not a bar."""
    weight = x.flatten(1) + 1
    rows, cols = torch.meshgrid(torch.arange(17.0), torch.arange(17.0), indexing="ij")
    r, c = rows.flatten(), cols.flatten()

    def mean(v):
        return (weight * v).sum(1) / weight.sum(1)

    dr, dc = r - mean(r)[:, None], c - mean(c)[:, None]
    var_r, var_c, cov = mean(dr**2), mean(dc**2), mean(dr * dc)
    # the main axis' tilt from vertical (positive: its top leans left), and how elongated it is
    tilt = torch.rad2deg(0.5 * torch.atan2(2 * cov, var_r - var_c))
    long = (var_r + var_c) < 1.5 * torch.sqrt((var_r - var_c) ** 2 + 4 * cov**2).clamp_min(1e-6)
    cluster = torch.where(long, (tilt > 13).long(), 2)
    return torch.nn.functional.one_hot(cluster, 3).float()


def test_the_rotation_test_links_two_tilts_of_one_bar_and_not_a_blob(monkeypatch):
    monkeypatch.setattr("ganclust.inference.cluster_logits", _by_tilt)
    blob = -torch.ones(40, 1, 17, 17)
    blob[:, :, 5:12, 5:12] = 1.0
    images = torch.cat([_bars(0, 40), _bars(26, 40), blob])
    links = rotation_links("clustergan", torch.nn.Linear(1, 1), images, seed=0)
    # +20 degrees takes every upright bar to the tilted cluster, -20 every tilted bar upright:
    # each cluster sends half its members (over the two rotations) to the other
    assert links[0, 1] == links[1, 0] == pytest.approx(0.5)
    assert links[0, 2] == links[1, 2] == links[2, 2] == 0.0
    look = KEstimate(3, np.arange(2, 6), np.array([0.3, 0.5, 0.4, 0.2]), np.zeros(4))
    joined = with_links(look, links)
    assert joined.n_clusters == 2 and joined.linked == ((0, 1, 0.5),)
    # vectors have no rotation: no test
    assert rotation_links("clustergan", torch.nn.Linear(1, 1), torch.zeros(9, 4), 0) is None


def test_linked_clusters_lower_k_by_the_clusters_joined_and_never_raise_it():
    look = KEstimate(5, np.arange(2, 8), np.linspace(0.2, 0.7, 6), np.zeros(6))
    links = np.zeros((6, 6))  # the first round's six clusters
    assert with_links(look, links) == look  # nothing linked: the silhouette's 5 stands
    links[0, 1] = links[1, 0] = 0.3
    links[1, 2] = links[2, 1] = 0.26  # a chain: 0, 1 and 2 are one class
    links[3, 4] = links[4, 3] = LINK_SHARE  # at the threshold is not above it
    joined = with_links(look, links)
    assert joined.n_clusters == 4 and joined.linked == ((0, 1, 0.3), (1, 2, 0.26))
    # the silhouette's look, where lower, stands
    assert with_links(replace(look, n_clusters=3), links).n_clusters == 3
    again = KEstimate.from_json(json.loads(json.dumps(replace(look, features=joined).to_json())))
    assert again.features.linked == joined.linked and again.chosen == 4
    bad = replace(look, features=joined).to_json()
    bad["features"]["linked"] = [[0, "1", 0.3]]
    with pytest.raises(ValueError, match=r"linked must be a list of \[cluster, cluster, share\]"):
        KEstimate.from_json(bad)


# ------------------------------------------------------------ vectors: the Gaussian look


def _two_close_and_one_far(n_each: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three unit 10-D Gaussians: two 3.5 apart (0.96 of their samples on the right side of the
    Bayes boundary) and one 30 away, which the silhouette prefers to read as two clusters."""
    rng = np.random.default_rng(seed)
    means = np.zeros((3, 10))
    means[1, 0], means[2, 1] = 3.5, 30.0
    y = np.repeat(np.arange(3), n_each)
    return (means[y] + rng.normal(size=(len(y), 10))).astype(np.float32), y


@pytest.mark.slow  # a t-SNE map of 900 samples, the mixtures and one tiny fit: about 15 s
def test_a_mixture_that_describes_the_vectors_decides_k_where_the_silhouette_joins_two():
    X, _ = _two_close_and_one_far()
    model = ClusterGAN("auto", max_clusters=8, **tiny(max_epochs=1, options={"refine": 0}))
    model.fit(X)
    estimate = model.state_.n_clusters_estimate
    assert model.n_clusters_ == 3 and estimate.measure == "bic"
    assert estimate.gaussian["describes"] and 0.7 < estimate.gaussian["spread"] < 1.3
    assert estimate.features is None, "the BIC's K took a second look"
    assert max(model.n_clusters_scores_, key=model.n_clusters_scores_.get) == 3
    # the silhouette on the data's map, which the fit's first round reads, would say 2
    view = ganclust.pseudo_labels.manifold(torch.from_numpy(X), "tsne", model.settings_.seed)
    assert estimate_n_clusters(view, 8, 0).n_clusters == 2


def test_the_mahalanobis_spread_tells_gaussian_clusters_from_others():
    from sklearn.mixture import GaussianMixture

    from ganclust._gaussian_look import mahalanobis_spread

    rng = np.random.default_rng(0)
    shapes = {
        "gaussian": rng.normal(size=(2000, 8)),
        "uniform": rng.uniform(-1, 1, (2000, 8)),  # lighter tails: 0.4 of a Gaussian's spread
        "heavy": rng.standard_t(3, size=(2000, 8)),  # heavier tails
    }
    spread = {
        name: mahalanobis_spread(GaussianMixture(1, covariance_type="diag").fit(x), x)
        for name, x in shapes.items()
    }
    assert abs(spread["gaussian"] - 1) < 0.15
    assert spread["uniform"] < 0.7 and spread["heavy"] > 1.3


def test_the_gaussian_look_needs_enough_samples_for_every_candidate():
    from ganclust._gaussian_look import MIN_MEMBERS, gaussian_look

    X, _ = _two_close_and_one_far(n_each=30)  # 90 samples: K up to 4 of MIN_MEMBERS each
    assert MIN_MEMBERS == 20
    look = gaussian_look(torch.from_numpy(X), 8, seed=0)
    assert list(look.candidates) == [2, 3, 4]
    assert list(gaussian_look(torch.from_numpy(X), 3, seed=0).candidates) == [2, 3]
    assert gaussian_look(torch.from_numpy(X[:59]), 8, seed=0) is None  # K = 2 alone


def test_uniform_cubes_are_read_by_the_silhouette_with_the_mixture_as_evidence():
    X = torch.from_numpy(_cubes(3, 600))
    params = ClusterGAN("auto", max_clusters=6, random_state=0).get_params()
    params, _, estimate = ganclust.n_clusters.decide_k(params, "clustergan", X)
    assert estimate.measure == "silhouette" and not estimate.settled
    assert estimate.gaussian["describes"] is False and estimate.gaussian["spread"] < 0.7
    assert estimate.n_clusters == 3 == params["n_clusters"]
    spread = f"{estimate.gaussian['spread']:.2f}"
    assert f"no Gaussian mixture describes the vectors (spread {spread})" in k_estimate_line(
        estimate.to_json()
    )


def test_a_bic_estimate_round_trips_through_json_and_bad_evidence_is_refused():
    from ganclust._gaussian_look import GaussianFit

    fit = GaussianFit("full", 3, 1.02, np.arange(2, 6), np.array([4.0, 3.0, 3.1, 3.2]))
    estimate = ganclust.n_clusters.bic_estimate(fit)
    again = KEstimate.from_json(json.loads(json.dumps(estimate.to_json())))
    assert again.settled and again.chosen == 3 and again.score_of_k()[3] == -3.0
    assert again.gaussian == {"covariance": "full", "n_clusters": 3, "spread": 1.02,
                              "describes": True}  # fmt: skip
    line = k_estimate_line(estimate.to_json())
    assert "chose K=3 of 2..5: Gaussian mixture K=3 (-BIC per sample 3: -3.000, 4: -3.100)" in line
    html = _k_estimate(estimate.to_json())
    assert "spread 1.02 of a Gaussian&#x27;s) describes the data: its BIC decides K" in html
    assert "minus the BIC per sample" in html and "3 (its estimate)" in html
    for field, value, message in [
        ("measure", "likelihood", "measure must be one of"),
        ("gaussian", {"covariance": "tied"}, "gaussian must be what a Gaussian look writes"),
    ]:
        bad = estimate.to_json()
        bad["data_map"][field] = value
        with pytest.raises(ValueError, match=message):
            KEstimate.from_json(bad)


def test_the_gaussian_look_reads_vectors_left_on_disk(tmp_path):
    X, _ = _two_close_and_one_far()
    np.save(tmp_path / "x.npy", X)
    on_disk = np.load(tmp_path / "x.npy", mmap_mode="r")  # read in batches, never whole
    model = ClusterGAN("auto", max_clusters=6, **tiny(max_epochs=1, options={"refine": 0}))
    estimate = model.fit(on_disk).state_.n_clusters_estimate
    assert estimate.measure == "bic" and model.n_clusters_ == 3
