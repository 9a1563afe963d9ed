"""Figures: generated samples per cluster, 2-D maps of the clusters, for files and notebooks.

Every figure is a :class:`matplotlib.figure.Figure` built with the object API and saved through
its own Agg canvas: nothing here touches pyplot's state or the caller's backend, so the figures
returned to a notebook (:func:`plot_clusters`, :func:`plot_samples`) display there like any
other, and a script that draws its own plots is left as it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

# samples per row in the image grid
GRID_COLUMNS = 10
# points drawn in a map of the clusters, at most
MAP_POINTS = 2000

__all__ = ["plot_clusters", "plot_samples", "save_image_grid", "save_scatter"]


def new_figure(width: float, height: float) -> Any:
    """A Figure of ``width`` x ``height`` inches with its own Agg canvas (no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Any, path: str | os.PathLike[str] | Any, dpi: int = 100) -> None:
    """Write ``fig`` as a PNG to a path or a binary file object."""
    fig.savefig(path, dpi=dpi, format="png")


def cluster_colours(n_clusters: int) -> dict[str, Any]:
    """The colour map and range that give cluster ``k`` the same colour in every figure."""
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n_clusters <= 10 else "tab20"]
    return {"cmap": cmap, "vmin": 0, "vmax": max(n_clusters - 1, 1)}


def samples_figure_data(
    sample: Callable[..., tuple[np.ndarray, np.ndarray]],
    n_clusters: int,
    conditional: bool,
    per_cluster: int = GRID_COLUMNS,
) -> tuple[np.ndarray, np.ndarray]:
    """Generated samples for a figure: ``per_cluster`` of each cluster.

    ``sample(n, cluster=..., random_state=...)`` is a fitted model's ``sample``. An
    unconditional generator draws plenty, and shows what lands in each cluster; a cluster it
    never produces gets no row rather than an error.
    """
    if conditional:
        clusters = np.repeat(np.arange(n_clusters), per_cluster)
        return sample(len(clusters), cluster=clusters, random_state=0)
    fake, clusters = sample(20 * n_clusters * per_cluster, random_state=0)
    keep = np.concatenate([np.flatnonzero(clusters == k)[:per_cluster] for k in range(n_clusters)])
    return fake[keep], clusters[keep]


def save_samples_figure(
    fake: np.ndarray,
    clusters: np.ndarray,
    path: str | os.PathLike[str],
    *,
    n_clusters: int,
    is_image: bool,
    data: np.ndarray | None = None,
    data_labels: np.ndarray | None = None,
) -> None:
    """Write a PNG of generated samples: one row per cluster, or a scatter for vectors.

    Parameters
    ----------
    fake, clusters : numpy.ndarray
        Generated samples and their clusters.
    path : str or os.PathLike
        Destination PNG.
    n_clusters : int
        Number of clusters.
    is_image : bool
        Whether the samples are images.
    data, data_labels : numpy.ndarray, optional
        The training data and its clusters, drawn beside generated vectors in the scatter.
    """
    if is_image:
        save_image_grid(fake, clusters, path, n_clusters=n_clusters)
    else:
        save_scatter(
            fake, clusters, path, n_clusters=n_clusters, data=data, data_labels=data_labels
        )


def display_images(images: np.ndarray, low: float | None = None, high: float | None = None):
    """Images as float ``(n, H, W)`` or ``(n, H, W, 3)`` in 0..1, for display.

    ``(n, C, H, W)`` is turned channels-last; the range ``low .. high`` (default: the images'
    own) is mapped onto 0..1.
    """
    images = np.asarray(images, dtype=float)
    if images.ndim == 4:  # C x H x W -> H x W x C for display
        images = images.transpose(0, 2, 3, 1)
        images = images[..., 0] if images.shape[-1] == 1 else images[..., :3]
    low = float(images.min()) if low is None else low
    high = float(images.max()) if high is None else high
    return np.clip((images - low) / (high - low if high > low else 1.0), 0, 1)


