"""What the CLI's data flags load, and how a run folder records them so they can be loaded again.

``ganclust fit`` writes the data flags to ``run.json`` (``"data_args"``) so that ``ganclust
report RUN`` can load the same data with the same loader; an explicit ``--data`` replaces them.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

# the data flags, as ``argparse`` stores them, and their defaults
DATA_FLAGS = {
    "label_column": None,
    "id_column": None,
    "image_size": None,
    "split": "train",
    "mirror": None,
    "no_verify": False,
}
# column names that usually hold labels: kept as a feature, they get a warning
LABEL_LIKE = ("label", "labels", "target", "class", "y")


class CliData(NamedTuple):
    """The ``--data`` spec and what :func:`ganclust.datasets.load_data_with_ids` loaded."""

    spec: str
    X: np.ndarray
    y: np.ndarray | None
    ids: list[str] | None
    feature_names: list[str] | None


def _image_size(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        size = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        size = ()
    if len(size) != 2:
        raise ValueError(f"--image-size must look like 28x28; got {text!r}")
    return size  # type: ignore[return-value]


def _column(text: str | None) -> str | int | None:
    if text is not None and text.lstrip("-").isdigit():
        return int(text)
    return text


def load_cli_data_with_ids(args: argparse.Namespace, default: str | None = None) -> CliData:
    """Load ``--data`` (or ``default``) with the data flags of ``args``, with each sample's id."""
    from .datasets import load_data_with_ids

    spec = args.data or default
    size = _image_size(args.image_size)
    try:
        loaded = load_data_with_ids(
            spec,
            label_column=_column(args.label_column),
            id_column=_column(getattr(args, "id_column", None)),
            image_size=size,
            split=args.split,
            mirror=args.mirror,
            verify=not args.no_verify,
            progress=not getattr(args, "quiet", False),
        )
    except (ValueError, OSError, MemoryError):
        raise
    except Exception as exc:  # a reader's own error type (a corrupt archive, an image bomb)
        raise ValueError(f"cannot read --data {spec}: {type(exc).__name__}: {exc}") from exc
    if args.label_column is None:
        warn_label_like(spec, loaded.feature_names)
    return CliData(spec, *loaded)


def load_cli_data(args: argparse.Namespace, default: str | None = None):
    """``(spec, X, y)`` of ``--data`` (or ``default``), loaded with the data flags of ``args``."""
    data = load_cli_data_with_ids(args, default)
    return data.spec, data.X, data.y


def warn_label_like(spec: str, feature_names: list[str] | None) -> None:
    """Warn about a feature column whose name says it holds labels (``label``, ``y``, ...)."""
    for name in feature_names or []:
        if name.strip().lower() in LABEL_LIKE:
            warnings.warn(
                f"{spec}: column {name!r} looks like labels but is used as a feature; pass "
                f"--label-column {name} to use it as the labels (or rename it)",
                UserWarning,
                stacklevel=2,
            )


def note_classes(y: np.ndarray | None, args: argparse.Namespace, default_k: int) -> None:
    """Say how many classes the labels have when ``--n-clusters`` was left to its default."""
    if y is None or getattr(args, "quiet", False) or hasattr(args, "param_n_clusters"):
        return
    n_classes = len(np.unique(np.asarray(y)))
    if n_classes == default_k:
        advice = f"as many as the default {default_k} clusters"
    else:
        advice = (
            f"fitting the default {default_k} clusters (--n-clusters {n_classes} for one each, "
            "or --n-clusters auto to estimate K without the labels)"
        )
    print(f"ganclust fit: note: the labels have {n_classes} classes; {advice}", file=sys.stderr)


def data_record(args: argparse.Namespace, spec: str) -> dict[str, Any]:
    """The data flags as ``run.json`` records them (``"data_args"``), to load the data again.

    ``path`` is the absolute path of a file or folder (None for a named dataset), so that the
    data is found from another working folder.
    """
    from .datasets_registry import DATASETS

    named = spec.strip().lower().replace("_", "-") in DATASETS
    path = Path(spec).expanduser()
    record: dict[str, Any] = {"spec": spec}
    record["path"] = None if named or not path.exists() else os.fspath(path.resolve())
    record |= {flag: getattr(args, flag, default) for flag, default in DATA_FLAGS.items()}
    return record


def recorded_args(run: dict[str, Any], args: argparse.Namespace) -> argparse.Namespace:
    """The data flags to load a run's data again: the command line's if it names ``--data``,
    else those ``run.json`` recorded (its absolute path first, when that still exists)."""
    if args.data:
        return args
    record = run.get("data_args")
    if not isinstance(record, dict) or not isinstance(record.get("spec"), str):
        spec = run.get("data")
        if not isinstance(spec, str):
            raise ValueError("run.json does not say which data the run was fitted on; pass --data")
        record = {"spec": spec}
    path = record.get("path")
    data = path if isinstance(path, str) and Path(path).exists() else record["spec"]
    values = {flag: record.get(flag, default) for flag, default in DATA_FLAGS.items()}
    return argparse.Namespace(**{**vars(args), **values, "data": data, "quiet": True})
