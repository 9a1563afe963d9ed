"""The table of named datasets that ``ganclust datasets`` prints: sizes, shapes, cached or not."""

from __future__ import annotations

import os

from ._download import get_data_home
from .datasets_registry import DATASETS


def list_datasets(*, data_home: str | os.PathLike[str] | None = None) -> list[dict]:
    """Describe every named dataset and whether its files are in the cache.

    Parameters
    ----------
    data_home : str or os.PathLike, optional
        Cache folder to look in.

    Returns
    -------
    list of dict
        One dict per dataset with keys ``name``, ``description``, ``n_samples`` (all
        splits), ``shape`` (one sample), ``splits`` (name to size), ``download_bytes``
        (``None`` if unknown), ``source`` and ``cached``: true when every file is present
        with its pinned size (the full checksum is checked on load, not here).
    """
    home = get_data_home(data_home)
    rows = []
    for info in DATASETS.values():
        files = list(info.files.values())
        sizes = [f.size for f in files]
        local = [home / info.name / f.filename for f in files]
        rows.append(
            {
                "name": info.name,
                "description": info.description,
                "n_samples": info.splits["all"],
                "shape": info.sample_shape,
                "splits": dict(info.splits),
                "download_bytes": None if None in sizes else sum(sizes),  # type: ignore[arg-type]
                "source": info.source,
                "cached": all(
                    p.is_file() and (f.size is None or p.stat().st_size == f.size)
                    for p, f in zip(local, files, strict=True)
                ),
            }
        )
    return rows


def _human(n: int | None) -> str:
    if n is None:
        return "?"
    if n == 0:
        return "bundled"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return str(n)


def format_dataset_table(rows: list[dict]) -> str:
    """Format :func:`list_datasets` rows as a plain-text table.

    Parameters
    ----------
    rows : list of dict
        As returned by :func:`list_datasets`.

    Returns
    -------
    str
        Aligned columns NAME, SAMPLES, SHAPE, SPLITS, DOWNLOAD, CACHED, SOURCE; no trailing
        newline.
    """
    header = ("NAME", "SAMPLES", "SHAPE", "SPLITS", "DOWNLOAD", "CACHED", "SOURCE")
    table = [header]
    for r in rows:
        splits = r.get("splits", {})
        named = [f"{k} {v}" for k, v in splits.items() if k != "all"]
        table.append(
            (
                str(r["name"]),
                f"{r['n_samples']:,}",
                "x".join(str(d) for d in r["shape"]),
                ", ".join(named) or "all",
                _human(r.get("download_bytes")),
                "yes" if r["cached"] else "no",
                str(r["source"]),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in table
    )
