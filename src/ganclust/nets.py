"""Backbones: ``mlp`` for vectors, ``conv`` for images, ``dcgan`` for images as the article the
project started from builds them.

Every backbone gives two pieces:

- a generator mapping a latent vector to a sample of ``data_shape``;
- a trunk mapping a sample to a feature vector, on which the methods put their heads (the
  discriminator's realness output, InfoGAN's Q head, ClusterGAN's encoder output).

Image backbones work for any size from 8x8 up: the generator draws at the next multiple of 4 and
crops the centre, and the trunk's flatten size is measured with a dry run.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._choices import BACKBONES


def resolve_backbone(backbone: str, data_shape: tuple[int, ...]) -> str:
    """Return the concrete backbone for ``data_shape`` (``auto``: conv for images, else mlp)."""
    if backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}; expected one of {', '.join(BACKBONES)}")
    is_image = len(data_shape) == 3
    if backbone == "auto":
        backbone = "conv" if is_image else "mlp"
    if backbone != "mlp" and not is_image:
        raise ValueError(
            f"backbone={backbone!r} needs images (N x H x W or N x C x H x W); got vectors"
        )
    if is_image and backbone != "mlp" and min(data_shape[1:]) < 8:
        size = "x".join(map(str, data_shape[1:]))
        hint = "backbone='mlp' takes any size"
        if data_shape[2] in (1, 3, 4) and data_shape[0] not in (1, 3, 4):
            hint = "they look channels-last: pass N x C x H x W, X.transpose(0, 3, 1, 2)"
        raise ValueError(
            f"images must be at least 8x8 for backbone={backbone!r}; got {size} images, "
            f"{data_shape[0]} channel(s) ({hint})"
        )
    return backbone


class CenterCrop(nn.Module):
    """Crop the last two dimensions to ``size`` around the centre."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = self.size
        top = (x.shape[-2] - h) // 2
        left = (x.shape[-1] - w) // 2
        return x[..., top : top + h, left : left + w]


def _quarter(data_shape: tuple[int, ...]) -> tuple[int, int]:
    return math.ceil(data_shape[1] / 4), math.ceil(data_shape[2] / 4)


def build_generator(
    backbone: str, latent_dim: int, data_shape: tuple[int, ...], width: int
) -> nn.Module:
    """Build a generator from ``latent_dim`` to ``data_shape``.

    Parameters
    ----------
    backbone : {"mlp", "conv", "dcgan"}
        Concrete backbone (see :func:`resolve_backbone`).
    latent_dim : int
        Width of the latent vector.
    data_shape : tuple of int
        ``(D,)`` for vectors or ``(C, H, W)`` for images.
    width : int
        Base width: hidden units for ``mlp``, channels for ``conv``.

    Returns
    -------
    torch.nn.Module
        Images come out in [-1, 1] (tanh); vectors are unbounded (standardised units).

    Notes
    -----
    ``dcgan`` follows the article the project started from: Dense 7*7*256, BN, LeakyReLU,
    ConvTranspose 128 k5 s2, BN, LeakyReLU, ConvTranspose C k5, tanh. The article's last layer
    has stride 1, so its output is half the input size (14x14 for MNIST); here it has stride 2 so
    the output matches the input, and the 7x7 starting grid is ``ceil(H/4) x ceil(W/4)`` for
    other sizes.
    """
    if backbone == "mlp":
        return _mlp_generator(latent_dim, data_shape, width)
    if backbone == "conv":
        return _conv_generator(latent_dim, data_shape, width)
    if backbone == "dcgan":
        return _dcgan_generator(latent_dim, data_shape)
    raise ValueError(f"unknown backbone {backbone!r}")


def _mlp_generator(latent_dim: int, data_shape: tuple[int, ...], width: int) -> nn.Module:
    layers: list[nn.Module] = [
        nn.Linear(latent_dim, width),
        nn.BatchNorm1d(width),
        nn.ReLU(),
        nn.Linear(width, width),
        nn.BatchNorm1d(width),
        nn.ReLU(),
        nn.Linear(width, math.prod(data_shape)),
    ]
    if len(data_shape) == 3:  # images through an MLP come out in [-1, 1] like conv's
        layers += [nn.Tanh(), nn.Unflatten(1, data_shape)]
    return nn.Sequential(*layers)


