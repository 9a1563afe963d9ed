"""Editing a saved model file, for tests of what ``load`` does with old or damaged files."""

import json
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ganclust._params import validate

# model files written by ganclust 0.1.0 before the redesign (format 1), with what that version
# predicted from them: see tests/data/format1/README.md
FORMAT_1 = Path(__file__).parent / "data" / "format1"
# the keys a format-1 file's metadata holds (ganclust 0.1.0's io.save_model)
FORMAT_1_KEYS = {
    "format", "format_version", "ganclust_version", "estimator", "params", "preprocessing",
    "nets", "cluster_order", "cluster_sizes", "history", "init_scores", "best_init", "n_restarts",
    "init_collapsed", "stopped_early", "n_features_in",
}  # fmt: skip


def read_meta(path: Path) -> dict:
    """The JSON metadata of a model file."""
    with safe_open(str(path), framework="pt") as handle:
        return json.loads(handle.metadata()["ganclust"])


def rewrite_model(
    path: Path, out: Path, edit: Callable[[dict, dict[str, torch.Tensor]], None]
) -> Path:
    """Copy the model file ``path`` to ``out`` after ``edit(meta, tensors)`` changes, in place,
    its JSON metadata (the ``"ganclust"`` entry, as a dict) and its tensors (by name)."""
    with safe_open(str(path), framework="pt") as handle:
        meta = json.loads(handle.metadata()["ganclust"])
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    edit(meta, tensors)
    save_file(tensors, str(out), metadata={"ganclust": json.dumps(meta)})
    return out


def to_format_1(meta: dict) -> None:
    """Rewrite a format-2 file's metadata, in place, as ganclust 0.1.0 wrote it (format 1).

    Format 1 had no settings and no read-out block: every research option was a parameter of
    its own (so every one of them is present, at its value), the backbone "dcgan" was called
    "seed-dcgan", the networks were described by ``nets`` and the public order of the clusters
    was ``cluster_order`` at the top level. The tensors are the same in both formats.
    """
    params = dict(meta["params"])
    method = meta["estimator"]
    options = validate(params, method)  # every option, at its value under the default recipe
    for later in ("precision", "feature_scaling"):  # came after format 1
        options.pop(later)
    for name in ("options", "adversarial", "recipe", "max_clusters"):  # not in format 1
        params.pop(name)
    params.update(options)
    settings, readout = meta.pop("settings"), meta.pop("readout")
    nets = settings["nets"]
    rename = {"dcgan": "seed-dcgan"}
    params["backbone"] = rename.get(params["backbone"], params["backbone"])
    meta["params"] = params
    meta["nets"] = {
        "backbone": rename.get(nets["backbone"], nets["backbone"]),
        "data_shape": nets["data_shape"],
        "width": nets["width"],
        "latent": nets["latent"],
    }
    meta["cluster_order"] = readout["cluster_order"]
    meta["preprocessing"].pop("scaling")  # came after format 1: vectors were scaled per feature
    meta["history"] = [{k: v for k, v in row.items() if k != "seconds"} for row in meta["history"]]
    meta["format_version"] = 1
    for key in set(meta) - FORMAT_1_KEYS:
        del meta[key]
