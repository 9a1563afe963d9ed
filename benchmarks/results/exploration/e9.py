# Does another t-SNE perplexity make the t-SNE + GMM read-out of sklearn digits (pixels) better than
# the default 30? Seeds do not matter here: PCA initialisation and 10 mixture restarts give the
# same map and mixture for every seed. python e9.py
import numpy as np, sys
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.mixture import GaussianMixture

sys.path.insert(0, "src")
from ganclust.metrics import clustering_accuracy

X, y = load_digits(return_X_y=True)
X = X / 16.0 * 2 - 1
for perp in [10, 30, 50, 80]:
    accs = []
    for seed in range(3):
        r = PCA(50, random_state=seed).fit_transform(X)
        e = TSNE(2, init="pca", random_state=seed, perplexity=perp).fit_transform(r)
        g = GaussianMixture(10, n_init=10, random_state=seed).fit(e)
        accs.append(clustering_accuracy(y, g.predict(e)))
    print(perp, np.round(accs, 4), np.mean(accs), flush=True)
