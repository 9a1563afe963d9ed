"""A fitted model's state: written once by ``fit``, and the one thing save, load and run.json use.

:class:`FittedState` holds every fitted value. :func:`to_file` turns it into the tensors and JSON
of a model file; :func:`from_file` checks a file's contents against what they imply (shapes,
permutations, bounds) before building anything, and rebuilds the state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ._checkpoint import ModelFileError
from ._fit import Initialisations
from ._neighbors import NeighborVote
from ._params import OPTIONS, PARAMETERS, validate
from ._settings import Settings, settings_from_json
from ._state_v1 import _prefixed, upgrade_v1
from ._version import __version__
from .methods import METHODS
from .n_clusters import KEstimate
from .nets import resolve_backbone
from .preprocess import Preprocessor
from .readout import ReadOut, freeze

# bounds on what a model file may ask to build, checked before any network is allocated
MAX_WIDTH = 4096
MAX_LATENT = 4096
MAX_SIDE = 4096
MAX_VALUES_PER_SAMPLE = 2**24
MAX_CLUSTERS = 10_000
# every tensor a model file may hold besides the networks' ("nets.*")
KNOWN_TENSORS = frozenset(
    {"labels", "pre.offset", "pre.scale", "vote.features", "vote.proba", "vote.mean", "vote.scale"}
)


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
    # wall-clock seconds of each phase of the fit, summed over its initialisations
    phase_seconds: dict[str, float] = field(default_factory=dict)
    # (K,) per public cluster, the refinement maps' agreement with the kept run (NaN: unmeasured)
    cluster_quality: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # how n_clusters="auto" chose K (None when K was given)
    n_clusters_estimate: KEstimate | None = None

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
            "phase_seconds": dict(self.phase_seconds),
            "cluster_quality": [None if np.isnan(q) else float(q) for q in self.cluster_quality],
            **(
                {"n_clusters_estimate": self.n_clusters_estimate.to_json()}
                if self.n_clusters_estimate is not None
                else {}
            ),
        }


def from_fit(
    settings: Settings,
    preprocessor: Preprocessor,
    data: torch.Tensor,
    inits: Initialisations,
    estimate: KEstimate | None = None,
) -> FittedState:
    """The state of a finished fit: the kept run's networks, with its read-out frozen."""
    best = inits.best
    started = time.perf_counter()
    readout, proba = freeze(
        settings.method,
        best.result.nets,
        data,
        best.proba,
        settings.view_strength,
        settings.read_out_neighbors,
        inits.selection_seed,
    )
    labels = proba.argmax(dim=1).numpy().astype(np.int64)
    seconds = {"read_out": round(time.perf_counter() - started, 3)}
    if estimate is not None:
        seconds["n_clusters"] = estimate.seconds
    # a run trained on the runs' consensus is not one of them: its round adds its own phases
    consensus = [] if any(run is best for run in inits.runs) else [best]
    for run in [*inits.runs, *consensus]:
        for phase, value in run.seconds.items():
            seconds[phase] = round(seconds.get(phase, 0.0) + value, 3)
    return FittedState(
        settings=settings,
        preprocessor=preprocessor,
        nets=best.result.nets,
        readout=readout,
        labels=labels,
        cluster_sizes=np.bincount(labels, minlength=settings.n_clusters),
        history=best.result.history,
        init_scores=np.array([run.score for run in inits.runs]),
        init_collapsed=np.array([run.collapsed for run in inits.runs]),
        best_init=best.index,
        n_restarts=inits.n_restarts,
        stopped_early=best.result.stopped_early,
        n_features_in=int(np.prod(preprocessor.input_shape)),
        phase_seconds=seconds,
        cluster_quality=best.quality[readout.cluster_order],
        n_clusters_estimate=estimate,
    )


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
    params = _checked_params(meta["params"], method)
    _check_tensor_names(tensors)
    _int_list(meta["settings"]["nets"]["data_shape"], "settings.nets.data_shape", low=1)
    settings = settings_from_json(meta["settings"], method)
    _check_bounds(settings)
    pre = Preprocessor.from_saved(meta["preprocessing"], _prefixed(tensors, "pre."))
    if pre.data_shape != settings.nets.data_shape:
        raise ValueError("the preprocessing and the networks disagree on the sample shape")
    if meta["n_features_in"] != int(np.prod(pre.input_shape)):
        raise ValueError(f"n_features_in {meta['n_features_in']} does not fit the sample shape")
    labels, sizes = _labels(meta, tensors["labels"], settings.n_clusters)
    nets = _build_checked(settings, _prefixed(tensors, "nets."))
    readout = _readout(meta["readout"], _prefixed(tensors, "vote."), settings)
    scores, collapsed = _init_scores(meta)
    history = meta["history"]
    if not all(isinstance(row, dict) for row in history):
        raise ValueError("history must be a list of objects, one per epoch")
    if meta["n_restarts"] < 0:
        raise ValueError(f"n_restarts must be >= 0; got {meta['n_restarts']}")
    state = FittedState(
        settings=settings,
        preprocessor=pre,
        nets=nets,
        readout=readout,
        labels=labels,
        cluster_sizes=sizes,
        history=list(history),
        init_scores=scores,
        init_collapsed=collapsed,
        best_init=int(meta["best_init"]),
        n_restarts=int(meta["n_restarts"]),
        stopped_early=bool(meta["stopped_early"]),
        n_features_in=int(meta["n_features_in"]),
        phase_seconds=_phase_seconds(meta.get("phase_seconds", {})),
        cluster_quality=_cluster_quality(meta.get("cluster_quality"), settings.n_clusters),
        n_clusters_estimate=_estimate(meta.get("n_clusters_estimate"), settings.n_clusters),
    )
    return method, params, state


