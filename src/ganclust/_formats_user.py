"""Readers for the user's own data: ``.npy``, ``.npz``, ``.csv`` / ``.tsv`` and image folders.

(The table reader lives in :mod:`._formats_table` and the image-folder reader in
:mod:`._formats_images`; both are re-exported here.)

All of them either return complete arrays or raise :class:`DatasetError` (a
:class:`ValueError`) with one line naming the file and the problem; nothing is written. Each
public reader is wrapped once in :func:`._bounds.guarded`, so no parsing exception of the
standard library, NumPy or Pillow escapes as anything else. Every size that a file declares
(a ``.npy`` header's shape and dtype, a zip member's size, an image's width and height, a
table's row count) is checked against :func:`._bounds.memory_budget` before it is allocated.
Nothing is ever unpickled (``allow_pickle`` stays false).
"""

from __future__ import annotations

import math
import os
import warnings
import zipfile
from pathlib import Path
from typing import IO

import numpy as np

from ._bounds import DatasetError, check_allocation, guarded
from ._formats_images import IMAGE_SUFFIXES, read_image_folder, read_image_folder_with_ids
from ._formats_table import read_table, read_table_with_ids

__all__ = [
    "IMAGE_SUFFIXES",
    "read_array_file",
    "read_image_folder",
    "read_image_folder_with_ids",
    "read_table",
    "read_table_with_ids",
]

_EXACT = 2**53  # the largest float up to which every whole number is exact
_INT64 = np.iinfo(np.int64)


def encode_labels(values: np.ndarray, where: str) -> np.ndarray:
    """Turn a 1-D label array into ``int64`` codes.

    Whole numbers are kept as they are; strings are numbered in sorted order. Numbers that
    are not whole, not finite, or (for floats) beyond ``2**53`` in magnitude, where floats
    stop being exact, are refused rather than rounded or wrapped.

    Parameters
    ----------
    values : numpy.ndarray
        The labels as stored.
    where : str
        What to name in an error message.

    Returns
    -------
    numpy.ndarray
        ``int64`` labels.

    Raises
    ------
    DatasetError
        If the labels are not 1-D, or are numbers that are not whole or out of range.
    """
    values = np.asarray(values)
    if values.ndim != 1:
        raise DatasetError(f"{where}: labels must be 1-D, got shape {values.shape}")
    kind = values.dtype.kind
    if kind in "US":
        return np.unique(values, return_inverse=True)[1].astype(np.int64).reshape(-1)
    if kind in "bi":
        return values.astype(np.int64)
    if kind == "u":
        bad = values > _INT64.max
    elif kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(values) | (values != np.round(values)) | (abs(values) > _EXACT)
    else:
        raise DatasetError(f"{where}: labels of dtype {values.dtype} are not supported")
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise DatasetError(
            f"{where}: labels must be whole numbers that fit int64 (floats: at most 2**53 in "
            f"magnitude) or strings; label {i} is {values[i].item()!r}"
        )
    return values.astype(np.int64)


def _check_features(X: np.ndarray, where: str) -> np.ndarray:
    """Check that ``X`` is a non-empty numeric array; turn channels-last images around."""
    if X.dtype.kind not in "biuf":
        raise DatasetError(f"{where}: X must be numeric, got dtype {X.dtype}")
    if X.ndim < 2:
        raise DatasetError(f"{where}: X must have shape (n_samples, ...), got {X.shape}")
    if X.shape[0] == 0:
        raise DatasetError(f"{where}: X holds no samples")
    if X.ndim == 4 and X.shape[3] in (1, 3, 4) and min(X.shape[1:3]) >= 8:
        turned = X.transpose(0, 3, 1, 2)
        warnings.warn(
            f"{where}: X of shape {X.shape} looks channels-last (N, H, W, C); it is read as "
            f"channels-first {turned.shape}, i.e. X.transpose(0, 3, 1, 2). Save it "
            "channels-first to silence this warning",
            UserWarning,
            stacklevel=5,
        )
        return turned
    return X


