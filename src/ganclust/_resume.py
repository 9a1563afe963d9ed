"""Checkpoints of a fit in progress, and resuming from them exactly.

A checkpoint is one safetensors file (tensors plus JSON, nothing pickled), rewritten atomically
at every epoch's end and every :data:`CHECKPOINT_SECONDS` within an epoch. It holds the runs
already trained (their networks, read-out and history) and the state of the run in progress
(:class:`ganclust._loop_state.LoopState`, its round and its pseudo-labels), and a fingerprint of
the data and the resolved settings: a checkpoint is only ever resumed by the same fit.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ._files import atomic_file
from ._loop_state import LoopState
from .rows import Rows, digest

FORMAT = "ganclust-checkpoint"
FORMAT_VERSION = 1
CHECKPOINT_FILE = "checkpoint.safetensors"
# a checkpoint within an epoch after this many seconds (the environment can lower it, e.g. for
# a test that must be killed mid-epoch)
CHECKPOINT_SECONDS = float(os.environ.get("GANCLUST_CHECKPOINT_SECONDS", "300"))


@dataclass
class DoneRun:
    """A finished initialisation as a checkpoint keeps it."""

    index: int
    score: float
    collapsed: bool
    history: list[dict[str, Any]]
    stopped_early: bool
    seconds: dict[str, float]
    nets: dict[str, torch.Tensor]
    proba: torch.Tensor
    # per cluster, the refinement maps' agreement with the run (NaN without refinement)
    quality: list[float] = field(default_factory=list)


@dataclass
class Current:
    """The initialisation in progress: which round, its pseudo-labels and its loop's state."""

    index: int
    round: int
    loop: LoopState
    pseudo: torch.Tensor | None
    history_before: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    # (N, K) the refinement round's votes (see ganclust._fit.cluster_quality), None in round 0
    votes: torch.Tensor | None = None


@dataclass
class Progress:
    """Everything a checkpoint holds."""

    done: list[DoneRun]
    current: Current | None


def fingerprint(data: torch.Tensor | Rows, settings: dict[str, Any]) -> dict[str, Any]:
    """What identifies a fit: a digest of its preprocessed data and its resolved settings."""
    return {
        "data": {"shape": list(data.shape), "sha256": digest(data)},
        "settings": settings,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


class CheckpointStore:
    """The checkpoint folder of one fit: save, load, and clean up when the fit is done.

    Parameters
    ----------
    folder : str or os.PathLike
        Where the checkpoint lives; created on the first save.
    print_ : dict
        The fit's :func:`fingerprint`; a checkpoint with another one is refused.
    """

    def __init__(self, folder: str | os.PathLike[str], print_: dict[str, Any]) -> None:
        self.folder = Path(folder)
        self.print = print_

    @property
    def path(self) -> Path:
        return self.folder / CHECKPOINT_FILE

    def saved_seed(self) -> int | None:
        """The seed of the fit that wrote the checkpoint here (None when there is none)."""
        meta = self._read(tensors=False)[0] if self.path.is_file() else None
        return None if meta is None else int(meta["fingerprint"]["settings"]["seed"])

    def _read(self, tensors: bool = True) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """The checkpoint's metadata and (unless ``tensors`` is False) its tensors."""
        try:
            with safe_open(str(self.path), framework="pt") as handle:
                meta = json.loads((handle.metadata() or {})["ganclust_checkpoint"])
                keys = handle.keys() if tensors else []
                loaded = {key: handle.get_tensor(key) for key in keys}
        except Exception as exc:  # a corrupt or foreign file: say so in one line
            raise ValueError(f"{self.path}: not a readable ganclust checkpoint ({exc})") from None
        if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{self.path}: not a ganclust checkpoint of this version")
        return meta, loaded

    def load(self) -> Progress | None:
        """The saved progress, or None when there is no checkpoint yet.

        Raises
        ------
        ValueError
            If the checkpoint is unreadable or belongs to another fit (other data, settings,
            thread count or torch version), naming what differs.
        """
        if not self.path.is_file():
            return None
        meta, tensors = self._read()
        differs = _differences(meta["fingerprint"], self.print)
        if differs:
            raise ValueError(
                f"{self.path} was written by a fit with other {'; '.join(differs)}; "
                "remove it or fit with the same data and parameters"
            )
        return _progress_from(meta, tensors)

    def save(self, progress: Progress) -> None:
        """Write ``progress`` atomically (the previous checkpoint stays until it is replaced)."""
        tensors, meta = _progress_to(progress)
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "fingerprint": self.print,
                **meta}  # fmt: skip
        self.folder.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        with atomic_file(self.path) as tmp:
            save_file(tensors, str(tmp), metadata={"ganclust_checkpoint": json.dumps(meta)})

    def finish(self, keep: bool) -> None:
        """Remove the checkpoint of a finished fit, unless asked to keep it."""
        if keep:
            return
        self.path.unlink(missing_ok=True)
        if self.folder.is_dir() and not any(self.folder.iterdir()):
            shutil.rmtree(self.folder, ignore_errors=True)


