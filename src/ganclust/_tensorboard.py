"""``ganclust fit --tensorboard DIR``: scalars per epoch, and the embedding for the Projector.

Needs the optional extra (``pip install "ganclust[tensorboard]"``). Scalars are written live,
from the fit's epoch events: every logged loss, the smallest and largest cluster occupancy and
the epoch's seconds, under ``init<k>/``. Once the fit is done, the latent embedding of up to
:data:`EMBEDDING_SAMPLES` training samples is written with their clusters (and labels, when
known) and, for images, their thumbnails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

# the Projector shows this many points at most (a bounded, reproducible subsample)
EMBEDDING_SAMPLES = 2000


def writer(folder: str | Path) -> Any:
    """A SummaryWriter for ``folder``, or a clear error when the extra is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ValueError(
            "--tensorboard needs TensorBoard: pip install 'ganclust[tensorboard]'"
        ) from None
    return SummaryWriter(log_dir=str(folder))


class EpochScalars:
    """A fit callback writing each epoch's losses, occupancy and seconds as scalars."""

    def __init__(self, summary: Any) -> None:
        self.summary = summary
        self.steps: dict[int, int] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        if event.get("event") != "epoch":
            return
        init = int(event.get("init", 0))
        step = self.steps.get(init, 0) + 1
        self.steps[init] = step
        for key, value in event.items():
            if isinstance(value, float) and key not in ("epoch", "init"):
                self.summary.add_scalar(f"init{init}/{key}", value, step)
        occupancy = event.get("occupancy")
        if occupancy:
            self.summary.add_scalar(f"init{init}/occupancy_min", min(occupancy), step)
            self.summary.add_scalar(f"init{init}/occupancy_max", max(occupancy), step)
        self.summary.flush()


def write_embedding(summary: Any, model: Any, X: np.ndarray, y: np.ndarray | None) -> None:
    """The latent embedding of a subsample, labelled by cluster (and label), for the Projector."""
    rng = np.random.default_rng(0)
    keep = np.sort(rng.choice(len(X), min(len(X), EMBEDDING_SAMPLES), replace=False))
    sample = np.asarray(X[keep])
    embedding = model.transform(sample)
    clusters = model.labels_[keep]
    header = ["cluster"] + (["label"] if y is not None else [])
    rows = [
        [str(c)] + ([str(y[i])] if y is not None else [])
        for c, i in zip(clusters, keep, strict=True)
    ]
    metadata: list[Any] = rows if y is not None else [r[0] for r in rows]
    thumbnails = None
    if model.preprocessor_.is_image:
        # the networks' view of the images, in [-1, 1], as N x C x H x W in [0, 1]
        images = model.preprocessor_.to_tensor(sample)
        thumbnails = ((images + 1) / 2).clamp(0, 1)
    summary.add_embedding(
        torch.from_numpy(np.asarray(embedding, dtype=np.float32)),
        metadata=metadata,
        metadata_header=header if y is not None else None,
        label_img=thumbnails,
        tag="embedding",
    )
    summary.flush()
