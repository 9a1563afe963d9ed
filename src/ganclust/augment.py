"""Augmentations of real data: random for the clustering regulariser, fixed for the read-out.

Images get small random affine warps (shift, rotation, scale); vectors, which have no geometry,
get Gaussian noise and feature dropout. All randomness comes from an explicit generator.
:func:`read_out_views` gives fixed, deterministic shifts of images, over which the read-out
averages the clustering head's probabilities (``test_time_augmentation``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# largest random shift, in normalised coordinates: +-2 px on a 28-px image is +-0.14
MAX_SHIFT = 0.14
# the read-out views shift by half of it (+-1 px on 28 px), in each of the four directions: on
# MNIST-10k, half the largest shift beat a quarter of it, and rotations or scalings added nothing
# (docs/benchmarks.md)
READ_OUT_SHIFT = MAX_SHIFT / 2
# largest random rotation, in degrees
MAX_ROTATION = 12.0


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

    angle = uniform(-MAX_ROTATION, MAX_ROTATION) * (strength * math.pi / 180)
    scale = 1 + uniform(-0.1, 0.1) * strength
    shift_x = uniform(-MAX_SHIFT, MAX_SHIFT) * strength
    shift_y = uniform(-MAX_SHIFT, MAX_SHIFT) * strength
    return _affine(x, angle, scale, shift_x, shift_y)


def _affine(
    x: torch.Tensor,
    angle: torch.Tensor,
    scale: torch.Tensor,
    shift_x: torch.Tensor,
    shift_y: torch.Tensor,
) -> torch.Tensor:
    """Warp each image by its rotation (radians), scale and shift (normalised coordinates)."""
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift_x], 1), torch.stack([sin, cos, shift_y], 1)], 1
    ).to(x.device, x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # padding with -1 (the background of images scaled to [-1, 1]) rather than 0
    return F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1


def rotated(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Every image of ``x`` rotated by ``degrees`` (counter-clockwise) about its centre."""
    n = x.shape[0]
    angle = torch.full((n,), math.radians(degrees))
    return _affine(x, angle, torch.ones(n), torch.zeros(n), torch.zeros(n))


def read_out_views(x: torch.Tensor, strength: float = 1.0) -> list[torch.Tensor]:
    """Fixed augmentations of images for the read-out: four shifts of ``x``, without ``x`` itself.

    Each view shifts every image by ``READ_OUT_SHIFT * strength`` (half the largest random
    shift) left, right, up or down. Vectors get no views: their augmentations are random noise,
    not a geometry with a fixed set of small moves.

    Parameters
    ----------
    x : torch.Tensor
        (N, C, H, W) images in [-1, 1] or (N, D) vectors.
    strength : float
        The training augmentation's strength; 0 gives no views.

    Returns
    -------
    list of torch.Tensor
        Four tensors shaped like ``x`` for images; empty for vectors or ``strength=0``.
    """
    if x.dim() != 4 or strength == 0:
        return []
    n = x.shape[0]
    shift = READ_OUT_SHIFT * strength
    zero, one = torch.zeros(n), torch.ones(n)
    moves = ((shift, 0.0), (-shift, 0.0), (0.0, shift), (0.0, -shift))
    return [_affine(x, zero, one, zero + dx, zero + dy) for dx, dy in moves]
