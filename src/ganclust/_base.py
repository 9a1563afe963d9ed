"""What every ganclust estimator shares: validation, training runs, read-out, sampling, saving.

The concrete estimators in :mod:`ganclust.estimators` only declare their parameters.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import _config
from ._neighbors import NeighborVote
from ._sampling import draw_and_keep, wanted_clusters
from .latent import LatentSpec, sample_latent
from .manifold import pseudo_labels, refined_pseudo_labels
from .methods import ESTIMATOR_WEIGHTS, METHODS, Method, NetConfig, Weights
from .nets import resolve_backbone
from .preprocessing import Preprocessor, check_sample_shape, input_dtype_of
from .selection import stability_score
from .training import TrainConfig, TrainResult, batched, cluster_logits, cluster_proba, train

# a cluster holding less than this fraction of its fair share (1/K) counts as collapsed
COLLAPSE_FRACTION = 0.1
DEFAULT_WIDTH = {"mlp": 256, "conv": 32, "seed-dcgan": 64}
# what ``None`` means for latent_dim and batch_size: the seed article's values for its backbone
AUTO_SETTINGS = {
    "seed-dcgan": {"latent_dim": 128, "batch_size": 32, "learning_rate": 2e-4},
    "default": {"latent_dim": 30, "batch_size": 64, "learning_rate": 1e-3},
}


# max_epochs=None trains for about this many steps, within these bounds on the epochs: small
# data sets need many epochs (digits: 0.926 ACC after 15, 0.944 after 60), large ones few
AUTO_STEPS = 2000
AUTO_EPOCHS = (15, 100)
# extra initialisations trained, one at a time, while every run so far has collapsed
COLLAPSE_RESTARTS = 2
# what read_out_neighbors=None means for images (vectors read the head alone)
DEFAULT_READ_OUT_NEIGHBORS = 5


def _small_clusters(sizes: np.ndarray) -> np.ndarray:
    """Indices of the clusters holding under COLLAPSE_FRACTION of their fair share."""
    return np.flatnonzero(sizes < COLLAPSE_FRACTION * sizes.sum() / len(sizes))


@dataclass
class _Run:
    """One trained initialisation and what model selection needs to know of it."""

    score: float
    index: int
    result: TrainResult
    collapsed: bool
    # (N, K) cluster probabilities of the training data, on the CPU, for the kept run's labels
    proba: torch.Tensor


class ClusterCollapseWarning(UserWarning):
    """A fitted model leaves one or more clusters empty or nearly empty."""


class GANClusterer(ClusterMixin, TransformerMixin, BaseEstimator):
    """Behaviour shared by every ganclust estimator; use a concrete subclass."""

    _method_name = ""
    # the adversarial loss for estimators that have no ``loss`` parameter
    _fixed_loss = "bce"

    @property
    def _method(self) -> Method:
        return METHODS[self._method_name]

    # ---------------------------------------------------------------- fitting
    def fit(self, X: Any, y: Any = None) -> GANClusterer:
        """Train the GAN on ``X`` and assign every sample to a cluster.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W) or (n_samples, C, H, W)
            Feature vectors or images (uint8 or float). No NaN or inf.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self
            The fitted estimator.
        """
        dtype = input_dtype_of(X)
        X = self._validate(X, reset=True)
        params = self.get_params()
        _config.check_common(params, n_samples=X.shape[0])
        device = _config.resolve_device(self.device)
        self.preprocessor_ = Preprocessor.fit(X, dtype)
        data = self.preprocessor_.to_tensor(X)
        self.net_config_ = self._net_config(self.preprocessor_.data_shape)
        # one seed per possible run (n_init, then restarts after collapse) and one for selection
        seeds = check_random_state(self.random_state).randint(
            0, 2**31 - 1, size=self.n_init + COLLAPSE_RESTARTS + 1
        )
        runs: list[_Run] = []
        for i, seed in enumerate(seeds[:-1]):
            if i >= self.n_init and any(not run.collapsed for run in runs):
                break
            runs.append(self._train_run(data, int(seed), int(seeds[-1]), device, i))
        self.init_scores_ = np.array([run.score for run in runs])
        self.init_collapsed_ = np.array([run.collapsed for run in runs])
        self.n_restarts_ = len(runs) - self.n_init
        # a run that leaves a cluster (nearly) empty loses to any that does not, whatever its score
        best = max(runs, key=lambda run: (not run.collapsed, run.score, -run.index))
        self.best_init_ = best.index
        self.nets_ = best.result.nets
        self.history_ = best.result.history
        self.n_iter_ = len(self.history_)
        self.stopped_early_ = best.result.stopped_early
        proba = self._fit_neighbor_vote(data, best.proba, int(seeds[-1]))
        self._set_cluster_order(proba)
        self.labels_ = self._public_proba(proba).argmax(dim=1).numpy().astype(np.int64)
        self._warn_collapse()
        return self

    def _train_run(
        self, data: torch.Tensor, seed: int, selection_seed: int, device: torch.device, index: int
    ) -> _Run:
        """Train one initialisation: the GAN with the first pseudo-labels, then the refinements."""
        method = self._method
        config = self._train_config(seed, device, len(data))
        refine_epochs = max(1, config.max_epochs // 3)
        progress = self._callback(index, config.max_epochs + self.refine * refine_epochs)
        config.pseudo = pseudo_labels(data, self.n_clusters, self.init, seed)
        result = train(data, config, progress)
        on_device = data.to(device)
        for round_ in range(1, self.refine + 1):
            features = batched(method.features, result.nets, on_device)
            current = cluster_logits(method, result.nets, on_device).argmax(dim=1)
            config.pseudo = refined_pseudo_labels(features, current, self.n_clusters, seed + round_)
            config.max_epochs = refine_epochs
            more = train(data, config, progress, nets=result.nets)
            result.history.extend({**row, "refine": round_} for row in more.history)
            result.stopped_early = more.stopped_early
        for epoch, row in enumerate(result.history, start=1):
            row["epoch"] = epoch
        if progress is not None:
            progress.close()
        # the score runs the networks, so it needs the data on their device (CUDA included)
        strength = self._augment_strength()
        score = stability_score(method, result.nets, on_device, selection_seed, strength)
        proba = cluster_proba(method, result.nets, on_device, self._view_strength()).cpu()
        sizes = torch.bincount(proba.argmax(dim=1), minlength=self.n_clusters).numpy()
        collapsed = len(_small_clusters(sizes)) > 0
        return _Run(score=score, index=index, result=result, collapsed=collapsed, proba=proba)

    def _fit_neighbor_vote(
        self, data: torch.Tensor, proba: torch.Tensor, seed: int
    ) -> torch.Tensor:
        """Keep the training samples for the neighbor vote; return the training data's read-out."""
        self.neighbor_vote_ = None
        n_neighbors = self._read_out_neighbors()
        if not n_neighbors:
            return proba
        features = batched(self._method.features, self.nets_, self._on_device(data))
        self.neighbor_vote_ = NeighborVote.fit(features, proba, np.random.RandomState(seed))
        # the same call as predict's, so labels_ is predict's answer on the training data
        return self.neighbor_vote_.vote(features, n_neighbors)

    def _read_out_neighbors(self) -> int:
        # None: the vote on images, where it was measured to help, and not on vectors, where it
        # was measured to hurt (see the parameter's docstring)
        if self.read_out_neighbors is None:
            return DEFAULT_READ_OUT_NEIGHBORS if self.preprocessor_.is_image else 0
        return int(self.read_out_neighbors)

    def _validate(self, X: Any, *, reset: bool) -> np.ndarray:
        ndim = X.ndim if hasattr(X, "ndim") else np.asarray(X).ndim
        if ndim in (3, 4):
            X = check_array(X, allow_nd=True, dtype="numeric", input_name="X")
            if reset:
                self.n_features_in_ = int(np.prod(X.shape[1:]))
        elif ndim > 4:
            raise ValueError(
                f"X must be N x D vectors, N x H x W or N x C x H x W images; got {ndim} dimensions"
            )
        else:
            X = validate_data(self, X, reset=reset, dtype="numeric")
        if X.dtype.kind not in "fiu":
            X = X.astype(np.float64)
        if not reset:
            check_sample_shape(X, self.preprocessor_.input_shape, type(self).__name__)
        return X

    def _auto(self, name: str, backbone: str) -> Any:
        value = getattr(self, name)
        if value is None:
            return AUTO_SETTINGS.get(backbone, AUTO_SETTINGS["default"])[name]
        return value

    def _net_config(self, data_shape: tuple[int, ...]) -> NetConfig:
        backbone = resolve_backbone(self.backbone, data_shape)
        width = self.width or DEFAULT_WIDTH[backbone]
        latent = LatentSpec(
            noise_dim=self._auto("latent_dim", backbone),
            n_clusters=self.n_clusters,
            sigma=getattr(self, "sigma", 1.0),
            n_continuous=getattr(self, "n_continuous", 0),
            conditional=self._method.conditional,
        )
        return NetConfig(backbone, tuple(data_shape), width, latent)

    def _loss_weight(self, name: str) -> float:
        # an estimator whose weight may be None overrides this to resolve it from the data
        return float(getattr(self, name))

    def _augment_strength(self) -> float:
        return float(getattr(self, "augment_strength", 1.0))

    def _view_strength(self) -> float:
        # the read-out's shifted views scale with the training augmentation, which taught the
        # head to give them the same cluster; 0 reads each sample alone
        if not getattr(self, "test_time_augmentation", False):
            return 0.0
        return self._augment_strength()

    def _max_epochs(self, n_samples: int, batch_size: int) -> int:
        if self.max_epochs is not None:
            return int(self.max_epochs)
        steps_per_epoch = max(1, n_samples // batch_size)
        return int(np.clip(-(-AUTO_STEPS // steps_per_epoch), *AUTO_EPOCHS))

    def _train_config(self, seed: int, device: torch.device, n_samples: int) -> TrainConfig:
        weights = Weights(
            **{n: self._loss_weight(n) for n in ESTIMATOR_WEIGHTS if hasattr(self, n)}
        )
        loss = getattr(self, "loss", self._fixed_loss)
        batch_size = self._auto("batch_size", self.net_config_.backbone)
        return TrainConfig(
            method=self._method,
            nets=self.net_config_,
            weights=weights,
            loss=loss,
            n_critic=getattr(self, "n_critic", 1),
            learning_rate=self._auto("learning_rate", self.net_config_.backbone),
            batch_size=batch_size,
            max_epochs=self._max_epochs(n_samples, batch_size),
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            seed=seed,
            device=device,
            betas=(0.5, 0.9) if loss == "wgan-gp" else (0.5, 0.999),
            ema=float(self.ema),
        )

    def _callback(self, init: int, total_epochs: int):
        if not self.verbose:
            return None
        from ._progress import ProgressCallback

        return ProgressCallback(total_epochs, init=init, n_init=self.n_init)

    def _set_cluster_order(self, proba: torch.Tensor) -> None:
        # Canonical order: public cluster 0 is the largest on the training data, so labels are
        # contiguous from 0 and the numbering does not depend on which internal code won.
        counts = torch.bincount(proba.argmax(dim=1), minlength=self.n_clusters)
        self.cluster_order_ = np.argsort(-counts.numpy(), kind="stable").astype(np.int64)
        self.cluster_sizes_ = counts.numpy()[self.cluster_order_].astype(np.int64)

    def _warn_collapse(self) -> None:
        small = _small_clusters(self.cluster_sizes_)
        if len(small):
            sizes = ", ".join(f"{k} ({self.cluster_sizes_[k]} samples)" for k in small)
            warnings.warn(
                f"{type(self).__name__}: cluster(s) {sizes} are empty or nearly empty out of "
                f"{len(self.labels_)} samples; try n_init > 1, more epochs or fewer clusters",
                ClusterCollapseWarning,
                stacklevel=3,
            )

    # ---------------------------------------------------------------- read-out
    def _on_device(self, t: torch.Tensor) -> torch.Tensor:
        return t.to(next(self.nets_.parameters()).device)

    def _public_proba(self, proba: torch.Tensor) -> torch.Tensor:
        return proba[:, torch.from_numpy(self.cluster_order_)]

    def _proba_tensor(self, data: torch.Tensor) -> torch.Tensor:
        """Public cluster probabilities of preprocessed ``data`` (on any device), on the CPU."""
        data = self._on_device(data)
        vote = getattr(self, "neighbor_vote_", None)
        n_neighbors = self._read_out_neighbors() if vote is not None else 0
        if n_neighbors:
            features = batched(self._method.features, self.nets_, data)
            return self._public_proba(vote.vote(features, n_neighbors))
        proba = cluster_proba(self._method, self.nets_, data, self._view_strength())
        return self._public_proba(proba.cpu())

    def _prepare(self, X: Any) -> torch.Tensor:
        check_is_fitted(self, "nets_")
        return self.preprocessor_.to_tensor(self._validate(X, reset=False))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probability of each cluster for each sample.

        Parameters
        ----------
        X : array-like
            Samples shaped like the training data.

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_clusters)
            Rows sum to 1.
        """
        return self._proba_tensor(self._prepare(X)).double().numpy()

    def predict(self, X: Any) -> np.ndarray:
        """Cluster of each sample (the argmax of :meth:`predict_proba`).

        Parameters
        ----------
        X : array-like
            Samples shaped like the training data.

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
            Cluster ids in ``0 .. n_clusters - 1``; cluster 0 is the largest on the training data.
        """
        return self._proba_tensor(self._prepare(X)).argmax(dim=1).numpy().astype(np.int64)

    def transform(self, X: Any) -> np.ndarray:
        """Embed samples in the model's latent space (see the class docstring for which).

        Parameters
        ----------
        X : array-like
            Samples shaped like the training data.

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_components)
            float32 embedding.
        """
        data = self._on_device(self._prepare(X))
        out = batched(self._method.embed, self.nets_, data).cpu().numpy()
        if self._method.embed_ends_with_clusters:
            # the cluster part is predict_proba's read-out (with its shifted views, if any), so
            # that its argmax is predict's answer
            out[:, -self.n_clusters :] = self._proba_tensor(data).numpy()
        return out

    # ---------------------------------------------------------------- generation
    def sample(
        self, n_samples: int = 1, cluster: Any = None, random_state: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Generate new samples, optionally of chosen clusters.

        Parameters
        ----------
        n_samples : int
            How many samples.
        cluster : int, array-like of int or None
            The cluster of every sample (an int), of each sample (an array of ``n_samples``), or
            uniformly random clusters (None).
        random_state : int, RandomState or None
            Seed of the draw.

        Returns
        -------
        X : numpy.ndarray
            Samples in the training data's format: its shape, scale and dtype.
        clusters : numpy.ndarray of shape (n_samples,)
            The cluster of each sample.
        """
        check_is_fitted(self, "nets_")
        _config.check_number("n_samples", n_samples, low=1, integer=True)
        wanted = wanted_clusters(n_samples, cluster, self.n_clusters)
        seed = int(check_random_state(random_state).randint(0, 2**31 - 1))
        rng = torch.Generator().manual_seed(seed)
        fake, clusters = self._generate(n_samples, wanted, rng)
        return self.preprocessor_.from_tensor(fake), clusters

    def _generate(
        self, n_samples: int, wanted: np.ndarray | None, rng: torch.Generator
    ) -> tuple[torch.Tensor, np.ndarray]:
        internal = None if wanted is None else torch.from_numpy(self.cluster_order_[wanted])
        device = self._on_device(torch.zeros(0)).device
        latent = sample_latent(self.net_config_.latent, n_samples, rng, device, internal)
        self.nets_.eval()
        with torch.no_grad():
            fake = self.nets_["G"](latent.z).cpu()
        public = np.argsort(self.cluster_order_)
        return fake, public[latent.clusters.cpu().numpy()]

    def _draw_and_keep(
        self, n_samples: int, wanted: np.ndarray | None, rng: torch.Generator
    ) -> tuple[torch.Tensor, np.ndarray]:
        """Sample an unconditional generator, labelling draws by the model's own read-out."""
        device = self._on_device(torch.zeros(0)).device

        def draw(batch: int) -> tuple[torch.Tensor, np.ndarray]:
            latent = sample_latent(self.net_config_.latent, batch, rng, device)
            with torch.no_grad():
                fake = self.nets_["G"](latent.z)
            # labelled by the same read-out as predict, so a kept sample predicts as its cluster
            return fake.cpu(), self._proba_tensor(fake).argmax(dim=1).numpy()

        self.nets_.eval()
        return draw_and_keep(draw, n_samples, wanted, self.n_clusters)

    # ---------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike[str]) -> None:
        """Save the fitted model to one ``.safetensors`` file (weights plus JSON metadata).

        The file is written to a temporary name and renamed, so an interrupted save never leaves a
        half-written model. Load it with :func:`ganclust.load`.

        Parameters
        ----------
        path : str or os.PathLike
            Destination file.
        """
        from .io import save_model

        check_is_fitted(self, "nets_")
        save_model(self, path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
