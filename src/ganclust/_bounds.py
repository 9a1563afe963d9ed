"""Bounds and error conversion shared by every reader of data files.

* :func:`guarded` wraps a reader once, at its root, so that whatever a malformed file makes
  the standard library, NumPy or Pillow raise (``zipfile.BadZipFile``, ``EOFError``,
  ``zlib.error``, ``struct.error``, ``UnicodeDecodeError``, ``OSError``, ``MemoryError``, ...)
  reaches the caller as one :class:`DatasetError` (a ``ValueError``) naming the file.
* :func:`check_allocation` compares a size that a file *declares* (a header, a zip or tar
  member's size, an image's width and height) with :func:`memory_budget` before anything of
  that size is allocated.

A leaf: it imports nothing from ganclust.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import os
import struct
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

__all__ = [
    "MALFORMED",
    "MAX_READ_BYTES",
    "DatasetError",
    "check_allocation",
    "guarded",
    "human_bytes",
    "memory_budget",
    "one_line",
    "reading",
]

#: What one reader may allocate, in bytes, in place of the measured available memory (the
#: process's rlimits still apply); ``None``: measure it. See :func:`memory_budget`.
MAX_READ_BYTES: int | None = None


class DatasetError(ValueError):
    """Bad input: an unknown name, a malformed or missing file, inconsistent arrays."""


_F = TypeVar("_F", bound=Callable)

#: What malformed bytes make the standard library, NumPy or Pillow raise while parsing.
MALFORMED: tuple[type[BaseException], ...] = (
    OSError,  # includes zlib's and gzip's BadGzipFile, truncation, permissions
    EOFError,
    ValueError,  # includes UnicodeDecodeError and NumPy's header errors
    RuntimeError,  # includes NotImplementedError (an unsupported zip method or encryption)
    SyntaxError,  # Pillow's "broken PNG file"
    OverflowError,
    zlib.error,
    struct.error,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    tarfile.TarError,
    csv.Error,
)


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@contextlib.contextmanager
def reading(
    path: str | os.PathLike[str], what: str, extra: tuple[type[BaseException], ...] = ()
) -> Iterator[None]:
    """Turn any parsing failure inside the block into one :class:`DatasetError`.

    Parameters
    ----------
    path : str or os.PathLike
        The file to name in the message.
    what : str
        What the file was read as, e.g. ``"a .npz archive"``.
    extra : tuple of exception types, optional
        Further types to convert (Pillow's ``DecompressionBombError``, say).

    Yields
    ------
    None

    Raises
    ------
    DatasetError
        For a :data:`MALFORMED` or ``extra`` error, or a ``MemoryError``.
    """
    try:
        yield
    except DatasetError:
        raise
    except MemoryError:
        raise DatasetError(f"{path}: not enough memory to read it as {what}") from None
    except (*MALFORMED, *extra) as exc:
        raise DatasetError(f"{path}: cannot read as {what} ({one_line(exc)})") from exc


def guarded(what: str) -> Callable[[_F], _F]:
    """Decorate a reader whose first argument is a path so that it raises only DatasetError.

    Parameters
    ----------
    what : str
        What the reader reads, for the message; see :func:`reading`.

    Returns
    -------
    callable
        The decorator.
    """

    def decorate(func: _F) -> _F:
        @functools.wraps(func)
        def wrapper(path, *args, **kwargs):
            with reading(path, what):
                return func(path, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _read_ints(path: str, key: str | None = None) -> list[int]:
    """Numbers from a /proc- or /sys-style file: a line's (after ``key``) or every field."""
    try:
        text = Path(path).read_text()
    except OSError:
        return []
    if key is not None:
        lines = [ln[len(key) :] for ln in text.splitlines() if ln.startswith(key)]
        text = lines[0] if lines else ""
    return [int(f) for f in text.split() if f.isdigit()]


def _rlimit_headroom() -> list[int]:
    """Bytes left under RLIMIT_AS (address space) and RLIMIT_DATA (data segment)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return []
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    statm = _read_ints("/proc/self/statm")  # size resident shared text lib data dt, in pages
    out = []
    for name, field in (("RLIMIT_AS", 0), ("RLIMIT_DATA", 5)):
        soft = resource.getrlimit(getattr(resource, name))[0] if hasattr(resource, name) else -1
        if soft not in (-1, resource.RLIM_INFINITY):
            out.append(soft - (statm[field] * page if len(statm) > field else 0))
    return out


def memory_budget() -> int:
    """Return how many bytes one reader may allocate.

    The smallest of the headroom left under the process's ``RLIMIT_AS`` / ``RLIMIT_DATA``
    soft limits (exceeding those fails for certain) and either :data:`MAX_READ_BYTES`, when
    set (to allow more, with swap, or less), or else the kernel's estimate of available
    memory (``MemAvailable``) and the headroom under a cgroup-v2 ``memory.max``. What cannot
    be measured on this platform is left out.

    Returns
    -------
    int
        Bytes, at least 0; ``sys.maxsize`` when nothing could be measured.
    """
    limits = _rlimit_headroom()
    if MAX_READ_BYTES is not None:
        limits.append(int(MAX_READ_BYTES))
    else:
        available = _read_ints("/proc/meminfo", "MemAvailable:")
        cgroup_max = _read_ints("/sys/fs/cgroup/memory.max")
        cgroup_now = _read_ints("/sys/fs/cgroup/memory.current")
        limits += [available[0] * 1024] if available else []
        limits += [cgroup_max[0] - cgroup_now[0]] if cgroup_max and cgroup_now else []
    return max(0, min(limits)) if limits else sys.maxsize


def human_bytes(n: int) -> str:
    """Format a byte count with a binary unit, e.g. ``2.0 GiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def check_allocation(nbytes: int, where: str | os.PathLike[str], what: str, hint: str = "") -> None:
    """Refuse before allocating ``nbytes`` when they exceed :func:`memory_budget`.

    Parameters
    ----------
    nbytes : int
        The size that a file declares, in bytes (a Python int: no overflow).
    where : str or os.PathLike
        The file to name.
    what : str
        What would be allocated, e.g. ``"member X.npy of shape (10, 3)"``.
    hint : str, optional
        What to do instead, appended to the message.

    Raises
    ------
    DatasetError
        If ``nbytes`` is more than the budget.
    """
    budget = memory_budget()
    if nbytes > budget:
        raise DatasetError(
            f"{where}: {what} needs {human_bytes(nbytes)}, more than the "
            f"{human_bytes(budget)} of memory available{'; ' + hint if hint else ''}"
        )
