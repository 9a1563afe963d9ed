"""The latent prior: z = (z_n, z_c, z_u), sampled with an explicit generator.

``z_n`` is Gaussian noise with standard deviation ``sigma``, ``z_c`` a one-hot code over the K
clusters, and ``z_u`` optional continuous codes drawn uniformly from [-1, 1] (InfoGAN's).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class LatentSpec:
    """Shape of the latent prior.

    Parameters
    ----------
    noise_dim : int
        Dimension of the Gaussian part ``z_n``.
    n_clusters : int
        Number of categories of the one-hot part ``z_c``.
    sigma : float
        Standard deviation of ``z_n``.
    n_continuous : int
        Number of uniform continuous codes ``z_u`` (0 for none).
    conditional : bool
        Whether the one-hot code is part of the generator's input. CatGAN's generator is not
        conditional: its latent is noise only, and a draw's cluster id is not meaningful.
    """

    noise_dim: int
    n_clusters: int
    sigma: float = 1.0
    n_continuous: int = 0
    conditional: bool = True

    @property
    def dim(self) -> int:
        """Total width of a latent vector."""
        onehot = self.n_clusters if self.conditional else 0
        return self.noise_dim + onehot + self.n_continuous


@dataclass
class LatentBatch:
    """One draw from the prior: the full vector and its parts."""

    z: torch.Tensor
    noise: torch.Tensor
    clusters: torch.Tensor
    continuous: torch.Tensor


def sample_latent(
    spec: LatentSpec,
    n: int,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
    clusters: torch.Tensor | None = None,
) -> LatentBatch:
    """Draw ``n`` latent vectors from the prior.

    Parameters
    ----------
    spec : LatentSpec
        The prior's shape.
    n : int
        Number of vectors.
    generator : torch.Generator
        Source of randomness; it lives on the CPU so a seed gives the same draw on any device.
    device : torch.device or str
        Where the returned tensors live.
    clusters : torch.Tensor, optional
        Cluster ids to use instead of drawing them uniformly.

    Returns
    -------
    LatentBatch
        ``z`` of shape (n, spec.dim) and its parts.
    """
    noise = torch.randn(n, spec.noise_dim, generator=generator) * spec.sigma
    if clusters is None:
        clusters = torch.randint(0, spec.n_clusters, (n,), generator=generator)
    clusters = clusters.cpu().long()
    onehot = F.one_hot(clusters, spec.n_clusters).float()
    continuous = torch.rand(n, spec.n_continuous, generator=generator) * 2 - 1
    parts = [noise, onehot, continuous] if spec.conditional else [noise, continuous]
    z = torch.cat(parts, dim=1)
    return LatentBatch(
        z=z.to(device),
        noise=noise.to(device),
        clusters=clusters.to(device),
        continuous=continuous.to(device),
    )
