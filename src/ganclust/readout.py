"""The read-out, frozen at fit: how a sample's cluster is read from the trained networks.

Three parts, decided once in ``fit`` and stored with the model:

- the clustering head's probabilities, averaged over the image and fixed shifted views of it
  (``view_strength`` > 0; vectors are always read alone);
- optionally, the neighbor vote (:mod:`ganclust._neighbors`): the mean read-out of the sample's
  ``n_neighbors`` nearest training samples in the trunk's standardised features;
- the public cluster order: public cluster 0 is the largest on the training data, so labels are
  contiguous from 0 and the numbering does not depend on which internal code won.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._neighbors import NeighborVote, reference_rows
from .inference import batched, cluster_proba
from .methods import METHODS, Method
from .rows import blocks, subset

# the neighbour vote reads this many samples' features at a time
VOTE_BLOCK = 16_384


@dataclass(frozen=True)
class ReadOut:
    """A fitted model's read-out.

    Attributes
    ----------
    method : str
        The estimator's method ("clustergan", "infogan" or "catgan").
    view_strength : float
        Size of the shifted views averaged with each image (0: read it alone).
    n_neighbors : int
        Nearest training samples that vote (0: the head alone; ``vote`` is then None).
    vote : NeighborVote or None
        The vote's reference samples.
    cluster_order : numpy.ndarray of shape (n_clusters,)
        Internal cluster of each public cluster.
    """

    method: str
    view_strength: float
    n_neighbors: int
    vote: NeighborVote | None
    cluster_order: np.ndarray

    def internal_proba(self, nets: nn.ModuleDict, data: torch.Tensor) -> torch.Tensor:
        """Cluster probabilities of preprocessed ``data`` in the networks' order, on the CPU."""
        method = METHODS[self.method]
        data = data.to(next(nets.parameters()).device)
        if self.vote is not None and self.n_neighbors:
            return voted(method, nets, data, self.vote, self.n_neighbors)
        return cluster_proba(method, nets, data, self.view_strength).cpu()

    def proba(self, nets: nn.ModuleDict, data: torch.Tensor) -> torch.Tensor:
        """Public cluster probabilities of preprocessed ``data``, on the CPU."""
        return self.to_public(self.internal_proba(nets, data))

    def to_public(self, proba: torch.Tensor) -> torch.Tensor:
        """Reorder internal cluster probabilities into the public order."""
        return proba[:, torch.from_numpy(self.cluster_order)]

    def public_of_internal(self) -> np.ndarray:
        """The public number of each internal cluster."""
        return np.argsort(self.cluster_order)


def voted(
    method: Method, nets: nn.ModuleDict, data: torch.Tensor, vote: NeighborVote, n_neighbors: int
) -> torch.Tensor:
    """The neighbour vote of every sample of ``data``, ``VOTE_BLOCK`` samples at a time.

    Only one block's features are held at once, so that reading a memory-mapped set needs
    memory for its K probabilities, not its features.
    """
    parts = [vote.vote(batched(method.features, nets, block), n_neighbors)
             for block in blocks(data, VOTE_BLOCK)]  # fmt: skip
    return torch.cat(parts)


def freeze(
    method: str,
    nets: nn.ModuleDict,
    data: torch.Tensor,
    head_proba: torch.Tensor,
    view_strength: float,
    n_neighbors: int,
    seed: int,
) -> tuple[ReadOut, torch.Tensor]:
    """Build the read-out of a trained run; return it and the training data's public proba.

    Parameters
    ----------
    method : str
        The method name.
    nets : torch.nn.ModuleDict
        The kept run's networks.
    data : torch.Tensor
        The preprocessed training data.
    head_proba : torch.Tensor of shape (n_samples, n_clusters)
        The head's probabilities of ``data`` with the shifted views (what the vote averages).
    view_strength : float
        Size of the shifted views.
    n_neighbors : int
        How many training samples vote (0: none).
    seed : int
        Draws the vote's reference subsample when the data is larger than its cap.
    """
    vote = None
    proba = head_proba
    if n_neighbors:
        data = data.to(next(nets.parameters()).device)
        keep = reference_rows(len(data), np.random.RandomState(seed))
        rows = data if keep is None else subset(data, keep)
        features = batched(METHODS[method].features, nets, rows)
        vote = NeighborVote.fit(features, head_proba if keep is None else head_proba[keep])
        # the same call as predict's, so labels_ is predict's answer on the training data
        proba = voted(METHODS[method], nets, data, vote, n_neighbors)
    counts = torch.bincount(proba.argmax(dim=1), minlength=proba.shape[1]).numpy()
    order = np.argsort(-counts, kind="stable").astype(np.int64)
    readout = ReadOut(method, float(view_strength), int(n_neighbors), vote, order)
    return readout, readout.to_public(proba)
