"""Input validation and the preprocessing that is fitted in ``fit`` and stored with a model.

Vectors (N x D) are standardised per feature, as the ClusterGAN article does. Images (N x H x W or
N x C x H x W) are scaled from their intensity range to [-1, 1], the range of the generator's tanh:
uint8 images from [0, 255], float images from the training data's min and max.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


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
    """

    input_shape: tuple[int, ...]
    input_dtype: str
    offset: np.ndarray
    scale: np.ndarray

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
    def fit(cls, X: np.ndarray, input_dtype: str) -> Preprocessor:
        """Fit on validated training data ``X``."""
        if X.ndim == 2:
            offset = X.mean(axis=0)
            scale = X.std(axis=0)
            # constant features are left centred rather than divided by zero
            scale = np.where(scale > 1e-12, scale, 1.0)
        elif input_dtype == "uint8":
            offset, scale = np.array(127.5), np.array(127.5)
        else:
            low, high = float(X.min()), float(X.max())
            offset = np.array((high + low) / 2)
            scale = np.array((high - low) / 2 if high > low else 1.0)
        return cls(
            tuple(X.shape[1:]), input_dtype, np.asarray(offset, float), np.asarray(scale, float)
        )

    def to_tensor(self, X: np.ndarray) -> torch.Tensor:
        """Map validated data to a float32 tensor of shape (N, *data_shape)."""
        out = (np.asarray(X, dtype=np.float64) - self.offset) / self.scale
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
        return {"input_shape": list(self.input_shape), "input_dtype": self.input_dtype}

    def tensors(self) -> dict[str, torch.Tensor]:
        """The fitted arrays, for safetensors."""
        return {
            "offset": torch.from_numpy(np.atleast_1d(self.offset).copy()),
            "scale": torch.from_numpy(np.atleast_1d(self.scale).copy()),
        }

    @classmethod
    def from_saved(cls, meta: dict[str, object], tensors: dict[str, torch.Tensor]) -> Preprocessor:
        """Rebuild from :meth:`to_json` and :meth:`tensors`."""
        shape = tuple(int(v) for v in meta["input_shape"])  # type: ignore[union-attr]
        offset, scale = tensors["offset"].numpy(), tensors["scale"].numpy()
        if len(shape) >= 2:
            offset, scale = offset.reshape(()), scale.reshape(())
        return cls(shape, str(meta["input_dtype"]), offset, scale)


def input_dtype_of(X: object) -> str:
    """``"uint8"`` for uint8 arrays, else ``"float"``."""
    return "uint8" if getattr(X, "dtype", None) == np.uint8 else "float"


def check_sample_shape(X: np.ndarray, expected: tuple[int, ...], owner: str) -> None:
    """Raise ``ValueError`` when samples of ``X`` do not have the fitted shape."""
    if tuple(X.shape[1:]) != tuple(expected):
        got = " x ".join(map(str, X.shape[1:]))
        want = " x ".join(map(str, expected))
        raise ValueError(
            f"X has samples of shape {got}, but {owner} was fitted on samples of shape {want}"
        )
