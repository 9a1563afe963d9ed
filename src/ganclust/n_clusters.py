"""``n_clusters="auto"``: the number of clusters, estimated from the data without labels.

K is read from the map the first pseudo-labels come from (:func:`ganclust.pseudo_labels.manifold`):
for every candidate K, a K-component Gaussian mixture partitions random halves of the map, and the
partition's silhouette on the map is measured. The estimate is the smallest K whose mean
silhouette is within one standard error of the best one (the "one standard error" rule of the
gap statistic): on a t-SNE map, the islands of a cluster that is really two styles of one class
(two ways of writing a 7) add a little silhouette, within the noise, and the rule does not follow
them. The first round then uses the same map, so "auto" adds the mixtures' cost and no second
t-SNE. Why the map and not the learned features: see ``docs/method.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .pseudo_labels import Manifold, manifold

# partitions per candidate K (each of a random half of the map), whose silhouettes give the mean
# and its standard error
K_SUBSAMPLES = 5
# the points each partition reads, at most (a half of the map below twice this)
K_SUBSAMPLE_SIZE = 3000
# restarts of each candidate's mixture
K_RESTARTS = 2
CRITERION = "silhouette of a Gaussian mixture on the t-SNE map; smallest K within 1 SE of the best"


@dataclass(frozen=True)
class KEstimate:
    """The number of clusters ``n_clusters="auto"`` chose, and the evidence for it.

    Attributes
    ----------
    n_clusters : int
        The estimate.
    candidates : numpy.ndarray of shape (n_candidates,)
        Every K considered, from 2 up to ``max_clusters``.
    scores : numpy.ndarray of shape (n_candidates,)
        Each candidate's mean silhouette (higher is better).
    errors : numpy.ndarray of shape (n_candidates,)
        The standard error of each mean, over ``K_SUBSAMPLES`` partitions.
    """

    n_clusters: int
    candidates: np.ndarray
    scores: np.ndarray
    errors: np.ndarray

    def score_of_k(self) -> dict[int, float]:
        """``{K: mean silhouette}`` for every candidate."""
        return {int(k): float(s) for k, s in zip(self.candidates, self.scores, strict=True)}

    def to_json(self) -> dict[str, Any]:
        """The estimate as plain JSON values (the model file and ``run.json``)."""
        return {
            "n_clusters": int(self.n_clusters),
            "criterion": CRITERION,
            "candidates": [int(k) for k in self.candidates],
            "scores": [float(s) for s in self.scores],
            "errors": [float(e) for e in self.errors],
        }

    @classmethod
    def from_json(cls, data: Any) -> KEstimate:
        """Rebuild from :meth:`to_json`, checking the types and lengths.

        Raises
        ------
        ValueError
            If ``data`` is not what :meth:`to_json` writes.
        """
        if not isinstance(data, dict):
            raise ValueError("n_clusters_estimate must be an object")
        k, candidates = data.get("n_clusters"), data.get("candidates")
        scores, errors = data.get("scores"), data.get("errors")
        lists = (candidates, scores, errors)
        if type(k) is not int or not all(isinstance(v, list) for v in lists):
            raise ValueError("n_clusters_estimate must hold n_clusters and three lists")
        if not len(candidates) == len(scores) == len(errors) or k not in candidates:
            raise ValueError("n_clusters_estimate's lists must match and include its estimate")
        if not all(type(c) is int and c >= 2 for c in candidates):
            raise ValueError("n_clusters_estimate's candidates must be integers >= 2")
        numbers = [*scores, *errors]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers):
            raise ValueError("n_clusters_estimate's scores and errors must be numbers")
        return cls(k, np.array(candidates), np.array(scores, float), np.array(errors, float))


def decide_k(
    params: dict[str, Any], method: str, data: Any, seed: int | None = None
) -> tuple[dict[str, Any], Manifold | None, KEstimate]:
    """Estimate ``n_clusters="auto"``: the parameters with K decided, the map, and why.

    The estimate reads the map the first initialisation's pseudo-labels come from, with that
    run's seed, and hands it on (None where the first round reads the data otherwise), so that
    "auto" computes no second t-SNE: a fit at the estimated K is the fit at that K given.

    Parameters
    ----------
    params : dict
        The estimator's ``get_params()``, with ``n_clusters="auto"``.
    method : str
        The estimator's method.
    data : torch.Tensor
        The preprocessed training data.
    seed : int, optional
        The fit's seed where it is already known (a resumed fit's); else drawn from
        ``random_state``, and returned in the parameters so that the fit uses the same one.
    """
    from ._settings import check_fit, fit_seed, seeds_of

    opts = check_fit(params, method, len(data))
    seed = fit_seed(params["random_state"]) if seed is None else seed
    first = seeds_of(seed, params["n_init"])[0][0]
    view = manifold(data, "tsne", first)
    estimate = estimate_n_clusters(view, params["max_clusters"], first)
    params = {**params, "n_clusters": estimate.n_clusters, "random_state": seed}
    return params, view if opts["init"] == "tsne" else None, estimate


def candidates_for(max_clusters: int, n_samples: int) -> np.ndarray:
    """The K that "auto" considers: 2 up to ``max_clusters``, and fewer than the samples."""
    return np.arange(2, min(max_clusters, n_samples - 1) + 1)


def estimate_n_clusters(view: Manifold, max_clusters: int, seed: int) -> KEstimate:
    """Estimate K from the first read-out's view of the data.

    Parameters
    ----------
    view : Manifold
        The t-SNE map of the training data (or, below 100 samples, its PCA values, which are
        partitioned by k-means instead of a mixture).
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
        If the data has fewer than 3 samples (no K between 2 and n - 1 exists).
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
            labels = _partition(points[half], int(k), seed + draw, view.is_map)
            # a partition that left fewer than two clusters separates nothing
            one = len(np.unique(labels)) < 2
            silhouettes[draw, column] = -1.0 if one else silhouette_score(points[half], labels)
    scores = silhouettes.mean(axis=0)
    errors = silhouettes.std(axis=0, ddof=1) / np.sqrt(K_SUBSAMPLES)
    best = int(scores.argmax())
    within = np.flatnonzero(scores >= scores[best] - errors[best])
    return KEstimate(int(candidates[within[0]]), candidates, scores, errors)


def _partition(points: np.ndarray, k: int, seed: int, is_map: bool) -> np.ndarray:
    if not is_map:
        from sklearn.cluster import KMeans

        return KMeans(k, n_init=K_RESTARTS, random_state=seed).fit_predict(points)
    from sklearn.mixture import GaussianMixture

    return GaussianMixture(k, n_init=K_RESTARTS, random_state=seed).fit_predict(points)
