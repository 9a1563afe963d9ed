"""A second read-out of a refinement map, for islands of unequal size: pieces joined by links.

A K-component Gaussian mixture models each cluster of a 2-D t-SNE map as one ellipse. With
classes of unequal size it spends two components on halves of a large island and gives one
component to two small ones; the refinement's maps of MNIST-10k with 1,000 images down to 100 per
class were read 0.65-0.86 right that way although their islands were clean. Here the map is cut
into ``PIECES_PER_CLUSTER * K`` small pieces (k-means), and groups are joined two at a time where
the nearest-neighbour links per member of the smaller group are densest, until K are left: an
island is one cluster whatever its size or shape.

On balanced maps the mixture reads as well or better (a small satellite island can stay a
cluster of its own while two classes that touch are joined), so :func:`read_map` keeps the
mixture unless its boundaries cut through the map's dense parts: when the share of
nearest-neighbour links that cross the mixture's clusters exceeds that of the pieces' clusters by
more than ``CUT_MARGIN``. The evidence for both constants is in docs/benchmarks.md ("Class
imbalance beyond the held-out set").
"""

from __future__ import annotations

import numpy as np

# pieces the map is cut into, per cluster, and the k-means restarts that cut it
PIECES_PER_CLUSTER = 4
PIECE_RESTARTS = 3
# nearest neighbours of each point on the map whose links join the pieces and measure a cut
LINK_NEIGHBORS = 15
# the pieces' read-out replaces the mixture's where the mixture's clusters cut this much more of
# the links: 0.011-0.021 on the maps of the two imbalanced stand-ins where the pieces read better,
# at most 0.005 on those of digits and MNIST-10k
CUT_MARGIN = 0.008


def read_map(points: np.ndarray, mixture: np.ndarray, n_clusters: int, seed: int) -> np.ndarray:
    """The clusters of a 2-D map: the mixture's, or its pieces where the mixture cuts islands.

    Parameters
    ----------
    points : numpy.ndarray of shape (n_samples, 2)
        A t-SNE map.
    mixture : numpy.ndarray of shape (n_samples,)
        The K-component mixture's clusters of the map.
    n_clusters : int
        K.
    seed : int
        Seed of the pieces' k-means.

    Returns
    -------
    numpy.ndarray of shape (n_samples,)
        ``mixture`` itself, or the pieces' clusters (ids ``0 .. n_clusters - 1``).
    """
    if len(points) <= PIECES_PER_CLUSTER * n_clusters or len(points) <= LINK_NEIGHBORS:
        return mixture
    neighbors = _neighbors(points)
    pieces = _piece_labels(points, neighbors, n_clusters, seed)
    if cut_share(mixture, neighbors) - cut_share(pieces, neighbors) > CUT_MARGIN:
        return pieces
    return mixture


def cut_share(labels: np.ndarray, neighbors: np.ndarray) -> float:
    """The share of nearest-neighbour links whose two ends lie in different clusters.

    Parameters
    ----------
    labels : numpy.ndarray of shape (n_samples,)
        Cluster ids.
    neighbors : numpy.ndarray of shape (n_samples, n_neighbors)
        Each sample's nearest neighbours (row indices, itself excluded).

    Returns
    -------
    float
    """
    return float((labels[neighbors] != labels[:, None]).mean())


def _piece_labels(
    points: np.ndarray, neighbors: np.ndarray, n_clusters: int, seed: int
) -> np.ndarray:
    """K clusters of a map: k-means pieces joined along neighbour links (:func:`join_pieces`)."""
    from sklearn.cluster import KMeans

    cut = KMeans(PIECES_PER_CLUSTER * n_clusters, n_init=PIECE_RESTARTS, random_state=seed)
    piece = cut.fit_predict(points)
    n_pieces = len(cut.cluster_centers_)
    links = np.zeros((n_pieces, n_pieces))
    np.add.at(links, (np.repeat(piece, neighbors.shape[1]), piece[neighbors].ravel()), 1.0)
    sizes = np.bincount(piece, minlength=n_pieces)
    return join_pieces(links + links.T, sizes, cut.cluster_centers_, n_clusters)[piece]


def join_pieces(
    links: np.ndarray, sizes: np.ndarray, centres: np.ndarray, n_clusters: int
) -> np.ndarray:
    """Join pieces two at a time until ``n_clusters`` groups are left; the group of each piece.

    At each step the two groups joined are those with the most links between them per member of
    the smaller one, so that a small piece inside an island joins it before two islands that
    touch along an edge do. Once no two groups share a link, the smallest joins the group with
    the nearest piece centre.

    Parameters
    ----------
    links : numpy.ndarray of shape (n_pieces, n_pieces)
        Symmetric counts of neighbour links between pieces.
    sizes : numpy.ndarray of shape (n_pieces,)
        Points in each piece (an empty piece is joined like any other).
    centres : numpy.ndarray of shape (n_pieces, n_dims)
        Each piece's centre.
    n_clusters : int
        Groups to leave (at most the number of pieces).

    Returns
    -------
    numpy.ndarray of shape (n_pieces,)
        Group ids in ``0 .. n_clusters - 1``.
    """
    links = links.astype(float)
    np.fill_diagonal(links, 0.0)
    sizes = sizes.astype(float)
    distance = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
    np.fill_diagonal(distance, np.inf)
    alive = np.ones(len(sizes), dtype=bool)
    owner = np.arange(len(sizes))
    for _ in range(len(sizes) - n_clusters):
        smaller = np.maximum(np.minimum.outer(sizes, sizes), 1.0)
        strength = np.where(np.outer(alive, alive), links / smaller, -1.0)
        np.fill_diagonal(strength, -1.0)
        a, b = np.unravel_index(int(strength.argmax()), strength.shape)
        if strength[a, b] <= 0:  # islands with no link left between them
            a = int(np.flatnonzero(alive)[np.argmin(sizes[alive])])
            b = int(np.argmin(np.where(alive, distance[a], np.inf)))
        links[a] += links[b]
        links[:, a] += links[:, b]
        links[a, a] = 0.0
        links[b], links[:, b] = 0.0, 0.0
        distance[a] = distance[:, a] = np.minimum(distance[a], distance[b])
        distance[a, a] = np.inf
        distance[b], distance[:, b] = np.inf, np.inf
        sizes[a] += sizes[b]
        alive[b] = False
        owner[owner == b] = a
    return np.unique(owner, return_inverse=True)[1]


def _neighbors(points: np.ndarray) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    search = NearestNeighbors(n_neighbors=LINK_NEIGHBORS + 1).fit(points)
    return search.kneighbors(points, return_distance=False)[:, 1:]
