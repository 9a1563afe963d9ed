# Does a smaller beta_c cost ClusterGAN its cluster-conditional generation? Fit with each beta_c,
# then draw 1000 samples of every cluster and check (a) that the model reads them back as that
# cluster (agreement) and (b) what a 5-NN classifier fitted on the labelled real data calls them
# (evaluation only; no label reaches the fit): the fraction of the majority class per cluster and
# whether that class is the one Hungarian matching gives the cluster on real data.
# python e8.py SEED SPEC [SPEC ...], SPEC = name=value[,name=value...] or 'defaults'; a bare
# number is a beta_c (how the first log line was produced)
import sys, time, numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.neighbors import KNeighborsClassifier
from ganclust import ClusterGAN
from ganclust.metrics import clustering_accuracy as acc

seed = int(sys.argv[1])


def parse(spec):
    if spec == "defaults":
        return {}
    if "=" not in spec:
        return {"beta_c": float(spec)}
    return {k: float(v) for k, v in (kv.split("=") for kv in spec.split(","))}


specs = [(spec, parse(spec)) for spec in sys.argv[2:]]
z = np.load("/work/shared/data/mnist_train10k.npz")
p = np.random.default_rng(0).permutation(len(z["y"]))
X, y = z["X"][p], z["y"][p]
knn = KNeighborsClassifier(5).fit(X.reshape(len(X), -1).astype(np.float32), y)
for spec, params in specs:
    t = time.time()
    m = ClusterGAN(10, random_state=seed, **params).fit(X)
    overlap = np.zeros((10, 10))
    np.add.at(overlap, (m.labels_, y), 1)
    rows, cols = linear_sum_assignment(-overlap)
    matched = dict(zip(rows, cols))
    agree, purity, right = [], [], []
    for k in range(10):
        fake, _ = m.sample(1000, cluster=k, random_state=k)
        agree.append((m.predict(fake) == k).mean())
        called = np.bincount(knn.predict(fake.reshape(1000, -1).astype(np.float32)), minlength=10)
        purity.append(called.max() / 1000)
        right.append(called.argmax() == matched[k])
    print(f"{spec}: acc {acc(y, m.labels_):.4f} ({time.time() - t:.0f} s); "
          f"agreement {np.mean(agree):.3f} (min {np.min(agree):.3f}); "
          f"5-NN purity {np.mean(purity):.3f} (min {np.min(purity):.3f}); "
          f"majority class = matched class in {int(np.sum(right))}/10 clusters", flush=True)
