"""How vectors are scaled (``feature_scaling``): per feature, or by one scale shared by all.

Per-feature standardisation whitens data whose features share a unit (PCA components,
embeddings): low-variance noise features are blown up to the size of the signal. "auto" keeps
one shared scale unless the features' spreads differ as different units do.
"""

import numpy as np
import pytest
import torch
from conftest import SMALL

from ganclust import ClusterGAN, evaluate, load
from ganclust._statistics import SHARED_SPREAD
from ganclust.preprocess import Preprocessor


def _options(max_epochs=SMALL["max_epochs"], **extra):
    return {**SMALL, "max_epochs": max_epochs, "options": {**SMALL["options"], **extra}}


@pytest.fixture(scope="module")
def signal_and_noise():
    """Three clusters in two features of spread about 3, and 30 noise features of spread 0.5:
    one unit throughout, so the noise should stay small."""
    rng = np.random.RandomState(0)
    y = rng.randint(0, 3, 300)
    centres = np.array([[0.0, 0.0], [7.0, 0.0], [3.5, 6.0]])
    X = np.hstack([centres[y] + rng.randn(300, 2), 0.5 * rng.randn(300, 30)])
    return X, y


def test_auto_shares_one_scale_when_the_spreads_are_alike(signal_and_noise):
    X, _ = signal_and_noise
    pre = Preprocessor.fit(X, "float")
    assert pre.scaling == "shared"
    assert np.unique(pre.scale).size == 1
    t = pre.to_tensor(X).numpy()
    # the features keep their relative spread, and the average feature has unit variance
    np.testing.assert_allclose(t.std(axis=0) / X.std(axis=0), 1 / pre.scale[0], rtol=1e-5)
    np.testing.assert_allclose(np.mean(t.var(axis=0)), 1.0, rtol=1e-5)
    np.testing.assert_allclose(t.mean(axis=0), 0.0, atol=1e-5)


def test_auto_scales_per_feature_when_units_differ(signal_and_noise):
    X, _ = signal_and_noise
    mixed = X.copy()
    mixed[:, 5] *= 1000.0  # one column in other units: 1000 times the others' spread
    pre = Preprocessor.fit(mixed, "float")
    assert pre.scaling == "per-feature"
    np.testing.assert_allclose(pre.to_tensor(mixed).numpy().std(axis=0), 1.0, rtol=1e-5)


def test_the_threshold_is_the_largest_spread_against_the_median():
    spreads = np.array([1.0, 1.0, 1.0, SHARED_SPREAD])
    X = np.random.RandomState(0).randn(500, 4)
    X = X / X.std(axis=0) * spreads
    assert Preprocessor.fit(X, "float").scaling == "shared"
    X[:, 3] *= 1.01
    assert Preprocessor.fit(X, "float").scaling == "per-feature"


@pytest.mark.parametrize("scaling", ["per-feature", "shared"])
def test_an_explicit_scaling_is_used_as_given(signal_and_noise, scaling):
    X, _ = signal_and_noise
    model = ClusterGAN(3, **_options(feature_scaling=scaling)).fit(X)
    assert model.preprocessor_.scaling == scaling
    assert (np.unique(model.preprocessor_.scale).size == 1) == (scaling == "shared")


def test_shared_scaling_finds_clusters_that_per_feature_scaling_drowns(signal_and_noise):
    X, y = signal_and_noise
    accuracy = {}
    for scaling in ("auto", "per-feature"):
        model = ClusterGAN(3, **_options(20, feature_scaling=scaling)).fit(X)
        accuracy[scaling] = evaluate(y, model.labels_)["acc"]
    assert accuracy["auto"] >= 0.95
    assert accuracy["per-feature"] < 0.7  # the 30 noise features, blown up, bury the clusters


def test_the_published_recipe_scales_per_feature_as_the_article_does(signal_and_noise):
    X, _ = signal_and_noise
    model = ClusterGAN(3, recipe="published", max_epochs=1, batch_size=32,
                       options={"width": 8}, random_state=0).fit(X)  # fmt: skip
    assert model.preprocessor_.scaling == "per-feature"


def test_constant_features_stay_centred_under_a_shared_scale(signal_and_noise):
    X = signal_and_noise[0].copy()
    X[:, 4] = 2.5
    pre = Preprocessor.fit(X, "float", "shared")
    t = pre.to_tensor(X).numpy()
    np.testing.assert_allclose(t[:, 4], 0.0, atol=1e-12)
    assert np.isfinite(pre.scale).all() and np.unique(pre.scale).size == 1


def test_a_shared_scale_of_extreme_values_does_not_overflow(signal_and_noise):
    X = signal_and_noise[0] * 1e300
    t = Preprocessor.fit(X, "float", "shared").to_tensor(X)
    reference = Preprocessor.fit(signal_and_noise[0], "float", "shared").to_tensor(X / 1e300)
    assert torch.isfinite(t).all()
    np.testing.assert_allclose(t.numpy(), reference.numpy(), atol=1e-5)


def test_a_saved_model_keeps_its_scaling(signal_and_noise, tmp_path):
    X, _ = signal_and_noise
    model = ClusterGAN(3, **SMALL).fit(X)
    model.save(tmp_path / "m.safetensors")
    loaded = load(tmp_path / "m.safetensors")
    assert loaded.preprocessor_.scaling == model.preprocessor_.scaling == "shared"
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_a_saved_scaling_that_is_not_one_of_the_choices_is_refused():
    meta = {"input_shape": [3], "input_dtype": "float", "scaling": "whitened"}
    tensors = {"offset": torch.zeros(3, dtype=torch.float64), "scale": torch.ones(3).double()}
    with pytest.raises(ValueError, match="unknown preprocessing.scaling 'whitened'"):
        Preprocessor.from_saved(meta, tensors)
    meta["scaling"] = "shared"
    uneven = {**tensors, "scale": torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64)}
    with pytest.raises(ValueError, match="one shared scale but holds several"):
        Preprocessor.from_saved(meta, uneven)
    meta.pop("scaling")  # a file written before the choice existed: per feature
    assert Preprocessor.from_saved(meta, tensors).scaling == "per-feature"


def test_a_bad_scaling_option_is_refused_by_name(signal_and_noise):
    with pytest.raises(ValueError, match="feature_scaling"):
        ClusterGAN(3, **_options(feature_scaling="whiten")).fit(signal_and_noise[0])
