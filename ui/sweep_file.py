"""The Sweep page's "Open results": a Parquet file of ``python -m deqnet.sweep``, summarised and
drawn as a 2-D slice of its grid (two axes chosen, every other axis held at one value).

Uploads are untrusted: the file is checked by ``read_results`` (schema and metadata before any
data, plain column types, nothing unpickled) after its declared size is checked here, and any
problem is one line on the page.
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import streamlit as st

from deqnet.analysis.sweep_table import cell_settings, grid_slice, summarize
from deqnet.figures.sweep import METRICS
from deqnet.figures.sweep_grid import sweep_grid_figure
from deqnet.sharing import safe_text
from deqnet.sweep.results_file import ResultsError, read_results
from ui.links import MAX_UPLOAD_MB
from ui.show import notice
from ui.sweep_axes import AXES, fmt
from ui.sweep_live import grid_chart

_LOG = logging.getLogger("deqnet.ui")

TABLE = "sweep_file_table"  # (file id, metadata, table) of the open file, or (file id, error)
# What a small upload may unpack to: the command line's cell cap, and 64 MB of columns.
MAX_ROWS = 100_000
MAX_BYTES = 64 * 2**20
BIG_SWEEPS = "the README's “Big sweeps” section"
# What a grid value of a real results file looks like (a number, or a name such as "rk4"):
# anything else in an uploaded file's metadata is refused, never shown (markdown, HTML).
NAME_RE = re.compile(r"[A-Za-z0-9_.+-]{1,32}")


def _short(name: str) -> str:
    """An axis' short name in titles ("lr", "L"); a name the page does not offer, as it is."""
    return AXES[name].short if name in AXES else name


def _label(name: str) -> str:
    return AXES[name].label if name in AXES else name


def _too_big(path: Path) -> str | None:
    """Why a Parquet file would unpack to more than a page may hold, or None (also when it is
    not Parquet at all: ``read_results`` says so)."""
    try:
        meta = pq.read_metadata(path)
    except Exception:  # noqa: BLE001 - any footer problem is read_results' to report
        return None
    unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if meta.num_rows > MAX_ROWS or unpacked > MAX_BYTES:
        return (
            f"{path.name} holds {meta.num_rows:,} rows ({unpacked / 2**20:,.0f} MB unpacked), "
            f"more than this page reads; open it in a notebook ({BIG_SWEEPS})."
        )
    return None


def _odd_value(grid: dict[str, list[Any]]) -> str | None:
    """The first grid value that is neither a number nor a short plain name, or None."""
    for values in grid.values():
        for value in values:
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number and not (isinstance(value, str) and NAME_RE.fullmatch(value)):
                return repr(value)[:40]  # notice() escapes it
    return None


def _read(name: str, raw: bytes) -> tuple[dict[str, Any], Any] | str:
    """(metadata, table) of an uploaded file, or a one-line reason it cannot be opened."""
    safe = re.sub(r"[^\w.-]", "_", Path(name).name)[:80] or "results.parquet"
    with tempfile.TemporaryDirectory(prefix="deqnet-upload-") as folder:
        path = Path(folder) / safe
        path.write_bytes(raw)
        problem = _too_big(path)
        if problem:
            return problem
        try:
            meta, frame = read_results(path)
        except ResultsError as err:
            return str(err).splitlines()[0]
        except Exception:  # noqa: BLE001 - an untrusted file must never show a traceback
            _LOG.exception("reading an uploaded sweep results file")
            return f"{safe} could not be read as deqnet sweep results."
    odd = _odd_value(meta["grid"])
    if odd is not None:
        return f"{safe}: its grid holds a value that is not a setting ({odd})"
    return meta, frame


def _opened() -> tuple[dict[str, Any], Any] | None:
    """The uploader; the open file's (metadata, table) once it reads, else None."""
    upload = st.file_uploader(
        "A results file (.parquet)",
        type=["parquet"],
        max_upload_size=MAX_UPLOAD_MB,
        key="sweep_file",
        help=(
            "Written by `python -m deqnet.sweep SPEC.json --out RESULTS.parquet`. Files up to "
            f"{MAX_UPLOAD_MB} MB open here; read bigger ones in a notebook with "
            f"`deqnet.sweep.results_file.read_results` ({BIG_SWEEPS})."
        ),
    )
    if upload is None:
        st.session_state.pop(TABLE, None)
        return None
    held = st.session_state.get(TABLE)
    if held is None or held[0] != upload.file_id:
        for key in [k for k in st.session_state if str(k).startswith("sweep_file_")]:
            del st.session_state[key]  # the pickers of the previous file
        read = _read(upload.name, upload.getvalue())
        held = (upload.file_id, *read) if isinstance(read, tuple) else (upload.file_id, read)
        st.session_state[TABLE] = held
    if len(held) == 2:
        notice(f"That file cannot be opened: {held[1]}")
        return None
    return held[1], held[2]


