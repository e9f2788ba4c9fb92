"""Arrows: vector fields on a grid as one ``go.Quiver`` trace (new in plotly 7, drawn by
plotly.js 4), and arrows at given points in class colours with a reference key arrow."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from deqnet.figures.style import GREY, INK, Extent, class_color, f32, fonts

if TYPE_CHECKING:
    from deqnet.analysis.grids import VectorField

# The longest arrow is this fraction of a grid cell, so neighbouring arrows never touch.
ARROW_CELLS = 0.9
KEY_ROOM = 0.1  # headroom above the data for the key arrow, as a fraction of the height


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

    The arrows use plotly's "raw" length mode times ``scale`` (plotly's own "scaled" mode divides
    by zero for a zero field), so hover shows the true components.
    """
    gx, gy = np.meshgrid(np.asarray(field.xs), np.asarray(field.ys))
    return go.Quiver(
        x=f32(gx.ravel()),
        y=f32(gy.ravel()),
        u=f32(np.asarray(field.u).ravel()),
        v=f32(np.asarray(field.v).ravel()),
        anchor="center",
        arrowref="data",
        lengthmode="raw",
        lengthfactor=arrow_scale(field) if scale is None else float(scale),
        marker={"color": color, "line": {"width": width}},
        name=name,
        hovertemplate="F(%{x:.2f}, %{y:.2f}) = (%{u:.2f}, %{v:.2f})<extra></extra>",
        showlegend=False,
    )


def class_arrow_traces(
    points: np.ndarray,
    vectors: np.ndarray,
    labels: np.ndarray,
    scale: float,
    *,
    name: str,
    hover: str,
    width: float,
    arrowsize: float,
) -> list[go.Quiver]:
    """One quiver per class present in ``labels`` (M,), in class order: arrows ``vectors``
    (M, 2) with tails at ``points`` (M, 2), ``scale`` data units per unit of |vector|."""
    labels = np.asarray(labels).astype(np.int64)
    traces = []
    for k in np.unique(labels):
        idx = np.flatnonzero(labels == k)
        traces.append(
            go.Quiver(
                x=f32(points[idx, 0]),
                y=f32(points[idx, 1]),
                u=f32(vectors[idx, 0]),
                v=f32(vectors[idx, 1]),
                anchor="tail",
                arrowref="data",
                lengthmode="raw",
                lengthfactor=float(scale),
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


def vector_scale(
    vectors: np.ndarray, length: float, *, quantile: float = 1.0
) -> tuple[float, float]:
    """(data units per unit of |vector|, reference |vector|): the ``quantile`` of the norms of
    ``vectors`` (..., 2) is drawn ``length`` long. (1, 0) if all are zero or non-finite."""
    norms = np.hypot(vectors[..., 0], vectors[..., 1]).ravel()
    norms = norms[np.isfinite(norms)]
    reference = float(np.quantile(norms, quantile)) if norms.size else 0.0
    return (length / reference, reference) if reference > 0 else (1.0, 0.0)


def with_key_room(box: Extent) -> Extent:
    """The box with KEY_ROOM of its height added on top, where the key arrow goes."""
    x0, x1, y0, y1 = box
    return x0, x1, y0, y1 + KEY_ROOM * (y1 - y0)


def quiver_key(
    fig: go.Figure,
    box: Extent,
    scale: float,
    magnitude: float,
    *,
    name: str,
    symbol: str,
    big: bool,
) -> None:
    """A reference arrow of size ``magnitude`` in the headroom above ``box`` (see
    :func:`with_key_room`), labelled "``symbol`` = magnitude"; it is also the arrows' legend
    entry ``name``. The figure's arrows use the same ``scale``, so the key makes their lengths
    readable."""
    if magnitude <= 0:
        return
    x0, x1, y0, y1 = box
    tip_x, y = x1 - 0.04 * (x1 - x0), y1 + 0.5 * KEY_ROOM * (y1 - y0)
    tail_x = tip_x - magnitude * scale
    fig.add_trace(
        go.Quiver(
            x=[tail_x],
            y=[y],
            u=[magnitude],
            v=[0.0],
            anchor="tail",
            arrowref="data",
            lengthmode="raw",
            lengthfactor=float(scale),
            marker={"color": INK, "line": {"width": 2.5}, "arrowsize": 1.2},
            name=name,
            legendgroup="arrows",
            meta="arrow key",
            hoverinfo="skip",
        )
    )
    fig.add_annotation(
        x=tail_x,
        y=y,
        xanchor="right",
        text=f"{symbol} = {magnitude:.2g}",
        showarrow=False,
        font={"size": fonts(big)["base"], "color": INK},
    )


def longer_side(extent: Extent) -> float:
    """The longer side of a box (x0, x1, y0, y1)."""
    x0, x1, y0, y1 = extent
    return max(x1 - x0, y1 - y0)
