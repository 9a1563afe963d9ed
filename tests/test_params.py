"""The parameter table (ganclust._params): every estimator's signature matches its constraints,
is documented, and is validated; the research options are validated the same way; the recipes
resolve to what they promise."""

import inspect
import re

import numpy as np
import pytest
from conftest import METHODS, TINY, by_method

from ganclust import CatGAN, ClusterGAN, InfoGAN
from ganclust._params import OPTIONS, PARAMETERS, options_for, validate
from ganclust._settings import resolve
from ganclust.preprocess import Preprocessor

# 17: max_clusters joined n_clusters="auto" (the cap keeps the signature small on purpose)
MAX_PUBLIC_PARAMETERS = 17

# one value each parameter refuses, and the estimator to give it to
BAD_PARAMETERS = {
    "n_clusters": (ClusterGAN, 1),
    "max_clusters": (InfoGAN, 1),
    "latent_dim": (ClusterGAN, 0),
    "sigma": (ClusterGAN, 0.0),
    "beta_n": (ClusterGAN, -1.0),
    "beta_c": (ClusterGAN, float("nan")),
    "n_continuous": (InfoGAN, -1),
    "info_weight": (InfoGAN, -0.5),
    "backbone": (CatGAN, "resnet"),
    "adversarial": (ClusterGAN, "yes"),
    "recipe": (InfoGAN, "paper"),
    "options": (ClusterGAN, ["width", 16]),
    "max_epochs": (ClusterGAN, 0),
    "batch_size": (CatGAN, 2.5),
    "learning_rate": (ClusterGAN, 0.0),
    "n_init": (InfoGAN, 0),
    "device": (ClusterGAN, "tpu"),
    "random_state": (ClusterGAN, "seed"),
    "verbose": (ClusterGAN, "loud"),
}
# one value each research option refuses, and an estimator it applies to
BAD_OPTIONS = {
    "init": (ClusterGAN, "pca"),
    "init_weight": (ClusterGAN, -1.0),
    "refine": (InfoGAN, 1.5),
    "ema": (ClusterGAN, 1.0),
    "consistency": (CatGAN, -0.1),
    "augment_strength": (ClusterGAN, -1.0),
    "width": (ClusterGAN, 0),
    "test_time_augmentation": (ClusterGAN, 1),
    "read_out_neighbors": (ClusterGAN, -1),
    "tol": (ClusterGAN, -1e-4),
    "n_iter_no_change": (CatGAN, 0),
    "loss": (ClusterGAN, "x"),
    "n_critic": (InfoGAN, 0),
    "encoder_fake_weight": (ClusterGAN, 0.0),
    "precision": (InfoGAN, "fp16"),
    "feature_scaling": (CatGAN, "whiten"),
}


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).randn(30, 5)


def _settings(cls, X, **params):
    """What ``cls(**params).fit(X)`` would train with."""
    pre = Preprocessor.fit(X, "uint8" if X.dtype == np.uint8 else "float")
    return resolve(cls(**params).get_params(), cls._method_name, pre, len(X))


# ---------------------------------------------------------------- the signatures
@by_method
def test_parameters_are_the_constraint_table(cls):
    params = cls().get_params()
    assert set(params) == set(cls._parameter_constraints)
    assert len(params) <= MAX_PUBLIC_PARAMETERS, sorted(params)
    assert all(cls._parameter_constraints[name] is PARAMETERS[name] for name in params)
    # flat and keyword-only after n_clusters, with no **kwargs
    signature = inspect.signature(cls.__init__).parameters
    kinds = {name: p.kind for name, p in signature.items() if name != "self"}
    assert kinds.pop("n_clusters") is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert set(kinds.values()) == {inspect.Parameter.KEYWORD_ONLY}


def _documented(cls) -> list[str]:
    doc = inspect.cleandoc(cls.__doc__)
    section = re.search(r"^Parameters\n-+\n(.*?)(?=^\w[^\n]*\n-+\n|\Z)", doc, re.M | re.S)
    assert section, f"{cls.__name__} has no Parameters section"
    return re.findall(r"^(\w+) :", section.group(1), re.M)


