"""The autoencoder code that ``init="autoencoder"`` maps instead of the data itself.

N2D (McConville et al., 2020) showed that a manifold read-out of an autoencoder's code clusters
better than one of the raw data: the code keeps what the reconstruction needs and drops the
directions that only carry noise. ganclust trains such an autoencoder briefly on the samples the
first read-out reads, and :func:`ganclust.pseudo_labels.manifold` maps its code with t-SNE. On
MNIST-10k as PCA-50 vectors a fit gains 0.03 ACC so; on sklearn's digits, as 64-D vectors or as
8x8 images, it loses up to 0.1, and on 10-D Gaussian mixtures it changes nothing
(docs/benchmarks.md): it is an option, not the default.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

# the encoder's hidden widths; the decoder mirrors them. N2D's last one is 2,000: on MNIST-10k as
# PCA-50 vectors (seed 0) a code of 1,000's read 0.944 and of 2,000's 0.939, and 1,000 is cheaper
HIDDEN = (500, 500, 1000)
CODE_DIM = 10
# about EPOCHS passes over the samples, at most MAX_STEPS steps (MNIST-10k: 1,500)
EPOCHS = 40
MAX_STEPS = 1500
BATCH_SIZE = 256
LEARNING_RATE = 1e-3


def _mlp(widths: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for inner, outer in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(inner, outer), nn.ReLU()]
    return nn.Sequential(*layers[:-1])  # no activation on the code or the reconstruction


def autoencoder_code(x: np.ndarray, seed: int, steps: int | None = None) -> np.ndarray:
    """The ``CODE_DIM``-dimensional code of each row of ``x`` after ``steps`` Adam steps.

    Parameters
    ----------
    x : numpy.ndarray of shape (n_samples, n_features)
        The samples to encode (preprocessed, flattened).
    seed : int
        Seed of the weights and of the batches; the global random state is left untouched.
    steps : int, optional
        Training steps of ``BATCH_SIZE`` samples drawn with replacement; by default about
        ``EPOCHS`` passes over ``x``, at most ``MAX_STEPS``.

    Returns
    -------
    numpy.ndarray of shape (n_samples, CODE_DIM)
        float64 codes.
    """
    data = torch.as_tensor(x, dtype=torch.float32)
    batch_size = min(BATCH_SIZE, len(data))
    if steps is None:
        steps = min(MAX_STEPS, EPOCHS * -(-len(data) // batch_size))
    widths = [data.shape[1], *HIDDEN, CODE_DIM]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder, decoder = _mlp(widths), _mlp(widths[::-1])
    batches = torch.Generator().manual_seed(seed)
    params = [*encoder.parameters(), *decoder.parameters()]
    optimizer = torch.optim.Adam(params, lr=LEARNING_RATE)
    for _ in range(steps):
        batch = data[torch.randint(0, len(data), (batch_size,), generator=batches)]
        loss = nn.functional.mse_loss(decoder(encoder(batch)), batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        codes = torch.cat([encoder(part) for part in data.split(4096)])
    return codes.double().numpy()
