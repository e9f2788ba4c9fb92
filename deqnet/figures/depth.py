"""Figures of depth against time: a network's layers on the ODE's paths, and as L grows.

The layer states drawn as numbered dots on the ODE paths, the first coordinate against depth with
each layer's distance from its path, the errors against L on log-log axes with their fitted slopes,
and accuracy against L.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deqnet.figures.paths import class_groups, class_path_traces
from deqnet.figures.style import (
    GREY,
    INK,
    SPLIT_STYLE,
    Extent,
    base_layout,
    class_color,
    f32,
    fonts,
    framed_box,
    legend_key,
    level_line,
    paper_note,
    plane_axes,
    points_box,
    styled_series,
)

if TYPE_CHECKING:
    from deqnet.analysis.depth import Convergence, DepthAccuracy, LayerPaths

ADJOINT_COLOR = "#CC79A7"  # reddish purple: not a class colour in two-class problems
NUMBER_LABELS = 11  # at most this many layer numbers written along a highlighted path
# Layer dots up to this many are SVG, more WebGL: a WebGL context costs a second or more to open
# in a browser without a GPU (a projector's laptop, a phone), SVG this many dots far less.
SVG_LAYER_DOTS = 6000
T_TITLE = "t (depth)"


def number_stride(layers: int, labels: int = NUMBER_LABELS) -> int:
    """Write every k-th layer number so that at most about ``labels`` numbers fit on a path."""
    return max(1, math.ceil(layers / max(1, labels - 1)))


def paths_to_number(paths: LayerPaths, labels: np.ndarray, *, per_class: int = 1) -> list[int]:
    """Which paths to number: in each class (at most three classes) the one whose layers travel
    furthest in the plane, so that its numbers spread out and stay readable."""
    states = np.asarray(paths.layers)[..., :2]
    travel = np.nansum(np.linalg.norm(np.diff(states, axis=0), axis=-1), axis=0)
    labels = np.asarray(labels).astype(np.int64)
    chosen: list[int] = []
    for k in np.unique(labels)[:3]:
        idx = np.flatnonzero(labels == k)
        chosen.extend(int(i) for i in idx[np.argsort(-travel[idx], kind="stable")[:per_class]])
    return chosen


def layers_on_path_figure(
    paths: LayerPaths,
    labels: np.ndarray,
    *,
    numbered: Sequence[int] = (),
    big: bool = True,
) -> go.Figure:
    """ODE paths x(t) as class-coloured lines, the network's layer states x_l as dots on them.

    Args:
        paths: ``layer_paths`` of N inputs (first two components drawn).
        labels: (N,) classes.
        numbered: indices of paths whose dots are enlarged and numbered 0 … L (every k-th
            number, at most ``NUMBER_LABELS``), as in the paper's figure.

    The axes frame the paths and layers themselves (:func:`overlay_box`).
    """
    path = np.asarray(paths.path)[..., :2]
    states = np.asarray(paths.layers)[..., :2]
    labels = np.asarray(labels).astype(np.int64)
    n_layers = len(paths.layer_t) - 1
    every = np.arange(path.shape[1])
    fig = go.Figure()
    width = 2.5 if big else 1.5
    fig.add_traces(
        class_path_traces(
            path,
            labels,
            width=width,
            opacity=0.4,
            name="ODE paths, class {k}",
            group=None,
            showlegend=False,
        )
    )
    layer_index = np.broadcast_to(np.arange(n_layers + 1)[:, None], states.shape[:2])
    dot = {"size": 8 if big else 6, "line": {"color": "white", "width": 1}}
    scatter = go.Scatter if states.shape[0] * states.shape[1] <= SVG_LAYER_DOTS else go.Scattergl
    for k, idx in class_groups(labels, every):
        fig.add_trace(
            scatter(
                x=f32(states[:, idx, 0].ravel()),
                y=f32(states[:, idx, 1].ravel()),
                customdata=layer_index[:, idx].ravel(),
                mode="markers",
                name=f"layers, class {k}",
                showlegend=False,
                marker={**dot, "color": class_color(k)},
                hovertemplate="layer %{customdata}: (%{x:.2f}, %{y:.2f})<extra></extra>",
            )
        )
    # Legend keys in ink: the colours only say the class, the marks say what is drawn.
    legend_key(fig, "ODE path x(t)", line={"width": width}, opacity=0.5)
    legend_key(fig, "layer xₗ", dot)
    base_layout(fig, big=big)  # before the number tags: it restyles every annotation
    box = overlay_box(path, states)
    # Numbers closer than this (7 % of the wider side) would overlap on screen.
    min_gap = 0.07 * max(box[1] - box[0], box[3] - box[2])
    _add_numbered(fig, path, states, labels, numbered, n_layers, min_gap, big)
    # Not at equal scale: the plane fills its column (at equal scale tall paths were a strip).
    plane_axes(fig, box, equal=False)
    return fig


def overlay_box(path: np.ndarray, states: np.ndarray) -> Extent:
    """The axis box (x0, x1, y0, y1) of the overlay: the ODE paths (K, N, 2) whole, and the layer
    states (L + 1, N, 2) from their 1 % to their 99 % quantile, so the few states a coarse
    network flings far away do not shrink the paths to a strip (they are drawn, off the view)."""
    states = np.asarray(states, dtype=np.float64).reshape(-1, 2)
    sx0, sx1, sy0, sy1 = framed_box(states, low=0.01, high=0.99, pad=0.0)
    px0, px1, py0, py1 = points_box(path)
    low = np.array([min(sx0, px0), min(sy0, py0)])
    high = np.array([max(sx1, px1), max(sy1, py1)])
    margin = 0.06 * (high - low) + 0.05
    return (
        float(low[0] - margin[0]),
        float(high[0] + margin[0]),
        float(low[1] - margin[1]),
        float(high[1] + margin[1]),
    )


def written_layers(states: np.ndarray, min_gap: float, labels: int = NUMBER_LABELS) -> list[int]:
    """Layer numbers to write along one path of layer states (L + 1, 2): every k-th layer (at
    most about ``labels``), skipping a number closer than ``min_gap`` to the last one written,
    and always 0 and L (L replaces a crowding predecessor)."""
    n_layers = len(states) - 1
    stride = number_stride(n_layers, labels)
    written = [0]
    for n in [*range(stride, n_layers, stride), n_layers]:
        if not np.all(np.isfinite(states[n])):
            continue
        if np.linalg.norm(states[n] - states[written[-1]]) >= min_gap:
            written.append(n)
        elif n == n_layers and len(written) > 1:
            written[-1] = n
    return written


def _add_numbered(
    fig: go.Figure,
    path: np.ndarray,
    states: np.ndarray,
    labels: np.ndarray,
    numbered: Sequence[int],
    n_layers: int,
    min_gap: float,
    big: bool,
) -> None:
    """The chosen paths drawn dark with enlarged layer dots, layer numbers on white tags and a
    ring at x(T), where the path ends (SVG traces: few points, crisp text)."""
    size = fonts(big)["base"]
    for shown, i in enumerate(numbered):
        written = written_layers(states[:, i], min_gap)
        colour = class_color(labels[i])
        first = shown == 0
        fig.add_trace(
            go.Scatter(
                x=f32(path[:, i, 0]),
                y=f32(path[:, i, 1]),
                mode="lines",
                name="numbered path",
                legendgroup="numbered",
                showlegend=False,
                line={"color": colour, "width": 3.5 if big else 2.5},
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=f32(states[:, i, 0]),
                y=f32(states[:, i, 1]),
                mode="markers",
                name="numbered layers 0 … L",
                legendgroup="numbered",
                showlegend=first,
                marker={
                    "size": 12 if big else 9,
                    "color": colour,
                    "line": {"color": INK, "width": 1.5},
                },
                customdata=np.arange(n_layers + 1),
                hovertemplate="layer %{customdata}: (%{x:.2f}, %{y:.2f})<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=f32(path[-1:, i, 0]),
                y=f32(path[-1:, i, 1]),
                mode="markers",
                name="x(T), where the path ends",
                legendgroup="end",
                showlegend=first,
                marker={
                    "symbol": "circle-open",
                    "size": 22 if big else 16,
                    "color": INK,
                    "line": {"width": 2.5},
                },
                hovertemplate="x(T) = (%{x:.2f}, %{y:.2f})<extra></extra>",
            )
        )
        for n in written:
            if not np.all(np.isfinite(states[n, i])):
                continue
            # Beside the path, not on it: shifted across the path's direction at this layer.
            ahead = states[min(n + 1, n_layers), i] - states[max(n - 1, 0), i]
            across = np.array([-ahead[1], ahead[0]])
            norm = float(np.hypot(*across))
            across = across / norm if np.isfinite(norm) and norm > 0 else np.array([0.0, 1.0])
            fig.add_annotation(
                x=float(states[n, i, 0]),
                y=float(states[n, i, 1]),
                text=str(n),
                showarrow=False,
                xshift=round(1.1 * size * across[0]),
                yshift=round(1.1 * size * across[1]),
                bgcolor="rgba(255,255,255,0.8)",
                borderpad=1,
                font={"size": size, "color": INK},
            )


def layer_time_figure(
    paths: LayerPaths, labels: np.ndarray, *, numbered: Sequence[int] = (), big: bool = True
) -> go.Figure:
    """x₁(t) of the ODE (lines) with the layers x₁,ₗ at t_l = l·Δt (dots), above the distance
    ‖x_l − x(t_l)‖ of each layer from its path (mean and largest over the points).

    ``numbered`` paths are drawn darker, as in :func:`layers_on_path_figure`.
    """
    t = np.asarray(paths.t, dtype=np.float64)
    layer_t = np.asarray(paths.layer_t, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    x1, dots = np.asarray(paths.path)[..., 0], np.asarray(paths.layers)[..., 0]
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.62, 0.38]
    )
    every = np.arange(x1.shape[1])
    tx = np.stack([np.broadcast_to(t[:, None], x1.shape), x1], axis=2)
    lines = class_path_traces(tx, labels, width=1.5, opacity=0.4)
    scatter = go.Scatter if dots.size <= SVG_LAYER_DOTS else go.Scattergl
    for (k, idx), line in zip(class_groups(labels, every), lines, strict=True):
        fig.add_trace(line, row=1, col=1)
        fig.add_trace(
            scatter(
                x=f32(np.repeat(layer_t, len(idx))),
                y=f32(dots[:, idx].ravel()),
                mode="markers",
                name=f"layers, class {k}",
                legendgroup=f"class {k}",
                showlegend=False,
                marker={"size": 6, "color": class_color(k), "line": {"color": "white", "width": 1}},
                hovertemplate="t = %{x:.3f}: x₁ = %{y:.2f}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    for i in numbered:
        fig.add_trace(
            go.Scatter(
                x=f32(layer_t),
                y=f32(dots[:, i]),
                mode="markers",
                showlegend=False,
                marker={
                    "size": 9,
                    "color": class_color(labels[i]),
                    "line": {"color": INK, "width": 1.5},
                },
                customdata=np.arange(len(layer_t)),
                hovertemplate="layer %{customdata} at t = %{x:.3f}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    gap = np.asarray(paths.gap, dtype=np.float64)
    for name, values, dash in (
        ("mean", gap.mean(axis=1), "solid"),
        ("largest", gap.max(axis=1), "dash"),
    ):
        fig.add_trace(
            go.Scatter(
                x=f32(layer_t),
                y=f32(values),
                mode="lines+markers",
                name=f"‖xₗ − x(tₗ)‖, {name} over the points",
                line={"color": INK, "width": 2, "dash": dash},
                marker={"size": 5},
                customdata=np.arange(len(layer_t)),
                hovertemplate=f"layer %{{customdata}}: {name} %{{y:.3g}}<extra></extra>",
            ),
            row=2,
            col=1,
        )
    base_layout(fig, big=big)
    fig.update_xaxes(range=[float(t[0]), float(t[-1])])
    fig.update_xaxes(title_text=T_TITLE, row=2, col=1)
    fig.update_yaxes(title_text="x₁", row=1, col=1)
    fig.update_yaxes(title_text="distance", rangemode="tozero", row=2, col=1)
    return fig


def slope_text(slope: float) -> str:
    """A fitted slope as "−1.02" (a true minus sign), or "n/a" when the fit failed."""
    return "n/a" if not math.isfinite(slope) else f"{slope:.2f}".replace("-", "−")


def convergence_figure(
    conv: Convergence, *, chosen: int | None = None, big: bool = True
) -> go.Figure:
    """Mean ‖x_L − x(T)‖ and ‖a₀ − a(0)‖ against L on log-log axes, with the fitted power laws
    (dashed) and their slopes written on the chart; a dotted line marks the ``chosen`` L when it
    lies within the layer counts studied."""
    n = np.asarray(conv.layers, dtype=np.float64)
    fig = go.Figure()
    series = (
        ("states ‖x<sub>L</sub> − x(T)‖", conv.state_error, conv.state_fit, INK, "circle"),
        ("adjoint ‖a₀ − a(0)‖", conv.adjoint_error, conv.adjoint_fit, ADJOINT_COLOR, "square"),
    )
    span = np.geomspace(n.min(), n.max(), 20) if len(n) else n
    for name, errors, (slope, coef), colour, symbol in series:
        fig.add_trace(
            go.Scatter(
                x=f32(n),
                y=f32(errors),
                mode="markers",
                name=f"{name}   slope {slope_text(slope)}",
                legendgroup=name,
                marker={"size": 12 if big else 9, "color": colour, "symbol": symbol},
                hovertemplate=f"L = %{{x:.0f}}: {name} = %{{y:.3g}}<extra></extra>",
            )
        )
        if math.isfinite(slope):
            fig.add_trace(
                go.Scatter(
                    x=f32(span),
                    y=f32(coef * span**slope),
                    mode="lines",
                    name=f"fit {name}",
                    legendgroup=name,
                    showlegend=False,
                    line={"color": colour, "width": 2, "dash": "dash"},
                    hoverinfo="skip",
                )
            )
    if chosen is not None and len(n) and n.min() <= chosen <= n.max():
        fig.add_vline(x=float(chosen), line={"color": GREY, "width": 1.5, "dash": "dot"})
    base_layout(fig, big=big)
    slope_note = "slope −1: twice the layers,<br>half the error (first order)"
    paper_note(fig, slope_note, "top right", size=fonts(big)["base"], color=GREY)
    fig.update_xaxes(
        type="log",
        title_text="layers L  (Δt = T/L)",
        tickvals=[float(v) for v in n],
        ticktext=[str(int(v)) for v in n],
        minor={"showgrid": False},
    )
    ticks = log_ticks(np.concatenate([conv.state_error, conv.adjoint_error]))
    fig.update_yaxes(
        type="log",
        title_text="mean error",
        tickvals=ticks,
        ticktext=[f"{v:.3g}" for v in ticks],
    )
    return fig


def log_ticks(values: np.ndarray) -> list[float]:
    """1, 2, 5 × 10^k ticks covering the finite positive ``values`` (plain numbers read better
    than powers on a projector)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if not len(v):
        return []
    low, high = math.floor(math.log10(v.min())), math.ceil(math.log10(v.max()))
    ticks = [m * 10.0**k for k in range(low, high + 1) for m in (1, 2, 5)]
    inside = [t for t in ticks if v.min() / 1.5 <= t <= v.max() * 1.5]
    return inside if len(inside) >= 2 else ticks


