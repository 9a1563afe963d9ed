"""The scikit-learn estimators: ``ClusterGAN``, ``InfoGAN`` and ``CatGAN``.

Each declares its parameters (the one source of truth for hyperparameters: the CLI's flags and a
saved model's settings are read from these signatures) and inherits everything else from
:class:`ganclust._base.GANClusterer`, overriding a hook only where the method differs: ClusterGAN
resolves ``encoder_fake_weight=None`` from the data, CatGAN generates by drawing and keeping.
"""

from __future__ import annotations

from ._base import ClusterCollapseWarning, GANClusterer

__all__ = ["CatGAN", "ClusterCollapseWarning", "ClusterGAN", "GANClusterer", "InfoGAN"]

# ClusterGAN's encoder_fake_weight=None, by data kind (see its docstring for the measurements):
# images with at least LARGE_IMAGE_PIXELS pixels get LARGE_IMAGE_ENCODER_FAKE_WEIGHT, everything
# else 1 (the published coupling)
LARGE_IMAGE_PIXELS = 28 * 28
LARGE_IMAGE_ENCODER_FAKE_WEIGHT = 0.01

_COMMON_DOC = """
    backbone : {"auto", "mlp", "conv", "seed-dcgan"}, default="auto"
        Network family: "conv" for images and "mlp" for vectors when "auto"; "seed-dcgan" is the
        seed article's DCGAN (images only).
    width : int or None, default=None
        Base width of the networks (hidden units for mlp, channels for conv); None picks the
        backbone's default.
    init : {"tsne", "kmeans", "random"}, default="tsne"
        How the clustering head starts: "tsne" trains it, beside the GAN, to also predict the
        confident clusters of a t-SNE + Gaussian mixture read-out of the training data (see
        :mod:`ganclust.manifold`); "kmeans" uses k-means instead (faster, weaker); "random" uses
        nothing, as the published method.
    init_weight : float, default=20.0
        Weight of those pseudo-labels' cross-entropy (ignored with ``init="random"``).
    refine : int, default=1
        Rounds of refinement after training: the t-SNE + Gaussian mixture read-out is redone on
        the features the network has learned (the trunk under the clustering head), renumbered to
        match the head, and training continues for a third of ``max_epochs`` (at least 1) on those
        pseudo-labels (see :func:`ganclust.manifold.refined_pseudo_labels`). 0 turns it off;
        ``init="random", refine=0, consistency=0, ema=0`` (and ``encoder_fake_weight=1`` for
        ClusterGAN) is the published method.
    ema : float, default=0.999
        Decay of the exponential moving average of every network's weights (G, D and E or Q),
        which is what training returns: the read-out of a single late snapshot moves by points
        of accuracy from epoch to epoch, the average's does not. 0 returns the last weights.
    consistency : float
        Weight of the clustering regulariser on real data: the negative mutual information between
        the clusters of two random augmentations of each sample (IIC), which rewards clusters that
        are stable and balanced. 0 turns it off (the published method).
    augment_strength : float, default=1.0
        Size of those augmentations: shifts, rotations and scaling for images, Gaussian noise and
        feature dropout for vectors.
    test_time_augmentation : bool, default=True
        For images, read each sample's cluster (``labels_``, ``predict``, ``predict_proba``) as
        the mean of the clustering head's probabilities over the image and four copies shifted by
        half the largest training shift (1 pixel on 28x28 at ``augment_strength=1``) left, right,
        up and down; the views are fixed, so the read-out stays deterministic. It costs five
        forward passes instead of one and no training. Vectors are always read alone.
    read_out_neighbors : int or None, default=None
        Read each sample's cluster (``labels_``, ``predict``, ``predict_proba``) as the mean of
        the clustering head's probabilities (with the shifted views, if on) of its
        ``read_out_neighbors`` nearest training samples, in the standardised features of the
        trunk under the head; a training sample counts among its own neighbors. The model then
        carries the features of up to 20,000 training samples (5 MB for 10,000 images with the
        conv backbone). 0 reads the head alone and keeps the model compact. None picks 5 for
        images and 0 for vectors: over 5 seeds the vote raised ClusterGAN on MNIST-10k from
        0.9696 to 0.9718 ACC (every seed), but lowered it on an overlapping 10-D Gaussian
        mixture from 0.9499 to 0.9485 (every seed). It acts at ``fit``: a model fitted without
        the vote has no training samples to vote.
    learning_rate : float or None, default=None
        Adam's step size for every network; None picks 2e-4 for "seed-dcgan" (the article's) and
        1e-3 otherwise.
    batch_size : int or None, default=None
        Samples per step; None picks 32 for "seed-dcgan" (the article's) and 64 otherwise.
    max_epochs : int or None, default=None
        Upper bound on passes over the data (before refinement); None picks enough for about 2000
        steps, between 15 and 100 epochs (15 for 10,000 samples, 72 for sklearn's digits).
    tol : float or None, default=1e-4
        Stop criterion (the seed article's "stop when the regulariser stops falling"): training
        stops when the monitored regulariser has not improved by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs. None trains for ``max_epochs``.
    n_iter_no_change : int, default=10
        Patience of the stop criterion, in epochs.
    n_init : int, default=1
        Number of initialisations to train; the one with the highest label-free stability score
        (see :mod:`ganclust.selection`) is kept. Runs that collapse lose to runs that do not,
        and if every run collapses up to 2 more are trained (see ``n_restarts_``).
    device : str, default="auto"
        "auto" (CUDA when available), "cpu", "cuda", "cuda:N" or "mps".
    random_state : int, RandomState instance or None, default=None
        Seeds everything; the same int gives identical labels on the CPU.
    verbose : int, default=0
        1 shows a progress bar with the losses and the ETA."""

