"""Parsers for the on-disk formats of the named public datasets.

Every parser reads a file that the download layer has already verified (or not: see
``verify=False``), checks that the bytes are internally consistent (headers match the
payload, every row has the expected number of fields) and raises :class:`DatasetError`, a
:class:`ValueError`, with a one-line message naming the file otherwise. Nothing here
unpickles: CIFAR-10 is read from its *binary* distribution, never from the python (pickle)
one.

Each parser is wrapped in :func:`._bounds.guarded` (any parsing exception becomes one
:class:`DatasetError`), and sizes the file declares are checked with
:func:`._bounds.check_allocation` before they are allocated.
"""

from __future__ import annotations

import gzip
import os
import tarfile
import zlib
from pathlib import Path

import numpy as np

from ._bounds import (
    MALFORMED,
    DatasetError,
    check_allocation,
    guarded,
    human_bytes,
    memory_budget,
    one_line,
)

__all__ = [
    "DatasetError",
    "read_cifar10_binary",
    "read_gzip",
    "read_idx",
    "read_pendigits",
    "read_usps",
]

#: Refuse to inflate a gzip stream beyond this many bytes (the largest real one is ~47 MB).
GZIP_LIMIT = 1 << 30


_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

CIFAR10_MEMBERS = {
    "train": tuple(f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6)),
    "test": ("cifar-10-batches-bin/test_batch.bin",),
}
_CIFAR_RECORD = 1 + 3 * 32 * 32


