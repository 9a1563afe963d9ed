"""InfoGAN (Chen et al., NeurIPS 2016): a Q head on the discriminator's trunk reads the code.

The latent holds noise, a K-way categorical code and a few continuous codes. Q shares D's trunk and
predicts the codes of generated samples; G and Q maximise the variational lower bound on the mutual
information between the codes and G's output (weighted by ``info_weight``). A real sample's cluster
is ``argmax Q(c | x)``, the discriminator's own output: the idea of the article the project
started from, made to separate classes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..nets import build_generator, build_headed
from ._common import (
    adversarial_d,
    adversarial_g,
    consistency,
    generated,
    head_params,
    real_and_fake,
)
from ._spec import Method, NetConfig, Step

# weight of the continuous codes' term relative to the categorical one (the paper's value)
CONTINUOUS_WEIGHT = 0.1


def build(cfg: NetConfig) -> nn.ModuleDict:
    """Build G and the discriminator D, whose head gives (realness, Q_c logits, Q_u means).

    Without the adversarial game only D is built, and only its trunk and Q_c head are trained.
    """
    latent = cfg.latent
    sizes = (1, latent.n_clusters, latent.n_continuous)
    nets = {}
    # G first: the order of construction fixes which random weights each network draws
    if cfg.adversarial:
        nets["G"] = build_generator(cfg.backbone, latent.dim, cfg.data_shape, cfg.width)
    nets["D"] = build_headed(cfg.backbone, cfg.data_shape, cfg.width, sizes)
    return nn.ModuleDict(nets)


def _info_loss(step: Step, logits: torch.Tensor, continuous: torch.Tensor) -> torch.Tensor:
    """The mutual-information term, from D's cluster logits and continuous codes of the
    generated batch (the same forward pass as D's realness output)."""
    loss = F.cross_entropy(logits, step.latent.clusters)
    if continuous.shape[1]:
        loss = loss + CONTINUOUS_WEIGHT * F.mse_loss(continuous, step.latent.continuous)
    step.log("info", loss)
    return step.weights.info_weight * loss


def _d_loss(nets: nn.ModuleDict, step: Step) -> torch.Tensor:
    fake = generated(nets, step).detach()
    real_out, _, _, fake_out, logits, continuous = real_and_fake(nets["D"], step, fake)
    outputs = (real_out, fake_out)
    loss = adversarial_d(lambda x: nets["D"](x)[0], step, fake, outputs)
    loss = loss + _info_loss(step, logits, continuous)
    return loss + consistency(lambda x: nets["D"](x)[1], step)


def _g_loss(nets: nn.ModuleDict, step: Step) -> torch.Tensor:
    fake_out, logits, continuous = nets["D"](generated(nets, step))
    return adversarial_g(step, fake_out) + _info_loss(step, logits, continuous)


METHOD = Method(
    name="infogan",
    build=build,
    discriminator_params=lambda nets: head_params(nets, "D"),
    generator_params=lambda nets: head_params(nets, "G"),
    discriminator_loss=_d_loss,
    generator_loss=_g_loss,
    cluster_logits=lambda nets, x: nets["D"](x)[1],
    embed=lambda nets, x: nets["D"].features(x),
    features=lambda nets, x: nets["D"].features(x),
    monitor="info",
    head="D",
)
