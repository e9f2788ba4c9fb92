"""CSV import and export of a 2-D dataset (columns x1, x2, label, split).

Classification or regression, by one rule: labels that are all whole numbers (2 or 2.0) are
classes; a label that is not a whole number (0.25) makes every label a real target
(regression), and so does naming the column ``target`` instead of ``label`` (the export of a
regression data set does, so a target that happens to be whole stays a target).

An uploaded file is untrusted, like a run file (``runfile``) or a link (``query``): it is read with
a size cap, every cell is checked, and every problem raises ``DatasetError`` with one sentence
meant for the end user. Numbers are ASCII only (``[0-9]``, as in the URL codec): Python's ``float``
also reads other scripts' digits ("١٢" is 12.0), which no CSV writer produces.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import numpy as np

from deqnet.datasets import (
    MAX_ABS_VALUE,
    N_MIN,
    Dataset,
    DatasetError,
    check_seed,
    check_test_fraction,
    is_integer,
    is_regression_labels,
    regression_dataset,
    split_dataset,
)

MAX_CSV_BYTES = 2 * 1024 * 1024
CSV_COLUMNS: tuple[str, ...] = ("x1", "x2", "label")
_SPLIT_COLUMN = "split"
_TARGET_COLUMN = "target"  # instead of "label": the file is regression data
_SPLITS = ("train", "test")
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NON_FINITE_WORDS = {"nan", "inf", "infinity"}


def _quote(text: str, limit: int = 40) -> str:
    """A file's cell quoted for an error message, cut to ``limit`` characters."""
    text = str(text)
    return repr(text if len(text) <= limit else text[:limit] + "…")