def read_gzip(path: str | os.PathLike[str], *, limit: int = GZIP_LIMIT) -> bytearray:
    """Inflate a whole gzip file into memory.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.gz`` file.
    limit : int, optional
        Largest inflated size accepted, in bytes; :func:`memory_budget` lowers it further.

    Returns
    -------
    bytearray
        The inflated bytes (writable, so arrays built on them are writable too).

    Raises
    ------
    DatasetError
        If the file is not valid gzip, is truncated, or inflates beyond ``limit``.
    """
    # a bytearray grows by over-allocating: keep room for that under the budget
    limit = min(limit, memory_budget() // 2)
    out = bytearray()
    try:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                out += chunk
                if len(out) > limit:
                    raise DatasetError(
                        f"{path}: inflates to more than {human_bytes(limit)}, the most "
                        "accepted (a corrupt or hostile file?)"
                    )
    except DatasetError:
        raise
    except MemoryError:
        raise DatasetError(f"{path}: not enough memory to inflate it") from None
    except MALFORMED as exc:
        raise DatasetError(f"{path}: not a valid gzip file ({one_line(exc)})") from exc
    return out


@guarded("an IDX file")
def read_idx(path: str | os.PathLike[str], *, ndim: int) -> np.ndarray:
    """Read a gzip-compressed IDX file (the MNIST family's format).

    Parameters
    ----------
    path : str or os.PathLike
        An ``*-idx?-ubyte.gz`` file.
    ndim : int
        The number of dimensions the file must declare (3 for images, 1 for labels).

    Returns
    -------
    numpy.ndarray
        The array in native byte order; ``uint8`` for the MNIST family.

    Raises
    ------
    DatasetError
        If the magic number, declared shape or payload length is wrong.
    """
    buf = read_gzip(path)
    if len(buf) < 4 or buf[0] != 0 or buf[1] != 0:
        raise DatasetError(f"{path}: not an IDX file (bad magic number)")
    dtype = _IDX_DTYPES.get(buf[2])
    if dtype is None:
        raise DatasetError(f"{path}: unknown IDX element type 0x{buf[2]:02x}")
    if buf[3] != ndim:
        raise DatasetError(f"{path}: IDX file has {buf[3]} dimensions, expected {ndim}")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise DatasetError(f"{path}: IDX header is truncated")
    shape = tuple(int(d) for d in np.frombuffer(buf, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(buf) - header != expected:
        raise DatasetError(
            f"{path}: IDX payload is {len(buf) - header} bytes, header {shape} needs {expected}"
        )
    arr = np.frombuffer(buf, dtype=dtype, offset=header).reshape(shape)
    return arr if dtype.isnative else arr.astype(dtype.newbyteorder("="))


def _labels(values: np.ndarray, path: str | os.PathLike[str], n_classes: int) -> np.ndarray:
    """Check that ``values`` are whole numbers in ``[0, n_classes)`` and return int64."""
    if values.size and (not np.all(np.isfinite(values)) or np.any(values != np.round(values))):
        raise DatasetError(f"{path}: labels must be whole numbers")
    if values.size and (values.min() < 0 or values.max() >= n_classes):  # before any cast
        raise DatasetError(f"{path}: labels must lie in 0..{n_classes - 1}")
    return values.astype(np.int64)


@guarded("a USPS text file")
def read_usps(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read the USPS digits in the ESL ``zip.train.gz`` / ``zip.test.gz`` format.

    Each line is a digit label followed by 256 grey values in ``[-1, 1]`` (row-major 16x16,
    -1 for background). They are mapped to ``uint8`` with ``round((v + 1) * 127.5)``, so the
    background is 0 and ink is 255, as in MNIST.

    Parameters
    ----------
    path : str or os.PathLike
        The gzip-compressed text file.

    Returns
    -------
    X : numpy.ndarray
        ``uint8`` images of shape ``(N, 16, 16)``.
    y : numpy.ndarray
        ``int64`` labels 0..9.

    Raises
    ------
    DatasetError
        If a line does not hold exactly 257 numbers, or a value is out of range.
    """
    try:
        text = read_gzip(path).decode("ascii")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not an ASCII text file") from exc
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 257:
            raise DatasetError(f"{path}: line {lineno} has {len(fields)} values, expected 257")
        try:
            rows.append(np.array(fields, dtype=np.float64))
        except ValueError as exc:
            raise DatasetError(f"{path}: line {lineno} holds a non-numeric value") from exc
    if not rows:
        raise DatasetError(f"{path}: no data rows")
    data = np.stack(rows)
    pixels = data[:, 1:]
    if not np.all(np.isfinite(pixels)) or pixels.min() < -1.0001 or pixels.max() > 1.0001:
        raise DatasetError(f"{path}: grey values must lie in [-1, 1]")
    X = np.clip(np.round((pixels + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return X.reshape(-1, 16, 16), _labels(data[:, 0], path, 10)


@guarded("a pendigits text file")
def read_pendigits(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read a UCI pen-based digits file (``pendigits.tra`` or ``pendigits.tes``).

    Each line holds 16 comma-separated integers in 0..100 and the digit label.

    Parameters
    ----------
    path : str or os.PathLike
        The plain-text file.

    Returns
    -------
    X : numpy.ndarray
        ``float32`` features of shape ``(N, 16)``, in the file's 0..100 units.
    y : numpy.ndarray
        ``int64`` labels 0..9.

    Raises
    ------
    DatasetError
        If a line does not hold 17 integers.
    """
    # a line of 17 small integers takes ~50 bytes on disk and ~1 KB as Python objects
    check_allocation(20 * os.path.getsize(path), path, "parsing this text file")
    try:
        text = Path(path).read_bytes().decode("ascii")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not an ASCII text file") from exc
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != 17:
            raise DatasetError(f"{path}: line {lineno} has {len(fields)} fields, expected 17")
        try:
            rows.append([int(f) for f in fields])
        except ValueError as exc:
            raise DatasetError(f"{path}: line {lineno} holds a non-integer value") from exc
    if not rows:
        raise DatasetError(f"{path}: no data rows")
    data = np.asarray(rows, dtype=np.int64)
    return data[:, :16].astype(np.float32), _labels(data[:, 16], path, 10)


@guarded("the CIFAR-10 binary archive")
def read_cifar10_binary(path: str | os.PathLike[str], split: str) -> tuple[np.ndarray, np.ndarray]:
    """Read one split of ``cifar-10-binary.tar.gz`` without extracting it to disk.

    Each record is one label byte followed by 3072 pixel bytes (1024 red, 1024 green, 1024
    blue, each row-major 32x32), which is exactly channels-first layout.

    Parameters
    ----------
    path : str or os.PathLike
        The binary-version archive.
    split : {"train", "test"}
        ``"train"`` reads ``data_batch_1..5.bin``; ``"test"`` reads ``test_batch.bin``.

    Returns
    -------
    X : numpy.ndarray
        ``uint8`` images of shape ``(N, 3, 32, 32)``.
    y : numpy.ndarray
        ``int64`` labels 0..9.

    Raises
    ------
    DatasetError
        If the archive is unreadable, lacks a batch, or a batch is not whole records.
    """
    xs, ys = [], []
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for name in CIFAR10_MEMBERS[split]:
                try:
                    member = tar.getmember(name)
                except KeyError:
                    raise DatasetError(f"{path}: archive has no member {name}") from None
                fh = tar.extractfile(member) if member.isfile() else None
                if fh is None:
                    raise DatasetError(f"{path}: {name} is not a regular file")
                if not member.size or member.size % _CIFAR_RECORD:
                    raise DatasetError(f"{path}: {name} is not a whole number of records")
                check_allocation(member.size, path, f"member {name}")
                raw = bytearray(fh.read(member.size))
                if len(raw) != member.size:
                    raise DatasetError(f"{path}: {name} is truncated")
                records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _CIFAR_RECORD)
                ys.append(_labels(records[:, 0], path, 10))
                xs.append(records[:, 1:].reshape(-1, 3, 32, 32))
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path}: not a readable tar.gz archive ({one_line(exc)})") from exc
    return np.concatenate(xs), np.concatenate(ys)
