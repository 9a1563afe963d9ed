"""``n_clusters="auto"``: the number of clusters, estimated from the data without labels.

K is estimated twice, each time on a 2-D t-SNE map. For every candidate K, k-means partitions
random halves of the map and the partition's silhouette on the map is measured; the estimate is
the smallest K whose mean silhouette is within one standard error of the difference from the
best one (a "one standard error" rule, as the gap statistic's), so that a cluster split into
two styles of one class, which adds a little silhouette within the noise, is not followed.

1. **The data's map**: the pixel t-SNE map (:func:`ganclust.pseudo_labels.manifold`). The
   first round reads the same map, so this look costs the k-means fits and no second t-SNE.
   On images of 16 pixels a side or more under ``init="auto"``, the look also reads the map
   under small rotations that the fit at a given K reads (:mod:`ganclust._rotation_map`), and
   the first round reads that map instead (:func:`rotation_look`): the pixel map draws a class
   written at two slants (MNIST's 1s) as two islands, so its silhouette counts one cluster too
   many, while on the map under rotations the silhouettes of 8 to 11 clusters of MNIST lie
   within noise of each other. That map therefore only chooses between the pixel map's
   estimate and one less.
2. **The learned features' map**, once the first round of the fit at that K is trained (before
   refinement): the features separate the classes better than the data (on MNIST's digits 0-4
   the data's map says 6, the features of the fit at 6 say 5). If the second look names another
   K, the fit starts again at that K, from the same first map, and is then exactly the fit at
   that K given; if not, it goes on. Where the map under rotations clearly took one less than
   the pixel map, this look may not raise K again (``KEstimate.ceiling``). So "auto" costs
   at most one first round more than a fit, and the looks. Measured in ``docs/method.md``
   ("How many clusters").

On vectors, a Gaussian look comes first (:mod:`ganclust._gaussian_look`): where a Gaussian
mixture describes the data, its BIC decides K and neither map is read for it, since a silhouette
joins two components that lie close compared with the others.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import torch

from . import distributed
from ._gaussian_look import GaussianFit, gaussian_look
from ._k_doubts import within_noise
from ._k_estimate import KEstimate
from ._rotation_links import joined, rotation_links
from ._rotation_map import uses_rotations
from .pseudo_labels import (
    CONSENSUS_ITERATIONS,
    CONSENSUS_SAMPLES,
    Manifold,
    manifold,
    standardised,
)

# partitions per candidate K (each of a random half of the map), whose silhouettes give the mean
# and its standard error
K_SUBSAMPLES = 5
# the points each partition reads, at most (a half of the map below twice this)
K_SUBSAMPLE_SIZE = 2000
# restarts of each candidate's k-means
K_RESTARTS = 2


def decide_k(
    params: dict[str, Any], method: str, data: torch.Tensor, folder: Any = None
) -> tuple[dict[str, Any], Manifold | None, KEstimate | None]:
    """The first look: the parameters with K decided, the map it read, and the estimate.

    The look reads the map the first initialisation's pseudo-labels come from, with that run's
    seed, and hands it on (None where the first round reads the data otherwise). Parameters
    without ``n_clusters="auto"`` come back as they are, with no map and no estimate.

    Parameters
    ----------
    params : dict
        The estimator's ``get_params()``.
    method : str
        The estimator's method.
    data : torch.Tensor
        The preprocessed training data.
    folder : path, optional
        The fit's checkpoint folder: a fit without a ``random_state`` that resumes there takes
        the seed its first attempt drew. The seed is returned in the parameters, so that the
        fit uses the one the estimate did.
    """
    from ._resume import CheckpointStore
    from ._settings import check_fit, fit_seed, seeds_of

    if params["n_clusters"] != "auto":
        return params, None, None
    started = time.perf_counter()
    opts = check_fit(params, method, len(data))
    resumed = folder is not None and params["random_state"] is None
    seed = CheckpointStore(folder, {}).saved_seed() if resumed else None
    seed = fit_seed(params["random_state"]) if seed is None else seed
    first = seeds_of(seed, params["n_init"])[0][0]
    gaussian = gaussian_look(data, params["max_clusters"], first) if data.dim() == 2 else None
    if gaussian is not None and gaussian.describes:
        # no map is read for K; the first round draws one only if its read-out needs it
        view, estimate = None, bic_estimate(gaussian)
    else:
        view = manifold(data, "tsne", first)
        estimate = estimate_n_clusters(view, params["max_clusters"], first)
        if gaussian is not None:
            estimate = dataclasses.replace(estimate, gaussian=gaussian.to_json())
        if opts["init"] == "auto" and uses_rotations(data):
            view, estimate = rotation_look(data, estimate, first)
    estimate = dataclasses.replace(estimate, seconds=round(time.perf_counter() - started, 3))
    k = distributed.agreed(estimate.data_k)  # under torchrun, rank 0's estimate decides
    params = {**params, "n_clusters": k, "random_state": seed}
    # the first round reads the map the look read last: the one a fit at that K reads
    return params, view if opts["init"] in ("auto", "tsne") else None, estimate


def rotation_look(data: torch.Tensor, estimate: KEstimate, seed: int) -> tuple[Manifold, KEstimate]:
    """The data look's check on the map under rotations, and that map for the first round.

    The silhouettes of the pixel map's estimate K and of K - 1 are measured on the map under
    rotations (the same halves, seeds and k-means as the pixel look), and the higher decides:
    where the pixel map drew one class as two islands, that map draws one, and K - 1 scores
    higher (MNIST's digits 0-4 by 0.05; MNIST-10k and its 16x16 by 0.006-0.015 at K = 11).
    Only one less is considered: across 8 to 11 clusters of MNIST, whose 4s and 9s touch on
    that map, its silhouettes differ by less than their noise (docs/method.md).
    """
    rotated = manifold(data, "auto", seed)
    k = estimate.n_clusters
    candidates = np.array([k - 1, k] if k > 2 else [k])
    scores, errors = silhouettes(rotated.points, candidates, seed)
    best = int(candidates[int(np.argmax(scores))])
    look = KEstimate(best, candidates, scores, errors)
    return rotated, dataclasses.replace(estimate, rotated=look)


def second_look(
    estimate: KEstimate | None, method: str, data: torch.Tensor, params: dict[str, Any]
) -> FeatureLook | None:
    """The look a fit takes at its learned features, or None: K was given, or a Gaussian
    mixture's BIC settled it (the features' silhouette would join close components again)."""
    if estimate is None or estimate.settled:
        return None
    # where the map under rotations clearly removed a cluster of the pixel map, a features'
    # silhouette that asks for it back sees the same class at two slants (or another class split
    # for the extra cluster): MNIST's digits 0-4 said 6 on four seeds of five (docs/method.md)
    return FeatureLook(method, data, params, ceiling=estimate.ceiling)


class FeatureLook:
    """The second look at K, on the learned features after the first round of training.

    Called with the first initialisation's networks once its first round is trained, before
    refinement: refinement on the features trains them further towards the K they were given
    (on MNIST-10k, features of a fit at K = 11 said 10 after the first round, and 11 after
    refinement). It returns the K the features point to and keeps the look.

    Parameters
    ----------
    method : str
        The estimator's method.
    data : torch.Tensor
        The preprocessed training data.
    params : dict
        The parameters :func:`decide_k` returned.
    ceiling : int, optional
        The largest K this look may name (the data look's, where its map under rotations
        clearly lowered the pixel map's estimate); its silhouette may still lower K.
    """

    def __init__(
        self, method: str, data: torch.Tensor, params: dict[str, Any], ceiling: int | None = None
    ) -> None:
        self.method, self.data, self.ceiling = method, data, ceiling
        self.max_clusters = int(params["max_clusters"])
        self.seed = int(params["random_state"])
        self.look: KEstimate | None = None
        # seconds of a fit abandoned because this look named another K
        self.abandoned = 0.0

    @property
    def seconds(self) -> float:
        """Wall-clock seconds of the look (0 before it)."""
        return self.look.seconds if self.look is not None else 0.0

    def __call__(self, nets: torch.nn.Module) -> int:
        from .inference import batched
        from .methods import METHODS

        started = time.perf_counter()
        device = next(nets.parameters()).device
        features = batched(METHODS[self.method].features, nets, self.data.to(device))
        look = estimate_n_clusters(features_view(features, self.seed), self.max_clusters, self.seed)
        links = rotation_links(self.method, nets, self.data, self.seed)
        if links is not None:
            look = with_links(look, links)
        if self.ceiling is not None and look.n_clusters > self.ceiling:
            look = dataclasses.replace(look, n_clusters=self.ceiling)
        self.look = dataclasses.replace(look, seconds=round(time.perf_counter() - started, 3))
        return self.look.n_clusters

    def joined(self, first: KEstimate) -> KEstimate:
        """Both looks (the first alone where the fit resumed past its first round); their
        seconds include those of a fit abandoned for another K."""
        if self.look is None:
            return first
        seconds = round(first.seconds + self.abandoned + self.look.seconds, 3)
        return dataclasses.replace(first, features=self.look, seconds=seconds)


def with_links(look: KEstimate, links: np.ndarray) -> KEstimate:
    """The second look with the rotation test's verdict: where clusters of the first round
    are linked (above ``LINK_SHARE``), the estimate is at most that round's K less the
    clusters joined to another; unlinked, the silhouette's estimate stands."""
    k, pairs = joined(links)
    if not pairs:
        return look
    return dataclasses.replace(look, n_clusters=max(2, min(look.n_clusters, k)), linked=pairs)


def bic_estimate(gaussian: GaussianFit) -> KEstimate:
    """The data look where a Gaussian mixture describes the vectors: its BIC decided K."""
    scores = -gaussian.bic
    errors = np.zeros_like(scores)
    return KEstimate(gaussian.n_clusters, gaussian.candidates, scores, errors, measure="bic",
                     gaussian=gaussian.to_json())  # fmt: skip


def features_view(features: torch.Tensor, seed: int) -> Manifold:
    """The t-SNE map of (a subsample of) standardised learned features, drawn as each of the
    refinement's maps is."""
    return manifold(standardised(features), "tsne", seed, CONSENSUS_SAMPLES, CONSENSUS_ITERATIONS)


def candidates_for(max_clusters: int, n_samples: int) -> np.ndarray:
    """The K that "auto" considers: 2 up to ``max_clusters``, and fewer than the samples."""
    return np.arange(2, min(max_clusters, n_samples - 1) + 1)


def estimate_n_clusters(view: Manifold, max_clusters: int, seed: int) -> KEstimate:
    """Estimate K from a map: the smallest K whose silhouette is within one standard error of
    its difference from the best one.

    Both means are noisy, so the difference of candidate K from the best is compared with its
    own standard error, ``sqrt(se_best**2 + se_K**2)``, not with the best's alone: on MNIST-10k
    the features' silhouette at K = 10 and 11 differed by 0.005 with errors 0.003 and 0.005,
    which is no evidence for 11 (docs/method.md).

    Parameters
    ----------
    view : Manifold
        A t-SNE map (or, below 100 samples, PCA values).
    max_clusters : int
        The largest candidate.
    seed : int
        Seed of the halves and the partitions.

    Returns
    -------
    KEstimate

    Raises
    ------
    ValueError
        If the map has fewer than 6 points (no two K between 2 and half of them less one).
    """
    points = view.points
    candidates = candidates_for(max_clusters, _half_size(len(points)))
    if len(candidates) == 0:
        raise ValueError(
            f'n_clusters="auto" needs at least 6 samples to compare two or more K; got '
            f"{len(points)}"
        )
    scores, errors = silhouettes(points, candidates, seed)
    return KEstimate(smallest_within(candidates, scores, errors), candidates, scores, errors)


def silhouettes(
    points: np.ndarray, candidates: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate K's mean silhouette on ``K_SUBSAMPLES`` random halves of a map (k-means
    partitions), and its standard error; the halves depend on the seed alone."""
    from sklearn.metrics import silhouette_score

    size = _half_size(len(points))
    rng = np.random.default_rng(seed)
    values = np.zeros((K_SUBSAMPLES, len(candidates)))
    for draw in range(K_SUBSAMPLES):
        half = rng.choice(len(points), size, replace=False)
        for column, k in enumerate(candidates):
            labels = _kmeans(points[half], int(k), seed + draw)
            # a partition that left fewer than two clusters separates nothing
            one = len(np.unique(labels)) < 2
            values[draw, column] = -1.0 if one else silhouette_score(points[half], labels)
    return values.mean(axis=0), values.std(axis=0, ddof=1) / np.sqrt(K_SUBSAMPLES)


def _half_size(n_points: int) -> int:
    # the points each partition reads: half of the map, at most K_SUBSAMPLE_SIZE
    return min(K_SUBSAMPLE_SIZE, max(3, n_points // 2))


def smallest_within(candidates: np.ndarray, scores: np.ndarray, errors: np.ndarray) -> int:
    """The smallest candidate whose score is within one standard error of its difference from
    the best score, ``sqrt(errors[best]**2 + errors[k]**2)``."""
    return int(within_noise(candidates, scores, errors)[0])


def _kmeans(points: np.ndarray, k: int, seed: int) -> np.ndarray:
    # k-means, not the first round's mixture: on the t-SNE maps of docs/method.md both chose
    # the same K, and k-means costs a fraction of a 20-component mixture
    from sklearn.cluster import KMeans

    return KMeans(k, n_init=K_RESTARTS, random_state=seed).fit_predict(points)
