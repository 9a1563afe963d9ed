"""The parameter updates of a training step: one optimiser step (its gradients averaged over
the ranks under torchrun), the parameters frozen during another network's step, and the
moving average of the weights."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from .distributed import World, average_gradients


def update(optimizer: torch.optim.Optimizer, loss: torch.Tensor, here: World | None) -> None:
    """One step of ``optimizer`` on ``loss``; under torchrun, on the ranks' mean gradient."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if here is not None and here.shared:
        average_gradients([p for g in optimizer.param_groups for p in g["params"]], here)
    optimizer.step()


def only_in(optimizer: torch.optim.Optimizer, other: torch.optim.Optimizer) -> list[torch.Tensor]:
    """Parameters ``optimizer`` updates and ``other`` does not."""
    theirs = {id(p) for group in other.param_groups for p in group["params"]}
    return [p for g in optimizer.param_groups for p in g["params"] if id(p) not in theirs]


@contextlib.contextmanager
def frozen(params: list[torch.Tensor]) -> Iterator[None]:
    """``params`` take no gradient inside the block."""
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


@torch.no_grad()
def average_into(averaged: nn.Module, live: nn.Module, decay: float) -> None:
    """Move ``averaged``'s weights towards ``live``'s: ``decay * averaged + (1 - decay) * live``."""
    for mean, value in zip(averaged.parameters(), live.parameters(), strict=True):
        mean.lerp_(value, 1.0 - decay)
    # batch-norm statistics are running averages already
    for mean, value in zip(averaged.buffers(), live.buffers(), strict=True):
        mean.copy_(value)
