"""init="autoencoder": the first read-out maps an autoencoder's code instead of the data."""

import numpy as np
import pytest
import torch
from conftest import tiny
from sklearn.datasets import make_blobs

from ganclust import ClusterGAN, evaluate
from ganclust._autoencoder import CODE_DIM, autoencoder_code
from ganclust.pseudo_labels import pseudo_labels


@pytest.fixture(scope="module")
def wide_blobs():
    """150 vectors in 24 dimensions around 3 centres: enough samples for a t-SNE map."""
    return make_blobs(150, n_features=24, centers=3, cluster_std=1.0, random_state=3)


def test_code_is_seeded_and_leaves_the_global_state_alone(wide_blobs):
    X, _ = wide_blobs
    before = torch.get_rng_state()
    first = autoencoder_code(X, seed=4, steps=20)
    assert torch.equal(torch.get_rng_state(), before)
    assert first.shape == (150, CODE_DIM) and first.dtype == np.float64
    np.testing.assert_array_equal(first, autoencoder_code(X, seed=4, steps=20))
    assert not np.array_equal(first, autoencoder_code(X, seed=5, steps=20))


def test_code_keeps_the_clusters(wide_blobs):
    # what the read-out needs of the code: the clusters of the data stay apart in it
    from sklearn.cluster import KMeans

    X, y = wide_blobs
    code = autoencoder_code(X, seed=0)
    labels = KMeans(3, n_init=10, random_state=0).fit_predict(code)
    assert evaluate(y, labels)["acc"] == 1.0


def test_pseudo_labels_read_the_code(wide_blobs):
    X, y = wide_blobs
    x = torch.as_tensor(X, dtype=torch.float32)
    pseudo = pseudo_labels(x, 3, "autoencoder", seed=0).numpy()
    # the code's map labels every sample it reads, not only the confident ones
    assert (pseudo >= 0).all()
    assert evaluate(y, pseudo)["acc"] == 1.0
    # an explicit threshold is honoured (no posterior exceeds 1)
    none = pseudo_labels(x, 3, "autoencoder", seed=0, min_confidence=1.5).numpy()
    assert (none == -1).all()


def test_fit_with_the_option_is_accurate_and_reproducible(wide_blobs):
    X, y = wide_blobs
    settings = tiny(max_epochs=5, options={"init": "autoencoder", "refine": 0})
    first = ClusterGAN(n_clusters=3, **settings).fit(X)
    assert evaluate(y, first.labels_)["acc"] >= 0.95
    again = ClusterGAN(n_clusters=3, **settings).fit(X)
    np.testing.assert_array_equal(first.labels_, again.labels_)


def test_an_unknown_init_names_the_choices(wide_blobs):
    X, _ = wide_blobs
    with pytest.raises(ValueError, match="autoencoder"):
        ClusterGAN(n_clusters=3, **tiny(options={"init": "ae"})).fit(X)
