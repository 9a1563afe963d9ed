"""Named public datasets with verified downloads, and the user's own files.

Named sets (:data:`DATASETS`) are fetched from their canonical sources (or a mirror) into
a cache, checked against pinned sizes and SHA-256 sums before every use; see
:mod:`ganclust._download` for the cache and mirror layout and the environment variables
``GANCLUST_DATA``, ``XDG_CACHE_HOME`` and ``GANCLUST_MIRROR``.

Array conventions: images are ``uint8`` with 0 for background, ``(N, H, W)`` for grey and
``(N, 3, H, W)`` (channels first) for colour; feature vectors are float ``(N, D)``; labels
are ``int64``. ``digits`` (8x8, bundled with scikit-learn) is scaled from 0..16 to 0..255
with ``round(x * 255 / 16)`` so it looks like the other image sets.

The user's own files (:func:`load_file`) follow the same conventions, with two additions: a
folder of 16-bit greyscale PNGs is read at full depth as ``uint16``, and a 4-D array file
that looks channels-last ``(N, H, W, C)`` is turned channels-first (with a warning). Every
reader checks what a file declares (headers, member sizes, image dimensions) against the
memory available before allocating it, and turns any parsing failure into a one-line
:class:`DatasetError`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ._dataset_listing import format_dataset_table, list_datasets
from ._download import DownloadError, fetch, get_data_home
from ._formats import DatasetError, read_cifar10_binary, read_idx, read_pendigits, read_usps
from ._formats_user import (
    read_array_file,
    read_image_folder,
    read_image_folder_with_ids,
    read_table,
    read_table_with_ids,
)
from .datasets_registry import DATASETS, DatasetInfo

__all__ = [
    "DATASETS",
    "DatasetError",
    "DatasetInfo",
    "DownloadError",
    "format_dataset_table",
    "get_data_home",
    "list_datasets",
    "DataWithIds",
    "load_data",
    "load_data_with_ids",
    "load_dataset",
    "load_file",
]

Loader = Callable[[dict[str, Path], str], tuple[np.ndarray, np.ndarray]]


def _load_idx(paths: dict[str, Path], split: str) -> tuple[np.ndarray, np.ndarray]:
    X = read_idx(paths[f"{split}_images"], ndim=3)
    y = read_idx(paths[f"{split}_labels"], ndim=1).astype(np.int64)
    if len(X) != len(y):
        raise DatasetError(f"{paths[f'{split}_images']}: {len(X)} images but {len(y)} labels")
    return X, y


_LOADERS: dict[str, Loader] = {
    "mnist": _load_idx,
    "fashion-mnist": _load_idx,
    "kmnist": _load_idx,
    "usps": lambda paths, split: read_usps(paths[split]),
    "pendigits": lambda paths, split: read_pendigits(paths[split]),
    "cifar10": lambda paths, split: read_cifar10_binary(paths["archive"], split),
}


def _canonical(name: str) -> str:
    """Normalise a dataset name (case, ``_`` for ``-``) or raise listing the known ones."""
    key = str(name).strip().lower().replace("_", "-")
    if key not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return key


def load_dataset(
    name: str,
    *,
    split: str = "train",
    data_home: str | os.PathLike[str] | None = None,
    download: bool = True,
    mirror: str | None = None,
    progress: bool = True,
    verify: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Load a named public dataset, downloading and verifying its files if needed.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS` (case-insensitive; ``fashion_mnist`` also works).
    split : {"train", "test", "all"}, optional
        Which predefined split. ``"all"`` is train followed by test. ``digits`` has no
        split: it accepts ``"all"`` and the default ``"train"``, both giving all 1797.
    data_home : str or os.PathLike, optional
        Cache folder; default ``$GANCLUST_DATA`` or the XDG cache (``~/.cache/ganclust``).
    download : bool, optional
        Fetch missing files. If false, a missing file raises :class:`DownloadError` saying
        where to place it.
    mirror : str, optional
        Base URL laid out as ``<mirror>/<name>/<filename>``; default ``$GANCLUST_MIRROR``.
    progress : bool, optional
        Show download progress bars.
    verify : bool, optional
        Check pinned sizes and SHA-256 sums (always on unless disabled here). ``usps`` has no
        pinned checksum and is refused unless this is false. Unverified downloads are still
        capped in size (``ganclust._download.MAX_UNVERIFIED_BYTES``).

    Returns
    -------
    X : numpy.ndarray
        ``uint8`` ``(N, H, W)`` grey images, ``uint8`` ``(N, 3, 32, 32)`` for ``cifar10``,
        ``float32`` ``(N, 16)`` for ``pendigits``.
    y : numpy.ndarray
        ``int64`` labels.

    Raises
    ------
    DatasetError
        For an unknown name or split, or a file that does not parse (a ``ValueError``).
    DownloadError
        If a file is not cached and cannot be fetched and verified (an ``OSError``).
    """
    key = _canonical(name)
    split = str(split).lower()
    if key == "digits":
        return _load_digits(split)
    where = dict(data_home=data_home, mirror=mirror, download=download, progress=progress)
    return _load_named(key, split, verify, where)


