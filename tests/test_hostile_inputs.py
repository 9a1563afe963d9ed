"""Hostile arrays: finite but extreme values, channels-last images, saved scalings that lie.

Extreme values must be standardised as well as ordinary ones (a fit on ``X * 1e300`` gives the
labels of a fit on ``X``), or refused with a message naming the largest magnitude; never turned
into NaN or one cluster silently.
"""

import numpy as np
import pytest
import torch
from conftest import SMALL
from sklearn.datasets import make_blobs

from ganclust import ClusterGAN
from ganclust.nets import resolve_backbone
from ganclust.preprocess import Preprocessor, check_layout, check_sample_shape

FLOAT64_MAX = np.finfo(np.float64).max
WIDE_LONGDOUBLE = np.finfo(np.longdouble).max > FLOAT64_MAX


@pytest.fixture(scope="module")
def blobs():
    X, _ = make_blobs(40, n_features=5, centers=3, random_state=0)
    return X


@pytest.fixture(scope="module")
def fitted(blobs):
    return ClusterGAN(3, **SMALL).fit(blobs)


def _largest_at(X, magnitude):
    """``X`` rescaled so that its largest magnitude is ``magnitude``."""
    return X / np.abs(X).max() * magnitude


SCALES = {
    "1e300": lambda X: X * 1e300,
    "float64-max": lambda X: _largest_at(X, FLOAT64_MAX),
    "1e-300": lambda X: X * 1e-300,
    "subnormal": lambda X: _largest_at(X, 1e-310),
}


@pytest.mark.parametrize("scale", list(SCALES))
def test_extreme_vectors_are_standardised(blobs, scale):
    X = SCALES[scale](blobs)
    t = Preprocessor.fit(X, "float").to_tensor(X)
    assert torch.isfinite(t).all()
    reference = Preprocessor.fit(blobs, "float").to_tensor(blobs)
    tolerance = 1e-3 if scale == "subnormal" else 1e-5  # subnormals carry fewer digits
    np.testing.assert_allclose(t.numpy(), reference.numpy(), atol=tolerance)


@pytest.mark.parametrize("scale", ["1e300", "float64-max", "1e-300"])
def test_fit_on_extreme_vectors_gives_the_labels_of_ordinary_ones(blobs, fitted, scale):
    model = ClusterGAN(3, **SMALL).fit(SCALES[scale](blobs))
    assert np.array_equal(model.labels_, fitted.labels_)
    assert len(np.unique(model.labels_)) > 1


@pytest.mark.parametrize("low, high", [(-FLOAT64_MAX, FLOAT64_MAX), (0.0, 1e-300), (-5.0, -4.0)])
def test_extreme_float_images_map_to_minus_one_one(low, high):
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 1, size=(10, 1, 8, 8))
    X = np.where(X > 0.5, high, low)
    t = Preprocessor.fit(X, "float").to_tensor(X)
    assert torch.isfinite(t).all()
    assert sorted(np.unique(t.numpy()).tolist()) == [-1.0, 1.0]


def test_constant_and_rounding_level_features_are_left_centred(blobs):
    X = blobs.copy()
    X[:, 0] = 0.1
    X[:, 1] = 3.0 + np.where(np.arange(40) % 2, np.spacing(3.0), 0.0)  # 1-ulp wobble
    pre = Preprocessor.fit(X, "float", "per-feature")
    t = pre.to_tensor(X).numpy()
    assert pre.scale[0] == 1.0 and pre.scale[1] == 1.0
    np.testing.assert_allclose(t[:, :2], 0.0, atol=1e-12)
    np.testing.assert_allclose(t[:, 2:].std(axis=0), 1.0, atol=1e-5)


@pytest.mark.skipif(not WIDE_LONGDOUBLE, reason="longdouble is float64 on this platform")
def test_values_beyond_float64_are_refused_with_their_magnitude(blobs):
    X = blobs.astype(np.longdouble) * np.longdouble("1e400")
    with pytest.raises(
        ValueError, match=r"too large to preprocess: the largest magnitude is .*e\+40"
    ):
        ClusterGAN(3, **SMALL).fit(X)


