"""Additions for the Trajectories page on top of the shared figure builders (all edit in place).

Discrete networks (ResNet, feed-forward) have no path between layers, only the layer states
x_0 ... x_L at t_l = l * dt; :func:`mark_layers` and :func:`label_layer_frames` show them as such.
:func:`volume_cloud_figure` adds the cloud's Gaussian log-volume to the divergence/volume figure,
and :func:`add_time_slice` marks where the points are at the time the vector field is drawn.
Layout for wide page columns: :func:`step_back` (3-D camera) and :func:`value_label_right`
(animation slider label).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from deqnet.figures.animation import frame_indices
from deqnet.figures.style import INK, class_color, f32, keyed_markers
from deqnet.figures.volume import volume_figure

CLOUD_COLOR = "#CC79A7"  # reddish purple: not a class colour in two-class problems


def mark_layers(fig: go.Figure, *, size: int = 5) -> go.Figure:
    """Draw a dot at every vertex of the figure's path lines (2-D and 3-D), in place.

    For a discrete network the vertices of a path are its layer states, so each dot is one layer;
    straight segments between dots are only a guide for the eye.
    """
    for trace in fig.data:
        if trace.type in ("scatter", "scattergl", "scatter3d") and trace.mode == "lines":
            color = trace.line.color
            trace.update(mode="lines+markers", marker={"size": size, "color": color})
    return fig


def step_back(fig: go.Figure, factor: float = 1.35) -> go.Figure:
    """Move a 3-D scene's camera ``factor`` times farther from the centre, in place.

    The shared camera frames the cube tightly; in a half-width column its axis labels (the t
    axis above all) were cut off at the edges.
    """
    eye = fig.layout.scene.camera.eye
    fig.update_layout(
        scene_camera_eye={"x": eye.x * factor, "y": eye.y * factor, "z": eye.z * factor}
    )
    return fig


def value_label_right(fig: go.Figure) -> go.Figure:
    """Show an animation slider's current value ("t = 0.50") at the slider's right end, in place.

    At its default left end the label collides with the Play/Pause buttons when fonts are
    projector-sized.
    """
    fig.update_layout(sliders=[{"currentvalue": {"xanchor": "right"}}])
    return fig


def label_layer_frames(fig: go.Figure, t: np.ndarray, dt: float) -> go.Figure:
    """Relabel the animation slider of a discrete network "layer l (t = ...)", in place.

    Args:
        fig: a figure from ``flow_animation_figure`` built with the trajectory times ``t``.
        t: (K,) the trajectory's times t_l = l * dt.
        dt: the layer step.
    """
    times = np.asarray(t, dtype=np.float64)[frame_indices(t)]
    slider = fig.layout.sliders[0]
    for step, tj in zip(slider.steps, times, strict=True):
        step.label = f"layer {round(tj / dt)}  (t = {tj:.2f})"
    slider.currentvalue.prefix = ""
    return fig


def add_time_slice(
    fig: go.Figure, x_t: np.ndarray, labels: np.ndarray, *, t: float, big: bool = False
) -> go.Figure:
    """Mark the states x(t) (N, D) of the drawn paths as class-coloured diamonds, in place.

    The vector field drawn at time t acts on exactly these points, so they make the arrows
    readable: each point is about to move along the arrow under it. The open circles of the
    starting points are hidden (still listed in the legend): at t = 0 they are the same points,
    and later they only crowd the picture. The arrows stay the top layer.
    """
    x = np.asarray(x_t)[:, :2]
    colors = [class_color(k) for k in np.asarray(labels).astype(np.int64)]
    name = f"x(t) at t = {t:.2f}"
    marker = {"size": 9 if big else 7, "symbol": "diamond", "line": {"color": INK, "width": 0.5}}
    hover = f"x(t = {t:.2f}) = (%{{x:.2f}}, %{{y:.2f}})<extra></extra>"
    keyed_markers(fig, x, name, marker, colors, hover, key_color="white")
    fig.update_traces(visible="legendonly", selector={"name": "start (t = 0)"})
    fig.data = [tr for tr in fig.data if tr.type != "quiver"] + [
        tr for tr in fig.data if tr.type == "quiver"
    ]
    return fig


def volume_cloud_figure(
    t: np.ndarray,
    mean_div: np.ndarray,
    log_volume: np.ndarray,
    cloud: np.ndarray | None,
    *,
    discrete: bool = False,
    big: bool = False,
) -> go.Figure:
    """Mean divergence (top) and log-volume change (bottom) with the cloud's Gaussian estimate.

    Args:
        t: (K,) times.
        mean_div: (K,) mean divergence of F over the points (discrete: mean log|det J_l| / dt).
        log_volume: (K, N) exact log|det dx(t)/dx(0)| per point, or its mean (K,).
        cloud: (K,) half log det of the cloud's covariance (``cloud_log_volume``), drawn relative
            to t = 0 in the bottom panel; None (or non-finite at t = 0, as for a flat augmented
            cloud) leaves it out.
        discrete: label the divergence as the per-layer log-determinant rate.
    """
    fig = volume_figure(t, mean_div, log_volume, volume_legend="mean log|det J| (exact)", big=big)
    if cloud is not None and np.isfinite(cloud[0]):
        change = np.asarray(cloud, dtype=np.float64) - float(cloud[0])
        fig.add_trace(
            go.Scatter(
                x=f32(t),
                y=f32(change),
                mode="lines",
                name="cloud (Gaussian estimate)",
                line={"color": CLOUD_COLOR, "width": 2.5, "dash": "dash"},
                hovertemplate="t = %{x:.2f}<br>cloud: %{y:.3g}<extra></extra>",
            ),
            row=2,
            col=1,
        )
    # The legend names the bottom panel's curves, so it sits in the gap just above that panel.
    bottom_top = float(fig.layout.yaxis2.domain[1])
    fig.update_layout(
        showlegend=True,
        legend={"x": 0.0, "xanchor": "left", "y": bottom_top, "yanchor": "bottom"},
    )
    if discrete:
        fig.update_yaxes(title_text="log|det Jₗ| / Δt", row=1, col=1)
    return fig
