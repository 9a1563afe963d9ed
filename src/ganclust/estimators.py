"""The scikit-learn estimators ``ClusterGAN``, ``InfoGAN`` and ``CatGAN``, and :func:`load`.

Each declares its parameters, the one source of truth for hyperparameters: the CLI's flags and a
saved model's settings are read from these signatures, and :mod:`ganclust._params` constrains
each of them. Everything else is inherited from :class:`ganclust._base.GANClusterer`.
"""

from __future__ import annotations

import os
from typing import Any

from . import _checkpoint, _state
from ._base import GANClusterer
from ._fit_warnings import (
    ClusterCollapseWarning,
    ClusterCountWarning,
    ClusterQualityWarning,
    DivergenceWarning,
)
from ._params import PARAMETERS, Rule

__all__ = ["CatGAN", "ClusterCollapseWarning", "ClusterCountWarning", "ClusterGAN",
           "ClusterQualityWarning", "DivergenceWarning", "GANClusterer", "InfoGAN",
           "load"]  # fmt: skip


def _constraints(*names: str) -> dict[str, Rule]:
    return {name: PARAMETERS[name] for name in names}


_COMMON = (
    "max_clusters",
    "backbone",
    "adversarial",
    "recipe",
    "options",
    "max_epochs",
    "batch_size",
    "learning_rate",
    "n_init",
    "device",
    "random_state",
    "verbose",
)

_COMMON_DOC = """
    max_clusters : int, default=20
        The largest K that ``n_clusters="auto"`` considers (capped at the number of samples
        less one); ignored when K is given.
    backbone : {"auto", "mlp", "conv", "dcgan"}, default="auto"
        Network family: "conv" for images and "mlp" for vectors when "auto"; "dcgan" is the
        DCGAN of the article the project started from (images only).
    adversarial : bool, default=True
        False trains only the clustering head, on real data, with the same pseudo-labels,
        consistency, refinement and read-out: faster, and the model has no generator to sample.
    recipe : {"default", "published"}, default="default"
        "default" is ganclust's pipeline; "published" turns off every step ganclust adds
        (pseudo-labels, consistency, refinement, weight averaging, views and vote) to train the
        method as its paper does (for ClusterGAN: WGAN-GP, 5 critic steps, learning rate 1e-4).
    options : dict or None, default=None
        Research options, each overriding the recipe's value; see :data:`OPTIONS_DOC` and
        ``docs/method.md``. Unknown keys and bad values are refused.
    max_epochs : int or None, default=None
        Passes over the data before refinement; None picks enough for about 1000 steps, between
        6 and 100 epochs (7 for 10,000 samples, 36 for sklearn's digits).
    batch_size : int or None, default=None
        Samples per step; None picks 32 for "dcgan" and 64 otherwise.
    learning_rate : float or None, default=None
        Adam's step size for every network; None picks the recipe's and backbone's: 1e-3 by
        default, 2e-4 for "dcgan", 1e-4 for ClusterGAN's published recipe.
    n_init : int, default=1
        Initialisations to train; the one its refinement's t-SNE maps agree with most (the
        highest mean ``cluster_quality_``) is kept, the stability score breaking ties; no label
        is used. From ``n_init=3``, the kept run is then trained one refinement-length round
        more on every run's consensus (two samples agree as often as runs put them together),
        which outvotes a merge or split that only some runs make. Runs that collapse are not
        kept where one does not, but still vote in the consensus; if every run collapses, up
        to 2 more are trained (see ``n_restarts_``).
    device : str, default="auto"
        "auto" (CUDA when available), "cpu", "cuda", "cuda:N" or "mps".
    random_state : int, RandomState instance or None, default=None
        Seeds everything; the same int gives identical labels on the CPU at a given thread count.
    verbose : int, default=0
        1 shows a progress bar with the losses and the ETA."""

