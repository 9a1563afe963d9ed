"""The model-file format: one safetensors file, tensors plus JSON metadata, versioned.

Nothing here unpickles or executes anything from the file: tensors are read by safetensors and
everything else is JSON stored in the file's metadata under the key ``"ganclust"``. The JSON is
checked against :data:`SCHEMA` (types, required keys, a depth and size limit) before any of it is
used, and every tensor must be finite. This module is a leaf: it knows the format, not the
estimators (:mod:`ganclust._state` turns a file's contents into a fitted model).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ._files import atomic_file

FORMAT = "ganclust-model"
FORMAT_VERSION = 2
# the metadata is small JSON; anything larger or deeper is not a file ganclust wrote
MAX_METADATA_CHARS = 16 * 2**20
MAX_JSON_DEPTH = 32
MODEL_FILE = "model.safetensors"

# what each format version's metadata must hold: a type, a tuple of types, or a nested schema
_NUMBER = (int, float)
SCHEMA_V2: dict[str, Any] = {
    "format": str,
    "format_version": int,
    "ganclust_version": str,
    "estimator": str,
    "params": dict,
    "settings": {
        "n_clusters": int,
        "adversarial": bool,
        "nets": {"backbone": str, "data_shape": list, "width": int, "latent": dict},
        "view_strength": _NUMBER,
        "read_out_neighbors": int,
    },
    "preprocessing": {"input_shape": list, "input_dtype": str},
    "readout": {"view_strength": _NUMBER, "n_neighbors": int, "cluster_order": list},
    "cluster_sizes": list,
    "history": list,
    "init_scores": list,
    "init_collapsed": list,
    "best_init": int,
    "n_restarts": int,
    "stopped_early": bool,
    "n_features_in": int,
    "phase_seconds": dict,
}
SCHEMA_V1: dict[str, Any] = {
    "format": str,
    "format_version": int,
    "estimator": str,
    "params": dict,
    "preprocessing": {"input_shape": list, "input_dtype": str},
    "nets": {"backbone": str, "data_shape": list, "width": int, "latent": dict},
    "cluster_order": list,
    "cluster_sizes": list,
    "history": list,
    "init_scores": list,
    "best_init": int,
    "stopped_early": bool,
    "n_features_in": int,
}
SCHEMAS = {1: SCHEMA_V1, 2: SCHEMA_V2}
# keys a format-2 file may lack (it was written before they were kept)
OPTIONAL_V2: dict[str, Any] = {"cluster_quality": list, "n_clusters_estimate": dict}
# the tensor types ganclust writes; anything else (float8, complex, ...) is not its file
FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
TENSOR_DTYPES = (*FLOAT_DTYPES, torch.int64, torch.int32, torch.uint8, torch.bool)


class ModelFileError(ValueError):
    """A model file that is missing, malformed or not a ganclust model."""


def model_path(path: str | os.PathLike[str]) -> Path:
    """The model file of ``path``: the file itself, or a run folder's ``model.safetensors``."""
    path = Path(path)
    if path.is_dir():
        inner = path / MODEL_FILE
        if not inner.is_file():
            raise ModelFileError(f"{path} is a folder without a {MODEL_FILE}; not a run folder")
        return inner
    return path


def write_model(
    path: str | os.PathLike[str], tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    """Write ``tensors`` and ``meta`` to ``path`` atomically (temporary file, then rename)."""
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta}
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    problem = _tensor_problem(tensors)
    if problem:
        raise ValueError(f"refusing to save a model whose {problem}")
    with atomic_file(path) as tmp:
        save_file(tensors, str(tmp), metadata={"ganclust": json.dumps(meta)})


def read_model(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read and check a model file: its metadata against the schema, its tensors for finiteness.

    Returns
    -------
    meta : dict
        The JSON metadata, checked against its version's schema.
    tensors : dict of str to torch.Tensor
        Every tensor of the file, on the CPU.

    Raises
    ------
    ModelFileError
        Naming the file and what is wrong with it.
    """
    path = model_path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise ModelFileError(f"{path}: not a safetensors file or corrupt ({exc})") from None
    meta = _parse_metadata(path, metadata.get("ganclust"))
    problem = _tensor_problem(tensors)
    if problem:
        raise ModelFileError(f"{path}: {problem}")
    return meta, tensors


def _tensor_problem(tensors: dict[str, torch.Tensor]) -> str | None:
    """The first tensor of an unexpected type or with NaN or inf values, as a message."""
    for name, tensor in tensors.items():
        if tensor.dtype not in TENSOR_DTYPES:
            return f"tensor {name!r} is of type {str(tensor.dtype).removeprefix('torch.')}"
        if tensor.dtype in FLOAT_DTYPES and not bool(torch.isfinite(tensor).all()):
            return f"tensor {name!r} is not finite (it holds NaN or inf values)"
    return None


def _parse_metadata(path: Path, text: str | None) -> dict[str, Any]:
    if text is None:
        raise ModelFileError(f"{path}: a safetensors file, but not a ganclust model")
    if len(text) > MAX_METADATA_CHARS:
        raise ModelFileError(f"{path}: metadata of {len(text)} characters is too large")
    if _depth(text) > MAX_JSON_DEPTH:
        raise ModelFileError(f"{path}: metadata nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        meta = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise ModelFileError(f"{path}: a safetensors file, but not a ganclust model") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: a safetensors file, but not a ganclust model")
    version = meta.get("format_version")
    if type(version) is not int:
        raise ModelFileError(f"{path}: format_version must be an integer; got {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: saved by a newer ganclust (format {version}); upgrade ganclust"
        )
    if version not in SCHEMAS:
        raise ModelFileError(f"{path}: unknown format_version {version}")
    optional = OPTIONAL_V2 if version == FORMAT_VERSION else {}
    present = {key: sub for key, sub in optional.items() if key in meta}
    problem = check_schema(meta, {**SCHEMAS[version], **present}, "")
    known = set(SCHEMAS[version]) | set(optional)
    unknown = sorted(set(meta) - known) if version == FORMAT_VERSION else []
    if not problem and unknown:
        problem = f"unknown key(s) {', '.join(map(repr, unknown[:3]))}"
    if problem:
        raise ModelFileError(f"{path}: not a usable ganclust model ({problem})")
    return meta


def _depth(text: str) -> int:
    """Deepest nesting of brackets outside strings, without parsing (so without recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def check_schema(value: Any, schema: Any, where: str) -> str | None:
    """The first way ``value`` breaks ``schema``, as a message, or None when it fits."""
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return f"{where or 'metadata'} must be an object"
        for key, sub in schema.items():
            name = f"{where}.{key}" if where else key
            if key not in value:
                return f"missing {name}"
            problem = check_schema(value[key], sub, name)
            if problem:
                return problem
        return None
    types = schema if isinstance(schema, tuple) else (schema,)
    # bool is an int in Python; a schema int never accepts True
    if isinstance(value, bool) and bool not in types:
        return f"{where} must be {'/'.join(t.__name__ for t in types)}; got {value!r}"
    if not isinstance(value, types):
        got = type(value).__name__
        return f"{where} must be {'/'.join(t.__name__ for t in types)}; got {got}"
    return None
