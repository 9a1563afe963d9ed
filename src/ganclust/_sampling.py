"""Generation helpers behind ``sample``: checking the requested clusters, and drawing from a
generator until every requested cluster has enough samples (CatGAN, whose generator has no
cluster code, so the model's own read-out labels each draw)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

# draw-and-keep gives up after this many generator draws per requested sample
MAX_DRAWS_PER_SAMPLE = 200


def wanted_clusters(n_samples: int, cluster: Any, n_clusters: int) -> np.ndarray | None:
    """The public cluster of each requested sample, or None for uniformly random clusters.

    Raises ``ValueError`` naming the problem unless ``cluster`` is None, one int or
    ``n_samples`` ints, each in ``0 .. n_clusters - 1``.
    """
    if cluster is None:
        return None
    wanted = np.asarray(cluster)
    if wanted.ndim > 1 or (wanted.ndim == 1 and len(wanted) != n_samples):
        raise ValueError(
            f"cluster must be one int or {n_samples} ints (one per sample); "
            f"got shape {wanted.shape}"
        )
    wanted = np.broadcast_to(wanted, (n_samples,))
    if wanted.dtype.kind not in "iu" or wanted.min() < 0 or wanted.max() >= n_clusters:
        raise ValueError(f"cluster must be an integer in 0..{n_clusters - 1}; got {cluster!r}")
    return wanted.astype(np.int64)


def draw_and_keep(
    draw: Callable[[int], tuple[torch.Tensor, np.ndarray]],
    n_samples: int,
    wanted: np.ndarray | None,
    n_clusters: int,
) -> tuple[torch.Tensor, np.ndarray]:
    """Call ``draw(batch)`` (samples and their public clusters) until ``wanted`` is filled.

    With ``wanted=None`` the first batch's first ``n_samples`` are returned as drawn. Otherwise
    the samples come back in the order of ``wanted``; ``RuntimeError`` names the clusters still
    short after ``MAX_DRAWS_PER_SAMPLE * n_samples`` draws.
    """
    pools: dict[int, list[torch.Tensor]] = {k: [] for k in range(n_clusters)}
    need = np.bincount(wanted, minlength=n_clusters) if wanted is not None else None
    batch = max(256, 2 * n_samples)
    drawn = 0
    while drawn < MAX_DRAWS_PER_SAMPLE * n_samples:
        fake, labels = draw(batch)
        drawn += batch
        if need is None:
            return fake[:n_samples], labels[:n_samples]
        for k in np.flatnonzero(need):
            have = sum(len(t) for t in pools[k])
            pools[k].append(fake[labels == k][: need[k] - have])
        missing = [int(k) for k in np.flatnonzero(need) if sum(map(len, pools[k])) < need[k]]
        if not missing:
            break
    else:
        raise RuntimeError(
            f"the generator rarely produces cluster(s) {missing}: fewer than requested after "
            f"{drawn} draws"
        )
    stacks = {k: torch.cat(pools[k]) for k in np.flatnonzero(need)}
    taken = dict.fromkeys(stacks, 0)
    rows = []
    for k in wanted:  # type: ignore[union-attr]
        rows.append(stacks[k][taken[k]])
        taken[k] += 1
    return torch.stack(rows), wanted  # type: ignore[return-value]
