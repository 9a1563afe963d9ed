"""ganclust: unsupervised clustering with generative adversarial networks.

Three methods behind one scikit-learn API: :class:`ClusterGAN` (an encoder inverts the
generator), :class:`InfoGAN` and :class:`CatGAN` (the cluster is read from the discriminator).
"""

from ._version import __version__
from .estimators import CatGAN, ClusterCollapseWarning, ClusterGAN, DivergenceWarning, InfoGAN, load
from .metrics import ari, clustering_accuracy, evaluate, nmi, purity

__all__ = [
    "CatGAN",
    "ClusterCollapseWarning",
    "ClusterGAN",
    "DivergenceWarning",
    "InfoGAN",
    "__version__",
    "ari",
    "clustering_accuracy",
    "evaluate",
    "load",
    "load_dataset",
    "nmi",
    "purity",
]


def __getattr__(name: str):
    # datasets pulls in urllib and Pillow; import it only when asked for
    if name == "load_dataset":
        from .datasets import load_dataset

        return load_dataset
    raise AttributeError(f"module 'ganclust' has no attribute {name!r}")
