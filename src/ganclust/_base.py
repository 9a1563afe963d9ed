"""The scikit-learn shell every ganclust estimator shares.

``fit`` reads as the data flow: preprocess → decide K ("auto") and every setting → train the
initialisations (pseudo-labels, refinement, selection) → freeze the read-out → set the fitted
state, in one place. Each step is a function of its own module that returns plain values;
``predict``, ``transform``, ``sample`` and ``save`` delegate to the frozen state.
"""

from __future__ import annotations

import dataclasses
import numbers
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import _checkpoint, _state, distributed
from ._fit import Initialisations, OtherK, fit_initialisations
from ._fit_consensus import with_consensus
from ._fit_warnings import (  # noqa: F401 (the warning classes are re-exported)
    ClusterCollapseWarning,
    ClusterCountWarning,
    ClusterQualityWarning,
    DivergenceWarning,
    warn_collapse,
    warn_quality,
    warn_rollbacks,
    warn_unsure_k,
)
from ._params import Rule, resolve_device
from ._resume import CheckpointStore, fingerprint
from ._sampling import draw_and_keep, wanted_clusters
from ._settings import Settings, check_fit, fit_seed, resolve
from ._state import FittedState
from .inference import batched
from .latent import sample_latent
from .methods import METHODS, Method
from .n_clusters import decide_k, second_look
from .preprocess import Preprocessor, input_dtype_of, validated
from .rows import Rows, stays_on_disk


