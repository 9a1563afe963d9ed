# k-NN vote read-outs of saved models (from e10.py), on top of the head or of its test-time
# augmented probabilities (shift.07 from e11.py): each sample takes the majority (or the mean
# probability) of its k nearest training samples in the trunk's standardised feature space,
# itself included (so that predict on the training data would give the same answer). Labels only score.
# python e12.py DATASET SEED[,SEED...]
import sys
from pathlib import Path
import numpy as np, torch
from sklearn.neighbors import NearestNeighbors
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_named
from ganclust.io import load
from ganclust.metrics import clustering_accuracy as acc
from ganclust.training import batched, cluster_logits

name = sys.argv[1]
X, y = load_named(name)
import importlib.util
spec = importlib.util.spec_from_file_location("e11w", Path(__file__).with_name("e11.py"))
for seed in map(int, sys.argv[2].split(",")):
    m = load(Path("/tmp/e10") / f"{name}_{seed}")
    data = m._on_device(m._prepare(X))
    method = m._method
    base = cluster_logits(method, m.nets_, data).cpu().softmax(1)
    import math
    import torch.nn.functional as F

    def warp(x, dx=0.0, dy=0.0):
        theta = torch.tensor([[1.0, 0, dx], [0, 1.0, dy]], dtype=x.dtype).expand(len(x), 2, 3)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1

    views = [dict(dx=0.07), dict(dx=-0.07), dict(dy=0.07), dict(dy=-0.07)]
    tta = torch.stack([base] + [cluster_logits(method, m.nets_, warp(data, **v)).softmax(1) for v in views]).mean(0)
    feats = batched(method.features, m.nets_, data).double()
    feats = ((feats - feats.mean(0)) / (feats.std(0) + 1e-8)).numpy()
    idx = NearestNeighbors(n_neighbors=31).fit(feats).kneighbors(feats)[1]
    out = {"head": acc(y, base.argmax(1).numpy()), "tta": acc(y, tta.argmax(1).numpy())}
    for src_name, p in (("head", base.numpy()), ("tta", tta.numpy())):
        for kk in (5, 10, 20, 30):
            out[f"{src_name}-mean{kk}"] = acc(y, p[idx[:, :kk]].mean(1).argmax(1))
    print(name, seed, " ".join(f"{a} {b:.4f}" for a, b in out.items()), flush=True)
