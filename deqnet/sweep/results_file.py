"""A sweep's results as Parquet: written by ``python -m deqnet.sweep``, read back with checks.

The results file has one row per cell: ``cell``, one column per grid axis, the cell's whole run
config flattened (``data.*``, ``model.*``, ``train.*``), the final metrics, ``status``,
``message``, ``nfe``, ``seconds`` and ``chunk``. Its schema metadata holds a JSON blob under
``deqnet`` ({format, grid, steps, spec, torch_version, cpu_capability, ...}). The optional
histories file is a long table: cell, step, loss, train_acc, test_acc.

Reading is meant for untrusted files (the Sweep page opens uploads): the schema and metadata
are checked before any data is read, only plain column types are accepted, and pandas metadata
in the file is ignored. Nothing here ever unpickles.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from deqnet.config import DataConfig, ModelConfig, TrainConfig
from deqnet.sweep.grid import GRID_NAMES, CellSpec
from deqnet.sweep.journal import METRICS

META_KEY = b"deqnet"
FORMAT = 1
FIXED_COLUMNS = {
    "cell": pa.int64(),
    **dict.fromkeys(METRICS, pa.float64()),
    "status": pa.string(),
    "message": pa.string(),
    "nfe": pa.int64(),
    "seconds": pa.float64(),
    "chunk": pa.int64(),
}
HISTORY_COLUMNS = {
    "cell": pa.int64(),
    "step": pa.int64(),
    "loss": pa.float64(),
    "train_acc": pa.float64(),
    "test_acc": pa.float64(),
}
CONFIG_FIELDS = {
    "data": tuple(DataConfig.__dataclass_fields__),
    "model": tuple(ModelConfig.__dataclass_fields__),
    "train": tuple(TrainConfig.__dataclass_fields__),
}
# What a grid-axis or config column may be: plain values only (never extension types).
PLAIN_TYPES = (pa.int64(), pa.float64(), pa.string(), pa.bool_())


class ResultsError(Exception):
    """Not a deqnet sweep results file, or a damaged one; the message says what is wrong."""


def histories_path(out: Path) -> Path:
    """Where the histories go next to ``out``: RESULTS.parquet -> RESULTS.histories.parquet."""
    stem = out.name[: -len(".parquet")] if out.name.endswith(".parquet") else out.name
    return out.with_name(f"{stem}.histories.parquet")


def write_results(
    path: Path, meta: Mapping[str, Any], specs: Sequence[CellSpec], records: Sequence[dict]
) -> None:
    """Write the results file; ``records[i]`` is cell i's journal record (``cell_record``)."""
    grid = meta["grid"]
    columns: dict[str, list[Any]] = {"cell": [r["cell"] for r in records]}
    for name in grid:
        columns[name] = [specs[r["cell"]].overrides[name] for r in records]
    for section, names in CONFIG_FIELDS.items():
        configs = [_section(specs[r["cell"]], section) for r in records]
        for name in names:
            columns[f"{section}.{name}"] = [c[name] for c in configs]
    for name in METRICS:
        columns[name] = [r["metrics"][name] for r in records]
    for name in ("status", "message", "nfe", "seconds", "chunk"):
        columns[name] = [r[name] for r in records]
    types = {name: FIXED_COLUMNS.get(name) for name in columns}
    arrays = {
        name: pa.array(values, type=types[name] if types[name] is not None else _plain_type(values))
        for name, values in columns.items()
    }
    _write(path, pa.table(arrays), meta)


def write_histories(path: Path, meta: Mapping[str, Any], records: Sequence[dict]) -> None:
    """Write the long table of every cell's steps (records need their ``history``)."""
    rows = [(r["cell"], *step) for r in records for step in r["history"]]
    arrays = {
        name: pa.array([row[k] for row in rows], type=kind)
        for k, (name, kind) in enumerate(HISTORY_COLUMNS.items())
    }
    _write(path, pa.table(arrays), {**meta, "table": "histories"})


