"""Random augmentations of real data for the clustering regulariser.

Images get small random affine warps (shift, rotation, scale); vectors, which have no geometry,
get Gaussian noise and feature dropout. All randomness comes from an explicit generator.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def augment(x: torch.Tensor, generator: torch.Generator, strength: float = 1.0) -> torch.Tensor:
    """Return one random augmentation of each sample of ``x``.

    Parameters
    ----------
    x : torch.Tensor
        (N, C, H, W) images in [-1, 1] or (N, D) standardised vectors.
    generator : torch.Generator
        CPU generator for the random parameters.
    strength : float
        Scales every perturbation; 0 returns ``x`` unchanged.

    Returns
    -------
    torch.Tensor
        Same shape as ``x``.
    """
    if strength == 0:
        return x
    if x.dim() == 4:
        return _warp_images(x, generator, strength)
    noise = torch.randn(x.shape, generator=generator).to(x.device) * (0.2 * strength)
    keep = (torch.rand(x.shape, generator=generator) > 0.1 * strength).to(x.device)
    return (x + noise) * keep


def _warp_images(x: torch.Tensor, generator: torch.Generator, strength: float) -> torch.Tensor:
    n = x.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=generator) * (high - low) + low

    angle = uniform(-12, 12) * (strength * math.pi / 180)
    scale = 1 + uniform(-0.1, 0.1) * strength
    # shifts in normalised coordinates: +-2 px on a 28-px image is +-0.14
    shift_x = uniform(-0.14, 0.14) * strength
    shift_y = uniform(-0.14, 0.14) * strength
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift_x], 1), torch.stack([sin, cos, shift_y], 1)], 1
    ).to(x.device, x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # padding with -1 (the background of images scaled to [-1, 1]) rather than 0
    return F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1
