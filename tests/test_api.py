"""The estimators' public API: fitting, read-out, sampling, saving, stopping and metrics.

Also covers what the four sklearn checks xfailed in test_sklearn_checks.py verify (they set
n_clusters=1): subset and order invariance, 1-D input at predict, one feature, and fit adding
no public attribute without a trailing underscore.
"""

import json
import struct
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch
from conftest import METHODS, TINY, by_method, timeless, tiny
from safetensors import safe_open
from sklearn.datasets import load_digits, make_blobs

import ganclust
import ganclust._fit
from ganclust import (
    CatGAN,
    ClusterCollapseWarning,
    ClusterGAN,
    clustering_accuracy,
    evaluate,
    purity,
)
from ganclust._settings import run_seeds
from ganclust.readout import freeze

WIDTH = TINY["options"]["width"]


def _data(kind):
    rng = np.random.RandomState(3)
    if kind == "vectors":
        return make_blobs(50, n_features=6, centers=3, random_state=0)[0]
    if kind == "uint8 HxW":
        return rng.randint(0, 256, size=(40, 8, 8)).astype(np.uint8)
    if kind == "float32 HxW":
        return rng.rand(40, 8, 8).astype(np.float32)
    if kind == "float CxHxW":
        return rng.rand(30, 3, 16, 16)
    if kind == "uint8 CxHxW":
        return rng.randint(0, 256, size=(30, 3, 16, 16)).astype(np.uint8)
    raise AssertionError(kind)


KINDS = ["vectors", "uint8 HxW", "float32 HxW", "float CxHxW", "uint8 CxHxW"]


@pytest.fixture(scope="module", params=METHODS, ids=lambda c: c.__name__)
def fitted(request, blobs):
    """A tiny fit of each method on 60 vectors."""
    X, _ = blobs
    return request.param(3, **TINY).fit(X), X


@pytest.fixture(
    scope="module",
    params=[(cls, data) for cls in METHODS for data in ("vectors", "images")],
    ids=lambda p: f"{p[0].__name__}-{p[1]}",
)
def fitted_both(request, blobs, uint8_images):
    """A tiny fit of each method on 60 vectors and on 40 uint8 8x8 images."""
    cls, data = request.param
    X = blobs[0] if data == "vectors" else uint8_images
    return cls(3, **TINY).fit(X), X


@pytest.fixture(scope="module")
def blobs_2d():
    return make_blobs(300, n_features=2, centers=3, cluster_std=0.5, random_state=0)


@pytest.fixture(scope="module", params=METHODS, ids=lambda c: c.__name__)
def trained(request, blobs_2d):
    """Each method trained long enough on 3 blobs that its generator produces every cluster
    (CatGAN's draw-and-keep sampling needs that)."""
    X, _ = blobs_2d
    params = tiny(options={"width": 32}, max_epochs=20)
    return request.param(3, **params).fit(X), X


# ---------------------------------------------------------------- fit, predict, transform
def test_fit_returns_self_and_labels(fitted):
    model, X = fitted
    again = type(model)(3, **TINY)
    assert again.fit(X) is again
    labels = model.labels_
    assert labels.shape == (len(X),)
    assert labels.dtype == np.int64
    assert labels.min() >= 0 and labels.max() < 3
    np.testing.assert_array_equal(labels, model.predict(X))
    assert model.n_features_in_ == X.shape[1]
    assert model.cluster_sizes_.sum() == len(X)
    np.testing.assert_array_equal(model.cluster_sizes_, np.bincount(labels, minlength=3))
    # clusters are numbered by size: 0 is the largest
    assert np.all(np.diff(model.cluster_sizes_) <= 0)


def test_fit_predict_equals_labels_of_a_separate_fit(fitted):
    model, X = fitted
    labels = type(model)(3, **TINY).fit_predict(X)
    np.testing.assert_array_equal(labels, model.labels_)


def test_predict_proba(fitted):
    model, X = fitted
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 3)
    assert np.all(proba >= 0)
    assert np.allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(X), proba.argmax(axis=1))


