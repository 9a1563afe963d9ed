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


def generated(nets: nn.ModuleDict, step: Step) -> torch.Tensor:
    """``G(z)`` of the batch's latent draw, computed once for both of its updates.

    The discriminator's update reads it detached and the generator's update backpropagates
    through it: G does not change between the two, so a second forward pass would give the same
    values (only G's batch-norm running statistics, which training does not read, are then
    updated once a batch instead of twice).
    """
    if step.fake is None:
        # a batch without the generator's update (n_critic > 1) keeps no graph of G
        with torch.set_grad_enabled(torch.is_grad_enabled() and step.updates_generator):
            step.fake = nets["G"](step.latent.z)  # type: ignore[union-attr]
    return step.fake


def real_and_fake(critic, step: Step, fake: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The critic's outputs on the real batch and on ``fake``, from one forward pass.

    One call instead of two (one pass's overhead, and one autograd graph for the update); it is
    the same function, because no trunk has a layer that mixes the samples of a batch (see
    :func:`ganclust.nets.build_trunk`). ``critic`` returns a tensor or a tuple of tensors; the
    result is the real halves, then the fake halves, of each.
    """
    out = critic(torch.cat([step.real, fake]))
    parts = out if isinstance(out, tuple) else (out,)
    n = len(step.real)
    return (*(p[:n] for p in parts), *(p[n:] for p in parts))


def adversarial_d(
    critic: nn.Module,
    step: Step,
    fake: torch.Tensor,
    outputs: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """The discriminator's adversarial loss, with the gradient penalty for ``wgan-gp``.

    ``outputs`` are the critic's (real, fake) outputs where the caller has them already.
    """
    real_out, fake_out = real_and_fake(critic, step, fake) if outputs is None else outputs
    loss = discriminator_loss(step.loss, real_out, fake_out)
    step.log("d_adv", loss)
    if step.loss == "wgan-gp":
        loss = loss + step.weights.gp_weight * gradient_penalty(critic, step.real, fake, step.rng)
    return loss


def adversarial_g(step: Step, fake_out: torch.Tensor) -> torch.Tensor:
    """The generator's adversarial loss, from the critic's output on the generated batch."""
    loss = generator_loss(step.loss, fake_out)
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
        mi = mutual_information_loss(logits1.float().softmax(dim=1), logits2.float().softmax(dim=1))
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
