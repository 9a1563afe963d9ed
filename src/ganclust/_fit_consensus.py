"""``n_init`` of 3 or more: the runs' consensus, distilled into the kept run's networks.

The runs' clusterings of the training data are combined by a co-association consensus
(:func:`ganclust._consensus.consensus_labels`): a merge or split that only some runs make is
outvoted, where keeping one run keeps its failures (docs/benchmarks.md, "A consensus of several
fits"). The best-ranked run's networks then train one more refinement-length round on the
consensus as pseudo-labels, so that the model predicts it on new samples too. Each sample's
votes are the share of runs (their clusters matched to the consensus) that put it in each
cluster, from which the kept run's ``cluster_quality_`` is read.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ._consensus import consensus_labels
from ._fit import (
    Initialisations,
    ProgressFactory,
    Run,
    _Clock,
    _refine_epochs,
    _scored,
    number_epochs,
    train_config,
)
from ._settings import Settings, run_seeds
from .pseudo_labels import _matching
from .training import Callback, TrainResult, train

# the fewest runs a consensus is taken of: two runs that disagree cannot outvote each other
MIN_RUNS = 3


def with_consensus(
    settings: Settings,
    data: torch.Tensor,
    inits: Initialisations,
    progress: ProgressFactory | None = None,
) -> Initialisations:
    """``inits`` with its kept run trained on the runs' consensus, where ``n_init`` is 3 or more.

    ``progress(index, epochs)``, where given, makes the round's callback, as it does each run's:
    the round reports its phase and epochs under the kept run's index.
    """
    if settings.n_init < MIN_RUNS:  # else n_init runs or more were trained
        return inits
    callback = progress(inits.best.index, _refine_epochs(settings)) if progress else None
    try:
        # every run votes, collapsed ones too: a run that left a cluster nearly empty is not the one
        # to keep, but still says which samples belong together (on imbalanced data the head's
        # smallest clusters fall under the collapse line while the classes are whole)
        best = consensus_run(settings, data, inits.runs, inits.best, inits.selection_seed, callback)
    finally:
        if callback is not None and hasattr(callback, "close"):
            callback.close()
    return dataclasses.replace(inits, best=best)


def consensus_run(
    settings: Settings,
    data: torch.Tensor,
    runs: list[Run],
    best: Run,
    selection_seed: int,
    callback: Callback | None = None,
) -> Run:
    """``best`` trained one refinement-length round more on the consensus of the ``runs``."""
    k = settings.n_clusters
    report = callback or (lambda event: None)
    report({"event": "phase", "phase": f"consensus of {len(runs)} runs"})
    clock = _Clock()  # this round's phases; the kept run's own are counted with the runs
    labels = [run.proba.argmax(dim=1).numpy() for run in runs]
    agreed = consensus_labels(labels, k, seed=selection_seed)
    # in the kept run's own cluster order, so that its head has as little as possible to move
    own_labels = next(labels[i] for i, run in enumerate(runs) if run is best)
    pseudo = _matching(agreed, own_labels, k)[agreed]
    votes = np.zeros((len(pseudo), k))
    for own in labels:
        votes[np.arange(len(pseudo)), _matching(own, pseudo, k)[own]] += 1.0 / len(labels)
    clock.lap("consensus")
    seeds, _ = run_seeds(settings)
    config = train_config(settings, seeds[best.index])
    config.pseudo = torch.from_numpy(pseudo)  # the same on every rank: so are the runs
    config.phase, config.max_epochs = "consensus", _refine_epochs(settings)
    report({"event": "phase", "phase": f"training on the consensus of {len(runs)} runs"})
    more = train(data, config, callback, nets=best.result.nets)
    rows = [{**row, "consensus": len(runs)} for row in more.history]
    history = [*best.result.history, *rows]
    number_epochs(history)  # the round's epochs go on from the run's
    result = TrainResult(more.nets, history, more.stopped_early)
    clock.lap("consensus_training")
    on_device = data.to(config.device)
    votes_tensor = torch.from_numpy(votes).float()
    return _scored(settings, result, on_device, selection_seed, best.index, votes_tensor, clock)
