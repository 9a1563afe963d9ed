"""Training the initialisations: each one trained, refined, scored and checked for collapse.

:func:`fit_initialisations` trains ``n_init`` runs (and up to ``COLLAPSE_RESTARTS`` more while
every run so far has collapsed) and keeps the best by the label-free stability score, a run that
collapsed losing to any that did not. It returns plain values; nothing here knows of sklearn.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from . import distributed
from ._resume import CHECKPOINT_SECONDS, CheckpointStore, Current, DoneRun, Progress
from ._settings import Settings, run_seeds
from .inference import batched, cluster_logits, cluster_proba
from .methods import METHODS
from .pseudo_labels import Manifold, pseudo_labels, refined_pseudo_labels
from .rows import refinement_rows, subset
from .selection import stability_score
from .training import Callback, TrainConfig, TrainResult, train

# a cluster holding less than this fraction of its fair share (1/K) counts as collapsed
COLLAPSE_FRACTION = 0.1
# a cluster whose quality (see cluster_quality) is below this is reported as a suspected merge
# or split (docs/benchmarks.md)
LOW_QUALITY = 0.75

# makes a progress callback for (initialisation index, epochs it will train), or gives None
ProgressFactory = Callable[[int, int], "Callback | None"]
# n_clusters="auto"'s second look: the K that the first round's trained networks point to
Look = Callable[[torch.nn.ModuleDict], int]


class OtherK(Exception):
    """The second look of ``n_clusters="auto"`` names another K: the fit starts again at it."""

    def __init__(self, k: int, seconds: float) -> None:
        super().__init__(f"the learned features point to K={k}")
        # the seconds the abandoned fit had taken, its look included
        self.k, self.seconds = k, seconds


def small_clusters(sizes: np.ndarray) -> np.ndarray:
    """Indices of the clusters holding under COLLAPSE_FRACTION of their fair share."""
    return np.flatnonzero(sizes < COLLAPSE_FRACTION * sizes.sum() / len(sizes))


@dataclass
class Run:
    """One trained initialisation and what model selection needs to know of it."""

    index: int
    score: float
    collapsed: bool
    result: TrainResult
    # (N, K) cluster probabilities of the training data (the head's, with the shifted views),
    # on the CPU, in the networks' internal cluster order
    proba: torch.Tensor
    # wall-clock seconds of each phase: pseudo-labels, training, refinement, scoring
    seconds: dict[str, float]
    # (K,) per cluster in the networks' order, how far the last refinement's maps agree with
    # the run's clusters (see cluster_quality); NaN without refinement
    quality: np.ndarray


@dataclass
class Initialisations:
    """Every run trained, and which one is kept."""

    runs: list[Run]
    best: Run
    n_restarts: int
    # the seed the kept run's read-out draws from (the neighbor vote's reference subsample)
    selection_seed: int


def train_config(settings: Settings, seed: int) -> TrainConfig:
    """The training engine's settings for one run."""
    return TrainConfig(
        method=METHODS[settings.method],
        nets=settings.nets,
        weights=settings.weights,
        loss=settings.loss,
        n_critic=settings.n_critic,
        learning_rate=settings.learning_rate,
        batch_size=settings.batch_size,
        max_epochs=settings.max_epochs,
        tol=settings.tol,
        n_iter_no_change=settings.n_iter_no_change,
        seed=seed,
        device=torch.device(settings.device),
        betas=settings.betas,
        ema=settings.ema,
        adversarial=settings.adversarial,
        precision=settings.precision,
    )


def fit_initialisations(
    settings: Settings,
    data: torch.Tensor,
    progress: ProgressFactory | None = None,
    store: CheckpointStore | None = None,
    view: Manifold | None = None,
    look: Look | None = None,
) -> Initialisations:
    """Train the initialisations and keep the best one.

    Parameters
    ----------
    settings : Settings
        The resolved settings of the fit.
    data : torch.Tensor
        The preprocessed training data.
    progress : callable, optional
        ``progress(index, total_epochs)`` gives the callback of one run (with a ``close``).
    store : CheckpointStore, optional
        Where to checkpoint; a checkpoint already there is resumed.
    view : Manifold, optional
        The first initialisation's first read-out of the data, already computed (by
        ``n_clusters="auto"``, with that initialisation's seed).
    look : callable, optional
        Called with the first initialisation's networks after its first round; where it names
        another K than the settings', :class:`OtherK` is raised.
    """
    seeds, selection_seed = run_seeds(settings)
    saved = store.load() if store is not None else None
    runs = [_run_from(done, settings) for done in saved.done] if saved else []
    for index, seed in enumerate(seeds):
        if index < len(runs):
            continue
        if index >= settings.n_init and any(not run.collapsed for run in runs):
            break
        callback = progress(index, _total_epochs(settings)) if progress else None
        resume = saved.current if saved and saved.current and saved.current.index == index else None
        saver = _Saver(store, runs, index) if store is not None else None
        first = (view, look) if index == 0 else (None, None)
        runs.append(
            train_run(settings, data, seed, selection_seed, index, callback, resume, saver, *first)
        )
        if saver is not None:
            saver.save(None)
    best = max(runs, key=_rank)
    return Initialisations(runs, best, len(runs) - settings.n_init, selection_seed)