OPTIONS_DOC = """Research options (``options={...}``) and their defaults under the "default" recipe:

- ``init`` ("auto"): pseudo-labels the clustering head starts from: "tsne" (t-SNE + Gaussian
  mixture of the data), "auto" (on vectors that a K-component Gaussian mixture describes, that
  mixture's components; on images of 16 pixels a side or more, "tsne" by distances that ignore
  rotations of up to 12 degrees; everywhere else "tsne"), "autoencoder" (the same of a briefly
  trained autoencoder's code: better on some wide vectors, worse on others; docs/benchmarks.md),
  "kmeans" (faster, weaker) or "random" (none, as the papers).
- ``init_weight`` (20.0): weight of the pseudo-labels' cross-entropy.
- ``refine`` (1): rounds of refinement, each redoing the pseudo-labels on the learned features and
  training a third of ``max_epochs`` more.
- ``ema`` (0.999): decay of the moving average of the weights that training returns (0: none).
- ``consistency`` (1.0): weight of the mutual information between the clusters of two augmented
  views of each sample (IIC).
- ``augment_strength`` (1.0): size of those augmentations.
- ``width`` (None: 256 for mlp, 32 for conv, 64 for dcgan): base width of the networks.
- ``test_time_augmentation`` (True): read images with four fixed 1-pixel-scale shifted views.
- ``read_out_neighbors`` (None: 5 for images, 0 for vectors): average the read-out of this many
  nearest training samples in the trunk's features; the model then keeps up to 20,000 of them.
- ``tol`` (1e-4) and ``n_iter_no_change`` (10): stop when the monitored loss has not improved by
  ``tol`` for that many epochs; ``tol=None`` trains for ``max_epochs``.
- ``loss`` ("bce"; ClusterGAN, InfoGAN): adversarial loss, "bce", "wgan-gp" or "hinge".
- ``n_critic`` (1): discriminator updates per generator update.
- ``encoder_fake_weight`` (None: 0.01 on images of 28x28 or more, else 1; ClusterGAN): scales what
  the encoder learns from generated samples; the generator always learns with ``beta_n, beta_c``.
- ``precision`` ("fp32"): "bf16" computes the training losses under bf16 autocast, faster where
  the CPU or GPU has bf16 arithmetic; the weights, the optimisers and the read-out stay fp32.
"""

_ATTRIBUTES_DOC = """
    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training sample. Clusters are numbered by size: 0 is the largest.
    cluster_sizes_ : ndarray of shape (n_clusters,)
        Training samples per cluster.
    n_clusters_ : int
        The number of clusters K: ``n_clusters``, or the estimate of ``n_clusters="auto"``.
    n_clusters_scores_ : dict of int to float or None
        With ``n_clusters="auto"``, each candidate K's score, higher is better. On vectors
        that a Gaussian mixture describes, minus the BIC per sample of the mixture at K, the
        best of which is chosen. Otherwise the mean silhouette on the t-SNE map of the learned
        features (the second look; the data's map where there was none): the smallest K within
        one standard error of its difference from the best is chosen, and on images lowered by
        the clusters that a rotation links into one. Every look, and the mixture's verdict, is
        in ``state_.n_clusters_estimate``. Where the looks named K two or more apart, a
        :class:`ClusterCountWarning` says the estimate is unsure. None when K was given.
    settings_ : Settings
        Every setting of the fit with each automatic value decided, and the seed drawn.
    history_ : list of dict
        Per epoch: mean losses and ``occupancy`` (fraction of samples in each internal cluster).
    n_iter_ : int
        Epochs run by the kept initialisation.
    init_scores_ : ndarray of shape (n_init + n_restarts_,)
        Label-free stability score of every initialisation.
    init_collapsed_ : ndarray of shape (n_init + n_restarts_,)
        Whether each initialisation collapsed (a cluster under a tenth of its fair share).
    best_init_ : int
        Index of the kept initialisation (see ``n_init``).
    cluster_quality_ : ndarray of shape (n_clusters,)
        Per cluster, the mean fraction of the refinement's t-SNE maps that put its training
        samples in it: 1 when every map agrees, lower where the maps merge it with another
        cluster or split it. Below 0.75 a :class:`ClusterQualityWarning` names it. NaN without
        refinement (``refine=0``) or for an empty cluster.
    n_restarts_ : int
        Extra initialisations trained because every run so far had collapsed; at most 2.
    n_features_in_ : int
        Number of values per sample seen in ``fit``.
    nets_ : torch.nn.ModuleDict
        The trained networks.
    phase_seconds_ : dict of str to float
        Wall-clock seconds of each phase of the fit (pseudo-labels, training, refinement,
        scoring, read-out), summed over the initialisations.
    readout_ : ReadOut
        How a sample's cluster is read: the shifted views, the neighbor vote, the cluster order."""


