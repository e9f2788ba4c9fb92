"""The decision boundary: class probabilities over the plane with the data on top; for a
regression model its output, shaded by value with a colour bar, the points coloured by target."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from deqnet.figures.style import (
    INK,
    OUTPUT_COLORSCALE,
    Extent,
    base_layout,
    class_color,
    class_colorscale,
    f32,
    output_range,
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

    Regression (``data.task``; ``grid.probs`` (m, n, 1) the output): the output as a heatmap on
    the diverging ``OUTPUT_COLORSCALE`` over the fixed range ``output_range`` of the targets,
    with a colour bar, and no contour; points are coloured by target on the same scale
    (``discretize`` snaps the shading to the output's sign).
    """
    xs, ys = np.asarray(grid.xs), np.asarray(grid.ys)
    if extent is None:
        extent = (float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1]))
    fig = go.Figure()
    value_range = output_range(data.y_all) if data.task == "regression" else None
    for trace in boundary_traces(grid, discretize=discretize, value_range=value_range):
        fig.add_trace(trace)
    n_points = len(data.y_train) + (len(data.y_test) if show_test else 0)
    scatter = go.Scatter if n_points <= SVG_POINT_LIMIT else go.Scattergl
    size = 9 if big else 7
    looks = {
        "train": ("", {"size": size, "line": {"color": "white", "width": 1}}),
        "test": (" test", {"symbol": "circle-open", "size": size + 1, "line": {"width": 2}}),
    }
    splits = ("train", "test") if show_test else ("train",)
    if value_range is not None:
        _target_points(fig, data, scatter, looks, value_range, splits)
        splits = ()  # the points are drawn by target, not by class
    for split in splits:
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


def _target_points(fig, data, scatter, looks, value_range, splits) -> None:
    """Regression: the points of ``splits`` coloured by target on the output's colour scale."""
    for split in splits:
        points, targets = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        suffix, marker = looks[split]
        if split == "train":
            # A point the model fits takes the colour of the shading under it: a dark outline
            # keeps it visible (a white one vanished near 0).
            marker = {**marker, "line": {"color": INK, "width": 0.8}}
        colours = {"colorscale": OUTPUT_COLORSCALE, "cmin": value_range[0], "cmax": value_range[1]}
        fig.add_trace(
            scatter(
                x=f32(points[:, 0]),
                y=f32(points[:, 1]),
                mode="markers",
                name=f"points{suffix}",
                marker={"color": f32(targets), **colours, **marker},
                hovertemplate=f"target %{{marker.color:.2f}} ({split})"
                "<br>(%{x:.2f}, %{y:.2f})<extra></extra>",
                showlegend=False,
            )
        )


def shading_arrays(
    grid: DecisionGrid, discretize: bool, value_range: tuple[float, float] | None = None
) -> list[np.ndarray]:
    """The z of each shading trace of ``boundary_figure``, in trace order (the live charts
    update exactly these): two classes, the heatmap's (m, n) P(class 1) (snapped to 0/1 when
    discretized) and the contour's (m, n) P(class 1); more, the image's (m, n, 3) uint8 RGB.
    Regression (``value_range`` (lo, hi) given, probs (m, n, 1) the output): the heatmap's
    (m, n) output mapped to [0, 1] over that fixed range and clipped (discretized: its sign as
    0 or 1), i.e. the heatmap's z as a fraction of its zmin..zmax (the live panel's lookup
    table is the colour scale on [0, 1]); no contour."""
    probs = np.asarray(grid.probs)
    if value_range is not None:
        out = probs[..., 0].astype(np.float64)
        if discretize:
            return [(out >= 0).astype(np.float32)]
        lo, hi = value_range
        return [f32(np.clip((out - lo) / (hi - lo), 0.0, 1.0))]  # the live frames' levels
    if probs.shape[-1] != 2:
        return [probability_image(probs, discretize=discretize)]
    p1 = f32(probs[..., 1])
    return [(p1 >= 0.5).astype(np.float32) if discretize else p1, p1]


def boundary_traces(
    grid: DecisionGrid,
    *,
    discretize: bool = False,
    line_width: float = 2.0,
    value_range: tuple[float, float] | None = None,
) -> list[go.BaseTraceType]:
    """The shading of ``boundary_figure`` without the points, in trace order: two classes, a
    heatmap of P(class 1) (``discretize``: snapped to 0/1) and the p = 0.5 contour (``line_width``
    px); more classes, an image of the most likely class fading to white as the model is unsure;
    regression (``value_range`` given), a heatmap of the output with a colour bar.

    Args:
        grid: ``.xs`` (n,), ``.ys`` (m,) and ``.probs`` (m, n, C), probs[i, j] at (xs[j], ys[i]).
        value_range: regression: the colour range (lo, hi) of the output (``output_range``).
    """
    if value_range is not None:
        return [_output_heatmap(grid, value_range, discretize)]
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


def _output_heatmap(grid: DecisionGrid, value_range, discretize: bool) -> go.Heatmap:
    """A regression model's output (m, n) on the fixed colour range ``value_range`` with a
    colour bar (``discretize``: its sign, shown as the range's ends)."""
    lo, hi = value_range
    out = f32(np.asarray(grid.probs)[..., 0])
    if discretize:
        out = np.where(out >= 0, hi, lo).astype(np.float32)
    return go.Heatmap(
        x=f32(np.asarray(grid.xs)),
        y=f32(np.asarray(grid.ys)),
        z=out,
        zmin=lo,
        zmax=hi,
        colorscale=OUTPUT_COLORSCALE,
        showscale=True,
        colorbar={"title": {"text": "output"}, "thickness": 14, "len": 0.9},
        zsmooth=False if discretize else "fast",
        name="output",
        hovertemplate="(%{x:.2f}, %{y:.2f})<br>output %{z:.2f}<extra></extra>",
        showlegend=False,
    )
