"""Training data read from disk in batches: an array held on disk is never copied whole.

A fit on an in-memory array preprocesses it once into a tensor. A fit on a memory-mapped
array (``np.load(path, mmap_mode="r")``, ``np.memmap``; the CLI maps ``.npy`` files), or on
any other array-like that takes slices (an HDF5 dataset of h5py, a zarr or dask array), keeps
the array where it is and wraps it in :class:`Rows`, which reads and preprocesses only the rows
a step asks for: a training batch, the occupancy probe, a block of a batched forward pass, the
manifold's subsample. Every read gives the values the whole tensor would hold, so the fit on a
memory-mapped array is the in-memory fit, bit for bit; what it does not do is hold ``N x D``
float32 values at once.
"""

from __future__ import annotations

import hashlib
import mmap
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from .preprocess import Preprocessor, is_array_like

# rows read at once by split() and digest() when no batch size is given
BLOCK_ROWS = 4096
# a refinement round reads the learned features of at most this many samples (refinement_rows)
REFINE_SAMPLES = 65_536


def _memmap_of(X: Any) -> np.memmap | None:
    """The memory-mapped array ``X`` is, or is a view of, or None."""
    while isinstance(X, np.ndarray):
        if isinstance(X, np.memmap):
            return X
        X = X.base
    return None


def is_memory_mapped(X: Any) -> bool:
    """Whether ``X`` is, or is a view of, a memory-mapped numpy array."""
    return _memmap_of(X) is not None


def _file_of(source: Any) -> tuple[str, int, tuple[int, int]] | None:
    """The file, byte offset and file identity (device, inode) of a memory-mapped array that
    reads can take from the file itself: the whole mapped array (or ``np.asarray`` of it),
    C-ordered, not copy-on-write."""
    mapped = _memmap_of(source)
    if mapped is None or mapped.mode not in ("r", "r+") or mapped.filename is None:
        return None
    whole = isinstance(mapped.base, mmap.mmap) and source.shape == mapped.shape
    same = whole and source.dtype == mapped.dtype and source.ctypes.data == mapped.ctypes.data
    if not (same and source.flags.c_contiguous):
        return None
    try:
        stat = os.stat(mapped.filename)
    except OSError:
        return None
    return str(mapped.filename), int(mapped.offset), (stat.st_dev, stat.st_ino)


def stays_on_disk(X: Any) -> bool:
    """Whether a fit reads ``X`` in batches (:class:`Rows`) instead of loading it whole."""
    return is_memory_mapped(X) or is_array_like(X)


def _in_range(wanted: np.ndarray, n: int) -> np.ndarray:
    """Row positions with negative ones counted from the end, as numpy does.

    Raises
    ------
    IndexError
        If a position is outside the ``n`` rows.
    """
    wanted = np.where(wanted < 0, wanted + n, wanted)
    if len(wanted) and (wanted.min() < 0 or wanted.max() >= n):
        raise IndexError(f"row index out of range for {n} rows")
    return wanted


def _runs(unique: np.ndarray) -> list[np.ndarray]:
    """Sorted unique positions split into runs of consecutive ones, of at most ``BLOCK_ROWS``."""
    if len(unique) == 0:
        return []
    runs = np.split(unique, np.flatnonzero(np.diff(unique) != 1) + 1)
    return [run[at : at + BLOCK_ROWS] for run in runs for at in range(0, len(run), BLOCK_ROWS)]


def _by_runs(index: np.ndarray, read_run: Any, row_like: np.ndarray) -> np.ndarray:
    """The rows at sorted positions ``index`` (duplicates allowed), read as one
    ``read_run(start, stop)`` per run of consecutive positions; ``row_like`` gives the row
    shape and dtype."""
    unique, counts = np.unique(index, return_counts=True)
    read = [read_run(int(run[0]), int(run[-1]) + 1) for run in _runs(unique)]
    if not read:
        return np.empty((0, *row_like.shape[1:]), dtype=row_like.dtype)
    out = np.concatenate(read)
    return out if len(unique) == len(index) else np.repeat(out, counts, axis=0)


