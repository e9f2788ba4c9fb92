"""The topology lesson's figure: where a model carries the plane, side by side at a few depths."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deqnet.figures.paths import class_groups, nan_join
from deqnet.figures.style import (
    FOLD_COLOR,
    GREY,
    INK,
    Extent,
    base_layout,
    class_color,
    f32,
    fonts,
    framed_box,
    plane_axes,
    rgba,
)

if TYPE_CHECKING:
    from deqnet.analysis.grids import GridFlow


def snapshot_titles(t: np.ndarray, layers: np.ndarray | None = None) -> list[str]:
    """Short panel titles (five fit side by side on a phone) of snapshots at depths t (K,):
    "input", then "layer l" for a network's ``layers`` (K,), else "t = 0.5"."""
    if layers is not None:
        return [f"layer {int(n)}" if n else "input" for n in layers]
    return [f"t = {v:.2g}" if v else "input" for v in np.asarray(t, dtype=np.float64)]


def plane_snapshots_figure(
    states: np.ndarray,
    labels: np.ndarray,
    titles: Sequence[str],
    *,
    grid: GridFlow | None = None,
    turned: np.ndarray | None = None,
    boundary: tuple[np.ndarray, float] | None = None,
    big: bool = True,
) -> go.Figure:
    """Where a model carries the plane, side by side at K depths: points coloured by class, the
    image of a square grid (grey), points turned over onto the rest of the plane (red rings) and,
    in the last panel, the classifier's straight line (dashed).

    Args:
        states: (K, N, D) states of N points (e.g. a dense grid of the classes' region) at K
            depths; the first two components are drawn, each panel on its own scale (framed to
            its points), with the panel's width written under it ("↔ 3.1"), so the stretch shows.
        labels: (N,) classes.
        titles: K panel titles ("layer 2", "t = 0.50", ...).
        grid: ``deformed_grid`` at the same K depths.
        turned: (K, N) ``turned_over(...).turned`` at the same depths.
        boundary: (u, c) of ``linear_boundary``.

    Everything is SVG (WebGL markers in side-by-side subplots were cut off at a wrong height),
    and the classes are drawn last class first, so the inner disk (class 0) lies on the ring.
    """
    x = np.asarray(states)[..., :2]
    labels = np.asarray(labels).astype(np.int64)
    n_panels = x.shape[0]
    fig = make_subplots(rows=1, cols=n_panels, horizontal_spacing=0.02, subplot_titles=list(titles))
    groups = class_groups(labels, np.arange(len(labels)))
    size = 5 if big else 4
    boxes = []
    for k in range(n_panels):
        col, first = k + 1, k == 0
        if grid is not None:
            lines = nan_join(np.asarray(grid.lines[k]))
            fig.add_trace(
                go.Scatter(
                    x=lines[:, 0],
                    y=lines[:, 1],
                    mode="lines",
                    name="image of a square grid",
                    legendgroup="grid",
                    showlegend=first,
                    line={"color": rgba(GREY, 0.45), "width": 1},
                    hoverinfo="skip",
                ),
                row=1,
                col=col,
            )
        for c, idx in reversed(groups):
            fig.add_trace(
                go.Scatter(
                    x=f32(x[k, idx, 0]),
                    y=f32(x[k, idx, 1]),
                    mode="markers",
                    name=f"class {c}",
                    legendgroup=f"class {c}",
                    legendrank=c,  # the classes first in the legend, in class order
                    showlegend=first,
                    marker={"size": size, "color": class_color(c)},
                    hovertemplate="(%{x:.2f}, %{y:.2f})<extra></extra>",
                ),
                row=1,
                col=col,
            )
        if turned is not None and np.any(turned[k]):
            folded = np.asarray(turned[k], dtype=bool)
            fig.add_trace(
                go.Scatter(
                    x=f32(x[k, folded, 0]),
                    y=f32(x[k, folded, 1]),
                    mode="markers",
                    name="turned over onto the rest (a fold)",
                    legendgroup="turned",
                    showlegend=not any(np.any(turned[j]) for j in range(k)),
                    # Thin rings over the class dots: the class colour stays visible inside.
                    marker={
                        "symbol": "circle-open",
                        "size": size + 3,
                        "color": FOLD_COLOR,
                        "line": {"width": 1},
                    },
                    opacity=0.5,
                    hoverinfo="skip",
                ),
                row=1,
                col=col,
            )
        # From the 0.5 % to the 99.5 % quantile: a few stray points do not push the rest into
        # a corner.
        boxes.append(framed_box(x[k], low=0.005, high=0.995, pad=0.04, least=0.6))
    base_layout(fig, big=big)
    if boundary is not None:
        _add_boundary(fig, boundary, boxes[-1], col=n_panels)
    for k, box in enumerate(boxes):
        plane_axes(fig, box, row=1, col=k + 1, titles=(f"↔ {box[1] - box[0]:.2g}", ""))
    fig.update_xaxes(showticklabels=False, showgrid=False)
    fig.update_yaxes(showticklabels=False, showgrid=False)
    fig.update_annotations(font_size=fonts(big)["base"])
    # Small: five of them sit side by side under 60 px panels on a phone.
    fig.update_xaxes(title_font_size=round(0.8 * fonts(big)["base"]), title_standoff=2)
    # Panel titles sit above the panels, so the legend goes below them.
    fig.update_layout(
        legend={"y": -0.04, "yanchor": "top"},
        margin={"t": round(2.2 * fonts(big)["base"]), "b": 8},
    )
    return fig


def _add_boundary(
    fig: go.Figure, boundary: tuple[np.ndarray, float], box: Extent, *, col: int
) -> None:
    """The line u·x + c = 0 across ``box`` (first two components of u) in panel ``col``."""
    u, c = np.asarray(boundary[0], dtype=np.float64)[:2], float(boundary[1])
    x0, x1, y0, y1 = box
    if abs(u[1]) >= abs(u[0]) and u[1] != 0:
        xs = np.array([x0, x1])
        ys = -(c + u[0] * xs) / u[1]
    elif u[0] != 0:
        ys = np.array([y0, y1])
        xs = -(c + u[1] * ys) / u[0]
    else:
        return
    fig.add_trace(
        go.Scatter(
            x=f32(xs),
            y=f32(ys),
            mode="lines",
            name="the classifier's line",
            line={"color": INK, "width": 3, "dash": "dash"},
            hoverinfo="skip",
        ),
        row=1,
        col=col,
    )


__all__ = ["plane_snapshots_figure", "snapshot_titles"]