def _differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What differs between a checkpoint's fingerprint and this fit's, a phrase each.

    Settings and versions are named with both values, nested settings by their path (a
    checkpoint written before a setting existed says "not recorded"), so that a refused resume
    says what to change.
    """

    def shown(value: object) -> str:
        return "not recorded" if value is _MISSING else repr(value)

    phrases = []
    for key in current:
        old, new = saved.get(key, _MISSING), current[key]
        if old == new:
            continue
        if key == "data":
            phrases.append("data (another shape or content)")
        elif isinstance(old, dict) and isinstance(new, dict):
            flat_old, flat_new = _flat(old), _flat(new)
            names = sorted(n for n in {*flat_old, *flat_new}
                           if flat_old.get(n, _MISSING) != flat_new.get(n, _MISSING))  # fmt: skip
            changes = [f"{n}: {shown(flat_old.get(n, _MISSING))} -> "
                       f"{shown(flat_new.get(n, _MISSING))}" for n in names]  # fmt: skip
            phrases.append(f"{key} ({', '.join(changes)})")
        else:
            phrases.append(f"{key} ({shown(old)} -> {shown(new)})")
    return phrases


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"nets": {"width": 8}}`` as ``{"nets.width": 8}``."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


_MISSING = object()


def _progress_to(progress: Progress) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    done = []
    for i, run in enumerate(progress.done):
        tensors.update({f"done.{i}.nets.{k}": v for k, v in run.nets.items()})
        tensors[f"done.{i}.proba"] = run.proba
        done.append(
            {"index": run.index, "score": run.score, "collapsed": run.collapsed,
             "history": run.history, "stopped_early": run.stopped_early, "seconds": run.seconds,
             "quality": [None if np.isnan(q) else q for q in run.quality]}
        )  # fmt: skip
    current = None
    if progress.current is not None:
        cur = progress.current
        loop_tensors, loop_meta = cur.loop.to_file()
        tensors.update({f"current.loop.{k}": v for k, v in loop_tensors.items()})
        if cur.pseudo is not None:
            tensors["current.pseudo"] = cur.pseudo
        if cur.votes is not None:
            tensors["current.votes"] = cur.votes
        current = {"index": cur.index, "round": cur.round, "loop": loop_meta,
                   "history_before": cur.history_before, "seconds": cur.seconds}  # fmt: skip
    return tensors, {"done": done, "current": current}


def _progress_from(meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> Progress:
    def prefixed(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}

    done = [
        DoneRun(
            index=int(run["index"]),
            score=float(run["score"]),
            collapsed=bool(run["collapsed"]),
            history=list(run["history"]),
            stopped_early=bool(run["stopped_early"]),
            seconds=dict(run["seconds"]),
            nets=prefixed(f"done.{i}.nets."),
            proba=tensors[f"done.{i}.proba"],
            quality=[np.nan if q is None else float(q) for q in run.get("quality", [])],
        )  # fmt: skip
        for i, run in enumerate(meta["done"])
    ]
    cur = meta["current"]
    current = None
    if cur is not None:
        loop = LoopState.from_file(prefixed("current.loop."), cur["loop"])
        current = Current(
            index=int(cur["index"]), round=int(cur["round"]), loop=loop,
            pseudo=tensors.get("current.pseudo"), history_before=list(cur["history_before"]),
            seconds=dict(cur["seconds"]), votes=tensors.get("current.votes"),
        )  # fmt: skip
    return Progress(done, current)
