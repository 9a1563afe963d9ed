"""Saving and loading fitted models: one safetensors file, weights plus JSON metadata.

Nothing here unpickles or executes anything from the file: tensors are read by safetensors and
everything else is JSON stored in the file's metadata under the key ``"ganclust"``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ._neighbors import NeighborVote
from .latent import LatentSpec
from .methods import NetConfig
from .preprocessing import Preprocessor

if TYPE_CHECKING:
    from ._base import GANClusterer

FORMAT = "ganclust-model"
FORMAT_VERSION = 1


def save_model(model: GANClusterer, path: str | os.PathLike[str]) -> None:
    """Write a fitted model to ``path`` atomically (temporary file, then rename)."""
    from . import __version__

    tensors = {
        f"nets.{k}": v.detach().cpu().contiguous() for k, v in model.nets_.state_dict().items()
    }
    tensors.update({f"pre.{k}": v for k, v in model.preprocessor_.tensors().items()})
    tensors["labels"] = torch.from_numpy(model.labels_)
    if model.neighbor_vote_ is not None:
        tensors.update({f"vote.{k}": v for k, v in model.neighbor_vote_.tensors().items()})
    cfg = model.net_config_
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "ganclust_version": __version__,
        "estimator": model._method_name,
        "params": model.get_params(),
        "preprocessing": model.preprocessor_.to_json(),
        "nets": {
            "backbone": cfg.backbone,
            "data_shape": list(cfg.data_shape),
            "width": cfg.width,
            "latent": vars(cfg.latent),
        },
        "cluster_order": model.cluster_order_.tolist(),
        "cluster_sizes": model.cluster_sizes_.tolist(),
        "history": model.history_,
        "init_scores": model.init_scores_.tolist(),
        "best_init": model.best_init_,
        "n_restarts": model.n_restarts_,
        "init_collapsed": model.init_collapsed_.tolist(),
        "stopped_early": model.stopped_early_,
        "n_features_in": model.n_features_in_,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    from .runs import make_public

    make_public(Path(tmp))
    try:
        save_file(tensors, tmp, metadata={"ganclust": json.dumps(meta)})
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: str | os.PathLike[str]) -> GANClusterer:
    """Load a model saved with ``save``.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :meth:`ganclust.ClusterGAN.save` (or InfoGAN's, CatGAN's).

    Returns
    -------
    ClusterGAN, InfoGAN or CatGAN
        The fitted estimator; it predicts exactly what the saved one did.

    Raises
    ------
    ValueError
        If the file is missing, is not a safetensors file, or is not a ganclust model.
    """
    meta, tensors = _read(Path(path))
    from .estimators import ESTIMATORS

    try:
        cls = ESTIMATORS[meta["estimator"]]
        params = dict(meta["params"])
        # files written before the read-out's shifted views existed read each sample alone
        params.setdefault("test_time_augmentation", False)
        # and before the neighbor vote, read the head alone
        params.setdefault("read_out_neighbors", 0)
        model = cls(**params)
        net = meta["nets"]
        model.net_config_ = NetConfig(
            net["backbone"],
            tuple(net["data_shape"]),
            int(net["width"]),
            LatentSpec(**net["latent"]),
        )
        pre = {k[4:]: v for k, v in tensors.items() if k.startswith("pre.")}
        model.preprocessor_ = Preprocessor.from_saved(meta["preprocessing"], pre)
        nets = model._method.build(model.net_config_)
        state = {k[5:]: v for k, v in tensors.items() if k.startswith("nets.")}
        nets.load_state_dict(state, strict=True)
        vote = {k[5:]: v for k, v in tensors.items() if k.startswith("vote.")}
        model.neighbor_vote_ = NeighborVote.from_tensors(vote) if vote else None
    except (KeyError, TypeError, RuntimeError, ValueError) as exc:
        raise ValueError(f"{path}: not a usable ganclust model ({exc})") from None
    nets.eval()
    model.nets_ = nets
    model.labels_ = tensors["labels"].numpy().astype(np.int64)
    model.cluster_order_ = np.asarray(meta["cluster_order"], dtype=np.int64)
    model.cluster_sizes_ = np.asarray(meta["cluster_sizes"], dtype=np.int64)
    model.history_ = meta["history"]
    model.n_iter_ = len(model.history_)
    model.init_scores_ = np.asarray(meta["init_scores"], dtype=float)
    model.best_init_ = meta["best_init"]
    # files written before collapse restarts existed had none
    model.n_restarts_ = int(meta.get("n_restarts", 0))
    model.init_collapsed_ = np.asarray(
        meta.get("init_collapsed", [False] * len(model.init_scores_)), dtype=bool
    )
    model.stopped_early_ = meta["stopped_early"]
    model.n_features_in_ = meta["n_features_in"]
    return model


def _read(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    if not path.is_file():
        raise ValueError(f"model file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise ValueError(f"{path}: not a safetensors file or corrupt ({exc})") from None
    try:
        meta = json.loads(metadata["ganclust"])
    except (KeyError, json.JSONDecodeError):
        raise ValueError(f"{path}: a safetensors file, but not a ganclust model") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path}: a safetensors file, but not a ganclust model")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"{path}: saved by a newer ganclust (format {meta['format_version']}); upgrade ganclust"
        )
    if "labels" not in tensors:
        raise ValueError(f"{path}: not a usable ganclust model (no labels)")
    return meta, tensors
