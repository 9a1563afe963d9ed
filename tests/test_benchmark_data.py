"""Benchmark stand-in sets built from sklearn's digits (always available, unlike MNIST-10k)."""

import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from _common import DERIVED, load_named  # noqa: E402


@pytest.mark.parametrize(
    ("name", "counts"),
    [
        # digit 0 has only 178 images, so the largest class is all of them
        ("digits-imbalanced", [178, 162, 144, 126, 108, 90, 72, 54, 36, 18]),
        ("digits-imbalanced-reversed", [18, 36, 54, 72, 90, 108, 126, 144, 162, 180]),
    ],
)
def test_digits_imbalanced_has_the_profile_and_real_labelled_digits(name, counts):
    X, y = load_named(name)
    assert X.shape == (sum(counts), 8, 8)
    assert np.bincount(y).tolist() == counts
    digits = load_digits()
    # every image is a distinct digit of sklearn's set, under its own label
    rows = {
        image.tobytes(): label
        for image, label in zip(digits.images.astype(np.float32), digits.target, strict=True)
    }
    assert len({x.tobytes() for x in X}) == len(X)
    assert all(rows[x.tobytes()] == label for x, label in zip(X, y, strict=True))
    # classes are interleaved, not in blocks, and the order is the same on every call
    assert len(np.unique(y[:50])) > 5
    X2, y2 = load_named(name)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)


def test_mnist16_imbalanced_is_the_held_out_profile_at_16x16_in_a_third_order():
    # MNIST-10k is absent here: ten classes of 28x28 images, each marked at its centre by its class
    y = np.repeat(np.arange(10), 1000)
    X = np.zeros((10000, 28, 28), np.uint8)
    X[:, 14, 14] = y * 20
    small, labels = DERIVED["mnist16-imbalanced"](X, y)
    counts = np.bincount(labels, minlength=10)
    assert small.shape == (5500, 16, 16) and small.dtype == np.uint8
    assert sorted(counts.tolist()) == [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
    # not the order of the held-out set or of its two stand-ins
    others = [DERIVED[n](X, y)[1] for n in ("mnist-imbalanced", "mnist-imbalanced-reversed",
                                           "mnist-imbalanced-shuffled")]  # fmt: skip
    assert all(np.bincount(o, minlength=10).tolist() != counts.tolist() for o in others)
    # each image is still its own class's (the marked centre survives the resize)
    centre = small[:, 7:9, 7:9].max(axis=(1, 2))
    assert np.corrcoef(centre, labels)[0, 1] > 0.99


def test_mnist16_imbalanced_reversed_is_the_reversed_stand_in_resized():
    y = np.repeat(np.arange(10), 1000)
    X = np.zeros((10000, 28, 28), np.uint8)
    X[:, 14, 14] = y * 20
    small, labels = DERIVED["mnist16-imbalanced-reversed"](X, y)
    big, big_labels = DERIVED["mnist-imbalanced-reversed"](X, y)
    assert small.shape == (len(big), 16, 16) and np.array_equal(labels, big_labels)
    assert np.bincount(labels, minlength=10).tolist() == list(range(100, 1001, 100))
    # a stand-in to tune on, so not the 16x16 check's class order
    check = DERIVED["mnist16-imbalanced"](X, y)[1]
    assert np.bincount(check, minlength=10).tolist() != np.bincount(labels, minlength=10).tolist()
