"""The warnings a finished fit gives: a collapsed cluster, a suspected merge, a rollback, an
unsure number of clusters."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._fit import LOW_QUALITY, small_clusters
from ._k_doubts import in_doubt
from ._k_estimate import KEstimate


class ClusterCollapseWarning(UserWarning):
    """A fitted model leaves one or more clusters empty or nearly empty."""


class ClusterQualityWarning(UserWarning):
    """The refinement's t-SNE maps disagree on one or more clusters (``cluster_quality_``)."""


class ClusterCountWarning(UserWarning):
    """``n_clusters="auto"``'s looks left K in doubt: they disagree, or one of them is flat."""


class DivergenceWarning(UserWarning):
    """Training diverged and was rolled back with a lower learning rate (see ``history_``)."""


# each warning names the user's call to fit: warn <- this module <- fit <- the caller
_STACK = 3


def warn_rollbacks(name: str, inits: Any) -> None:
    """Say how often training diverged and was rolled back, in any initialisation."""
    # any initialisation's: a rollback in one that was not kept still changed the choice
    rollbacks = [row for run in inits.runs for row in run.result.history if "rollback" in row]
    if rollbacks:
        last = rollbacks[-1]
        warnings.warn(
            f"{name}: training diverged {len(rollbacks)} time(s) ({last['rollback']}) and was "
            f"rolled back to the start of its epoch; the learning rate was lowered to "
            f"{last['learning_rate']:g}",
            DivergenceWarning,
            stacklevel=_STACK,
        )


def warn_collapse(name: str, cluster_sizes: np.ndarray, n_runs: int) -> None:
    """Name the clusters holding under a tenth of their fair share."""
    small = small_clusters(cluster_sizes)
    if len(small):
        sizes = ", ".join(f"{k} ({cluster_sizes[k]} samples)" for k in small)
        warnings.warn(
            f"{name}: cluster(s) {sizes} are empty or nearly empty out of "
            f"{int(cluster_sizes.sum())} samples after {n_runs} initialisation(s); try "
            "n_init > 1, more epochs or fewer clusters",
            ClusterCollapseWarning,
            stacklevel=_STACK,
        )


def warn_quality(name: str, quality: np.ndarray) -> None:
    """Name the clusters the refinement's maps disagree on (``cluster_quality_``)."""
    low = np.flatnonzero(quality < LOW_QUALITY)  # NaN (unmeasured) compares False
    if len(low):
        named = ", ".join(f"{k} ({quality[k]:.2f})" for k in low)
        warnings.warn(
            f"{name}: the refinement's t-SNE maps disagree on cluster(s) {named}: each may be "
            f"two groups merged, or one group split with another cluster (a quality of 1 is "
            f"full agreement; see cluster_quality_); try n_init > 1, or another n_clusters",
            ClusterQualityWarning,
            stacklevel=_STACK,
        )


def warn_unsure_k(name: str, estimate: KEstimate | None) -> None:
    """Say that ``n_clusters="auto"`` left K in doubt, and why."""
    doubt = in_doubt(estimate.to_json()) if estimate is not None else None
    if estimate is None or doubt is None:
        return
    why, low, high = doubt
    warnings.warn(
        f'{name}: n_clusters="auto" is unsure of K: {why}; the model has K={estimate.chosen}. '
        f"Compare fits at K={low} to {high} (n_clusters_scores_ holds the last look's "
        "silhouettes), or give n_clusters",
        ClusterCountWarning,
        stacklevel=_STACK,
    )
