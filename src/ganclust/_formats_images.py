"""The reader of image folders: PNG / JPEG files, class subfolders giving the labels.

Every header is read before any pixel is decoded, so a folder is refused whole, and early,
for mixed sizes, an image over Pillow's ``MAX_IMAGE_PIXELS`` (a decompression bomb) or a
total beyond :func:`._bounds.memory_budget`. 16-bit greyscale PNGs are read at full depth.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from ._bounds import MALFORMED, DatasetError, check_allocation, guarded, one_line

__all__ = ["IMAGE_SUFFIXES", "read_image_folder", "read_image_folder_with_ids"]

#: File suffixes read as images inside a folder (compared case-insensitively).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}
_DEEP_MODES = {"I", "I;16", "I;16B", "I;16L", "F"}  # decoded at more than 8 bits


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


@contextlib.contextmanager
def _opened(f: Path) -> Iterator[Image.Image]:
    """Open an image lazily; any failure, a decompression bomb too, is a DatasetError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(f) as im:
                yield im
    except DatasetError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DatasetError(
            f"{f}: the image declares more pixels than Pillow's limit of "
            f"{Image.MAX_IMAGE_PIXELS} (PIL.Image.MAX_IMAGE_PIXELS): a decompression bomb?"
        ) from exc
    except MemoryError:
        raise DatasetError(f"{f}: not enough memory to decode the image") from None
    except (*MALFORMED, IndexError, KeyError, TypeError) as exc:  # Pillow's, on bad bytes
        raise DatasetError(f"{f}: unreadable image ({one_line(exc)})") from exc


def _deep(im: Image.Image, f: Path, size: tuple[int, int] | None) -> np.ndarray:
    """A 16-bit grey image as uint16 (H, W) at full depth, resized in float if asked."""
    a = np.asarray(im)
    if a.dtype.itemsize > 2 and (not np.all(np.isfinite(a)) or a.min() < 0 or a.max() > 65535):
        raise DatasetError(f"{f}: pixel values outside 0..65535 ({im.mode} image)")
    if size is not None and a.shape != size:
        resized = Image.fromarray(a.astype(np.float32)).resize(
            (size[1], size[0]), Image.Resampling.BILINEAR
        )
        a = np.asarray(resized)
    return np.clip(np.round(a), 0, 65535).astype(np.uint16)


def _decode(f: Path, kind: str, size: tuple[int, int] | None) -> np.ndarray:
    """Decode one image as ``kind``: "L" (uint8), "I;16" (uint16) or "RGB" (uint8, CHW)."""
    with _opened(f) as im:
        if im.mode in _DEEP_MODES:
            a = _deep(im, f, size)
            if kind == "I;16":
                return a
            return np.broadcast_to((a >> 8).astype(np.uint8), (3, *a.shape))  # as Pillow: RGB;16
        im = im.convert("RGB" if kind == "RGB" else "L")
        if size is not None and im.size != (size[1], size[0]):
            im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        a = np.asarray(im, dtype=np.uint8)
    if kind == "I;16":
        return a.astype(np.uint16) * 257  # 0..255 onto 0..65535 exactly
    return a.transpose(2, 0, 1) if kind == "RGB" else a


def _probe(files: list[Path], folder: Path, size: tuple[int, int] | None) -> tuple[str, tuple]:
    """Read only the headers: the output kind and shape; refuse mixed or too large."""
    shapes, modes = [], set()
    for f in files:
        with _opened(f) as im:
            shapes.append((im.size[1], im.size[0]))
            modes.add(im.mode)
    if size is None and len(set(shapes)) > 1:
        (h1, w1), (h2, w2) = sorted(set(shapes))[:2]
        raise DatasetError(
            f"{folder}: images have mixed sizes ({h1}x{w1}, {h2}x{w2}, ...); "
            "pass image_size=(height, width) / --image-size to resize them"
        )
    h, w = size or shapes[0]
    if not modes <= _GREY_MODES:
        kind, shape = "RGB", (len(files), 3, h, w)
    else:
        kind, shape = ("I;16" if modes & _DEEP_MODES else "L"), (len(files), h, w)
    nbytes = math.prod(shape) * (2 if kind == "I;16" else 1)
    largest = max(a * b for a, b in shapes) * 16  # one decode in float, with a resize
    check_allocation(nbytes + largest, folder, f"{len(files)} images of {h}x{w} pixels")
    return kind, shape


@guarded("an image folder")
def read_image_folder(
    folder: Path, *, image_size: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a folder of PNG / JPEG images, with class subfolders giving the labels.

    If the folder's images all sit in subfolders, each subfolder (sorted by name) is a class
    and its images (at any depth) get that class's index; if they all sit at the top, ``y`` is
    ``None``; a mix is refused. Non-image files are ignored. Every header is read before any
    image is decoded: a size mismatch, an image over Pillow's ``MAX_IMAGE_PIXELS`` or a total
    beyond the memory budget is refused without decoding anything, and an unreadable image
    fails the whole load (no partial result).

    Bit depth: if every image is greyscale the result is ``(N, H, W)``: ``uint8`` when all
    are 8-bit, else ``uint16`` at full depth, with 8-bit images scaled by 257 (0..255 onto
    0..65535 exactly). Otherwise all are RGB ``uint8`` ``(N, 3, H, W)``; there, as Pillow
    does for 16-bit colour PNGs, 16-bit grey images keep their high byte (``v >> 8``).

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
        ``uint8`` (or ``uint16``, see above) images.
    y : numpy.ndarray or None
        ``int64`` class indices, or ``None`` without class subfolders.

    Raises
    ------
    DatasetError
        If there are no images, an image cannot be read or is too large, or sizes differ
        without ``image_size``.
    """
    X, y, _ = _read_folder(folder, image_size)
    return X, y


@guarded("an image folder")
def read_image_folder_with_ids(
    folder: Path, *, image_size: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Read an image folder as :func:`read_image_folder` does, with each image's file.

    Parameters
    ----------
    folder : pathlib.Path
        The folder.
    image_size : tuple of int, optional
        ``(height, width)`` to resize every image to.

    Returns
    -------
    X, y : numpy.ndarray
        As :func:`read_image_folder` returns them.
    ids : list of str
        The file of each image, relative to ``folder``, with ``/`` between folders
        (``"cats/001.png"``), in the order of ``X``.
    """
    X, y, files = _read_folder(folder, image_size)
    return X, y, [f.relative_to(folder).as_posix() for f in files]


def _read_folder(
    folder: Path, image_size: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray | None, list[Path]]:
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
    kind, shape = _probe(files, folder, image_size)
    X = np.empty(shape, dtype=np.uint16 if kind == "I;16" else np.uint8)
    for i, f in enumerate(files):
        X[i] = _decode(f, kind, image_size)
    if not classes:
        return X, None, files
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[f.relative_to(folder).parts[0]] for f in files], dtype=np.int64)
    return X, y, files
