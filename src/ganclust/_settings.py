"""Resolution: every ``None`` and ``"auto"`` of a fit decided once, into a frozen ``Settings``.

:func:`resolve` validates an estimator's parameters against the table of
:mod:`ganclust._params`, then decides each automatic value from the data (its shape, kind and
size). The :class:`Settings` it returns is what the rest of the fit reads, what a saved model
records, and what ``run.json`` shows.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ._choices import PRECISIONS
from ._params import PUBLISHED_LEARNING_RATE, resolve_device, validate
from .distributed import rank_device
from .latent import LatentSpec
from .methods import METHODS, NetConfig, Weights
from .nets import resolve_backbone
from .preprocess import Preprocessor

DEFAULT_WIDTH = {"mlp": 256, "conv": 32, "dcgan": 64}
# what None means for latent_dim, batch_size and learning_rate: the article's values for its
# DCGAN, ganclust's for the other backbones
AUTO_SETTINGS = {
    "dcgan": {"latent_dim": 128, "batch_size": 32, "learning_rate": 2e-4},
    "default": {"latent_dim": 30, "batch_size": 64, "learning_rate": 1e-3},
}
# max_epochs=None trains for about this many steps, within these bounds on the epochs: small
# data sets need many epochs, large ones few (see docs/benchmarks.md)
AUTO_STEPS = 1000
AUTO_EPOCHS = (6, 100)
# extra initialisations trained, one at a time, while every run so far has collapsed
COLLAPSE_RESTARTS = 2
# what read_out_neighbors=None means for images (vectors read the head alone)
DEFAULT_READ_OUT_NEIGHBORS = 5
# ClusterGAN's encoder_fake_weight=None: this weight on images with at least this many pixels
LARGE_IMAGE_PIXELS = 28 * 28
LARGE_IMAGE_ENCODER_FAKE_WEIGHT = 0.01


@dataclass(frozen=True)
class Settings:
    """Every setting of one fit, with each ``None`` and ``"auto"`` decided.

    This is what the fit path reads, what a saved model records, and what ``run.json`` shows.
    ``seed`` is the integer every random draw of the fit derives from (drawn when
    ``random_state`` is None, so that the run can be repeated).
    """

    method: str
    n_clusters: int
    adversarial: bool
    nets: NetConfig
    loss: str
    n_critic: int
    learning_rate: float
    betas: tuple[float, float]
    batch_size: int
    max_epochs: int
    tol: float | None
    n_iter_no_change: int
    init: str
    refine: int
    ema: float
    n_init: int
    device: str
    seed: int
    view_strength: float
    read_out_neighbors: int
    weights: Weights = field(default_factory=Weights)
    # float type of the training steps (a model saved before the option existed trained fp32)
    precision: str = "fp32"

    def to_json(self) -> dict[str, Any]:
        """The settings as plain JSON values."""
        out = asdict(self)
        out["betas"] = list(self.betas)
        out["nets"]["data_shape"] = list(self.nets.data_shape)
        return out


def settings_from_json(data: Mapping[str, Any], method: str) -> Settings:
    """Rebuild :class:`Settings` from :meth:`Settings.to_json`, checking every field's type."""
    fields = dict(data)
    nets = dict(fields.pop("nets"))
    latent = LatentSpec(**nets.pop("latent"))
    nets["data_shape"] = tuple(int(v) for v in nets["data_shape"])
    fields["nets"] = NetConfig(**nets, latent=latent)
    fields["weights"] = Weights(**fields["weights"])
    fields["betas"] = tuple(float(v) for v in fields["betas"])
    settings = Settings(**fields)
    if settings.method != method:
        raise ValueError(f"settings of {settings.method!r} in a {method!r} model")
    if settings.precision not in PRECISIONS:
        raise ValueError(f"settings.precision must be one of {', '.join(PRECISIONS)}")
    for name, kind in (("n_clusters", int), ("max_epochs", int), ("seed", int)):
        if type(getattr(settings, name)) is not kind:
            raise ValueError(f"settings.{name} must be an integer")
    for name in ("width",):
        if type(getattr(settings.nets, name)) is not int:
            raise ValueError(f"settings.nets.{name} must be an integer")
    for name in ("noise_dim", "n_clusters", "n_continuous"):
        if type(getattr(latent, name)) is not int:
            raise ValueError(f"settings.nets.latent.{name} must be an integer")
    return settings


def _seed(random_state: Any) -> int:
    """The fit's seed, from which every run's seed is drawn (:func:`run_seeds`).

    An int is used as given, so the same int draws the same runs as it always has; None (or a
    RandomState) draws an int first, which is recorded so the run can be repeated.
    """
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    source = random_state if random_state is not None else np.random.mtrand._rand
    return int(source.randint(0, 2**31 - 1))


def run_seeds(settings: Settings) -> tuple[list[int], int]:
    """One seed per possible initialisation (n_init, then restarts) and one for selection."""
    return seeds_of(settings.seed, settings.n_init)


def seeds_of(seed: int, n_init: int) -> tuple[list[int], int]:
    """:func:`run_seeds` of a fit's seed and ``n_init``, before its settings exist."""
    draws = np.random.RandomState(seed).randint(0, 2**31 - 1, size=n_init + COLLAPSE_RESTARTS + 1)
    return [int(s) for s in draws[:-1]], int(draws[-1])


def fit_seed(random_state: Any) -> int:
    """The fit's seed (see :func:`_seed`), for the steps that need it before :func:`resolve`."""
    return _seed(random_state)


