"""Readers for the user's own data: ``.npy``, ``.npz``, ``.csv`` / ``.tsv`` and image folders.

All of them either return complete arrays or raise :class:`DatasetError` (a
:class:`ValueError`) with one line naming the file and the problem; nothing is written.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ._formats import DatasetError

__all__ = ["IMAGE_SUFFIXES", "read_array_file", "read_image_folder", "read_table"]

#: File suffixes read as images inside a folder (compared case-insensitively).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


def encode_labels(values: np.ndarray, where: str) -> np.ndarray:
    """Turn a 1-D label array into ``int64`` codes.

    Whole numbers are kept as they are; strings are numbered in sorted order.

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
        If the labels are not 1-D, or are numbers that are not whole.
    """
    values = np.asarray(values)
    if values.ndim != 1:
        raise DatasetError(f"{where}: labels must be 1-D, got shape {values.shape}")
    if values.dtype.kind in "US":
        return np.unique(values, return_inverse=True)[1].astype(np.int64)
    if values.dtype.kind == "b" or values.dtype.kind in "iu":
        return values.astype(np.int64)
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
            raise DatasetError(f"{where}: labels must be whole numbers or strings")
        return values.astype(np.int64)
    raise DatasetError(f"{where}: labels of dtype {values.dtype} are not supported")


def _check_features(X: np.ndarray, where: str) -> np.ndarray:
    """Check that ``X`` is a non-empty numeric array with samples along axis 0."""
    if X.dtype.kind not in "biuf":
        raise DatasetError(f"{where}: X must be numeric, got dtype {X.dtype}")
    if X.ndim < 2:
        raise DatasetError(f"{where}: X must have shape (n_samples, ...), got {X.shape}")
    if X.shape[0] == 0:
        raise DatasetError(f"{where}: X holds no samples")
    return X


def read_array_file(path: Path, *, mmap: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a ``.npy`` file (X only) or a ``.npz`` archive (``X`` and optional ``y``).

    Parameters
    ----------
    path : pathlib.Path
        The file. Pickled object arrays are refused.
    mmap : bool, optional
        Memory-map a ``.npy`` file read-only instead of reading it whole. Ignored for
        ``.npz``, whose members are compressed or zipped.

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
        If the file is unreadable, lacks ``X``, or ``X`` and ``y`` disagree in length.
    """
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            X = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
            return _check_features(X, str(path)), None
        with np.load(path, allow_pickle=False) as npz:
            if "X" not in npz.files:
                found = ", ".join(npz.files) or "none"
                raise DatasetError(f"{path}: .npz needs an array named 'X' (found: {found})")
            X = _check_features(npz["X"], str(path))
            y = npz["y"] if "y" in npz.files else None
    except DatasetError:
        raise
    except (OSError, ValueError, EOFError) as exc:
        raise DatasetError(f"{path}: cannot read as {suffix} ({exc})") from exc
    if y is None:
        return X, None
    y = encode_labels(y, str(path))
    if len(y) != len(X):
        raise DatasetError(f"{path}: X has {len(X)} samples but y has {len(y)} labels")
    return X, y


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def read_table(
    path: Path, *, label_column: str | int | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a delimited text file: comma-separated, or tab-separated for ``.tsv``.

    The first row is taken as a header when some column holds a non-numeric cell there and
    only numbers below it. Blank lines are skipped; an empty cell reads as NaN (left for the
    estimator to report); any other non-numeric feature cell is an error.

    Parameters
    ----------
    path : pathlib.Path
        The ``.csv`` or ``.tsv`` file, UTF-8 (a byte-order mark is allowed).
    label_column : str or int, optional
        The column holding labels: a header name, or a 0-based index (negative counts from
        the end). Numeric labels must be whole; string labels are numbered in sorted order.

    Returns
    -------
    X : numpy.ndarray
        ``float64`` features of shape ``(n_rows, n_columns)``.
    y : numpy.ndarray or None
        ``int64`` labels, or ``None`` without ``label_column``.

    Raises
    ------
    DatasetError
        For an empty file, ragged rows (naming the line), a non-numeric cell (naming line
        and column) or an unknown ``label_column``.
    """
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            for row in reader:
                cells = [c.strip() for c in row]
                if not any(cells):
                    continue
                if rows and len(cells) != len(rows[0]):
                    raise DatasetError(
                        f"{path}: line {reader.line_num} has {len(cells)} fields, "
                        f"expected {len(rows[0])} like line {lines[0]} (ragged rows)"
                    )
                rows.append(cells)
                lines.append(reader.line_num)
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not a UTF-8 text file") from exc
    except csv.Error as exc:
        raise DatasetError(f"{path}: malformed {delimiter!r}-separated text ({exc})") from exc
    if not rows:
        raise DatasetError(f"{path}: the file is empty")
    n_cols = len(rows[0])
    has_header = any(
        not _is_number(rows[0][j]) and all(_is_number(r[j]) for r in rows[1:] if r[j])
        for j in range(n_cols)
    )
    header = rows[0] if has_header else None
    data, lines = (rows[1:], lines[1:]) if has_header else (rows, lines)
    if not data:
        raise DatasetError(f"{path}: a header but no data rows")

    label_idx = _label_index(path, label_column, header, n_cols)
    feature_idx = [j for j in range(n_cols) if j != label_idx]
    if not feature_idx:
        raise DatasetError(f"{path}: no feature columns besides the label column")
    cells = np.array(data, dtype=str)
    feats = cells[:, feature_idx]
    feats = np.where(feats == "", "nan", feats)
    try:
        X = feats.astype(np.float64)
    except ValueError:
        X = np.empty(feats.shape, dtype=np.float64)
        for (i, k), cell in np.ndenumerate(feats):
            try:
                X[i, k] = float(cell)
            except ValueError:
                j = feature_idx[k]
                name = f" ({header[j]!r})" if header else ""
                raise DatasetError(
                    f"{path}: non-numeric cell {str(cell)!r} at line {lines[i]}, "
                    f"column {j + 1}{name}"
                ) from None
    if label_idx is None:
        return X, None
    raw = cells[:, label_idx]
    if all(_is_number(c) for c in raw):
        return X, encode_labels(raw.astype(np.float64), f"{path} label column")
    if np.any(raw == ""):
        first = lines[int(np.flatnonzero(raw == "")[0])]
        raise DatasetError(f"{path}: empty label at line {first}")
    return X, encode_labels(raw, f"{path} label column")


def _label_index(
    path: Path, label_column: str | int | None, header: list[str] | None, n_cols: int
) -> int | None:
    """Resolve ``label_column`` to a 0-based column index."""
    if label_column is None:
        return None
    if isinstance(label_column, str):
        if header is not None and label_column in header:
            return header.index(label_column)
        if not label_column.strip().lstrip("-").isdigit():
            if header is None:
                raise DatasetError(
                    f"{path}: label column {label_column!r} is a name but the file has no header"
                )
            raise DatasetError(
                f"{path}: no column named {label_column!r} (columns: {', '.join(header)})"
            )
    idx = int(label_column)
    if not -n_cols <= idx < n_cols:
        raise DatasetError(f"{path}: label column {idx} is out of range for {n_cols} columns")
    return idx % n_cols


def _image_files(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursively), hidden entries skipped, sorted."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [
            Path(root, f)
            for f in files
            if not f.startswith(".") and f.lower().endswith(IMAGE_SUFFIXES)
        ]
    return sorted(found)


def read_image_folder(
    folder: Path, *, image_size: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a folder of PNG / JPEG images, with class subfolders giving the labels.

    If the folder's images all sit in subfolders, each subfolder (sorted by name) is a class
    and its images (at any depth) get that class's index; if they all sit at the top, ``y`` is
    ``None``; a mix is refused. If every image is greyscale the result is ``(N, H, W)``,
    otherwise all are converted to RGB and it is ``(N, 3, H, W)``. An unreadable image file
    fails the whole load (no partial result); non-image files are ignored.

    Parameters
    ----------
    folder : pathlib.Path
        The folder.
    image_size : tuple of int, optional
        ``(height, width)`` to resize every image to (bilinear). Without it, images of
        differing sizes are refused.

    Returns
    -------
    X : numpy.ndarray
        ``uint8`` images.
    y : numpy.ndarray or None
        ``int64`` class indices, or ``None`` without class subfolders.

    Raises
    ------
    DatasetError
        If there are no images, an image cannot be read, or sizes differ without
        ``image_size``.
    """
    files = _image_files(folder)
    if not files:
        raise DatasetError(f"{folder}: no PNG or JPEG images in this folder")
    top = [f for f in files if f.parent == folder]
    if top and len(top) != len(files):
        raise DatasetError(
            f"{folder}: mixes images at the top level ({top[0].name}) with images in "
            "class subfolders; put every image in a class subfolder, or none"
        )
    classes = sorted({f.relative_to(folder).parts[0] for f in files}) if not top else []
    if image_size is not None:
        if len(image_size) != 2 or any(int(s) < 1 for s in image_size):
            raise DatasetError(f"image_size must be (height, width) > 0, got {image_size}")
        image_size = (int(image_size[0]), int(image_size[1]))
    images: list[Image.Image] = []
    for f in files:
        try:
            with Image.open(f) as im:
                im.load()
                images.append(im.copy())
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
            raise DatasetError(f"{f}: unreadable image ({exc})") from exc
    if image_size is None:
        sizes = {im.size for im in images}
        if len(sizes) > 1:
            (w1, h1), (w2, h2) = sorted(sizes)[:2]
            raise DatasetError(
                f"{folder}: images have mixed sizes ({h1}x{w1}, {h2}x{w2}, ...); "
                "pass image_size=(height, width) / --image-size to resize them"
            )
    grey = all(im.mode in _GREY_MODES for im in images)
    arrays = []
    for im in images:
        im = im.convert("L" if grey else "RGB")
        if image_size is not None and im.size != (image_size[1], image_size[0]):
            im = im.resize((image_size[1], image_size[0]), Image.Resampling.BILINEAR)
        arrays.append(np.asarray(im, dtype=np.uint8))
    X = np.stack(arrays)
    if not grey:
        X = np.ascontiguousarray(X.transpose(0, 3, 1, 2))
    if not classes:
        return X, None
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[f.relative_to(folder).parts[0]] for f in files], dtype=np.int64)
    return X, y
