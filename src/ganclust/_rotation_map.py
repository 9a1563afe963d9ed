"""The first map of images, drawn from neighbours that small rotations do not separate.

A t-SNE map of pixels places an image by its nearest neighbours in pixels, so one class written
at two slants (MNIST's 1s, upright and about 26 degrees off) becomes two islands, and the
K-component mixture that reads the map spends a component on each and merges two other classes
into one. Imbalanced classes make it worse: a large class drawn as two islands takes a small
class's component. The training already treats a rotation of up to
:data:`ganclust.augment.MAX_ROTATION` degrees as changing nothing (its augmentations), so the map
of ``init="auto"`` does too: the distance from an image to another is the smallest over the
image and its rotations by that angle either way, and t-SNE reads the neighbours of that
distance. Measured in ``docs/benchmarks.md`` ("The first map under small rotations").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .augment import MAX_ROTATION, rotated

# on smaller images a rotation's interpolation blurs more than the rotation moves strokes:
# sklearn's 8x8 digits lost 0.05-0.13 of their first read-out at 6 or 12 degrees, up to 0.01 at 3
# (docs/benchmarks.md)
MIN_SIDE = 16
# images rotated and reduced at a time, so that large images take bounded memory
CHUNK = 1024


def uses_rotations(x: Any) -> bool:
    """Whether ``init="auto"`` maps ``x`` by its neighbours under rotation: images of at least
    ``MIN_SIDE`` pixels a side."""
    return x.dim() == 4 and min(x.shape[2:]) >= MIN_SIDE


def rotation_embed(
    images: torch.Tensor, pca: Any, reduced: np.ndarray, seed: int, iterations: int
) -> np.ndarray:
    """The 2-D t-SNE map of images whose distances ignore small rotations.

    Parameters
    ----------
    images : torch.Tensor
        (N, C, H, W) images, the samples the map reads.
    pca : sklearn.decomposition.PCA or None
        The PCA that reduced them (None where they were not reduced); their rotations are
        reduced by it too.
    reduced : numpy.ndarray of shape (N, D)
        The images as the PCA reduced them.
    seed : int
        Seed of t-SNE.
    iterations : int
        t-SNE's iterations, early exaggeration included.

    Returns
    -------
    numpy.ndarray of shape (N, 2)
    """
    from sklearn.manifold import TSNE

    tsne = TSNE(2, metric="precomputed", init=_pca_start(reduced, seed), random_state=seed,
                max_iter=iterations)  # fmt: skip
    # scikit-learn reads int(3 * perplexity + 1) neighbours of each sample, and one more of a graph
    neighbours = min(len(reduced) - 1, int(3.0 * tsne.perplexity + 1) + 1)
    return tsne.fit_transform(rotation_graph(images, pca, reduced, neighbours))


def rotation_graph(images: torch.Tensor, pca: Any, reduced: np.ndarray, neighbours: int) -> Any:
    """The ``neighbours`` nearest other samples of each sample, by the distance from it or its
    rotations by ``MAX_ROTATION`` degrees either way, as a sparse (N, N) distance matrix."""
    from scipy.sparse import csr_matrix
    from sklearn.neighbors import NearestNeighbors

    index = NearestNeighbors(n_neighbors=neighbours + 1).fit(reduced)
    rows, columns, distances = [], [], []
    for degrees in (0.0, -MAX_ROTATION, MAX_ROTATION):
        query = reduced if degrees == 0 else _rotated_reduced(images, pca, degrees)
        found, near = index.kneighbors(query)
        rows.append(np.repeat(np.arange(len(reduced)), neighbours + 1))
        columns.append(near.ravel())
        distances.append(found.ravel())
    row, column, distance = (np.concatenate(parts) for parts in (rows, columns, distances))
    other = row != column
    row, column, distance = _nearest(row[other], column[other], distance[other], neighbours)
    # built from its rows as they are, so that each row stays ordered by distance
    starts = np.searchsorted(row, np.arange(len(reduced) + 1))
    return csr_matrix((distance, column, starts), shape=(len(reduced), len(reduced)))


def _nearest(
    row: np.ndarray, column: np.ndarray, distance: np.ndarray, neighbours: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each pair's smallest distance, then each row's ``neighbours`` nearest columns."""
    order = np.lexsort((distance, column, row))
    row, column, distance = row[order], column[order], distance[order]
    first = np.ones(len(row), dtype=bool)
    first[1:] = (row[1:] != row[:-1]) | (column[1:] != column[:-1])
    row, column, distance = row[first], column[first], distance[first]
    order = np.lexsort((column, distance, row))
    row, column, distance = row[order], column[order], distance[order]
    starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
    rank = np.arange(len(row)) - np.repeat(starts, np.diff(np.r_[starts, len(row)]))
    keep = rank < neighbours
    return row[keep], column[keep], distance[keep]


def _rotated_reduced(images: torch.Tensor, pca: Any, degrees: float) -> np.ndarray:
    parts = []
    for start in range(0, len(images), CHUNK):
        flat = rotated(images[start : start + CHUNK], degrees).flatten(1).double().numpy()
        parts.append(flat if pca is None else pca.transform(flat))
    return np.concatenate(parts)


def _pca_start(reduced: np.ndarray, seed: int) -> np.ndarray:
    """scikit-learn's PCA start of t-SNE, which it does not offer for precomputed distances:
    the first two principal components, scaled to a standard deviation of 1e-4."""
    from sklearn.decomposition import PCA

    start = PCA(2, svd_solver="randomized", random_state=seed).fit_transform(reduced)
    return (start / np.std(start[:, 0]) * 1e-4).astype(np.float32)