def _load_digits(split: str) -> tuple[np.ndarray, np.ndarray]:
    if split not in ("all", "train"):
        raise DatasetError("digits has no predefined split; use split='all'")
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = np.round(bunch.images * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
    return X, bunch.target.astype(np.int64)


def _load_named(
    key: str, split: str, verify: bool, where: dict[str, object]
) -> tuple[np.ndarray, np.ndarray]:
    """Fetch (or find in the cache) and read the files of a named dataset's split."""
    info = DATASETS[key]
    if split not in info.splits:
        raise DatasetError(f"{key} has no split {split!r}; choose from {', '.join(info.splits)}")
    parts = ("train", "test") if split == "all" else (split,)
    roles = sorted({r for p in parts for r in info.split_files[p]})
    paths = {r: fetch(key, info.files[r], verify=verify, **where) for r in roles}
    loaded = [_LOADERS[key](paths, p) for p in parts]
    if len(loaded) == 1:
        return loaded[0]
    return np.concatenate([x for x, _ in loaded]), np.concatenate([y for _, y in loaded])


def load_file(
    path: str | os.PathLike[str],
    *,
    label_column: str | int | None = None,
    image_size: tuple[int, int] | None = None,
    mmap: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Load the user's own data from a file or an image folder.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npy`` (X only), ``.npz`` (``X`` and optional ``y``), ``.csv`` / ``.tsv`` file,
        or a folder of PNG / JPEG images (class subfolders give ``y``). A 4-D ``X`` from an
        array file that looks channels-last (last axis 1, 3 or 4, height and width at least
        8) is returned as the channels-first view ``X.transpose(0, 3, 1, 2)``, with a
        ``UserWarning`` saying so.
    label_column : str or int, optional
        CSV / TSV only: the label column, by header name or 0-based index.
    image_size : tuple of int, optional
        Image folders only: ``(height, width)`` to resize to; without it, mixed sizes are
        refused.
    mmap : bool, optional
        Memory-map a ``.npy`` file read-only instead of reading it whole.

    Returns
    -------
    X : numpy.ndarray
        The samples along axis 0. Images from a folder are ``uint8``, or ``uint16`` for a
        folder of greyscale images of which some are 16-bit (see
        :func:`ganclust._formats_images.read_image_folder`).
    y : numpy.ndarray or None
        ``int64`` labels when the source has them.

    Raises
    ------
    DatasetError
        For a missing path, an unsupported suffix, any malformed content, or content that
        declares more than the available memory (a ``ValueError`` with a one-line message
        naming the file).
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise DatasetError(f"no such file or folder: {p}")
    if p.is_dir():
        return read_image_folder(p, image_size=image_size)
    suffix = p.suffix.lower()
    if not p.is_file():
        raise DatasetError(f"{p}: not a regular file or folder")
    if p.stat().st_size == 0:
        raise DatasetError(f"{p}: the file is empty")
    if suffix in (".npy", ".npz"):
        return read_array_file(p, mmap=mmap)
    if suffix in (".csv", ".tsv"):
        return read_table(p, label_column=label_column)
    raise DatasetError(
        f"{p}: unsupported file type {suffix or '(none)'!r}; "
        "use .npy, .npz, .csv, .tsv or a folder of PNG/JPEG images"
    )


def load_data(
    spec: str | os.PathLike[str],
    *,
    label_column: str | int | None = None,
    image_size: tuple[int, int] | None = None,
    split: str = "train",
    data_home: str | os.PathLike[str] | None = None,
    mirror: str | None = None,
    download: bool = True,
    progress: bool = True,
    verify: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Load what the CLI's ``--data`` names: a known dataset, else a file or folder.

    A known dataset name wins over a local path of the same name; write ``./mnist`` for the
    path.

    Parameters
    ----------
    spec : str or os.PathLike
        A name in :data:`DATASETS`, or a path for :func:`load_file`.
    label_column, image_size
        Passed to :func:`load_file`.
    split, data_home, mirror, download, progress, verify
        Passed to :func:`load_dataset`.

    Returns
    -------
    X : numpy.ndarray
        The samples.
    y : numpy.ndarray or None
        ``int64`` labels, if known.

    Raises
    ------
    DatasetError
        If ``spec`` is neither a known dataset nor an existing path, or loading fails.
    DownloadError
        If a named dataset's file cannot be fetched.
    """
    text = os.fspath(spec)
    key = text.strip().lower().replace("_", "-")
    if key in DATASETS:
        return load_dataset(
            key,
            split=split,
            data_home=data_home,
            download=download,
            mirror=mirror,
            progress=progress,
            verify=verify,
        )
    if Path(text).expanduser().exists():
        return load_file(text, label_column=label_column, image_size=image_size)
    raise DatasetError(
        f"{text!r} is neither a known dataset ({', '.join(DATASETS)}) "
        "nor an existing file or folder"
    )


class DataWithIds(NamedTuple):
    """What :func:`load_data_with_ids` returns: the data, and what maps it back to its files."""

    #: the samples, as :func:`load_data` returns them
    X: np.ndarray
    #: ``int64`` labels, if known
    y: np.ndarray | None
    #: one id per sample (an image's file, a table's id column), or None: the index is the id
    ids: list[str] | None
    #: a table's feature column names (from its header), else None
    feature_names: list[str] | None


def load_data_with_ids(
    spec: str | os.PathLike[str],
    *,
    label_column: str | int | None = None,
    id_column: str | int | None = None,
    image_size: tuple[int, int] | None = None,
    **named: object,
) -> DataWithIds:
    """Load what :func:`load_data` loads, with an id for each sample where the source has one.

    Parameters
    ----------
    spec : str or os.PathLike
        As for :func:`load_data`.
    label_column, image_size
        As for :func:`load_data`.
    id_column : str or int, optional
        CSV / TSV only: a column naming each row (header name or 0-based index). It is not a
        feature. Without it, a row's id is its number, counted from 0 over the data rows.
    **named
        ``split``, ``data_home``, ``mirror``, ``download``, ``progress`` and ``verify``, passed
        to :func:`load_data` for a named dataset.

    Returns
    -------
    DataWithIds
        ``(X, y, ids, feature_names)``. ``ids`` is an image folder's files relative to the
        folder (``"cats/001.png"``), a table's ``id_column`` cells, or None (the sample's index
        is its id: the row number of a table, the position in an array or a named dataset).
        ``feature_names`` is a table header's names of the feature columns, else None.

    Raises
    ------
    DatasetError
        As :func:`load_data`, and for an ``id_column`` of something that is not a table.
    """
    text = os.fspath(spec)
    path = Path(text).expanduser()
    table = path.suffix.lower() in (".csv", ".tsv") and path.is_file()
    if id_column is not None and not table:
        raise DatasetError(f"an id column applies to .csv / .tsv files only, not {text!r}")
    named_set = text.strip().lower().replace("_", "-") in DATASETS
    if not named_set and path.is_dir():
        return DataWithIds(*read_image_folder_with_ids(path, image_size=image_size), None)
    if not named_set and table and path.stat().st_size > 0:
        X, y, ids, names = read_table_with_ids(path, label_column=label_column, id_column=id_column)
        return DataWithIds(X, y, ids, names)
    X, y = load_data(spec, label_column=label_column, image_size=image_size, **named)
    return DataWithIds(X, y, None, None)