def test_transform_shape(fitted_both):
    model, X = fitted_both
    out = model.transform(X)
    if isinstance(model, ClusterGAN):
        expected = TINY["latent_dim"] + 3  # E's noise part, then the K cluster probabilities
    else:
        # the discriminator trunk's features: width units (mlp) or 4 * width (conv)
        expected = WIDTH if X.ndim == 2 else 4 * WIDTH
    assert out.shape == (len(X), expected)
    assert out.dtype == np.float32
    assert np.all(np.isfinite(out))


def test_clustergan_transform_probabilities_match_predict_proba(blobs):
    X, _ = blobs
    # random_state=2 gives a model whose public order differs from its internal one
    model = ClusterGAN(3, **tiny(random_state=2)).fit(X)
    assert not np.array_equal(model.cluster_order_, np.arange(3))
    # float32 softmax on two code paths: equal up to rounding
    np.testing.assert_allclose(
        model.transform(X)[:, TINY["latent_dim"] :], model.predict_proba(X), rtol=1e-5
    )


@by_method
@pytest.mark.parametrize("kind", KINDS)
def test_input_formats_and_sample_format(cls, kind):
    X = _data(kind)
    model = cls(3, **TINY).fit(X)
    assert model.predict(X).shape == (len(X),)
    assert model.predict_proba(X).shape == (len(X), 3)
    assert model.transform(X).shape[0] == len(X)
    # CatGAN draws until the model's read-out gives the cluster, which a 2-epoch model may
    # never do for some cluster; its cluster=k sampling is tested on a trained model below
    cluster = None if cls is CatGAN else 1
    samples, clusters = model.sample(7, cluster=cluster, random_state=0)
    assert samples.shape == (7, *X.shape[1:])
    if X.dtype == np.uint8:
        assert samples.dtype == np.uint8
    else:
        assert samples.dtype.kind == "f"
    if X.ndim > 2 and X.dtype != np.uint8:
        # images come back in the training data's intensity range
        assert samples.min() >= X.min() - 1e-6 and samples.max() <= X.max() + 1e-6
    assert clusters.shape == (7,)
    if cluster is not None:
        assert np.all(clusters == cluster)
    assert np.all((clusters >= 0) & (clusters < 3))


@pytest.mark.parametrize("shape", [(8, 8), (16, 16), (28, 28), (10, 12)])
def test_image_sizes(shape):
    X = np.random.RandomState(0).rand(20, *shape)
    model = ClusterGAN(3, **TINY).fit(X)
    assert model.settings_.nets.backbone == "conv"
    assert model.predict(X).shape == (20,)
    assert model.transform(X).shape == (20, TINY["latent_dim"] + 3)
    samples, _ = model.sample(3, cluster=2, random_state=0)
    assert samples.shape == (3, *shape)


# ---------------------------------------------------------------- sampling
def test_sample_clusters(trained):
    model, X = trained
    samples, clusters = model.sample(60, random_state=0)
    assert samples.shape == (60, X.shape[1])
    assert clusters.shape == (60,)
    assert clusters.dtype.kind in "iu"
    assert np.all((clusters >= 0) & (clusters < 3))
    for k in range(3):
        samples, clusters = model.sample(5, cluster=k, random_state=1)
        assert samples.shape == (5, X.shape[1])
        np.testing.assert_array_equal(clusters, np.full(5, k))
    wanted = np.array([2, 0, 1, 1, 0, 2])
    samples, clusters = model.sample(6, cluster=wanted, random_state=2)
    assert samples.shape == (6, X.shape[1])
    np.testing.assert_array_equal(clusters, wanted)


def test_sample_is_seeded(trained):
    model, _ = trained
    a = model.sample(10, cluster=1, random_state=5)
    b = model.sample(10, cluster=1, random_state=5)
    c = model.sample(10, cluster=1, random_state=6)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    d = model.sample(10, random_state=np.random.RandomState(5))
    e = model.sample(10, random_state=np.random.RandomState(5))
    np.testing.assert_array_equal(d[0], e[0])