def _conv_generator(latent_dim: int, data_shape: tuple[int, ...], width: int) -> nn.Module:
    channels, height, wide = data_shape
    h0, w0 = _quarter(data_shape)
    return nn.Sequential(
        nn.Linear(latent_dim, 2 * width * h0 * w0),
        nn.BatchNorm1d(2 * width * h0 * w0),
        nn.ReLU(),
        nn.Unflatten(1, (2 * width, h0, w0)),
        nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.ConvTranspose2d(width, channels, 4, stride=2, padding=1),
        nn.Tanh(),
        CenterCrop((height, wide)),
    )


def _dcgan_generator(latent_dim: int, data_shape: tuple[int, ...]) -> nn.Module:
    channels, height, wide = data_shape
    h0, w0 = _quarter(data_shape)
    return nn.Sequential(
        nn.Linear(latent_dim, 256 * h0 * w0, bias=False),
        nn.BatchNorm1d(256 * h0 * w0),
        nn.LeakyReLU(0.2),
        nn.Unflatten(1, (256, h0, w0)),
        nn.ConvTranspose2d(256, 128, 5, stride=2, padding=2, output_padding=1, bias=False),
        nn.BatchNorm2d(128),
        nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(128, channels, 5, stride=2, padding=2, output_padding=1),
        nn.Tanh(),
        CenterCrop((height, wide)),
    )


def build_trunk(backbone: str, data_shape: tuple[int, ...], width: int) -> tuple[nn.Module, int]:
    """Build a feature extractor for samples of ``data_shape``.

    Parameters
    ----------
    backbone : {"mlp", "conv", "dcgan"}
        Concrete backbone.
    data_shape : tuple of int
        ``(D,)`` or ``(C, H, W)``.
    width : int
        Base width.

    Returns
    -------
    trunk : torch.nn.Module
        Maps (N, *data_shape) to (N, n_features).
    n_features : int
        Width of the features.

    Notes
    -----
    The trunks use no batch normalisation, so a sample's output never depends on the rest of its
    batch (WGAN-GP's gradient penalty needs that, and so does predicting subsets consistently).
    ``dcgan`` is the article's discriminator without its last Dense layer: Conv 64 k5 s2,
    LeakyReLU, Dropout 0.3, Conv 128 k5 s2, LeakyReLU, Dropout 0.3, Flatten.
    """
    if backbone == "mlp":
        trunk = nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(data_shape), width),
            nn.LeakyReLU(0.2),
            nn.Linear(width, width),
            nn.LeakyReLU(0.2),
        )
        return trunk, width
    channels = data_shape[0]
    if backbone == "conv":
        convs = nn.Sequential(
            nn.Conv2d(channels, width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
        )
        flat = _flat_size(convs, data_shape)
        n_features = 4 * width
        return nn.Sequential(convs, nn.Linear(flat, n_features), nn.LeakyReLU(0.2)), n_features
    if backbone == "dcgan":
        convs = nn.Sequential(
            nn.Conv2d(channels, 64, 5, stride=2, padding=2),
            nn.LeakyReLU(0.2),
            nn.Dropout(0.3),
            nn.Conv2d(64, 128, 5, stride=2, padding=2),
            nn.LeakyReLU(0.2),
            nn.Dropout(0.3),
            nn.Flatten(),
        )
        return convs, _flat_size(convs, data_shape)
    raise ValueError(f"unknown backbone {backbone!r}")


def _flat_size(module: nn.Module, data_shape: tuple[int, ...]) -> int:
    with torch.no_grad():
        return int(module(torch.zeros(1, *data_shape)).shape[1])


class HeadedTrunk(nn.Module):
    """A trunk with one linear layer on top whose output is split into named-size parts.

    Parameters
    ----------
    trunk : torch.nn.Module
        Feature extractor.
    n_features : int
        Width of the trunk's output.
    sizes : tuple of int
        Widths of the output parts; ``forward`` returns one tensor per part.
    """

    def __init__(self, trunk: nn.Module, n_features: int, sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.trunk = trunk
        self.head = nn.Linear(n_features, sum(sizes))
        self.sizes = tuple(sizes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The trunk's features, before the head."""
        return self.trunk(x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The head's output parts."""
        return tuple(self.head(self.trunk(x)).split(self.sizes, dim=1))


def build_headed(
    backbone: str, data_shape: tuple[int, ...], width: int, sizes: tuple[int, ...]
) -> HeadedTrunk:
    """Build a :class:`HeadedTrunk` on the backbone's trunk."""
    trunk, n_features = build_trunk(backbone, data_shape, width)
    return HeadedTrunk(trunk, n_features, sizes)
