"""Figures of the layers near the identity: ‖W_l − I‖ per layer and h(y) against y."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deqnet.figures.style import (
    FOLD_COLOR,
    GREY,
    INK,
    base_layout,
    f32,
    fonts,
    legend_key,
    paper_note,
    rgba,
)

if TYPE_CHECKING:
    from deqnet.analysis.identity import ActivationCurve, LayerWeights

# Legend key of a shaded band.
SQUARE_KEY = {"symbol": "square", "size": 14}


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
        legend_key(fig, "range the data reach", SQUARE_KEY, color=rgba(GREY, 0.3))
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
        legend_key(fig, "h decreasing: the layer can fold", SQUARE_KEY, color=rgba(FOLD_COLOR, 0.3))
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
    formula = f"h(y) = y − {g},  γΔt = {curve.gamma_dt:.3g}<br>{where}"
    paper_note(fig, formula, "above left", size=size, color=INK, yshift=4)
    span = float(y[-1])
    visible = h[np.abs(y) <= span]
    top = max(span, float(np.nanmax(np.abs(visible)))) if visible.size else span
    fig.update_xaxes(title_text="y = Wₗxₗ + Bₗ", range=[-span, span])
    fig.update_yaxes(title_text="h(y)", range=[-min(top, 3 * span), min(top, 3 * span)])
    return fig


__all__ = ["activation_figure", "layer_weights_figure"]