def test_catgan_sample_of_cluster_is_assigned_to_that_cluster(blobs_2d):
    X, _ = blobs_2d
    model = CatGAN(3, **tiny(options={"width": 32}, max_epochs=20)).fit(X)
    for k in range(3):
        samples, clusters = model.sample(15, cluster=k, random_state=k)
        np.testing.assert_array_equal(clusters, np.full(15, k))
        np.testing.assert_array_equal(model.predict(samples), np.full(15, k))
    wanted = np.arange(12) % 3
    samples, clusters = model.sample(12, cluster=wanted, random_state=0)
    np.testing.assert_array_equal(model.predict(samples), wanted)
    # unconditional draws are labelled by the same read-out
    samples, clusters = model.sample(50, random_state=0)
    np.testing.assert_array_equal(model.predict(samples), clusters)


def test_catgan_sample_of_a_cluster_never_generated_raises():
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.randn(10, 2) * 0.01, rng.randn(10, 2) * 0.01 + 5])
    model = CatGAN(8, **tiny(max_epochs=1)).fit(X)
    _, clusters = model.sample(2000, random_state=0)
    never = sorted(set(range(8)) - set(clusters.tolist()))
    assert never, "expected this collapsed model never to generate some cluster"
    with pytest.raises(RuntimeError, match=rf"rarely produces cluster\(s\) .*{never[-1]}"):
        model.sample(3, cluster=never[-1], random_state=0)


# ---------------------------------------------------------------- reproducibility
@by_method
def test_same_random_state_gives_identical_fits(cls, uint8_images):
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()  # noqa: NPY002
    a = cls(3, **TINY).fit(uint8_images)
    b = cls(3, **TINY).fit(uint8_images)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert np.array_equal(a.predict_proba(uint8_images), b.predict_proba(uint8_images))
    assert timeless(a.history_) == timeless(b.history_)
    # fitting leaves the global random generators alone
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state[1])  # noqa: NPY002
    c = cls(3, **tiny(random_state=1)).fit(uint8_images)
    assert not np.array_equal(a.predict_proba(uint8_images), c.predict_proba(uint8_images))


