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
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from . import distributed
from ._interrupt import interrupt_flag
from ._loop_state import LoopState, capture, restore
from ._updates import average_into, frozen, only_in, update
from .distributed import World
from .inference import occupancy
from .latent import sample_latent
from .methods import Method, NetConfig, Step, Weights
from .methods._common import consistency

# at most this many training samples are read out each epoch to record cluster occupancy
OCCUPANCY_SAMPLE = 2048
# a loss or weight that turns NaN or inf rolls training back to the start of its epoch with
# the learning rate times this factor, at most this many times in one run
ROLLBACK_FACTOR = 0.5
MAX_ROLLBACKS = 3
# image networks train in the channels-last memory layout: on the CPU the small convolutions of
# the conv backbone run about 1.6x faster so (docs/benchmarks.md); the values are the same
# up to the order of floating-point sums
CHANNELS_LAST = True


class DivergenceError(RuntimeError):
    """Training diverged (a NaN or inf loss or weight) and rolling back did not cure it."""


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
    # "bf16" computes the losses under bf16 autocast (the weights and optimisers stay fp32)
    precision: str = "fp32"
    # what this run is, for progress, checkpoints and error messages ("training", "refinement 1")
    phase: str = "training"
    # the state to continue from (a checkpoint's), or None to start afresh
    resume: LoopState | None = None
    # emit a "checkpoint" event at every epoch's end and after this many seconds within an
    # epoch; None emits none
    checkpoint_seconds: float | None = None


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
    latent draws and augmentations from an explicit CPU generator. Under torchrun (see
    :mod:`ganclust.distributed`) the shuffling stays common to the ranks and each rank draws
    its latent codes and augmentations from a generator of its own.
    """
    device = cfg.device
    here = distributed.world()
    fork_devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(cfg.seed)
        rng = torch.Generator().manual_seed(cfg.seed)
        if nets is None:
            nets = cfg.method.build(cfg.nets).to(device)
        x = x.to(device)
        if here.shared:
            distributed.broadcast_module(nets, here)
            if cfg.pseudo is not None:
                cfg.pseudo = distributed.broadcast(cfg.pseudo.clone(), here)
        layout = CHANNELS_LAST and x.dim() == 4
        if layout:
            nets = nets.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        result = _loop(x, nets, cfg, rng, callback or (lambda event: None))
        if layout:
            # back to the layout a loaded model has, so that both compute the same values
            result.nets.to(memory_format=torch.contiguous_format)
        return result


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
    d_only: list[torch.Tensor],
    real: torch.Tensor,
    pseudo: torch.Tensor | None,
    rng: torch.Generator,
    step_count: int,
    here: World | None = None,
) -> Step:
    """One batch's updates; returns the step with its logs.

    ``d_only`` holds the parameters only the discriminator's optimiser updates (frozen during the
    generator's step).
    """
    # bf16 autocast of the losses where asked, no context otherwise (torch 2.3 refuses MPS's)
    bf16 = lambda: torch.autocast(real.device.type, dtype=torch.bfloat16)  # noqa: E731
    forward = bf16 if cfg.precision == "bf16" else contextlib.nullcontext
    if not cfg.adversarial:
        step = Step(real=real, latent=None, loss=cfg.loss, weights=cfg.weights, rng=rng)
        step.pseudo = pseudo
        head = lambda x: method.cluster_logits(nets, x)  # noqa: E731
        with forward():
            loss = consistency(head, step)
        update(optimizers[0], loss, here)
        return step
    latent = sample_latent(cfg.nets.latent, real.shape[0], rng, real.device)
    step = Step(real=real, latent=latent, loss=cfg.loss, weights=cfg.weights, rng=rng)
    step.pseudo, step.updates_generator = pseudo, step_count % cfg.n_critic == 0
    with forward():
        loss = method.discriminator_loss(nets, step)
    update(optimizers[0], loss, here)
    if step.updates_generator:
        # the generator's loss runs through D, whose weights it does not update: freezing them
        # skips computing gradients that would be discarded (the result is the same)
        with frozen(d_only):
            with forward():
                loss = method.generator_loss(nets, step)
            update(optimizers[1], loss, here)
    return step


def _loop(
    x: torch.Tensor, nets: nn.ModuleDict, cfg: TrainConfig, rng: torch.Generator, callback: Callback
) -> TrainResult:
    return _Loop(x, nets, cfg, rng, callback, distributed.world()).run()


class _Loop:
    """One training run's epochs, resumable at any batch boundary, with divergence rollback."""

    def __init__(
        self,
        x: torch.Tensor,
        nets: nn.ModuleDict,
        cfg: TrainConfig,
        rng: torch.Generator,
        callback: Callback,
        here: World | None = None,
    ) -> None:
        self.x, self.nets, self.cfg, self.callback = x, nets, cfg, callback
        self.here = here or World()
        # the shuffling is common to the ranks; each rank's latent draws and augmentations are
        # its own (one process draws both from one generator)
        self.order_rng = rng
        self.rng = rng
        if self.here.shared:
            self.rng = torch.Generator().manual_seed(
                distributed.rank_seed(cfg.seed, self.here.rank)
            )
        self.method = cfg.method
        self.optimizers = _optimizers(self.method, nets, cfg)
        # found once: what the generator's step freezes (see _step)
        self.d_only = only_in(*self.optimizers) if cfg.adversarial else []
        n = x.shape[0]
        self.batch_size = min(cfg.batch_size, n)
        self.pseudo = cfg.pseudo.to(x.device) if cfg.pseudo is not None else None
        self.probe = torch.randperm(n, generator=rng)[:OCCUPANCY_SAMPLE].to(x.device)
        # the averaged copy is what training returns and what the occupancy monitor reads: GAN
        # training keeps moving the weights, and a single late snapshot's read-out is noisy
        self.averaged = copy.deepcopy(nets) if cfg.ema > 0 else nets
        self.monitor = _monitor(self.method, cfg)
        self.epoch = self.batch = self.step_count = self.stale = self.rollbacks = 0
        self.best = float("inf")
        self.learning_rate = cfg.learning_rate
        self.history: list[dict[str, object]] = []
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.order: torch.Tensor | None = None
        self.stopped = False
        self.last_checkpoint = time.perf_counter()
        if cfg.resume is not None:
            self._restore(cfg.resume)

    def state(self) -> LoopState:
        """The loop's complete state now (at a batch boundary)."""
        extra = {"probe": self.probe}
        if self.order_rng is not self.rng:
            extra["order_rng"] = self.order_rng.get_state()
        if self.order is not None and self.batch:
            extra["order"] = self.order
        return capture(
            self.nets, self.averaged, self.optimizers, self.rng, extra,
            epoch=self.epoch, batch=self.batch, step_count=self.step_count, best=self.best,
            stale=self.stale, learning_rate=self.learning_rate, rollbacks=self.rollbacks,
            history=copy.deepcopy(self.history), sums=dict(self.sums), counts=dict(self.counts),
            stopped=self.stopped,
        )  # fmt: skip

    def _restore(self, state: LoopState) -> None:
        restore(state, self.nets, self.averaged, self.optimizers, self.rng)
        self.probe = state.tensors["probe"].to(self.x.device)
        if self.order_rng is not self.rng:
            self.order_rng.set_state(state.tensors["order_rng"])
        self.order = state.tensors["order"].to(self.x.device) if state.batch else None
        self.epoch, self.batch, self.step_count = state.epoch, state.batch, state.step_count
        self.best, self.stale = state.best, state.stale
        self.learning_rate, self.rollbacks = state.learning_rate, state.rollbacks
        self.history = copy.deepcopy(state.history)
        self.sums, self.counts = dict(state.sums), dict(state.counts)
        self.stopped = state.stopped

    def run(self) -> TrainResult:
        with interrupt_flag(self.cfg.checkpoint_seconds is not None) as interrupted:
            while self.epoch < self.cfg.max_epochs and not self.stopped:
                good = self.state() if self.batch == 0 else None
                problem = self._epoch(interrupted)
                if problem is not None:
                    self._roll_back(good, problem)
                    continue
                self._end_epoch()
        self.averaged.eval()
        distributed.broadcast_module(self.averaged, self.here)  # one model, rank 0's, on every rank
        return TrainResult(self.averaged, self.history, self.stopped)

    def _epoch(self, interrupted: list[bool]) -> str | None:
        """Train the rest of the current epoch; return what diverged, if anything did."""
        self.started = time.perf_counter()
        self.nets.train()
        n = self.x.shape[0]
        if self.batch == 0:
            self.order = torch.randperm(n, generator=self.order_rng).to(self.x.device)
            self.sums, self.counts = {}, {}
        # a final batch of one sample (per rank) would break batch normalisation: it is dropped
        starts = [s for s in range(0, n, self.batch_size) if n - s >= 2 * self.here.size]
        for start in starts[self.batch :]:
            idx = distributed.shard(self.order[start : start + self.batch_size], self.here)  # type: ignore[index]
            batch_pseudo = self.pseudo[idx] if self.pseudo is not None else None
            step = _step(
                self.method, self.nets, self.cfg, self.optimizers, self.d_only, self.x[idx],
                batch_pseudo, self.rng, self.step_count, self.here,
            )  # fmt: skip
            bad = [k for k, v in step.logs.items() if not math.isfinite(v)]
            # ranks stop together: a rank's non-finite loss reaches every rank's weights
            # through the averaged gradients, and the check below sees it on all of them
            if bad and not self.here.shared:
                return f"loss {bad[0]} is {step.logs[bad[0]]}"
            self._after_step(step)
            self._maybe_checkpoint(interrupted)
        if not all(bool(torch.isfinite(p).all()) for p in self.nets.parameters()):
            return "a weight is not finite"
        distributed.average_buffers(self.nets, self.here)
        if self.averaged is not self.nets:
            distributed.average_buffers(self.averaged, self.here)
        return None

    def _after_step(self, step: Step) -> None:
        self.step_count += 1
        self.batch += 1
        if self.averaged is not self.nets:
            # warm-up, so that a short run is not dominated by the initial weights
            decay = min(self.cfg.ema, (1 + self.step_count) / (10 + self.step_count))
            average_into(self.averaged, self.nets, decay)
        for key, value in step.logs.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
            self.counts[key] = self.counts.get(key, 0) + 1
        self.callback({"event": "batch", "epoch": self.epoch, "logs": step.logs})

    def _maybe_checkpoint(self, interrupted: list[bool]) -> None:
        every = self.cfg.checkpoint_seconds
        if every is None:
            return
        if interrupted[0] or time.perf_counter() - self.last_checkpoint >= every:
            self.callback({"event": "checkpoint", "state": self.state()})
            self.last_checkpoint = time.perf_counter()
        if interrupted[0]:
            raise KeyboardInterrupt

    def _end_epoch(self) -> None:
        """Record the epoch and apply the stop criterion."""
        keys = sorted(self.sums)
        summed = distributed.total(
            [*(self.sums[k] for k in keys), *(self.counts[k] for k in keys)], self.here
        )
        row: dict[str, object] = {k: summed[i] / summed[len(keys) + i] for i, k in enumerate(keys)}
        row["epoch"] = self.epoch + 1
        k = self.cfg.nets.latent.n_clusters
        row["occupancy"] = occupancy(self.method, self.averaged, self.x[self.probe], k)
        row["seconds"] = round(time.perf_counter() - self.started, 3)
        self.history.append(row)
        self.callback({"event": "epoch", **row})
        self.epoch += 1
        self.batch = 0
        monitored = float(row.get(self.monitor, float("nan")))  # type: ignore[arg-type]
        if self.cfg.tol is not None and monitored == monitored:
            self.stale = self.stale + 1 if monitored > self.best - self.cfg.tol else 0
            self.best = min(self.best, monitored)
            self.stopped = self.stale >= self.cfg.n_iter_no_change
        if self.cfg.checkpoint_seconds is not None:
            self.callback({"event": "checkpoint", "state": self.state()})
            self.last_checkpoint = time.perf_counter()

    def _roll_back(self, good: LoopState | None, problem: str) -> None:
        """Return to the epoch's start with a lower learning rate, or give up."""
        lowered = self.learning_rate * ROLLBACK_FACTOR
        if good is None or self.rollbacks >= MAX_ROLLBACKS:
            raise DivergenceError(
                f"{self.cfg.phase} diverged ({problem}) at learning rate "
                f"{self.learning_rate:g} after {self.rollbacks} rollback(s); try a smaller "
                "learning_rate"
            )
        self._restore(good)
        self.rollbacks += 1
        self.learning_rate = lowered
        for optimizer in self.optimizers:
            for group in optimizer.param_groups:
                group["lr"] = lowered
        self.history.append(
            {"epoch": self.epoch + 1, "rollback": problem, "learning_rate": lowered}
        )
