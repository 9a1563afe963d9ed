"""A consensus of several clusterings of the same samples (co-association, average linkage).

Two samples agree in as many of the clusterings as put them in one cluster; the consensus cuts
the average-linkage tree of the disagreement (the share of clusterings that separate them) into
K clusters. A merge or split that only some clusterings make is outvoted, and no clustering has
to be chosen as the reference (aligning clusters to one clustering and voting fails where that
one is the failed fit: docs/benchmarks.md, "A consensus of several fits").

The tree is built on at most ``max_samples`` samples; every sample is then assigned to the
consensus cluster it agrees with most, read from how often each cluster's members carry each
label in each clustering, so the cost beyond the tree is linear in the samples.
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist

# the average-linkage tree holds at most this many samples (its memory grows with their square)
MAX_SAMPLES = 4000


def consensus_labels(
    clusterings: list[np.ndarray],
    n_clusters: int,
    max_samples: int = MAX_SAMPLES,
    seed: int = 0,
) -> np.ndarray:
    """The co-association consensus of several clusterings.

    Parameters
    ----------
    clusterings : list of numpy.ndarray of shape (n_samples,)
        Integer cluster labels of the same samples, one array per clustering (at least two).
    n_clusters : int
        The number of consensus clusters.
    max_samples : int, default=MAX_SAMPLES
        The most samples the average-linkage tree is built on; above it, a random subset.
    seed : int, default=0
        Seeds the subset.

    Returns
    -------
    numpy.ndarray of shape (n_samples,)
        Consensus labels in ``range(n_clusters)``, numbered by decreasing size.
    """
    labels = _validated(clusterings, n_clusters)
    n = len(labels)
    tree_rows = np.arange(n)
    if n > max_samples:
        tree_rows = np.sort(np.random.default_rng(seed).choice(n, max_samples, replace=False))
    tree = linkage(pdist(labels[tree_rows], metric="hamming"), method="average")
    cut = fcluster(tree, n_clusters, criterion="maxclust") - 1
    # agreement of a sample with a consensus cluster: over the clusterings, the share of the
    # cluster's members that carry the sample's label there
    agreement = np.zeros((n, n_clusters))
    for column in labels.T:
        width = int(column.max()) + 1
        share = np.zeros((n_clusters, width))
        np.add.at(share, (cut, column[tree_rows]), 1.0)
        share /= np.maximum(share.sum(axis=1, keepdims=True), 1.0)
        agreement += share[:, column].T
    found = agreement.argmax(axis=1)
    # numbered by decreasing size, ties by the lower cluster, so that equal inputs give equal labels
    sizes = np.bincount(found, minlength=n_clusters)
    order = np.lexsort((np.arange(n_clusters), -sizes))
    renumber = np.empty(n_clusters, dtype=np.int64)
    renumber[order] = np.arange(n_clusters)
    return renumber[found]


def _validated(clusterings: list[np.ndarray], n_clusters: int) -> np.ndarray:
    if len(clusterings) < 2:
        raise ValueError(f"a consensus needs at least 2 clusterings, got {len(clusterings)}")
    arrays = [np.asarray(c) for c in clusterings]
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1 or any(a.ndim != 1 for a in arrays):
        raise ValueError(
            f"the clusterings must label the same samples: got lengths {sorted(lengths)}"
        )
    if not all(np.issubdtype(a.dtype, np.integer) for a in arrays):
        raise ValueError("cluster labels must be integers")
    labels = np.stack(arrays, axis=1)
    if labels.min() < 0:
        raise ValueError("cluster labels must be non-negative")
    n = len(labels)
    if not 1 <= n_clusters <= n:
        raise ValueError(f"n_clusters must be between 1 and the {n} samples, got {n_clusters}")
    return labels
