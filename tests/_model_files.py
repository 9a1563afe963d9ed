"""Editing a saved model file, for tests of what ``load`` does with old or damaged files."""

import json
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file


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
