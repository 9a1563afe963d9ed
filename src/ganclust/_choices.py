"""The choice lists of the parameter table, as plain data (a leaf: imports nothing).

They live here, apart from the modules that act on them, so that the command line can build its
parser, and print ``--help``, without importing torch.
"""

#: network families (``backbone``); see :mod:`ganclust.nets`
BACKBONES = ("auto", "mlp", "conv", "dcgan")
#: pseudo-label initialisations (the ``init`` option); see :mod:`ganclust.pseudo_labels`
INITS = ("auto", "tsne", "autoencoder", "kmeans", "random")
#: float types of the training steps (the ``precision`` option); see :mod:`ganclust.training`
PRECISIONS = ("fp32", "bf16")
#: how vectors are scaled (the ``feature_scaling`` option); see :mod:`ganclust.preprocess`
FEATURE_SCALINGS = ("auto", "per-feature", "shared")
