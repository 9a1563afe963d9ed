"""The refinement maps' second read-out: pieces joined along neighbour links."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from ganclust._map_pieces import join_pieces, read_map


def _disc(rng: np.random.Generator, centre: tuple[float, float], radius: float, n: int):
    angle = rng.uniform(0, 2 * np.pi, n)
    distance = radius * np.sqrt(rng.uniform(0, 1, n))
    return np.c_[centre[0] + distance * np.cos(angle), centre[1] + distance * np.sin(angle)]


def _big_island_and_two_small_ones() -> tuple[np.ndarray, np.ndarray]:
    """A t-SNE-like map: an island of 1,200 points and two of 80 beside it, evenly filled."""
    rng = np.random.default_rng(0)
    islands = [_disc(rng, (0, 0), 8, 1200), _disc(rng, (0, 12), 2, 80), _disc(rng, (7, 12), 2, 80)]
    return np.concatenate(islands), np.repeat([0, 1, 2], [1200, 80, 80])


def _mixture(points: np.ndarray, k: int) -> np.ndarray:
    return GaussianMixture(k, n_init=10, random_state=0).fit(points).predict(points)


def test_islands_of_unequal_size_are_read_by_pieces_where_the_mixture_cuts_one():
    points, truth = _big_island_and_two_small_ones()
    mixture = _mixture(points, 3)
    # the case a K-component mixture gets wrong: it halves the big island and joins the two
    # small ones, which is what the refinement's maps did with classes of unequal size
    assert adjusted_rand_score(truth, mixture) < 0.5
    labels = read_map(points, mixture, 3, seed=0)
    assert adjusted_rand_score(truth, labels) == 1.0
    assert sorted(np.bincount(labels)) == [80, 80, 1200]


def test_a_mixture_that_follows_the_islands_is_kept_as_it_is():
    rng = np.random.default_rng(1)
    centres = np.array([[0, 0], [20, 0], [0, 20], [20, 20]])
    points = np.concatenate([rng.normal(c, 1.0, (300, 2)) for c in centres])
    mixture = _mixture(points, 4)
    assert read_map(points, mixture, 4, seed=0) is mixture


def test_the_read_out_is_reproducible():
    points, _ = _big_island_and_two_small_ones()
    mixture = _mixture(points, 3)
    assert np.array_equal(read_map(points, mixture, 3, 4), read_map(points, mixture, 3, 4))


@pytest.mark.parametrize("n_points", [5, 12])
def test_a_map_too_small_to_cut_into_pieces_keeps_its_mixture(n_points):
    points = np.random.default_rng(0).normal(size=(n_points, 2))
    mixture = np.arange(n_points) % 3
    assert read_map(points, mixture, 3, seed=0) is mixture


def test_pieces_join_where_links_are_dense_for_the_smaller_piece():
    # pieces 0-1 share many links and 1-2 a few; 3 and 4 are linked to nothing, 4 lies by 0
    links = np.zeros((5, 5))
    links[0, 1] = links[1, 0] = 30
    links[1, 2] = links[2, 1] = 2
    sizes = np.array([20, 20, 20, 5, 7])
    centres = np.array([[0.0, 0], [1, 0], [2, 0], [50, 50], [0, -1]])
    assert list(join_pieces(links, sizes, centres, 4)) == [0, 0, 1, 2, 3]
    assert list(join_pieces(links, sizes, centres, 3)) == [0, 0, 0, 1, 2]
    # once no links are left, the smallest group (3) joins the one with the nearest piece
    # centre: the group of 0-2, whose piece 2 lies nearer to it than piece 4 does
    assert list(join_pieces(links, sizes, centres, 2)) == [0, 0, 0, 0, 1]
