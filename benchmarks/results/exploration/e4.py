import sys, time, json, numpy as np, torch
from sklearn.datasets import load_digits
from ganclust import ClusterGAN, InfoGAN, CatGAN
from ganclust.metrics import clustering_accuracy as acc
from ganclust.manifold import pseudo_labels
from ganclust.training import train, cluster_logits

torch.set_num_threads(2)
ds = sys.argv[1]
seed = int(sys.argv[2])
kw = json.loads(sys.argv[3])
r2 = int(sys.argv[4])
rounds = int(sys.argv[5])
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
t = time.time()
m = cls(10, random_state=seed, verbose=0, **kw).fit(X)
print("round1", round(acc(y, m.labels_), 4), round(time.time() - t, 1), flush=True)
data = m._prepare(X)
net = m.nets_["E"] if "E" in m.nets_ else m.nets_["D"]
for r in range(rounds):
    t = time.time()
    with torch.no_grad():
        m.nets_.eval()
        f = torch.cat([net.features(c) for c in data.split(1024)])
    f = (f - f.mean(0)) / (f.std(0) + 1e-6)
    pl = pseudo_labels(f, 10, "tsne", seed)
    from scipy.optimize import linear_sum_assignment

    cur = cluster_logits(m._method, m.nets_, data).argmax(1).numpy()
    k0 = pl.numpy() >= 0
    C = np.zeros((10, 10))
    np.add.at(C, (pl.numpy()[k0], cur[k0]), 1)
    r_, c_ = linear_sum_assignment(-C)
    mp = np.empty(10, int)
    mp[r_] = c_
    pl = torch.where(pl >= 0, torch.from_numpy(mp)[pl.clamp(min=0)], pl)
    k = pl.numpy() >= 0
    print(
        " teacher acc(conf)",
        round(acc(y[k], pl.numpy()[k]), 4),
        "frac",
        k.mean().round(3),
        round(time.time() - t, 1),
        flush=True,
    )
    cfg = m._train_config(seed + 1 + r, torch.device("cpu"))
    cfg.max_epochs = r2
    cfg.pseudo = pl
    res = train(data, cfg, None, nets=m.nets_)
    lab = cluster_logits(m._method, m.nets_, data).argmax(1).numpy()
    print(" round", r + 2, "head acc", round(acc(y, lab), 4), round(time.time() - t, 1), flush=True)
