"""CatGAN (Springenberg, ICLR 2016): the discriminator is itself a K-way classifier.

D outputs K logits. On real data it must be certain of each sample (low conditional entropy) and
balanced over the batch (high entropy of the batch marginal); on generated data it must be
uncertain. G tries to make D certain and balanced on its samples. A real sample's cluster is
``argmax D(x)``. The generator is not conditional: its latent is noise only. The ``loss`` setting
does not apply, since these entropies are CatGAN's adversarial objective.
"""

from __future__ import annotations

import torch
from torch import nn

from ..losses import entropy
from ..nets import build_generator, build_headed
from ._common import consistency, generated, head_params, real_and_fake
from ._spec import Method, NetConfig, Step


def build(cfg: NetConfig) -> nn.ModuleDict:
    """Build G and the K-way discriminator D (D alone without the adversarial game)."""
    latent = cfg.latent
    nets = {}
    # G first: the order of construction fixes which random weights each network draws
    if cfg.adversarial:
        nets["G"] = build_generator(cfg.backbone, latent.dim, cfg.data_shape, cfg.width)
    nets["D"] = build_headed(cfg.backbone, cfg.data_shape, cfg.width, (latent.n_clusters,))
    return nn.ModuleDict(nets)


def _probs(nets: nn.ModuleDict, x: torch.Tensor) -> torch.Tensor:
    return nets["D"](x)[0].float().softmax(dim=1)


def _d_loss(nets: nn.ModuleDict, step: Step) -> torch.Tensor:
    fake = generated(nets, step).detach()
    real_logits, fake_logits = real_and_fake(lambda x: nets["D"](x)[0], step, fake)
    p_real, p_fake = real_logits.float().softmax(dim=1), fake_logits.float().softmax(dim=1)
    certainty = entropy(p_real).mean()
    step.log("cond_entropy", certainty)
    loss = -entropy(p_real.mean(dim=0)) + certainty - entropy(p_fake).mean()
    step.log("d_adv", loss)
    return loss + consistency(lambda x: nets["D"](x)[0], step)


def _g_loss(nets: nn.ModuleDict, step: Step) -> torch.Tensor:
    p_fake = _probs(nets, generated(nets, step))
    loss = -entropy(p_fake.mean(dim=0)) + entropy(p_fake).mean()
    step.log("g_adv", loss)
    return loss


METHOD = Method(
    name="catgan",
    build=build,
    discriminator_params=lambda nets: head_params(nets, "D"),
    generator_params=lambda nets: head_params(nets, "G"),
    discriminator_loss=_d_loss,
    generator_loss=_g_loss,
    cluster_logits=lambda nets, x: nets["D"](x)[0],
    embed=lambda nets, x: nets["D"].features(x),
    features=lambda nets, x: nets["D"].features(x),
    monitor="cond_entropy",
    head="D",
    conditional=False,
)
