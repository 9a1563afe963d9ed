"""Run folders: everything ``ganclust fit`` writes, created all at once or not at all.

The folder is assembled under a temporary name beside its destination and renamed into place when
complete, so a failed or interrupted run leaves no half-written folder behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ._base import GANClusterer
from .metrics import evaluate


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_public(path: Path) -> None:
    """Give a temporary file or folder the permissions a plainly created one would have.

    ``mkstemp`` and ``mkdtemp`` create owner-only entries; renamed into place they would stay so.
    """
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~_umask())


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    make_public(Path(tmp))
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_labels(path: Path, labels: np.ndarray) -> None:
    """Write ``index,cluster`` rows to a CSV file atomically."""
    with atomic_path(path) as tmp, open(tmp, "w") as handle:
        handle.write("index,cluster\n")
        handle.writelines(f"{i},{c}\n" for i, c in enumerate(labels))


class RunFolder:
    """The destination of one ``fit`` run.

    Parameters
    ----------
    path : pathlib.Path
        Folder to create.
    overwrite : bool
        Whether an existing folder may be replaced (only once the new one is complete).

    Raises
    ------
    ValueError
        If ``path`` exists and ``overwrite`` is false; checked here, before any training.
    """

    def __init__(self, path: Path, overwrite: bool = False) -> None:
        if path.exists() and not overwrite:
            raise ValueError(f"run folder {path} already exists; pass --overwrite or another --out")
        if path.exists() and not path.is_dir():
            raise ValueError(f"--out {path} exists and is not a folder")
        self.path = path

    def write_fit(
        self,
        model: GANClusterer,
        X: np.ndarray,
        y: np.ndarray | None,
        *,
        spec: str,
        seconds: float,
        argv: Sequence[str],
    ) -> str:
        """Write model, labels, metrics, figure and run.json; return a printable summary."""
        from . import __version__
        from .plots import save_samples_figure

        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        make_public(tmp)
        try:
            model.save(tmp / "model.safetensors")
            write_labels(tmp / "labels.csv", model.labels_)
            metrics = evaluate(y, model.labels_) if y is not None else None
            if metrics is not None:
                (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
            save_samples_figure(model, X, tmp / "samples.png")
            run = {
                "command": list(argv),
                "data": spec,
                "n_samples": int(len(X)),
                "sample_shape": list(np.shape(X)[1:]),
                "method": model._method_name,
                "params": model.get_params(),
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
                "machine": platform.machine(),
            }
            (tmp / "run.json").write_text(json.dumps(run, indent=2) + "\n")
            self._commit(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return _summary(run, self.path)

    def _commit(self, tmp: Path) -> None:
        old = None
        if self.path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.old.", dir=self.path.parent))
            os.replace(self.path, old / "run")
        os.replace(tmp, self.path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _summary(run: dict, path: Path) -> str:
    lines = [
        f"{run['method']} on {run['data']}: {run['n_samples']} samples of shape "
        f"{'x'.join(map(str, run['sample_shape']))}, "
        f"{run['epochs']} epochs in {run['seconds']:.1f} s",
        f"cluster sizes: {run['cluster_sizes']}",
    ]
    metrics = run["metrics"]
    if metrics:
        lines.append(
            f"ACC {metrics['acc']:.4f}  NMI {metrics['nmi']:.4f}  ARI {metrics['ari']:.4f}  "
            f"purity {metrics['purity']:.4f}"
        )
    lines.append(
        f"wrote {path}/ (model.safetensors, labels.csv, samples.png, run.json"
        + (", metrics.json)" if metrics else ")")
    )
    return "\n".join(lines)
