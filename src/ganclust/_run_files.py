"""What ``ganclust fit`` puts in a run folder, read off a fitted model (the app layer's glue).

The files themselves are written by :mod:`ganclust.runs`, :mod:`ganclust.plots` and
:mod:`ganclust.report` from plain arrays; this module is the one place that turns a model into
those arrays.
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
from .distributed import world
from .metrics import evaluate
from .runs import summary, write_json, write_labels


def write_history(path: Path, history: list[dict[str, Any]], n_clusters: int) -> None:
    """One CSV row per epoch: the phase, every logged loss, and the occupancy of each cluster."""
    # a rolled-back epoch is trained again: its row is the retry's (run.json lists rollbacks)
    history = [row for row in history if "rollback" not in row]
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
    data: Any,
    data_args: dict[str, Any],
    seconds: float,
    argv: Sequence[str],
    out: Path,
    *,
    report: bool = False,
) -> dict[str, Any]:
    """Write every file of a run folder into ``tmp``; return the printable summary.

    ``data`` is the :class:`ganclust._cli_data.CliData` fitted on (its ``X``, ``y``, ``ids``
    and ``feature_names``); ``data_args`` the data flags that load it again (``run.json``'s
    ``"data_args"``). ``report`` also writes ``report.html``.
    """
    X, y, settings = data.X, data.y, model.settings_
    files = ["model.safetensors", "labels.csv", "history.csv", "run.json"]
    model.save(tmp / "model.safetensors")
    proba = model.predict_proba(X)
    write_labels(tmp / "labels.csv", model.labels_, proba, ids=data.ids, y=y)
    write_history(tmp / "history.csv", model.history_, settings.n_clusters)
    metrics = evaluate(y, model.labels_) if y is not None else None
    if metrics is not None:
        write_json(tmp / "metrics.json", metrics)
        files.append("metrics.json")
    if settings.adversarial:
        _write_samples_figure(tmp / "samples.png", model, X)
        files.append("samples.png")
    run = _run_record(model, data, data_args, seconds, argv, metrics)
    write_json(tmp / "run.json", run)
    if report:
        from .report import write_report

        # as labels.csv holds it, so that `ganclust report RUN` draws the same page
        confidence = np.array([float(f"{p:.4f}") for p in proba[np.arange(len(X)), model.labels_]])
        write_report(tmp / "report.html", model, run, X, y, model.labels_, confidence, data.ids)
        files.append("report.html")
    return {"summary": summary(run, out, files), "run": run}


def _run_record(
    model: Any,
    data: Any,
    data_args: dict[str, Any],
    seconds: float,
    argv: Sequence[str],
    metrics: dict[str, Any] | None,
) -> dict[str, Any]:
    """What ``run.json`` holds: the command, the data and how to load it again, the settings,
    the timings, and the result."""
    settings = model.settings_
    return {
        "command": list(argv),
        "data": data.spec,
        "data_args": data_args,
        "n_samples": int(len(data.X)),
        "sample_shape": list(np.shape(data.X)[1:]),
        "feature_names": data.feature_names,
        "method": model._method_name,
        "params": json_params(model.get_params(), settings.seed),
        "settings": settings.to_json(),
        # how the data were scaled (vectors: per feature or one shared scale; images: their range)
        "preprocessing": model.preprocessor_.to_json(),
        "torch_threads": torch.get_num_threads(),
        # the processes that trained the fit together (torchrun), 1 alone
        "processes": world().size,
        "seconds": round(seconds, 2),
        "epochs": model.n_iter_,
        "stopped_early": model.stopped_early_,
        "rollbacks": [row for row in model.history_ if "rollback" in row],
        "n_clusters": int(settings.n_clusters),
        "n_clusters_estimate": (
            model.state_.n_clusters_estimate.to_json()
            if model.state_.n_clusters_estimate is not None
            else None
        ),
        "cluster_sizes": model.cluster_sizes_.tolist(),
        "cluster_quality": [
            None if np.isnan(q) else round(float(q), 4) for q in model.cluster_quality_
        ],  # fmt: skip
        "init_scores": model.init_scores_.tolist(),
        "init_collapsed": model.init_collapsed_.tolist(),
        "best_init": model.best_init_,
        "metrics": metrics,
        "ganclust_version": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "machine": platform.machine(),
    }
