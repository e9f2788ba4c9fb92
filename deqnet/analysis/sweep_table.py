"""A sweep results table (``deqnet.sweep.results_file.read_results``) read for people: a summary
and 2-D slices of the grid. Pure functions of the table, arrays out.

The table has one row per cell, a column per grid axis (the cell's value), the configs flattened
as ``data.*``, ``model.*`` and ``train.*``, the metrics, ``status``, ``nfe`` and ``seconds``.
Slices find their rows by the values in the axis columns, so what is shown for a combination is
always the row that says it is that combination.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

SECTIONS = ("data", "model", "train")


@dataclass(frozen=True)
class TableSummary:
    """What a results table holds.

    Attributes:
        cells: number of rows (cells).
        ok, diverged: cells with status "ok", and the others.
        best: row number of the cell with the highest test accuracy (ties: the first), or None
            when no cell has one.
    """

    cells: int
    ok: int
    diverged: int
    best: int | None


def summarize(frame: pd.DataFrame) -> TableSummary:
    """Counts by status and the best cell by test accuracy of a results table."""
    ok = int((frame["status"] == "ok").sum())
    accuracy = frame["test_acc"].to_numpy(dtype=np.float64)
    finite = np.isfinite(accuracy)
    best = int(np.flatnonzero(finite)[np.argmax(accuracy[finite])]) if finite.any() else None
    return TableSummary(len(frame), ok, len(frame) - ok, best)


def cell_settings(frame: pd.DataFrame, row: int) -> dict[str, dict[str, Any]]:
    """The full configs of one row: {"data": {...}, "model": {...}, "train": {...}}."""
    record = frame.iloc[row]
    settings: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for column in frame.columns:
        section, _, name = column.partition(".")
        if section in settings and name:
            settings[section][name] = _plain(record[column])
    return settings


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (JSON-friendly); NaN stays NaN."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class GridSlice:
    """One metric over two axes of a results table, the other axes held at one value each.

    Attributes:
        values: (R, C) the metric, NaN where the table has no row for a combination.
        diverged: (R, C) bool, rows whose status is not "ok".
        rows: (R, C) int, the table row shown in each cell, -1 where there is none.
    """

    values: np.ndarray
    diverged: np.ndarray
    rows: np.ndarray


def grid_slice(
    frame: pd.DataFrame,
    grid: Mapping[str, Sequence[Any]],
    rows: str,
    cols: str | None,
    fixed: Mapping[str, Any],
    metric: str,
) -> GridSlice:
    """The slice of ``frame`` with ``rows`` down and ``cols`` across (None: one column).

    Args:
        frame: a results table.
        grid: axis name -> its values (the file's metadata), which order the rows and columns.
        rows, cols: two different axes of ``grid`` (``cols`` None for a single column).
        fixed: a value for every other axis of ``grid``.
        metric: the column to show (e.g. "test_acc", "nfe").

    Raises ValueError when the axes are not the grid's or ``fixed`` misses one.
    """
    shown = [rows] if cols is None else [rows, cols]
    others = set(grid) - set(shown)
    if len(set(shown)) != len(shown) or not set(shown) <= set(grid) or set(fixed) != others:
        raise ValueError(f"slice {shown} fixing {sorted(fixed)} of the grid axes {list(grid)}")
    mask = np.ones(len(frame), bool)
    for name, value in fixed.items():
        mask &= (frame[name] == value).to_numpy()
    chosen = frame[mask]
    down = _positions(chosen[rows], grid[rows])
    across = _positions(chosen[cols], grid[cols]) if cols else np.zeros(len(chosen))
    found = ~(np.isnan(down) | np.isnan(across))
    i, j = down[found].astype(int), across[found].astype(int)
    shape = (len(grid[rows]), len(grid[cols]) if cols else 1)
    values = np.full(shape, math.nan)
    values[i, j] = chosen[metric].to_numpy(dtype=np.float64)[found]
    diverged = np.zeros(shape, bool)
    diverged[i, j] = (chosen["status"] != "ok").to_numpy()[found]
    where = np.full(shape, -1)
    where[i, j] = np.flatnonzero(mask)[found]
    return GridSlice(values, diverged, where)


def _positions(column: pd.Series, values: Sequence[Any]) -> np.ndarray:
    """Each entry's index in ``values`` (float), NaN for an entry that is not one of them."""
    index = {value: k for k, value in enumerate(values)}
    return np.array([index.get(_plain(v), math.nan) for v in column], dtype=np.float64)
