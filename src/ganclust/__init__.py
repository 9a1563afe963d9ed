"""ganclust: unsupervised clustering with generative adversarial networks.

Three methods behind one scikit-learn API: :class:`ClusterGAN` (an encoder inverts the
generator), :class:`InfoGAN` and :class:`CatGAN` (the cluster is read from the discriminator).
For notebooks, :func:`plot_clusters` and :func:`plot_samples` return matplotlib figures.

Every name is imported when first used, so ``import ganclust`` is quick: torch is imported with
the estimators, matplotlib with the plots, and the command line's ``--help`` needs neither.
"""

from ._version import __version__

__all__ = [
    "CatGAN",
    "ClusterCollapseWarning",
    "ClusterCountWarning",
    "ClusterGAN",
    "ClusterQualityWarning",
    "DivergenceWarning",
    "InfoGAN",
    "__version__",
    "ari",
    "clustering_accuracy",
    "evaluate",
    "load",
    "load_dataset",
    "nmi",
    "plot_clusters",
    "plot_samples",
    "purity",
]

# where each public name lives
_ESTIMATORS = (
    "CatGAN",
    "ClusterCollapseWarning",
    "ClusterCountWarning",
    "ClusterGAN",
    "ClusterQualityWarning",
    "DivergenceWarning",
    "InfoGAN",
)
_METRICS = ("ari", "clustering_accuracy", "evaluate", "nmi", "purity")


def __getattr__(name: str):
    if name in _ESTIMATORS or name == "load":
        from . import estimators as module
    elif name in _METRICS:
        from . import metrics as module
    elif name == "load_dataset":  # urllib and Pillow
        from . import datasets as module
    elif name in ("plot_clusters", "plot_samples"):  # matplotlib
        from . import plots as module
    else:
        raise AttributeError(f"module 'ganclust' has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value  # once found, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