def test_same_random_state_gives_identical_fits_across_processes(tmp_path, uint8_images):
    data, out = tmp_path / "X.npy", tmp_path / "out.npz"
    np.save(data, uint8_images)
    # results depend on the thread count (summation order), so the child uses the same
    code = textwrap.dedent(
        f"""
        import sys, warnings
        import numpy as np, torch
        torch.set_num_threads({torch.get_num_threads()})
        warnings.simplefilter("ignore")
        from ganclust import CatGAN, ClusterGAN, InfoGAN
        X = np.load(sys.argv[1])
        result = {{}}
        for cls in (ClusterGAN, InfoGAN, CatGAN):
            model = cls(3, **{TINY!r}).fit(X)
            result[cls.__name__ + "_labels"] = model.labels_
            result[cls.__name__ + "_proba"] = model.predict_proba(X)
        np.savez(sys.argv[2], **result)
        """
    )
    subprocess.run(
        [sys.executable, "-c", code, str(data), str(out)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    with np.load(out) as child:
        for cls in METHODS:
            model = cls(3, **TINY).fit(uint8_images)
            np.testing.assert_array_equal(child[cls.__name__ + "_labels"], model.labels_)
            assert np.array_equal(child[cls.__name__ + "_proba"], model.predict_proba(uint8_images))


# ---------------------------------------------------------------- save and load
def _read_safetensors_header(path):
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    end = max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
    return raw, size, header, end


def test_save_load_roundtrip(fitted_both, tmp_path):
    model, X = fitted_both
    path = tmp_path / "model.safetensors"
    model.save(path)
    loaded = ganclust.load(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert np.array_equal(loaded.transform(X), model.transform(X))
    np.testing.assert_array_equal(loaded.labels_, model.labels_)
    np.testing.assert_array_equal(loaded.cluster_sizes_, model.cluster_sizes_)
    assert loaded.n_iter_ == model.n_iter_
    assert loaded.history_ == model.history_
    assert loaded.n_features_in_ == model.n_features_in_
    assert loaded.settings_ == model.settings_
    assert loaded.readout_.n_neighbors == model.readout_.n_neighbors
    assert loaded.readout_.view_strength == model.readout_.view_strength
    np.testing.assert_array_equal(loaded.cluster_order_, model.cluster_order_)
    np.testing.assert_array_equal(loaded.init_scores_, model.init_scores_)
    np.testing.assert_array_equal(loaded.init_collapsed_, model.init_collapsed_)
    assert (loaded.best_init_, loaded.n_restarts_) == (model.best_init_, model.n_restarts_)
    assert loaded.stopped_early_ == model.stopped_early_
    assert loaded.phase_seconds_ == model.phase_seconds_
    np.testing.assert_array_equal(loaded.cluster_quality_, model.cluster_quality_)
    a, b = model.sample(8, random_state=3), loaded.sample(8, random_state=3)
    assert np.array_equal(a[0], b[0]) and a[0].dtype == b[0].dtype
    np.testing.assert_array_equal(a[1], b[1])
    if not isinstance(model, CatGAN):
        a, b = (
            model.sample(4, cluster=2, random_state=3),
            loaded.sample(4, cluster=2, random_state=3),
        )
        assert np.array_equal(a[0], b[0])

    # the file is plain safetensors: weights plus JSON metadata, nothing pickled
    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata()
        keys = list(handle.keys())
    assert set(meta) == {"ganclust"}
    info = json.loads(meta["ganclust"])
    assert info["format"] == "ganclust-model" and info["format_version"] == 2
    assert info["ganclust_version"] == ganclust.__version__
    assert info["estimator"] == model._method_name
    assert set(info) == {
        "format", "format_version", "ganclust_version", "estimator", "params", "settings",
        "preprocessing", "readout", "cluster_sizes", "history", "init_scores", "init_collapsed",
        "best_init", "n_restarts", "stopped_early", "n_features_in", "phase_seconds",
        "cluster_quality",
    }  # fmt: skip
    assert set(info["readout"]) == {"view_strength", "n_neighbors", "cluster_order"}
    assert info["params"] == model.get_params()
    assert info["settings"] == model.settings_.to_json()
    assert "labels" in keys and any(k.startswith("nets.") for k in keys)
    assert any(k.startswith("pre.") for k in keys)
    assert {k.split(".")[0] for k in keys} <= {"nets", "pre", "labels", "vote"}
    assert any(k.startswith("vote.") for k in keys) == (model.readout_.vote is not None)
    raw, size, header, end = _read_safetensors_header(path)
    assert len(raw) == 8 + size + end  # nothing beyond the header and the tensors' bytes
    assert header["__metadata__"]["ganclust"] == meta["ganclust"]


# ---------------------------------------------------------------- sklearn-check coverage
def test_subset_and_order_invariance(fitted):
    model, X = fitted
    labels, proba = model.predict(X), model.predict_proba(X)
    np.testing.assert_array_equal(model.predict(X[:10]), labels[:10])
    np.testing.assert_allclose(model.predict_proba(X[:10]), proba[:10], rtol=0, atol=1e-6)
    np.testing.assert_allclose(model.transform(X[:10]), model.transform(X)[:10], atol=1e-5)
    order = np.random.RandomState(0).permutation(len(X))
    np.testing.assert_array_equal(model.predict(X[order]), labels[order])
    np.testing.assert_allclose(model.predict_proba(X[order]), proba[order], rtol=0, atol=1e-6)


@by_method
def test_fit_on_one_feature(cls):
    X = np.random.RandomState(0).randn(30, 1)
    model = cls(3, **TINY).fit(X)
    assert model.labels_.shape == (30,)
    assert model.predict(X[:5]).shape == (5,)
    assert model.predict_proba(X).shape == (30, 3)
    assert model.sample(4, random_state=0)[0].shape == (4, 1)


def test_predict_with_1d_input_raises(fitted):
    model, X = fitted
    with pytest.raises(ValueError, match="Expected 2D array"):
        model.predict(X[0])
    with pytest.raises(ValueError, match="Expected 2D array"):
        model.predict_proba(X[:, 0])


@by_method
def test_fit_adds_only_trailing_underscore_attributes(cls, blobs):
    X, _ = blobs
    model = cls(3, **TINY)
    before = dict(vars(model))
    params = model.get_params()
    model.fit(X)
    added = set(vars(model)) - set(before)
    public = [a for a in added if not a.startswith("_")]
    assert public, "fit should set fitted attributes"
    assert all(a.endswith("_") for a in public), public
    assert all(vars(model)[k] is v for k, v in before.items())
    assert model.get_params() == params


# ---------------------------------------------------------------- stopping, history, n_init
@by_method
def test_stop_criterion_stops_after_n_iter_no_change_stale_epochs(cls, blobs):
    X, _ = blobs
    # with a huge tol every epoch after the first is stale (the first sets the best value)
    # refine=0: the refinement round runs the same criterion again and would add its epochs
    options = {"tol": 1e6, "n_iter_no_change": 2, "refine": 0}
    model = cls(3, **tiny(max_epochs=50, options=options)).fit(X)
    assert model.n_iter_ == 3
    assert len(model.history_) == 3
    assert model.stopped_early_ is True


@by_method
def test_stop_criterion_off_and_patience_longer_than_training(cls, blobs):
    X, _ = blobs
    options = {"tol": None, "n_iter_no_change": 1, "refine": 0}
    model = cls(3, **tiny(max_epochs=4, options=options)).fit(X)
    assert model.n_iter_ == 4
    assert model.stopped_early_ is False
    options = {"tol": 1e6, "n_iter_no_change": 3, "refine": 0}
    model = cls(3, **tiny(max_epochs=3, options=options)).fit(X)
    assert model.n_iter_ == 3
    assert model.stopped_early_ is False


@by_method
def test_refinement_rounds_add_a_third_of_the_epochs_each(cls, blobs):
    X, _ = blobs
    model = cls(3, **tiny(max_epochs=6, options={"tol": None, "refine": 2})).fit(X)
    assert [row.get("refine", 0) for row in model.history_] == [0] * 6 + [1] * 2 + [2] * 2
    assert [row["epoch"] for row in model.history_] == list(range(1, 11))
    plain = cls(3, **tiny(max_epochs=6, options={"tol": None, "refine": 0})).fit(X)
    assert all("refine" not in row for row in plain.history_) and plain.n_iter_ == 6


def test_weight_average_moves_towards_the_live_weights():
    from ganclust._updates import average_into as _average_into

    live, averaged = torch.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    with torch.no_grad():
        live.weight.fill_(3.0)
        averaged.weight.fill_(1.0)
        live.running_mean.fill_(5.0)
    _average_into(averaged, live, decay=0.75)
    assert torch.allclose(averaged.weight, torch.full((3,), 1.5))  # 0.75 * 1 + 0.25 * 3
    assert torch.equal(averaged.running_mean, live.running_mean)  # statistics are copied
    assert torch.equal(live.weight, torch.full((3,), 3.0))  # the live weights are untouched


@by_method
def test_ema_changes_the_returned_weights_and_stays_reproducible(cls, blobs):
    X, _ = blobs
    averaged = cls(3, **tiny(max_epochs=3, options={"refine": 0})).fit(X)
    again = cls(3, **tiny(max_epochs=3, options={"refine": 0})).fit(X)
    last = cls(3, **tiny(max_epochs=3, options={"refine": 0, "ema": 0.0})).fit(X)
    assert averaged.settings_.ema == 0.999 and last.settings_.ema == 0.0
    assert np.array_equal(averaged.predict_proba(X), again.predict_proba(X))
    assert not np.allclose(averaged.predict_proba(X), last.predict_proba(X))


def test_history_rows(fitted):
    model, X = fitted
    # the main training, then one refinement round of max(1, max_epochs // 3) epochs
    assert len(model.history_) == model.n_iter_ == TINY["max_epochs"] + 1
    assert [row.get("refine", 0) for row in model.history_] == [0, 0, 1]
    for epoch, row in enumerate(model.history_, start=1):
        assert row["epoch"] == epoch
        occupancy = row["occupancy"]
        assert isinstance(occupancy, list) and len(occupancy) == 3
        assert all(0 <= f <= 1 for f in occupancy)
        assert sum(occupancy) == pytest.approx(1.0, abs=1e-6)
        assert model._method.monitor in row


def _one_run(model, X, index):
    """Train initialisation ``index`` of ``model``'s fit on its own, through ganclust._fit, and
    read it out as fit does: its run and its public cluster probabilities of ``X``."""
    settings = model.settings_
    data = model.preprocessor_.to_tensor(X)
    seeds, selection_seed = run_seeds(settings)
    run = ganclust._fit.train_run(settings, data, seeds[index], selection_seed, index)
    nets = run.result.nets
    _, proba = freeze(
        settings.method,
        nets,
        data,
        run.proba,
        settings.view_strength,
        settings.read_out_neighbors,
        selection_seed,
    )
    return run, proba.double().numpy()


@by_method
def test_n_init_keeps_the_best_ranked_run(cls, blobs):
    X, _ = blobs
    # 20 epochs: enough that no run collapses, so no restart adds a third score; two runs, since
    # from three the kept run also learns their consensus (tests/test_consensus.py)
    model = cls(3, **tiny(max_epochs=20), n_init=2).fit(X)
    assert model.n_restarts_ == 0
    assert model.init_scores_.shape == (2,)
    assert np.all(np.isfinite(model.init_scores_))
    assert len(set(model.init_scores_.tolist())) == 2  # distinct runs: the choice matters
    # the best-ranked run: not collapsed, then the refinement maps' agreement, then the score
    runs = [_one_run(model, X, i)[0] for i in range(2)]
    assert [r.score for r in runs] == model.init_scores_.tolist()
    assert model.best_init_ == max(runs, key=ganclust._fit._rank).index
    # and the kept model is that run: trained alone, it reads the data the same way
    run, proba = _one_run(model, X, model.best_init_)
    assert run.score == model.init_scores_[model.best_init_]
    np.testing.assert_array_equal(proba.argmax(axis=1), model.labels_)
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-6)


def test_n_init_keeps_the_run_the_score_prefers(blobs, monkeypatch):
    X, _ = blobs
    train_run = ganclust._fit.train_run
    forced = [0.2, 0.9]  # two runs: from three the kept run learns their consensus

    def scored(*args, **kwargs):
        # the middle run gets the top score, whatever the real scores would be
        run = train_run(*args, **kwargs)
        run.score, run.collapsed = forced[run.index], False
        run.quality = np.ones(3)  # the maps agree equally with every run: the score decides
        return run

    monkeypatch.setattr(ganclust._fit, "train_run", scored)
    model = ClusterGAN(3, **tiny(max_epochs=10), n_init=2).fit(X)
    assert model.init_scores_.tolist() == forced
    assert model.best_init_ == 1
    _, kept = _one_run(model, X, 1)
    np.testing.assert_allclose(kept, model.predict_proba(X), rtol=0, atol=1e-6)
    _, first = _one_run(model, X, 0)
    assert not np.allclose(first, model.predict_proba(X), atol=1e-3)  # a different model


# ---------------------------------------------------------------- collapse warning
@by_method
def test_collapse_warning_names_the_empty_clusters(cls):
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.randn(10, 2) * 0.01, rng.randn(10, 2) * 0.01 + 5])
    model = cls(8, **tiny(max_epochs=1))
    with pytest.warns(ClusterCollapseWarning, match=r"cluster\(s\)") as record:
        model.fit(X)
    sizes = model.cluster_sizes_
    collapsed = np.flatnonzero(sizes < 0.1 * len(X) / 8)
    assert len(collapsed) >= 6  # 2 tight blobs cannot fill 8 clusters
    (warning,) = [w for w in record if w.category is ClusterCollapseWarning]
    message = str(warning.message)
    assert message.startswith(cls.__name__)
    for k in collapsed:
        assert f"{k} ({sizes[k]} samples)" in message
    for k in np.flatnonzero(sizes >= 0.1 * len(X) / 8):
        assert f"{k} ({sizes[k]} samples)" not in message
    assert warning.filename == __file__  # points at the caller of fit
    # every run collapses on this data, so both restarts were tried before giving up
    assert model.n_restarts_ == 2
    assert model.init_scores_.shape == (3,)
    assert model.init_collapsed_.tolist() == [True, True, True]


