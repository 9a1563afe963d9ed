"""The literal clustering of the article the project started from, as a baseline: bin the
discriminator's realness.

A plain BCE GAN with the article's DCGAN (ganclust's ``dcgan`` backbone) is trained with no
clustering objective at all; each real sample's probability of being real, ``sigmoid(D(x))``, is
then cut into K equal-width bins over [0, 1] and the bin is the label. Realness says how typical a
sample looks, not which class it is, so this cannot separate classes; it is here so the benchmark
shows why the discriminator must be a K-way read-out instead.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ganclust import InfoGAN


def realness_labels(X: np.ndarray, k: int, seed: int, **params: object) -> np.ndarray:
    """Train a plain GAN on ``X`` and label samples by binned realness.

    Parameters
    ----------
    X : numpy.ndarray
        Images (the article's backbone needs images).
    k : int
        Number of bins.
    seed : int
        Random state.
    **params
        Overrides of the GAN's settings (e.g. ``max_epochs``).

    Returns
    -------
    numpy.ndarray
        Bin index of each sample.
    """
    # InfoGAN with no information term and no regulariser is a plain BCE DCGAN
    settings: dict[str, object] = dict(
        backbone="dcgan",
        info_weight=0.0,
        recipe="published",
        n_continuous=0,
        max_epochs=20,
        random_state=seed,
    )
    settings.update(params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gan = InfoGAN(k, **settings).fit(X)
    data = gan.preprocessor_.to_tensor(X).to(next(gan.nets_.parameters()).device)
    gan.nets_.eval()
    with torch.no_grad():
        realness = torch.cat([gan.nets_["D"](c)[0] for c in data.split(1024)]).sigmoid()
    edges = np.linspace(0.0, 1.0, k + 1)[1:-1]
    return np.digitize(realness.squeeze(1).cpu().numpy(), edges)
