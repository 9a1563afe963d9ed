"""A fitted model's state: written once by ``fit``, and the one thing save, load and run.json use.

:class:`FittedState` holds every fitted value. :func:`to_file` turns it into the tensors and JSON
of a model file; :func:`from_file` checks a file's contents against what they imply (shapes,
permutations, bounds) before building anything, and rebuilds the state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from ._checkpoint import ModelFileError
from ._neighbors import NeighborVote
from ._params import LOSSES, options_for, validate
from ._settings import Settings, resolve, settings_from_json
from ._version import __version__
from .latent import LatentSpec
from .methods import METHODS
from .preprocess import Preprocessor
from .readout import ReadOut

# bounds on what a model file may ask to build, checked before any network is allocated
MAX_WIDTH = 4096
MAX_LATENT = 4096
MAX_SIDE = 4096
MAX_VALUES_PER_SAMPLE = 2**24
MAX_CLUSTERS = 10_000
# research knobs that were public parameters in format 1
V1_OPTIONS = tuple(
    name for name in ("init", "init_weight", "refine", "ema", "consistency", "augment_strength",
                      "width", "test_time_augmentation", "read_out_neighbors", "tol",
                      "n_iter_no_change", "loss", "n_critic", "encoder_fake_weight")
)  # fmt: skip


@dataclass
class FittedState:
    """Everything ``fit`` learns; the estimator's fitted attributes are read from it."""

    settings: Settings
    preprocessor: Preprocessor
    nets: nn.ModuleDict
    readout: ReadOut
    labels: np.ndarray
    cluster_sizes: np.ndarray
    history: list[dict[str, Any]]
    init_scores: np.ndarray
    init_collapsed: np.ndarray
    best_init: int
    n_restarts: int
    stopped_early: bool
    n_features_in: int

    def summary(self) -> dict[str, Any]:
        """The JSON-able part of the state (no tensors): for the model file and run.json."""
        return {
            "settings": self.settings.to_json(),
            "preprocessing": self.preprocessor.to_json(),
            "readout": {
                "view_strength": self.readout.view_strength,
                "n_neighbors": self.readout.n_neighbors,
                "cluster_order": self.readout.cluster_order.tolist(),
            },
            "cluster_sizes": self.cluster_sizes.tolist(),
            "history": self.history,
            "init_scores": self.init_scores.tolist(),
            "init_collapsed": self.init_collapsed.tolist(),
            "best_init": int(self.best_init),
            "n_restarts": int(self.n_restarts),
            "stopped_early": bool(self.stopped_early),
            "n_features_in": int(self.n_features_in),
        }


