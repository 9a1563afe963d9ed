"""Loss pieces that several methods share."""

from __future__ import annotations

import torch
from torch import nn

from ..augment import augment
from ..losses import (
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    mutual_information_loss,
)
from ._spec import Step


def adversarial_d(critic: nn.Module, step: Step, fake: torch.Tensor) -> torch.Tensor:
    """The discriminator's adversarial loss, with the gradient penalty for ``wgan-gp``."""
    loss = discriminator_loss(step.loss, critic(step.real), critic(fake))
    step.log("d_adv", loss)
    if step.loss == "wgan-gp":
        loss = loss + step.weights.gp_weight * gradient_penalty(critic, step.real, fake, step.rng)
    return loss


def adversarial_g(critic: nn.Module, step: Step, fake: torch.Tensor) -> torch.Tensor:
    """The generator's adversarial loss."""
    loss = generator_loss(step.loss, critic(fake))
    step.log("g_adv", loss)
    return loss


def consistency(logits_fn, step: Step) -> torch.Tensor:
    """The clustering regulariser on real data: -MI between two augmented views' clusters.

    Returns zero (and costs nothing) when its weight is 0.
    """
    weight = step.weights.consistency
    if weight == 0:
        return step.real.new_zeros(())
    view1 = augment(step.real, step.rng, step.weights.augment_strength)
    view2 = augment(step.real, step.rng, step.weights.augment_strength)
    both = logits_fn(torch.cat([view1, view2])).softmax(dim=1)
    loss = mutual_information_loss(*both.chunk(2))
    step.log("consistency", loss)
    return weight * loss


def head_params(nets: nn.ModuleDict, *names: str) -> list[nn.Parameter]:
    """Parameters of the named sub-networks, in a fixed order."""
    return [p for name in names for p in nets[name].parameters()]
