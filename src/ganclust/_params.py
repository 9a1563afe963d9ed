"""Every estimator parameter and research option in one declarative table.

:data:`PARAMETERS` constrains the public parameters (the estimators' signatures), :data:`OPTIONS`
the research knobs passed in ``options=`` (in the manner of UMAP's ``metric_kwds``), and
:data:`RECIPES` names sets of options. :func:`validate` checks an estimator's parameters against
the table before anything is computed (:mod:`ganclust._settings` then decides every automatic
value). The CLI builds its flags and their help from the same table.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ._choices import BACKBONES, FEATURE_SCALINGS, INITS, PRECISIONS

if TYPE_CHECKING:
    import torch

LOSSES = ("bce", "wgan-gp", "hinge")
DEVICE_TYPES = ("cpu", "cuda", "mps")


@dataclass(frozen=True)
class Rule:
    """What values one parameter or option accepts, and a one-line description.

    ``kind`` is "int", "float", "choice", "bool", "options", "random_state" or "device";
    ``low``/``high`` bound numbers (``strict_low``/``strict_high`` exclude the bound), ``none``
    admits None, ``choices`` lists the accepted strings, ``keyword`` is a word a number also
    accepts. ``auto`` says what None (or "auto") resolves to, for the help text.
    """

    kind: str
    help: str
    low: float | None = None
    high: float | None = None
    strict_low: bool = False
    strict_high: bool = False
    none: bool = False
    choices: tuple[str, ...] = ()
    auto: str = ""
    # the estimators an option applies to (empty: all)
    methods: tuple[str, ...] = ()
    # whether True/False count as the integers 1/0 (``verbose``)
    allow_bool: bool = False
    # a word a number also accepts in its place (``n_clusters="auto"``)
    keyword: str = ""

    def check(self, name: str, value: Any) -> None:
        """Raise ``ValueError`` naming ``name`` unless ``value`` satisfies the rule."""
        if value is None and self.none:
            return
        _CHECKS[self.kind](name, value, self)


def _check_choice(name: str, value: Any, rule: Rule) -> None:
    if not isinstance(value, str) or value not in rule.choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(rule.choices)}")


def _check_bool(name: str, value: Any, rule: Rule) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}")


def _check_options(name: str, value: Any, rule: Rule) -> None:
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a dict of research options or None; got {value!r}")


def _check_random_state(name: str, value: Any, rule: Rule) -> None:
    integer = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not (integer or isinstance(value, np.random.RandomState)):
        raise ValueError(f"{name} must be None, an int or a numpy RandomState; got {value!r}")
    if integer and not 0 <= value < 2**32:
        raise ValueError(f"{name} must be in 0 .. 2**32 - 1; got {value!r}")


def _check_device(name: str, value: Any, rule: Rule) -> None:
    resolve_device(value)


def _check_number(name: str, value: Any, rule: Rule) -> None:
    integer = rule.kind == "int"
    if rule.keyword and isinstance(value, str) and value == rule.keyword:
        return
    kind = numbers.Integral if integer else numbers.Real
    if (isinstance(value, bool) and not rule.allow_bool) or not isinstance(value, kind):
        expected = "an integer" if integer else "a number"
        if rule.keyword:
            expected += f" or {rule.keyword!r}"
        raise ValueError(f"{name} must be {expected}; got {value!r}")
    if not integer and not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value!r}")
    low, high = rule.low, rule.high
    if low is not None and (value <= low if rule.strict_low else value < low):
        raise ValueError(f"{name} must be {'>' if rule.strict_low else '>='} {low}; got {value!r}")
    if high is not None and (value >= high if rule.strict_high else value > high):
        raise ValueError(
            f"{name} must be {'<' if rule.strict_high else '<='} {high}; got {value!r}"
        )


_CHECKS = {
    "int": _check_number,
    "float": _check_number,
    "choice": _check_choice,
    "bool": _check_bool,
    "options": _check_options,
    "random_state": _check_random_state,
    "device": _check_device,
}


def _int(help: str, low: int = 1, **kw: Any) -> Rule:
    return Rule("int", help, low=low, **kw)


def _real(help: str, low: float = 0.0, **kw: Any) -> Rule:
    return Rule("float", help, low=low, **kw)


PARAMETERS: dict[str, Rule] = {
    "n_clusters": _int(
        "number of clusters K, or 'auto' to estimate it",
        low=2,
        keyword="auto",
        auto="estimated from the data, up to max_clusters",
    ),
    "max_clusters": _int("largest K that n_clusters='auto' considers", low=2),
    "latent_dim": _int(
        "width of the generator's Gaussian noise", none=True, auto="128 for dcgan, else 30"
    ),
    "sigma": _real("standard deviation of ClusterGAN's noise part z_n", strict_low=True),
    "beta_n": _real("weight of ClusterGAN's inversion loss on the noise part z_n"),
    "beta_c": _real("weight of ClusterGAN's inversion loss on the cluster code z_c"),
    "n_continuous": _int("number of InfoGAN's continuous codes", low=0),
    "info_weight": _real("weight of InfoGAN's mutual-information term"),
    "backbone": Rule(
        "choice", "network family", choices=BACKBONES, auto="conv for images, mlp for vectors"
    ),
    "adversarial": Rule(
        "bool", "train the GAN (True) or only the clustering head on real data (False)"
    ),
    "recipe": Rule("choice", "named set of options: ganclust's or the paper's", choices=()),
    "options": Rule("options", "research options (see ganclust fit --help-all)", none=True),
    "max_epochs": _int(
        "passes over the data before refinement",
        none=True,
        auto="about 1000 steps, between 6 and 100 epochs",
    ),
    "batch_size": _int("samples per step", none=True, auto="32 for dcgan, else 64"),
    "learning_rate": _real(
        "Adam's step size", strict_low=True, none=True, auto="the recipe's and backbone's"
    ),
    "n_init": _int("initialisations trained; the best is kept (from 3: taught their consensus)"),
    "device": Rule("device", "'auto' (CUDA when available), 'cpu', 'cuda', 'cuda:N' or 'mps'"),
    "random_state": Rule("random_state", "seed of everything random", none=True),
    "verbose": _int("1 shows a progress bar", low=0, allow_bool=True),
}

OPTIONS: dict[str, Rule] = {
    "feature_scaling": Rule(
        "choice",
        "how vectors are scaled after centring: each feature by its own standard deviation "
        "(per-feature: columns in different units), all by one (shared: PCA components, "
        "embeddings), or auto: shared unless a feature's spread exceeds 10x the median one",
        choices=FEATURE_SCALINGS,
    ),
    "init": Rule(
        "choice",
        "pseudo-labels the head starts from: t-SNE + GMM of the data (tsne) or of an "
        "autoencoder's code (autoencoder), k-means, or none (random); auto: on vectors that "
        "a K-component Gaussian mixture describes, that mixture, else tsne",
        choices=INITS,
    ),
    "init_weight": _real("weight of the pseudo-labels' cross-entropy"),
    "refine": _int("rounds of refinement on the learned features", low=0),
    "ema": _real("decay of the weights' moving average (0: none)", strict_high=True, high=1.0),
    "consistency": _real("weight of the augmentation-consistency (IIC) term"),
    "augment_strength": _real("size of the training augmentations"),
    "width": _int("base width of the networks", none=True, auto="256 mlp, 32 conv, 64 dcgan"),
    "test_time_augmentation": Rule("bool", "read images with four fixed shifted views"),
    "read_out_neighbors": _int(
        "nearest training samples whose read-out is averaged (0: none)",
        low=0,
        none=True,
        auto="5 for images, 0 for vectors",
    ),
    "tol": _real("stop when the monitored loss improves less than this", none=True),
    "n_iter_no_change": _int("patience of the stop criterion, in epochs"),
    "loss": Rule("choice", "adversarial loss", choices=LOSSES, methods=("clustergan", "infogan")),
    "n_critic": _int("discriminator updates per generator update"),
    "encoder_fake_weight": _real(
        "scales what ClusterGAN's encoder learns from generated samples",
        strict_low=True,
        none=True,
        auto="0.01 on images of 28x28 or more, else 1",
        methods=("clustergan",),
    ),
    "precision": Rule(
        "choice",
        "float type of the training steps: fp32, or bf16 autocast (faster where the CPU or GPU "
        "has bf16 arithmetic)",
        choices=PRECISIONS,
    ),
}

DEFAULT_OPTIONS: dict[str, Any] = {
    "feature_scaling": "auto",
    "init": "auto",
    "init_weight": 20.0,
    "refine": 1,
    "ema": 0.999,
    "consistency": 1.0,
    "augment_strength": 1.0,
    "width": None,
    "test_time_augmentation": True,
    "read_out_neighbors": None,
    "tol": 1e-4,
    "n_iter_no_change": 10,
    "loss": "bce",
    "n_critic": 1,
    "encoder_fake_weight": None,
    "precision": "fp32",
}

# "published" turns off every step ganclust adds; ClusterGAN's paper trains with WGAN-GP, five
# critic steps and Adam at 1e-4
RECIPES: dict[str, dict[str, Any]] = {
    "default": {},
    "published": {
        "feature_scaling": "per-feature",
        "init": "random",
        "refine": 0,
        "ema": 0.0,
        "consistency": 0.0,
        "test_time_augmentation": False,
        "read_out_neighbors": 0,
        "encoder_fake_weight": 1.0,
    },
}
PUBLISHED_BY_METHOD: dict[str, dict[str, Any]] = {
    "clustergan": {"loss": "wgan-gp", "n_critic": 5},
}
PUBLISHED_LEARNING_RATE = {"clustergan": 1e-4}
PARAMETERS["recipe"] = Rule("choice", PARAMETERS["recipe"].help, choices=tuple(RECIPES), auto="")


def options_for(method: str) -> dict[str, Rule]:
    """The research options that apply to ``method``."""
    return {k: r for k, r in OPTIONS.items() if not r.methods or method in r.methods}


def validate(params: Mapping[str, Any], method: str) -> dict[str, Any]:
    """Check every parameter and option; return the options merged over the recipe's.

    Raises
    ------
    ValueError
        Naming the first parameter or option whose value is not accepted, or an unknown option.
    """
    for name, value in params.items():
        PARAMETERS[name].check(name, value)
    allowed = options_for(method)
    given = dict(params.get("options") or {})
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ValueError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for {method}; "
            f"expected some of {', '.join(sorted(allowed))}"
        )
    for name, value in given.items():
        allowed[name].check(f"options[{name!r}]", value)
    recipe = params.get("recipe", "default")
    merged = {k: v for k, v in DEFAULT_OPTIONS.items() if k in allowed}
    if recipe == "published":
        merged.update(RECIPES["published"])
        merged.update(PUBLISHED_BY_METHOD.get(method, {}))
    merged = {k: v for k, v in merged.items() if k in allowed}
    merged.update(given)
    return merged


def resolve_device(device: Any) -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"mps"`` into a usable device.

    Raises
    ------
    ValueError
        For an unknown device string, or a device this machine does not have.
    """
    import torch  # here, so that the CLI's parser, built from this table, needs no torch

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