class ClusterGAN(GANClusterer):
    __doc__ = f"""Clustering with ClusterGAN (Mukherjee et al., AAAI 2019).

    The latent is ``z = (z_n, z_c)`` with Gaussian ``z_n`` and one-hot ``z_c``; an encoder E
    inverts the generator, and the cluster of a sample is the argmax of E's categorical part.
    ``transform`` returns E's noise part followed by the cluster probabilities of ``predict_proba``.

    Parameters
    ----------
    n_clusters : int or "auto", default=10
        Number of clusters K. "auto" estimates K from the data before training, up to
        ``max_clusters`` (see ``n_clusters_`` and ``docs/method.md``).
    latent_dim : int or None, default=None
        Width of the Gaussian part ``z_n``; None picks 128 for "dcgan" and 30 otherwise.
    sigma : float, default=0.1
        Standard deviation of ``z_n`` (small, so the one-hot part dominates).
    beta_n : float, default=10.0
        Weight of the inversion loss on ``z_n`` (MSE of E's noise part on generated samples).
    beta_c : float, default=10.0
        Weight of the inversion loss on ``z_c`` (cross-entropy of E's cluster part on generated
        samples); it holds G to generating each code as a cluster E recognises.
{_COMMON_DOC}
{_ATTRIBUTES_DOC}
    """

    _method_name = "clustergan"
    _parameter_constraints = _constraints(
        "n_clusters", "latent_dim", "sigma", "beta_n", "beta_c", *_COMMON
    )

    def __init__(
        self,
        n_clusters: int | str = 10,
        *,
        latent_dim: int | None = None,
        sigma: float = 0.1,
        beta_n: float = 10.0,
        beta_c: float = 10.0,
        max_clusters: int = 20,
        backbone: str = "auto",
        adversarial: bool = True,
        recipe: str = "default",
        options: dict[str, Any] | None = None,
        max_epochs: int | None = None,
        batch_size: int | None = None,
        learning_rate: float | None = None,
        n_init: int = 1,
        device: str = "auto",
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.sigma = sigma
        self.beta_n = beta_n
        self.beta_c = beta_c
        self.max_clusters = max_clusters
        self.backbone = backbone
        self.adversarial = adversarial
        self.recipe = recipe
        self.options = options
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.n_init = n_init
        self.device = device
        self.random_state = random_state
        self.verbose = verbose


class InfoGAN(GANClusterer):
    __doc__ = f"""Clustering from the discriminator with InfoGAN (Chen et al., NeurIPS 2016).

    The latent holds noise, a K-way categorical code and ``n_continuous`` uniform codes. A Q head
    on the discriminator's trunk predicts the codes; the cluster of a sample is ``argmax Q(c|x)``.
    ``transform`` returns the discriminator trunk's features.

    Parameters
    ----------
    n_clusters : int or "auto", default=10
        Number of clusters K (categories of the code). "auto" estimates K from the data
        before training, up to ``max_clusters`` (see ``n_clusters_`` and ``docs/method.md``).
    latent_dim : int or None, default=None
        Width of the noise; None picks 128 for "dcgan" and 30 otherwise.
    n_continuous : int, default=2
        Number of continuous codes.
    info_weight : float, default=1.0
        Weight lambda of the mutual-information lower bound.
{_COMMON_DOC}
{_ATTRIBUTES_DOC}
    """

    _method_name = "infogan"
    _parameter_constraints = _constraints(
        "n_clusters", "latent_dim", "n_continuous", "info_weight", *_COMMON
    )

    def __init__(
        self,
        n_clusters: int | str = 10,
        *,
        latent_dim: int | None = None,
        n_continuous: int = 2,
        info_weight: float = 1.0,
        max_clusters: int = 20,
        backbone: str = "auto",
        adversarial: bool = True,
        recipe: str = "default",
        options: dict[str, Any] | None = None,
        max_epochs: int | None = None,
        batch_size: int | None = None,
        learning_rate: float | None = None,
        n_init: int = 1,
        device: str = "auto",
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.n_continuous = n_continuous
        self.info_weight = info_weight
        self.max_clusters = max_clusters
        self.backbone = backbone
        self.adversarial = adversarial
        self.recipe = recipe
        self.options = options
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.n_init = n_init
        self.device = device
        self.random_state = random_state
        self.verbose = verbose


class CatGAN(GANClusterer):
    __doc__ = f"""Clustering from the discriminator with CatGAN (Springenberg, ICLR 2016).

    The discriminator is a K-way classifier trained to be certain and balanced on real data and
    uncertain on generated data; the cluster of a sample is ``argmax D(x)``. ``transform``
    returns the discriminator trunk's features. The adversarial objective is CatGAN's entropy
    game, so the ``loss`` option does not apply.

    CatGAN's generator is not conditional. ``sample(n, cluster=k)`` therefore draws generator
    samples, keeps those that the read-out assigns to ``k``, and draws again until it has ``n``
    of them (it raises ``RuntimeError`` if ``k`` is almost never generated).

    Parameters
    ----------
    n_clusters : int or "auto", default=10
        Number of clusters K (outputs of the discriminator). "auto" estimates K from the
        data before training, up to ``max_clusters`` (see ``n_clusters_`` and ``docs/method.md``).
    latent_dim : int or None, default=None
        Width of the generator's noise; None picks 128 for "dcgan" and 30 otherwise.
{_COMMON_DOC}
{_ATTRIBUTES_DOC}
    """

    _method_name = "catgan"
    _parameter_constraints = _constraints("n_clusters", "latent_dim", *_COMMON)

    def __init__(
        self,
        n_clusters: int | str = 10,
        *,
        latent_dim: int | None = None,
        max_clusters: int = 20,
        backbone: str = "auto",
        adversarial: bool = True,
        recipe: str = "default",
        options: dict[str, Any] | None = None,
        max_epochs: int | None = None,
        batch_size: int | None = None,
        learning_rate: float | None = None,
        n_init: int = 1,
        device: str = "auto",
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.max_clusters = max_clusters
        self.backbone = backbone
        self.adversarial = adversarial
        self.recipe = recipe
        self.options = options
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.n_init = n_init
        self.device = device
        self.random_state = random_state
        self.verbose = verbose


ESTIMATORS: dict[str, type[GANClusterer]] = {
    "clustergan": ClusterGAN,
    "infogan": InfoGAN,
    "catgan": CatGAN,
}


def load(path: str | os.PathLike[str]) -> GANClusterer:
    """Load a model saved with ``save``.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :meth:`ganclust.ClusterGAN.save` (or InfoGAN's, CatGAN's), or a run
        folder written by ``ganclust fit`` (its ``model.safetensors`` is read).

    Returns
    -------
    ClusterGAN, InfoGAN or CatGAN
        The fitted estimator; it predicts exactly what the saved one did.

    Raises
    ------
    ValueError
        Naming the file and the problem, if it is missing, is not a safetensors file, is not a
        ganclust model, or holds values that do not fit together.
    """
    meta, tensors = _checkpoint.read_model(path)
    where = str(_checkpoint.model_path(path))
    method, params, state = _state.from_file(meta, tensors, where)
    try:
        model = ESTIMATORS[method](**params)
    except TypeError as exc:
        raise _checkpoint.ModelFileError(f"{where}: not a usable ganclust model ({exc})") from None
    model._set_state(state)
    return model