def _epochs(max_epochs: int | None, n_samples: int, batch_size: int) -> int:
    if max_epochs is not None:
        return int(max_epochs)
    steps_per_epoch = max(1, n_samples // batch_size)
    return int(np.clip(-(-AUTO_STEPS // steps_per_epoch), *AUTO_EPOCHS))


def _encoder_fake_weight(value: float | None, pre: Preprocessor, shape: tuple[int, ...]) -> float:
    if value is not None:
        return float(value)
    large = pre.is_image and shape[-2] * shape[-1] >= LARGE_IMAGE_PIXELS
    return LARGE_IMAGE_ENCODER_FAKE_WEIGHT if large else 1.0


def _latent(params: Mapping[str, Any], method: str, k: int, auto: dict[str, Any]) -> LatentSpec:
    return LatentSpec(
        noise_dim=params["latent_dim"] or auto["latent_dim"],
        n_clusters=k,
        sigma=params.get("sigma", 1.0),
        n_continuous=params.get("n_continuous", 0),
        conditional=METHODS[method].conditional,
    )


def _weights(params: Mapping[str, Any], opts: dict[str, Any], pre: Preprocessor) -> Weights:
    return Weights(
        beta_n=params.get("beta_n", 10.0),
        beta_c=params.get("beta_c", 10.0),
        encoder_fake_weight=_encoder_fake_weight(
            opts.get("encoder_fake_weight"), pre, pre.data_shape
        ),
        info_weight=params.get("info_weight", 1.0),
        consistency=float(opts["consistency"]),
        augment_strength=float(opts["augment_strength"]),
        init_weight=float(opts["init_weight"]),
    )


def check_fit(params: Mapping[str, Any], method: str, n_samples: int) -> dict[str, Any]:
    """Validate ``params`` against the table and the data; return the merged options.

    Raises
    ------
    ValueError
        Naming the first parameter or option that is not accepted, or that the data refuses.
    """
    if n_samples < 2:  # before the parameters: with one sample, no parameter can help
        raise ValueError(f"clustering needs at least 2 samples; got n_samples={n_samples}")
    opts = validate(params, method)
    _check_fit(params, opts, n_samples)
    return opts


def _check_fit(params: Mapping[str, Any], opts: dict[str, Any], n_samples: int) -> None:
    """Constraints between parameters and the data that no single rule can state."""
    k = params["n_clusters"]
    if k == "auto":
        if n_samples < 6:
            raise ValueError(
                'n_clusters="auto" needs at least 6 samples to compare two or more K; got '
                f"n_samples={n_samples}"
            )
    elif k > n_samples:
        raise ValueError(
            f"n_clusters={k} must be at most the number of samples (n_samples={n_samples})"
        )
    if not params["adversarial"] and opts["consistency"] == 0 and opts["init"] == "random":
        raise ValueError(
            "adversarial=False trains the clustering head on pseudo-labels and consistency, "
            "but this recipe or these options turn both off; set options={'init': 'tsne'}"
        )


def resolve(params: Mapping[str, Any], method: str, pre: Preprocessor, n_samples: int) -> Settings:
    """Validate ``params`` (an estimator's ``get_params()``) and decide every automatic value.

    Parameters
    ----------
    params : mapping
        The estimator's parameters.
    method : str
        "clustergan", "infogan" or "catgan".
    pre : Preprocessor
        The preprocessing fitted on the training data (its shape and kind).
    n_samples : int
        Number of training samples.

    Returns
    -------
    Settings
    """
    opts = check_fit(params, method, n_samples)
    k = params["n_clusters"]
    if k == "auto":
        raise ValueError('resolve needs n_clusters decided; estimate "auto" first')
    backbone = resolve_backbone(params["backbone"], pre.data_shape)
    auto = AUTO_SETTINGS.get(backbone, AUTO_SETTINGS["default"])
    recipe_lr = PUBLISHED_LEARNING_RATE.get(method) if params["recipe"] == "published" else None
    batch_size = params["batch_size"] or auto["batch_size"]
    adversarial = bool(params["adversarial"])
    width = opts["width"] or DEFAULT_WIDTH[backbone]
    latent = _latent(params, method, k, auto)
    loss = opts.get("loss", "bce")
    neighbors = opts["read_out_neighbors"]
    if neighbors is None:
        neighbors = DEFAULT_READ_OUT_NEIGHBORS if pre.is_image else 0
    return Settings(
        method=method,
        n_clusters=k,
        adversarial=adversarial,
        nets=NetConfig(backbone, tuple(pre.data_shape), width, latent, adversarial=adversarial),
        loss=loss,
        n_critic=opts["n_critic"],
        learning_rate=float(params["learning_rate"] or recipe_lr or auto["learning_rate"]),
        betas=(0.5, 0.9) if loss == "wgan-gp" else (0.5, 0.999),
        batch_size=int(batch_size),
        max_epochs=_epochs(params["max_epochs"], n_samples, batch_size),
        tol=opts["tol"],
        n_iter_no_change=opts["n_iter_no_change"],
        init=opts["init"],
        refine=opts["refine"],
        ema=float(opts["ema"]),
        n_init=params["n_init"],
        device=str(rank_device(resolve_device(params["device"]))),
        seed=_seed(params["random_state"]),
        # the shifted views scale with the training augmentation, which taught the head to give
        # them the same cluster; 0 reads each sample alone
        view_strength=float(opts["augment_strength"]) if opts["test_time_augmentation"] else 0.0,
        read_out_neighbors=int(neighbors),
        weights=_weights(params, opts, pre),
        precision=opts["precision"],
    )
