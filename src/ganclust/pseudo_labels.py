"""The manifold read-out that initialises the clustering head (``init="tsne"``).

The training data is reduced with PCA to at most 50 dimensions, embedded in 2-D with
scikit-learn's t-SNE (``init="auto"``: on images, by distances that ignore small rotations), and
clustered there with a K-component Gaussian mixture. The samples become pseudo-labels (on
images, only those whose mixture posterior is confident; on vectors, all of them) that the
clustering head is trained to predict (on augmented views) alongside the GAN and the
regulariser: the head starts from the data's neighbourhood structure, not from random weights,
and generalises it to new samples. No label is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._choices import INITS  # noqa: F401 (re-exported)
from ._gaussian_look import gaussian_read
from ._map_pieces import read_map
from ._rotation_map import rotation_embed, uses_rotations
from .rows import take

# t-SNE is fitted on at most this many samples; the rest of the data gets no pseudo-label
MAX_MANIFOLD_SAMPLES = 12_000
# on images, samples whose mixture posterior is below this get no pseudo-label: the network,
# taught by augmentations, extrapolates to them better than the map reads them. Vectors, and an
# autoencoder's code, have no augmentation to teach that; there the map's clusters beat the
# network's extrapolation, so every sample read is labelled (MIN_CONFIDENCE_ALL; MNIST-10k as
# PCA-50 vectors 0.9133 and 0.9168 against 0.9062 and 0.9083, docs/benchmarks.md)
MIN_CONFIDENCE = 0.9
MIN_CONFIDENCE_ALL = 0.0
# restarts of the mixture on the t-SNE map
GMM_RESTARTS = 10
# below this many samples a 2-D t-SNE map says little; "tsne" then uses k-means
MIN_TSNE_SAMPLES = 100
# t-SNE's iterations, early exaggeration included
TSNE_ITERATIONS = 1000
# the refinement's consensus read-out: this many maps, each of this many samples and iterations;
# a sample is pseudo-labelled where at least MIN_SUPPORT of the maps agree (see consensus_labels)
CONSENSUS_MAPS = 5
CONSENSUS_SAMPLES = 4000
CONSENSUS_ITERATIONS = 500
MIN_SUPPORT = 0.8
# each map embeds at most this fraction of the data, so that the maps of a small set differ
MAP_FRACTION = 0.8
# below this many samples the refinement draws one map of all of them, as it did before the
# consensus: its cost is then that of the previous read-out (no accuracy measured either way)
CONSENSUS_MIN_SAMPLES = 1000
# a map's clusters reach the samples it did not embed by a vote of this many nearest neighbours
EXTEND_NEIGHBORS = 10


@dataclass(frozen=True)
class Manifold:
    """The first read-out's view of the training data: which samples, and where they lie.

    Attributes
    ----------
    chosen : numpy.ndarray of shape (n_chosen,)
        Indices of the samples read (all of them, or ``MAX_MANIFOLD_SAMPLES`` drawn).
    points : numpy.ndarray of shape (n_chosen, n_dims)
        Their 2-D t-SNE map (``is_map``), or their PCA-reduced values where the read-out is
        k-means.
    is_map : bool
        Whether ``points`` is a t-SNE map.
    """

    chosen: np.ndarray
    points: np.ndarray
    is_map: bool


def manifold(
    x: torch.Tensor,
    init: str,
    seed: int,
    max_samples: int = MAX_MANIFOLD_SAMPLES,
    iterations: int = TSNE_ITERATIONS,
) -> Manifold:
    """The samples the first read-out reads and their positions (see :func:`pseudo_labels`).

    Parameters
    ----------
    x : torch.Tensor or ganclust.rows.Rows
        Preprocessed training data (N, ...).
    init : {"auto", "tsne", "autoencoder", "kmeans"}
        "tsne" maps the samples with t-SNE (below ``MIN_TSNE_SAMPLES``, k-means' PCA values
        are kept instead); "auto" too, by distances that ignore small rotations on images of
        16 pixels a side or more (:mod:`ganclust._rotation_map`); "autoencoder" maps an
        autoencoder's code (:mod:`ganclust._autoencoder`); "kmeans" keeps the PCA values.
    seed : int
        Seed of the subsample, PCA and t-SNE.
    max_samples, iterations : int
        At most this many samples are read, and t-SNE runs this many iterations (the first
        read-out's by default).
    """
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    chosen = np.arange(len(x))
    if len(x) > max_samples:
        chosen = np.sort(rng.choice(len(x), max_samples, replace=False))
    # only the subsample is read: the data may be rows on disk (ganclust.rows)
    samples = take(x, chosen)
    reduced = samples.flatten(1).double().numpy()
    if init == "autoencoder" and len(reduced) >= MIN_TSNE_SAMPLES:
        from ._autoencoder import autoencoder_code

        reduced = autoencoder_code(reduced, seed)
    pca = None
    if reduced.shape[1] > 50 and len(reduced) > 50:
        pca = PCA(50, random_state=seed)
        reduced = pca.fit_transform(reduced)
    if init == "kmeans" or len(reduced) < MIN_TSNE_SAMPLES:
        return Manifold(chosen, reduced, is_map=False)
    if init == "auto" and uses_rotations(samples):
        return Manifold(chosen, rotation_embed(samples, pca, reduced, seed, iterations), True)
    return Manifold(chosen, embed(reduced, seed, iterations), is_map=True)


def pseudo_labels(
    x: torch.Tensor,
    n_clusters: int,
    init: str,
    seed: int,
    min_confidence: float | None = None,
    view: Manifold | None = None,
) -> torch.Tensor | None:
    """Pseudo-labels for the clustering head, or None for ``init="random"``.

    Parameters
    ----------
    x : torch.Tensor
        Preprocessed training data (N, ...).
    n_clusters : int
        K.
    init : {"auto", "tsne", "autoencoder", "kmeans", "random"}
        "tsne": t-SNE + Gaussian mixture (k-means below 100 samples); "auto": on vectors that
        a K-component Gaussian mixture describes, its components
        (:func:`ganclust._gaussian_look.gaussian_read`), else "tsne", on images of 16 pixels a
        side or more by distances that ignore small rotations; "autoencoder": the same
        read-out of an autoencoder's code; "kmeans": k-means on the PCA-reduced data (fast,
        weaker); "random": no pseudo-labels (the published methods).
    seed : int
        Seed of the subsample, PCA, t-SNE and the mixture.
    min_confidence : float, optional
        Samples whose mixture posterior is below this get no pseudo-label (0 labels them all);
        by default ``MIN_CONFIDENCE`` for images and ``MIN_CONFIDENCE_ALL`` (every sample) for
        vectors and for "autoencoder".
    view : Manifold, optional
        ``manifold(x, init, seed)`` when it is already computed (``n_clusters="auto"`` computes
        it to estimate K).

    Returns
    -------
    torch.Tensor or None
        (N,) int64 cluster ids, -1 where a sample has no confident pseudo-label.
    """
    if init == "random":
        return None
    if init == "auto" and x.dim() == 2:
        read = gaussian_read(x, n_clusters, seed)
        if read is not None:
            return torch.from_numpy(read)
    if view is None:
        view = manifold(x, init, seed)
    labels = np.full(len(x), -1, dtype=np.int64)
    if not view.is_map:
        labels[view.chosen] = _kmeans(view.points, n_clusters, seed)
        return torch.from_numpy(labels)
    if min_confidence is None:
        label_all = init == "autoencoder" or x.dim() == 2
        min_confidence = MIN_CONFIDENCE_ALL if label_all else MIN_CONFIDENCE
    posterior = _mixture_posterior(view.points, n_clusters, seed)
    confident = posterior.max(axis=1) >= min_confidence
    labels[view.chosen[confident]] = posterior.argmax(axis=1)[confident]
    return torch.from_numpy(labels)


@dataclass(frozen=True)
class Consensus:
    """The consensus of several t-SNE + mixture maps of the same samples.

    Attributes
    ----------
    labels : numpy.ndarray of shape (n_samples,)
        The majority cluster of each sample (numbered like the medoid map), -1 where fewer than
        ``MIN_SUPPORT`` of the maps agree.
    votes : numpy.ndarray of shape (n_samples, n_clusters)
        The fraction of the maps that give each sample each cluster.
    agreement : numpy.ndarray of shape (n_maps,)
        Each map's mean adjusted Rand index with the other maps: a map that merged two clusters
        and split a third agrees less with the others.
    """

    labels: np.ndarray
    votes: np.ndarray
    agreement: np.ndarray

    @property
    def support(self) -> np.ndarray:
        """(n_samples,) the fraction of the maps that give each sample its majority cluster."""
        return self.votes.max(axis=1)


def consensus_labels(
    features: np.ndarray,
    n_clusters: int,
    seed: int,
    n_maps: int = CONSENSUS_MAPS,
    n_samples: int = CONSENSUS_SAMPLES,
) -> Consensus:
    """Cluster ``features`` by the consensus of ``n_maps`` t-SNE + mixture maps.

    A single t-SNE map, read by a K-component mixture, now and then merges two clusters and splits
    a third (on learned MNIST-10k features, one map in five, at 0.83 ACC against 0.96). Which map
    does so changes with the seed and the subsample, so each map here embeds its own random
    subsample, its clusters are extended to every sample by a nearest-neighbour vote in the
    features, and the maps vote: a sample is pseudo-labelled only where at least
    ``MIN_SUPPORT`` of them agree. The maps are matched to the one that agrees most with the
    others (the medoid), so a failed map is outvoted rather than followed. No label is used.

    Parameters
    ----------
    features : numpy.ndarray of shape (n_samples, n_features)
        Standardised features.
    n_clusters : int
        K.
    seed : int
        Seed of the subsamples, PCA, the maps and the mixtures.
    n_maps : int
        Number of maps (one below ``CONSENSUS_MIN_SAMPLES`` samples).
    n_samples : int
        Samples embedded by each map, at most (and at most ``MAP_FRACTION`` of them).

    Returns
    -------
    Consensus
    """
    from sklearn.decomposition import PCA
    from sklearn.neighbors import KNeighborsClassifier

    if features.shape[1] > 50 and len(features) > 50:
        features = PCA(50, random_state=seed).fit_transform(features)
    if len(features) < CONSENSUS_MIN_SAMPLES:
        n_maps = 1
    rng = np.random.default_rng(seed)
    # t-SNE from a PCA start barely depends on its seed: each map embeds its own subsample
    # (at most MAP_FRACTION of the data) so that the maps differ where the data is ambiguous
    per_map = min(n_samples, max(MIN_TSNE_SAMPLES, int(MAP_FRACTION * len(features))))
    maps = []
    for index in range(n_maps):
        chosen = np.arange(len(features))
        if len(features) > per_map:
            chosen = np.sort(rng.choice(len(features), per_map, replace=False))
        labels = _map_labels(features[chosen], n_clusters, seed + index)
        if len(chosen) < len(features):
            extend = KNeighborsClassifier(EXTEND_NEIGHBORS).fit(features[chosen], labels)
            labels = extend.predict(features)
        maps.append(labels)
    return vote(maps, n_clusters)


def vote(maps: list[np.ndarray], n_clusters: int) -> Consensus:
    """The consensus of several partitions of the same samples.

    Each partition is matched to the medoid (the one with the highest mean adjusted Rand index
    with the others), and each sample takes the cluster most partitions give it.

    Parameters
    ----------
    maps : list of numpy.ndarray of shape (n_samples,)
        Partitions, cluster ids in ``0 .. n_clusters - 1``.
    n_clusters : int
        K.

    Returns
    -------
    Consensus
    """
    from sklearn.metrics import adjusted_rand_score

    rand = np.array([[adjusted_rand_score(a, b) for b in maps] for a in maps])
    agreement = (rand.sum(axis=1) - 1) / (len(maps) - 1) if len(maps) > 1 else np.ones(1)
    medoid = maps[int(agreement.argmax())]
    votes = np.zeros((len(medoid), n_clusters))
    for labels in maps:
        votes[np.arange(len(medoid)), _matching(labels, medoid, n_clusters)[labels]] += 1
    votes /= len(maps)
    majority = np.where(votes.max(axis=1) >= MIN_SUPPORT, votes.argmax(axis=1), -1)
    return Consensus(majority.astype(np.int64), votes, agreement)


def _map_labels(reduced: np.ndarray, n_clusters: int, seed: int) -> np.ndarray:
    """One consensus map's clusters (k-means where there are too few samples for t-SNE).

    The map is read by a mixture, or by its pieces joined along neighbour links where the
    mixture's clusters cut through its islands (:func:`ganclust._map_pieces.read_map`).
    """
    if len(reduced) < MIN_TSNE_SAMPLES:
        return _kmeans(reduced, n_clusters, seed)
    embedded = embed(reduced, seed, CONSENSUS_ITERATIONS)
    mixture = _mixture_posterior(embedded, n_clusters, seed).argmax(axis=1)
    return read_map(embedded, mixture, n_clusters, seed)


def _kmeans(points: np.ndarray, n_clusters: int, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(points)


def embed(reduced: np.ndarray, seed: int, iterations: int) -> np.ndarray:
    """The 2-D t-SNE map of ``reduced`` (from a PCA start)."""
    from sklearn.manifold import TSNE

    return TSNE(2, init="pca", random_state=seed, max_iter=iterations).fit_transform(reduced)


def _mixture_posterior(embedded: np.ndarray, n_clusters: int, seed: int) -> np.ndarray:
    """The posterior (n_samples, K) of a K-component Gaussian mixture on a t-SNE map."""
    from sklearn.mixture import GaussianMixture

    # a 2-D mixture is cheap, and with few restarts EM often stops in a local optimum that merges
    # two islands of the map and splits a third (MNIST-10k: 0.80 instead of 0.91 ACC); the
    # restart with the highest likelihood is kept, which needs no label
    mixture = GaussianMixture(n_clusters, n_init=GMM_RESTARTS, random_state=seed)
    return mixture.fit(embedded).predict_proba(embedded)


def _matching(labels: np.ndarray, reference: np.ndarray, n_clusters: int) -> np.ndarray:
    """``renumber[k]``: the cluster of ``reference`` that cluster k of ``labels`` matches best."""
    from scipy.optimize import linear_sum_assignment

    overlap = np.zeros((n_clusters, n_clusters))
    np.add.at(overlap, (labels, reference), 1)
    rows, cols = linear_sum_assignment(-overlap)
    renumber = np.empty(n_clusters, dtype=np.int64)
    renumber[rows] = cols
    return renumber


def standardised(features: torch.Tensor) -> torch.Tensor:
    """Learned features (N, F) as float64 on the CPU, each feature at zero mean and unit std."""
    features = features.detach().cpu().double()
    return (features - features.mean(dim=0)) / (features.std(dim=0) + 1e-8)


def refined_pseudo_labels(
    features: torch.Tensor, current: torch.Tensor, n_clusters: int, seed: int
) -> tuple[torch.Tensor, Consensus]:
    """Pseudo-labels from the consensus read-out of the network's own features.

    This is the refinement step (as in N2D, which clusters a learned embedding rather than the
    raw data): after training, the trunk under the clustering head has learned features that are
    invariant to the augmentations and shaped by the first pseudo-labels, and their neighbourhood
    structure separates the clusters better than the raw data's (MNIST-10k: 0.96 ACC against
    0.91 for the same read-out on pixels). They are read by :func:`consensus_labels`, and the
    clusters are renumbered to match the head's current ones, so that continuing to train moves as
    few samples as possible.

    Parameters
    ----------
    features : torch.Tensor
        (N, F) trunk features of the training data.
    current : torch.Tensor
        (N,) the head's current argmax, which fixes the numbering.
    n_clusters : int
        K.
    seed : int
        Seed of the read-out.

    Returns
    -------
    torch.Tensor
        (N,) int64 cluster ids numbered like ``current``, -1 where the maps do not agree.
    Consensus
        The read-out's consensus, numbered like ``current``.
    """
    found = consensus_labels(standardised(features).numpy(), n_clusters, seed)
    labelled = found.labels >= 0
    renumber = _matching(found.labels[labelled], current.cpu().numpy()[labelled], n_clusters)
    labels = np.where(labelled, renumber[found.labels.clip(min=0)], -1)
    votes = np.empty_like(found.votes)
    votes[:, renumber] = found.votes
    return torch.from_numpy(labels), Consensus(labels, votes, found.agreement)
