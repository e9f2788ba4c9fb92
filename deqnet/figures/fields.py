"""Vector fields on a grid as one ``go.Quiver`` trace (new in plotly 7, drawn by plotly.js 4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from deqnet.figures.style import GREY, f32

if TYPE_CHECKING:
    from deqnet.analysis.grids import VectorField

# The longest arrow is this fraction of a grid cell, so neighbouring arrows never touch.
ARROW_CELLS = 0.9


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