def dataset_to_csv(data: Dataset) -> str:
    """Serialise ``data`` as CSV text with header ``x1,x2,label,split`` (regression:
    ``x1,x2,target,split``, targets in the shortest form that round-trips float32).

    Train rows come first, then test rows; ``split`` is ``train`` or ``test``. Coordinates use
    the shortest decimal form that round-trips float32, so :func:`load_csv` reproduces the
    arrays exactly.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    regression = data.task == "regression"
    writer.writerow(["x1", "x2", _TARGET_COLUMN if regression else "label", _SPLIT_COLUMN])
    for split, xs, ys in (
        ("train", data.x_train, data.y_train),
        ("test", data.x_test, data.y_test),
    ):
        for (a, b), label in zip(xs, ys, strict=True):
            writer.writerow([str(a), str(b), str(label) if regression else int(label), split])
    return out.getvalue()


def _read_text(source: str | bytes | bytearray | io.IOBase | Path) -> str:
    """Return the CSV text of ``source`` (text, bytes, a binary/text file object or a Path)."""
    if isinstance(source, Path):
        if source.stat().st_size > MAX_CSV_BYTES:
            raise _too_large()
        source = source.read_bytes()
    elif isinstance(source, io.IOBase) or hasattr(source, "read"):
        source = source.read(MAX_CSV_BYTES + 1)
    if isinstance(source, str):
        if len(source) > MAX_CSV_BYTES or len(source.encode("utf-8", "replace")) > MAX_CSV_BYTES:
            raise _too_large()
        text = source.removeprefix("\ufeff")
    elif isinstance(source, bytes | bytearray | memoryview):
        raw = bytes(source)
        if len(raw) > MAX_CSV_BYTES:
            raise _too_large()
        if b"\x00" in raw:
            raise DatasetError("The file looks binary; please upload a plain-text CSV file.")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DatasetError(
                "The file could not be decoded as UTF-8 text; please upload a plain-text CSV file."
            ) from None
    else:
        raise DatasetError("The CSV source must be text, bytes or a file object.")
    if "\x00" in text:
        raise DatasetError("The file looks binary; please upload a plain-text CSV file.")
    if not text.strip():
        raise DatasetError("The file is empty; it needs columns x1,x2,label and at least 8 rows.")
    return text


def _too_large() -> DatasetError:
    return DatasetError(f"The file is larger than the {MAX_CSV_BYTES // (1024 * 1024)} MB limit.")


def _is_number(cell: str) -> bool:
    return bool(_NUMBER_RE.fullmatch(cell.strip()))


def _parse_header(cells: list[str]) -> list[str]:
    """Validate a header row and return the lower-case column names in file order ("target"
    read as "label"; the caller notes that it was there)."""
    names = [c.strip().lower() for c in cells]
    if _TARGET_COLUMN in names and "label" not in names:
        names = ["label" if name == _TARGET_COLUMN else name for name in names]
    if len(names) == 1:
        raise DatasetError(
            "The header has only one column; values must be separated by commas (x1,x2,label)."
        )
    allowed = (*CSV_COLUMNS, _SPLIT_COLUMN)
    for name in names:
        if name not in allowed:
            raise DatasetError(
                f"Unexpected column {_quote(name)} in the header; the columns must be x1,x2,label "
                "(optionally followed by split)."
            )
    for name in allowed:
        if names.count(name) > 1:
            raise DatasetError(f"The header names the column {_quote(name)} more than once.")
    missing = [name for name in CSV_COLUMNS if name not in names]
    if missing:
        raise DatasetError(f"The header is missing the column(s): {', '.join(missing)}.")
    return names


def _parse_coordinate(cell: str, row: int, column: str) -> float:
    """Parse one coordinate cell, rejecting non-numbers, NaN/inf and values beyond 1000."""
    text = cell.strip()
    if not text:
        raise DatasetError(f"Row {row}, column {column} is empty; every cell needs a number.")
    if text.lower().lstrip("+-") in _NON_FINITE_WORDS:
        raise DatasetError(f"Row {row}, column {column}: {_quote(text)} is not a finite number.")
    if not _NUMBER_RE.fullmatch(text):
        raise DatasetError(f"Row {row}, column {column}: {_quote(text)} is not a number.")
    value = float(text)
    if not math.isfinite(value):
        raise DatasetError(f"Row {row}, column {column}: {_quote(text)} is not a finite number.")
    if abs(value) > MAX_ABS_VALUE:
        raise DatasetError(
            f"Row {row}, column {column}: {_quote(text)} is outside the allowed range "
            f"-{MAX_ABS_VALUE:g} to {MAX_ABS_VALUE:g}."
        )
    return value


def _parse_label(cell: str, row: int) -> float:
    """Parse a label cell: a number (whole for a class, any for a regression target)."""
    text = cell.strip()
    if _NUMBER_RE.fullmatch(text):
        value = float(text)
        if math.isfinite(value):
            if abs(value) > MAX_ABS_VALUE:
                raise DatasetError(
                    f"Row {row}, column label: {_quote(text)} is outside the allowed range "
                    f"-{MAX_ABS_VALUE:g} to {MAX_ABS_VALUE:g}."
                )
            return value
    raise DatasetError(
        f"Row {row}, column label: {_quote(text)} is not a valid label; labels must be numbers: "
        "whole numbers such as 0, 1, 2 for classes, or real numbers such as 0.37 for regression."
    )


def _parse_split(cell: str, row: int) -> bool:
    """Return True for ``test``, False for ``train`` (case-insensitive)."""
    text = cell.strip().lower()
    if text not in _SPLITS:
        raise DatasetError(
            f"Row {row}, column split: {_quote(cell.strip())} is not valid; use train or test."
        )
    return text == "test"


def _column_count_error(row: int, got: int, names: list[str], has_header: bool) -> DatasetError:
    hint = " (values must be separated by commas)" if got == 1 else ""
    if has_header:
        return DatasetError(
            f"Row {row} has {got} column(s) but the header has {len(names)} "
            f"({','.join(names)}){hint}."
        )
    return DatasetError(
        f"Row {row} has {got} column(s); a file without a header must have exactly 3 columns "
        f"(x1,x2,label){hint}."
    )


def load_csv(
    source: str | bytes | io.IOBase | Path,
    *,
    test_fraction: float = 0.3,
    seed: int = 0,
    max_rows: int = 10_000,
) -> Dataset:
    """Load a 2-D dataset from CSV: classification, or regression by the module's rule.

    Accepted layouts: a header row naming ``x1``, ``x2``, ``label`` (any order, case-insensitive)
    and optionally ``split`` (``train``/``test``), or headerless rows of exactly 3 numbers
    ``x1,x2,label``. Blank lines are ignored. Row numbers in error messages are line numbers
    in the file (the header is row 1). If a ``split`` column is present it defines the split
    and row order is kept; otherwise rows are shuffled and split as in
    :func:`deqnet.datasets.dataset_from_arrays`. Labels may be any whole numbers and are remapped
    in sorted order to ``0..C-1``; a label that is not whole, or a column named ``target``,
    makes them regression targets (kept as given). Coordinates are kept as given (float32, no
    rescaling).

    Args:
        source: CSV text (``str``; not a path), raw ``bytes`` (UTF-8), a file object (e.g.
            Streamlit's ``UploadedFile``), or a :class:`pathlib.Path`. At most 2 MB.
        test_fraction: used only when there is no ``split`` column.
        seed: used only when there is no ``split`` column.
        max_rows: maximum number of data rows.

    Raises:
        DatasetError: with a one-sentence, user-facing message naming the problem.
    """
    test_fraction = check_test_fraction(test_fraction)
    seed = check_seed(seed)
    if not is_integer(max_rows) or int(max_rows) < N_MIN:
        raise DatasetError(f"max_rows must be an integer of at least {N_MIN}, got {max_rows!r}.")
    reader = csv.reader(io.StringIO(_read_text(source)))
    names: list[str] | None = None
    points: list[tuple[float, float]] = []
    labels: list[float] = []
    targets = False  # a "target" column: regression whatever the values
    tests: list[bool] = []
    try:
        for cells in reader:
            row = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if names is None:
                has_header = not any(_is_number(c) for c in cells)
                names = _parse_header(cells) if has_header else list(CSV_COLUMNS)
                targets = has_header and _TARGET_COLUMN in (c.strip().lower() for c in cells)
                if has_header:
                    continue
            if len(cells) != len(names):
                raise _column_count_error(row, len(cells), names, has_header)
            if len(points) >= max_rows:
                raise DatasetError(f"The file has more than {max_rows} data rows, the maximum.")
            cell = dict(zip(names, cells, strict=True))
            points.append(
                (
                    _parse_coordinate(cell["x1"], row, "x1"),
                    _parse_coordinate(cell["x2"], row, "x2"),
                )
            )
            labels.append(_parse_label(cell["label"], row))
            if _SPLIT_COLUMN in cell:
                tests.append(_parse_split(cell[_SPLIT_COLUMN], row))
    except csv.Error as exc:
        raise DatasetError(
            f"The file is not valid CSV near row {reader.line_num}: {exc}."
        ) from None
    if not points:
        raise DatasetError(f"The file has no data rows; at least {N_MIN} rows are needed.")
    if len(points) < N_MIN:
        raise DatasetError(
            f"The file has only {len(points)} data rows; at least {N_MIN} rows are needed."
        )
    values = np.array(labels, dtype=np.float64)
    make = regression_dataset if targets or is_regression_labels(values) else split_dataset
    return make(
        np.array(points, dtype=np.float64),
        values if make is regression_dataset else values.astype(np.int64),
        is_test=np.array(tests, dtype=bool) if names and _SPLIT_COLUMN in names else None,
        test_fraction=test_fraction,
        seed=seed,
        name="uploaded",
    )


__all__ = ["CSV_COLUMNS", "MAX_CSV_BYTES", "dataset_to_csv", "load_csv"]
