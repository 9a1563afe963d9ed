"""Figures for a run folder: a grid of generated samples per cluster, or a 2-D scatter."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

# samples per row in the image grid
GRID_COLUMNS = 10


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


def samples_figure_data(
    sample: Callable[..., tuple[np.ndarray, np.ndarray]], n_clusters: int, conditional: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Generated samples for the run folder's figure: a row of each cluster.

    ``sample(n, cluster=..., random_state=...)`` is a fitted model's ``sample``. An
    unconditional generator draws plenty, and shows what lands in each cluster; a cluster it
    never produces gets an empty row rather than an error.
    """
    if conditional:
        clusters = np.repeat(np.arange(n_clusters), GRID_COLUMNS)
        return sample(len(clusters), cluster=clusters, random_state=0)
    return sample(20 * n_clusters * GRID_COLUMNS, random_state=0)


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


def save_image_grid(
    images: np.ndarray, clusters: np.ndarray, path: str | os.PathLike[str], n_clusters: int
) -> None:
    """Write a PNG grid of ``images``, one row per cluster (at most 10 per row).

    Parameters
    ----------
    images : numpy.ndarray
        (n, H, W) or (n, C, H, W) images in any intensity range.
    clusters : numpy.ndarray
        Cluster of each image.
    path : str or os.PathLike
        Destination PNG.
    n_clusters : int
        Number of rows.
    """
    plt = _pyplot()
    images = np.asarray(images, dtype=float)
    if images.ndim == 4:  # C x H x W -> H x W x C for display
        images = images.transpose(0, 2, 3, 1)
        images = images[..., 0] if images.shape[-1] == 1 else images
    low, high = images.min(), images.max()
    images = (images - low) / (high - low if high > low else 1.0)
    rows = [np.flatnonzero(clusters == k)[:GRID_COLUMNS] for k in range(n_clusters)]
    shown = [k for k in range(n_clusters) if len(rows[k])]
    fig, axes = plt.subplots(
        len(shown),
        GRID_COLUMNS,
        figsize=(GRID_COLUMNS * 0.8, len(shown) * 0.8 + 0.6),
        squeeze=False,
    )
    for row, k in enumerate(shown):
        for col, ax in enumerate(axes[row]):
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_frame_on(col < len(rows[k]))
            if col < len(rows[k]):
                image = images[rows[k][col]]
                ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
        axes[row, 0].set_ylabel(str(k), rotation=0, labelpad=10)
    missing = sorted(set(range(n_clusters)) - set(shown))
    title = "generated samples, one row per cluster"
    if missing:
        title += f" (none generated for {missing})"
    fig.suptitle(title, fontsize=9)
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)


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

    plt = _pyplot()
    samples = np.asarray(samples, dtype=float)
    base = samples if data is None else np.asarray(data, dtype=float)
    pca = PCA(n_components=min(2, base.shape[1]), random_state=0).fit(base)
    fig, ax = plt.subplots(figsize=(6, 5))
    cmap = plt.get_cmap("tab10" if n_clusters <= 10 else "tab20")
    style = dict(cmap=cmap, vmin=0, vmax=max(n_clusters - 1, 1))
    if data is not None:
        ax.scatter(*_xy(pca.transform(base)), c=data_labels, s=6, alpha=0.4, **style)
    ax.scatter(*_xy(pca.transform(samples)), c=clusters, s=18, marker="x", **style)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title(
        "generated samples (crosses)"
        + (" over the data (dots)" if data is not None else "")
        + ", coloured by cluster",
        fontsize=9,
    )
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)


def _xy(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if points.shape[1] == 1:  # one feature: spread along y by nothing
        return points[:, 0], np.zeros(len(points))
    return points[:, 0], points[:, 1]
