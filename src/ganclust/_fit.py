"""Training the initialisations: each one trained, refined, scored and checked for collapse.

:func:`fit_initialisations` trains ``n_init`` runs (and up to ``COLLAPSE_RESTARTS`` more while
every run so far has collapsed) and keeps the best by the label-free stability score, a run that
collapsed losing to any that did not. It returns plain values; nothing here knows of sklearn.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ._settings import Settings, run_seeds
from .inference import batched, cluster_logits, cluster_proba
from .methods import METHODS
from .pseudo_labels import pseudo_labels, refined_pseudo_labels
from .selection import stability_score
from .training import Callback, TrainConfig, TrainResult, train

# a cluster holding less than this fraction of its fair share (1/K) counts as collapsed
COLLAPSE_FRACTION = 0.1

# makes a progress callback for (initialisation index, epochs it will train), or gives None
ProgressFactory = Callable[[int, int], "Callback | None"]


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
    )


def fit_initialisations(
    settings: Settings, data: torch.Tensor, progress: ProgressFactory | None = None
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
    """
    seeds, selection_seed = run_seeds(settings)
    runs: list[Run] = []
    for index, seed in enumerate(seeds):
        if index >= settings.n_init and any(not run.collapsed for run in runs):
            break
        callback = progress(index, _total_epochs(settings)) if progress else None
        runs.append(train_run(settings, data, seed, selection_seed, index, callback))
    best = max(runs, key=lambda run: (not run.collapsed, run.score, -run.index))
    return Initialisations(runs, best, len(runs) - settings.n_init, selection_seed)


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
) -> Run:
    """Train one initialisation: the first pseudo-labels, then the refinement rounds."""
    config = train_config(settings, seed)
    method = config.method
    clock = _Clock()
    report = callback or (lambda event: None)
    if settings.init != "random":
        report({"event": "phase", "phase": f"initialisation ({settings.init} pseudo-labels)"})
    config.pseudo = pseudo_labels(data, settings.n_clusters, settings.init, seed)
    clock.lap("pseudo_labels")
    report({"event": "phase", "phase": "training"})
    result = train(data, config, callback)
    clock.lap("training")
    on_device = data.to(config.device)
    for round_ in range(1, settings.refine + 1):
        report({"event": "phase", "phase": f"refinement {round_}/{settings.refine}"})
        features = batched(method.features, result.nets, on_device)
        current = cluster_logits(method, result.nets, on_device).argmax(dim=1)
        config.pseudo = refined_pseudo_labels(features, current, settings.n_clusters, seed + round_)
        clock.lap("refine_pseudo_labels")
        config.max_epochs = _refine_epochs(settings)
        more = train(data, config, callback, nets=result.nets)
        result.history.extend({**row, "refine": round_} for row in more.history)
        result.stopped_early = more.stopped_early
        clock.lap("refine_training")
    for epoch, row in enumerate(result.history, start=1):
        row["epoch"] = epoch
    report({"event": "phase", "phase": "read-out"})
    if callback is not None and hasattr(callback, "close"):
        callback.close()
    strength = settings.weights.augment_strength
    score = stability_score(method, result.nets, on_device, selection_seed, strength)
    proba = cluster_proba(method, result.nets, on_device, settings.view_strength).cpu()
    sizes = torch.bincount(proba.argmax(dim=1), minlength=settings.n_clusters).numpy()
    collapsed = len(small_clusters(sizes)) > 0
    clock.lap("scoring")
    return Run(index, score, collapsed, result, proba, clock.seconds)


class _Clock:
    """Wall-clock seconds per named phase (a phase met twice adds up)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = round(self.seconds.get(phase, 0.0) + now - self._last, 3)
        self._last = now
