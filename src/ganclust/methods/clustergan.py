"""ClusterGAN (Mukherjee et al., AAAI 2019): an encoder E inverts the generator.

The latent is ``z = (z_n, z_c)``. G and E are trained together on
``adversarial + beta_n * MSE(E_n(G(z)), z_n) + beta_c * CE(E_c(G(z)), c)``; a real sample's cluster
is ``argmax E_c(x)``. ganclust adds the clustering regulariser on real data (see
:func:`ganclust.methods._common.consistency`), which trains E on the data it will be asked about.

The inversion loss trains G with the weights ``beta_n, beta_c`` and E with those weights times
``encoder_fake_weight``: G is held to writing each code so that E reads it back, while E, whose
read-out of real data is what clustering needs, can learn little from G's imperfect samples.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..losses import scale_gradient
from ..nets import build_generator, build_headed
from ._common import adversarial_d, adversarial_g, consistency, generated, head_params
from ._spec import Method, NetConfig, Step


def build(cfg: NetConfig) -> nn.ModuleDict:
    """Build the generator G, the critic D and the encoder E for ``cfg`` (E alone without the
    adversarial game)."""
    latent = cfg.latent
    encoder = (latent.noise_dim, latent.n_clusters)
    if not cfg.adversarial:
        return nn.ModuleDict({"E": build_headed(cfg.backbone, cfg.data_shape, cfg.width, encoder)})
    return nn.ModuleDict(
        {
            "G": build_generator(cfg.backbone, latent.dim, cfg.data_shape, cfg.width),
            "D": build_headed(cfg.backbone, cfg.data_shape, cfg.width, (1,)),
            "E": build_headed(cfg.backbone, cfg.data_shape, cfg.width, encoder),
        }
    )


def _critic(nets: nn.ModuleDict):
    return lambda x: nets["D"](x)[0]


def _d_loss(nets: nn.ModuleDict, step: Step) -> torch.Tensor:
    return adversarial_d(_critic(nets), step, generated(nets, step).detach())


def _g_loss(nets: nn.ModuleDict, step: Step) -> torch.Tensor:
    fake = generated(nets, step)
    loss = adversarial_g(step, _critic(nets)(fake))
    w = step.weights
    # one forward pass: the loss below, times encoder_fake_weight, trains E; the rescaled
    # gradient at E's input gives G the unscaled weights
    noise_hat, logits = nets["E"](scale_gradient(fake, 1.0 / w.encoder_fake_weight))
    inversion = w.beta_n * F.mse_loss(noise_hat, step.latent.noise)
    inversion = inversion + w.beta_c * F.cross_entropy(logits, step.latent.clusters)
    step.log("inversion", inversion)
    inversion = w.encoder_fake_weight * inversion
    return loss + inversion + consistency(lambda x: nets["E"](x)[1], step)


def _embed(nets: nn.ModuleDict, x: torch.Tensor) -> torch.Tensor:
    noise, logits = nets["E"](x)
    return torch.cat([noise, logits.softmax(dim=1)], dim=1)


METHOD = Method(
    name="clustergan",
    build=build,
    discriminator_params=lambda nets: head_params(nets, "D"),
    generator_params=lambda nets: head_params(nets, "G", "E"),
    discriminator_loss=_d_loss,
    generator_loss=_g_loss,
    cluster_logits=lambda nets, x: nets["E"](x)[1],
    embed=_embed,
    features=lambda nets, x: nets["E"].features(x),
    monitor="inversion",
    head="E",
    embed_ends_with_clusters=True,
)
