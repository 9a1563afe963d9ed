"""The reader of delimited text: ``.csv`` (comma-separated) and ``.tsv`` (tab-separated) tables.

It either returns complete arrays or raises :class:`DatasetError` with one line naming the file,
the line and the column; the table's size is checked against the memory budget before the array
is allocated. Besides the features and the labels, :func:`read_table_with_ids` gives what maps
each row back to the file: the cells of an id column (or None: the row number is the id) and the
names of the feature columns.
"""

from __future__ import annotations

import csv
import decimal
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ._bounds import DatasetError, check_allocation, guarded

__all__ = ["read_table", "read_table_with_ids"]

_INT64 = np.iinfo(np.int64)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _rows(path: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line number, stripped cells)`` for every non-blank row."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        for row in reader:
            cells = [c.strip() for c in row]
            if any(cells):
                yield reader.line_num, cells


def _scan(path: Path, delimiter: str) -> tuple[list[str] | None, int, int]:
    """First pass: (header or None, number of columns, number of data rows)."""
    first: list[str] = []
    first_line, n_rows = 0, 0
    numeric_below: list[bool] = []  # for the first row's text cells: only numbers below?
    for line, cells in _rows(path, delimiter):
        if not first:
            first, first_line = cells, line
            numeric_below = [not _is_number(c) for c in cells]
        elif len(cells) != len(first):
            raise DatasetError(
                f"{path}: line {line} has {len(cells)} fields, "
                f"expected {len(first)} like line {first_line} (ragged rows)"
            )
        else:
            for j, cell in enumerate(cells):
                if numeric_below[j] and cell and not _is_number(cell):
                    numeric_below[j] = False
        n_rows += 1
    if not first:
        raise DatasetError(f"{path}: the file is empty")
    header = any(numeric_below)
    if header and n_rows == 1:
        raise DatasetError(f"{path}: a header but no data rows")
    return (first if header else None), len(first), n_rows - header


def _integer(cell: str) -> int | None:
    """The exact integer a numeric cell denotes ("3", "3.0", "3e2"), else None."""
    try:
        value = decimal.Decimal(cell)
    except decimal.InvalidOperation:
        return None
    if not value.is_finite() or value != value.to_integral_value():
        return None
    return int(value)


def _table_labels(path: Path, raw: list[str], lines: list[int]) -> np.ndarray:
    """Label cells to int64: whole numbers exactly (no rounding, no wrap-around), else text."""
    for cell, line in zip(raw, lines, strict=True):
        if not cell:
            raise DatasetError(f"{path}: empty label at line {line}")
    if not all(_is_number(c) for c in raw):  # any text: number the distinct cells
        index = {c: i for i, c in enumerate(sorted(set(raw)))}
        return np.fromiter((index[c] for c in raw), dtype=np.int64, count=len(raw))
    out = np.empty(len(raw), dtype=np.int64)
    for i, (cell, line) in enumerate(zip(raw, lines, strict=True)):
        value = _integer(cell)
        if value is None or not _INT64.min <= value <= _INT64.max:
            raise DatasetError(
                f"{path}: label {cell!r} at line {line} is not a whole number in the int64 "
                "range; numeric labels must be whole numbers (else give them as text)"
            )
        out[i] = value
    return out


def _fill(
    path: Path,
    delimiter: str,
    header: list[str] | None,
    n_rows: int,
    n_cols: int,
    features: list[int],
    kept: list[int],
) -> tuple[np.ndarray, list[list[str]], list[int]]:
    """Second pass: the features, the cells of the ``kept`` columns, and each row's line."""
    check_allocation(8 * n_rows * len(features), path, f"{n_rows} x {len(features)} floats")
    X = np.empty((n_rows, len(features)), dtype=np.float64)
    cells_kept: list[list[str]] = [[] for _ in kept]
    lines: list[int] = []
    rows = _rows(path, delimiter)
    if header is not None:
        next(rows)
    changed = DatasetError(f"{path}: the file changed while it was being read")
    i = -1
    for i, (line, cells) in enumerate(rows):
        if i >= n_rows or len(cells) != n_cols:
            raise changed
        try:
            X[i] = [float(cells[j]) if cells[j] else math.nan for j in features]
        except ValueError:
            j = next(j for j in features if cells[j] and not _is_number(cells[j]))
            name = f" ({header[j]!r})" if header else ""
            raise DatasetError(
                f"{path}: non-numeric cell {cells[j]!r} at line {line}, column {j + 1}{name}"
            ) from None
        for store, j in zip(cells_kept, kept, strict=True):
            store.append(cells[j])
        lines.append(line)
    if i + 1 != n_rows:
        raise changed
    return X, cells_kept, lines


