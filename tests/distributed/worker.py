"""Run by tests/test_distributed.py under ``torchrun --nproc-per-node 2``: fits a tiny model
with the library and writes what this rank saw to ``OUT/rank<R>.npz``.

Recorded: every batch of indices the rank trained on (in order), the seed of its own draws,
its fitted labels and weights (of a fit without a random_state, then of one with), the
message of the refused ``checkpoint_dir``, and the gloo threads still running once the
library has ended the process group it started (none, or the rank may abort at exit).
"""

import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_blobs

import ganclust.distributed as distributed
from ganclust import ClusterGAN

out = Path(sys.argv[1])
seen: list[np.ndarray] = []
seeds: list[int] = []
shard, rank_seed = distributed.shard, distributed.rank_seed


def recording_shard(batch, here):
    part = shard(batch, here)
    seen.append(part.numpy().copy())
    return part


def recording_seed(seed, rank):
    seeds.append(rank_seed(seed, rank))
    return seeds[-1]


distributed.shard, distributed.rank_seed = recording_shard, recording_seed
X, _ = make_blobs(60, n_features=5, centers=3, cluster_std=0.5, random_state=0)
settings = dict(
    options={"width": 16, "refine": 0}, max_epochs=2, batch_size=32, latent_dim=4, device="cpu"
)
model = ClusterGAN(3, **settings).fit(X)  # no random_state: rank 0's drawn seed is used
seeded = ClusterGAN(3, **settings, random_state=5).fit(X)
try:
    ClusterGAN(3, **settings).fit(X, checkpoint_dir=out / "never")
    refused = ""
except ValueError as error:
    refused = str(error)
here = distributed.world()
distributed._leave()


def gloo_threads() -> list[str]:
    """Names of this process's threads that gloo started (Linux; empty elsewhere)."""
    tasks = Path("/proc/self/task")
    names = [(t / "comm").read_text().strip() for t in tasks.iterdir()] if tasks.exists() else []
    return [name for name in names if "gloo" in name]


def weights_of(fitted):
    return torch.cat([p.detach().reshape(-1) for p in fitted.nets_.parameters()]).numpy()


np.savez(
    out / f"rank{here.rank}.npz",
    size=here.size,
    batches=np.concatenate(seen),
    batch_lengths=np.array([len(b) for b in seen]),
    seeds=np.array(seeds),
    fit_seed=model.settings_.seed,
    labels=model.labels_,
    weights=weights_of(model),
    seeded_weights=weights_of(seeded),
    refused=refused,
    gloo_threads=np.array(gloo_threads(), dtype=str),
)