class _Events:
    """One initialisation's events, to the progress bar and to the caller's callback."""

    def __init__(self, index: int, bar: Any, callback: Any) -> None:
        self.index, self.bar, self.callback = index, bar, callback

    def __call__(self, event: dict[str, Any]) -> None:
        if self.bar is not None:
            self.bar(event)
        if self.callback is not None:
            self.callback({**event, "init": self.index})

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class GANClusterer(ClusterMixin, TransformerMixin, BaseEstimator):
    """Behaviour shared by every ganclust estimator; use a concrete subclass."""

    _method_name = ""
    # this estimator's public parameters and their constraints (see ganclust._params)
    _parameter_constraints: dict[str, Rule] = {}

    @property
    def _method(self) -> Method:
        return METHODS[self._method_name]

    # ---------------------------------------------------------------- fitting
    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        keep_checkpoint: bool = False,
        callback: Callable[[dict[str, Any]], None] | None = None,
    ) -> GANClusterer:
        """Train the GAN on ``X`` and assign every sample to a cluster.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W) or (n_samples, C, H, W)
            Feature vectors or images (uint8 or float). No NaN or inf. A memory-mapped array
            or an array-like that takes slices (h5py, zarr) is read in batches, never whole.
        y : None, ignored
        checkpoint_dir : str or os.PathLike, optional
            Folder to checkpoint the fit in, at every epoch's end and every few minutes within
            an epoch (Ctrl-C also checkpoints). If it holds a checkpoint of this same fit (same
            data and parameters), the fit resumes from it and ends exactly as an uninterrupted
            one would on the CPU at the same thread count; one of another fit is refused.
        keep_checkpoint : bool, default=False
            Keep the last checkpoint once the fit is done (it is removed otherwise).
        callback : callable, optional
            Called with every event of the fit: ``{"event": "phase", "phase": ...}`` when a
            phase starts, ``{"event": "batch", ...}`` after every batch and ``{"event":
            "epoch", ...}`` (the ``history_`` row) after every epoch, each with ``"init"``, the
            initialisation's index.

        Returns
        -------
        self
            The fitted estimator.
        """
        params = self._joined_params(checkpoint_dir)
        dtype, mapped = input_dtype_of(X), stays_on_disk(X)
        X = self._validate(X, reset=True)
        preprocessor = self._fitted_preprocessor(params, X, dtype)
        # a memory-mapped array or an array-like stays on disk, read in batches (ganclust.rows)
        data = Rows(X, preprocessor) if mapped else preprocessor.to_tensor(X)
        params, view, estimate = decide_k(params, self._method_name, data, checkpoint_dir)
        look = second_look(estimate, self._method_name, data, params)
        try:
            settings, inits, store = self._fit_at(params, preprocessor, data, checkpoint_dir,
                                                  view, callback, look)  # fmt: skip
        except OtherK as other:  # the learned features point to another K: start again at it
            look.abandoned = other.seconds
            params = {**params, "n_clusters": other.k}
            settings, inits, store = self._fit_at(params, preprocessor, data, None, view, callback)
        estimate = look.joined(estimate) if look is not None else estimate
        self._set_state(_state.from_fit(settings, preprocessor, data, inits, estimate))
        name = type(self).__name__
        warn_collapse(name, self.cluster_sizes_, len(inits.runs))
        warn_quality(name, self.cluster_quality_)
        warn_rollbacks(name, inits)
        warn_unsure_k(name, estimate)
        if store is not None:
            store.finish(keep_checkpoint)
        return self

    def _fitted_preprocessor(self, params: dict[str, Any], X: Any, dtype: str) -> Preprocessor:
        """The preprocessing fitted on ``X``, once the parameters (one scales vectors) pass."""
        scaling = check_fit(params, self._method_name, len(X))["feature_scaling"]
        return Preprocessor.fit(X, dtype, scaling)

    def _joined_params(self, checkpoint_dir: Any) -> dict[str, Any]:
        """The parameters, with the seed rank 0 drew under torchrun (ganclust.distributed)."""
        params = self.get_params()
        here = distributed.world()
        if distributed.launched_size() > 1:  # torchrun's process group starts at the first fit
            here = distributed.join(resolve_device(params["device"]))
        if not here.shared:
            return params
        if checkpoint_dir is not None:
            raise ValueError(
                f"checkpoint_dir is not supported when training on {here.size} processes "
                "(torchrun): checkpoints and resume are for one process"
            )
        if not isinstance(params["random_state"], numbers.Integral):
            params["random_state"] = distributed.agreed(fit_seed(params["random_state"]), here)
        return params

    def _fit_at(
        self,
        params: dict[str, Any],
        pre: Preprocessor,
        data: torch.Tensor,
        folder: Any,
        view: Any,
        callback: Any,
        look: Any = None,
    ) -> tuple[Settings, Initialisations, Any]:
        """Resolve the settings at ``params``' K and train the initialisations."""
        settings = resolve(params, self._method_name, pre, len(data))
        settings, store = self._checkpoints(settings, data, folder)
        progress = self._progress_factory(settings.n_init, callback)
        try:
            inits = fit_initialisations(settings, data, progress, store, view, look)
            inits = with_consensus(settings, data, inits, progress)
        except OtherK:  # the fit at this K is abandoned, and so is its checkpoint
            if store is not None:
                store.finish(keep=False)
            raise
        return settings, inits, store

    def _checkpoints(self, settings: Settings, data: torch.Tensor, folder: Any):
        """The fit's checkpoint store, and its settings with a resumed fit's drawn seed."""
        if folder is None:
            return settings, None
        store = CheckpointStore(folder, {})
        saved = store.saved_seed() if self.random_state is None else None
        if saved is not None:  # a fit without a random_state resumes with its first seed
            settings = dataclasses.replace(settings, seed=saved)
        store.print = fingerprint(data, settings.to_json())
        return settings, store

    def _set_state(self, state: FittedState) -> None:
        """The one writer of the fitted attributes."""
        self.state_ = state
        self.settings_ = state.settings
        self.preprocessor_ = state.preprocessor
        self.nets_ = state.nets
        self.readout_ = state.readout
        self.neighbor_vote_ = state.readout.vote
        self.cluster_order_ = state.readout.cluster_order
        self.labels_ = state.labels
        self.cluster_sizes_ = state.cluster_sizes
        self.history_ = state.history
        self.n_iter_ = sum("rollback" not in row for row in state.history)
        self.init_scores_ = state.init_scores
        self.init_collapsed_ = state.init_collapsed
        self.best_init_ = state.best_init
        self.n_restarts_ = state.n_restarts
        self.stopped_early_ = state.stopped_early
        self.n_features_in_ = state.n_features_in
        self.phase_seconds_ = state.phase_seconds
        self.cluster_quality_ = state.cluster_quality
        self.n_clusters_ = state.settings.n_clusters
        estimate = state.n_clusters_estimate
        self.n_clusters_scores_ = estimate.score_of_k() if estimate is not None else None

    def _progress_factory(self, n_init: int, callback: Callable[[dict[str, Any]], None] | None):
        """Makes each initialisation's callback: the progress bar and the caller's, if any."""
        if not (self.verbose and distributed.world().main) and callback is None:
            return None

        def factory(index: int, total: int) -> _Events:
            bar = None
            if self.verbose and distributed.world().main:
                from ._progress import ProgressCallback

                bar = ProgressCallback(total, init=index, n_init=n_init)
            return _Events(index, bar, callback)

        return factory

    def _validate(self, X: Any, *, reset: bool) -> np.ndarray:
        return validated(self, X, reset=reset)

    # ---------------------------------------------------------------- read-out
    def _prepare(self, X: Any) -> torch.Tensor | Rows:
        check_is_fitted(self, "state_")
        mapped = stays_on_disk(X)
        X = self._validate(X, reset=False)
        return Rows(X, self.preprocessor_) if mapped else self.preprocessor_.to_tensor(X)

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
        data = self._prepare(X)  # first: it raises NotFittedError before readout_ is read
        return self.readout_.proba(self.nets_, data).double().numpy()

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
        data = self._prepare(X)  # first: it raises NotFittedError before readout_ is read
        proba = self.readout_.proba(self.nets_, data)
        return proba.argmax(dim=1).numpy().astype(np.int64)

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
        data = self._prepare(X).to(self._device)
        out = batched(self._method.embed, self.nets_, data).cpu().numpy()
        if self._method.embed_ends_with_clusters:
            # the cluster part is predict_proba's read-out, so that its argmax is predict's
            k = self.settings_.n_clusters
            out[:, -k:] = self.readout_.proba(self.nets_, data).numpy()
        return out

    @property
    def _device(self) -> torch.device:
        return next(self.nets_.parameters()).device

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

        Raises
        ------
        RuntimeError
            If the model was fitted with ``adversarial=False`` and so has no generator.
        """
        check_is_fitted(self, "state_")
        if not self.settings_.adversarial:
            raise RuntimeError(
                f"this {type(self).__name__} was fitted with adversarial=False, so it has no "
                "generator to sample from; refit with adversarial=True"
            )
        Rule("int", "samples to generate", low=1).check("n_samples", n_samples)
        wanted = wanted_clusters(n_samples, cluster, self.settings_.n_clusters)
        seed = int(check_random_state(random_state).randint(0, 2**31 - 1))
        rng = torch.Generator().manual_seed(seed)
        if self._method.conditional:
            fake, clusters = self._generate(n_samples, wanted, rng)
        else:
            fake, clusters = self._draw_and_keep(n_samples, wanted, rng)
        return self.preprocessor_.from_tensor(fake), clusters

    def _generate(
        self, n_samples: int, wanted: np.ndarray | None, rng: torch.Generator
    ) -> tuple[torch.Tensor, np.ndarray]:
        internal = None if wanted is None else torch.from_numpy(self.cluster_order_[wanted])
        latent = sample_latent(self.settings_.nets.latent, n_samples, rng, self._device, internal)
        self.nets_.eval()
        with torch.no_grad():
            fake = self.nets_["G"](latent.z).cpu()
        return fake, self.readout_.public_of_internal()[latent.clusters.cpu().numpy()]

    def _draw_and_keep(
        self, n_samples: int, wanted: np.ndarray | None, rng: torch.Generator
    ) -> tuple[torch.Tensor, np.ndarray]:
        """Sample an unconditional generator, labelling draws by the model's own read-out."""

        def draw(batch: int) -> tuple[torch.Tensor, np.ndarray]:
            latent = sample_latent(self.settings_.nets.latent, batch, rng, self._device)
            with torch.no_grad():
                fake = self.nets_["G"](latent.z)
            # labelled by the same read-out as predict, so a kept sample predicts as its cluster
            return fake.cpu(), self.readout_.proba(self.nets_, fake).argmax(dim=1).numpy()

        self.nets_.eval()
        return draw_and_keep(draw, n_samples, wanted, self.settings_.n_clusters)

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
        check_is_fitted(self, "state_")
        tensors, meta = _state.to_file(self.state_, self._method_name, self.get_params())
        _checkpoint.write_model(path, tensors, meta)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
