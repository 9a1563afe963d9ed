"""The refinement's consensus read-out seen from the fitted model: cluster_quality_, its warning,
and the weights each refinement round keeps."""

import warnings

import numpy as np
import pytest
import torch
from conftest import tiny
from sklearn.datasets import make_blobs

import ganclust
from ganclust import ClusterGAN, ClusterQualityWarning
from ganclust._fit import LOW_QUALITY, cluster_quality


def test_cluster_quality_is_how_far_the_maps_agree_with_the_run():
    # four samples, three clusters; the run puts samples 0-1 in cluster 0 and 2-3 in cluster 1
    proba = torch.tensor([[0.9, 0.1, 0.0], [0.6, 0.4, 0.0], [0.2, 0.7, 0.1], [0.0, 1.0, 0.0]])
    votes = torch.tensor([[1.0, 0.0, 0.0], [0.8, 0.2, 0.0], [0.0, 0.6, 0.4], [0.0, 1.0, 0.0]])
    quality = cluster_quality(votes, proba)
    np.testing.assert_allclose(quality[:2], [0.9, 0.8])
    assert np.isnan(quality[2])  # an empty cluster is not measured
    assert np.isnan(cluster_quality(None, proba)).all()  # nor is a fit without refinement


def _blobs(n=240, seed=0):
    X, _ = make_blobs(n, n_features=6, centers=3, cluster_std=0.5, random_state=seed)
    return X.astype(np.float32)


@pytest.mark.slow
def test_a_fit_reports_the_quality_of_each_cluster_and_keeps_it_when_saved(tmp_path):
    X = _blobs()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClusterQualityWarning)
        model = ClusterGAN(3, **tiny(max_epochs=3)).fit(X)
    # three well-separated blobs: the maps agree with the run on (nearly) every sample
    assert model.cluster_quality_.shape == (3,)
    assert (model.cluster_quality_ > 0.9).all() and (model.cluster_quality_ <= 1).all()
    model.save(tmp_path / "m.safetensors")
    loaded = ganclust.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(loaded.cluster_quality_, model.cluster_quality_)
    # without refinement there are no maps to ask: NaN, and no warning
    plain = ClusterGAN(3, **tiny(options={"refine": 0})).fit(X)
    assert np.isnan(plain.cluster_quality_).all()


def test_a_low_quality_cluster_is_named_in_a_warning(monkeypatch):
    import ganclust._fit as fit_module

    # the maps disagree on internal cluster 1
    fake = np.array([1.0, LOW_QUALITY - 0.25, 0.98])
    monkeypatch.setattr(fit_module, "cluster_quality", lambda votes, proba: fake.copy())
    with pytest.warns(ClusterQualityWarning) as caught:
        model = ClusterGAN(3, **tiny()).fit(_blobs(90))
    public = int(np.flatnonzero(model.cluster_order_ == 1)[0])
    assert model.cluster_quality_[public] == pytest.approx(LOW_QUALITY - 0.25)
    message = str(caught[0].message)
    assert f"cluster(s) {public} ({LOW_QUALITY - 0.25:.2f})" in message
    assert "merged" in message and "cluster_quality_" in message


def test_every_round_keeps_the_moving_average_of_its_weights(monkeypatch):
    import ganclust._fit as fit_module

    returned, trained = [], []

    def recording(*args, **kwargs):
        result = original(*args, **kwargs)
        returned.append(result)
        trained.append(kwargs["nets"])  # the weights a round starts from and trains in place
        return result

    original = fit_module.train
    monkeypatch.setattr(fit_module, "train", recording)
    model = ClusterGAN(3, **tiny(options={"ema": 0.9})).fit(_blobs(90))
    # each initialisation: the first round, then one refinement round
    assert len(returned) % 2 == 0 and all(nets is None for nets in trained[::2])
    refinements = range(1, len(returned), 2)
    # what the model keeps is a refinement round's averaged copy, not the weights it trained
    assert any(model.nets_ is returned[i].nets for i in refinements)
    assert not any(model.nets_ is trained[i] for i in refinements)


def test_n_init_prefers_the_run_its_maps_agree_with_over_a_more_stable_one():
    from ganclust._fit import Run, _rank

    def run(index, score, quality, collapsed=False):
        return Run(index, score, collapsed, None, None, {}, np.array(quality, dtype=float))

    merged = run(0, score=2.06, quality=[0.99, 0.55, 0.98])  # stable, but the maps disagree
    good = run(1, score=2.00, quality=[0.99, 0.97, 0.98])
    assert max([merged, good], key=_rank) is good
    # a collapsed run loses whatever its quality; without refinement the score decides
    assert max([run(0, 2.1, [1, 1, 1], collapsed=True), good], key=_rank) is good
    unmeasured = [run(0, 2.0, [np.nan] * 3), run(1, 2.1, [np.nan] * 3)]
    assert max(unmeasured, key=_rank).index == 1