def read_results(path: str | Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """(metadata, one row per cell in cell order) of a results file; ResultsError if it is not
    a deqnet sweep results file or does not hold what its metadata promises."""
    meta, schema = _meta_and_schema(path, "results")
    grid = meta["grid"]
    wanted = dict(FIXED_COLUMNS)
    for name in grid:
        wanted[name] = None
    for section, names in CONFIG_FIELDS.items():
        wanted.update(dict.fromkeys((f"{section}.{n}" for n in names), None))
    _check_columns(schema, wanted)
    frame = _frame(path, schema.names)
    cells = math.prod(len(values) for values in grid.values())
    if frame["cell"].tolist() != list(range(cells)):
        raise ResultsError(f"{Path(path).name}: expected cells 0 to {cells - 1} in order")
    return meta, frame


def read_histories(path: str | Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """(metadata, cell/step/loss/train_acc/test_acc rows) of a histories file (checked)."""
    meta, schema = _meta_and_schema(path, "histories")
    _check_columns(schema, HISTORY_COLUMNS)
    return meta, _frame(path, schema.names)


def _section(spec: CellSpec, section: str) -> dict[str, Any]:
    configs = {"model": spec.model_config, "train": spec.train_config, "data": spec.data_config}
    return configs[section].to_dict()


def _plain_type(values: list[Any]) -> pa.DataType:
    """The column type of a grid axis or config field: names, flags, integers, else numbers."""
    if all(isinstance(v, str) for v in values):
        return pa.string()
    if all(isinstance(v, bool) for v in values):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.int64()
    return pa.float64()


def _write(path: Path, table: pa.Table, meta: Mapping[str, Any]) -> None:
    """Write to a temporary file and rename it: a crash never leaves half a results file."""
    table = table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
    partial = path.with_name(path.name + ".partial")
    pq.write_table(table, partial)
    os.replace(partial, path)


def _meta_and_schema(path: str | Path, table: str) -> tuple[dict[str, Any], pa.Schema]:
    name = Path(path).name
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as err:
        raise ResultsError(f"{name} is not a Parquet file ({err})") from None
    raw = (schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise ResultsError(f"{name} is not a deqnet sweep file (no deqnet metadata)")
    try:
        meta = json.loads(raw)
    except ValueError:
        raise ResultsError(f"{name}: its deqnet metadata is not JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ResultsError(f"{name}: unknown deqnet results format (expected {FORMAT})")
    if meta.get("table", "results") != table:
        raise ResultsError(f"{name} holds {meta.get('table')}, not {table}")
    grid, steps = meta.get("grid"), meta.get("steps")
    if not isinstance(grid, dict) or not set(grid) <= set(GRID_NAMES):
        raise ResultsError(f"{name}: its metadata has no valid grid")
    if not all(isinstance(v, list) and v for v in grid.values()):
        raise ResultsError(f"{name}: its metadata grid needs a list of values per axis")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ResultsError(f"{name}: its metadata has no valid steps")
    return meta, schema


def _check_columns(schema: pa.Schema, wanted: Mapping[str, pa.DataType | None]) -> None:
    """Exactly the wanted columns, each of its type (None: any plain type)."""
    names = set(schema.names)
    if len(names) != len(schema.names) or names != set(wanted):
        missing, extra = sorted(set(wanted) - names), sorted(names - set(wanted))
        raise ResultsError(f"unexpected columns: missing {missing}, unexpected {extra}")
    for field in schema:
        kind = wanted[field.name]
        if field.type not in ((kind,) if kind is not None else PLAIN_TYPES):
            raise ResultsError(f"column {field.name} has type {field.type}")


def _frame(path: str | Path, columns: list[str]) -> pd.DataFrame:
    try:
        table = pq.read_table(path, columns=columns)
    except (OSError, pa.ArrowException) as err:
        raise ResultsError(f"{Path(path).name}: unreadable ({err})") from None
    return table.to_pandas(ignore_metadata=True)
