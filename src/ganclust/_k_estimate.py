"""The record of how ``n_clusters="auto"`` chose K (:class:`KEstimate`), and its JSON.

Kept with the model (its file and ``run.json``) and read back with every type checked, since a
model file is data from outside (:mod:`ganclust.n_clusters` takes the looks).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ._gaussian_look import COVARIANCES
from ._k_doubts import doubts

CRITERION = (
    "on vectors that a Gaussian mixture describes, the lowest BIC of the mixtures; otherwise the "
    "silhouette of k-means on a t-SNE map, the smallest K within 1 SE of its difference from the "
    "best; on images, the map under rotations may take one less (which the features may not "
    "add back), and clusters that a 20-degree rotation links are one"
)
# what a look's scores measure: a mean silhouette, or minus the BIC per sample of a mixture
MEASURES = ("silhouette", "bic")


@dataclass(frozen=True)
class KEstimate:
    """How ``n_clusters="auto"`` chose K: one look at a map, and the evidence for it.

    Attributes
    ----------
    n_clusters : int
        This look's estimate.
    candidates : numpy.ndarray of shape (n_candidates,)
        Every K considered, from 2 up to ``max_clusters``.
    scores : numpy.ndarray of shape (n_candidates,)
        Each candidate's score, higher is better: its mean silhouette, or (``measure="bic"``)
        minus the BIC per sample of its Gaussian mixture.
    errors : numpy.ndarray of shape (n_candidates,)
        The standard error of each mean silhouette, over ``K_SUBSAMPLES`` partitions (0 for a
        BIC).
    seconds : float
        Wall-clock seconds of the looks (a fit's ``phase_seconds_["n_clusters"]``).
    features : KEstimate or None
        The second look, on the learned features of the fit at the data look's K; its estimate
        is the K the model has (at most the data look's K where the map under rotations lowered
        it, see ``rotated``).
    rotated : KEstimate or None
        On images that ``init="auto"`` maps under small rotations, the data look's check on that
        map: the silhouettes of this look's estimate and of one less, the higher of which is the
        data look's K. None otherwise.
    linked : tuple of (int, int, float)
        In the second look on images, the pairs of the first round's clusters that a rotation
        links, with the share of members it moves between them: each pair joined lowers the
        estimate by one below that round's K (see :func:`rotation_links`). Empty otherwise.
    measure : {"silhouette", "bic"}
        What the scores are: "bic" where a Gaussian mixture describes the vectors and its BIC
        decided K (:mod:`ganclust._gaussian_look`); the fit then takes no second look.
    gaussian : dict or None
        On vectors, the data look's Gaussian mixture: its covariance, K, Mahalanobis spread and
        whether it describes the data (:meth:`GaussianFit.to_json`). None otherwise.
    """

    n_clusters: int
    candidates: np.ndarray
    scores: np.ndarray
    errors: np.ndarray
    seconds: float = 0.0
    features: KEstimate | None = None
    linked: tuple[tuple[int, int, float], ...] = ()
    measure: str = "silhouette"
    gaussian: dict[str, Any] | None = None
    rotated: KEstimate | None = None

    @property
    def chosen(self) -> int:
        """The K the model was fitted with: the last look's estimate."""
        if self.features is not None:
            return self.features.chosen
        return self.rotated.n_clusters if self.rotated is not None else self.n_clusters

    @property
    def ceiling(self) -> int | None:
        """The largest K the second look may name: the data look's K where the map under
        rotations clearly took one less than the pixel map (:func:`clearly_fewer`), else None."""
        if self.rotated is None or not clearly_fewer(self.rotated._look()):
            return None
        return self.rotated.n_clusters

    @property
    def data_k(self) -> int:
        """The data look's K, which the first round trains at: the map under rotations' choice
        where it was read, else this look's estimate."""
        return self.rotated.n_clusters if self.rotated is not None else self.n_clusters

    @property
    def unsure(self) -> bool:
        """Whether the looks left K in doubt (:func:`ganclust._k_doubts.doubts`)."""
        return bool(doubts(self.to_json()))

    @property
    def settled(self) -> bool:
        """Whether this look decided K for good: a Gaussian mixture's BIC takes no second look."""
        return self.measure == "bic"

    def score_of_k(self) -> dict[int, float]:
        """``{K: score}`` of the last look that scored every candidate (see ``measure``)."""
        if self.features is not None:
            return self.features.score_of_k()
        return {int(k): float(s) for k, s in zip(self.candidates, self.scores, strict=True)}

    def to_json(self) -> dict[str, Any]:
        """The estimate as plain JSON values (the model file and ``run.json``)."""
        return {
            "n_clusters": int(self.chosen),
            "criterion": CRITERION,
            "data_map": self._look(),
            "features": self.features._look() if self.features is not None else None,
            "seconds": float(self.seconds),
        }

    def _look(self) -> dict[str, Any]:
        return {
            "n_clusters": int(self.n_clusters),
            "candidates": [int(k) for k in self.candidates],
            "scores": [float(s) for s in self.scores],
            "errors": [float(e) for e in self.errors],
            "linked": [[int(a), int(b), float(share)] for a, b, share in self.linked],
            "measure": self.measure,
            "gaussian": self.gaussian,
            "rotated": self.rotated._look() if self.rotated is not None else None,
        }

    @classmethod
    def from_json(cls, data: Any) -> KEstimate:
        """Rebuild from :meth:`to_json`, checking the types and lengths.

        Raises
        ------
        ValueError
            If ``data`` is not what :meth:`to_json` writes.
        """
        if not isinstance(data, dict) or not isinstance(data.get("data_map"), dict):
            raise ValueError("n_clusters_estimate must be an object with a data_map")
        features = data.get("features")
        second = _look_from_json(features) if features is not None else None
        first = replace(_look_from_json(data["data_map"]), features=second)
        seconds = data.get("seconds", 0.0)
        if not _is_number(seconds) or first.chosen != data.get("n_clusters"):
            raise ValueError("n_clusters_estimate's n_clusters must be its last look's")
        return replace(first, seconds=float(seconds))


def _look_from_json(data: Any, nested: bool = False) -> KEstimate:
    if not isinstance(data, dict):
        raise ValueError("each look of n_clusters_estimate must be an object")
    rotated = data.get("rotated")  # files written before the map under rotations have none
    if rotated is not None and nested:
        raise ValueError("n_clusters_estimate's rotated look cannot hold another")
    rotated = _look_from_json(rotated, nested=True) if rotated is not None else None
    k, candidates = data.get("n_clusters"), data.get("candidates")
    scores, errors = data.get("scores"), data.get("errors")
    lists = (candidates, scores, errors)
    if type(k) is not int or not all(isinstance(v, list) for v in lists):
        raise ValueError("each look of n_clusters_estimate must hold n_clusters and three lists")
    if not len(candidates) == len(scores) == len(errors) or k not in candidates:
        raise ValueError("n_clusters_estimate's lists must match and include its estimate")
    if not all(type(c) is int and c >= 2 for c in candidates):
        raise ValueError("n_clusters_estimate's candidates must be integers >= 2")
    if not all(_is_number(v) for v in [*scores, *errors]):
        raise ValueError("n_clusters_estimate's scores and errors must be numbers")
    linked = data.get("linked", [])  # files written before the rotation test have none
    if not isinstance(linked, list) or not all(_is_pair(pair) for pair in linked):
        raise ValueError("n_clusters_estimate's linked must be a list of [cluster, cluster, share]")
    measure = data.get("measure", "silhouette")  # files written before the BIC have none
    if measure not in MEASURES:
        raise ValueError(f"n_clusters_estimate's measure must be one of {MEASURES}")
    gaussian = data.get("gaussian")
    if gaussian is not None and not _is_gaussian(gaussian):
        raise ValueError("n_clusters_estimate's gaussian must be what a Gaussian look writes")
    arrays = np.array(candidates), np.array(scores, float), np.array(errors, float)
    pairs = tuple((a, b, float(share)) for a, b, share in linked)
    return KEstimate(k, *arrays, linked=pairs, measure=measure, gaussian=gaussian, rotated=rotated)


def clearly_fewer(rotated: dict[str, Any]) -> bool:
    """Whether a look on the map under rotations (as JSON) chose one less than the pixel map's
    estimate by more than the standard error of the two silhouettes' difference; a narrower
    win leaves K to the second look (MNIST-10k's seed 2 won by 0.002 for 9 where its features
    said 10)."""
    if len(rotated["candidates"]) < 2 or rotated["n_clusters"] != rotated["candidates"][0]:
        return False
    (fewer, more), (error_fewer, error_more) = rotated["scores"], rotated["errors"]
    return bool(fewer - more > np.hypot(error_fewer, error_more))


def _is_gaussian(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and data.get("covariance") in COVARIANCES
        and type(data.get("n_clusters")) is int
        and _is_number(data.get("spread"))
        and isinstance(data.get("describes"), bool)
    )


def _is_pair(pair: Any) -> bool:
    return (
        isinstance(pair, list)
        and len(pair) == 3
        and all(type(c) is int and c >= 0 for c in pair[:2])
        and _is_number(pair[2])
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
