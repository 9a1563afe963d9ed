"""Validation of estimator parameters that are not plain numbers."""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .losses import check_loss
from .manifold import INITS
from .methods import ESTIMATOR_WEIGHTS
from .nets import BACKBONES

DEVICE_TYPES = ("cpu", "cuda", "mps")


def resolve_device(device: str) -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"mps"`` into a usable device.

    Raises
    ------
    ValueError
        For an unknown device string, or a device this machine does not have.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        resolved = None
    if resolved is None or resolved.type not in DEVICE_TYPES:
        raise ValueError(
            f"unknown device {device!r}; expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
        )
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} but CUDA is not available on this machine")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} but this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} but MPS is not available on this machine")
    return resolved


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(choices)}")


def check_number(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    integer: bool = False,
    strict_low: bool = False,
) -> None:
    """Raise ``ValueError`` unless ``value`` is a number in the given range."""
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f"{name} must be {'an integer' if integer else 'a number'}; got {value!r}")
    if low is not None and (value <= low if strict_low else value < low):
        raise ValueError(f"{name} must be {'>' if strict_low else '>='} {low}; got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}; got {value!r}")


def check_common(params: dict[str, object], n_samples: int) -> None:
    """Validate the parameters every estimator shares."""
    if n_samples < 2:
        raise ValueError(f"clustering needs at least 2 samples; got n_samples={n_samples}")
    n_clusters = params["n_clusters"]
    check_number("n_clusters", n_clusters, low=2, integer=True)
    if n_clusters > n_samples:  # type: ignore[operator]
        raise ValueError(
            f"n_clusters={n_clusters} must be at most the number of samples (n_samples={n_samples})"
        )
    check_choice("backbone", params["backbone"], BACKBONES)
    check_choice("init", params["init"], INITS)
    if "loss" in params:
        check_loss(str(params["loss"]))
    for name in (
        "latent_dim",
        "n_critic",
        "batch_size",
        "max_epochs",
        "n_iter_no_change",
        "n_init",
    ):
        if params.get(name) is not None:
            check_number(name, params[name], low=1, integer=True)
    if "ema" in params:
        check_number("ema", params["ema"], low=0)
        if params["ema"] >= 1:
            raise ValueError(f"ema must be < 1 (0 turns the average off); got {params['ema']!r}")
    if "refine" in params:
        check_number("refine", params["refine"], low=0, integer=True)
    if params.get("read_out_neighbors") is not None:
        check_number("read_out_neighbors", params["read_out_neighbors"], low=0, integer=True)
    if params.get("width") is not None:
        check_number("width", params["width"], low=1, integer=True)
    for name in ("sigma", "learning_rate"):
        if params.get(name) is not None:
            check_number(name, params[name], low=0, strict_low=True)
    for name in ESTIMATOR_WEIGHTS:
        # encoder_fake_weight=None means "by data kind" (see ClusterGAN); 0 would leave the
        # generator's share of the inversion loss undefined, so it must be positive
        if name == "encoder_fake_weight":
            if params.get(name) is not None:
                check_number(name, params[name], low=0, strict_low=True)
        elif name in params:
            check_number(name, params[name], low=0)
    tta = params.get("test_time_augmentation", False)
    if not isinstance(tta, (bool, np.bool_)):
        raise ValueError(f"test_time_augmentation must be True or False; got {tta!r}")
    if params.get("tol") is not None:
        check_number("tol", params["tol"], low=0)