def _npy_header(fh: IO[bytes], where: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """Read a ``.npy`` header: (shape, dtype, data bytes); refuse objects and bad shapes."""
    try:
        version = np.lib.format.read_magic(fh)
    except ValueError:
        raise DatasetError(f"{where}: not a .npy array (no NumPy magic string)") from None
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
    else:  # 3.0 exists only for structured dtypes with non-latin-1 field names
        raise DatasetError(f"{where}: .npy format version {version} is not supported")
    if dtype.hasobject:
        raise DatasetError(
            f"{where}: cannot read an array of Python objects (dtype {dtype}): it would need "
            "unpickling, which ganclust never does; save a numeric array instead"
        )
    if any(d < 0 for d in shape):
        raise DatasetError(f"{where}: the header declares a negative dimension {shape}")
    return tuple(shape), dtype, math.prod(shape) * dtype.itemsize


def _read_npy(path: Path, mmap: bool) -> np.ndarray:
    with open(path, "rb") as fh:
        shape, dtype, nbytes = _npy_header(fh, str(path))
        held = os.fstat(fh.fileno()).st_size - fh.tell()
    if held < nbytes:
        raise DatasetError(
            f"{path}: truncated: the header declares {dtype} {shape} ({nbytes} bytes) "
            f"but the file holds {held} bytes of data"
        )
    if dtype.kind not in "biuf":
        raise DatasetError(f"{path}: X must be numeric, got dtype {dtype}")
    if not mmap:
        what = f"reading X ({dtype}, shape {shape}) whole"
        check_allocation(nbytes, path, what, "load it memory-mapped (mmap=True, the default)")
    return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)


def _npz_member(zf: zipfile.ZipFile, key: str) -> zipfile.ZipInfo | None:
    for name in (f"{key}.npy", key):
        if name in zf.NameToInfo:
            return zf.NameToInfo[name]
    return None


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    with zipfile.ZipFile(path) as zf:
        members = {k: _npz_member(zf, k) for k in ("X", "y")}
        if members["X"] is None:
            found = ", ".join(n.removesuffix(".npy") for n in zf.namelist()) or "none"
            raise DatasetError(f"{path}: .npz needs an array named 'X' (found: {found})")
        total = 0
        for key, info in members.items():
            if info is None:
                continue
            with zf.open(info) as fh:
                shape, dtype, nbytes = _npy_header(fh, f"{path} member {info.filename}")
                offset = fh.tell()
            if info.file_size != offset + nbytes:
                raise DatasetError(
                    f"{path}: member {info.filename} declares {dtype} {shape} ({nbytes} bytes) "
                    f"but the zip directory says it holds {info.file_size - offset}"
                )
            total += nbytes
            what = f"inflating member {info.filename} ({dtype}, shape {shape})"
            hint = f"save {key} with np.save as a .npy, which is memory-mapped"
            check_allocation(total, path, what, hint)
        arrays = {}
        for key, info in members.items():
            if info is not None:
                with zf.open(info) as fh:
                    arrays[key] = np.lib.format.read_array(fh, allow_pickle=False)
    return arrays["X"], arrays.get("y")


@guarded("a .npy array or .npz archive")
def read_array_file(path: Path, *, mmap: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a ``.npy`` file (X only) or a ``.npz`` archive (``X`` and optional ``y``).

    Headers are read first: the declared shape and dtype must match the bytes present, and
    what would be allocated must fit :func:`._bounds.memory_budget`. A 4-D ``X`` that looks
    channels-last, ``(N, H, W, C)`` with ``C`` in 1, 3, 4 and ``H, W >= 8``, is returned as
    the channels-first view ``X.transpose(0, 3, 1, 2)`` with a ``UserWarning`` saying so.

    Parameters
    ----------
    path : pathlib.Path
        The file. Object (pickled) arrays are refused.
    mmap : bool, optional
        Memory-map a ``.npy`` file read-only instead of reading it whole. Ignored for
        ``.npz``, whose members are inflated into memory.

    Returns
    -------
    X : numpy.ndarray
        The samples, shape ``(n_samples, ...)``; a read-only memmap for ``.npy`` when
        ``mmap`` is true.
    y : numpy.ndarray or None
        ``int64`` labels for a ``.npz`` that holds ``y``, else ``None``.

    Raises
    ------
    DatasetError
        If the file is unreadable, truncated, too large for memory, lacks ``X``, or ``X``
        and ``y`` disagree in length.
    """
    if path.suffix.lower() == ".npy":
        return _check_features(_read_npy(path, mmap), str(path)), None
    X, y = _read_npz(path)
    X = _check_features(X, str(path))
    if y is None:
        return X, None
    y = encode_labels(y, str(path))
    if len(y) != len(X):
        raise DatasetError(f"{path}: X has {len(X)} samples but y has {len(y)} labels")
    return X, y