def _rank(run: Run) -> tuple[bool, float, float, int]:
    """How runs compare (higher is better): not collapsed, then the mean cluster quality (the
    refinement maps' agreement, which a merged-and-split run lacks; 0 where unmeasured), then
    the stability score, then the earlier run."""
    quality = run.quality[~np.isnan(run.quality)]
    return (
        not run.collapsed,
        float(quality.mean()) if len(quality) else 0.0,
        run.score,
        -run.index,
    )


class _Saver:
    """Turns the training loop's checkpoint events into checkpoints of the whole fit."""

    def __init__(self, store: CheckpointStore, done: list[Run], index: int) -> None:
        self.store, self.done, self.index = store, done, index

    def save(self, current: Current | None) -> None:
        self.store.save(Progress([_done_from(run) for run in self.done], current))

    def events(
        self, callback: Callback | None, round_: int, pseudo, votes, before, clock
    ) -> Callback:
        def on_event(event: dict[str, object]) -> None:
            if event["event"] == "checkpoint":
                state = event["state"]
                current = Current(self.index, round_, state, pseudo, before, clock.seconds, votes)
                self.save(current)
            elif callback is not None:
                callback(event)

        return on_event


def _done_from(run: Run) -> DoneRun:
    nets = dict(run.result.nets.state_dict())
    return DoneRun(
        run.index, run.score, run.collapsed, run.result.history, run.result.stopped_early,
        run.seconds, nets, run.proba, run.quality.tolist(),
    )  # fmt: skip


def _run_from(done: DoneRun, settings: Settings) -> Run:
    nets = METHODS[settings.method].build(settings.nets)
    nets.load_state_dict(done.nets, strict=True)
    nets.to(torch.device(settings.device)).eval()
    result = TrainResult(nets=nets, history=done.history, stopped_early=done.stopped_early)
    quality = np.array(done.quality, dtype=float)
    if quality.shape != (settings.n_clusters,):  # a checkpoint written before it was kept
        quality = np.full(settings.n_clusters, np.nan)
    return Run(done.index, done.score, done.collapsed, result, done.proba, done.seconds, quality)


