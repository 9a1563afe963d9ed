"""What a method is: how to build its networks, its two losses and how it reads clusters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from ..latent import LatentBatch, LatentSpec


@dataclass(frozen=True)
class NetConfig:
    """Everything needed to build a method's networks."""

    backbone: str
    data_shape: tuple[int, ...]
    width: int
    latent: LatentSpec
    # False builds only the clustering head (no generator, no realness output is trained)
    adversarial: bool = True


@dataclass
class Weights:
    """Loss weights; each method reads the ones it knows."""

    beta_n: float = 10.0
    beta_c: float = 10.0
    # scales the inversion loss's gradient into ClusterGAN's encoder (not into the generator)
    encoder_fake_weight: float = 1.0
    info_weight: float = 1.0
    consistency: float = 1.0
    gp_weight: float = 10.0
    augment_strength: float = 1.0
    init_weight: float = 20.0


@dataclass
class Step:
    """One training batch as the losses see it."""

    real: torch.Tensor
    # the generator's latent draw; None without the adversarial game
    latent: LatentBatch | None
    loss: str
    weights: Weights
    rng: torch.Generator
    # per-sample pseudo-label of the clustering head (-1: none), or None without ``init``
    pseudo: torch.Tensor | None = None
    logs: dict[str, float] = field(default_factory=dict)
    # G(latent.z), drawn once per batch (see ganclust.methods._common.generated)
    fake: torch.Tensor | None = None
    # whether the generator's update follows the discriminator's in this batch (n_critic)
    updates_generator: bool = True

    def log(self, name: str, value: torch.Tensor) -> None:
        """Record a scalar for the progress callback and the stop criterion."""
        self.logs[name] = float(value.detach())


@dataclass(frozen=True)
class Method:
    """A clustering GAN as plain functions over an ``nn.ModuleDict`` of networks.

    ``discriminator_params`` and ``generator_params`` choose what each optimiser updates;
    ``discriminator_loss`` runs every batch and ``generator_loss`` every ``n_critic`` batches.
    ``monitor`` names the logged regulariser that the ``tol`` stop criterion watches.
    """

    name: str
    # builds every network, or only the clustering head when ``cfg.adversarial`` is False
    build: Callable[[NetConfig], nn.ModuleDict]
    discriminator_params: Callable[[nn.ModuleDict], list[nn.Parameter]]
    generator_params: Callable[[nn.ModuleDict], list[nn.Parameter]]
    discriminator_loss: Callable[[nn.ModuleDict, Step], torch.Tensor]
    generator_loss: Callable[[nn.ModuleDict, Step], torch.Tensor]
    cluster_logits: Callable[[nn.ModuleDict, torch.Tensor], torch.Tensor]
    embed: Callable[[nn.ModuleDict, torch.Tensor], torch.Tensor]
    # the trunk features under the clustering head (what the refinement read-out clusters)
    features: Callable[[nn.ModuleDict, torch.Tensor], torch.Tensor]
    monitor: str
    # the network that reads clusters (what ``adversarial=False`` trains alone)
    head: str
    conditional: bool = True
    # whether ``embed`` ends with the K cluster probabilities (reordered to the public order)
    embed_ends_with_clusters: bool = False
