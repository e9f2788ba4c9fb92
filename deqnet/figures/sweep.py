"""Figures of the Sweep page: small multiples of decision boundaries, and the metrics a cell's
square shows (``METRICS``; the grid itself is ``deqnet.figures.sweep_grid``).

A sweep is a grid of R x C cells (row-major: the row axis is the first swept setting, the column
axis the second). Both figures lay the cells out the same way, row 0 at the top, so a panel of the
small multiples and a square of the grid with the same position are the same cell.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deqnet.figures.boundary import boundary_traces
from deqnet.figures.paths import subsample
from deqnet.figures.style import (
    OUTPUT_COLORSCALE,
    Extent,
    base_layout,
    class_color,
    f32,
    fonts,
    output_range,
)

if TYPE_CHECKING:
    from deqnet.analysis.grids import DecisionGrid
    from deqnet.datasets import Dataset

# Training points drawn per panel: enough to see the data's shape, light enough for 25 panels.
PANEL_POINTS = 120
# Above this many points in the whole figure, markers go to WebGL (one context for all panels).
SVG_POINT_LIMIT = 1000
HIGHLIGHT = "#D55E00"  # outline of the chosen cell (vermillion: stands out on viridis)


def _percent(v: float) -> str:
    return f"{100 * v:.0f}%"  # "100%" must fit a heatmap square 40 px wide


def _r2(v: float) -> str:
    return f"{v:.2f}"  # "0.97", "-1.3": as narrow as "100%"


def score_text(task: str) -> Callable[[float], str]:
    """How a cell's test score prints: accuracy in per cent, or R² (regression)."""
    return _r2 if task == "regression" else _percent


def _loss(v: float) -> str:
    """Two significant digits in at most five characters: 0.29, 0.061, 3e-4."""
    if v == 0 or abs(v) >= 0.01:
        return f"{v:.2g}"
    mantissa, exponent = f"{v:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _count(v: float) -> str:
    """12 -> "12", 12345 -> "12.3k", 2.5e6 -> "2.5M"."""
    if abs(v) < 1e3:
        return f"{v:.0f}"
    if abs(v) < 1e6:
        return f"{v / 1e3:.3g}k"
    return f"{v / 1e6:.3g}M"


def _seconds(v: float) -> str:
    if v < 1:
        return f"{v:.2g} s"
    return f"{v:.1f} s" if v < 10 else f"{v:.0f} s"


@dataclass(frozen=True)
class Metric:
    """One heatmap: which cell value, its title, how a value is printed, which end is good."""

    key: str
    title: str
    fmt: Callable[[float], str]
    higher_is_better: bool


# Keys are SweepResult.metric names.
METRICS: tuple[Metric, ...] = (
    Metric("test_acc", "Test accuracy", _percent, True),
    Metric("train_loss", "Final training loss", _loss, False),
    Metric("nfe", "NFE (all steps)", _count, False),
    Metric("seconds", "Seconds per cell", _seconds, False),
)
# Regression: R² where classification has accuracy (the same "test_acc" value of each cell).
REGRESSION_METRICS: tuple[Metric, ...] = (
    Metric("test_acc", "Test R²", score_text("regression"), True),
    Metric("train_loss", "Final training loss (MSE)", _loss, False),
    *METRICS[2:],
)


def sweep_metrics(task: str) -> tuple[Metric, ...]:
    """The heatmaps a sweep of ``task`` ("classification" or "regression") offers."""
    return REGRESSION_METRICS if task == "regression" else METRICS


