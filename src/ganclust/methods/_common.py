"""Loss pieces that several methods share."""

from __future__ import annotations

import torch
import torch.nn.functional as F
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
    """The clustering losses on real data, for the head that reads clusters.

    ``consistency`` weighs the negative mutual information between the clusters of two augmented
    views of each sample (IIC); with pseudo-labels from the manifold initialisation, the head is
    also trained to predict them on the first view (cross-entropy, weight ``init_weight``).
    Returns zero, at no cost, when neither applies.
    """
    weight = step.weights.consistency
    labelled = step.pseudo is not None and bool((step.pseudo >= 0).any())
    if weight == 0 and not labelled:
        return step.real.new_zeros(())
    strength = step.weights.augment_strength
    view1 = augment(step.real, step.rng, strength)
    loss = step.real.new_zeros(())
    if weight > 0:
        view2 = augment(step.real, step.rng, strength)
        logits1, logits2 = logits_fn(torch.cat([view1, view2])).chunk(2)
        mi = mutual_information_loss(logits1.softmax(dim=1), logits2.softmax(dim=1))
        step.log("consistency", mi)
        loss = weight * mi
    else:
        logits1 = logits_fn(view1)
    if labelled:
        keep = step.pseudo >= 0  # type: ignore[operator]
        pseudo = F.cross_entropy(logits1[keep], step.pseudo[keep])  # type: ignore[index]
        step.log("pseudo", pseudo)
        loss = loss + step.weights.init_weight * pseudo
    return loss


def head_params(nets: nn.ModuleDict, *names: str) -> list[nn.Parameter]:
    """Parameters of the named sub-networks, in a fixed order."""
    return [p for name in names for p in nets[name].parameters()]
