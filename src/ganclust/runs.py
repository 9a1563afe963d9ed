"""Run folders: everything ``ganclust fit`` writes, created all at once or not at all.

The folder is assembled under a temporary name beside its destination and renamed into place when
complete, so a failed or interrupted run leaves no half-written folder behind. Only a folder that
ganclust wrote (it carries :data:`MARKER` and nothing else but ganclust's files) may be replaced,
and the "already exists" check is made again, atomically, by the rename that commits the run.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ._files import atomic_dir, atomic_file
from ._k_doubts import in_doubt
from ._k_estimate import clearly_fewer

MARKER = ".ganclust-run"
# every name a run folder may hold: anything else makes a folder ganclust will not replace
RUN_FILES = frozenset(
    {MARKER, "model.safetensors", "labels.csv", "metrics.json", "samples.png", "run.json",
     "history.csv", "report.html", "checkpoints"}
)  # fmt: skip
# temporary folders are named so a user who sees one knows whose it is
TMP_PREFIX = ".ganclust-tmp"
OLD_PREFIX = ".ganclust-old"


def write_labels(
    path: Path,
    labels: np.ndarray,
    proba: np.ndarray | None = None,
    ids: Iterable[Any] | None = None,
    y: np.ndarray | None = None,
) -> None:
    """Write one CSV row per sample atomically: id, cluster, probability, and label if known."""
    with atomic_file(path) as tmp, open(tmp, "w", newline="") as handle:
        handle.writelines(label_rows(labels, proba, ids, y))


def label_rows(
    labels: np.ndarray,
    proba: np.ndarray | None = None,
    ids: Iterable[Any] | None = None,
    y: np.ndarray | None = None,
) -> Iterable[str]:
    """CSV lines (header first) of ``write_labels``."""
    import csv
    import io

    header = ["id", "cluster"] + (["probability"] if proba is not None else [])
    header += ["label"] if y is not None else []
    ids = list(ids) if ids is not None else range(len(labels))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    yield buffer.getvalue()
    for i, cluster in enumerate(labels):
        buffer.seek(0)
        buffer.truncate()
        row: list[Any] = [ids[i], int(cluster)]
        if proba is not None:
            row.append(f"{float(proba[i, cluster]):.4f}")
        if y is not None:
            row.append(y[i])
        writer.writerow(row)
        yield buffer.getvalue()


def is_run_folder(path: Path) -> bool:
    """Whether ``path`` is a folder that ganclust wrote and that holds only ganclust's files."""
    return path.is_dir() and (path / MARKER).is_file() and _foreign(path) == []


def _foreign(path: Path) -> list[str]:
    return sorted(entry.name for entry in path.iterdir() if entry.name not in RUN_FILES)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_note() -> str:
    """What a temporary folder's ``.pid`` holds: the process id and the machine's name."""
    return f"{os.getpid()} {socket.gethostname()}\n"


def _owner_gone(folder: Path) -> bool:
    """Whether the process that made ``folder`` has certainly ended (False when unsure).

    A folder made on another machine (a shared file system) or without a readable ``.pid`` is
    never taken for abandoned.
    """
    try:
        pid_text, _, host = (folder / ".pid").read_text().strip().partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return False
    if host and host != socket.gethostname():
        return False
    return not _pid_alive(pid)