def mosaic(images: np.ndarray, columns: int, rows: int | None = None, pad: int = 1) -> np.ndarray:
    """Tile display images (see :func:`display_images`) ``columns`` to a row, white between."""
    n = len(images)
    rows = max(1, -(-n // columns)) if rows is None else rows
    h, w = images.shape[1:3]
    shape = (rows * (h + pad) + pad, columns * (w + pad) + pad, *images.shape[3:])
    out = np.ones(shape)
    for i, image in enumerate(images[: rows * columns]):
        r, c = divmod(i, columns)
        out[
            pad + r * (h + pad) : (r + 1) * (h + pad), pad + c * (w + pad) : (c + 1) * (w + pad)
        ] = image
    return out


def image_grid_figure(
    images: np.ndarray, clusters: np.ndarray, n_clusters: int, columns: int = GRID_COLUMNS
) -> Any:
    """A Figure of every image, grouped by cluster: ``columns`` per row, rows wrapped.

    Each cluster starts a new row, labelled with its number; a cluster with no image gets no
    row (the title names it). Every image given is drawn.
    """
    shown = display_images(images)
    clusters = np.asarray(clusters)
    blocks, ticks, labels, missing = [], [], [], []
    for k in range(n_clusters):
        members = shown[clusters == k]
        if not len(members):
            missing.append(k)
            continue
        ticks.append(len(blocks))  # the row the cluster starts on
        labels.append(str(k))
        for start in range(0, len(members), columns):
            blocks.append(members[start : start + columns])
    n_rows = max(len(blocks), 1)
    fig = new_figure(columns * 0.8, n_rows * 0.8 + 0.6)
    ax = fig.add_axes((0.04, 0.0, 0.96, n_rows * 0.8 / (n_rows * 0.8 + 0.6)))
    if blocks:
        rows = [mosaic(b, columns, rows=1, pad=1)[:-1] for b in blocks]
        grid = np.concatenate(rows)
        ax.imshow(grid, cmap="gray", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        row_height = grid.shape[0] / n_rows
        ax.set_yticks([(t + 0.5) * row_height for t in ticks], labels)
        ax.set_ylim(grid.shape[0] - 0.5, -0.5)
    ax.set_xticks([])
    ax.tick_params(length=0, labelsize=8)
    for side in ax.spines.values():
        side.set_visible(False)
    title = "generated samples, one row per cluster"
    if len(blocks) > len(labels):
        title = f"generated samples by cluster, {columns} per row"
    if missing:
        title += f" (none generated for {missing})"
    fig.suptitle(title, fontsize=9, y=1 - 0.15 / (n_rows * 0.8 + 0.6))
    return fig


def save_image_grid(
    images: np.ndarray, clusters: np.ndarray, path: str | os.PathLike[str], n_clusters: int
) -> None:
    """Write a PNG grid of every one of ``images``, grouped by cluster, 10 to a row.

    Parameters
    ----------
    images : numpy.ndarray
        (n, H, W) or (n, C, H, W) images in any intensity range.
    clusters : numpy.ndarray
        Cluster of each image.
    path : str or os.PathLike
        Destination PNG.
    n_clusters : int
        Number of clusters.
    """
    save_figure(image_grid_figure(images, clusters, n_clusters), path)


def scatter_figure(
    points: np.ndarray,
    clusters: np.ndarray,
    n_clusters: int,
    title: str,
    marker: str = "o",
    background: tuple[np.ndarray, np.ndarray] | None = None,
) -> Any:
    """A Figure of 2-D ``points`` coloured by cluster, over optional ``(points, clusters)``."""
    fig = new_figure(6, 5)
    ax = fig.add_subplot()
    style = cluster_colours(n_clusters)
    if background is not None:
        ax.scatter(*_xy(background[0]), c=background[1], s=6, alpha=0.4, **style)
    size = 18 if marker == "x" else 6
    ax.scatter(*_xy(points), c=clusters, s=size, marker=marker, **style)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title(title, fontsize=9)
    return fig


def save_scatter(
    samples: np.ndarray,
    clusters: np.ndarray,
    path: str | os.PathLike[str],
    n_clusters: int,
    data: np.ndarray | None = None,
    data_labels: np.ndarray | None = None,
) -> None:
    """Write a PNG scatter of generated vectors (crosses), over the data (dots) when given.

    Both are projected on the first two principal components of ``data`` (or of ``samples``).
    """
    from sklearn.decomposition import PCA

    samples = np.asarray(samples, dtype=float).reshape(len(samples), -1)
    base = samples if data is None else np.asarray(data, dtype=float).reshape(len(data), -1)
    pca = PCA(n_components=min(2, base.shape[1]), random_state=0).fit(base)
    title = "generated samples (crosses)"
    title += (" over the data (dots)" if data is not None else "") + ", coloured by cluster"
    under = None if data is None else (pca.transform(base), data_labels)
    fig = scatter_figure(pca.transform(samples), clusters, n_clusters, title, "x", under)
    save_figure(fig, path)


def _xy(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if points.shape[1] == 1:  # one feature: spread along y by nothing
        return points[:, 0], np.zeros(len(points))
    return points[:, 0], points[:, 1]


def embedding_map(
    model: Any,
    X: Any,
    max_points: int = MAP_POINTS,
    random_state: int = 0,
    clusters: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(index, points, clusters)``: a sample of at most ``max_points`` of ``X``, its 2-D
    PCA map of ``model.transform``, and its clusters (``clusters[index]`` when the clusters of
    all of ``X`` are given, else ``model.predict``)."""
    from sklearn.decomposition import PCA

    n = len(X)
    rng = np.random.RandomState(random_state)
    index = np.sort(rng.choice(n, max_points, replace=False)) if n > max_points else np.arange(n)
    subset = np.asarray(X[index])
    embedded = model.transform(subset)
    points = PCA(n_components=min(2, embedded.shape[1]), random_state=0).fit_transform(embedded)
    return index, points, model.predict(subset) if clusters is None else clusters[index]


def plot_clusters(model: Any, X: Any, *, max_points: int = MAP_POINTS, random_state: int = 0):
    """A 2-D map of ``X`` in the model's embedding, coloured by cluster.

    Parameters
    ----------
    model : ClusterGAN, InfoGAN or CatGAN
        A fitted model.
    X : array-like
        Samples shaped like the training data.
    max_points : int, default=2000
        At most this many samples, drawn at random, are mapped.
    random_state : int, default=0
        Seed of that draw.

    Returns
    -------
    matplotlib.figure.Figure
        The first two principal components of ``model.transform`` of the samples, each point
        coloured by ``model.predict``. Built without pyplot: display it, or ``fig.savefig``.
    """
    _, points, clusters = embedding_map(model, X, max_points, random_state)
    title = f"{len(points)} samples in the model's embedding (PCA), coloured by cluster"
    return scatter_figure(points, clusters, model.settings_.n_clusters, title)


def plot_samples(model: Any, n_per_cluster: int = 8, *, random_state: int = 0):
    """Generated samples of every cluster: a row of images each, or a scatter of vectors.

    Parameters
    ----------
    model : ClusterGAN, InfoGAN or CatGAN
        A fitted model with a generator (``adversarial=True``).
    n_per_cluster : int, default=8
        Samples per cluster. CatGAN's generator is not conditional: its samples are drawn and
        kept by cluster, so a cluster it rarely generates may get fewer.
    random_state : int, default=0
        Seed of the draw.

    Returns
    -------
    matplotlib.figure.Figure
        Built without pyplot: display it, or ``fig.savefig``.

    Raises
    ------
    RuntimeError
        If the model has no generator (``adversarial=False``).
    """
    k = model.settings_.n_clusters

    def sample(n: int, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
        return model.sample(n, **{**kwargs, "random_state": random_state})

    fake, clusters = samples_figure_data(sample, k, model._method.conditional, n_per_cluster)
    if model.preprocessor_.is_image:
        return image_grid_figure(fake, clusters, k, columns=n_per_cluster)
    from sklearn.decomposition import PCA

    flat = fake.reshape(len(fake), -1).astype(float)
    points = PCA(n_components=min(2, flat.shape[1]), random_state=0).fit_transform(flat)
    return scatter_figure(points, clusters, k, "generated samples, coloured by cluster", "x")