def test_a_collapsed_run_loses_to_one_that_did_not(blobs, monkeypatch):
    X, _ = blobs
    train_run = ganclust._fit.train_run

    def first_run_collapses_with_the_top_score(*args, **kwargs):
        run = train_run(*args, **kwargs)
        run.collapsed = run.index == 0
        if run.collapsed:
            run.score = 1e9
        return run

    monkeypatch.setattr(ganclust._fit, "train_run", first_run_collapses_with_the_top_score)
    model = ClusterGAN(3, **tiny(max_epochs=10), n_init=2).fit(X)
    assert model.best_init_ == 1
    assert model.n_restarts_ == 0  # one healthy run is enough: no restart
    assert model.init_collapsed_.tolist() == [True, False]
    assert model.init_scores_[0] == 1e9


def test_a_healthy_run_needs_no_restart(blobs):
    X, _ = blobs
    model = ClusterGAN(3, **tiny(max_epochs=10)).fit(X)
    assert model.n_restarts_ == 0 and model.init_scores_.shape == (1,)
    assert model.best_init_ == 0 and model.init_collapsed_.tolist() == [False]


# ---------------------------------------------------------------- accuracy floors
def test_clustergan_separates_blobs():
    X, y = make_blobs(300, n_features=2, centers=3, cluster_std=0.5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClusterCollapseWarning)
        model = ClusterGAN(3, max_epochs=30, device="cpu", random_state=0).fit(X)
    # measured: seeds 0-9 give 0.977-1.0 (0.997 for seed 0)
    assert clustering_accuracy(y, model.labels_) >= 0.95


