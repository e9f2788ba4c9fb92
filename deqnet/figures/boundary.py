"""The decision boundary: class probabilities over the plane with the data on top."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from deqnet.figures.style import (
    INK,
    Extent,
    base_layout,
    class_color,
    class_colorscale,
    f32,
    plane_axes,
    probability_image,
)

if TYPE_CHECKING:
    from deqnet.analysis.grids import DecisionGrid
    from deqnet.datasets import Dataset

# Above this many points SVG markers get slow to draw; WebGL takes over.
SVG_POINT_LIMIT = 1000


def boundary_figure(
    grid: DecisionGrid,
    data: Dataset,
    *,
    show_test: bool = False,
    discretize: bool = False,
    extent: Extent | None = None,
    big: bool = True,
) -> go.Figure:
    """Class probabilities of a model over the plane, with the training (and test) points.

    Two classes: a heatmap of P(class 1) from class 0's colour through white (p = 0.5) to class
    1's, and the p = 0.5 contour. More classes: an image in the colour of the most likely class,
    fading to white as the model becomes unsure. ``discretize`` snaps the shading to the
    predicted class. Train points are filled class-coloured markers with a white outline; test
    points (``show_test``) are hollow rings in the class colour.

    Args:
        grid: ``.xs`` (n,), ``.ys`` (m,) and ``.probs`` (m, n, C), probs[i, j] at (xs[j], ys[i]).
        data: the dataset (``x_train`` (N, 2), ``y_train`` (N,), ``x_test``, ``y_test``,
            ``n_classes``).
        extent: fixed axis ranges (x0, x1, y0, y1); default the grid's corners.
        big: projector-sized fonts.
    """
    xs, ys = np.asarray(grid.xs), np.asarray(grid.ys)
    if extent is None:
        extent = (float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1]))
    fig = go.Figure()
    for trace in boundary_traces(grid, discretize=discretize):
        fig.add_trace(trace)
    n_points = len(data.y_train) + (len(data.y_test) if show_test else 0)
    scatter = go.Scatter if n_points <= SVG_POINT_LIMIT else go.Scattergl
    size = 9 if big else 7
    looks = {
        "train": ("", {"size": size, "line": {"color": "white", "width": 1}}),
        "test": (" test", {"symbol": "circle-open", "size": size + 1, "line": {"width": 2}}),
    }
    for split in ("train", "test") if show_test else ("train",):
        points, labels = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        suffix, marker = looks[split]
        for k in range(int(data.n_classes)):
            x = points[labels == k]
            fig.add_trace(
                scatter(
                    x=f32(x[:, 0]),
                    y=f32(x[:, 1]),
                    mode="markers",
                    name=f"class {k}{suffix}",
                    legendgroup=f"class {k}",
                    marker={"color": class_color(k), **marker},
                    hovertemplate=f"class {k} ({split})<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>",
                )
            )
    base_layout(fig, big=big)
    plane_axes(fig, extent)
    fig.update_xaxes(showgrid=False)
    fig.update_yaxes(showgrid=False)
    return fig


def shading_arrays(grid: DecisionGrid, discretize: bool) -> list[np.ndarray]:
    """The z of each shading trace of ``boundary_figure``, in trace order (the live charts
    update exactly these): two classes, the heatmap's (m, n) P(class 1) (snapped to 0/1 when
    discretized) and the contour's (m, n) P(class 1); more, the image's (m, n, 3) uint8 RGB."""
    probs = np.asarray(grid.probs)
    if probs.shape[-1] != 2:
        return [probability_image(probs, discretize=discretize)]
    p1 = f32(probs[..., 1])
    return [(p1 >= 0.5).astype(np.float32) if discretize else p1, p1]


def boundary_traces(
    grid: DecisionGrid, *, discretize: bool = False, line_width: float = 2.0
) -> list[go.BaseTraceType]:
    """The shading of ``boundary_figure`` without the points, in trace order: two classes, a
    heatmap of P(class 1) (``discretize``: snapped to 0/1) and the p = 0.5 contour (``line_width``
    px); more classes, an image of the most likely class fading to white as the model is unsure.

    Args:
        grid: ``.xs`` (n,), ``.ys`` (m,) and ``.probs`` (m, n, C), probs[i, j] at (xs[j], ys[i]).
    """
    xs, ys = np.asarray(grid.xs), np.asarray(grid.ys)
    shading = shading_arrays(grid, discretize)
    if np.asarray(grid.probs).shape[-1] != 2:
        return [_class_image(xs, ys, shading[0])]
    z, p1 = shading
    return [
        go.Heatmap(
            x=f32(xs),
            y=f32(ys),
            z=z,
            zmin=0.0,
            zmax=1.0,
            colorscale=class_colorscale(0, 1),
            showscale=False,
            # Smooth shading reads as a probability; crisp cells when showing the decision.
            # "fast" lets the browser scale the image smoothly; "best" interpolates every pixel
            # in JavaScript on each live redraw (measured: 13 % fewer updates per second).
            zsmooth=False if discretize else "fast",
            name="P(class 1)",
            hovertemplate="(%{x:.2f}, %{y:.2f})<br>P(class 1) = %{z:.2f}<extra></extra>",
            showlegend=False,
        ),
        go.Contour(
            x=f32(xs),
            y=f32(ys),
            z=f32(p1),
            contours={"start": 0.5, "end": 0.5, "size": 1.0, "coloring": "none"},
            line={"color": INK, "width": line_width},
            showscale=False,
            hoverinfo="skip",
            name="p = 0.5",
            showlegend=False,
        ),
    ]


def _class_image(xs: np.ndarray, ys: np.ndarray, rgb: np.ndarray) -> go.Image:
    """RGB image (m, n, 3) of the most likely class; pixel centres at the grid points."""
    dx = float(xs[1] - xs[0]) if len(xs) > 1 else 1.0
    dy = float(ys[1] - ys[0]) if len(ys) > 1 else 1.0
    return go.Image(
        z=rgb,
        colormodel="rgb",
        x0=float(xs[0]),
        dx=dx,
        y0=float(ys[0]),
        dy=dy,
        hoverinfo="skip",
        name="most likely class",
    )
