# Post-hoc read-outs of a fitted default model (no label reaches the fit or the read-outs; labels
# only score): the head's argmax (what predict does), test-time augmentation (mean of the head's
# probabilities over fixed shifts/rotations), a k-NN vote of the head's labels in the trunk's
# feature space, and a fresh t-SNE + GMM of the trunk's features.
# python e10.py DATASET SEED[,SEED...] [PARAMS_JSON [MODEL_DIR]]
import json, math, os, sys, time
from pathlib import Path
import numpy as np, torch
import torch.nn.functional as F
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from _common import load_named
from ganclust import ClusterGAN
from ganclust.io import load
from ganclust.manifold import pseudo_labels
from ganclust.metrics import clustering_accuracy as acc
from ganclust.training import batched, cluster_logits

name = sys.argv[1]
X, y = load_named(name)
k = len(np.unique(y))


def warp(x, angle_deg, dx, dy, scale=1.0):
    a = math.radians(angle_deg)
    c, s = math.cos(a) / scale, math.sin(a) / scale
    theta = torch.tensor([[c, -s, dx], [s, c, dy]], dtype=x.dtype, device=x.device).expand(len(x), 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1


params = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
tag = "_".join(f"{a}{b}" for a, b in params.items())
models = Path(sys.argv[4] if len(sys.argv) > 4 else "/tmp/e10")
models.mkdir(parents=True, exist_ok=True)
for seed in map(int, sys.argv[2].split(",")):
    path = models / f"{name}_{seed}{'_' + tag if tag else ''}"
    t = time.time()
    if path.exists():
        m = load(path)
    else:
        m = ClusterGAN(k, random_state=seed, **params).fit(X)
        m.save(path)
    fit_s = time.time() - t
    data = m._on_device(m._prepare(X))
    method = m._method
    logits = cluster_logits(method, m.nets_, data)
    logits = logits.cpu()
    head = logits.argmax(1).numpy()
    out = {"head": acc(y, head)}
    px = 2.0 / data.shape[-1]  # one pixel in normalised coordinates
    views = [(0, 0, 0)] + [(0, sx * px, sy * px) for sx, sy in ((1, 0), (-1, 0), (0, 1), (0, -1))]
    probs = [logits.softmax(1)]
    for angle, dx, dy in views[1:]:
        probs.append(cluster_logits(method, m.nets_, warp(data, angle, dx, dy)).cpu().softmax(1))
    out["tta5"] = acc(y, torch.stack(probs).mean(0).argmax(1).numpy())
    for angle in (-8, 8):
        probs.append(cluster_logits(method, m.nets_, warp(data, angle, 0, 0)).cpu().softmax(1))
    out["tta7"] = acc(y, torch.stack(probs).mean(0).argmax(1).numpy())
    feats = batched(method.features, m.nets_, data).cpu().double()
    feats = (feats - feats.mean(0)) / (feats.std(0) + 1e-8)
    from sklearn.neighbors import NearestNeighbors

    nn_idx = NearestNeighbors(n_neighbors=16).fit(feats.numpy()).kneighbors(feats.numpy())[1]
    for kk in (5, 15):
        votes = np.zeros((len(head), k))
        np.add.at(votes, (np.repeat(np.arange(len(head)), kk), head[nn_idx[:, 1 : kk + 1]].ravel()), 1)
        out[f"knn{kk}"] = acc(y, votes.argmax(1))
    lab = pseudo_labels(feats, k, "tsne", seed + 7, min_confidence=0.0).numpy()
    out["tsne_feats"] = acc(y, lab)
    print(name, tag or "defaults", seed, f"fit {fit_s:.0f}s", " ".join(f"{a} {b:.4f}" for a, b in out.items()), flush=True)