def _gather(source: Any, index: np.ndarray) -> np.ndarray:
    """``source[index]`` for sorted positions ``index``, duplicates allowed."""
    if isinstance(source, np.ndarray):
        return source[index]
    # array-likes differ in the indices they take (h5py: increasing and unique, zarr: none
    # through []), but all take slices: read each run of consecutive positions as one
    return _by_runs(index, lambda start, stop: np.asarray(source[start:stop]), source)


def _read_file(
    path: str, offset: int, identity: tuple[int, int], source: np.ndarray, index: np.ndarray
) -> np.ndarray | None:
    """The rows at sorted positions ``index`` of the C-ordered array that ``source`` maps from
    ``path`` at byte ``offset``, read from the file, one read per run of consecutive rows; None
    when the path no longer names the mapped file (``identity``: its device and inode)."""
    row_bytes = source[:1].nbytes
    try:
        file = open(path, "rb", buffering=0)  # noqa: SIM115 (closed below)
    except OSError:
        return None

    def read_run(start: int, stop: int) -> np.ndarray:
        out = np.empty((stop - start, *source.shape[1:]), dtype=source.dtype)
        buffer, at = memoryview(out.reshape(-1).view(np.uint8)), 0
        file.seek(offset + start * row_bytes)
        while at < len(buffer):
            got = file.readinto(buffer[at:])
            if not got:
                raise OSError(f"{path} ends before row {stop - 1}: was it truncated?")
            at += got
        return out

    with file:
        stat = os.fstat(file.fileno())
        if (stat.st_dev, stat.st_ino) != identity:  # replaced or moved: the mapping holds it
            return None
        return _by_runs(index, read_run, source)


class Rows:
    """The preprocessed samples of ``source``, read on demand, with a tensor's indexing.

    ``rows[i]`` (an index tensor or array, in any order, or a slice) is the float32 tensor
    ``preprocessor.to_tensor(source)[i]`` on ``device``; ``len``, ``shape``, ``dim``, ``to``,
    ``contiguous`` and ``split`` behave as a tensor's do.

    A memory-mapped array is read from its file (``readinto`` at each run of rows), not through
    the mapping: the pages a mapping touches count in the process's resident memory, and a
    page fault maps the cached pages around the one it needs too (64 KiB or a large folio), so
    a shuffled batch of 784-byte rows read through the mapping would map megabytes, and an
    epoch the whole file. A file read leaves them in the page cache only. Views of a mapping
    other than the whole array, and copy-on-write mappings (whose writes only the mapping
    holds), are read through it; for a read-only mapping (``mmap_mode="r"``) its pages are let
    go after every read (``madvise(MADV_DONTNEED)``), which also lets go of what the input
    validation and statistics mapped.
    """

    def __init__(
        self,
        source: np.ndarray,
        preprocessor: Preprocessor,
        device: torch.device | str = "cpu",
        memory_format: torch.memory_format | None = None,
        index: np.ndarray | None = None,
    ) -> None:
        self.source, self.preprocessor = source, preprocessor
        self.device = torch.device(device)
        self.memory_format = memory_format
        # the samples of source these rows are, in order (None: all of them)
        self.index = index
        mapped = _memmap_of(source)
        release = getattr(getattr(mapped, "_mmap", None), "madvise", None)
        self._release = release if mapped is not None and mapped.mode == "r" else None
        self._file = _file_of(source)
        self._unmapped = False

    def __len__(self) -> int:
        return len(self.source) if self.index is None else len(self.index)

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self), *self.preprocessor.data_shape))

    def dim(self) -> int:
        return len(self.shape)

    def to(self, device: torch.device | str) -> Rows:
        """The same rows, read onto ``device``."""
        return Rows(self.source, self.preprocessor, device, self.memory_format, self.index)

    def contiguous(self, memory_format: torch.memory_format = torch.contiguous_format) -> Rows:
        """The same rows, each read in ``memory_format``."""
        return Rows(self.source, self.preprocessor, self.device, memory_format, self.index)

    def subset(self, index: np.ndarray) -> Rows:
        """The rows ``index`` (an array of positions), still on disk."""
        index = np.asarray(index, dtype=np.int64)
        at = index if self.index is None else self.index[index]
        return Rows(self.source, self.preprocessor, self.device, self.memory_format, at)

    def __getitem__(self, index: Any) -> torch.Tensor:
        direct = self._file is None and isinstance(self.source, np.ndarray)
        from_file = False
        if isinstance(index, slice) and self.index is None and direct:
            rows = np.asarray(self.source[index])
        else:
            if isinstance(index, slice):
                wanted = np.arange(len(self))[index]
            elif isinstance(index, torch.Tensor):
                wanted = index.cpu().numpy()
            else:
                wanted = np.asarray(index)
            wanted = _in_range(wanted.astype(np.int64).reshape(-1), len(self))
            if self.index is not None:
                wanted = self.index[wanted]
            # read in file order (sequential on disk), then put back in the order asked for
            order = np.argsort(wanted, kind="stable")
            rows = np.empty((len(wanted), *self.source.shape[1:]), dtype=self.source.dtype)
            read = None
            if self._file is not None:
                read = _read_file(*self._file, self.source, wanted[order])
            from_file = read is not None
            rows[order] = _gather(self.source, wanted[order]) if read is None else read
        # a file read maps nothing: the mapping is let go only while a read may have mapped
        # some of it (the validation's and statistics' reads, a read through the mapping)
        if self._release is not None and not (from_file and self._unmapped):
            # the pages stay in the page cache: a later read maps them again
            self._release(mmap.MADV_DONTNEED)
            self._unmapped = from_file
        out = self.preprocessor.to_tensor(rows).to(self.device)
        if self.memory_format is not None:
            out = out.contiguous(memory_format=self.memory_format)
        return out

    def split(self, size: int = BLOCK_ROWS) -> Iterator[torch.Tensor]:
        """Consecutive blocks of at most ``size`` rows, as tensors."""
        for start in range(0, len(self), size):
            yield self[start : start + size]


