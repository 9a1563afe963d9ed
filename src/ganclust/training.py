"""The training engine shared by every method.

Each batch: (1) one discriminator update, (2) every ``n_critic`` batches one generator update
(with E or Q where the method has one). Without the adversarial game (``adversarial=False``)
each batch is one update of the clustering head alone, on real data, with the same
pseudo-labels and consistency term. The engine knows nothing of sklearn or files and never
prints: it reports through ``callback``.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

from .augment import read_out_views
from .latent import sample_latent
from .methods import Method, NetConfig, Step, Weights
from .methods._common import consistency

# at most this many training samples are read out each epoch to record cluster occupancy
OCCUPANCY_SAMPLE = 2048


@dataclass
class TrainConfig:
    """Settings of one training run (the estimator builds it from its parameters)."""

    method: Method
    nets: NetConfig
    weights: Weights
    loss: str
    n_critic: int
    learning_rate: float
    batch_size: int
    max_epochs: int
    tol: float | None
    n_iter_no_change: int
    seed: int
    device: torch.device
    betas: tuple[float, float] = (0.5, 0.9)
    # (N,) pseudo-labels for the clustering head, -1 where none (see ganclust.manifold)
    pseudo: torch.Tensor | None = None
    # decay of the exponential moving average of the weights that training returns (0: none)
    ema: float = 0.0
    # False trains the clustering head alone on real data: no generator, no realness loss
    adversarial: bool = True


@dataclass
class TrainResult:
    """What training gives back: the networks in eval mode and the per-epoch history."""

    nets: nn.ModuleDict
    history: list[dict[str, object]] = field(default_factory=list)
    stopped_early: bool = False


Callback = Callable[[dict[str, object]], None]


def train(
    x: torch.Tensor,
    cfg: TrainConfig,
    callback: Callback | None = None,
    nets: nn.ModuleDict | None = None,
) -> TrainResult:
    """Train ``cfg.method`` on the preprocessed data ``x``.

    Parameters
    ----------
    x : torch.Tensor
        (N, *data_shape) preprocessed training data, on any device.
    cfg : TrainConfig
        The run's settings.
    callback : callable, optional
        Called with ``{"event": "batch", "logs": ...}`` after every batch and with
        ``{"event": "epoch", ...}`` (the history row) after every epoch.

    Returns
    -------
    TrainResult
        The trained networks and the history. Each history row holds the epoch's mean losses and
        ``occupancy``, the fraction of (up to 2048) training samples in each cluster.

    Notes
    -----
    Everything random is seeded from ``cfg.seed``: weight initialisation and dropout inside
    :func:`torch.random.fork_rng` (the caller's global RNG is left untouched), and shuffling,
    latent draws and augmentations from an explicit CPU generator.
    """
    device = cfg.device
    fork_devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(cfg.seed)
        rng = torch.Generator().manual_seed(cfg.seed)
        if nets is None:
            nets = cfg.method.build(cfg.nets).to(device)
        return _loop(x.to(device), nets, cfg, rng, callback or (lambda event: None))


def _optimizers(
    method: Method, nets: nn.ModuleDict, cfg: TrainConfig
) -> list[torch.optim.Optimizer]:
    """[D's, G's] with the adversarial game, else [the clustering head's]."""

    def adam(params: list[nn.Parameter]) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=cfg.learning_rate, betas=cfg.betas)

    if not cfg.adversarial:
        return [adam(list(nets[method.head].parameters()))]
    return [adam(method.discriminator_params(nets)), adam(method.generator_params(nets))]


def _monitor(method: Method, cfg: TrainConfig) -> str:
    if cfg.adversarial:
        return method.monitor
    return "consistency" if cfg.weights.consistency > 0 else "pseudo"


def _step(
    method: Method,
    nets: nn.ModuleDict,
    cfg: TrainConfig,
    optimizers: list[torch.optim.Optimizer],
    real: torch.Tensor,
    pseudo: torch.Tensor | None,
    rng: torch.Generator,
    step_count: int,
) -> Step:
    """One batch's updates; returns the step with its logs."""
    if not cfg.adversarial:
        step = Step(real=real, latent=None, loss=cfg.loss, weights=cfg.weights, rng=rng)
        step.pseudo = pseudo
        head = lambda x: method.cluster_logits(nets, x)  # noqa: E731
        _update(optimizers[0], consistency(head, step))
        return step
    latent = sample_latent(cfg.nets.latent, real.shape[0], rng, real.device)
    step = Step(real=real, latent=latent, loss=cfg.loss, weights=cfg.weights, rng=rng)
    step.pseudo = pseudo
    _update(optimizers[0], method.discriminator_loss(nets, step))
    if step_count % cfg.n_critic == 0:
        # the generator's loss runs through D, whose weights it does not update: freezing them
        # skips computing gradients that would be discarded (the result is the same)
        with _frozen(_only_in(optimizers[0], optimizers[1])):
            _update(optimizers[1], method.generator_loss(nets, step))
    return step


def _only_in(
    optimizer: torch.optim.Optimizer, other: torch.optim.Optimizer
) -> list[torch.Tensor]:
    """Parameters ``optimizer`` updates and ``other`` does not."""
    theirs = {id(p) for group in other.param_groups for p in group["params"]}
    return [p for g in optimizer.param_groups for p in g["params"] if id(p) not in theirs]


@contextlib.contextmanager
def _frozen(params: list[torch.Tensor]) -> Iterator[None]:
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def _loop(
    x: torch.Tensor, nets: nn.ModuleDict, cfg: TrainConfig, rng: torch.Generator, callback: Callback
) -> TrainResult:
    method = cfg.method
    optimizers = _optimizers(method, nets, cfg)
    n = x.shape[0]
    batch_size = min(cfg.batch_size, n)
    pseudo = cfg.pseudo.to(x.device) if cfg.pseudo is not None else None
    probe = torch.randperm(n, generator=rng)[:OCCUPANCY_SAMPLE].to(x.device)
    # the averaged copy is what training returns and what the occupancy monitor reads: GAN
    # training keeps moving the weights, and a single late snapshot's read-out is noisy
    averaged = copy.deepcopy(nets) if cfg.ema > 0 else nets
    result = TrainResult(nets=averaged)
    monitor = _monitor(method, cfg)
    best, stale, step_count = float("inf"), 0, 0
    for epoch in range(cfg.max_epochs):
        started = time.perf_counter()
        nets.train()
        order = torch.randperm(n, generator=rng).to(x.device)
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        # a final batch of one sample would break batch normalisation, so it is dropped
        starts = [s for s in range(0, n, batch_size) if n - s >= 2]
        for start in starts:
            idx = order[start : start + batch_size]
            batch_pseudo = pseudo[idx] if pseudo is not None else None
            step = _step(method, nets, cfg, optimizers, x[idx], batch_pseudo, rng, step_count)
            step_count += 1
            if averaged is not nets:
                # warm-up, so that a short run is not dominated by the initial weights
                _average_into(averaged, nets, min(cfg.ema, (1 + step_count) / (10 + step_count)))
            for key, value in step.logs.items():
                sums[key] = sums.get(key, 0.0) + value
                counts[key] = counts.get(key, 0) + 1
            callback({"event": "batch", "epoch": epoch, "logs": step.logs})
        row: dict[str, object] = {k: sums[k] / counts[k] for k in sums}
        row["epoch"] = epoch + 1
        row["occupancy"] = occupancy(method, averaged, x[probe], cfg.nets.latent.n_clusters)
        row["seconds"] = round(time.perf_counter() - started, 3)
        result.history.append(row)
        callback({"event": "epoch", **row})
        monitored = float(row.get(monitor, float("nan")))  # type: ignore[arg-type]
        if cfg.tol is not None and monitored == monitored:
            stale = stale + 1 if monitored > best - cfg.tol else 0
            best = min(best, monitored)
            if stale >= cfg.n_iter_no_change:
                result.stopped_early = True
                break
    averaged.eval()
    return result


@torch.no_grad()
def _average_into(averaged: nn.Module, live: nn.Module, decay: float) -> None:
    for mean, value in zip(averaged.parameters(), live.parameters(), strict=True):
        mean.lerp_(value, 1.0 - decay)
    # batch-norm statistics are running averages already
    for mean, value in zip(averaged.buffers(), live.buffers(), strict=True):
        mean.copy_(value)


def _update(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


@torch.no_grad()
def batched(
    fn: Callable[[nn.ModuleDict, torch.Tensor], torch.Tensor],
    nets: nn.ModuleDict,
    x: torch.Tensor,
    batch_size: int = 1024,
) -> torch.Tensor:
    """``fn(nets, x)`` in eval mode without gradients, batched so large inputs fit in memory."""
    was_training = nets.training
    nets.eval()
    out = torch.cat([fn(nets, chunk) for chunk in x.split(batch_size)])
    nets.train(was_training)
    return out


def cluster_logits(
    method: Method, nets: nn.ModuleDict, x: torch.Tensor, batch_size: int = 1024
) -> torch.Tensor:
    """Cluster logits of ``x`` in eval mode, batched so large inputs fit in memory."""
    return batched(method.cluster_logits, nets, x, batch_size)


def cluster_proba(
    method: Method,
    nets: nn.ModuleDict,
    x: torch.Tensor,
    view_strength: float = 0.0,
    batch_size: int = 1024,
) -> torch.Tensor:
    """Cluster probabilities of ``x``: the read-out behind ``labels_`` and ``predict_proba``.

    With ``view_strength`` > 0 and images, the softmax of the clustering head is averaged over
    each image and its fixed shifted views (:func:`ganclust.augment.read_out_views`); otherwise
    it is the softmax of the image alone.
    """

    def proba(nets: nn.ModuleDict, chunk: torch.Tensor) -> torch.Tensor:
        views = [chunk, *read_out_views(chunk, view_strength)]
        return torch.stack([method.cluster_logits(nets, v).softmax(dim=1) for v in views]).mean(0)

    return batched(proba, nets, x, batch_size)


def occupancy(method: Method, nets: nn.ModuleDict, x: torch.Tensor, n_clusters: int) -> list[float]:
    """Fraction of ``x`` assigned to each cluster."""
    labels = cluster_logits(method, nets, x).argmax(dim=1)
    counts = torch.bincount(labels, minlength=n_clusters).float()
    return (counts / max(len(labels), 1)).tolist()
