import sys, time, json, numpy as np, torch
from sklearn.datasets import load_digits
from ganclust import ClusterGAN, InfoGAN, CatGAN
from ganclust.metrics import clustering_accuracy as acc

torch.set_num_threads(2)
ds = sys.argv[1]
seeds = [int(s) for s in sys.argv[2].split(",")]
kw = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
cls = {"clustergan": ClusterGAN, "infogan": InfoGAN, "catgan": CatGAN}[
    kw.pop("method", "clustergan")
]
if ds == "digits":
    d = load_digits()
    X = d.images
    y = d.target
else:
    z = np.load("/work/shared/data/mnist_train10k.npz")
    p = np.random.default_rng(0).permutation(len(z["y"]))
    X = z["X"][p]
    y = z["y"][p]
res = []
for s in seeds:
    t = time.time()
    m = cls(10, random_state=s, verbose=0, **kw).fit(X)
    a = acc(y, m.labels_)
    res.append(a)
    print(
        s,
        round(a, 4),
        round(time.time() - t, 1),
        "occ",
        np.bincount(m.labels_, minlength=10),
        flush=True,
    )
print(sys.argv[3:], "mean", np.mean(res).round(4), flush=True)
