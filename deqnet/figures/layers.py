"""Figures of the Layers ↔ Time page: a network's layers against the ODE it discretizes.

The layer states drawn as numbered dots on the ODE paths, the errors against L on log-log axes
with their fitted slopes, accuracy against L, ‖W_l − I‖ and the entries of W_l − I, the activation
h(y) against the identity, and the topology lesson's picture of where a model sends the plane.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deqnet.figures.paths import class_groups, nan_join
from deqnet.figures.style import (
    GREY,
    INK,
    SPLIT_STYLE,
    Extent,
    base_layout,
    class_color,
    f32,
    fonts,
    plane_axes,
    rgba,
    view_extent,
)

if TYPE_CHECKING:
    from deqnet.analysis.grids import GridFlow
    from deqnet.analysis.layers import (
        ActivationCurve,
        Convergence,
        DepthAccuracy,
        LayerPaths,
        LayerWeights,
    )

ADJOINT_COLOR = "#CC79A7"  # reddish purple: not a class colour in two-class problems
FOLD_COLOR = "#D62728"  # red: where a layer map turns the plane over
NUMBER_LABELS = 11  # at most this many layer numbers written along a highlighted path
T_TITLE = "t (depth)"


def _sub(digits: str) -> str:
    """Digits as Unicode subscripts (Plotly's <sub> is small on a projector)."""
    return digits.translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def _legend_key(fig: go.Figure, name: str, marker: dict, *, row=None, col=None) -> None:
    """A legend entry drawn in ink for markers that carry every class's colour."""
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            name=name,
            marker={**marker, "color": INK},
            hoverinfo="skip",
        ),
        row=row,
        col=col,
    )


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
    extent: Extent | None = None,
    big: bool = True,
) -> go.Figure:
    """ODE paths x(t) as class-coloured lines, the network's layer states x_l as dots on them.

    Args:
        paths: ``layer_paths`` of N inputs (first two components drawn).
        labels: (N,) classes.
        numbered: indices of paths whose dots are enlarged and numbered 0 … L (every k-th
            number, at most ``NUMBER_LABELS``), as in the paper's figure.
        extent: the box to show at least (x0, x1, y0, y1); widened (bounded) to the paths.
    """
    path = np.asarray(paths.path)[..., :2]
    states = np.asarray(paths.layers)[..., :2]
    labels = np.asarray(labels).astype(np.int64)
    n_layers = len(paths.layer_t) - 1
    every = np.arange(path.shape[1])
    fig = go.Figure()
    width = 2.5 if big else 1.5
    for k, idx in class_groups(labels, every):
        line = nan_join(path[:, idx].transpose(1, 0, 2))
        fig.add_trace(
            go.Scattergl(
                x=line[:, 0],
                y=line[:, 1],
                mode="lines",
                name=f"ODE paths, class {k}",
                showlegend=False,
                line={"color": class_color(k), "width": width},
                opacity=0.4,
                hoverinfo="skip",
            )
        )
    layer_index = np.broadcast_to(np.arange(n_layers + 1)[:, None], states.shape[:2])
    dot = {"size": 8 if big else 6, "line": {"color": "white", "width": 1}}
    for k, idx in class_groups(labels, every):
        fig.add_trace(
            go.Scattergl(
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
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="lines",
            name="ODE path x(t)",
            line={"color": INK, "width": width},
            opacity=0.5,
        )
    )
    _legend_key(fig, "layer xₗ", dot)
    base_layout(fig, big=big)  # before the number tags: it restyles every annotation
    box = view_extent(np.concatenate([path, states]), extent if extent is not None else _box(path))
    # Numbers closer than this (4 % of the wider side) would overlap on screen.
    min_gap = 0.04 * max(box[1] - box[0], box[3] - box[2])
    _add_numbered(fig, path, states, labels, numbered, n_layers, min_gap, big)
    plane_axes(fig, box)
    # Keep one unit equally long on both axes but let the plane fill its column.
    fig.update_xaxes(constrain="range")
    fig.update_yaxes(constrain="range")
    return fig


