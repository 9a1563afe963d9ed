"""The rotation tests of ``n_clusters="auto"``: which clusters are one class drawn two ways.

A t-SNE map of pixels draws MNIST's 1s as two islands, upright and slanted (about 26 degrees
apart), and a silhouette follows the islands. Two tests join such clusters, each measured in
``docs/method.md`` ("How many clusters"):

- on the data (:func:`map_links`): clusters of the pixel map that share a large part of their
  neighbours on the map under small rotations (:mod:`ganclust._rotation_map`), where the two
  islands of one class are one;
- on a trained first round (:func:`rotation_links`): clusters between which a rotation a little
  larger than the training's moves a large share of the members; two classes (4s and 9s) trade
  few.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

# the rotation (degrees, either way) under which clusters that trade members are one class: a
# little more than the training's +-12, less than the 26 between MNIST's upright and slanted 1s
LINK_ROTATION = 20.0
# the share of two clusters' members that the rotation moves between them, above which the two
# are one class: 0.37-0.39 between the two clusters of 1s on MNIST-10k, at 16x16 and on its digits
# 0-4; at most 0.11 between two classes there (4 and 9), 0.07 on sklearn's digits (docs/method.md)
LINK_SHARE = 0.25
# the samples the rotation test reads, at most
LINK_SAMPLES = 4000
# the share of neighbour links on the map under rotations, per member of the smaller of two
# clusters of the pixel map, above which the two are one class: 0.28-0.38 between the two
# islands of 1s on MNIST-10k, its 16x16 and its digits 0-4, at most 0.18 between two classes
# there (4 and 9; docs/method.md)
MAP_LINK_SHARE = 0.22


def rotation_links(
    method: str, nets: torch.nn.ModuleDict, data: Any, seed: int
) -> np.ndarray | None:
    """The share of members that a rotation moves between each two clusters; None for vectors.

    Up to ``LINK_SAMPLES`` images are assigned by the clustering head, then rotated by
    ``LINK_ROTATION`` degrees each way and assigned again. ``moved[a, b]`` is the share of
    cluster a's members that land in b, averaged over both rotations; the links are the
    symmetric ``(moved + moved.T) / 2``, with a zero diagonal. A cluster with under 10 members
    in the sample links to none.

    Parameters
    ----------
    method : str
        The estimator's method.
    nets : torch.nn.ModuleDict
        Trained networks.
    data : torch.Tensor or Rows
        The preprocessed training data.
    seed : int
        Seed of the sample.

    Returns
    -------
    numpy.ndarray of shape (n_clusters, n_clusters) or None
    """
    from .augment import rotated
    from .inference import cluster_logits
    from .methods import METHODS
    from .rows import take

    if data.dim() != 4:
        return None
    rng = np.random.default_rng(seed)
    index = np.sort(rng.choice(len(data), min(LINK_SAMPLES, len(data)), replace=False))
    device = next(nets.parameters()).device
    sample = take(data, index).to(device)
    spec = METHODS[method]
    logits = cluster_logits(spec, nets, sample)
    before, k = logits.argmax(dim=1).cpu().numpy(), int(logits.shape[1])
    moved = np.zeros((k, k))
    for degrees in (-LINK_ROTATION, LINK_ROTATION):
        after = cluster_logits(spec, nets, rotated(sample, degrees)).argmax(dim=1).cpu().numpy()
        moved += np.bincount(before * k + after, minlength=k * k).reshape(k, k) / 2
    members = np.bincount(before, minlength=k)
    moved = np.where(members[:, None] >= 10, moved / np.maximum(members, 1)[:, None], 0.0)
    links = (moved + moved.T) / 2
    np.fill_diagonal(links, 0.0)
    return links


def map_links(labels: np.ndarray, rotated_map: np.ndarray, n_clusters: int) -> np.ndarray:
    """How much of two clusters of the pixel map the map under rotations draws as one island.

    ``links[a, b]`` counts the nearest-neighbour links (``_map_pieces.LINK_NEIGHBORS`` a point)
    on the map under rotations between members of a and of b, both ways, per link of the smaller
    cluster's members: near 0 for islands apart, large for two halves of one island.

    Parameters
    ----------
    labels : numpy.ndarray of shape (n_samples,)
        The clusters of the samples on the pixel map.
    rotated_map : numpy.ndarray of shape (n_samples, 2)
        The same samples on the map under rotations.
    n_clusters : int
        K of ``labels``.

    Returns
    -------
    numpy.ndarray of shape (n_clusters, n_clusters)
        Symmetric, with a zero diagonal.
    """
    from ._map_pieces import map_neighbors

    neighbors = map_neighbors(rotated_map)
    links = np.zeros((n_clusters, n_clusters))
    np.add.at(links, (np.repeat(labels, neighbors.shape[1]), labels[neighbors].ravel()), 1.0)
    links += links.T
    np.fill_diagonal(links, 0.0)
    sizes = np.bincount(labels, minlength=n_clusters)
    smaller = np.maximum(np.minimum.outer(sizes, sizes), 1) * neighbors.shape[1]
    return links / smaller


def joined(
    links: np.ndarray, share: float = LINK_SHARE
) -> tuple[int, tuple[tuple[int, int, float], ...]]:
    """The number of clusters once those linked above ``share`` are joined, and the linked
    pairs ``(a, b, link)``, ``a < b``."""
    from scipy.sparse.csgraph import connected_components

    above = links > share
    rows, columns = np.nonzero(np.triu(above))
    pairs = tuple(
        (int(a), int(b), round(float(links[a, b]), 4)) for a, b in zip(rows, columns, strict=True)
    )
    count, _ = connected_components(above, directed=False)
    return int(count), pairs