def _panel_points(data: Dataset, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """An even subsample of the training points (n, 2) and their labels (n,)."""
    keep = subsample(len(data.y_train), limit)
    return np.asarray(data.x_train)[keep], np.asarray(data.y_train)[keep]


def _class_steps(n_classes: int) -> list[list[float | str]]:
    """A stepped colour scale on [-0.5, C - 0.5] giving the integer k exactly class k's colour."""
    steps: list[list[float | str]] = []
    for k in range(n_classes):
        steps += [[k / n_classes, class_color(k)], [(k + 1) / n_classes, class_color(k)]]
    return steps


def sweep_boundaries_figure(
    grids: Sequence[DecisionGrid | None],
    datasets: Sequence[Dataset],
    shape: tuple[int, int],
    titles: Sequence[str],
    extent: Extent,
    *,
    selected: int | None = None,
    row_titles: Sequence[str] | None = None,
    panel_points: int = PANEL_POINTS,
    big: bool = False,
) -> go.Figure:
    """The decision boundary of every cell as small multiples in ONE figure with shared axes
    (regression data: each model's output shaded as in ``boundary_figure``, no colour bars).

    Args:
        grids: R * C decision grids in row-major cell order (``.xs`` (n,), ``.ys`` (n,),
            ``.probs`` (n, n, C)); None draws an empty panel (a model that cannot be drawn).
        datasets: each cell's data (the same object repeated when the data is shared); an even
            subsample of ``panel_points`` training points is drawn over each panel.
        shape: (R, C) rows and columns of the grid.
        titles: one title per cell, shown above its panel.
        extent: (x0, x1, y0, y1), the same fixed ranges for every panel (zooming one panel
            zooms all: the axes are matched).
        selected: row-major index of a cell to outline.
        row_titles: R texts beside the rows (on the first column's y axes), so the panel
            titles need only name the column: narrow panels have room for little more.
    """
    rows, cols = shape
    cells = rows * cols
    if not len(grids) == len(datasets) == len(titles) == cells:
        raise ValueError(f"need {cells} grids, datasets and titles for a {rows} x {cols} grid")
    size = fonts(big)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        shared_xaxes="all",
        shared_yaxes="all",
        subplot_titles=list(titles),
        horizontal_spacing=0.012 if cols > 1 else 0.0,
        vertical_spacing=min(0.3 / rows, 0.08) if rows > 1 else 0.0,
    )
    # Style the empty grid first and add all traces in one call: every layout update or
    # add_trace on a figure with many subplots and traces costs plotly a full validation pass.
    base_layout(fig, big=big, legend=False)
    # Room above the top row for its subplot titles (without a legend the margin is 8 px).
    fig.update_layout(margin_t=8 + round(1.6 * size["base"]))
    x0, x1, y0, y1 = (float(e) for e in extent)
    fig.update_xaxes(range=[x0, x1], constrain="domain", showgrid=False, nticks=4)
    fig.update_yaxes(range=[y0, y1], constrain="domain", showgrid=False, nticks=4)
    # One unit equally long on both axes. Plotly honours scaleanchor only on the axes the others
    # match (the bottom-left panel's); every panel then follows it.
    x_target, y_target = fig.layout.xaxis.matches or "x", fig.layout.yaxis.matches or "y"
    fig.layout[y_target.replace("y", "yaxis")].update(scaleanchor=x_target, scaleratio=1)
    points = [_panel_points(d, panel_points) for d in datasets]
    n_classes = max(int(d.n_classes) for d in datasets)
    # Labels as numbers on a stepped colour scale (one colour string per point is slow);
    # regression: targets on the output's scale and range, as the shading.
    value_range = None
    if datasets[0].task == "regression":
        value_range = output_range(np.concatenate([d.y_all for d in datasets]))
        palette, colour_range = OUTPUT_COLORSCALE, value_range
    else:
        palette, colour_range = _class_steps(n_classes), (-0.5, n_classes - 0.5)
    scatter = go.Scatter if sum(len(y) for _, y in points) <= SVG_POINT_LIMIT else go.Scattergl
    traces, at_rows, at_cols = [], [], []
    for i, (grid, (x, y)) in enumerate(zip(grids, points, strict=True)):
        panel = []
        if grid is not None:
            panel = boundary_traces(grid, line_width=1.5, value_range=value_range)
            if value_range is not None:
                panel[0].showscale = False  # one colour bar per panel would crowd them
        panel.append(
            scatter(
                x=f32(x[:, 0]),
                y=f32(x[:, 1]),
                mode="markers",
                marker={
                    "color": y.astype(np.float32),
                    "colorscale": palette,
                    "cmin": colour_range[0],
                    "cmax": colour_range[1],
                    "size": 4,
                    "line": {"color": "white", "width": 0.5},
                },
                hoverinfo="skip",
            )
        )
        traces += panel
        at_rows += [i // cols + 1] * len(panel)
        at_cols += [i % cols + 1] * len(panel)
    fig.add_traces(traces, rows=at_rows, cols=at_cols)
    fig.update_annotations(font_size=size["base"])
    for r, text in enumerate(row_titles or []):
        fig.get_subplot(r + 1, 1).yaxis.title.text = text
    if selected is not None:
        fig.add_shape(
            type="rect",
            xref="x domain",
            yref="y domain",
            x0=0,
            x1=1,
            y0=0,
            y1=1,
            line={"color": HIGHLIGHT, "width": 3},
            row=selected // cols + 1,
            col=selected % cols + 1,
        )
    return fig


def heat_text(metric: Metric, z: np.ndarray, diverged: np.ndarray) -> np.ndarray:
    """The printed value of every cell (R, C): blank where missing (NaN), and a second line
    "diverged" where training stopped (the value is that of the restored weights)."""
    text = [[metric.fmt(v) if math.isfinite(v) else "" for v in row] for row in z]
    for i, j in zip(*np.nonzero(diverged), strict=True):
        text[i][j] = f"{text[i][j]}<br>diverged".removeprefix("<br>")
    return np.array(text, dtype=object)