_ATTRIBUTES_DOC = """
    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training sample. Clusters are numbered by size: 0 is the largest.
    cluster_sizes_ : ndarray of shape (n_clusters,)
        Training samples per cluster.
    history_ : list of dict
        Per epoch: mean losses and ``occupancy`` (fraction of samples in each internal cluster).
    n_iter_ : int
        Epochs run by the kept initialisation.
    init_scores_ : ndarray of shape (n_init + n_restarts_,)
        Label-free stability score of every initialisation.
    init_collapsed_ : ndarray of shape (n_init + n_restarts_,)
        Whether each initialisation collapsed (a cluster under a tenth of its fair share).
    best_init_ : int
        Index of the kept initialisation: the best score among the runs that did not collapse.
    n_restarts_ : int
        Extra initialisations trained because every run so far had collapsed (a cluster with
        under a tenth of its fair share of the training data); at most 2. If they collapse too,
        the best-scoring run is kept and a ``ClusterCollapseWarning`` names its small clusters.
    n_features_in_ : int
        Number of values per sample seen in ``fit``.
    nets_ : torch.nn.ModuleDict
        The trained networks.
    neighbor_vote_ : NeighborVote or None
        The training samples the read-out votes with (their standardised trunk features and
        cluster probabilities; see ``read_out_neighbors``), or None when it is 0."""