class RunFolder:
    """The destination of one ``fit`` run, checked before any training.

    Used as a context manager around the training and :meth:`write`, it removes on failure the
    empty folders above ``path`` that its writability check created.

    Parameters
    ----------
    path : pathlib.Path
        Folder to create.
    overwrite : bool
        Whether an existing run folder may be replaced (only once the new one is complete).

    Raises
    ------
    ValueError
        If ``path`` exists and may not be replaced, is the current folder or one above it, or
        its parent is not writable.
    """

    def __init__(self, path: Path, overwrite: bool = False) -> None:
        self.path = path
        self.overwrite = overwrite
        # the missing folders above ``path`` that the writability check created
        self.created: list[Path] = []
        here = Path.cwd().resolve()
        target = path.resolve()
        if target == here or target in here.parents:
            raise ValueError(f"--out {path} is the current folder or one above it; choose another")
        self._clean_leftovers()
        if path.exists() or path.is_symlink():
            self._check_replaceable()
        self._check_writable()

    def _check_replaceable(self) -> None:
        path = self.path
        if path.is_symlink() or not path.is_dir():
            raise ValueError(f"--out {path} exists and is not a folder")
        if not self.overwrite:
            raise ValueError(f"run folder {path} already exists; pass --overwrite or another --out")
        if not (path / MARKER).is_file():
            raise ValueError(
                f"--out {path} exists and is not a ganclust run folder; --overwrite only "
                "replaces run folders, so nothing was touched"
            )
        foreign = _foreign(path)
        if foreign:
            raise ValueError(
                f"--out {path} holds files ganclust did not write ({', '.join(foreign[:3])}); "
                "nothing was touched"
            )

    def _check_writable(self) -> None:
        parent = self.path.parent
        missing = [p for p in (parent, *parent.parents) if not p.exists()]
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.created = missing
            with atomic_dir(self.path, prefix=TMP_PREFIX):
                pass
        except OSError as exc:
            self.abandon()
            raise ValueError(
                f"cannot write the run folder {self.path}: {parent} is not writable "
                f"({exc.strerror or exc})"
            ) from None

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            self.abandon()

    def abandon(self) -> None:
        """Remove the folders above ``path`` that this run created, if they are still empty."""
        for folder in self.created:
            try:
                folder.rmdir()
            except FileNotFoundError:
                continue
            except OSError:
                break  # no longer empty: it, and the folders above it, are kept
        self.created = []

    def _clean_leftovers(self) -> None:
        """Tidy the temporary folders of earlier runs of this destination whose process ended.

        A run interrupted between the two renames of an overwrite left the previous run inside
        its ``.ganclust-old`` folder and no destination: that run is put back, not deleted. An
        old folder that still holds a run while the destination exists is left alone.
        """
        parent = self.path.parent
        if not parent.is_dir():
            return
        name = glob.escape(self.path.name)
        for prefix in (TMP_PREFIX, OLD_PREFIX):
            for entry in parent.glob(f"{prefix}.{name}.*"):
                if entry.is_symlink() or not entry.is_dir() or not _owner_gone(entry):
                    continue
                previous = entry / "run"
                if prefix == OLD_PREFIX and previous.is_dir():
                    if self.path.exists():
                        continue  # which run is the newer cannot be told: keep both
                    os.rename(previous, self.path)
                shutil.rmtree(entry, ignore_errors=True)

    def write(self, write_contents: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
        """Assemble the folder with ``write_contents(tmp)`` and commit it; return its result."""
        with atomic_dir(self.path, prefix=TMP_PREFIX) as tmp:
            (tmp / ".pid").write_text(_owner_note())
            result = write_contents(tmp)
            (tmp / ".pid").unlink()
            (tmp / MARKER).write_text("written by ganclust fit\n")
            self._commit(tmp)
        return result

    def _commit(self, tmp: Path) -> None:
        if self.path.exists() and self.overwrite:
            self._check_replaceable()  # again: the folder may have changed during training
            self._replace(tmp)
            self.created = []
            return
        try:
            # rename refuses a non-empty destination: the check made again, atomically
            os.rename(tmp, self.path)
            self.created = []
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                raise ValueError(
                    f"run folder {self.path} appeared while training; pass --overwrite or "
                    "another --out"
                ) from None
            raise

    def _replace(self, tmp: Path) -> None:
        """Swap the previous run for ``tmp``; the previous run is deleted only once swapped."""
        old = Path(tempfile.mkdtemp(prefix=f"{OLD_PREFIX}.{self.path.name}.", dir=self.path.parent))
        (old / ".pid").write_text(_owner_note())
        os.replace(self.path, old / "run")
        try:
            os.rename(tmp, self.path)
        except OSError:
            # something took the name between the renames: the previous run goes back
            try:
                os.rename(old / "run", self.path)
            except OSError:
                raise ValueError(
                    f"{self.path} was taken while the run was being saved; the previous run "
                    f"is kept in {old / 'run'}"
                ) from None
            shutil.rmtree(old, ignore_errors=True)
            raise ValueError(
                f"{self.path} changed while the run was being saved; nothing was replaced"
            ) from None
        shutil.rmtree(old, ignore_errors=True)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as indented JSON."""
    path.write_text(json.dumps(payload, indent=2) + "\n")


def summary(run: dict[str, Any], path: Path, files: list[str]) -> str:
    """The lines ``ganclust fit`` prints."""
    lines = [
        f"{run['method']} on {run['data']}: {run['n_samples']} samples of shape "
        f"{'x'.join(map(str, run['sample_shape']))}, "
        f"{run['epochs']} epochs in {run['seconds']:.1f} s",
        f"cluster sizes: {run['cluster_sizes']}",
    ]
    estimate = run.get("n_clusters_estimate")
    if estimate:
        lines.insert(1, k_estimate_line(estimate))
    metrics = run["metrics"]
    if metrics:
        lines.append(
            f"ACC {metrics['acc']:.4f}  NMI {metrics['nmi']:.4f}  ARI {metrics['ari']:.4f}  "
            f"purity {metrics['purity']:.4f}"
        )
    lines.append(f"wrote {path}/ ({', '.join(files)})")
    return "\n".join(lines)


def linked_phrase(linked: list[list[Any]]) -> list[str]:
    """What the rotation test of ``n_clusters="auto"`` joined, as one phrase (none if nothing)."""
    if not linked:
        return []
    pairs = ", ".join(f"{a} and {b} ({share:.0%})" for a, b, share in linked)
    from ._rotation_links import LINK_ROTATION

    turn = f"a {LINK_ROTATION:g}-degree rotation"
    return [f"{turn} moves members between clusters {pairs}: one class each"]


def gaussian_phrase(gaussian: dict[str, Any]) -> str:
    """Whether the data look's Gaussian mixture described the vectors, as one phrase."""
    said = (
        "describes the data: its BIC decides K"
        if gaussian["describes"]
        else "does not describe the data: the silhouette decides K"
    )
    return (
        f"a Gaussian mixture ({gaussian['covariance']} covariances, K={gaussian['n_clusters']}, "
        f"Mahalanobis spread {gaussian['spread']:.2f} of a Gaussian's) {said}"
    )


def k_estimate_line(estimate: dict[str, Any]) -> str:
    """One line on how ``n_clusters="auto"`` chose K: each look's estimate and best scores."""
    looks = [("data map", estimate["data_map"]), ("learned features", estimate.get("features"))]
    said = []
    for name, look in looks:
        if look:
            best = sorted(zip(look["scores"], look["candidates"], strict=True), reverse=True)[:2]
            scores = ", ".join(f"{c}: {s:.3f}" for s, c in best)
            if look.get("measure") == "bic":
                said.append(f"Gaussian mixture K={look['n_clusters']} (-BIC per sample {scores})")
                continue
            said.append(f"{name} K={look['n_clusters']} (silhouette {scores})")
            gaussian = look.get("gaussian")
            if gaussian and not gaussian["describes"]:
                spread = f"{gaussian['spread']:.2f}"
                said.append(f"no Gaussian mixture describes the vectors (spread {spread})")
            said.extend(linked_phrase(look.get("linked") or [])[:1])
            rotated = look.get("rotated")
            if rotated:
                pairs = zip(rotated["candidates"], rotated["scores"], strict=True)
                scores = ", ".join(f"{c}: {s:.3f}" for c, s in pairs)
                said.append(f"map under rotations K={rotated['n_clusters']} (silhouette {scores})")
                if clearly_fewer(rotated):
                    said.append("the learned features may not add that cluster back")
    doubt = in_doubt(estimate)
    if doubt is not None:
        said.append(f"UNSURE: {doubt[0]}; compare fits at K={doubt[1]} to {doubt[2]}")
    top = max(estimate["data_map"]["candidates"])
    return f"n_clusters=auto chose K={estimate['n_clusters']} of 2..{top}: {'; '.join(said)}"