@pytest.mark.slow
def test_clustergan_digits_accuracy_floor():
    digits = load_digits()
    model = ClusterGAN(10, max_epochs=5, device="cpu", random_state=0).fit(digits.images)
    # Chance (one cluster, or random clusters) is 0.1-0.2 and k-means gets 0.79. Measured with
    # these settings (default init="tsne", one thread): seeds 0/1/2 gave ACC 0.860/0.910/0.916
    # in 13-15 s.
    assert clustering_accuracy(digits.target, model.labels_) > 0.80


def test_published_method_without_init_or_regulariser_still_clusters_digits():
    digits = load_digits()
    options = {"init": "random", "consistency": 0.0, "refine": 0, "ema": 0.0}
    model = ClusterGAN(10, options=options, max_epochs=5, device="cpu", random_state=0).fit(
        digits.images
    )
    # the plain ClusterGAN objective, for comparison: well above chance, well below the default
    assert 0.3 < clustering_accuracy(digits.target, model.labels_) < 0.8


# ---------------------------------------------------------------- metrics
def test_metrics_on_a_permuted_labelling():
    y = np.array([0, 0, 1, 1, 1, 2, 2, 3])
    permuted = np.array([3, 0, 2, 1])[y]
    assert clustering_accuracy(y, permuted) == 1.0
    scores = evaluate(y, permuted)
    assert scores["purity"] == 1.0
    assert scores["nmi"] == pytest.approx(1.0)
    assert scores["ari"] == pytest.approx(1.0)