def _box(points: np.ndarray) -> Extent:
    finite = points[np.isfinite(points).all(axis=-1)]
    if not len(finite):
        return (-1.5, 1.5, -1.5, 1.5)
    low, high = finite.min(axis=0), finite.max(axis=0)
    return (float(low[0]), float(high[0]), float(low[1]), float(high[1]))


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
            fig.add_annotation(
                x=float(states[n, i, 0]),
                y=float(states[n, i, 1]),
                text=str(n),
                showarrow=False,
                yshift=round(1.1 * size),
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
    for k, idx in class_groups(labels, every):
        tx = np.stack([np.broadcast_to(t[:, None], (len(t), len(idx))), x1[:, idx]], 2)
        line = nan_join(tx.transpose(1, 0, 2))
        fig.add_trace(
            go.Scattergl(
                x=line[:, 0],
                y=line[:, 1],
                mode="lines",
                name=f"class {k}",
                legendgroup=f"class {k}",
                line={"color": class_color(k), "width": 1.5},
                opacity=0.4,
                hoverinfo="skip",
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scattergl(
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


def _slope_text(slope: float) -> str:
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
        ("states ‖x_L − x(T)‖", conv.state_error, conv.state_fit, INK, "circle"),
        ("adjoint ‖a₀ − a(0)‖", conv.adjoint_error, conv.adjoint_fit, ADJOINT_COLOR, "square"),
    )
    span = np.geomspace(n.min(), n.max(), 20) if len(n) else n
    for name, errors, (slope, coef), colour, symbol in series:
        fig.add_trace(
            go.Scatter(
                x=f32(n),
                y=f32(errors),
                mode="markers",
                name=f"{name}   slope {_slope_text(slope)}",
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
    fig.add_annotation(
        text="slope −1: twice the layers,<br>half the error (first order)",
        xref="paper",
        yref="paper",
        x=1.0,
        y=1.0,
        xanchor="right",
        yanchor="top",
        showarrow=False,
        align="right",
        font={"size": fonts(big)["base"], "color": GREY},
    )
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


def _note(fig: go.Figure, text: str, big: bool) -> None:
    """A sentence written above the legend, with room made for it."""
    size = fonts(big)["base"]
    fig.update_layout(margin={"t": fig.layout.margin.t + round(1.8 * size)})
    fig.add_annotation(
        text=text,
        xref="paper",
        yref="paper",
        x=0.0,
        y=1.0,
        xanchor="left",
        yanchor="bottom",
        yshift=round(1.6 * size),
        showarrow=False,
        align="left",
        font={"size": size, "color": INK},
    )


def depth_accuracy_figure(
    acc: DepthAccuracy, *, chosen: int | None = None, big: bool = True
) -> go.Figure:
    """Train and test accuracy (%) of the L-layer network against L (log axis), with the ODE's
    accuracies as horizontal lines; a dotted line marks the ``chosen`` L."""
    n = np.asarray(acc.layers, dtype=np.float64)
    fig = go.Figure()
    for split, values, ode in (
        ("train", acc.train, acc.ode_train),
        ("test", acc.test, acc.ode_test),
    ):
        style = SPLIT_STYLE[split]
        fig.add_trace(
            go.Scatter(
                x=f32(n),
                y=f32(100 * np.asarray(values)),
                mode="lines+markers",
                name=f"network, {split}",
                line={"color": style["color"], "dash": style["dash"], "width": 2.5},
                marker={"size": 9},
                hovertemplate=f"L = %{{x:.0f}}: {split} %{{y:.1f}} %<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=f32([n.min(), n.max()]) if len(n) else [],
                y=f32([100 * ode, 100 * ode]),
                mode="lines",
                name=f"ODE, {split}",
                line={"color": ADJOINT_COLOR, "dash": style["dash"], "width": 2},
                hovertemplate=f"ODE {split}: %{{y:.1f}} %<extra></extra>",
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
    fig.update_yaxes(title_text="accuracy (%)", range=[max(0.0, 100 * low - 5), 101])
    return fig


def _entry_names(dim: int) -> list[str]:
    return [f"({i + 1},{j + 1})" for i in range(dim) for j in range(dim)]


def layer_weights_figure(weights: LayerWeights, *, big: bool = True) -> go.Figure:
    """‖W_l − I‖ per layer (top) and every entry of W_l − I as a heatmap over the layers (bottom).

    For a ResNet (``weights.kind == "jacobian"``) W_l is the layer map's Jacobian ∂x_{l+1}/∂x_l,
    averaged over the data; the axis titles say so.
    """
    dev = np.asarray(weights.deviation, dtype=np.float64)
    n_layers, dim = dev.shape[0], dev.shape[1]
    layer = np.arange(n_layers)
    jac = weights.kind == "jacobian"
    symbol = "Jₗ − I" if jac else "Wₗ − I"
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1, row_heights=[0.45, 0.55]
    )
    fig.add_trace(
        go.Bar(
            x=layer,
            y=f32(weights.norm),
            marker={"color": INK},
            name=f"‖{symbol}‖",
            customdata=f32(weights.t),
            hovertemplate=f"layer %{{x}} (t = %{{customdata:.2f}}): ‖{symbol}‖ = %{{y:.3g}}"
            "<extra></extra>",
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    z = dev.reshape(n_layers, dim * dim).T
    bound = float(np.nanmax(np.abs(z))) if z.size and np.isfinite(z).any() else 1.0
    fig.add_trace(
        go.Heatmap(
            x=layer,
            y=_entry_names(dim),
            z=f32(z),
            zmid=0.0,
            zmin=-bound,
            zmax=bound,
            colorscale="RdBu_r",
            colorbar={"title": {"text": symbol}, "len": 0.5, "y": 0.0, "yanchor": "bottom"},
            hovertemplate=f"layer %{{x}}, entry %{{y}}: {symbol} = %{{z:.3g}}<extra></extra>",
        ),
        row=2,
        col=1,
    )
    base_layout(fig, big=big, legend=False)
    norm_title = "mean ‖Jₗ − I‖" if jac else "‖Wₗ − I‖"
    fig.update_yaxes(title_text=norm_title, rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="entry (i,j)", autorange="reversed", row=2, col=1)
    fig.update_xaxes(title_text="layer l", row=2, col=1)
    fig.update_xaxes(showgrid=False, row=2, col=1)
    if n_layers <= 20:
        fig.update_xaxes(dtick=1)
    return fig


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) indices of the runs of True in a 1-D mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


def activation_figure(curve: ActivationCurve, *, big: bool = True) -> go.Figure:
    """h(y) against the identity: red bands where h decreases (h' < 0, the layer can fold the
    plane), dotted lines at ±limit (h' = 0), and a grey band over the pre-activations W_l x_l + B_l
    the data reach."""
    y, h = np.asarray(curve.y), np.asarray(curve.h)
    fig = go.Figure()
    lo, hi = (float(v) for v in curve.preactivation)
    if math.isfinite(lo) and math.isfinite(hi):
        fig.add_vrect(x0=lo, x1=hi, fillcolor=rgba(GREY, 0.15), line_width=0, layer="below")
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name="range the data reach",
                marker={"symbol": "square", "size": 14, "color": rgba(GREY, 0.3)},
            )
        )
    falling = _runs(np.asarray(curve.dh) < 0)
    for first, last in falling:
        fig.add_vrect(
            x0=float(y[first]),
            x1=float(y[last]),
            fillcolor=rgba(FOLD_COLOR, 0.12),
            line_width=0,
            layer="below",
        )
    if falling:
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name="h decreasing: the layer can fold",
                marker={"symbol": "square", "size": 14, "color": rgba(FOLD_COLOR, 0.3)},
            )
        )
    fig.add_trace(
        go.Scatter(
            x=f32(y),
            y=f32(y),
            mode="lines",
            name="identity",
            line={"color": GREY, "width": 2, "dash": "dash"},
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=f32(y),
            y=f32(h),
            mode="lines",
            name="h(y)",
            line={"color": INK, "width": 3.5},
            hovertemplate="h(%{x:.2f}) = %{y:.3f}<extra></extra>",
        )
    )
    base_layout(fig, big=big)
    limit = curve.limit
    if math.isfinite(limit) and limit <= y[-1]:
        for sign in (-1, 1):
            fig.add_vline(x=sign * limit, line={"color": FOLD_COLOR, "width": 2, "dash": "dot"})
    g = "γΔt y³" if curve.nonlinearity == "cubic" else "γΔt sin y"
    where = (
        f"h′ = 0 at ±1/√(3γΔt) = ±{limit:.3g}"
        if curve.nonlinearity == "cubic" and math.isfinite(limit)
        else (f"h′ = 0 at ±{limit:.3g}" if math.isfinite(limit) else "monotone everywhere")
    )
    # The formula (two lines) takes the space above the plot; the legend goes below it.
    size = fonts(big)["base"]
    fig.update_layout(margin={"t": 12 + round(2.6 * size)}, legend={"y": -0.16, "yanchor": "top"})
    fig.add_annotation(
        text=f"h(y) = y − {g},  γΔt = {curve.gamma_dt:.3g}<br>{where}",
        xref="paper",
        yref="paper",
        x=0.0,
        y=1.0,
        xanchor="left",
        yanchor="bottom",
        yshift=4,
        showarrow=False,
        align="left",
        font={"size": size, "color": INK},
    )
    span = float(y[-1])
    visible = h[np.abs(y) <= span]
    top = max(span, float(np.nanmax(np.abs(visible)))) if visible.size else span
    fig.update_xaxes(title_text="y = Wₗxₗ + Bₗ", range=[-span, span])
    fig.update_yaxes(title_text="h(y)", range=[-min(top, 3 * span), min(top, 3 * span)])
    return fig


def _padded_box(points: np.ndarray, pad: float = 0.08, least: float = 0.3) -> Extent:
    """A box around the finite points (N, 2) with a margin, at least 2 * ``least`` wide."""
    x0, x1, y0, y1 = _box(points)
    half = np.maximum([(x1 - x0) / 2, (y1 - y0) / 2], least) * (1 + pad)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - half[0], cx + half[0], cy - half[1], cy + half[1])


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
            depths; the first two components are drawn, each panel on its own scale.
        labels: (N,) classes.
        titles: K panel titles ("layer 2", "t = 0.50", ...).
        grid: ``deformed_grid`` at the same K depths.
        turned: (K, N) ``turned_over(...).turned`` at the same depths.
        boundary: (u, c) of ``linear_boundary``.
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
                go.Scattergl(
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
        for c, idx in groups:
            fig.add_trace(
                go.Scattergl(
                    x=f32(x[k, idx, 0]),
                    y=f32(x[k, idx, 1]),
                    mode="markers",
                    name=f"class {c}",
                    legendgroup=f"class {c}",
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
                go.Scattergl(
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
                    opacity=0.7,
                    hoverinfo="skip",
                ),
                row=1,
                col=col,
            )
        boxes.append(_padded_box(x[k]))
    base_layout(fig, big=big)
    if boundary is not None:
        _add_boundary(fig, boundary, boxes[-1], col=n_panels)
    for k, box in enumerate(boxes):
        plane_axes(fig, box, row=1, col=k + 1, titles=("", ""))
    fig.update_xaxes(showticklabels=False, showgrid=False)
    fig.update_yaxes(showticklabels=False, showgrid=False)
    fig.update_annotations(font_size=fonts(big)["base"])
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


__all__ = [
    "ADJOINT_COLOR",
    "FOLD_COLOR",
    "activation_figure",
    "convergence_figure",
    "depth_accuracy_figure",
    "layer_time_figure",
    "layer_weights_figure",
    "layers_on_path_figure",
    "log_ticks",
    "number_stride",
    "paths_to_number",
    "written_layers",
    "plane_snapshots_figure",
]