class ClusterGAN(GANClusterer):
    __doc__ = f"""Clustering with ClusterGAN (Mukherjee et al., AAAI 2019).

    The latent is ``z = (z_n, z_c)`` with Gaussian ``z_n`` and one-hot ``z_c``; an encoder E
    inverts the generator, and the cluster of a sample is the argmax of E's categorical part
    (averaged over shifted views of an image, see ``test_time_augmentation``, and over the
    sample's nearest training samples, see ``read_out_neighbors``).
    ``transform`` returns E's noise part followed by the cluster probabilities of ``predict_proba``.

    Parameters
    ----------
    n_clusters : int, default=10
        Number of clusters K.
    latent_dim : int or None, default=None
        Width of the Gaussian part ``z_n``; None picks 128 for "seed-dcgan" and 30 otherwise.
    sigma : float, default=0.1
        Standard deviation of ``z_n`` (small, so the one-hot part dominates).
    loss : {{"bce", "wgan-gp", "hinge"}}, default="bce"
        Adversarial loss.
    n_critic : int, default=1
        Discriminator updates per generator update.
    beta_n : float, default=10.0
        Weight of the inversion loss on ``z_n`` (MSE of E's noise part on generated samples).
    beta_c : float, default=10.0
        Weight of the inversion loss on ``z_c`` (cross-entropy of E's cluster part on generated
        samples). It holds G to generating each code as a cluster that E recognises, which is
        what ``sample(cluster=k)`` relies on.
    encoder_fake_weight : float or None, default=None
        Scales what E learns from the inversion loss (> 0); G always learns from it with
        ``beta_n, beta_c``. None picks 0.01 for images of 28x28 pixels or more and 1 (the
        published coupling) for smaller images and vectors. On MNIST-10k the encoder's read-out
        of real data is better when it learns little from G's imperfect samples: weights of
        ``beta_c`` 10, 1 and 0.1 for both networks gave 0.961, 0.965 and 0.968 ACC over 5
        seeds, but at 0.1 for both, samples of a requested cluster were read back as that
        cluster only 64% of the time; on sklearn's 8x8 digits and a 10-D Gaussian mixture the
        coupled 10 was ahead by 0.003 and 0.0015. See ``benchmarks/results/README.md``.
{_COMMON_DOC}
{_ATTRIBUTES_DOC}
    """

    _method_name = "clustergan"

    def __init__(
        self,
        n_clusters: int = 10,
        *,
        latent_dim: int | None = None,
        sigma: float = 0.1,
        backbone: str = "auto",
        width: int | None = None,
        init: str = "tsne",
        init_weight: float = 20.0,
        refine: int = 1,
        ema: float = 0.999,
        loss: str = "bce",
        n_critic: int = 1,
        beta_n: float = 10.0,
        beta_c: float = 10.0,
        encoder_fake_weight: float | None = None,
        consistency: float = 1.0,
        augment_strength: float = 1.0,
        test_time_augmentation: bool = True,
        read_out_neighbors: int | None = None,
        learning_rate: float | None = None,
        batch_size: int | None = None,
        max_epochs: int | None = None,
        tol: float | None = 1e-4,
        n_iter_no_change: int = 10,
        n_init: int = 1,
        device: str = "auto",
        random_state: int | None = None,
        verbose: int = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.sigma = sigma
        self.backbone = backbone
        self.width = width
        self.init = init
        self.init_weight = init_weight
        self.refine = refine
        self.ema = ema
        self.loss = loss
        self.n_critic = n_critic
        self.beta_n = beta_n
        self.beta_c = beta_c
        self.encoder_fake_weight = encoder_fake_weight
        self.consistency = consistency
        self.augment_strength = augment_strength
        self.test_time_augmentation = test_time_augmentation
        self.read_out_neighbors = read_out_neighbors
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.n_init = n_init
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _loss_weight(self, name: str) -> float:
        if name == "encoder_fake_weight" and self.encoder_fake_weight is None:
            shape = self.net_config_.data_shape
            large = self.preprocessor_.is_image and shape[-2] * shape[-1] >= LARGE_IMAGE_PIXELS
            return LARGE_IMAGE_ENCODER_FAKE_WEIGHT if large else 1.0
        return super()._loss_weight(name)


class InfoGAN(GANClusterer):
    __doc__ = f"""Clustering from the discriminator with InfoGAN (Chen et al., NeurIPS 2016).

    The latent holds noise, a K-way categorical code and ``n_continuous`` uniform codes. A Q head
    on the discriminator's trunk predicts the codes; the cluster of a sample is ``argmax Q(c|x)``
    (averaged as ``test_time_augmentation`` and ``read_out_neighbors`` say).
    ``transform`` returns the discriminator trunk's features.

    Parameters
    ----------
    n_clusters : int, default=10
        Number of clusters K (categories of the code).
    latent_dim : int or None, default=None
        Width of the noise; None picks 128 for "seed-dcgan" and 30 otherwise.
    n_continuous : int, default=2
        Number of continuous codes.
    loss : {{"bce", "wgan-gp", "hinge"}}, default="bce"
        Adversarial loss.
    n_critic : int, default=1
        Discriminator updates per generator update.
    info_weight : float, default=1.0
        Weight lambda of the mutual-information lower bound.
{_COMMON_DOC}
{_ATTRIBUTES_DOC}
    """

    _method_name = "infogan"

    def __init__(
        self,
        n_clusters: int = 10,
        *,
        latent_dim: int | None = None,
        n_continuous: int = 2,
        backbone: str = "auto",
        width: int | None = None,
        init: str = "tsne",
        init_weight: float = 20.0,
        refine: int = 1,
        ema: float = 0.999,
        loss: str = "bce",
        n_critic: int = 1,
        info_weight: float = 1.0,
        consistency: float = 1.0,
        augment_strength: float = 1.0,
        test_time_augmentation: bool = True,
        read_out_neighbors: int | None = None,
        learning_rate: float | None = None,
        batch_size: int | None = None,
        max_epochs: int | None = None,
        tol: float | None = 1e-4,
        n_iter_no_change: int = 10,
        n_init: int = 1,
        device: str = "auto",
        random_state: int | None = None,
        verbose: int = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.n_continuous = n_continuous
        self.backbone = backbone
        self.width = width
        self.init = init
        self.init_weight = init_weight
        self.refine = refine
        self.ema = ema
        self.loss = loss
        self.n_critic = n_critic
        self.info_weight = info_weight
        self.consistency = consistency
        self.augment_strength = augment_strength
        self.test_time_augmentation = test_time_augmentation
        self.read_out_neighbors = read_out_neighbors
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.n_init = n_init
        self.device = device
        self.random_state = random_state
        self.verbose = verbose


class CatGAN(GANClusterer):
    __doc__ = f"""Clustering from the discriminator with CatGAN (Springenberg, ICLR 2016).

    The discriminator is a K-way classifier trained to be certain and balanced on real data and
    uncertain on generated data; the cluster of a sample is ``argmax D(x)`` (averaged as
    ``test_time_augmentation`` and ``read_out_neighbors`` say). ``transform`` returns
    the discriminator trunk's features. The adversarial objective is CatGAN's entropy game, so
    there is no ``loss`` parameter.

    CatGAN's generator is not conditional. ``sample(n, cluster=k)`` therefore draws generator
    samples, keeps those that the discriminator assigns to ``k``, and draws again until it has
    ``n`` of them (it raises ``RuntimeError`` if ``k`` is almost never generated).

    Parameters
    ----------
    n_clusters : int, default=10
        Number of clusters K (outputs of the discriminator).
    latent_dim : int or None, default=None
        Width of the generator's noise; None picks 128 for "seed-dcgan" and 30 otherwise.
    n_critic : int, default=1
        Discriminator updates per generator update.
{_COMMON_DOC}
{_ATTRIBUTES_DOC}
    """

    _method_name = "catgan"

    def __init__(
        self,
        n_clusters: int = 10,
        *,
        latent_dim: int | None = None,
        backbone: str = "auto",
        width: int | None = None,
        init: str = "tsne",
        init_weight: float = 20.0,
        refine: int = 1,
        ema: float = 0.999,
        n_critic: int = 1,
        consistency: float = 1.0,
        augment_strength: float = 1.0,
        test_time_augmentation: bool = True,
        read_out_neighbors: int | None = None,
        learning_rate: float | None = None,
        batch_size: int | None = None,
        max_epochs: int | None = None,
        tol: float | None = 1e-4,
        n_iter_no_change: int = 10,
        n_init: int = 1,
        device: str = "auto",
        random_state: int | None = None,
        verbose: int = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.backbone = backbone
        self.width = width
        self.init = init
        self.init_weight = init_weight
        self.refine = refine
        self.ema = ema
        self.n_critic = n_critic
        self.consistency = consistency
        self.augment_strength = augment_strength
        self.test_time_augmentation = test_time_augmentation
        self.read_out_neighbors = read_out_neighbors
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.n_init = n_init
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _generate(self, n_samples, wanted, rng):
        return self._draw_and_keep(n_samples, wanted, rng)


ESTIMATORS: dict[str, type[GANClusterer]] = {
    "clustergan": ClusterGAN,
    "infogan": InfoGAN,
    "catgan": CatGAN,
}
