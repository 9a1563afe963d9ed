"""The rotation test of ``n_clusters="auto"``: which clusters are one class drawn two ways.

A t-SNE map draws MNIST's 1s as two islands, upright and slanted (about 26 degrees apart), and
a silhouette follows the islands. Two clusters between which a rotation a little larger than
the training's moves a large share of the members are one class written in two orientations;
two classes (4s and 9s) trade few. Measured in ``docs/method.md`` ("How many clusters").
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


def joined(links: np.ndarray) -> tuple[int, tuple[tuple[int, int, float], ...]]:
    """The number of clusters once those linked above ``LINK_SHARE`` are joined, and the
    linked pairs ``(a, b, link)``, ``a < b``."""
    from scipy.sparse.csgraph import connected_components

    above = links > LINK_SHARE
    rows, columns = np.nonzero(np.triu(above))
    pairs = tuple(
        (int(a), int(b), round(float(links[a, b]), 4)) for a, b in zip(rows, columns, strict=True)
    )
    count, _ = connected_components(above, directed=False)
    return int(count), pairs