def blocks(data: torch.Tensor | Rows, size: int) -> Iterator[torch.Tensor | Rows]:
    """Consecutive blocks of at most ``size`` samples: a tensor's views, or rows still on disk.

    A block of :class:`Rows` is read only when something asks for its rows (a batched forward
    pass reads it 1,024 rows at a time), so that no block is held preprocessed at once.
    """
    if isinstance(data, torch.Tensor):
        yield from data.split(size)
        return
    for start in range(0, len(data), size):
        yield data.subset(np.arange(start, min(start + size, len(data))))


def subset(data: torch.Tensor | Rows, index: np.ndarray) -> torch.Tensor | Rows:
    """The samples ``index`` of ``data``: a tensor's, or rows still on disk."""
    if isinstance(data, Rows):
        return data.subset(index)
    return data[torch.from_numpy(np.asarray(index, dtype=np.int64)).to(data.device)]


def digest(data: torch.Tensor | Rows) -> str:
    """SHA-256 of the preprocessed float32 values in row-major order (a tensor's bytes)."""
    if isinstance(data, torch.Tensor):
        return hashlib.sha256(data.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
    hasher = hashlib.sha256()
    for block in data.to("cpu").contiguous().split():
        hasher.update(block.numpy().tobytes())
    return hasher.hexdigest()


def take(data: torch.Tensor | Rows, index: np.ndarray) -> torch.Tensor:
    """``data[index]`` as a CPU tensor, for a tensor or :class:`Rows`."""
    if isinstance(data, Rows):
        return data.to("cpu")[index]
    return data.detach().cpu()[torch.from_numpy(np.asarray(index, dtype=np.int64))]


def refinement_rows(n_samples: int, seed: int) -> np.ndarray | None:
    """The samples a refinement round reads: all (None), or ``REFINE_SAMPLES`` drawn.

    Reading a bounded subsample keeps a memory-mapped set's refinement in bounded memory; the
    samples left out train that round without a pseudo-label, as the first round's do beyond
    ``ganclust.pseudo_labels.MAX_MANIFOLD_SAMPLES``.
    """
    if n_samples <= REFINE_SAMPLES:
        return None
    rng = np.random.default_rng([seed, n_samples])
    return np.sort(rng.choice(n_samples, REFINE_SAMPLES, replace=False))