def json_params(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """``get_params()`` as JSON: a RandomState instance is recorded as the seed it drew."""
    out = dict(params)
    if not (out.get("random_state") is None or isinstance(out["random_state"], int)):
        out["random_state"] = seed
    return out


def to_file(
    state: FittedState, method: str, params: dict[str, Any]
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors and metadata of a model file."""
    tensors = {f"nets.{k}": v for k, v in state.nets.state_dict().items()}
    tensors.update({f"pre.{k}": v for k, v in state.preprocessor.tensors().items()})
    tensors["labels"] = torch.from_numpy(state.labels)
    if state.readout.vote is not None:
        tensors.update({f"vote.{k}": v for k, v in state.readout.vote.tensors().items()})
    meta = {
        "ganclust_version": __version__,
        "estimator": method,
        "params": json_params(params, state.settings.seed),
        **state.summary(),
    }
    return tensors, meta


def from_file(
    meta: dict[str, Any], tensors: dict[str, torch.Tensor], where: str
) -> tuple[str, dict[str, Any], FittedState]:
    """Check a model file's contents and rebuild ``(method, params, state)`` from them.

    Raises
    ------
    ModelFileError
        Naming ``where`` and what is wrong, before any network is built.
    """
    try:
        if meta["format_version"] == 1:
            meta = upgrade_v1(meta, tensors)
        return _rebuild(meta, tensors)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
        raise ModelFileError(f"{where}: not a usable ganclust model ({exc})") from None


def _rebuild(
    meta: dict[str, Any], tensors: dict[str, torch.Tensor]
) -> tuple[str, dict[str, Any], FittedState]:
    method = meta["estimator"]
    if method not in METHODS:
        raise ValueError(f"unknown estimator {method!r}")
    params = dict(meta["params"])
    validate(params, method)
    settings = settings_from_json(meta["settings"], method)
    _check_bounds(settings)
    pre = Preprocessor.from_saved(meta["preprocessing"], _prefixed(tensors, "pre."))
    if pre.data_shape != settings.nets.data_shape:
        raise ValueError("the preprocessing and the networks disagree on the sample shape")
    k = settings.n_clusters
    labels = tensors["labels"]
    if labels.dtype != torch.int64 or labels.ndim != 1:
        raise ValueError(f"labels must be a 1-D int64 tensor; got {labels.dtype}")
    labels_np = labels.numpy().astype(np.int64)
    if len(labels_np) and (labels_np.min() < 0 or labels_np.max() >= k):
        raise ValueError(f"labels must lie in 0..{k - 1}")
    read = meta["readout"]
    order = np.asarray(read["cluster_order"], dtype=np.int64)
    if sorted(order.tolist()) != list(range(k)):
        raise ValueError(f"cluster_order must be a permutation of 0..{k - 1}")
    sizes = np.asarray(meta["cluster_sizes"], dtype=np.int64)
    if sizes.shape != (k,):
        raise ValueError(f"cluster_sizes must hold {k} counts")
    vote_tensors = _prefixed(tensors, "vote.")
    vote = NeighborVote.from_tensors(vote_tensors) if vote_tensors else None
    if vote is not None and vote.proba.shape[1] != k:
        raise ValueError("the neighbor vote's probabilities do not have one column per cluster")
    neighbors = int(read["n_neighbors"])
    if neighbors < 0 or (neighbors and vote is None):
        raise ValueError("the read-out asks for a neighbor vote that the file does not hold")
    readout = ReadOut(method, float(read["view_strength"]), neighbors, vote, order)
    nets = _build_checked(settings, _prefixed(tensors, "nets."))
    scores = np.asarray(meta["init_scores"], dtype=float)
    state = FittedState(
        settings=settings,
        preprocessor=pre,
        nets=nets,
        readout=readout,
        labels=labels_np,
        cluster_sizes=sizes,
        history=list(meta["history"]),
        init_scores=scores,
        init_collapsed=np.asarray(meta["init_collapsed"], dtype=bool),
        best_init=int(meta["best_init"]),
        n_restarts=int(meta["n_restarts"]),
        stopped_early=bool(meta["stopped_early"]),
        n_features_in=int(meta["n_features_in"]),
    )
    return method, params, state


def _prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def _check_bounds(settings: Settings) -> None:
    """Refuse network settings that would allocate more than any real model (before building)."""
    nets, latent = settings.nets, settings.nets.latent
    shape = nets.data_shape
    if not 1 <= len(shape) <= 3 or any(not 1 <= int(s) <= MAX_SIDE for s in shape):
        raise ValueError(f"implausible sample shape {list(shape)}")
    if int(np.prod(shape)) > MAX_VALUES_PER_SAMPLE:
        raise ValueError(f"implausible sample shape {list(shape)}")
    if not 1 <= nets.width <= MAX_WIDTH:
        raise ValueError(f"network width {nets.width} is outside 1..{MAX_WIDTH}")
    if not 1 <= latent.noise_dim <= MAX_LATENT or not 0 <= latent.n_continuous <= MAX_LATENT:
        raise ValueError("implausible latent dimensions")
    if not 2 <= settings.n_clusters <= MAX_CLUSTERS or latent.n_clusters != settings.n_clusters:
        raise ValueError(f"implausible number of clusters {settings.n_clusters}")


def _build_checked(settings: Settings, state: dict[str, torch.Tensor]) -> nn.ModuleDict:
    """Build the networks, having first checked the file's tensor shapes on the meta device."""
    method = METHODS[settings.method]
    with torch.device("meta"):
        expected = method.build(settings.nets).state_dict()
    if set(expected) != set(state):
        missing = sorted(set(expected) - set(state))[:3]
        extra = sorted(set(state) - set(expected))[:3]
        raise ValueError(f"network tensors do not match (missing {missing}, unexpected {extra})")
    for name, tensor in expected.items():
        if tuple(state[name].shape) != tuple(tensor.shape) or state[name].dtype != tensor.dtype:
            raise ValueError(f"network tensor {name!r} has shape {tuple(state[name].shape)}")
    nets = method.build(settings.nets)
    nets.load_state_dict(state, strict=True)
    return nets.eval()


def upgrade_v1(meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Format 1 (research knobs as parameters, no settings block) as format 2."""
    method = meta["estimator"]
    if method not in METHODS:
        raise ValueError(f"unknown estimator {method!r}")
    old = dict(meta["params"])
    options = {k: old.pop(k) for k in V1_OPTIONS if k in old and k in options_for(method)}
    for name in V1_OPTIONS:
        old.pop(name, None)
    if old.get("backbone") == "seed-dcgan":
        old["backbone"] = "dcgan"
    # files written before the shifted views and the neighbor vote read the head alone
    options.setdefault("test_time_augmentation", False)
    options.setdefault("read_out_neighbors", 0)
    if options.get("loss") not in LOSSES:
        options.pop("loss", None)
    params = {**old, "options": options, "adversarial": True, "recipe": "default"}
    pre = Preprocessor.from_saved(meta["preprocessing"], _prefixed(tensors, "pre."))
    settings = resolve({**params, "device": "cpu"}, method, pre, len(tensors["labels"]))
    net = meta["nets"]
    backbone = "dcgan" if net["backbone"] == "seed-dcgan" else net["backbone"]
    latent = LatentSpec(**net["latent"])
    nets = replace(settings.nets, backbone=backbone, width=int(net["width"]), latent=latent)
    settings = replace(settings, nets=nets)
    neighbors = options["read_out_neighbors"]
    if neighbors is None:
        neighbors = 5 if _prefixed(tensors, "vote.") else 0
    return {
        **meta,
        "params": params,
        "settings": settings.to_json(),
        "readout": {
            "view_strength": settings.view_strength,
            "n_neighbors": int(neighbors),
            "cluster_order": meta["cluster_order"],
        },
        "n_restarts": int(meta.get("n_restarts", 0)),
        "init_collapsed": meta.get("init_collapsed", [False] * len(meta["init_scores"])),
    }
