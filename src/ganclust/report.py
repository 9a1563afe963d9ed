"""``report.html``: one self-contained page that shows a person what a run found.

``ganclust report RUN`` and ``ganclust fit --report`` write it. The page holds the data and the
settings, the metrics and a confusion matrix when labels are known, the cluster sizes, each
cluster's most typical and most doubtful members beside samples generated for it (feature
profiles for vectors), a 2-D map of the embedding, the losses and occupancy over the epochs,
and every warning. Images are inlined as PNGs and there is no script, so it opens anywhere,
offline; it stays small (thumbnails, and at most :data:`ganclust.plots.MAP_POINTS` points).

Each section has an ``id`` (:data:`SECTIONS`), so ``report.html#map`` links to one.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import _report_parts as parts
from ._files import atomic_file
from ._k_doubts import in_doubt
from ._k_estimate import clearly_fewer
from ._report_parts import esc
from ._report_style import CSS
from .runs import gaussian_phrase, linked_phrase

__all__ = ["SECTIONS", "build_report", "write_report"]

#: the sections of the page, by id, and their headings
SECTIONS = {
    "overview": "Data and settings",
    "warnings": "Warnings",
    "metrics": "Metrics against the known labels",
    "sizes": "Cluster sizes",
    "clusters": "The clusters",
    "map": "Map of the embedding",
    "training": "Training",
}


def write_report(
    path: str | os.PathLike[str],
    model: Any,
    run: dict[str, Any],
    X: Any,
    y: np.ndarray | None,
    labels: np.ndarray,
    confidence: np.ndarray,
    ids: Sequence[Any] | None = None,
) -> Path:
    """Write the report of a fitted model to ``path`` (atomically); see :func:`build_report`.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    text = build_report(model, run, X, y, labels, confidence, ids)
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def build_report(
    model: Any,
    run: dict[str, Any],
    X: Any,
    y: np.ndarray | None,
    labels: np.ndarray,
    confidence: np.ndarray,
    ids: Sequence[Any] | None = None,
) -> str:
    """The HTML of the report of a fitted model.

    Parameters
    ----------
    model : ClusterGAN, InfoGAN or CatGAN
        The fitted model.
    run : dict
        The run folder's ``run.json``.
    X : array-like
        The data the model was fitted on.
    y : numpy.ndarray or None
        Its labels, when known.
    labels, confidence : numpy.ndarray
        Each sample's cluster and the probability of that cluster (``labels.csv``).
    ids : sequence, optional
        Each sample's id (``labels.csv``'s first column); default its index.

    Returns
    -------
    str
        A complete HTML document with no external resource.
    """
    k = model.settings_.n_clusters
    labels = np.asarray(labels, dtype=np.int64)
    confidence = np.asarray(confidence, dtype=float)
    ids = [str(i) for i in (range(len(labels)) if ids is None else ids)]
    bodies = {
        "overview": _overview(run),
        "warnings": _warnings(model, run, labels, y),
        "metrics": _metrics(run, labels, y, k),
        "sizes": parts.size_bars(np.bincount(labels, minlength=k), _floor(labels, k)),
        "clusters": _clusters(model, run, X, labels, confidence, ids),
        "map": _map(model, X, labels, k),
        "training": _training(model, k),
    }
    nav = " · ".join(f'<a href="#{key}">{esc(title)}</a>' for key, title in SECTIONS.items())
    sections = "".join(
        f'<section id="{key}"><h2>{esc(SECTIONS[key])}</h2>{body}</section>'
        for key, body in bodies.items()
    )
    title = f"ganclust: {run.get('method', '')} on {run.get('data', '')}"
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><nav>{nav}</nav></header>"
        f"<main>{sections}</main></body></html>\n"
    )


def _floor(labels: np.ndarray, k: int) -> float:
    """A tenth of a cluster's fair share: below it, a cluster has (nearly) collapsed."""
    return len(labels) / k / 10