def _estimate(value: Any, k: int) -> KEstimate | None:
    """The saved estimate of K, which must be the K the networks were built with."""
    if value is None:
        return None
    estimate = KEstimate.from_json(value)
    if estimate.chosen != k:
        raise ValueError(f"n_clusters_estimate says K={estimate.chosen}; the model has {k}")
    return estimate


def _phase_seconds(value: Any) -> dict[str, float]:
    if not isinstance(value, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()
    ):
        raise ValueError("phase_seconds must map phase names to numbers")
    return {str(k): float(v) for k, v in value.items()}


def _int_list(value: Any, name: str, low: int = 0) -> list[int]:
    """``value`` as a list of ints >= ``low``; floats, bools and strings are refused."""
    if not isinstance(value, list) or any(type(v) is not int or v < low for v in value):
        raise ValueError(f"{name} must be a list of integers >= {low}; got {str(value)[:80]}")
    return value


def _checked_params(params: dict[str, Any], method: str) -> dict[str, Any]:
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(map(repr, unknown[:3]))}")
    validate(params, method)
    return dict(params)


def _check_tensor_names(tensors: dict[str, torch.Tensor]) -> None:
    unknown = sorted(k for k in tensors if k not in KNOWN_TENSORS and not k.startswith("nets."))
    if unknown:
        raise ValueError(f"unexpected tensor(s) {', '.join(map(repr, unknown[:3]))}")
    if "labels" not in tensors:
        raise ValueError("the labels tensor is missing")


