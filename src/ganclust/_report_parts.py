"""The pieces of ``report.html``: inlined PNGs, thumbnails, tables and the report's figures.

Every image is a base64 PNG inside the page (``data:`` URIs), so the report is one file that
opens anywhere without a network. Thumbnails are drawn with Pillow from the arrays; the figures
with :mod:`ganclust.plots`' object-API matplotlib (never pyplot).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .plots import cluster_colours, display_images, new_figure, save_figure

# the longest side of a thumbnail, in pixels
THUMBNAIL = 48
# history keys that are not losses
NOT_LOSSES = {"epoch", "refine", "occupancy", "seconds", "learning_rate", "rollback", "init"}


def esc(value: Any) -> str:
    """``value`` as HTML text."""
    return html.escape(str(value), quote=True)


def png_uri(data: bytes) -> str:
    """A ``data:`` URI of PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def figure_img(fig: Any, alt: str, dpi: int = 80) -> str:
    """An ``<img>`` of a matplotlib Figure, inlined."""
    buffer = io.BytesIO()
    save_figure(fig, buffer, dpi=dpi)
    return f'<img class="figure" alt="{esc(alt)}" src="{png_uri(buffer.getvalue())}">'


def image_range(X: Any) -> tuple[float, float]:
    """The intensity range images of ``X``'s dtype are shown in (their own for floats)."""
    dtype = np.asarray(X[:1]).dtype
    if dtype == np.uint8:
        return 0.0, 255.0
    if dtype == np.uint16:
        return 0.0, 65535.0
    sample = np.asarray(X[: min(len(X), 2000)], dtype=float)
    return float(sample.min()), float(sample.max())


def thumbnail(image: np.ndarray) -> str:
    """A display image (0..1, ``(H, W)`` or ``(H, W, 3)``) as a small PNG ``data:`` URI."""
    from PIL import Image

    pixels = Image.fromarray(np.round(np.asarray(image) * 255).astype(np.uint8))
    h, w = image.shape[:2]
    scale = THUMBNAIL / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.LANCZOS
    buffer = io.BytesIO()
    pixels.resize(size, resample).save(buffer, format="PNG", optimize=True)
    return png_uri(buffer.getvalue())


def thumbnails(images: np.ndarray, captions: Sequence[str], titles: Sequence[str], low, high):
    """A row of ``<figure>`` thumbnails with a caption each (the title shows on hover)."""
    if len(images) == 0:
        return '<p class="none">none</p>'
    shown = display_images(images, low, high)
    cells = [
        f'<figure title="{esc(title)}"><img alt="{esc(title)}" src="{thumbnail(image)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
        for image, caption, title in zip(shown, captions, titles, strict=True)
    ]
    return '<div class="thumbs">' + "".join(cells) + "</div>"


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "") -> str:
    """An HTML table; cells are escaped unless given as ``("html", text)``."""

    def cell(value: Any, tag: str) -> str:
        if isinstance(value, tuple) and value and value[0] == "html":
            return f"<{tag}>{value[1]}</{tag}>"
        return f"<{tag}>{esc(value)}</{tag}>"

    head = "".join(cell(h, "th") for h in header)
    head = f"<thead><tr>{head}</tr></thead>" if head else ""
    body = "".join("<tr>" + "".join(cell(v, "td") for v in row) + "</tr>" for row in rows)
    return f'<table class="{cls}">{head}<tbody>{body}</tbody></table>'


def confusion_table(clusters: np.ndarray, y: np.ndarray, n_clusters: int) -> str:
    """Clusters (rows) against labels (columns): counts, each cell shaded by its row share."""
    classes = np.unique(y)
    counts = np.zeros((n_clusters, len(classes)), dtype=np.int64)
    np.add.at(counts, (clusters, np.searchsorted(classes, y)), 1)
    head = ["cluster \\ label", *map(str, classes), "total", "majority label"]
    rows = []
    for k in range(n_clusters):
        total = int(counts[k].sum())
        cells = []
        for count in counts[k]:
            share = count / total if total else 0.0
            style = f"background: rgba(31, 119, 180, {share:.2f})"
            style += "; color: white" if share > 0.55 else ""
            cells.append(("html", f'<span class="cell" style="{style}">{count}</span>'))
        majority = str(classes[counts[k].argmax()]) if total else "-"
        rows.append([k, *cells, total, majority])
    return table(head, rows, "confusion")


def size_bars(sizes: np.ndarray, floor: float) -> str:
    """Cluster sizes as horizontal bars in HTML; a cluster under ``floor`` is marked."""
    sizes = np.asarray(sizes)
    total, largest = max(int(sizes.sum()), 1), max(int(sizes.max()), 1)
    colours = cluster_colours(len(sizes))
    rows = []
    for k, size in enumerate(sizes):
        r, g, b, _ = colours["cmap"](k / colours["vmax"] if colours["vmax"] else 0)
        bar = (
            f'<span class="bar" style="width: {100 * size / largest:.1f}%; '
            f'background: rgb({r * 255:.0f}, {g * 255:.0f}, {b * 255:.0f})"></span>'
        )
        flag = ' <b class="warn">under a tenth of its fair share</b>' if size < floor else ""
        rows.append(
            [k, int(size), f"{100 * size / total:.1f}%", ("html", f'<div class="track">{bar}</div>'
                                                           f"{flag}")]
        )  # fmt: skip
    return table(["cluster", "samples", "share", ""], rows, "sizes")