def _read(
    path: Path, label_column: str | int | None, id_column: str | int | None
) -> tuple[np.ndarray, np.ndarray | None, list[str] | None, list[str] | None]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    header, n_cols, n_rows = _scan(path, delimiter)
    label_idx = _column_index(path, label_column, header, n_cols, "label")
    id_idx = _column_index(path, id_column, header, n_cols, "id")
    if id_idx is not None and id_idx == label_idx:
        raise DatasetError(f"{path}: the id column and the label column are the same column")
    kept = [j for j in (label_idx, id_idx) if j is not None]
    features = [j for j in range(n_cols) if j not in kept]
    if not features:
        roles = " and id columns" if id_idx is not None else " column"
        raise DatasetError(f"{path}: no feature columns besides the label{roles}")
    X, cells, lines = _fill(path, delimiter, header, n_rows, n_cols, features, kept)
    columns = dict(zip(kept, cells, strict=True))
    y = None if label_idx is None else _table_labels(path, columns[label_idx], lines)
    ids = None if id_idx is None else columns[id_idx]
    names = None if header is None else [header[j] for j in features]
    return X, y, ids, names


@guarded("delimited text")
def read_table(
    path: Path, *, label_column: str | int | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a delimited text file: comma-separated, or tab-separated for ``.tsv``.

    The first row is taken as a header when some column holds a non-numeric cell there and
    only numbers below it. Blank lines are skipped; an empty cell reads as NaN (left for the
    estimator to report); any other non-numeric feature cell is an error. The file is read
    twice, streaming: once to count and check the rows, once to fill a preallocated array.

    Parameters
    ----------
    path : pathlib.Path
        The ``.csv`` or ``.tsv`` file, UTF-8 (a byte-order mark is allowed).
    label_column : str or int, optional
        The column holding labels: a header name, or a 0-based index (negative counts from
        the end). Numeric labels must denote whole numbers in the int64 range (``3``,
        ``3.0`` and ``3e0`` are all 3; ``2.5`` or ``1e30`` is an error: nothing is rounded
        or wrapped); a column holding any non-numeric text is numbered in sorted order.

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
        and column), a label that is out of range, or an unknown ``label_column``.
    """
    X, y, _, _ = _read(path, label_column, None)
    return X, y


@guarded("delimited text")
def read_table_with_ids(
    path: Path, *, label_column: str | int | None = None, id_column: str | int | None = None
) -> tuple[np.ndarray, np.ndarray | None, list[str] | None, list[str] | None]:
    """Read a table as :func:`read_table` does, with what maps its rows back to the file.

    Parameters
    ----------
    path : pathlib.Path
        The ``.csv`` or ``.tsv`` file.
    label_column : str or int, optional
        The label column, as for :func:`read_table`.
    id_column : str or int, optional
        A column naming each row (a header name or a 0-based index); it is not a feature, and
        its cells are kept as text.

    Returns
    -------
    X : numpy.ndarray
        ``float64`` features: every column but the label and id columns.
    y : numpy.ndarray or None
        ``int64`` labels, or ``None`` without ``label_column``.
    ids : list of str or None
        The id column's cells, or ``None`` without ``id_column`` (a row's id is then its
        number, counted from 0 over the data rows: header and blank lines are not counted).
    feature_names : list of str or None
        The header's names of the feature columns, or ``None`` for a file without a header.

    Raises
    ------
    DatasetError
        As :func:`read_table`, and for an unknown ``id_column`` or one that is the label column.
    """
    return _read(path, label_column, id_column)


def _column_index(
    path: Path, column: str | int | None, header: list[str] | None, n_cols: int, role: str
) -> int | None:
    """Resolve a ``label_column`` or ``id_column`` to a 0-based column index."""
    if column is None:
        return None
    if isinstance(column, str):
        if header is not None and column in header:
            return header.index(column)
        if not column.strip().lstrip("-").isdigit():
            if header is None:
                raise DatasetError(
                    f"{path}: {role} column {column!r} is a name but the file has no header"
                )
            raise DatasetError(f"{path}: no column named {column!r} (columns: {', '.join(header)})")
    idx = int(column)
    if not -n_cols <= idx < n_cols:
        raise DatasetError(f"{path}: {role} column {idx} is out of range for {n_cols} columns")
    return idx % n_cols
