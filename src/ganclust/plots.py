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
        The training data (used for the scatter of vector data).
    path : str or os.PathLike
        Destination PNG.
    random_state : int
        Seed of the generated samples.
    """
    if model.preprocessor_.is_image:
        _image_grid(model, path, random_state)
    else:
        _vector_scatter(model, X, path, random_state)


def _image_grid(model: GANClusterer, path: str | os.PathLike[str], random_state: int) -> None:
    plt = _pyplot()
    k = model.n_clusters
    clusters = np.repeat(np.arange(k), GRID_COLUMNS)
    images, _ = model.sample(len(clusters), cluster=clusters, random_state=random_state)
    images = np.asarray(images, dtype=float)
    if images.ndim == 4:  # C x H x W -> H x W x C for display
        images = images.transpose(0, 2, 3, 1)
        images = images[..., 0] if images.shape[-1] == 1 else images
    low, high = images.min(), images.max()
    images = (images - low) / (high - low if high > low else 1.0)
    fig, axes = plt.subplots(k, GRID_COLUMNS, figsize=(GRID_COLUMNS * 0.8, k * 0.8), squeeze=False)
    for ax, image in zip(axes.ravel(), images, strict=True):
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    for row in range(k):
        axes[row, 0].set_ylabel(str(row), rotation=0, labelpad=10)
    fig.suptitle("generated samples, one row per cluster")
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)


def _vector_scatter(
    model: GANClusterer, X: np.ndarray, path: str | os.PathLike[str], random_state: int
) -> None:
    from sklearn.decomposition import PCA

    plt = _pyplot()
    fake, fake_clusters = model.sample(min(500, 5 * len(X)), random_state=random_state)
    pca = PCA(n_components=2, random_state=0).fit(np.asarray(X, dtype=float))
    real_2d = pca.transform(np.asarray(X, dtype=float))
    fake_2d = pca.transform(np.asarray(fake, dtype=float))
    fig, ax = plt.subplots(figsize=(6, 5))
    cmap = plt.get_cmap("tab10" if model.n_clusters <= 10 else "tab20")
    ax.scatter(*real_2d.T, c=model.labels_, cmap=cmap, s=6, alpha=0.5, label="data")
    ax.scatter(*fake_2d.T, c=fake_clusters, cmap=cmap, s=18, marker="x", label="generated")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend(loc="best")
    ax.set_title("data (dots) and generated samples (crosses) by cluster")
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)