def test_metrics_hand_computed():
    y_true, y_pred = [0, 0, 1, 1, 2, 2], [1, 1, 0, 0, 0, 2]
    # matching 1->0, 0->1, 2->2 gets 2 + 2 + 1 right
    assert clustering_accuracy(y_true, y_pred) == pytest.approx(5 / 6)
    y_true, y_pred = [0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]
    # one-to-one: 0->0 and 2->1 get 4 right; purity lets cluster 1 count its single 0 or 1 too
    assert clustering_accuracy(y_true, y_pred) == pytest.approx(4 / 6)
    assert purity(y_true, y_pred) == pytest.approx(5 / 6)
    # more clusters than classes: unmatched clusters count as wrong
    assert clustering_accuracy([0, 0, 1, 1], [0, 1, 2, 3]) == pytest.approx(0.5)


def test_purity_is_at_least_accuracy():
    rng = np.random.RandomState(0)
    for _ in range(20):
        y_true, y_pred = rng.randint(0, 4, 50), rng.randint(0, rng.randint(2, 7), 50)
        assert purity(y_true, y_pred) >= clustering_accuracy(y_true, y_pred)


def test_evaluate_keys_and_input_checks():
    scores = evaluate([0, 1, 1, 0], [1, 0, 0, 1])
    assert set(scores) == {"acc", "nmi", "ari", "purity", "n_samples"}
    assert scores["n_samples"] == 4
    with pytest.raises(ValueError, match="different lengths"):
        clustering_accuracy([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="different lengths"):
        evaluate([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="empty"):
        purity([], [])
