"""Reading a run folder back: its ``run.json`` and ``labels.csv``, and the names of its columns.

Also the CSV writer of generated vectors, which names its columns as the fitted table did.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

# run.json and a labels.csv line are small; a bigger one is not ganclust's
MAX_RUN_JSON_BYTES = 16 * 2**20


def read_run(folder: Path) -> dict[str, Any]:
    """The ``run.json`` of a run folder that ``ganclust fit`` wrote.

    Raises
    ------
    ValueError
        If ``folder`` is not a run folder or its ``run.json`` is missing, too large or not JSON.
    """
    path = folder / "run.json"
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a run folder (written by `ganclust fit`)")
    if not path.is_file():
        raise ValueError(f"{folder} has no run.json: not a run folder written by `ganclust fit`")
    if path.stat().st_size > MAX_RUN_JSON_BYTES:
        raise ValueError(f"{path} is too large to be a run.json that ganclust wrote")
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(run, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return run


def read_labels(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(ids, clusters, probabilities)`` from a ``labels.csv`` that ganclust wrote.

    Raises
    ------
    ValueError
        If the file is missing or is not ``id,cluster,probability[,label]`` rows.
    """
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    if not rows or rows[0][:3] != ["id", "cluster", "probability"]:
        raise ValueError(f"{path} is not a labels.csv with id, cluster and probability columns")
    ids, clusters, probability = [], [], []
    for line, row in enumerate(rows[1:], start=2):
        try:
            ids.append(row[0])
            clusters.append(int(row[1]))
            probability.append(float(row[2]))
        except (IndexError, ValueError):
            raise ValueError(f"{path}: line {line} is not id,cluster,probability") from None
    return ids, np.asarray(clusters, dtype=np.int64), np.asarray(probability, dtype=float)


def column_names(names: Any, n_features: int) -> list[str]:
    """``names`` when they are ``n_features`` strings, else ``feature_0``, ``feature_1``, ..."""
    if (
        isinstance(names, list)
        and len(names) == n_features
        and all(isinstance(n, str) for n in names)
    ):
        return names
    return [f"feature_{j}" for j in range(n_features)]


def feature_names_of(model: Path, n_features: int) -> list[str]:
    """The column names of the table a model was fitted on, from its run folder's ``run.json``.

    ``model`` is a run folder or a model file; names are read from the folder (or the file's
    folder) when ``ganclust fit`` recorded them for a table with a header. Otherwise, or when
    they do not fit ``n_features``, the names are ``feature_0``, ``feature_1``, ...
    """
    folder = model if model.is_dir() else model.parent
    try:
        names = read_run(folder).get("feature_names")
    except ValueError:
        names = None
    return column_names(names, n_features)


def write_samples_csv(
    path: Path, X: np.ndarray, clusters: np.ndarray, feature_names: list[str]
) -> None:
    """Write generated vectors as CSV: one column per feature, then their ``cluster``."""
    cluster = "cluster" if "cluster" not in feature_names else "generated_cluster"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*feature_names, cluster])
        for row, k in zip(np.asarray(X).reshape(len(X), -1), clusters, strict=True):
            writer.writerow([*(repr(float(v)) for v in row), int(k)])
