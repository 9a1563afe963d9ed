"""Backbones and the methods' latent spaces: the article's DCGAN, ``auto``, and the codes."""

import numpy as np
import pytest
import torch
from conftest import by_method, tiny
from torch import nn

import ganclust._fit
from ganclust import CatGAN, ClusterGAN, InfoGAN, clustering_accuracy
from ganclust.nets import build_generator, build_trunk

TINY = tiny(max_epochs=1)
SHAPES = [(1, 8, 8), (1, 16, 16), (1, 28, 28), (3, 32, 32)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_dcgan_generator_and_trunk_shapes(shape):
    torch.manual_seed(0)
    generator = build_generator("dcgan", 10, shape, 64).eval()
    with torch.no_grad():
        fake = generator(torch.randn(2, 10))
    assert fake.shape == (2, *shape)
    assert fake.min() >= -1 and fake.max() <= 1  # tanh output
    trunk, n_features = build_trunk("dcgan", shape, 64)
    with torch.no_grad():
        features = trunk.eval()(fake)
    assert features.shape == (2, n_features)
    # the article's trunk: two stride-2 convolutions to 128 channels, flattened
    assert n_features == 128 * -(-shape[1] // 4) * -(-shape[2] // 4)


@pytest.fixture
def capture_train(monkeypatch):
    """Record the TrainConfig of every training run."""
    configs = []
    real_train = ganclust._fit.train

    def train(data, cfg, callback=None, nets=None):
        configs.append(cfg)
        return real_train(data, cfg, callback, nets=nets)

    monkeypatch.setattr(ganclust._fit, "train", train)
    return configs


@pytest.mark.slow  # the article's DCGAN on 28x28 images: about 10 s each
@by_method
def test_dcgan_fit_uses_the_articles_defaults(cls, capture_train):
    X = np.random.RandomState(0).rand(40, 28, 28)
    model = cls(3, backbone="dcgan", max_epochs=1, device="cpu", random_state=0).fit(X)
    assert model.settings_.nets.backbone == "dcgan"
    assert model.settings_.nets.latent.noise_dim == 128
    assert model.settings_.nets.width == 64
    assert model.settings_.learning_rate == 2e-4
    assert {cfg.learning_rate for cfg in capture_train} == {2e-4}
    assert {cfg.batch_size for cfg in capture_train} == {32}  # every run and refinement
    assert model.get_params()["latent_dim"] is None  # resolved, not overwritten
    assert model.get_params()["batch_size"] is None
    assert model.predict(X).shape == (40,)
    assert model.sample(2, random_state=0)[0].shape == (2, 28, 28)


@by_method
def test_defaults_of_the_other_backbones(cls, capture_train):
    X = np.random.RandomState(0).rand(20, 6)
    model = cls(3, max_epochs=1, device="cpu", random_state=0).fit(X)
    assert model.settings_.nets.latent.noise_dim == 30
    assert model.settings_.nets.width == 256
    assert {cfg.batch_size for cfg in capture_train} == {64}
    assert {cfg.learning_rate for cfg in capture_train} == {1e-3}
    model = cls(3, **{**TINY, "batch_size": 7, "latent_dim": 5}).fit(X)
    assert model.settings_.nets.latent.noise_dim == 5
    assert capture_train[-1].batch_size == 7


@by_method
@pytest.mark.parametrize("backbone", ["conv", "dcgan"])
def test_image_backbones_refuse_vectors(cls, backbone):
    X = np.random.RandomState(0).rand(20, 6)
    with pytest.raises(ValueError, match=f"backbone='{backbone}' needs images"):
        cls(3, **TINY, backbone=backbone).fit(X)


@by_method
def test_auto_backbone(cls):
    vectors = np.random.RandomState(0).rand(20, 6)
    images = np.random.RandomState(0).rand(20, 8, 8)
    assert cls(3, **TINY).fit(vectors).settings_.nets.backbone == "mlp"
    assert cls(3, **TINY).fit(images).settings_.nets.backbone == "conv"
    assert cls(3, **TINY).fit(images[:, None]).settings_.nets.backbone == "conv"


def test_the_old_backbone_name_is_refused():
    X = np.random.RandomState(0).rand(20, 28, 28)
    with pytest.raises(ValueError, match="unknown backbone 'seed-dcgan'"):
        ClusterGAN(3, **TINY, backbone="seed-dcgan").fit(X)


@by_method
@pytest.mark.parametrize("shape", [(4, 4), (8, 8), (3, 8, 8)])
def test_mlp_backbone_on_images(cls, shape):
    # an MLP reads images flattened, at any size (conv needs 8x8), and generates images
    images = np.random.RandomState(0).rand(20, *shape)
    model = cls(3, **TINY, backbone="mlp").fit(images)
    assert model.settings_.nets.backbone == "mlp"
    assert model.settings_.nets.data_shape == ((1, *shape) if len(shape) == 2 else shape)
    head = model.nets_[model._method.head]
    assert isinstance(head.trunk[0], nn.Flatten)
    assert not any(isinstance(m, nn.Conv2d) for m in model.nets_.modules())
    assert model.predict(images).shape == (20,)
    assert model.predict_proba(images).shape == (20, 3)
    samples, _ = model.sample(3, random_state=0)
    assert samples.shape == (3, *shape)
    # generated images are in the training data's intensity range, like conv's
    assert samples.min() >= images.min() - 1e-6 and samples.max() <= images.max() + 1e-6


def test_infogan_latent_has_continuous_codes():
    X = np.random.RandomState(0).rand(20, 6)
    model = InfoGAN(3, **TINY, n_continuous=3).fit(X)
    latent = model.settings_.nets.latent
    assert latent.n_continuous == 3
    assert latent.conditional is True
    assert latent.dim == TINY["latent_dim"] + 3 + 3
    assert model.nets_["G"][0].in_features == latent.dim
    # the Q head predicts realness, the K categories and the continuous codes
    assert model.nets_["D"].sizes == (1, 3, 3)
    assert InfoGAN(3, **TINY, n_continuous=0).fit(X).settings_.nets.latent.dim == 4 + 3


def test_catgan_latent_is_not_conditional():
    X = np.random.RandomState(0).rand(20, 6)
    model = CatGAN(3, **TINY).fit(X)
    latent = model.settings_.nets.latent
    assert latent.conditional is False
    assert latent.n_continuous == 0
    assert latent.dim == TINY["latent_dim"]  # noise only
    assert model.nets_["G"][0].in_features == TINY["latent_dim"]
    assert model.nets_["D"].sizes == (3,)


def test_clustergan_latent_is_noise_plus_one_hot():
    X = np.random.RandomState(0).rand(20, 6)
    model = ClusterGAN(3, **TINY, sigma=0.5).fit(X)
    latent = model.settings_.nets.latent
    assert latent.conditional is True
    assert latent.n_continuous == 0
    assert latent.sigma == 0.5
    assert latent.dim == TINY["latent_dim"] + 3
    assert model.nets_["E"].sizes == (TINY["latent_dim"], 3)


def test_tsne_init_pseudo_labels_follow_the_data():
    import torch
    from sklearn.datasets import make_blobs

    from ganclust.pseudo_labels import pseudo_labels

    X, y = make_blobs(400, n_features=20, centers=4, cluster_std=1.0, random_state=0)
    labels = pseudo_labels(torch.tensor(X, dtype=torch.float32), 4, "tsne", seed=0)
    assert labels.shape == (400,)
    confident = labels.numpy() >= 0
    assert confident.mean() > 0.9  # well-separated blobs: nearly every posterior is confident
    assert clustering_accuracy(y[confident], labels.numpy()[confident]) > 0.99
    assert pseudo_labels(torch.tensor(X, dtype=torch.float32), 4, "random", seed=0) is None


def test_tsne_init_labels_every_vector_but_only_confident_images():
    import torch
    from sklearn.datasets import make_blobs

    from ganclust.pseudo_labels import pseudo_labels

    # touching blobs: some posteriors on the map are unsure
    X, y = make_blobs(400, n_features=16, centers=4, cluster_std=8.0, random_state=0)
    vectors = torch.tensor(X, dtype=torch.float32)
    as_vectors = pseudo_labels(vectors, 4, "tsne", seed=0).numpy()
    as_images = pseudo_labels(vectors.reshape(400, 1, 4, 4), 4, "tsne", seed=0).numpy()
    assert (as_vectors >= 0).all()  # vectors: the map's read-out of every sample
    unsure = as_images < 0
    assert 0 < unsure.sum() < 400  # images: the unsure ones are left to the network
    # the same map and mixture: where both label a sample, they agree
    assert (as_images[~unsure] == as_vectors[~unsure]).all()
    assert clustering_accuracy(y, as_vectors) > 0.8
    explicit = pseudo_labels(vectors, 4, "tsne", seed=0, min_confidence=0.9).numpy()
    assert (explicit == as_images).all()  # an explicit threshold overrides the data kind's


def test_refined_pseudo_labels_are_numbered_like_the_head():
    import torch
    from sklearn.datasets import make_blobs

    from ganclust.pseudo_labels import refined_pseudo_labels

    X, y = make_blobs(300, n_features=16, centers=3, cluster_std=1.0, random_state=1)
    # the head's current clusters: the true ones under an arbitrary numbering, 10% of them wrong
    current = np.array([2, 0, 1])[y]
    wrong = np.random.RandomState(0).rand(300) < 0.1
    current[wrong] = (current[wrong] + 1) % 3
    labels, found = refined_pseudo_labels(
        torch.tensor(X, dtype=torch.float32), torch.from_numpy(current), 3, seed=0
    )
    labels = labels.numpy()
    assert np.array_equal(found.labels, labels)
    confident = labels >= 0
    assert confident.mean() > 0.9
    # same numbering as the head, and the read-out repairs the head's mistakes
    assert np.array_equal(labels[confident], np.array([2, 0, 1])[y][confident])


def test_the_vote_outvotes_a_map_that_merged_two_clusters_and_split_a_third():
    from ganclust.pseudo_labels import vote

    rng = np.random.RandomState(0)
    truth = np.repeat(np.arange(4), 50)
    # four maps find the truth, each under its own numbering and with 2% of samples moved;
    # the fifth merges clusters 0 and 1 and splits cluster 3 in two
    maps = []
    for _ in range(4):
        labels = rng.permutation(4)[truth]
        moved = rng.rand(200) < 0.02
        labels[moved] = rng.randint(4, size=moved.sum())
        maps.append(labels)
    failed = truth.copy()
    failed[truth == 1] = 0
    failed[(truth == 3) & (np.arange(200) % 2 == 0)] = 1
    found = vote([*maps[:2], failed, *maps[2:]], 4)
    assert found.agreement.argmin() == 2  # the failed map agrees least with the others
    labelled = found.labels >= 0
    assert labelled.mean() > 0.9
    assert clustering_accuracy(truth[labelled], found.labels[labelled]) == 1.0
    # where the failed map dissents, 4 of the 5 maps still agree: support 0.8, still labelled
    assert np.isclose(found.support[(truth == 1)].min(), 0.8)


def test_consensus_labels_recover_blobs_from_subsampled_maps():
    from sklearn.datasets import make_blobs

    from ganclust.pseudo_labels import consensus_labels

    X, y = make_blobs(1200, n_features=12, centers=3, cluster_std=1.0, random_state=2)
    found = consensus_labels(X, 3, seed=0, n_maps=3, n_samples=300)
    assert found.agreement.shape == (3,)
    # every sample has a label, extended from the maps that did not embed it
    assert (found.labels >= 0).all() and found.support.min() == 1.0
    assert clustering_accuracy(y, found.labels) == 1.0
    assert np.allclose(found.agreement, 1.0)
    # a small set gets one map of 80% of it, whose agreement is 1 by definition
    small = consensus_labels(X[:300], 3, seed=0, n_maps=3)
    assert small.agreement.tolist() == [1.0]
    assert clustering_accuracy(y[:300], small.labels) == 1.0


def test_small_data_falls_back_from_tsne_to_kmeans():
    import torch

    from ganclust.pseudo_labels import pseudo_labels

    X = torch.randn(30, 5)
    labels = pseudo_labels(X, 3, "tsne", seed=0)
    assert set(labels.tolist()) == {0, 1, 2}  # k-means labels every sample


@pytest.mark.parametrize(
    ("shape", "expected"),
    [((28, 28), 0.01), ((3, 32, 32), 0.01), ((8, 8), 1.0), ((1, 16, 16), 1.0), ((6,), 1.0)],
)
def test_clustergan_encoder_fake_weight_follows_the_data_kind(capture_train, shape, expected):
    X = np.random.RandomState(0).rand(20, *shape)
    model = ClusterGAN(3, **TINY).fit(X)
    assert {cfg.weights.encoder_fake_weight for cfg in capture_train} == {expected}
    assert {cfg.weights.beta_c for cfg in capture_train} == {10.0}
    assert model.settings_.weights.encoder_fake_weight == expected
    assert model.get_params()["options"] == {"width": 16}  # resolved, not overwritten
    ClusterGAN(3, **tiny(max_epochs=1, options={"encoder_fake_weight": 0.5})).fit(X)
    assert capture_train[-1].weights.encoder_fake_weight == 0.5


def test_encoder_fake_weight_scales_only_the_encoders_gradient():
    from ganclust.latent import LatentSpec, sample_latent
    from ganclust.methods import METHODS, NetConfig, Step, Weights

    method = METHODS["clustergan"]
    spec = LatentSpec(noise_dim=4, n_clusters=3, sigma=0.1)
    torch.manual_seed(0)
    nets = method.build(NetConfig("conv", (1, 8, 8), 8, spec))
    real = torch.rand(6, 1, 8, 8) * 2 - 1
    latent = sample_latent(spec, 6, torch.Generator().manual_seed(0))

    def grads(encoder_fake_weight):
        nets.zero_grad()
        weights = Weights(consistency=0.0, encoder_fake_weight=encoder_fake_weight)
        step = Step(real, latent, "bce", weights, torch.Generator().manual_seed(1))
        method.generator_loss(nets, step).backward()
        return {name: [p.grad.clone() for p in nets[name].parameters()] for name in ("G", "E")}

    nets.train()
    full, scaled = grads(1.0), grads(0.25)
    # E learns a quarter as much from generated samples; G's gradient does not change
    for a, b in zip(full["E"], scaled["E"], strict=True):
        torch.testing.assert_close(b, 0.25 * a)
    for a, b in zip(full["G"], scaled["G"], strict=True):
        torch.testing.assert_close(b, a)
    assert any(g.abs().sum() > 0 for g in full["E"])