@by_method
def test_every_parameter_is_documented(cls):
    documented = _documented(cls)
    assert len(documented) == len(set(documented)), documented
    assert set(documented) == set(cls().get_params())
    # in the signature's order
    assert documented == [n for n in inspect.signature(cls.__init__).parameters if n != "self"]


def test_every_parameter_and_option_has_a_bad_value_here():
    assert set(BAD_PARAMETERS) == set(PARAMETERS)
    assert set(BAD_OPTIONS) == set(OPTIONS)


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("name", sorted(BAD_PARAMETERS))
def test_a_bad_value_of_every_parameter_is_refused_naming_it(name, X):
    cls, value = BAD_PARAMETERS[name]
    model = cls(**{**TINY, name: value})  # __init__ only stores
    assert model.get_params()[name] is value
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        model.fit(X)
    assert not hasattr(model, "state_")


@pytest.mark.parametrize("name", sorted(BAD_OPTIONS))
def test_a_bad_value_of_every_option_is_refused_naming_it(name, X):
    cls, value = BAD_OPTIONS[name]
    with pytest.raises(ValueError, match=re.escape(f"options[{name!r}]")):
        cls(3, **{**TINY, "options": {name: value}}).fit(X)


@pytest.mark.parametrize(
    "cls, options, unknown",
    [
        (ClusterGAN, {"nope": 1}, "nope"),
        (ClusterGAN, {"width": 16, "refine": 0, "Width": 8}, "Width"),
        (CatGAN, {"loss": "bce"}, "loss"),
        (CatGAN, {"n_critic": 2, "encoder_fake_weight": 1.0}, "encoder_fake_weight"),
        (InfoGAN, {"encoder_fake_weight": 1.0}, "encoder_fake_weight"),
    ],
)
def test_unknown_options_are_refused(cls, options, unknown, X):
    method = cls._method_name
    with pytest.raises(ValueError, match=rf"unknown option\(s\) '{unknown}' for {method}"):
        cls(3, **{**TINY, "options": options}).fit(X)


def test_options_that_apply_to_each_method():
    assert set(options_for("clustergan")) == set(OPTIONS)
    assert set(OPTIONS) - set(options_for("infogan")) == {"encoder_fake_weight"}
    assert set(OPTIONS) - set(options_for("catgan")) == {"encoder_fake_weight", "loss"}


@pytest.mark.parametrize(
    "value, ok", [(0, True), (2, True), (True, True), (2.0, False), ("3", False)]
)
def test_verbose_takes_integers_and_booleans(value, ok):
    params = ClusterGAN(3, verbose=value).get_params()
    if ok:
        validate(params, "clustergan")
    else:
        with pytest.raises(ValueError, match="verbose must be an integer"):
            validate(params, "clustergan")


@pytest.mark.parametrize(
    "name, value", [("n_clusters", True), ("random_state", True), ("random_state", 2**32)]
)
def test_booleans_are_not_integers_and_seeds_are_bounded(name, value, X):
    with pytest.raises(ValueError, match=name):
        ClusterGAN(**{**TINY, name: value}).fit(X)


def test_options_are_merged_over_the_defaults():
    params = ClusterGAN(3, options={"refine": 0, "loss": "hinge"}).get_params()
    merged = validate(params, "clustergan")
    assert merged["refine"] == 0 and merged["loss"] == "hinge"
    assert merged["init"] == "auto" and merged["ema"] == 0.999
    assert params["options"] == {"refine": 0, "loss": "hinge"}  # the user's dict is untouched
    assert "loss" not in validate(CatGAN(3).get_params(), "catgan")


# ---------------------------------------------------------------- resolution and recipes
@pytest.mark.parametrize("kind", ["vectors", "images"])
def test_the_default_recipe(kind):
    shape = (40, 8, 8) if kind == "images" else (40, 5)
    X = np.random.RandomState(0).rand(*shape)
    settings = _settings(ClusterGAN, X, n_clusters=3)
    assert settings.init == "auto" and settings.refine == 1
    assert settings.ema == 0.999 and settings.weights.consistency == 1.0
    assert settings.loss == "bce" and settings.n_critic == 1 and settings.learning_rate == 1e-3
    assert settings.betas == (0.5, 0.999)
    # the views are the training augmentation's size (vectors have none: read_out_views gives
    # them no views); the vote reads images, and vectors are read by the head alone
    assert settings.view_strength == 1.0
    assert settings.read_out_neighbors == (5 if kind == "images" else 0)
    assert settings.nets.backbone == ("conv" if kind == "images" else "mlp")
    assert settings.nets.width == (32 if kind == "images" else 256)


