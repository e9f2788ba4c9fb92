"""One metric over a sweep's grid, with placeholders for the cells that have no value.

The Sweep page draws it empty before a run (every cell a placeholder), filling in while the
sweep runs (finished cells coloured, the others hatched "…"), complete once it has run (a click
picks a cell), and for a results file (a 2-D slice of it; a combination missing from the file
stays a placeholder). Row 0 is at the top, as in the small multiples of decision boundaries.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from deqnet.figures.style import GREY, base_layout, f32, fonts
from deqnet.figures.sweep import HIGHLIGHT, Metric, heat_text

PLACEHOLDER_FILL = "#eef0f4"  # the page's light grey: "nothing here yet", not a value
HATCH_COLOR = "#c3c8d2"
GAP_PX = 3  # between cells: the heatmap's xgap/ygap, and the placeholders' white outline
TEXT_CELLS = 400  # with more cells than this the values are not printed (they would not fit)
ROW_PX, FRAME_PX, MAX_HEIGHT = 44, 80, 760  # figure height: frame + one row each, capped
PICK_MARKER_SIZE = 36  # invisible click targets at the cell centres (px)


def grid_height(rows: int) -> int:
    """The figure height (px) for ``rows`` rows: 44 px a row, at most 760 px in all."""
    return min(MAX_HEIGHT, FRAME_PX + ROW_PX * rows)


def _placeholders(pending: np.ndarray, text: str, hover: str, size: int) -> list[go.Scatter]:
    """Hatched grey squares over the pending cells (R, C) bool, with ``text`` in each."""
    rows, cols = np.nonzero(pending)
    xs: list[float | None] = []
    ys: list[float | None] = []
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        x0, x1, y0, y1 = j - 0.5, j + 0.5, i - 0.5, i + 0.5
        xs += [x0, x1, x1, x0, x0, None]
        ys += [y0, y0, y1, y1, y0, None]
    squares = go.Scatter(
        x=xs,
        y=ys,
        mode="lines",
        fill="toself",
        fillcolor=PLACEHOLDER_FILL,
        fillpattern={"shape": "/", "fgcolor": HATCH_COLOR, "size": 10, "solidity": 0.12},
        # Whole cells outlined in white: the same gaps, in pixels, as the heatmap's bricks.
        line={"width": GAP_PX, "color": "white"},
        hoverinfo="skip",
        showlegend=False,
    )
    labels = go.Scatter(
        x=cols.tolist(),
        y=rows.tolist(),
        mode="text",
        text=[text] * len(rows),
        textfont={"size": size, "color": GREY},
        hovertext=[hover] * len(rows),
        hovertemplate="%{hovertext}<extra></extra>",
        showlegend=False,
    )
    return [squares, labels]


def _pick_markers(hover: list[list[str]]) -> go.Scatter:
    """One invisible square per cell of the (R, C) grid, carrying its row-major index."""
    rows, cols = len(hover), len(hover[0])
    gx, gy = np.meshgrid(np.arange(cols), np.arange(rows))  # gx[i, j] = j, gy[i, j] = i
    return go.Scatter(
        x=gx.ravel().tolist(),
        y=gy.ravel().tolist(),
        mode="markers",
        marker={"size": PICK_MARKER_SIZE, "color": "rgba(0,0,0,0)", "symbol": "square"},
        selected={"marker": {"opacity": 0}},
        unselected={"marker": {"opacity": 0}},
        customdata=np.arange(rows * cols),
        hovertext=[f"{text}<br>click to pick this cell" for row in hover for text in row],
        hovertemplate="%{hovertext}<extra></extra>",
        showlegend=False,
    )


def sweep_grid_figure(
    values: np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    metric: Metric,
    row_title: str,
    col_title: str,
    diverged: np.ndarray | None = None,
    placeholder: str = "…",
    placeholder_hover: str = "still training",
    selected: tuple[int, int] | None = None,
    pickable: bool = False,
    big: bool = False,
) -> go.Figure:
    """A heatmap of one metric over R x C cells; cells without a value are hatched placeholders.

    Args:
        values: (R, C) the metric per cell, NaN where a cell has no value (pending or missing).
        row_labels, col_labels: the R row and C column values as text (a one-axis grid has one
            column labelled "").
        metric: which metric (``deqnet.figures.sweep.METRICS``): its format and which end is good.
        row_title, col_title: the axes' setting names.
        diverged: (R, C) bool, cells whose training diverged (a second line "diverged").
        placeholder, placeholder_hover: the text in a placeholder and its hover text.
        selected: (row, col) of a cell to outline.
        pickable: add one invisible marker per cell (``customdata`` = the row-major cell index
            i * C + j) so a click selects the cell in Streamlit (heatmaps are not selectable).

    Colours run from dark (worse) to bright (better) over the values present. The axes are
    numeric (cell j sits at x = j) with the labels as tick texts, so the placeholders can be
    drawn as shapes over the same cells. Values are printed up to ``TEXT_CELLS`` cells.
    """
    z = np.asarray(values, dtype=np.float64)
    rows, cols = len(row_labels), len(col_labels)
    if z.shape != (rows, cols):
        raise ValueError(f"values {z.shape} do not match the {rows} x {cols} labels")
    flagged = np.zeros(z.shape, bool) if diverged is None else np.asarray(diverged, bool)
    size = fonts(big)["base"]
    hover = [
        [
            f"{row_title} {r} · {col_title} {c}" if col_title else f"{row_title} {r}"
            for c in col_labels
        ]
        for r in row_labels
    ]
    for i, j in zip(*np.nonzero(np.isfinite(z)), strict=True):
        hover[i][j] += f"<br>{metric.title}: {metric.fmt(z[i, j])}"
    text = heat_text(metric, z, flagged) if z.size <= TEXT_CELLS else None
    fig = go.Figure(
        go.Heatmap(
            x=list(range(cols)),
            y=list(range(rows)),
            z=f32(z),
            text=text,
            texttemplate="%{text}" if text is not None else None,
            textfont={"size": size},
            colorscale="Viridis",
            reversescale=not metric.higher_is_better,
            showscale=False,
            xgap=GAP_PX,
            ygap=GAP_PX,
            hoverongaps=False,
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
        )
    )
    fig.add_traces(_placeholders(~np.isfinite(z), placeholder, placeholder_hover, size))
    if pickable:
        fig.add_trace(_pick_markers(hover))
    if selected is not None:
        i, j = selected
        fig.add_shape(
            type="rect",
            x0=j - 0.5,
            x1=j + 0.5,
            y0=i - 0.5,
            y1=i + 0.5,
            line={"color": HIGHLIGHT, "width": 3},
        )
    base_layout(fig, big=big, legend=False)
    axis = {"showgrid": False, "showline": False, "tickmode": "array", "automargin": True}
    fig.update_layout(
        height=grid_height(rows),
        plot_bgcolor="white",
        dragmode=False,
        clickmode="event+select" if pickable else "event",
        xaxis={
            **axis,
            "title": {"text": col_title},
            "tickvals": list(range(cols)),
            "ticktext": list(col_labels),
            "range": [-0.5, cols - 0.5],
        },
        yaxis={
            **axis,
            "title": {"text": row_title, "standoff": 10},
            "tickvals": list(range(rows)),
            "ticktext": list(row_labels),
            "range": [rows - 0.5, -0.5],  # row 0 at the top
        },
    )
    return fig
