"""``init="auto"`` on images: the first map reads neighbours that small rotations do not
separate, so one class drawn at two slants is one island."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ganclust._rotation_map as rotation_map
import ganclust.pseudo_labels as pseudo
from ganclust import evaluate
from ganclust.augment import MAX_ROTATION, rotated


def _strokes(n: int, side: int = 16, seed: int = 0) -> torch.Tensor:
    """Upright strokes two pixels wide, of random length, in [-1, 1]."""
    rng = np.random.default_rng(seed)
    images = -np.ones((n, 1, side, side), dtype=np.float32)
    for image in images:
        top, bottom = rng.integers(1, side // 4), side - rng.integers(1, side // 4)
        image[0, top:bottom, side // 2 - 1 : side // 2 + 1] = 1.0
    return torch.from_numpy(images + rng.normal(0, 0.2, images.shape).astype(np.float32))


def _rings(n: int, side: int = 16, seed: int = 1) -> torch.Tensor:
    """Rings of random radius and place, in [-1, 1]."""
    rng = np.random.default_rng(seed)
    rows, columns = np.mgrid[:side, :side]
    images = -np.ones((n, 1, side, side), dtype=np.float32)
    for image in images:
        centre = side / 2 - 0.5 + rng.uniform(-1, 1, 2)
        radius = np.hypot(rows - centre[0], columns - centre[1])
        image[0][np.abs(radius - rng.uniform(4, 6)) < 0.8] = 1.0
    return torch.from_numpy(images + rng.normal(0, 0.2, images.shape).astype(np.float32))


def _slanted_strokes(n: int) -> tuple[torch.Tensor, np.ndarray]:
    """Strokes, half of them upright and half slanted by the training's largest rotation."""
    upright, slanted = _strokes(n // 2, seed=2), rotated(_strokes(n - n // 2, seed=3), MAX_ROTATION)
    return torch.cat([upright, slanted]), np.repeat([0, 1], [n // 2, n - n // 2])


def test_only_images_of_16_pixels_a_side_or_more_are_mapped_by_rotation():
    assert rotation_map.uses_rotations(torch.zeros(3, 1, 16, 16))
    assert rotation_map.uses_rotations(torch.zeros(3, 3, 16, 20))
    assert not rotation_map.uses_rotations(torch.zeros(3, 1, 8, 8))
    assert not rotation_map.uses_rotations(torch.zeros(3, 1, 15, 32))
    assert not rotation_map.uses_rotations(torch.zeros(3, 256))


def test_the_graph_holds_each_samples_nearest_others_by_the_smallest_distance():
    from sklearn.decomposition import PCA

    images = torch.cat([_strokes(20), _rings(20)])
    images += 0.01 * torch.randn(
        images.shape, generator=torch.Generator().manual_seed(0)
    )  # no ties
    pca = PCA(10, random_state=0).fit(images.flatten(1).double().numpy())
    reduced = pca.transform(images.flatten(1).double().numpy())
    graph = rotation_map.rotation_graph(images, pca, reduced, neighbours=5)
    # brute force: every pair's distance from the sample or its two rotations
    views = [reduced] + [
        pca.transform(rotated(images, d).flatten(1).double().numpy())
        for d in (-MAX_ROTATION, MAX_ROTATION)
    ]
    distance = np.min([np.linalg.norm(v[:, None] - reduced[None], axis=2) for v in views], axis=0)
    np.fill_diagonal(distance, np.inf)
    for row in range(len(images)):
        nearest = np.argsort(distance[row], kind="stable")[:5]
        listed = graph.indices[graph.indptr[row] : graph.indptr[row + 1]]
        assert set(listed) == set(nearest)
        assert np.allclose(graph[row, nearest].toarray().ravel(), distance[row, nearest])


def test_a_slanted_copy_of_a_class_finds_its_upright_neighbours():
    from sklearn.neighbors import NearestNeighbors

    images, slant = _slanted_strokes(80)
    flat = images.flatten(1).double().numpy()
    graph = rotation_map.rotation_graph(images, None, flat, neighbours=5)
    rows, columns = graph.nonzero()
    assert np.array_equal(np.bincount(rows), np.full(80, 5)), "five neighbours a sample"
    # by pixels alone the two slants are not each other's neighbours; under rotation they are
    _, plain = NearestNeighbors(n_neighbors=6).fit(flat).kneighbors(flat)
    assert (slant[plain[:, 1:]] != slant[:, None]).mean() < 0.05
    assert (slant[rows] != slant[columns]).mean() > 0.3


def test_auto_reads_a_class_at_two_slants_as_one_cluster_on_16_pixel_images():
    strokes, slant = _slanted_strokes(300)
    images = torch.cat([strokes, _rings(150)])
    truth = np.repeat([0, 1], [300, 150])
    auto, tsne = (pseudo.manifold(images, init, seed=0) for init in ("auto", "tsne"))
    labels = pseudo._mixture_posterior(auto.points, 2, seed=0).argmax(axis=1)
    assert evaluate(truth, labels)["acc"] == 1.0
    # two components on the strokes alone: the pixel map parts them by slant, this map cannot
    by_slant = {
        name: evaluate(slant, pseudo._mixture_posterior(view.points[:300], 2, 0).argmax(1))["acc"]
        for name, view in (("auto", auto), ("tsne", tsne))
    }
    assert by_slant["tsne"] >= 0.95 and by_slant["auto"] <= 0.75, by_slant


def _count_rotation_maps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one each time a map under rotations is drawn."""
    calls: list[int] = []
    real = rotation_map.rotation_embed

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pseudo, "rotation_embed", counted)
    return calls


@pytest.mark.parametrize("side", [8, 16])
def test_tsne_by_name_and_small_images_keep_the_pixel_map(monkeypatch, side):
    images = torch.cat([_strokes(60, side), _rings(60, side)])
    calls = _count_rotation_maps(monkeypatch)
    tsne = pseudo.manifold(images, "tsne", seed=0)
    assert not calls
    auto = pseudo.manifold(images, "auto", seed=0)
    assert len(calls) == (side >= 16)
    assert np.array_equal(auto.points, tsne.points) == (side < 16)


@pytest.mark.parametrize(("side", "init"), [(16, "auto"), (16, "tsne"), (8, "auto")])
def test_n_clusters_auto_hands_its_first_round_the_map_a_fit_at_that_k_reads(
    monkeypatch, side, init
):
    from ganclust import ClusterGAN
    from ganclust._settings import seeds_of
    from ganclust.n_clusters import decide_k

    calls = _count_rotation_maps(monkeypatch)
    images = torch.cat([_strokes(60, side), _rings(60, side)])
    params = ClusterGAN("auto", max_clusters=4, random_state=0, options={"init": init}).get_params()
    params, view, estimate = decide_k(params, "clustergan", images)
    assert estimate is not None and params["n_clusters"] == estimate.n_clusters
    # one map under rotations, drawn where init="auto" reads one (images of 16 pixels or more)
    assert len(calls) == (side >= 16 and init == "auto")
    # the first round is handed the map that a fit at that K draws, so it draws none itself
    calls.clear()
    assert view is not None and view.is_map
    fixed = pseudo.manifold(images, init, seeds_of(0, 1)[0][0])
    assert np.array_equal(view.points, fixed.points)
    first = pseudo.pseudo_labels(images, params["n_clusters"], init, 0, view=view)
    assert (first >= 0).any()


def _two_slants_and_rings() -> torch.Tensor:
    strokes, _ = _slanted_strokes(300)
    return torch.cat([strokes, _rings(150)])


@pytest.mark.parametrize(("init", "expected"), [("tsne", 3), ("auto", 2)])
def test_n_clusters_auto_counts_a_class_at_two_slants_once_on_the_map_under_rotations(
    init, expected
):
    from ganclust import ClusterGAN
    from ganclust._k_estimate import KEstimate
    from ganclust.n_clusters import decide_k

    params = ClusterGAN("auto", max_clusters=6, random_state=0, options={"init": init}).get_params()
    params, _, estimate = decide_k(params, "clustergan", _two_slants_and_rings())
    # the pixel map's silhouette counts the two slants apart, on either init
    assert estimate.n_clusters == 3
    assert params["n_clusters"] == estimate.chosen == estimate.data_k == expected
    rotated = estimate.rotated
    if init == "tsne":
        assert rotated is None
        return
    assert rotated.candidates.tolist() == [2, 3] and rotated.n_clusters == 2
    assert rotated.scores[0] > rotated.scores[1]
    again = KEstimate.from_json(estimate.to_json())
    assert again.chosen == 2 and again.rotated.candidates.tolist() == [2, 3]
    assert np.allclose(again.rotated.scores, rotated.scores)


def test_a_look_on_the_map_under_rotations_cannot_hold_another():
    from ganclust._k_estimate import KEstimate

    look = {"n_clusters": 3, "candidates": [2, 3], "scores": [0.5, 0.4], "errors": [0.0, 0.0]}
    data = {"n_clusters": 2, "data_map": {**look, "rotated": {**look, "n_clusters": 2}}}
    assert KEstimate.from_json(data).chosen == 2
    data["data_map"]["rotated"]["rotated"] = dict(look)
    with pytest.raises(ValueError, match="rotated look cannot hold another"):
        KEstimate.from_json(data)


@pytest.mark.parametrize(
    ("rotated_k", "rotated_scores", "expected"),
    [(5, [0.62, 0.56], 5), (6, [0.56, 0.62], 6), (5, [0.600, 0.598], 6)],
)
def test_the_features_look_may_not_add_back_a_cluster_the_map_under_rotations_removed(
    monkeypatch, rotated_k, rotated_scores, expected
):
    import ganclust.inference as inference
    import ganclust.n_clusters as n_clusters
    from ganclust._k_estimate import KEstimate

    candidates, flat = np.arange(2, 9), np.zeros(7)
    # the map under rotations chose rotated_k; by more than its standard errors only for 0.06
    errors = np.array([0.005, 0.005])
    rotated = KEstimate(rotated_k, np.array([5, 6]), np.array(rotated_scores), errors)
    data_look = KEstimate(6, candidates, flat, flat, rotated=rotated)
    # the features' silhouette names 6, the pixel map's K, whatever the map under rotations said
    monkeypatch.setattr(inference, "batched", lambda *args: torch.zeros(10, 4))
    monkeypatch.setattr(n_clusters, "features_view", lambda *args: None)
    monkeypatch.setattr(
        n_clusters, "estimate_n_clusters", lambda *args: KEstimate(6, candidates, flat, flat)
    )
    monkeypatch.setattr(n_clusters, "rotation_links", lambda *args: None)
    params = {"max_clusters": 8, "random_state": 0}
    look = n_clusters.second_look(data_look, "clustergan", torch.zeros(10, 1, 16, 16), params)
    assert look(torch.nn.Linear(1, 1)) == expected
    assert look.joined(data_look).chosen == expected


@pytest.mark.parametrize(("scores", "held"), [([0.62, 0.56], True), ([0.600, 0.598], False)])
def test_the_summary_says_the_features_are_held_only_where_the_fewer_clusters_won_clearly(
    scores, held
):
    from ganclust.runs import k_estimate_line

    pixels = {"n_clusters": 6, "candidates": [5, 6], "scores": [0.5, 0.6], "errors": [0.0, 0.0]}
    rotated = {"n_clusters": 5, "candidates": [5, 6], "scores": scores, "errors": [0.005, 0.005]}
    line = k_estimate_line({"n_clusters": 5, "data_map": {**pixels, "rotated": rotated}})
    assert "map under rotations K=5" in line
    assert ("may not add that cluster back" in line) == held