@by_method
@pytest.mark.parametrize("kind", ["vectors", "images"])
def test_the_published_recipe_turns_off_ganclusts_extras(cls, kind):
    shape = (40, 8, 8) if kind == "images" else (40, 5)
    X = np.random.RandomState(0).rand(*shape)
    settings = _settings(cls, X, n_clusters=3, recipe="published")
    assert settings.init == "random"
    assert settings.refine == 0
    assert settings.weights.consistency == 0.0
    assert settings.ema == 0.0
    assert settings.read_out_neighbors == 0
    assert settings.view_strength == 0.0
    if cls is ClusterGAN:
        # the paper's WGAN-GP, five critic steps and Adam at 1e-4
        assert settings.loss == "wgan-gp" and settings.n_critic == 5
        assert settings.learning_rate == 1e-4 and settings.betas == (0.5, 0.9)
        assert settings.weights.encoder_fake_weight == 1.0
    else:
        assert settings.loss == "bce" and settings.n_critic == 1
        assert settings.learning_rate == 1e-3


def test_an_explicit_option_or_parameter_overrides_the_recipe():
    X = np.random.RandomState(0).rand(40, 8, 8)
    options = {
        "refine": 2,
        "read_out_neighbors": 3,
        "loss": "hinge",
        "test_time_augmentation": True,
    }
    settings = _settings(
        ClusterGAN, X, n_clusters=3, recipe="published", options=options, learning_rate=5e-4
    )
    assert settings.refine == 2 and settings.read_out_neighbors == 3
    assert settings.loss == "hinge" and settings.betas == (0.5, 0.999)
    assert settings.view_strength == 1.0
    assert settings.learning_rate == 5e-4
    # what the option does not name keeps the recipe's value
    assert settings.init == "random" and settings.ema == 0.0 and settings.n_critic == 5


def test_max_epochs_none_trains_about_1000_steps_within_6_to_100_epochs():
    def epochs(n_samples, **params):
        X = np.random.RandomState(0).rand(n_samples, 3)
        return _settings(ClusterGAN, X, n_clusters=3, **params).max_epochs

    assert epochs(1797) == 36  # sklearn digits: 28 steps of 64 an epoch
    assert epochs(10_000) == 7  # 156 steps an epoch
    assert epochs(20_000) == 6  # 312 steps an epoch: the lower bound
    assert epochs(60, batch_size=32) == 100  # the upper bound
    assert epochs(1797, max_epochs=7) == 7


def test_automatic_values_follow_the_backbone():
    X = np.random.RandomState(0).rand(20, 28, 28)
    dcgan = _settings(CatGAN, X, n_clusters=3, backbone="dcgan")
    assert (dcgan.nets.latent.noise_dim, dcgan.batch_size, dcgan.learning_rate) == (128, 32, 2e-4)
    assert dcgan.nets.width == 64
    conv = _settings(CatGAN, X, n_clusters=3)
    assert (conv.nets.latent.noise_dim, conv.batch_size, conv.learning_rate) == (30, 64, 1e-3)


def test_the_seed_is_drawn_once_and_recorded():
    X = np.random.RandomState(0).rand(20, 3)
    assert _settings(ClusterGAN, X, n_clusters=3, random_state=7).seed == 7
    a = _settings(ClusterGAN, X, n_clusters=3, random_state=np.random.RandomState(1)).seed
    b = _settings(ClusterGAN, X, n_clusters=3, random_state=np.random.RandomState(1)).seed
    assert a == b and 0 <= a < 2**31


def test_settings_are_frozen_and_round_trip_through_json():
    from dataclasses import FrozenInstanceError

    from ganclust._settings import settings_from_json

    X = np.random.RandomState(0).rand(20, 8, 8)
    for cls in METHODS:
        settings = _settings(cls, X, n_clusters=3, options={"width": 8})
        with pytest.raises(FrozenInstanceError):
            settings.refine = 3
        assert settings_from_json(settings.to_json(), cls._method_name) == settings
