"""Loss functions shared by the methods: adversarial losses and the clustering regulariser."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LOSSES = ("wgan-gp", "bce", "hinge")
_EPS = 1e-8


class _ScaleGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:  # type: ignore[override]
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        return grad * ctx.scale, None


def scale_gradient(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Identity on the forward pass; multiplies the gradient flowing back into ``x`` by ``scale``.

    Placed between two networks, it lets one loss train them with different weights in a single
    forward pass: a loss ``w * L(E(scale_gradient(G(z), v / w)))`` trains E with weight ``w``
    and G with weight ``v``.

    Parameters
    ----------
    x : torch.Tensor
        Any tensor in the graph.
    scale : float
        Factor on the gradient with respect to ``x``.

    Returns
    -------
    torch.Tensor
        ``x`` itself when ``scale`` is 1, else a view of it that rescales its gradient.
    """
    if scale == 1.0:
        return x
    return _ScaleGradient.apply(x, scale)  # type: ignore[no-any-return]


def check_loss(loss: str) -> str:
    """Validate an adversarial loss name."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; expected one of {', '.join(LOSSES)}")
    return loss


def discriminator_loss(loss: str, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    """Adversarial loss of the discriminator on raw (pre-sigmoid) outputs, computed in fp32."""
    real_out, fake_out = real_out.float(), fake_out.float()
    if loss == "wgan-gp":
        return fake_out.mean() - real_out.mean()
    if loss == "hinge":
        return F.relu(1 - real_out).mean() + F.relu(1 + fake_out).mean()
    return F.binary_cross_entropy_with_logits(
        real_out, torch.ones_like(real_out)
    ) + F.binary_cross_entropy_with_logits(fake_out, torch.zeros_like(fake_out))


def generator_loss(loss: str, fake_out: torch.Tensor) -> torch.Tensor:
    """Adversarial loss of the generator (non-saturating for ``bce``), computed in fp32."""
    fake_out = fake_out.float()
    if loss in ("wgan-gp", "hinge"):
        return -fake_out.mean()
    return F.binary_cross_entropy_with_logits(fake_out, torch.ones_like(fake_out))


def gradient_penalty(
    critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """WGAN-GP's penalty (||grad critic|| - 1)^2 on random interpolates of real and fake."""
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    alpha = torch.rand(shape, generator=generator).to(real.device)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    out = critic(mixed)
    (grad,) = torch.autograd.grad(out.sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def entropy(p: torch.Tensor) -> torch.Tensor:
    """Shannon entropy (nats) of each row of probabilities, computed in fp32."""
    p = p.float()
    return -(p * torch.log(p + _EPS)).sum(dim=-1)


def mutual_information_loss(p1: torch.Tensor, p2: torch.Tensor) -> torch.Tensor:
    """Negative mutual information between the cluster assignments of two views (IIC).

    Parameters
    ----------
    p1, p2 : torch.Tensor
        (B, K) cluster probabilities of two augmentations of the same B samples.

    Returns
    -------
    torch.Tensor
        ``-I(c1; c2)`` from the symmetrised joint over the batch. Minimising it makes each sample's
        two views agree (consistency) while keeping the batch marginal spread over all K clusters
        (balance), so it cannot be satisfied by putting everything in one cluster.
    """
    p1, p2 = p1.float(), p2.float()
    joint = p1.t() @ p2 / p1.shape[0]
    if joint.dtype != p1.dtype:  # bf16 autocast cast the product: form it elementwise in fp32
        joint = (p1.unsqueeze(2) * p2.unsqueeze(1)).mean(dim=0)
    joint = ((joint + joint.t()) / 2).clamp_min(_EPS)
    marginal_i = joint.sum(dim=1, keepdim=True)
    marginal_j = joint.sum(dim=0, keepdim=True)
    return -(joint * (joint.log() - marginal_i.log() - marginal_j.log())).sum()
