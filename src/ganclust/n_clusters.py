"""``n_clusters="auto"``: the number of clusters, estimated from the data without labels.

K is estimated twice, each time on a 2-D t-SNE map. For every candidate K, k-means partitions
random halves of the map and the partition's silhouette on the map is measured; the estimate is
the smallest K whose mean silhouette is within one standard error of the difference from the
best one (a "one standard error" rule, as the gap statistic's), so that a cluster split into
two styles of one class, which adds a little silhouette within the noise, is not followed.

1. **The data's map**: the pixel t-SNE map (:func:`ganclust.pseudo_labels.manifold`). On
   images of 16 pixels a side or more under ``init="auto"``, the map under small rotations
   that the fit at a given K reads (:mod:`ganclust._rotation_map`) is drawn too, and two
   clusters of the pixel map that it draws as one island are one class (a class written at
   two slants, :func:`ganclust._rotation_links.map_links`); the first round then reads that
   map, so the fit is the one that K given makes. Elsewhere the first round reads the pixel
   map, and this look costs the k-means fits and no second t-SNE.
2. **The learned features' map**, once the first round of the fit at that K is trained (before
   refinement): the features separate the classes better than the data (on MNIST's digits 0-4
   the data's map says 6, the features of the fit at 6 say 5). If the second look names another
   K, the fit starts again at that K, from the same first map, and is then exactly the fit at
   that K given; if not, it goes on. So "auto" costs at most one first round more than a fit,
   and the looks. Measured in ``docs/method.md`` ("How many clusters").

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
from ._k_estimate import KEstimate
from ._rotation_links import MAP_LINK_SHARE, joined, map_links, rotation_links
from ._rotation_map import uses_rotations
from .pseudo_labels import (
    CONSENSUS_ITERATIONS,
    CONSENSUS_SAMPLES,
    Manifold,
    manifold,
    mixture_labels,
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
            view, estimate = rotation_look(data, view, estimate, first)
    estimate = dataclasses.replace(estimate, seconds=round(time.perf_counter() - started, 3))
    k = distributed.agreed(estimate.n_clusters)  # under torchrun, rank 0's estimate decides
    params = {**params, "n_clusters": k, "random_state": seed}
    return params, view if opts["init"] in ("auto", "tsne") else None, estimate


def rotation_look(
    data: torch.Tensor, pixels: Manifold, estimate: KEstimate, seed: int
) -> tuple[Manifold, KEstimate]:
    """The data look's rotation test: the map under rotations, and the estimate less the
    clusters of the pixel map (a K-component mixture at the estimate) that it joins.

    A silhouette on the pixel map counts MNIST's upright and slanted 1s as two clusters; on
    the map under rotations they are one island, while two classes that touch (4s and 9s)
    share far fewer links (``MAP_LINK_SHARE``). The fit's first round reads this map, as a fit
    at the K given does: without the test it would split another class for the extra cluster,
    which no rotation joins afterwards (MNIST's digits 0-4, docs/benchmarks.md).
    """
    rotated = manifold(data, "auto", seed)
    k = estimate.n_clusters
    labels = mixture_labels(pixels.points, k, seed)
    count, pairs = joined(map_links(labels, rotated.points, k), MAP_LINK_SHARE)
    if pairs:
        estimate = dataclasses.replace(estimate, n_clusters=max(2, count), linked=pairs)
    return rotated, estimate


def second_look(
    estimate: KEstimate | None, method: str, data: torch.Tensor, params: dict[str, Any]
) -> FeatureLook | None:
    """The look a fit takes at its learned features, or None: K was given, or a Gaussian
    mixture's BIC settled it (the features' silhouette would join close components again)."""
    if estimate is None or estimate.settled:
        return None
    return FeatureLook(method, data, params)


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
    """

    def __init__(self, method: str, data: torch.Tensor, params: dict[str, Any]) -> None:
        self.method, self.data = method, data
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
    from sklearn.metrics import silhouette_score

    points = view.points
    size = min(K_SUBSAMPLE_SIZE, max(3, len(points) // 2))
    candidates = candidates_for(max_clusters, size)
    if len(candidates) == 0:
        raise ValueError(
            f'n_clusters="auto" needs at least 6 samples to compare two or more K; got '
            f"{len(points)}"
        )
    rng = np.random.default_rng(seed)
    silhouettes = np.zeros((K_SUBSAMPLES, len(candidates)))
    for draw in range(K_SUBSAMPLES):
        half = rng.choice(len(points), size, replace=False)
        for column, k in enumerate(candidates):
            labels = _kmeans(points[half], int(k), seed + draw)
            # a partition that left fewer than two clusters separates nothing
            one = len(np.unique(labels)) < 2
            silhouettes[draw, column] = -1.0 if one else silhouette_score(points[half], labels)
    scores = silhouettes.mean(axis=0)
    errors = silhouettes.std(axis=0, ddof=1) / np.sqrt(K_SUBSAMPLES)
    return KEstimate(smallest_within(candidates, scores, errors), candidates, scores, errors)


def smallest_within(candidates: np.ndarray, scores: np.ndarray, errors: np.ndarray) -> int:
    """The smallest candidate whose score is within one standard error of its difference from
    the best score, ``sqrt(errors[best]**2 + errors[k]**2)``."""
    best = int(scores.argmax())
    margin = np.sqrt(errors[best] ** 2 + errors**2)
    return int(candidates[np.flatnonzero(scores >= scores[best] - margin)[0]])


def _kmeans(points: np.ndarray, k: int, seed: int) -> np.ndarray:
    # k-means, not the first round's mixture: on the t-SNE maps of docs/method.md both chose
    # the same K, and k-means costs a fraction of a 20-component mixture
    from sklearn.cluster import KMeans

    return KMeans(k, n_init=K_RESTARTS, random_state=seed).fit_predict(points)
