"""Atomic files and folders: the one implementation of "write to a temporary name, then rename".

A reader never sees a half-written file: everything is written under a hidden temporary name
beside its destination and moved into place with ``os.replace`` once complete. A failure or an
interrupt removes the temporary and leaves the destination as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_public(path: Path) -> None:
    """Give a temporary file or folder the permissions a plainly created one would have.

    ``mkstemp`` and ``mkdtemp`` create owner-only entries; renamed into place they would stay so.
    """
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~_umask())


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    Parameters
    ----------
    path : str or os.PathLike
        The destination file. Its folder is created if missing.

    Yields
    ------
    pathlib.Path
        A fresh, empty file with the permissions a plain ``open(path, "w")`` would give.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    make_public(Path(tmp))
    try:
        yield Path(tmp)
        # again: a writer may have replaced the file (safetensors writes a new, owner-only one)
        make_public(Path(tmp))
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str], prefix: str = "") -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; the caller commits it, or it is removed.

    The block receives the temporary folder and must move it into place itself (the commit
    rules, such as what may be replaced, belong to the caller). Whatever is still at the
    temporary name when the block ends, normally or not, is removed.

    Parameters
    ----------
    path : str or os.PathLike
        The destination folder; the temporary one is created in its parent.
    prefix : str
        Start of the temporary folder's name, so a user who sees a leftover knows its owner.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}.{path.name}.", dir=path.parent))
    make_public(tmp)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
