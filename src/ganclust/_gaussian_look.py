"""``n_clusters="auto"`` on vectors that a Gaussian mixture describes: the mixture's BIC.

A silhouette prefers the K that leaves the clusters far apart, so where two components of a
mixture lie close compared with the others it joins them. Where the data *is* a Gaussian
mixture, the likelihood knows better: the Bayesian information criterion of mixtures fitted at
every candidate K names the true K. On data no mixture describes (images, most real
features) the BIC keeps falling as components are added and names nearly the largest K, so it
is used only where the mixture fits:

1. Mixtures with diagonal and with full covariances are fitted at every candidate K on (at most
   ``MAX_SAMPLES`` of) the vectors, reduced by PCA to at most ``DIMS`` dimensions; the lowest
   BIC of either kind names a K and a covariance.
2. That mixture **describes** the data where its components' squared Mahalanobis distances
   spread as a Gaussian's do: their variance, over the chi-squared variance ``2 d`` that a
   Gaussian's have, is within ``SPREAD_TOLERANCE`` of 1 (weighted by the components' sizes).
3. Where it does, the candidates within ``WINDOW`` of that K are fitted again with
   ``WINDOW_RESTARTS`` restarts each (a mixture stuck in a poor optimum makes the BIC uneven
   from one K to the next), and the lowest BIC decides.

The same test serves a fit at a given K (``init="auto"``, the default): where a K-component
mixture describes the vectors, :func:`gaussian_read` gives its components as the first
pseudo-labels instead of the t-SNE map's, since on such data the mixture is the model the map
only approximates.

The measurements behind each constant are in docs/method.md ("How many clusters", and step 1
of "What ganclust adds").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from .rows import Rows, take

# the samples the mixtures are fitted on, at most (a random subset above)
MAX_SAMPLES = 5000
# dimensions kept by PCA before the mixtures are fitted (full covariances cost d^2 per component)
DIMS = 20
COVARIANCES = ("diag", "full")
# restarts of each candidate's mixture in the sweep, and of the candidates near its best
SWEEP_RESTARTS = 2
WINDOW = 2
WINDOW_RESTARTS = 10
# how far the components' Mahalanobis spread (1 for a Gaussian) may be from 1, and the fewest
# members a component's spread is read from (a smaller one's variance is mostly noise)
SPREAD_TOLERANCE = 0.3
MIN_MEMBERS = 20
Reduce = Callable[[np.ndarray], np.ndarray]
# samples labelled at a time by gaussian_read (the data may be rows on disk)
READ_CHUNK = 65_536


@dataclass(frozen=True)
class GaussianFit:
    """The Gaussian look at vectors: the best mixture of the sweep and whether it fits.

    Attributes
    ----------
    covariance : {"diag", "full"}
        The covariance of the sweep's lowest BIC.
    n_clusters : int
        The K of the lowest BIC (after the restarts near it, where the mixture describes the
        data).
    spread : float
        The variance of its components' squared Mahalanobis distances over a Gaussian's.
    candidates, bic : numpy.ndarray
        Every candidate K and the BIC per sample of its mixture of that covariance.
    """

    covariance: str
    n_clusters: int
    spread: float
    candidates: np.ndarray
    bic: np.ndarray

    @property
    def describes(self) -> bool:
        """Whether the mixture describes the data, so that its BIC decides K."""
        return describes(self.spread)

    def to_json(self) -> dict[str, Any]:
        """The look as plain JSON values (the data look's ``gaussian``)."""
        return {
            "covariance": self.covariance,
            "n_clusters": int(self.n_clusters),
            "spread": float(self.spread),
            "describes": self.describes,
        }


def gaussian_look(data: torch.Tensor | Rows, max_clusters: int, seed: int) -> GaussianFit | None:
    """Fit Gaussian mixtures at every candidate K; see the module's docstring.

    Parameters
    ----------
    data : torch.Tensor or ganclust.rows.Rows
        The preprocessed vectors (N, D); only the subsample is read.
    max_clusters : int
        The largest candidate.
    seed : int
        Seed of the subsample, the PCA and the mixtures.

    Returns
    -------
    GaussianFit or None
        None where the samples are too few for two candidates of ``MIN_MEMBERS`` members each.
        The candidates run from 2 to ``max_clusters`` or the samples over ``MIN_MEMBERS``,
        whichever is fewer.
    """
    rows = _subsample(len(data), seed)
    # a component fitted to a handful of points fits them too well: K is at most N / MIN_MEMBERS
    candidates = np.arange(2, min(max_clusters, len(rows) // MIN_MEMBERS) + 1)
    if len(candidates) < 2:
        return None
    _, points = _reduced(take(data, rows).double().numpy(), seed)
    best: tuple[float, str, np.ndarray, Any] | None = None
    for covariance in COVARIANCES:
        fits = [_mixture(points, int(k), covariance, SWEEP_RESTARTS, seed) for k in candidates]
        bic = np.array([fit.bic(points) for fit in fits]) / len(points)
        at = int(bic.argmin())
        if best is None or bic[at] < best[0]:
            best = (float(bic[at]), covariance, bic, fits[at])
    assert best is not None
    _, covariance, bic, fit = best
    spread = mahalanobis_spread(fit, points)
    look = GaussianFit(covariance, fit.n_components, spread, candidates, bic)
    if not look.describes:
        return look
    near = candidates[np.abs(candidates - look.n_clusters) <= WINDOW]
    again = [_mixture(points, int(c), covariance, WINDOW_RESTARTS, seed) for c in near]
    bic = bic.copy()
    bic[np.isin(candidates, near)] = [m.bic(points) / len(points) for m in again]
    return replace(look, n_clusters=int(candidates[int(bic.argmin())]), bic=bic)


def gaussian_read(data: torch.Tensor | Rows, n_clusters: int, seed: int) -> np.ndarray | None:
    """Every sample's component in a K-component Gaussian mixture, where that mixture describes
    the vectors.

    Parameters
    ----------
    data : torch.Tensor or ganclust.rows.Rows
        The preprocessed vectors (N, D); read in chunks.
    n_clusters : int
        K.
    seed : int
        Seed of the subsample, the PCA and the mixtures.

    Returns
    -------
    numpy.ndarray or None
        (N,) component ids: those of the mixture (diagonal or full covariances, the lower BIC,
        ``WINDOW_RESTARTS`` restarts) fitted on at most ``MAX_SAMPLES`` of the vectors after PCA
        to at most ``DIMS`` dimensions. None where its spread (see :func:`mahalanobis_spread`)
        is more than ``SPREAD_TOLERANCE`` from a Gaussian's, or where the samples are fewer
        than ``MIN_MEMBERS`` a component.
    """
    rows = _subsample(len(data), seed)
    if len(rows) < n_clusters * MIN_MEMBERS:
        return None
    reduce, points = _reduced(take(data, rows).double().numpy(), seed)
    fits = [_mixture(points, n_clusters, c, WINDOW_RESTARTS, seed) for c in COVARIANCES]
    mixture = min(fits, key=lambda fit: fit.bic(points))
    if not describes(mahalanobis_spread(mixture, points)):
        return None
    labels = np.empty(len(data), dtype=np.int64)
    for start in range(0, len(data), READ_CHUNK):
        chunk = take(data, np.arange(start, min(start + READ_CHUNK, len(data))))
        labels[start : start + len(chunk)] = mixture.predict(reduce(chunk.double().numpy()))
    return labels


def _subsample(n: int, seed: int) -> np.ndarray:
    if n <= MAX_SAMPLES:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, MAX_SAMPLES, replace=False))


def _reduced(points: np.ndarray, seed: int) -> tuple[Reduce, np.ndarray]:
    """PCA to at most ``DIMS`` dimensions, fitted on ``points``: the map and ``points`` mapped."""
    from sklearn.decomposition import PCA

    if points.shape[1] <= DIMS:
        return (lambda x: x), points
    pca = PCA(DIMS, random_state=seed)
    reduced = pca.fit_transform(points)  # as the look computed it before gaussian_read shared it
    return pca.transform, reduced


def _mixture(points: np.ndarray, k: int, covariance: str, restarts: int, seed: int) -> Any:
    from sklearn.mixture import GaussianMixture

    mixture = GaussianMixture(k, covariance_type=covariance, n_init=restarts, random_state=seed)
    return mixture.fit(points)


def describes(spread: float) -> bool:
    """Whether a mixture whose Mahalanobis spread is ``spread`` describes the data: within
    ``SPREAD_TOLERANCE`` of a Gaussian's 1."""
    return bool(abs(spread - 1.0) <= SPREAD_TOLERANCE)


def mahalanobis_spread(mixture: Any, points: np.ndarray) -> float:
    """The variance of each component's squared Mahalanobis distances over ``2 d`` (that of a
    d-dimensional Gaussian's), averaged over the components of ``MIN_MEMBERS`` or more by their
    members; infinite where there is none."""
    labels = mixture.predict(points)
    d = points.shape[1]
    ratios, sizes = [], []
    for c in range(mixture.n_components):
        members = points[labels == c]
        if len(members) < MIN_MEMBERS:
            continue
        offsets = members - mixture.means_[c]
        if mixture.covariance_type == "diag":
            squared = (offsets**2 / mixture.covariances_[c]).sum(axis=1)
        else:
            squared = np.einsum("ij,jk,ik->i", offsets, mixture.precisions_[c], offsets)
        ratios.append(np.var(squared) / (2 * d))
        sizes.append(len(members))
    if not sizes:
        return float("inf")
    return float(np.average(ratios, weights=sizes))