def _labels(meta: dict[str, Any], labels: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The training labels and cluster sizes, checked against each other."""
    if labels.dtype != torch.int64 or labels.ndim != 1 or len(labels) < 2:
        raise ValueError(
            f"labels must be a 1-D int64 tensor of 2 or more samples; got {labels.dtype} of "
            f"shape {list(labels.shape)}"
        )
    labels_np = labels.numpy().astype(np.int64)
    if labels_np.min() < 0 or labels_np.max() >= k:
        raise ValueError(f"labels must lie in 0..{k - 1}")
    sizes = np.asarray(_int_list(meta["cluster_sizes"], "cluster_sizes"), dtype=np.int64)
    if sizes.shape != (k,) or not np.array_equal(sizes, np.bincount(labels_np, minlength=k)):
        raise ValueError(f"cluster_sizes must hold the {k} cluster counts of the labels")
    return labels_np, sizes


def _cluster_quality(values: Any, k: int) -> np.ndarray:
    """The saved per-cluster quality (a file written before it was kept has none: NaN)."""
    if values is None:
        return np.full(k, np.nan)
    if (
        not isinstance(values, list)
        or len(values) != k
        or not all(v is None or (_is_number(v) and 0 <= v <= 1) for v in values)
    ):
        raise ValueError(f"cluster_quality must list {k} numbers in [0, 1] or nulls")
    return np.array([np.nan if v is None else float(v) for v in values])


def _init_scores(meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    scores, collapsed = meta["init_scores"], meta["init_collapsed"]
    if not isinstance(scores, list) or not scores or not all(_is_number(v) for v in scores):
        raise ValueError("init_scores must be a non-empty list of numbers")
    if not isinstance(collapsed, list) or not all(isinstance(v, bool) for v in collapsed):
        raise ValueError("init_collapsed must be a list of booleans")
    if len(collapsed) != len(scores):
        raise ValueError("init_scores and init_collapsed must have one entry per initialisation")
    if not 0 <= meta["best_init"] < len(scores):
        raise ValueError(f"best_init {meta['best_init']} is not one of the initialisations")
    return np.asarray(scores, dtype=float), np.asarray(collapsed, dtype=bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _readout(
    read: dict[str, Any], vote_tensors: dict[str, torch.Tensor], settings: Settings
) -> ReadOut:
    """The frozen read-out, its cluster order, view strength and neighbor vote checked."""
    k = settings.n_clusters
    order = np.asarray(_int_list(read["cluster_order"], "readout.cluster_order"), np.int64)
    if sorted(order.tolist()) != list(range(k)):
        raise ValueError(f"cluster_order must be a permutation of 0..{k - 1}")
    for where, value in (("readout", read["view_strength"]), ("settings", settings.view_strength)):
        OPTIONS["augment_strength"].check(f"{where}.view_strength", value)
    neighbors = read["n_neighbors"]
    if type(neighbors) is not int or neighbors < 0:
        raise ValueError(f"readout.n_neighbors must be an integer >= 0; got {neighbors!r}")
    vote = NeighborVote.from_tensors(vote_tensors) if vote_tensors else None
    if neighbors and vote is None:
        raise ValueError("the read-out asks for a neighbor vote that the file does not hold")
    if vote is not None:
        _check_vote(vote, settings)
    return ReadOut(settings.method, float(read["view_strength"]), neighbors, vote, order)


def _check_vote(vote: NeighborVote, settings: Settings) -> None:
    proba = vote.proba
    if proba.shape[1] != settings.n_clusters:
        raise ValueError("the neighbor vote's probabilities do not have one column per cluster")
    sums = proba.sum(dim=1)
    if bool((proba < 0).any()) or not torch.allclose(sums, torch.ones_like(sums), atol=1e-3):
        raise ValueError("the neighbor vote's probabilities are not probabilities")
    if not bool((vote.scale > 0).all()):
        raise ValueError("the neighbor vote's feature scale must be positive")
    method = METHODS[settings.method]
    with torch.device("meta"), torch.no_grad():
        nets = method.build(settings.nets).eval()
        width = method.features(nets, torch.empty(1, *settings.nets.data_shape)).shape[1]
    if vote.features.shape[1] != width:
        raise ValueError(
            f"the neighbor vote holds {vote.features.shape[1]} features; the networks give {width}"
        )


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
    if resolve_backbone(nets.backbone, tuple(shape)) != nets.backbone:
        raise ValueError(f"backbone {nets.backbone!r} is not a concrete backbone")


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
