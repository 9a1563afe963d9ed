import sys, os, time, json, numpy as np, torch
from sklearn.datasets import load_digits
import ganclust
from ganclust import ClusterGAN
from ganclust.metrics import clustering_accuracy as acc
from ganclust.manifold import refined_pseudo_labels
from ganclust.training import train, cluster_logits, batched

torch.set_num_threads(2)
ds, seed = sys.argv[1], int(sys.argv[2])
variants = json.loads(sys.argv[3])
epochs = int(sys.argv[4])
if ds == "digits":
    d = load_digits()
    X = d.images
    y = d.target
else:
    z = np.load("/work/shared/data/mnist_train10k.npz")
    p = np.random.default_rng(0).permutation(len(z["y"]))
    X = z["X"][p]
    y = z["y"][p]
path = f"/tmp/exp/{ds}_{seed}_r1.safetensors"
if not os.path.exists(path):
    m = ClusterGAN(10, random_state=seed, refine=0).fit(X)
    m.save(path)
data = ganclust.load(path)._prepare(X)
tpath = f"/tmp/exp/{ds}_{seed}_teacher.npy"
if not os.path.exists(tpath):
    m = ganclust.load(path)
    f = batched(m._method.features, m.nets_, data)
    cur = cluster_logits(m._method, m.nets_, data).argmax(1)
    np.save(tpath, refined_pseudo_labels(f, cur, 10, seed + 1).numpy())
pl = torch.from_numpy(np.load(tpath))
k = pl.numpy() >= 0
print("teacher conf acc", round(acc(y[k], pl.numpy()[k]), 4), "frac", k.mean().round(3), flush=True)
for v in variants:
    m = ganclust.load(path)
    print("r1 acc", round(acc(y, m.labels_), 4), v, flush=True)
    for key, val in v.items():
        if key not in ("lr", "ema"):
            setattr(m, key, val)
    cfg = m._train_config(seed + 1, torch.device("cpu"))
    cfg.max_epochs = epochs
    cfg.pseudo = pl
    if "lr" in v:
        cfg.learning_rate = v["lr"]
    cfg.ema = v.get("ema", 0.0)
    accs = []

    def cb(e):
        if e["event"] == "epoch":
            accs.append(
                round(acc(y, cluster_logits(m._method, m.nets_, data).argmax(1).numpy()), 4)
            )

    t = time.time()
    res = train(data, cfg, cb, nets=m.nets_)
    final = round(acc(y, cluster_logits(m._method, res.nets, data).argmax(1).numpy()), 4)
    print(" ", accs, "returned", final, round(time.time() - t), flush=True)