def _refine_epochs(settings: Settings) -> int:
    return max(1, settings.max_epochs // 3)


def _total_epochs(settings: Settings) -> int:
    return settings.max_epochs + settings.refine * _refine_epochs(settings)


def train_run(
    settings: Settings,
    data: torch.Tensor,
    seed: int,
    selection_seed: int,
    index: int,
    callback: Callback | None = None,
    resume: Current | None = None,
    saver: _Saver | None = None,
    view: Manifold | None = None,
    look: Look | None = None,
) -> Run:
    """Train one initialisation: the first pseudo-labels, then the refinement rounds.

    With ``resume`` (a checkpoint's run in progress), the rounds it finished are skipped and
    the round it was in continues from its saved state. ``view`` and ``look``: see
    :func:`fit_initialisations`.
    """
    config = train_config(settings, seed)
    config.checkpoint_seconds = CHECKPOINT_SECONDS if saver is not None else None
    clock = _Clock(resume.seconds if resume else None)
    report = callback or (lambda event: None)
    first = resume.round if resume else 0
    if resume is not None:
        done = [*resume.history_before, *resume.loop.history]
        report({"event": "resumed", "epochs": sum("rollback" not in row for row in done)})
    result: TrainResult | None = None
    votes = resume.votes if resume else None
    on_device = data.to(config.device)
    for round_ in range(first, settings.refine + 1):
        before = result.history if result else (resume.history_before if resume else [])
        if resume is not None and round_ == first:
            config.pseudo, config.resume = resume.pseudo, resume.loop
        else:
            config.pseudo, votes = _round_pseudo(settings, data, on_device, result, seed, round_,
                                                 report, clock, view)  # fmt: skip
            config.resume = None
        config.phase = "training" if round_ == 0 else f"refinement {round_}/{settings.refine}"
        config.max_epochs = settings.max_epochs if round_ == 0 else _refine_epochs(settings)
        events = callback
        if saver is not None:
            events = saver.events(callback, round_, config.pseudo, votes, before, clock)
        nets = result.nets if result is not None else None
        more = train(data, config, events, nets=nets)
        rows = [{**row, "refine": round_} if round_ else row for row in more.history]
        # every round keeps the moving average of its weights (see docs/method.md)
        result = TrainResult(more.nets, [*before, *rows], more.stopped_early)
        clock.lap("training" if round_ == 0 else "refine_training")
        if look is not None and round_ == 0:
            _look_at(look, result.nets, settings.n_clusters, callback, clock)
    assert result is not None
    number_epochs(result.history)
    report({"event": "phase", "phase": "read-out"})
    if callback is not None and hasattr(callback, "close"):
        callback.close()
    return _scored(settings, result, on_device, selection_seed, index, votes, clock)


def number_epochs(history: list[dict[str, object]]) -> None:
    """Number the rows of a run's rounds as one count of epochs, in place."""
    epoch = 0
    for row in history:
        # a rollback row carries the number of the epoch it rolled back (and is trained again)
        epoch += "rollback" not in row
        row["epoch"] = epoch if "rollback" not in row else epoch + 1


def _look_at(look: Look, nets: torch.nn.ModuleDict, k: int, callback: Any, clock: _Clock) -> None:
    """The second look of ``n_clusters="auto"``: raise :class:`OtherK` where it is not ``k``."""
    found = distributed.agreed(look(nets))  # under torchrun, rank 0's look decides
    if found != k:
        if callback is not None and hasattr(callback, "close"):
            callback.close()  # the abandoned fit's progress bar
        raise OtherK(found, sum(clock.seconds.values()) + getattr(look, "seconds", 0.0))
    clock.skip()  # the look keeps its own seconds


def _scored(
    settings: Settings,
    result: TrainResult,
    on_device: torch.Tensor,
    selection_seed: int,
    index: int,
    votes: torch.Tensor | None,
    clock: _Clock,
) -> Run:
    """A trained run with its stability score, collapse check and cluster quality."""
    method = METHODS[settings.method]
    strength = settings.weights.augment_strength
    score = stability_score(method, result.nets, on_device, selection_seed, strength)
    proba = cluster_proba(method, result.nets, on_device, settings.view_strength).cpu()
    sizes = torch.bincount(proba.argmax(dim=1), minlength=settings.n_clusters).numpy()
    # what selection and the collapse restarts decide from: rank 0's, under torchrun
    score, collapsed = distributed.agreed(score), distributed.agreed(len(small_clusters(sizes)) > 0)
    clock.lap("scoring")
    quality = cluster_quality(votes, proba)
    return Run(index, score, collapsed, result, proba, clock.seconds, quality)


def cluster_quality(votes: torch.Tensor | None, proba: torch.Tensor) -> np.ndarray:
    """Per cluster, the mean fraction of the refinement's maps that agree with the run.

    For each sample, the fraction of the last refinement round's t-SNE maps that put it in the
    cluster the trained run gives it, averaged over each cluster's samples: 1 when every map
    agrees on every sample, lower where the maps disagree with each other (a map that merged
    this cluster with another, or split it) or with the run. Samples the refinement did not
    read (NaN votes: see :func:`ganclust.rows.refinement_rows`) are left out. NaN for
    an empty cluster, and for every cluster without refinement (``votes`` None).
    """
    k = proba.shape[1]
    if votes is None:
        return np.full(k, np.nan)
    labels = proba.argmax(dim=1)
    agree = votes[torch.arange(len(labels)), labels].double()
    read = ~torch.isnan(agree)
    labels, agree = labels[read], agree[read]
    total = torch.zeros(k, dtype=torch.float64).index_add_(0, labels, agree)
    counts = torch.bincount(labels, minlength=k).double()
    return (total / counts).numpy()  # 0/0 is NaN for an empty cluster


def _round_pseudo(
    settings: Settings,
    data: torch.Tensor,
    on_device: torch.Tensor,
    result: TrainResult | None,
    seed: int,
    round_: int,
    report: Callback,
    clock: _Clock,
    view: Manifold | None = None,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The pseudo-labels of a round: the manifold read-out of the data, then of the features.

    Also gives the refinement's votes (N, K): the fraction of its maps that put each sample in
    each cluster (None for the first round).
    """
    if round_ == 0:
        if settings.init != "random":
            report({"event": "phase", "phase": f"initialisation ({settings.init} pseudo-labels)"})
        pseudo = pseudo_labels(data, settings.n_clusters, settings.init, seed, view=view)
        clock.lap("pseudo_labels")
        report({"event": "phase", "phase": "training"})
        return pseudo, None
    assert result is not None
    report({"event": "phase", "phase": f"refinement {round_}/{settings.refine}"})
    method = METHODS[settings.method]
    rows = refinement_rows(len(data), seed + round_)
    sample = on_device if rows is None else subset(on_device, rows)
    features = batched(method.features, result.nets, sample)
    current = cluster_logits(method, result.nets, sample).argmax(dim=1)
    pseudo, found = refined_pseudo_labels(features, current, settings.n_clusters, seed + round_)
    votes = torch.from_numpy(found.votes).float()
    if rows is not None:  # the other samples have no pseudo-label, and no votes, this round
        at = torch.from_numpy(rows)
        pseudo = torch.full((len(data),), -1, dtype=pseudo.dtype).index_copy_(0, at, pseudo)
        votes = torch.full((len(data), votes.shape[1]), torch.nan).index_copy_(0, at, votes)
    clock.lap("refine_pseudo_labels")
    return pseudo, votes


class _Clock:
    """Wall-clock seconds per named phase (a phase met twice adds up)."""

    def __init__(self, seconds: dict[str, float] | None = None) -> None:
        self.seconds: dict[str, float] = dict(seconds or {})
        self._last = time.perf_counter()

    def skip(self) -> None:
        """Start the next phase now, recording the time since the last lap nowhere."""
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = round(self.seconds.get(phase, 0.0) + now - self._last, 3)
        self._last = now
