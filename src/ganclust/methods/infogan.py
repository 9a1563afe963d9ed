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
from ._common import adversarial_d, adversarial_g, consistency, head_params
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


def _info_loss(nets: nn.ModuleDict, step: Step, fake: torch.Tensor) -> torch.Tensor:
    _, logits, continuous = nets["D"](fake)
    loss = F.cross_entropy(logits, step.latent.clusters)
    if continuous.shape[1]:
        loss = loss + CONTINUOUS_WEIGHT * F.mse_loss(continuous, step.latent.continuous)
    step.log("info", loss)
    return step.weights.info_weight * loss


def _d_loss(nets: nn.ModuleDict, step: Step) -> torch.Tensor:
    with torch.no_grad():
        fake = nets["G"](step.latent.z)
    loss = adversarial_d(lambda x: nets["D"](x)[0], step, fake)
    loss = loss + _info_loss(nets, step, fake)
    return loss + consistency(lambda x: nets["D"](x)[1], step)


def _g_loss(nets: nn.ModuleDict, step: Step) -> torch.Tensor:
    fake = nets["G"](step.latent.z)
    loss = adversarial_g(lambda x: nets["D"](x)[0], step, fake)
    return loss + _info_loss(nets, step, fake)


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