def map_figure(points: np.ndarray, clusters: np.ndarray, n_clusters: int) -> Any:
    """The 2-D map of the embedding: one dot per sampled point, coloured by cluster."""
    fig = new_figure(7, 5.5)
    ax = fig.add_subplot()
    style = cluster_colours(n_clusters)
    y = points[:, 1] if points.shape[1] > 1 else np.zeros(len(points))
    ax.scatter(points[:, 0], y, c=clusters, s=7, alpha=0.75, linewidths=0, **style)
    for k in range(n_clusters):  # the cluster's number at its centre
        members = clusters == k
        if members.any():
            cx, cy = float(np.median(points[members, 0])), float(np.median(y[members]))
            ax.annotate(str(k), (cx, cy), ha="center", va="center", fontsize=11, weight="bold")
    ax.set_xlabel("PC 1 of the embedding")
    ax.set_ylabel("PC 2")
    ax.set_title(f"{len(points)} samples, coloured by cluster", fontsize=10)
    fig.tight_layout()
    return fig


def training_figure(
    history: list[dict[str, Any]], n_clusters: int, order: np.ndarray | None = None
) -> Any | None:
    """Losses (one panel each) and the occupancy of every cluster over the epochs.

    ``history`` records the occupancy of the networks' own clusters; ``order`` (the model's
    ``cluster_order_``: the internal cluster of each public one) shows it by public number.
    """
    from matplotlib.ticker import MaxNLocator

    if not history:
        return None
    epochs = np.array([row.get("epoch", i + 1) for i, row in enumerate(history)], dtype=float)
    losses = sorted(
        {k for row in history for k, v in row.items() if isinstance(v, (int, float))} - NOT_LOSSES
    )[:8]
    columns = max(min(len(losses), 4), 1)
    loss_rows = -(-len(losses) // columns)
    fig = new_figure(11, 2.1 * loss_rows + 3.2)
    grid = fig.add_gridspec(loss_rows + 1, columns, height_ratios=[1] * loss_rows + [1.5])
    rollbacks = [e for e, row in zip(epochs, history, strict=True) if "rollback" in row]
    for i, name in enumerate(losses):
        ax = fig.add_subplot(grid[i // columns, i % columns])
        values = [row.get(name, np.nan) for row in history]
        ax.plot(epochs, np.asarray(values, dtype=float), marker=".", lw=1.2)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for epoch in rollbacks:
            ax.axvline(epoch, color="red", lw=0.8, ls="--")
    ax = fig.add_subplot(grid[loss_rows, :])
    occupancy = np.array(
        [row.get("occupancy") or [np.nan] * n_clusters for row in history], dtype=float
    )
    if order is not None and occupancy.shape[1] == n_clusters:
        occupancy = occupancy[:, np.asarray(order)]
    colours = cluster_colours(n_clusters)
    ax.stackplot(
        epochs,
        np.nan_to_num(occupancy.T[:n_clusters]),
        colors=[colours["cmap"](k / colours["vmax"]) for k in range(n_clusters)],
        labels=[str(k) for k in range(n_clusters)],
    )
    ax.set_ylim(0, 1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("share of samples")
    ax.set_title("occupancy: the share of the samples in each cluster", fontsize=9)
    ax.legend(fontsize=7, ncol=min(n_clusters, 10), loc="upper center", bbox_to_anchor=(0.5, -0.3))
    fig.tight_layout()
    return fig


def profile_rows(
    X: np.ndarray, members: np.ndarray, names: Sequence[str], generated: np.ndarray | None,
    top: int = 12,
) -> tuple[list[list[Any]], list[int]]:  # fmt: skip
    """The ``top`` features that set a cluster apart: its mean ± std against everyone's."""
    mean, std = X.mean(axis=0), X.std(axis=0)
    inside = X[members]
    z = (inside.mean(axis=0) - mean) / np.where(std > 0, std, 1.0)
    order = np.argsort(-np.abs(z))[:top]
    rows = []
    for j in order:
        row = [
            names[j],
            f"{inside[:, j].mean():.4g} ± {inside[:, j].std():.3g}",
            f"{mean[j]:.4g} ± {std[j]:.3g}",
            f"{z[j]:+.2f}",
        ]
        if generated is not None:
            row.append(f"{generated[:, j].mean():.4g} ± {generated[:, j].std():.3g}")
        rows.append(row)
    return rows, [int(j) for j in order]


def profile_figure(X: np.ndarray, clusters: np.ndarray, n_clusters: int, names: Sequence[str]):
    """Every cluster's mean of each feature, in standard deviations from the overall mean."""
    mean, std = X.mean(axis=0), X.std(axis=0)
    z = np.zeros((n_clusters, X.shape[1]))
    for k in range(n_clusters):
        if (clusters == k).any():
            z[k] = (X[clusters == k].mean(axis=0) - mean) / np.where(std > 0, std, 1.0)
    keep = np.sort(np.argsort(-np.abs(z).max(axis=0))[:40])
    fig = new_figure(max(5.0, min(2 + 0.3 * len(keep), 13)), 1.6 + 0.3 * n_clusters)
    ax = fig.add_subplot()
    limit = max(float(np.abs(z[:, keep]).max()), 1e-9)
    shown = ax.imshow(z[:, keep], cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_yticks(range(n_clusters), [str(k) for k in range(n_clusters)], fontsize=8)
    ax.set_xticks(range(len(keep)), [names[j] for j in keep], rotation=90, fontsize=7)
    ax.set_ylabel("cluster")
    ax.set_title("cluster means (in standard deviations from the mean)", fontsize=9)
    fig.colorbar(shown, ax=ax, fraction=0.03)
    fig.tight_layout()
    return fig
