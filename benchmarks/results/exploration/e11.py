# Test-time augmentation sets for the read-out of saved models (from e10.py): the head's
# probabilities averaged over fixed views given in the training augmentation's normalised units
# (shift 0.14 = its maximum, i.e. +-2 px on 28 px and +-0.56 px on 8 px). Labels only score.
# python e11.py DATASET SEED[,SEED...] [MODEL_DIR]
import math, sys
from pathlib import Path
import numpy as np, torch
import torch.nn.functional as F
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from _common import load_named
from ganclust.io import load
from ganclust.metrics import clustering_accuracy as acc
from ganclust.training import cluster_logits

name = sys.argv[1]
X, y = load_named(name)
models = Path(sys.argv[3] if len(sys.argv) > 3 else "/tmp/e10")


def warp(x, angle_deg=0.0, dx=0.0, dy=0.0, scale=1.0):
    a = math.radians(angle_deg)
    c, s = math.cos(a) / scale, math.sin(a) / scale
    theta = torch.tensor([[c, -s, dx], [s, c, dy]], dtype=x.dtype, device=x.device).expand(len(x), 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1


def shifts(d):
    return [dict(dx=d), dict(dx=-d), dict(dy=d), dict(dy=-d)]


SETS = {
    "shift.07": shifts(0.07),
    "shift.035": shifts(0.035),
    "rot6": [dict(angle_deg=6), dict(angle_deg=-6)],
    "scale5": [dict(scale=1.05), dict(scale=0.95)],
    "shift.07+rot6": shifts(0.07) + [dict(angle_deg=6), dict(angle_deg=-6)],
    "shift.07+rot6+scale5": shifts(0.07) + [dict(angle_deg=6), dict(angle_deg=-6), dict(scale=1.05), dict(scale=0.95)],
    "diag.07+rot6": [dict(dx=a, dy=b) for a in (-0.05, 0.05) for b in (-0.05, 0.05)] + [dict(angle_deg=6), dict(angle_deg=-6)],
}
for seed in map(int, sys.argv[2].split(",")):
    m = load(models / f"{name}_{seed}")
    data = m._on_device(m._prepare(X))
    method = m._method
    base = cluster_logits(method, m.nets_, data).cpu().softmax(1)
    out = {"head": acc(y, base.argmax(1).numpy())}
    for set_name, views in SETS.items():
        probs = [base] + [cluster_logits(method, m.nets_, warp(data, **v)).cpu().softmax(1) for v in views]
        out[set_name] = acc(y, torch.stack(probs).mean(0).argmax(1).numpy())
        # log-probability averaging (geometric mean), the other common choice
        out[set_name + "/log"] = acc(y, torch.stack(probs).clamp_min(1e-12).log().mean(0).argmax(1).numpy())
    print(name, seed, " ".join(f"{a} {b:.4f}" for a, b in out.items()), flush=True)
