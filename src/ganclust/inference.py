"""Read-outs of trained networks: batched, in eval mode, without gradients."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .augment import read_out_views
from .methods import Method

# Samples per forward pass of a read-out. Larger batches are slower on CPU, not faster: at 1,024
# a conv trunk's activations (25 MiB) outgrow the caches, which made MNIST-10k's read-outs up to
# 2x slower than at 256 (mlp trunks are indifferent; docs/benchmarks.md)
READ_OUT_BATCH = 256


@torch.no_grad()
def batched(
    fn: Callable[[nn.ModuleDict, torch.Tensor], torch.Tensor],
    nets: nn.ModuleDict,
    x: torch.Tensor,
    batch_size: int | None = None,
) -> torch.Tensor:
    """``fn(nets, x)`` in eval mode without gradients, ``batch_size`` samples a pass (by default
    ``READ_OUT_BATCH``, read when called), so large inputs fit in memory."""
    was_training = nets.training
    nets.eval()
    out = torch.cat([fn(nets, chunk) for chunk in x.split(batch_size or READ_OUT_BATCH)])
    nets.train(was_training)
    return out


def cluster_logits(
    method: Method, nets: nn.ModuleDict, x: torch.Tensor, batch_size: int | None = None
) -> torch.Tensor:
    """Cluster logits of ``x`` in eval mode, batched so large inputs fit in memory."""
    return batched(method.cluster_logits, nets, x, batch_size)


def cluster_proba(
    method: Method,
    nets: nn.ModuleDict,
    x: torch.Tensor,
    view_strength: float = 0.0,
    batch_size: int | None = None,
) -> torch.Tensor:
    """Cluster probabilities of ``x``: the read-out behind ``labels_`` and ``predict_proba``.

    With ``view_strength`` > 0 and images, the softmax of the clustering head is averaged over
    each image and its fixed shifted views (:func:`ganclust.augment.read_out_views`); otherwise
    it is the softmax of the image alone.
    """

    def proba(nets: nn.ModuleDict, chunk: torch.Tensor) -> torch.Tensor:
        views = [chunk, *read_out_views(chunk, view_strength)]
        return torch.stack([method.cluster_logits(nets, v).softmax(dim=1) for v in views]).mean(0)

    return batched(proba, nets, x, batch_size)


def occupancy(method: Method, nets: nn.ModuleDict, x: torch.Tensor, n_clusters: int) -> list[float]:
    """Fraction of ``x`` assigned to each cluster."""
    labels = cluster_logits(method, nets, x).argmax(dim=1)
    counts = torch.bincount(labels, minlength=n_clusters).float()
    return (counts / max(len(labels), 1)).tolist()
