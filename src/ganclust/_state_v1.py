"""Model files of format 1 (research knobs as parameters, no settings block), read as format 2."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from ._params import LOSSES, options_for
from ._settings import resolve
from .latent import LatentSpec
from .methods import METHODS
from .preprocess import Preprocessor

# research knobs that were public parameters in format 1
V1_OPTIONS = tuple(
    name for name in ("init", "init_weight", "refine", "ema", "consistency", "augment_strength",
                      "width", "test_time_augmentation", "read_out_neighbors", "tol",
                      "n_iter_no_change", "loss", "n_critic", "encoder_fake_weight")
)  # fmt: skip


def _prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


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
