"""Label-free choice among several trained initialisations (``n_init``).

The criterion is the mutual information between the clusters of a sample and of a random
augmentation of it, ``I(c(x); c(aug(x)))``, estimated on up to 2048 training samples with soft
assignments. It equals ``H(c) - H(c | c')``: it is high only when the clusters are balanced (a
collapsed run has low ``H(c)``), confident and stable under perturbations that should not change a
sample's class (an arbitrary cut through a dense region is unstable). It uses no label, and it is
the same quantity the clustering regulariser maximises, measured on fresh augmentations.
"""

from __future__ import annotations

import torch
from torch import nn

from .augment import augment
from .inference import cluster_logits
from .losses import mutual_information_loss
from .methods import Method

SELECTION_SAMPLE = 2048


def stability_score(
    method: Method, nets: nn.ModuleDict, x: torch.Tensor, seed: int, strength: float = 1.0
) -> float:
    """Augmentation mutual information (nats) of a trained run's clusters; higher is better.

    Parameters
    ----------
    method : Method
        The run's method.
    nets : torch.nn.ModuleDict
        Its trained networks.
    x : torch.Tensor
        Preprocessed training data.
    seed : int
        Seed of the subsample and the augmentations, the same for every candidate run.
    strength : float
        Augmentation strength; 0 falls back to the default strength of 1.

    Returns
    -------
    float
        The estimate, between 0 and log(K).
    """
    rng = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(x), generator=rng)[:SELECTION_SAMPLE].to(x.device)
    sample = x[idx]
    with torch.no_grad():
        view = augment(sample, rng, strength or 1.0)
        p1 = cluster_logits(method, nets, sample).softmax(dim=1)
        p2 = cluster_logits(method, nets, view).softmax(dim=1)
        return float(-mutual_information_loss(p1, p2))