def _summary(meta: dict[str, Any], frame: Any) -> None:
    """Cells, ok and diverged, the grid's axes and values, steps, and the best cell."""
    grid, facts = meta["grid"], summarize(frame)
    diverged = f", {facts.diverged} diverged" if facts.diverged else ""
    st.markdown(f"#### {facts.cells} cells, {meta['steps']} steps each: {facts.ok} ok{diverged}")
    axes = "  \n".join(
        f"**{_label(name)}**: {', '.join(fmt(v) for v in values)}" for name, values in grid.items()
    )
    st.markdown(axes)
    if facts.best is None:
        return
    best = frame.iloc[facts.best]
    where = " · ".join(f"{_short(name)} {fmt(best[name])}" for name in grid)
    st.markdown(
        f"**Best test accuracy {100 * best['test_acc']:.1f} %** at {where} "
        f"(train loss {best['train_loss']:.3g}, {safe_text(best['status'])})"
    )
    with st.expander("All settings of the best cell", icon=":material/tune:"):
        st.json(cell_settings(frame, facts.best), expanded=True)


def _slice_pickers(grid: dict[str, list[Any]]) -> tuple[str, str | None, dict[str, Any], str]:
    """Rows, columns (None for one axis), the values of the other axes, and the metric."""
    names = list(grid)
    left, right, last = st.columns(3)
    rows = left.selectbox("Rows", names, key="sweep_file_rows", format_func=_label)
    others = [n for n in names if n != rows]
    cols = None
    if others:
        if st.session_state.get("sweep_file_cols") not in others:
            st.session_state["sweep_file_cols"] = others[0]
        cols = right.selectbox("Columns", others, key="sweep_file_cols", format_func=_label)
    metric = last.selectbox(
        "Metric",
        [m.key for m in METRICS],
        key="sweep_file_metric",
        format_func=lambda key: next(m.title for m in METRICS if m.key == key),
    )
    sliced = [n for n in names if n not in (rows, cols)]
    fixed: dict[str, Any] = {}
    for k, name in enumerate(sliced):
        if k % 3 == 0:
            places = st.columns(3)
        values = grid[name]
        at = places[k % 3].selectbox(
            f"{_label(name)} held at",
            range(len(values)),
            key=f"sweep_file_at_{name}",
            format_func=lambda i, values=values: fmt(values[i]),
            help="The grid shows the cells with this value; pick another to slice elsewhere.",
        )
        fixed[name] = values[at]
    return rows, cols, fixed, metric


def results_file_view() -> None:
    """The whole "Open results" part of the page."""
    st.caption(
        "Open the results of a sweep trained with the command line "
        "(`python -m deqnet.sweep SPEC.json --out RESULTS.parquet`), on this machine or a "
        "cluster. Nothing is trained here."
    )
    opened = _opened()
    if opened is None:
        return
    meta, frame = opened
    _summary(meta, frame)
    grid = meta["grid"]
    rows, cols, fixed, key = _slice_pickers(grid)
    metric = next(m for m in METRICS if m.key == key)
    cut = grid_slice(frame, grid, rows, cols, fixed, key)
    held = " · ".join(f"{_short(n)} {fmt(v)}" for n, v in fixed.items())
    fig = sweep_grid_figure(
        cut.values,
        [fmt(v) for v in grid[rows]],
        [fmt(v) for v in grid[cols]] if cols else [""],
        metric=metric,
        row_title=_short(rows),
        col_title=_short(cols) if cols else "",
        diverged=cut.diverged,
        placeholder="–",
        placeholder_hover="not in this file",
        big=True,
    )
    st.markdown(f"#### {metric.title}" + (f" at {held}" if held else ""))
    grid_chart(fig, key="sweep_file_grid")
