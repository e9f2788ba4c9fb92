"""Arrows: vector fields on a grid as one ``go.Quiver`` trace (new in plotly 7, drawn by
plotly.js 4), and arrows at given points in class colours with a reference key arrow.

Every quiver here carries its arrows already scaled to data units (``lengthfactor`` 1) and the
true components in ``customdata`` for hover. plotly.js 4.1 rounds u times the axis's pixels per
unit to a whole pixel *before* it applies ``lengthfactor``, so small raw components (a momentum of
1e-3, say) were drawn with zero length or many times too long.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from deqnet.figures.style import GREY, INK, Extent, class_color, f32, fonts, scientific

if TYPE_CHECKING:
    from deqnet.analysis.grids import VectorField

# The longest arrow is this fraction of a grid cell, so neighbouring arrows never touch.
ARROW_CELLS = 0.9
SHORTEST_ARROW = 0.15  # of the longest arrow, on a logarithmic length scale
KEY_ROOM = 0.08  # headroom above the data per key arrow, as a fraction of the height


def arrow_scale(field: VectorField) -> float:
    """Factor that draws the longest finite arrow ARROW_CELLS grid cells long (1 if the field is
    zero everywhere)."""
    xs, ys = np.asarray(field.xs, dtype=np.float64), np.asarray(field.ys, dtype=np.float64)
    steps = [abs(a[1] - a[0]) for a in (xs, ys) if len(a) > 1]
    cell = min(steps) if steps else 1.0
    norm = np.hypot(np.asarray(field.u, dtype=np.float64), np.asarray(field.v, dtype=np.float64))
    norm = norm[np.isfinite(norm)]
    longest = float(norm.max()) if norm.size else 0.0
    return ARROW_CELLS * cell / longest if longest > 0 else 1.0


def quiver_trace(
    field: VectorField,
    *,
    color: str = GREY,
    scale: float | None = None,
    name: str = "F(x, t)",
    width: float = 1.5,
) -> go.Quiver:
    """Arrows of the field (u, v) at the grid points (xs[j], ys[i]), centred on the points.

    Args:
        field: ``.xs`` (n,), ``.ys`` (m,), ``.u`` and ``.v`` (m, n).
        scale: arrow length per unit of |F| in data units; default: the longest arrow is 0.9 of
            a grid cell. Pass the same number to several figures to compare magnitudes.

    The arrows use plotly's "raw" length mode (its "scaled" mode divides by zero for a zero
    field), prescaled by :func:`data_arrows`; hover shows the true components.
    """
    gx, gy = np.meshgrid(np.asarray(field.xs), np.asarray(field.ys))
    u, v = np.asarray(field.u).ravel(), np.asarray(field.v).ravel()
    factor = arrow_scale(field) if scale is None else float(scale)
    return go.Quiver(
        x=f32(gx.ravel()),
        y=f32(gy.ravel()),
        **data_arrows(factor * np.column_stack([u, v]), np.column_stack([u, v])),
        anchor="center",
        marker={"color": color, "line": {"width": width}},
        name=name,
        hovertemplate=(
            "F(%{x:.2f}, %{y:.2f}) = (%{customdata[0]:.2f}, %{customdata[1]:.2f})<extra></extra>"
        ),
        showlegend=False,
    )


def data_arrows(drawn: np.ndarray, true: np.ndarray) -> dict:
    """Quiver settings that draw the arrows ``drawn`` (M, 2), given in data units, as they are
    (``lengthfactor`` 1), with the ``true`` vectors (M, 2) in ``customdata`` for hover as
    %{customdata[0]} and %{customdata[1]}."""
    drawn = np.asarray(drawn, dtype=np.float64).reshape(-1, 2)
    return {
        "u": f32(drawn[:, 0]),
        "v": f32(drawn[:, 1]),
        "customdata": f32(np.asarray(true).reshape(-1, 2)),
        "arrowref": "data",
        "lengthmode": "raw",
        "lengthfactor": 1.0,
    }


def class_arrow_traces(
    points: np.ndarray,
    vectors: np.ndarray,
    labels: np.ndarray,
    lengths: np.ndarray,
    *,
    name: str,
    hover: str,
    width: float,
    arrowsize: float,
) -> list[go.Quiver]:
    """One quiver per class present in ``labels`` (M,), in class order: arrows along ``vectors``
    (M, 2) with tails at ``points`` (M, 2), each ``lengths`` (M,) data units long (a zero vector
    draws nothing).

    ``hover`` reads the true vector as %{customdata[0]} and %{customdata[1]}."""
    labels = np.asarray(labels).astype(np.int64)
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.hypot(vectors[:, 0], vectors[:, 1])
    safe = np.where(norms > 0, norms, 1.0)[:, None]
    drawn = np.where(norms[:, None] > 0, vectors / safe, 0.0) * np.asarray(lengths)[:, None]
    traces = []
    for k in np.unique(labels):
        idx = np.flatnonzero(labels == k)
        traces.append(
            go.Quiver(
                x=f32(points[idx, 0]),
                y=f32(points[idx, 1]),
                **data_arrows(drawn[idx], vectors[idx]),
                anchor="tail",
                marker={
                    "color": class_color(k),
                    "line": {"width": width},
                    "arrowsize": arrowsize,
                },
                name=name,
                legendgroup="arrows",
                showlegend=False,  # the key arrow stands for all of them in the legend
                hovertemplate=hover,
            )
        )
    return traces


def log_length(norms: np.ndarray, largest: float, longest: float, decades: float) -> np.ndarray:
    """Arrow lengths for vector sizes ``norms`` (...,): ``longest`` at ``largest``, one
    ``decades``-th of ``longest`` shorter per factor 10 below it, and never shorter than
    SHORTEST_ARROW of ``longest`` (so every nonzero arrow shows its direction). Zero or
    non-finite sizes give length 0."""
    norms = np.asarray(norms, dtype=np.float64)
    ok = np.isfinite(norms) & (norms > 0)
    if largest <= 0:
        return np.zeros_like(norms)
    ratio = np.log10(np.where(ok, norms, largest) / largest)
    fraction = np.clip(1.0 + ratio / decades, SHORTEST_ARROW, 1.0)
    return np.where(ok, longest * fraction, 0.0)


def with_key_room(box: Extent, rows: int = 1) -> Extent:
    """The box with ``rows`` times KEY_ROOM of its height added on top, where the key arrows
    go (one row each)."""
    x0, x1, y0, y1 = box
    return x0, x1, y0, y1 + rows * KEY_ROOM * (y1 - y0)


def quiver_key(
    fig: go.Figure,
    box: Extent,
    keys: Sequence[tuple[float, float]],
    *,
    name: str,
    symbol: str,
    big: bool,
) -> None:
    """Reference arrows in the headroom above ``box`` (see :func:`with_key_room`), one row per
    (magnitude, drawn length in data units) of ``keys``, the first row lowest; each is labelled
    "``symbol`` = magnitude", tips aligned at the right. The first is also the arrows' legend
    entry ``name``. The figure's arrows follow the same lengths, so the keys make them readable.
    Keys of zero magnitude or length are left out."""
    x0, x1, y0, y1 = box
    tip_x = x1 - 0.04 * (x1 - x0)
    shown = [(m, length) for m, length in keys if m > 0 and length > 0]
    for row, (magnitude, length) in enumerate(shown):
        y = y1 + (row + 0.5) * KEY_ROOM * (y1 - y0)
        tail_x = tip_x - length
        fig.add_trace(
            go.Quiver(
                x=[tail_x],
                y=[y],
                **data_arrows(np.array([[length, 0.0]]), np.array([[magnitude, 0.0]])),
                anchor="tail",
                marker={"color": INK, "line": {"width": 2.5}, "arrowsize": 1.2},
                name=name,
                legendgroup="arrows",
                showlegend=row == 0,
                meta="arrow key",
                hoverinfo="skip",
            )
        )
        fig.add_annotation(
            x=tail_x,
            y=y,
            xanchor="right",
            xshift=-4,
            text=f"{symbol} = {scientific(magnitude)}",
            showarrow=False,
            font={"size": fonts(big)["base"], "color": INK},
        )


def longer_side(extent: Extent) -> float:
    """The longer side of a box (x0, x1, y0, y1)."""
    x0, x1, y0, y1 = extent
    return max(x1 - x0, y1 - y0)
