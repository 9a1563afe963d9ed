"""Figures for a run folder: a grid of generated samples per cluster, or a 2-D scatter."""

from __future__ import annotations

import os

import numpy as np

from ._base import GANClusterer

# samples per row in the image grid
GRID_COLUMNS = 10


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


def save_samples_figure(
    model: GANClusterer, X: np.ndarray, path: str | os.PathLike[str], random_state: int = 0
) -> None:
    """Write a PNG of what the model generates: one row per cluster, or a scatter for vectors.

    Parameters
    ----------
    model : GANClusterer
        A fitted estimator.
    X : numpy.ndarray
        The training data (drawn beside generated vectors in the scatter).
    path : str or os.PathLike
        Destination PNG.
    random_state : int
        Seed of the generated samples.
    """
    k = model.n_clusters
    if model._method.conditional:
        clusters = np.repeat(np.arange(k), GRID_COLUMNS)
        fake, clusters = model.sample(len(clusters), cluster=clusters, random_state=random_state)
    else:
        # an unconditional generator: draw plenty and show what lands in each cluster; a
        # cluster the generator never produces gets an empty row rather than an error
        fake, clusters = model.sample(20 * k * GRID_COLUMNS, random_state=random_state)
    if model.preprocessor_.is_image:
        save_image_grid(fake, clusters, path, n_clusters=k)
    else:
        save_scatter(fake, clusters, path, n_clusters=k, data=X, data_labels=model.labels_)


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
