"""What ``ganclust fit`` puts in a run folder, read off a fitted model (the app layer's glue).

The files themselves are written by :mod:`ganclust.runs` and :mod:`ganclust.plots` from plain
arrays; this module is the one place that turns a model into those arrays.
"""

from __future__ import annotations

import csv
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._state import json_params
from ._version import __version__
from .metrics import evaluate
from .runs import summary, write_json, write_labels


def write_history(path: Path, history: list[dict[str, Any]], n_clusters: int) -> None:
    """One CSV row per epoch: the phase, every logged loss, and the occupancy of each cluster."""
    losses = sorted({k for row in history for k in row} - {"epoch", "refine", "occupancy"})
    header = ["epoch", "phase", *losses, *(f"occupancy_{k}" for k in range(n_clusters))]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in history:
            phase = f"refine {row['refine']}" if row.get("refine") else "train"
            values = [row["epoch"], phase, *(row.get(k, "") for k in losses)]
            writer.writerow(values + list(row.get("occupancy", [""] * n_clusters)))


def _write_samples_figure(path: Path, model: Any, X: np.ndarray) -> None:
    from .plots import samples_figure_data, save_samples_figure

    k = model.settings_.n_clusters
    fake, clusters = samples_figure_data(model.sample, k, model._method.conditional)
    is_image = model.preprocessor_.is_image
    save_samples_figure(
        fake, clusters, path, n_clusters=k, is_image=is_image, data=X, data_labels=model.labels_
    )


def write_run(
    tmp: Path,
    model: Any,
    X: np.ndarray,
    y: np.ndarray | None,
    spec: str,
    seconds: float,
    argv: Sequence[str],
    out: Path,
) -> dict[str, Any]:
    """Write every file of a run folder into ``tmp``; return the printable summary."""
    settings = model.settings_
    files = ["model.safetensors", "labels.csv", "history.csv", "run.json"]
    model.save(tmp / "model.safetensors")
    proba = model.predict_proba(X)
    write_labels(tmp / "labels.csv", model.labels_, proba, y=y)
    write_history(tmp / "history.csv", model.history_, settings.n_clusters)
    metrics = evaluate(y, model.labels_) if y is not None else None
    if metrics is not None:
        write_json(tmp / "metrics.json", metrics)
        files.append("metrics.json")
    if settings.adversarial:
        _write_samples_figure(tmp / "samples.png", model, X)
        files.append("samples.png")
    run = {
        "command": list(argv),
        "data": spec,
        "n_samples": int(len(X)),
        "sample_shape": list(np.shape(X)[1:]),
        "method": model._method_name,
        "params": json_params(model.get_params(), settings.seed),
        "settings": settings.to_json(),
        "torch_threads": torch.get_num_threads(),
        "seconds": round(seconds, 2),
        "epochs": model.n_iter_,
        "stopped_early": model.stopped_early_,
        "cluster_sizes": model.cluster_sizes_.tolist(),
        "init_scores": model.init_scores_.tolist(),
        "init_collapsed": model.init_collapsed_.tolist(),
        "best_init": model.best_init_,
        "metrics": metrics,
        "ganclust_version": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "machine": platform.machine(),
    }
    write_json(tmp / "run.json", run)
    return {"summary": summary(run, out, files)}
