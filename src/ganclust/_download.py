"""Verified, atomic downloads into the ganclust data cache.

A file is fetched into a temporary file in its final folder, counted and hashed while it
streams, and moved into place with :func:`os.replace` only once its size and SHA-256 match
the pinned values, so the cache never holds a partial or unverified file under a real name.
A cached file is re-verified before every use; a bad one is deleted and fetched again.

Cache location, first that is set: the ``data_home`` argument, ``$GANCLUST_DATA``,
``$XDG_CACHE_HOME/ganclust``, ``~/.cache/ganclust``. Files live at
``<cache>/<dataset>/<filename>``. A mirror (``mirror=`` or ``$GANCLUST_MIRROR``) is a base URL
with that same layout, ``<mirror>/<dataset>/<filename>`` (``http``, ``https`` or ``file``);
when one is set, only the mirror is tried.

Every download is capped: at the pinned size when it is verified, else (``verify=False``,
or a file with no pinned size) at :data:`MAX_UNVERIFIED_BYTES`. A response that announces
more in its ``Content-Length`` is refused before its body is read, and one that streams
more is cut off there; either way nothing is left in the cache.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

__all__ = [
    "DownloadError",
    "RemoteFile",
    "check_file",
    "fetch",
    "file_urls",
    "get_data_home",
    "resolve_mirror",
    "sha256_of",
]

#: Seconds to wait for a server to connect or send the next block.
TIMEOUT = 60.0
_CHUNK = 1 << 16
#: The most bytes fetched for a file whose pinned size is not enforced (``verify=False`` or
#: no pinned size): four times the largest registry file (CIFAR-10, 170 MB), about 1 GiB.
MAX_UNVERIFIED_BYTES = 1 << 30
_SCHEMES = ("http", "https", "file")


class DownloadError(OSError):
    """A file could not be fetched or verified; the message says where to place it by hand."""


@dataclass
class RemoteFile:
    """One file of a named dataset, as the registry pins it.

    Parameters
    ----------
    filename : str
        Name in the cache folder and on a mirror.
    urls : tuple of str
        Canonical download locations, tried in order.
    sha256 : str or None
        Pinned SHA-256 of the file; ``None`` only where no published value was found.
    size : int or None
        Pinned size in bytes.
    checksum_source : str
        Where the pinned values were taken from.
    """

    filename: str
    urls: tuple[str, ...]
    sha256: str | None
    size: int | None
    checksum_source: str = ""


def get_data_home(data_home: str | os.PathLike[str] | None = None) -> Path:
    """Return the cache folder (not created here).

    Parameters
    ----------
    data_home : str or os.PathLike, optional
        Explicit folder; overrides the environment.

    Returns
    -------
    pathlib.Path
        ``data_home``, else ``$GANCLUST_DATA``, else ``$XDG_CACHE_HOME/ganclust``, else
        ``~/.cache/ganclust``.
    """
    if data_home is not None:
        return Path(data_home).expanduser()
    if os.environ.get("GANCLUST_DATA"):
        return Path(os.environ["GANCLUST_DATA"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "ganclust"


def resolve_mirror(mirror: str | None = None) -> str | None:
    """Return the mirror base URL in effect, checked, without a trailing slash.

    Parameters
    ----------
    mirror : str, optional
        Explicit base URL; overrides ``$GANCLUST_MIRROR``. An empty string means none.

    Returns
    -------
    str or None
        The base URL, or ``None`` to use the canonical sources.

    Raises
    ------
    ValueError
        If the URL's scheme is not http, https or file.
    """
    base = os.environ.get("GANCLUST_MIRROR") if mirror is None else mirror
    if not base:
        return None
    scheme = urllib.parse.urlsplit(base).scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(f"mirror {base!r} must be an http://, https:// or file:// URL")
    return base.rstrip("/")


def file_urls(dataset: str, remote: RemoteFile, mirror: str | None) -> list[str]:
    """Return the URLs to try for ``remote``: the mirror's only, or the canonical ones.

    Parameters
    ----------
    dataset : str
        Registry name, the mirror's sub-folder.
    remote : RemoteFile
        The file.
    mirror : str or None
        A base URL from :func:`resolve_mirror`.

    Returns
    -------
    list of str
        URLs in the order to try them.
    """
    if mirror:
        return [f"{mirror}/{dataset}/{urllib.parse.quote(remote.filename)}"]
    return list(remote.urls)


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Return the hex SHA-256 of a file, read in blocks.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    str
        64 lowercase hex digits.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def check_file(path: Path, remote: RemoteFile, *, verify: bool = True) -> str | None:
    """Say what is wrong with a local copy of ``remote``, or ``None`` if it is good.

    Parameters
    ----------
    path : pathlib.Path
        The local file.
    remote : RemoteFile
        The pinned size and hash.
    verify : bool, optional
        If false, only check that the file exists.

    Returns
    -------
    str or None
        A short description of the problem, or ``None``.
    """
    if not path.is_file():
        return "missing"
    if not verify:
        return None
    size = path.stat().st_size
    if remote.size is not None and size != remote.size:
        return f"size is {size} bytes, expected {remote.size}"
    if remote.sha256 is not None:
        got = sha256_of(path)
        if got != remote.sha256.lower():
            return f"sha256 is {got}, expected {remote.sha256}"
    return None


def _stream(
    url: str, dest: Path, remote: RemoteFile, *, verify: bool, progress: bool, timeout: float
) -> None:
    """Fetch ``url`` into a temporary file next to ``dest``; verify; rename into place."""
    request = urllib.request.Request(url, headers={"User-Agent": "ganclust"})
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            limit = _cap(remote, verify)
            if expected is not None and expected > limit:
                raise _Rejected(f"server announces {expected} bytes, more than the {limit} cap")
            digest = hashlib.sha256()
            got = 0
            with tqdm(
                total=expected or remote.size,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=remote.filename,
                disable=not progress,
                leave=False,
            ) as bar:
                while block := resp.read(_CHUNK):
                    got += len(block)
                    if got > limit:
                        raise _Rejected(f"server sent more than the {limit} bytes expected")
                    digest.update(block)
                    out.write(block)
                    bar.update(len(block))
        if expected is not None and got != expected:
            raise _Rejected(f"truncated: received {got} of {expected} bytes")
        if verify:
            if remote.size is not None and got != remote.size:
                raise _Rejected(f"received {got} bytes, expected {remote.size}")
            if remote.sha256 is not None and digest.hexdigest() != remote.sha256.lower():
                raise _Rejected(
                    f"checksum mismatch: sha256 {digest.hexdigest()}, expected {remote.sha256}"
                )
        if not verify or remote.sha256 is None:
            warnings.warn(
                f"{remote.filename} was not verified against a pinned checksum; "
                f"its sha256 is {digest.hexdigest()} ({got} bytes)",
                stacklevel=4,
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _cap(remote: RemoteFile, verify: bool) -> int:
    """The most bytes to accept for ``remote``: its pinned size, or the unverified cap."""
    if verify and remote.size is not None:
        return remote.size
    return MAX_UNVERIFIED_BYTES


class _Rejected(Exception):
    """A response arrived but its bytes are not the pinned file."""


def fetch(
    dataset: str,
    remote: RemoteFile,
    *,
    data_home: str | os.PathLike[str] | None = None,
    mirror: str | None = None,
    download: bool = True,
    progress: bool = True,
    verify: bool = True,
    timeout: float | None = None,
) -> Path:
    """Return the path of a verified local copy of ``remote``, downloading it if needed.

    Parameters
    ----------
    dataset : str
        Registry name; the cache and mirror sub-folder.
    remote : RemoteFile
        The file and its pinned size and hash.
    data_home : str or os.PathLike, optional
        Cache folder; see :func:`get_data_home`.
    mirror : str, optional
        Mirror base URL; see :func:`resolve_mirror`.
    download : bool, optional
        If false, never touch the network: a missing or bad file is an error.
    progress : bool, optional
        Show a tqdm progress bar while downloading.
    verify : bool, optional
        Check size and SHA-256. If false, skip those checks (a warning gives the hash); the
        download is still capped at :data:`MAX_UNVERIFIED_BYTES`.
    timeout : float, optional
        Socket timeout in seconds; default :data:`TIMEOUT`.

    Returns
    -------
    pathlib.Path
        ``<cache>/<dataset>/<filename>``, verified.

    Raises
    ------
    DownloadError
        If the file is not cached and cannot be fetched, or every copy fails verification;
        the message names the file, the URLs tried and the full path to place it at.
    ValueError
        If ``verify`` is true but no checksum is pinned for the file.
    """
    dest = get_data_home(data_home) / dataset / remote.filename
    urls = file_urls(dataset, remote, resolve_mirror(mirror))
    if verify and remote.sha256 is None:
        raise ValueError(
            f"{dataset}: no pinned sha256 is known for {remote.filename}, so it cannot be "
            "verified; pass verify=False (CLI: --no-verify) to use it unverified"
        )
    if _usable_copy(dataset, dest, remote, urls[0], verify=verify, download=download):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    return _download_first(dataset, urls, dest, remote, verify, progress, timeout)


def _usable_copy(
    dataset: str, dest: Path, remote: RemoteFile, url: str, *, verify: bool, download: bool
) -> bool:
    """Whether the cached copy is good; a bad one is removed (when it may be fetched again)."""
    problem = check_file(dest, remote, verify=verify)
    if problem is None:
        return True
    if problem != "missing":
        if not download:
            raise DownloadError(
                f"{dataset}: cached {dest} failed verification ({problem}) and download=False; "
                f"replace it with a good copy of {url}"
            )
        warnings.warn(f"{dest} failed verification ({problem}); fetching it again", stacklevel=3)
        dest.unlink()
    if not download:
        raise DownloadError(
            f"{dataset}: {remote.filename} is not cached and download=False; "
            f"download {url} and place it at {dest}"
        )
    return False


def _download_first(
    dataset: str,
    urls: list[str],
    dest: Path,
    remote: RemoteFile,
    verify: bool,
    progress: bool,
    timeout: float | None,
) -> Path:
    """Try each URL in turn; the first good copy lands at ``dest``."""
    errors = []
    for url in urls:
        try:
            _stream(
                url,
                dest,
                remote,
                verify=verify,
                progress=progress,
                timeout=TIMEOUT if timeout is None else timeout,
            )
            return dest
        except (_Rejected, OSError, http.client.HTTPException, ValueError) as exc:
            if isinstance(exc, urllib.error.HTTPError):
                reason = f"HTTP {exc.code} {exc.reason}"
                exc.close()
            elif isinstance(exc, urllib.error.URLError):
                reason = exc.reason
            else:
                reason = exc
            errors.append(f"{url} ({reason})")
    raise DownloadError(
        f"{dataset}: could not download {remote.filename} from {'; '.join(errors)}; "
        f"fetch it by hand and place it at {dest}"
    )
