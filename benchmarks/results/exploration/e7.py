# Which trunk makes the better refinement teacher for ClusterGAN: the encoder's (the default) or
# the discriminator's? Stage 1 only (refine=0), then the t-SNE + GMM read-out of each trunk.
# python e7.py mnist|digits SEED
import sys, time, numpy as np, torch
from sklearn.datasets import load_digits
from ganclust import ClusterGAN
from ganclust.metrics import clustering_accuracy as acc
from ganclust.manifold import refined_pseudo_labels
from ganclust.training import batched, cluster_logits

ds, seed = sys.argv[1], int(sys.argv[2])
if ds == "digits":
    d = load_digits()
    X, y = d.images, d.target
else:
    z = np.load("/work/shared/data/mnist_train10k.npz")
    p = np.random.default_rng(0).permutation(len(z["y"]))
    X, y = z["X"][p], z["y"][p]
t = time.time()
m = ClusterGAN(10, refine=0, random_state=seed).fit(X)
print("stage 1", round(time.time() - t), "s, acc", acc(y, m.labels_), flush=True)
data = m._prepare(X)
current = cluster_logits(m._method, m.nets_, data).argmax(dim=1)
e = batched(lambda n, x: n["E"].features(x), m.nets_, data)
d_ = batched(lambda n, x: n["D"].features(x), m.nets_, data)
z = lambda f: (f - f.mean(0)) / (f.std(0) + 1e-8)
for name, f in [("E trunk", e), ("D trunk", d_), ("E+D", torch.cat([z(e), z(d_)], 1))]:
    t = time.time()
    lab = refined_pseudo_labels(f, current, 10, seed + 1).numpy()
    ok = lab >= 0
    print(f"{name}: {tuple(f.shape)} confident {ok.mean():.3f} acc on confident {acc(y[ok], lab[ok]):.4f}"
          f" ({time.time() - t:.0f} s)", flush=True)
