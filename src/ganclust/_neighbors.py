"""The read-out's neighbor vote (``read_out_neighbors``).

A sample's cluster probabilities are the mean of the clustering head's probabilities of its k
nearest training samples, in the standardised feature space of the trunk under the head. The
head alone decides each sample on its own; the vote lets the samples around it, which the
trunk's features place on the same stretch of the data, outvote a head that wavers near a
cluster boundary. A training sample is its own nearest neighbor, so ``labels_`` and
``predict`` on the training data agree.

The model therefore carries its reference samples' features: ``n x n_features`` float32 values
(128 per sample for the default conv backbone, 5 MB for 10,000 images), at most
``MAX_REFERENCE`` samples, drawn at random from larger training sets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

# reference samples kept at most: bounds the model file (about 10 MB with the conv backbone)
# and the neighbor search of each prediction
MAX_REFERENCE = 20_000


def reference_rows(n_samples: int, rng: np.random.RandomState) -> np.ndarray | None:
    """The training samples the vote keeps: all (None), or ``MAX_REFERENCE`` drawn by ``rng``."""
    if n_samples <= MAX_REFERENCE:
        return None
    return np.sort(rng.choice(n_samples, MAX_REFERENCE, replace=False))


@dataclass
class NeighborVote:
    """Reference samples' standardised features and cluster probabilities.

    Attributes
    ----------
    features : torch.Tensor of shape (n_reference, n_features)
        float32 features, standardised by ``mean`` and ``scale``.
    proba : torch.Tensor of shape (n_reference, n_clusters)
        float32 cluster probabilities of the same samples, in the networks' internal order.
    mean, scale : torch.Tensor of shape (n_features,)
        Standardisation of the trunk's features (per feature, from the reference samples).
    """

    features: torch.Tensor
    proba: torch.Tensor
    mean: torch.Tensor
    scale: torch.Tensor

    @classmethod
    def fit(cls, features: torch.Tensor, proba: torch.Tensor) -> NeighborVote:
        """Keep the reference samples (see :func:`reference_rows`) as the vote's reference.

        Parameters
        ----------
        features : torch.Tensor of shape (n_reference, n_features)
            The trunk's features of the reference samples.
        proba : torch.Tensor of shape (n_reference, n_clusters)
            The head's cluster probabilities of the same samples.
        """
        features = features.detach().cpu().double()
        proba = proba.detach().cpu().float()
        mean = features.mean(dim=0)
        # a constant feature (a dead unit) carries no distance; 1 leaves it at 0 after centring
        scale = features.std(dim=0)
        scale = torch.where(scale > 1e-8, scale, torch.ones_like(scale))
        standard = ((features - mean) / scale).float()
        return cls(standard, proba, mean.float(), scale.float())

    def vote(self, features: torch.Tensor, n_neighbors: int) -> torch.Tensor:
        """Mean reference probabilities of each sample's ``n_neighbors`` nearest references.

        Parameters
        ----------
        features : torch.Tensor of shape (n_samples, n_features)
            The trunk's features of the samples to read.
        n_neighbors : int
            How many references vote (fewer if there are fewer references).

        Returns
        -------
        torch.Tensor of shape (n_samples, n_clusters)
            float32 probabilities on the CPU; rows sum to 1.
        """
        queries = (features.detach().cpu().float() - self.mean) / self.scale
        k = min(n_neighbors, len(self.features))
        # exact search in float64, so that ties and near-ties resolve the same on every call
        search = NearestNeighbors(n_neighbors=k, algorithm="brute")
        search.fit(self.features.double().numpy())
        nearest = search.kneighbors(queries.double().numpy(), return_distance=False)
        return self.proba[torch.from_numpy(nearest)].mean(dim=1)

    def tensors(self) -> dict[str, torch.Tensor]:
        """The tensors to save, by name."""
        return {
            "features": self.features,
            "proba": self.proba,
            "mean": self.mean,
            "scale": self.scale,
        }

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor]) -> NeighborVote:
        """Rebuild a vote saved with :meth:`tensors`.

        Raises
        ------
        KeyError
            If a tensor is missing.
        ValueError
            If the tensors' shapes do not fit together.
        """
        vote = cls(*(tensors[name].float() for name in ("features", "proba", "mean", "scale")))
        n, width = vote.features.shape if vote.features.ndim == 2 else (-1, -1)
        if (
            width < 1
            or vote.proba.ndim != 2
            or len(vote.proba) != n
            or vote.mean.shape != (width,)
            or vote.scale.shape != (width,)
        ):
            raise ValueError("the neighbor vote's tensors do not fit together")
        return vote