def _flat(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [item for key, v in value.items() for item in _flat(f"{prefix}{key}.", v)]
    return [(prefix.rstrip("."), value)]


def _overview(run: dict[str, Any]) -> str:
    command = run.get("command")
    shape = run.get("sample_shape") or []
    rows = [
        ("data", run.get("data")),
        ("samples", run.get("n_samples")),
        ("sample shape", " x ".join(map(str, shape)) or "?"),
        ("scaling", (run.get("preprocessing") or {}).get("scaling", "?")),
        ("method", run.get("method")),
        ("command", shlex.join(command) if isinstance(command, list) else command),
        ("epochs", run.get("epochs")),
        ("stopped early", run.get("stopped_early")),
        ("seconds", run.get("seconds")),
        ("torch threads", run.get("torch_threads")),
        ("processes (torchrun)", run.get("processes", 1)),
        ("ganclust / torch", f"{run.get('ganclust_version')} / {run.get('torch')}"),
    ]
    settings = _flat("", run.get("settings") or {})
    return (
        parts.table([], rows, "facts")
        + _k_estimate(run.get("n_clusters_estimate"))
        + "<h3>Settings (every automatic value decided)</h3>"
        + parts.table(["setting", "value"], settings, "settings")
    )


def _k_estimate(estimate: Any) -> str:
    """How n_clusters="auto" chose K: every candidate's score in each look, marked."""
    if not estimate:
        return ""
    parts_ = [f"<h3>Number of clusters: estimated K={estimate['n_clusters']}</h3>"]
    parts_.append(f"<p>{esc(estimate['criterion'])}</p>")
    for name, look in (("the data's map", estimate["data_map"]), ("the learned features' map",
                       estimate.get("features"))):  # fmt: skip
        if not look:
            continue
        bic = look.get("measure") == "bic"
        name = "the data's Gaussian mixtures" if bic else name
        rows = [
            (f"{k}{' (its estimate)' if k == look['n_clusters'] else ''}",
             f"{s:.3f}" if bic else f"{s:.3f} ± {e:.3f}")
            for k, s, e in zip(look["candidates"], look["scores"], look["errors"], strict=True)
        ]  # fmt: skip
        header = "minus the BIC per sample" if bic else "silhouette (mean ± standard error)"
        if look.get("gaussian"):
            parts_.append(f"<p>{esc(gaussian_phrase(look['gaussian']))}.</p>")
        parts_.append(f"<p>On {name}:</p>" + parts.table(["K", header], rows, "settings"))
        for phrase in linked_phrase(look.get("linked") or []):
            parts_.append(f"<p>Of the first round's clusters, {esc(phrase)}.</p>")
        if look.get("rotated"):
            parts_.append(_rotated(look["rotated"]))
    return "".join(parts_)


def _rotated(look: dict[str, Any]) -> str:
    """The data look's check on the map under rotations: its two candidates' silhouettes."""
    rows = [
        (f"{k}{' (chosen)' if k == look['n_clusters'] else ''}", f"{s:.3f} ± {e:.3f}")
        for k, s, e in zip(look["candidates"], look["scores"], look["errors"], strict=True)
    ]
    held = " (clearly one less: the learned features' look may not name more)"
    said = (
        "<p>On the map under small rotations, which draws a class written at two slants as one "
        "island, the estimate or one less, whichever scores higher"
        f"{held if clearly_fewer(look) else ''}:</p>"
    )
    return said + parts.table(["K", "silhouette (mean ± standard error)"], rows, "settings")


def _warnings(model: Any, run: dict[str, Any], labels: np.ndarray, y: np.ndarray | None) -> str:
    k = model.settings_.n_clusters
    sizes, floor = np.bincount(labels, minlength=k), _floor(labels, k)
    found = []
    small = [f"{c} ({sizes[c]} samples)" for c in range(k) if sizes[c] < floor]
    if small:
        found.append(
            f"collapse: cluster(s) {', '.join(small)} hold under a tenth of their fair share "
            f"({floor:.1f} samples); try --n-init 3, more epochs or fewer clusters"
        )
    rollbacks = [row for row in model.history_ if "rollback" in row]
    if rollbacks:
        found.append(
            f"training diverged {len(rollbacks)} time(s) and was rolled back "
            f"(epochs {', '.join(str(r.get('epoch')) for r in rollbacks)}); the learning rate "
            f"ended at {rollbacks[-1].get('learning_rate')}"
        )
    collapsed = run.get("init_collapsed") or []
    if any(collapsed):
        found.append(
            f"{sum(map(bool, collapsed))} of {len(collapsed)} initialisation(s) collapsed; "
            f"initialisation {run.get('best_init')} was kept"
        )
    quality = getattr(model, "cluster_quality_", None)
    if quality is not None:
        from ._fit import LOW_QUALITY

        low = [f"{c} ({quality[c]:.2f})" for c in range(k) if quality[c] < LOW_QUALITY]
        if low:
            found.append(
                f"suspected merge or split: the refinement's t-SNE maps disagree on cluster(s) "
                f"{', '.join(low)} (1 is full agreement); try --n-init 3 or another --n-clusters"
            )
    estimate = run.get("n_clusters_estimate")
    doubt = in_doubt(estimate) if estimate else None
    if doubt is not None:
        found.append(
            f'unsure number of clusters: {doubt[0]} (n_clusters="auto"); '
            f"compare fits at --n-clusters {doubt[1]} to {doubt[2]}"
        )
    if y is not None and len(np.unique(y)) != k:
        found.append(f"the labels have {len(np.unique(y))} classes and the model {k} clusters")
    if not model.settings_.adversarial:
        found.append("fitted with adversarial=False: no generator, so no generated samples")
    if not found:
        return '<p class="ok">none: no collapsed cluster, no suspected merge, no rollback</p>'
    return "<ul>" + "".join(f'<li class="warn">{esc(w)}</li>' for w in found) + "</ul>"


def _metrics(run: dict[str, Any], labels: np.ndarray, y: np.ndarray | None, k: int) -> str:
    if y is None:
        return '<p class="none">no labels known: nothing to score against</p>'
    from .metrics import evaluate

    y = np.asarray(y)
    scores = run.get("metrics") or evaluate(y, labels)
    names = {"acc": "accuracy (Hungarian)", "nmi": "NMI (arithmetic)", "ari": "ARI"}
    names["purity"] = "purity"
    rows = [(names[key], f"{scores[key]:.4f}") for key in names if key in scores]
    return (
        parts.table(["metric", "value"], rows, "facts")
        + "<h3>Confusion matrix: clusters (rows) against labels (columns)</h3>"
        + parts.confusion_table(labels, y, k)
    )


def _generated(model: Any, cluster: int, n: int) -> np.ndarray | None:
    if not model.settings_.adversarial:
        return None
    try:
        return model.sample(n, cluster=cluster, random_state=0)[0]
    except RuntimeError:  # an unconditional generator that (almost) never makes this cluster
        return None


def _members(labels: np.ndarray, confidence: np.ndarray, cluster: int, n: int):
    """The ``n`` most and the ``n`` least confident members of ``cluster`` (disjoint)."""
    members = np.flatnonzero(labels == cluster)
    order = members[np.argsort(-confidence[members], kind="stable")]
    typical = order[:n]
    doubtful = order[n:][::-1][:n]
    return typical, doubtful


def _clusters(model, run, X, labels, confidence, ids) -> str:
    k = model.settings_.n_clusters
    n = 8 if k <= 20 else 4
    if model.preprocessor_.is_image:
        low, high = parts.image_range(X)
        cards = [
            _image_card(model, X, labels, confidence, ids, c, n, (low, high)) for c in range(k)
        ]
        return "".join(cards)
    from ._run_read import column_names

    names = column_names(run.get("feature_names"), int(np.prod(np.shape(X)[1:])))
    flat = np.asarray(X, dtype=float).reshape(len(labels), -1)
    figure = parts.figure_img(parts.profile_figure(flat, labels, k, names), "feature profiles")
    cards = [_vector_card(model, flat, labels, confidence, ids, c, n, names) for c in range(k)]
    return figure + "".join(cards)


def _card_head(labels: np.ndarray, cluster: int) -> str:
    size = int((labels == cluster).sum())
    share = 100 * size / max(len(labels), 1)
    return (
        f'<div class="cluster" id="cluster-{cluster}">'
        f"<h3>cluster {cluster}: {size} samples ({share:.1f}%)</h3>"
    )


def _image_card(model, X, labels, confidence, ids, cluster, n, span) -> str:
    typical, doubtful = _members(labels, confidence, cluster, n)
    strips = []
    for title, index in (("most typical", typical), ("most doubtful", doubtful)):
        order = np.argsort(index)  # read in file order (a memmap), shown in confidence order
        images = np.empty((len(index), *np.shape(X)[1:]), dtype=np.asarray(X[:1]).dtype)
        images[order] = np.asarray(X[index[order]])
        captions = [f"{confidence[i]:.2f}" for i in index]
        titles = [f"{ids[i]} (probability {confidence[i]:.3f})" for i in index]
        listed = f'<p class="ids">{esc(", ".join(ids[i] for i in index))}</p>' if len(index) else ""
        strips.append((title, parts.thumbnails(images, captions, titles, *span) + listed))
    fake = _generated(model, cluster, n)
    if fake is not None:
        blank = [""] * len(fake)
        strips.append(
            ("generated", parts.thumbnails(fake, blank, ["generated"] * len(fake), *span))
        )
    elif model.settings_.adversarial:
        strips.append(("generated", '<p class="none">the generator (almost) never makes it</p>'))
    cells = "".join(f"<div><h4>{title}</h4>{strip}</div>" for title, strip in strips)
    return _card_head(labels, cluster) + f'<div class="strips">{cells}</div></div>'


def _vector_card(model, flat, labels, confidence, ids, cluster, n, names) -> str:
    members = labels == cluster
    head = _card_head(labels, cluster)
    if not members.any():
        return head + '<p class="none">empty</p></div>'
    fake = _generated(model, cluster, 200)
    generated = None if fake is None else np.asarray(fake, dtype=float).reshape(len(fake), -1)
    rows, _ = parts.profile_rows(flat, members, names, generated)
    header = ["feature", "cluster mean ± std", "all samples", "z"]
    header += ["generated mean ± std"] if generated is not None else []
    typical, doubtful = _members(labels, confidence, cluster, n)
    listed = "".join(
        f"<p><b>{title}:</b> "
        + ", ".join(f"{esc(ids[i])} ({confidence[i]:.2f})" for i in index)
        + "</p>"
        for title, index in (("most typical", typical), ("most doubtful", doubtful))
    )
    return head + parts.table(header, rows, "profile") + listed + "</div>"


def _map(model: Any, X: Any, labels: np.ndarray, k: int) -> str:
    from .plots import MAP_POINTS, embedding_map

    index, points, clusters = embedding_map(model, X, MAP_POINTS, 0, clusters=labels)
    note = f"<p>PCA of <code>model.transform</code> of {len(index)} of {len(labels)} samples.</p>"
    return note + parts.figure_img(parts.map_figure(points, clusters, k), "map of the embedding")


def _training(model: Any, k: int) -> str:
    fig = parts.training_figure(model.history_, k, getattr(model, "cluster_order_", None))
    if fig is None:
        return '<p class="none">no history recorded</p>'
    note = "<p>Per epoch of the kept initialisation; a dashed red line marks a rollback.</p>"
    return note + parts.figure_img(fig, "losses and occupancy over the epochs")