def depth_accuracy_figure(
    acc: DepthAccuracy, *, chosen: int | None = None, big: bool = True, r2: bool = False
) -> go.Figure:
    """Train and test accuracy (%) of the L-layer network against L (log axis), with the ODE's
    accuracies as horizontal lines; a dotted line marks the ``chosen`` L. ``r2``: the scores
    are R² (regression), drawn as they are."""
    n = np.asarray(acc.layers, dtype=np.float64)
    scale, unit = (1.0, "") if r2 else (100.0, " %")
    fig = go.Figure()
    for split, values, ode in (
        ("train", acc.train, acc.ode_train),
        ("test", acc.test, acc.ode_test),
    ):
        style = SPLIT_STYLE[split]
        digits = ".3f" if r2 else ".1f"
        hover = f"L = %{{x:.0f}}: {split} %{{y:{digits}}}{unit}<extra></extra>"
        fig.add_trace(
            styled_series(n, scale * np.asarray(values), f"network, {split}", style, 9, hover)
        )
        fig.add_trace(
            level_line(
                n,
                scale * ode,
                name=f"ODE, {split}",
                line={"color": ADJOINT_COLOR, "dash": style["dash"], "width": 2},
                hovertemplate=f"ODE {split}: %{{y:{digits}}}{unit}<extra></extra>",
            )
        )
    if chosen is not None:
        fig.add_vline(x=float(chosen), line={"color": GREY, "width": 1.5, "dash": "dot"})
    base_layout(fig, big=big)
    low = min(np.min(acc.train), np.min(acc.test), acc.ode_train, acc.ode_test) if len(n) else 0.5
    fig.update_xaxes(
        type="log",
        title_text="layers L",
        tickvals=[float(v) for v in n],
        ticktext=[str(int(v)) for v in n],
    )
    if r2:
        fig.update_yaxes(title_text="R²", range=[max(-1.0, low - 0.05), 1.01])
    else:
        fig.update_yaxes(title_text="accuracy (%)", range=[max(0.0, 100 * low - 5), 101])
    return fig


__all__ = [
    "ADJOINT_COLOR",
    "convergence_figure",
    "depth_accuracy_figure",
    "layer_time_figure",
    "layers_on_path_figure",
    "log_ticks",
    "number_stride",
    "paths_to_number",
    "written_layers",
]
