import sys, time, numpy as np, torch
from sklearn.datasets import load_digits
from ganclust import ClusterGAN
from ganclust.metrics import clustering_accuracy as acc
from ganclust.manifold import pseudo_labels

torch.set_num_threads(2)
ds = sys.argv[1]
seed = int(sys.argv[2])
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
m = ClusterGAN(10, random_state=seed, verbose=0).fit(X)
print("fit", time.time() - t, "acc", acc(y, m.labels_), flush=True)
data = m._on_device(m._prepare(X))
E = m.nets_["E"]
with torch.no_grad():
    feats = torch.cat([E.features(c) for c in data.split(1024)])
    out = torch.cat([torch.cat(E(c), 1) for c in data.split(1024)])
for name, f in [("trunk", feats), ("head_out", out), ("embed", torch.from_numpy(m.transform(X)))]:
    t = time.time()
    f = (f - f.mean(0)) / (f.std(0) + 1e-6)
    lab = pseudo_labels(f, 10, "tsne", seed, min_confidence=0.0)
    print(name, f.shape, "tsne-gmm acc", acc(y, lab.numpy()), time.time() - t, flush=True)