def test_predict_values_beyond_float32_after_scaling_are_refused(fitted, blobs):
    with pytest.raises(ValueError, match=r"too large for this model: the largest magnitude is "):
        fitted.predict(blobs * 1e300)


def test_predict_values_near_the_training_range_still_work(fitted, blobs):
    assert fitted.predict(blobs * 1e3).shape == (40,)


# ------------------------------------------------------------------ channels-last images
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_channels_last_images_are_refused_with_the_transpose(channels):
    X = np.random.RandomState(0).randint(0, 256, size=(40, 16, 16, channels)).astype(np.uint8)
    message = rf"looks channels-last \(N x H x W x C\).*X\.transpose\(0, 3, 1, 2\).*{channels} x 16"
    with pytest.raises(ValueError, match=message):
        ClusterGAN(3, **SMALL).fit(X)


@pytest.mark.parametrize("shape", [(2, 3, 16, 16), (2, 1, 8, 8), (2, 3, 16, 3), (2, 16, 16)])
def test_channels_first_images_pass_the_layout_check(shape):
    check_layout(np.zeros(shape))


def test_predict_names_the_channels_last_transpose():
    with pytest.raises(ValueError, match=r"looks channels-last.*transpose\(0, 3, 1, 2\)"):
        check_sample_shape(np.zeros((2, 16, 16, 3)), (3, 16, 16), "ClusterGAN")


def test_backbone_message_names_the_channels_last_layout():
    with pytest.raises(ValueError, match=r"at least 8x8.*look channels-last"):
        resolve_backbone("conv", (16, 16, 3))
    with pytest.raises(ValueError, match=r"at least 8x8.*backbone='mlp' takes any size"):
        resolve_backbone("conv", (1, 6, 6))


# ------------------------------------------------------------------ saved scalings
def _saved(shape, offset, scale, dtype="float"):
    meta = {"input_shape": shape, "input_dtype": dtype}
    return meta, {"offset": torch.as_tensor(offset), "scale": torch.as_tensor(scale)}


GOOD_VECTORS = ([5], np.zeros(5), np.ones(5))
SAVED_CASES = {
    "vector-offset-short": (([5], np.zeros(3), np.ones(5)), r"offset holds 3 values"),
    "vector-scale-long": (([5], np.zeros(5), np.ones(6)), r"scale holds 6 values"),
    "image-offset-two": (([8, 8], np.zeros(2), np.ones(1)), r"offset holds 2 values; images"),
    "scale-negative": (([5], np.zeros(5), -np.ones(5)), r"scale must be positive"),
    "offset-integer": (([5], np.zeros(5, dtype=np.int64), np.ones(5)), r"1-D float tensor"),
    "offset-2d": (([5], np.zeros((5, 1)), np.ones(5)), r"1-D float tensor"),
    "shape-strings": ((["5"], np.zeros(5), np.ones(5)), r"input_shape must be 1 to 3 positive"),
    "shape-empty": (([], np.zeros(1), np.ones(1)), r"input_shape must be 1 to 3 positive"),
    "shape-zero": (([0], np.zeros(0), np.ones(0)), r"input_shape must be 1 to 3 positive"),
}


@pytest.mark.parametrize("case", list(SAVED_CASES))
def test_saved_scaling_that_does_not_fit_is_refused(case):
    args, problem = SAVED_CASES[case]
    with pytest.raises(ValueError, match=problem):
        Preprocessor.from_saved(*_saved(*args))


def test_saved_scaling_with_an_unknown_dtype_is_refused():
    with pytest.raises(ValueError, match=r"unknown preprocessing.input_dtype 'int8'"):
        Preprocessor.from_saved(*_saved(*GOOD_VECTORS, dtype="int8"))


def test_saved_scaling_that_fits_is_rebuilt():
    pre = Preprocessor.from_saved(*_saved(*GOOD_VECTORS))
    assert pre.input_shape == (5,) and pre.offset.shape == (5,)
