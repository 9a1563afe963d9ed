"""Input validation and the preprocessing that is fitted in ``fit`` and stored with a model.

Vectors (N x D) are centred per feature and then scaled in one of two ways (``feature_scaling``):
"per-feature" divides each feature by its own standard deviation, as the ClusterGAN article does,
which suits tables whose columns have different units; "shared" divides every feature by one
common scale, which keeps the features' relative spread, the signal of PCA components, embeddings
and coordinates that share a unit. "auto" takes "shared" unless some feature's standard deviation
is more than 10 times the median one (different units). Images (N x H x W or
N x C x H x W) are scaled from their intensity range to [-1, 1], the range of the generator's tanh:
uint8 images from [0, 255], float images from the training data's min and max.

The statistics are computed in float64 on data first divided by each feature's largest magnitude,
so any finite input, up to float64's largest value, is standardised without overflow; they are
read in blocks of rows, so a memory-mapped array is never copied whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._statistics import (
    SCALINGS,
    blocks,
    extremes,
    magnitude,
    root_mean_square,
    standardisation,
    vector_scaling,
)

FLOAT32_MAX = float(np.finfo(np.float32).max)
CHANNEL_COUNTS = (1, 3, 4)


@dataclass
class Preprocessor:
    """A fitted mapping between user arrays and the networks' tensors.

    Attributes
    ----------
    input_shape : tuple of int
        Shape of one sample as the user gave it, e.g. ``(64,)``, ``(28, 28)`` or ``(3, 32, 32)``.
    input_dtype : str
        ``"uint8"`` when fitted on uint8 images (samples come back as uint8), else ``"float"``.
    offset, scale : numpy.ndarray
        Per-feature (vectors) or scalar (images) shift and scale: ``t = (x - offset) / scale``.
    scaling : str
        How vectors were scaled: "per-feature" or "shared" (every feature by the same scale);
        "range" for images.
    """

    input_shape: tuple[int, ...]
    input_dtype: str
    offset: np.ndarray
    scale: np.ndarray
    scaling: str = "range"

    @property
    def is_image(self) -> bool:
        """Whether samples are images."""
        return len(self.input_shape) >= 2

    @property
    def data_shape(self) -> tuple[int, ...]:
        """Shape of one sample as the networks see it: ``(D,)`` or ``(C, H, W)``."""
        if len(self.input_shape) == 2:
            return (1, *self.input_shape)
        return self.input_shape

    @classmethod
    def fit(cls, X: np.ndarray, input_dtype: str, scaling: str = "auto") -> Preprocessor:
        """Fit on validated training data ``X``.

        ``scaling`` ("auto", "per-feature" or "shared") is how vectors are scaled (see the module's
        docstring); images ignore it.

        Raises
        ------
        ValueError
            If ``X`` looks like channels-last images (see :func:`check_layout`), or holds values
            beyond float64's range.
        """
        check_layout(X)
        if len(X.shape) == 2:
            offset, scale, constant = standardisation(X)
            scaling = vector_scaling(scale[~constant], scaling)
            if scaling == "shared" and not constant.all():
                scale = np.full_like(scale, root_mean_square(scale[~constant]))
            return cls(tuple(X.shape[1:]), input_dtype, offset, scale, scaling)
        if input_dtype == "uint8":
            offset, scale = np.array(127.5), np.array(127.5)
        else:
            low, high = (float(v) for v in extremes(X))
            # halves first: high + low and high - low may overflow; halving is exact
            offset = np.array(high / 2 + low / 2)
            scale = np.array(high / 2 - low / 2 if high > low else 1.0)
        return cls(
            tuple(X.shape[1:]), input_dtype, np.asarray(offset, float), np.asarray(scale, float)
        )

    def to_tensor(self, X: np.ndarray) -> torch.Tensor:
        """Map validated data to a float32 tensor of shape (N, *data_shape).

        Raises
        ------
        ValueError
            If a value is too large to be represented once scaled (beyond float32's range).
        """
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.array(X, dtype=np.float64)
            # (x - offset) / scale computed on halves, exactly as before for every value whose
            # half is a normal float, and without overflow for values near float64's largest
            out *= 0.5
            out -= self.offset * 0.5
            out /= self.scale
            out *= 2.0
        largest = float(np.max(np.abs(out), initial=0.0))
        if not np.isfinite(largest) or largest > FLOAT32_MAX:
            raise ValueError(
                f"X holds values too large for this model: the largest magnitude is "
                f"{magnitude(X)}, which its scaling maps beyond float32's range "
                f"({FLOAT32_MAX:.3g}); the model was fitted on much smaller values"
            )
        return torch.from_numpy(out.astype(np.float32)).reshape(len(X), *self.data_shape)

    def from_tensor(self, t: torch.Tensor) -> np.ndarray:
        """Map network outputs back to the user's shape, scale and dtype."""
        out = t.detach().cpu().double().numpy().reshape(len(t), *self.input_shape)
        out = out * self.scale + self.offset
        if self.input_dtype == "uint8":
            return np.clip(np.rint(out), 0, 255).astype(np.uint8)
        return out

    def to_json(self) -> dict[str, object]:
        """JSON-serialisable description (the arrays are stored as tensors alongside)."""
        return {
            "input_shape": list(self.input_shape),
            "input_dtype": self.input_dtype,
            "scaling": self.scaling,
        }

    def tensors(self) -> dict[str, torch.Tensor]:
        """The fitted arrays, for safetensors."""
        return {
            "offset": torch.from_numpy(np.atleast_1d(self.offset).copy()),
            "scale": torch.from_numpy(np.atleast_1d(self.scale).copy()),
        }

    @classmethod
    def from_saved(cls, meta: dict[str, object], tensors: dict[str, torch.Tensor]) -> Preprocessor:
        """Rebuild from :meth:`to_json` and :meth:`tensors`, checking that they fit together.

        Raises
        ------
        ValueError
            If the sample shape or dtype is malformed, or ``offset`` / ``scale`` are missing, of
            the wrong length for the sample shape (D values for vectors, 1 for images), or not
            positive finite scales.
        """
        shape = meta["input_shape"]
        if (
            not isinstance(shape, list)
            or not 1 <= len(shape) <= 3
            or any(type(v) is not int or v < 1 for v in shape)
        ):
            raise ValueError(f"preprocessing.input_shape must be 1 to 3 positive ints; got {shape}")
        if meta["input_dtype"] not in ("uint8", "float"):
            raise ValueError(f"unknown preprocessing.input_dtype {meta['input_dtype']!r}")
        # a file written before the choice existed scaled its vectors per feature
        scaling = meta.get("scaling", "per-feature" if len(shape) == 1 else "range")
        if scaling not in (SCALINGS if len(shape) == 1 else ("range",)):
            raise ValueError(f"unknown preprocessing.scaling {scaling!r} for this sample shape")
        wanted = shape[0] if len(shape) == 1 else 1
        arrays = {name: _saved_array(tensors, name, wanted, shape) for name in ("offset", "scale")}
        if not (arrays["scale"] > 0).all():
            raise ValueError("the preprocessing scale must be positive")
        if scaling == "shared" and np.unique(arrays["scale"]).size > 1:
            raise ValueError("the preprocessing says one shared scale but holds several")
        offset, scale = arrays["offset"], arrays["scale"]
        if len(shape) >= 2:
            offset, scale = offset.reshape(()), scale.reshape(())
        return cls(tuple(shape), str(meta["input_dtype"]), offset, scale, scaling)


def _saved_array(
    tensors: dict[str, torch.Tensor], name: str, wanted: int, shape: list[int]
) -> np.ndarray:
    tensor = tensors.get(name)
    if tensor is None:
        raise ValueError(f"the preprocessing {name} is missing")
    if tensor.dtype not in (torch.float32, torch.float64) or tensor.ndim != 1:
        raise ValueError(f"the preprocessing {name} must be a 1-D float tensor; got {tensor.dtype}")
    if tensor.numel() != wanted:
        kind = f"vectors of {shape[0]} features" if len(shape) == 1 else "images"
        raise ValueError(
            f"the preprocessing {name} holds {tensor.numel()} values; {kind} need {wanted}"
        )
    array = tensor.double().numpy()
    if not np.isfinite(array).all():
        raise ValueError(f"the preprocessing {name} is not finite")
    return array


def check_layout(X: np.ndarray) -> None:
    """Refuse images that look channels-last (N x H x W x C) instead of N x C x H x W.

    Raises
    ------
    ValueError
        If ``X`` is 4-D with 1, 3 or 4 on its last axis but not on axis 1; the message shows the
        transpose that gives N x C x H x W (nothing is transposed silently).
    """
    if len(X.shape) != 4:
        return
    n, a, b, c = X.shape
    if c in CHANNEL_COUNTS and a not in CHANNEL_COUNTS:
        raise ValueError(
            f"X of shape {n} x {a} x {b} x {c} looks channels-last (N x H x W x C); ganclust "
            f"takes images as N x C x H x W: pass X.transpose(0, 3, 1, 2) (shape "
            f"{n} x {c} x {a} x {b})"
        )


def is_array_like(X: Any) -> bool:
    """Whether ``X`` is an array held elsewhere that takes slices (h5py, zarr, dask, ...).

    That is: not a numpy array, tensor, list, tuple, sparse matrix or pandas object, but
    something with a ``shape`` of two or more known axes, a numpy ``dtype``, ``len`` and ``[]``.
    """
    import scipy.sparse

    if isinstance(X, (np.ndarray, torch.Tensor, list, tuple)) or scipy.sparse.issparse(X):
        return False
    if hasattr(X, "iloc") or not all(hasattr(X, name) for name in ("__getitem__", "__len__")):
        return False  # pandas has its own conversion
    shape, dtype = getattr(X, "shape", None), getattr(X, "dtype", None)
    # a dask array of unknown chunk sizes has NaN in its shape: it is converted as before
    known = isinstance(shape, tuple) and all(isinstance(n, (int, np.integer)) for n in shape)
    return known and len(shape) >= 2 and isinstance(dtype, np.dtype)


def check_array_like(X: Any) -> None:
    """Validate an array-like held elsewhere block by block, without reading it whole.

    Raises
    ------
    ValueError
        If its dtype is not numeric, it holds no sample or no feature, or a value is NaN or
        infinite (the message names the first block of rows that holds one).
    """
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X must hold numbers; its dtype is {X.dtype}")
    if X.shape[0] == 0 or int(np.prod(X.shape[1:])) == 0:
        shape = " x ".join(map(str, X.shape))
        raise ValueError(f"X must hold at least one sample and one feature; its shape is {shape}")
    if X.dtype.kind != "f":
        return
    start = 0
    for block in blocks(X):
        block = np.asarray(block)
        if not np.isfinite(block).all():
            what = "NaN" if np.isnan(block).any() else "infinity"
            stop = start + len(block) - 1
            raise ValueError(f"X contains {what} (in rows {start} to {stop}); remove or impute it")
        start += len(block)


def validated(estimator: Any, X: Any, *, reset: bool) -> Any:
    """``X`` validated for ``estimator``: a numpy array, or an array-like left where it is.

    Vectors go through scikit-learn's ``validate_data`` (which sets ``n_features_in_`` when
    ``reset``), images through ``check_array``, and an array-like held elsewhere
    (:func:`is_array_like`) through :func:`check_array_like`, block by block. Without
    ``reset``, the samples must have the shape the estimator was fitted on.

    Raises
    ------
    ValueError
        If ``X`` has more than four axes, or fails the checks above.
    """
    from sklearn.utils.validation import check_array, validate_data

    on_disk = is_array_like(X)
    if on_disk:
        ndim = len(X.shape)
    else:  # np.ndim would dispatch __array_function__, which some array wrappers refuse
        ndim = X.ndim if hasattr(X, "ndim") else np.asarray(X).ndim
    if ndim > 4:
        raise ValueError(
            f"X must be N x D vectors, N x H x W or N x C x H x W images; got {ndim} dimensions"
        )
    if on_disk:
        check_array_like(X)
    elif ndim in (3, 4):
        X = check_array(X, allow_nd=True, dtype="numeric", input_name="X")
    else:
        X = validate_data(estimator, X, reset=reset, dtype="numeric")
    if reset and (on_disk or ndim in (3, 4)):
        estimator.n_features_in_ = int(np.prod(X.shape[1:]))
    if X.dtype.kind not in "fiu" and not on_disk:
        X = X.astype(np.float64)
    if not reset:
        owner = type(estimator).__name__
        check_sample_shape(X, estimator.preprocessor_.input_shape, owner)
    return X


def input_dtype_of(X: object) -> str:
    """``"uint8"`` for uint8 arrays, else ``"float"``."""
    return "uint8" if getattr(X, "dtype", None) == np.uint8 else "float"


def check_sample_shape(X: np.ndarray, expected: tuple[int, ...], owner: str) -> None:
    """Raise ``ValueError`` when samples of ``X`` do not have the fitted shape."""
    if tuple(X.shape[1:]) != tuple(expected):
        got = " x ".join(map(str, X.shape[1:]))
        want = " x ".join(map(str, expected))
        hint = ""
        if len(X.shape) == 4 and (X.shape[3], X.shape[1], X.shape[2]) == tuple(expected):
            hint = "; X looks channels-last (N x H x W x C): pass X.transpose(0, 3, 1, 2)"
        raise ValueError(
            f"X has samples of shape {got}, but {owner} was fitted on samples of shape {want}"
            + hint
        )
