"""The training data's statistics that the preprocessing is fitted from, read in blocks of rows.

Every statistic is computed in float64 on data first divided by each feature's largest magnitude
where plain sums could overflow, so any finite input, up to float64's largest value, is handled; a
memory-mapped array is never copied whole. :func:`vector_scaling` decides ``feature_scaling="auto"``
(see :mod:`ganclust.preprocess`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ._choices import FEATURE_SCALINGS

# values per block of rows that the statistics read at once (32 MiB as float64)
BLOCK_VALUES = 2**22
FLOAT64_MAX = float(np.finfo(np.float64).max)
# feature_scaling="auto" scales vectors per feature when some feature's standard deviation is
# more than this many times the median one: units differ (see docs/benchmarks.md)
SHARED_SPREAD = 10.0

# the two ways a fitted Preprocessor scales vectors ("auto" decides between them)
SCALINGS = tuple(c for c in FEATURE_SCALINGS if c != "auto")


def vector_scaling(spread: np.ndarray, scaling: str) -> str:
    """``scaling`` with "auto" decided from the non-constant features' standard deviations."""
    if scaling != "auto":
        return scaling
    if spread.size == 0:
        return "shared"
    median = float(np.median(spread))
    return "shared" if float(np.max(spread)) <= SHARED_SPREAD * median else "per-feature"


def root_mean_square(spread: np.ndarray) -> float:
    """The features' common scale: the root mean square of their standard deviations (so the
    average feature keeps unit variance), computed without overflow."""
    largest = float(np.max(spread))
    return largest * float(np.sqrt(np.mean(np.square(spread / largest))))


def blocks(X: np.ndarray) -> Iterator[np.ndarray]:
    """``X`` in blocks of rows of about :data:`BLOCK_VALUES` values."""
    step = max(1, BLOCK_VALUES // max(1, int(np.prod(X.shape[1:]))))
    for start in range(0, len(X), step):
        yield X[start : start + step]


def extremes(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature (axis 0) min and max in ``X``'s own dtype; refuses values beyond float64."""
    low = np.min([block.min(axis=0) for block in blocks(X)], axis=0)
    high = np.max([block.max(axis=0) for block in blocks(X)], axis=0)
    if len(X.shape) > 2:
        low, high = low.min(), high.max()
    if X.dtype.kind == "f" and float(max(-np.min(low), np.max(high))) > FLOAT64_MAX:
        raise ValueError(
            f"X holds values too large to preprocess: the largest magnitude is {magnitude(X)}, "
            f"beyond float64's range ({FLOAT64_MAX:.3g}); rescale the data"
        )
    return low, high


# below this magnitude squares cannot overflow, so the plain statistics are safe
PLAIN_LIMIT = 1e150
# the plain statistics' test for a constant feature (a standard deviation at or under this)
PLAIN_CONSTANT = 1e-12


def standardisation(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-feature mean and standard deviation (1 for a constant feature) and which features
    are constant, without overflow for any finite input.

    Ordinary data get the plain ``X.mean(axis=0)`` and ``X.std(axis=0)``, bit for bit what
    earlier versions computed (so a seed keeps its labels); data whose squares could overflow,
    or whose spread is so small that the plain test would call it constant, get the scaled
    computation below.
    """
    low, high = extremes(X)
    if not isinstance(X, np.ndarray):  # an array-like held elsewhere is read in blocks
        return _scaled_standardisation(X, low, high)
    with np.errstate(all="ignore"):
        mean, std = X.mean(axis=0), X.std(axis=0)
    largest = max(float(np.max(np.abs(low), initial=0)), float(np.max(np.abs(high), initial=0)))
    plain = (
        largest < PLAIN_LIMIT
        and np.isfinite(mean).all()
        and np.isfinite(std).all()
        and bool(((std > PLAIN_CONSTANT) | (low == high)).all())
    )
    if plain:
        std = np.asarray(std, float)
        constant = ~(std > PLAIN_CONSTANT)
        return np.asarray(mean, float), np.where(constant, 1.0, std), constant
    return _scaled_standardisation(X, low, high)


def _scaled_standardisation(
    X: np.ndarray, low: np.ndarray, high: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and standard deviation computed on each feature divided by its largest magnitude."""
    low, high = low.astype(np.float64), high.astype(np.float64)
    largest = np.maximum(np.abs(low), np.abs(high))
    # divide by each feature's largest magnitude first: the scaled values lie in [-1, 1]
    unit = np.where(largest > 0, largest, 1.0)
    mean = sum(np.sum(block / unit, axis=0, dtype=np.float64) for block in blocks(X)) / len(X)
    squares = sum(
        np.sum(np.square(block / unit - mean), axis=0, dtype=np.float64) for block in blocks(X)
    )
    variance = squares / len(X)
    offset, scale = mean * unit, np.sqrt(variance) * unit
    # constant features are left centred (at their one value) rather than divided by zero; a
    # variance within rounding of the mean (scikit-learn's bound) counts as constant too
    eps = np.finfo(np.float64).eps
    rounding = len(X) * eps * variance + (len(X) * mean * eps) ** 2
    constant = (low == high) | ~(scale > 0) | (variance <= rounding)
    return np.where(constant, high, offset), np.where(constant, 1.0, scale), constant


def magnitude(X: np.ndarray) -> str:
    """The largest magnitude in ``X``, for a message (any float dtype, even beyond float64)."""
    exact = X.dtype.kind == "f"
    largest = max(np.max(np.abs(block if exact else block.astype(float))) for block in blocks(X))
    return np.format_float_scientific(largest, precision=3)
