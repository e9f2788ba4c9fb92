"""Figures of the digits topic: thumbnails, maps along depth, H, convergence, confusion matrix.

Maps of many small images are drawn as ONE heatmap each: the 8×8 tiles are laid out in a mosaic
with a NaN row and column between them (Plotly draws NaN as a gap). One trace means one colour
scale shared by every tile, and a payload of a few thousand float32 values.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from deqnet.digits.analysis import Convergence, DepthMaps, Prediction
from deqnet.figures.depth import log_ticks, slope_text
from deqnet.figures.style import CLASS_COLORS, GREY, INK, base_layout, f32, fonts, paper_note, tint

SIDE = 8
GAP = 1  # NaN pixels between tiles
PITCH = SIDE + GAP
MAX_COLUMNS = 11  # depths drawn in a strip (evenly spaced, always layer 0 and layer L)
# Ink on paper for digits; a colour-blind-safe sequential scale for activations; blue-white-red
# centred at 0 for momenta (red: raising the value raises the loss).
DIGIT_SCALE = "Greys"
ACTIVATION_SCALE = "Cividis"
MOMENTUM_SCALE = "RdBu_r"
MOMENTUM_COLOR = "#CC79A7"  # as the adjoint elsewhere in the app


def mosaic(tiles: np.ndarray) -> np.ndarray:
    """Tiles (R, S, 8, 8) as one float32 image (R·9 − 1, S·9 − 1), NaN between tiles."""
    tiles = np.asarray(tiles, dtype=np.float32)
    rows, cols = tiles.shape[:2]
    out = np.full((rows * PITCH - GAP, cols * PITCH - GAP), np.nan, dtype=np.float32)
    for r in range(rows):
        for c in range(cols):
            out[r * PITCH : r * PITCH + SIDE, c * PITCH : c * PITCH + SIDE] = tiles[r, c]
    return out


def _centres(n: int) -> list[float]:
    return [k * PITCH + (SIDE - 1) / 2 for k in range(n)]


def _image_axes(fig: go.Figure, columns: list[str], rows: list[str], big: bool) -> None:
    size = fonts(big)
    fig.update_xaxes(
        tickvals=_centres(len(columns)),
        ticktext=columns,
        showgrid=False,
        showline=False,
        constrain="domain",
        tickfont={"size": size["tick"] - 2},
    )
    fig.update_yaxes(
        tickvals=_centres(len(rows)),
        ticktext=rows,
        showgrid=False,
        showline=False,
        autorange="reversed",  # row 0 of an image at the top
        scaleanchor="x",
        constrain="domain",
    )


def thumbnails_figure(
    images: np.ndarray, labels: np.ndarray, *, selected: int | None = None, big: bool = True
) -> go.Figure:
    """Test digits (M, 1, 8, 8) side by side, each named by its label (M,); the ``selected``
    one (a position 0 … M−1) is framed."""
    images = np.asarray(images).reshape(-1, SIDE, SIDE)
    z = mosaic(images[None])
    fig = go.Figure(
        go.Heatmap(
            z=z,
            colorscale=DIGIT_SCALE,
            zmin=0.0,
            zmax=1.0,
            showscale=False,
            hoverinfo="skip",
        )
    )
    base_layout(fig, big=big, legend=False)
    _image_axes(fig, [str(int(v)) for v in labels], [""], big)
    fig.update_yaxes(showticklabels=False)
    if selected is not None and 0 <= selected < len(images):
        x0 = selected * PITCH - 0.5
        fig.add_shape(
            type="rect",
            x0=x0 - 0.3,
            x1=x0 + SIDE + 0.3,
            y0=-0.8,
            y1=SIDE - 0.2,
            line={"color": CLASS_COLORS[3], "width": 3},
        )
    fig.update_layout(meta={"labels": [int(v) for v in labels]})
    return fig


def strip_columns(layers: int, columns: int = MAX_COLUMNS) -> np.ndarray:
    """Which layers a strip draws: at most ``columns`` evenly spaced, always 0 and L."""
    return np.unique(np.rint(np.linspace(0, layers, min(columns, layers + 1))).astype(int))


# Strips of the states x or the momenta a: colour scale, centred at 0, colour-bar title.
STRIP_KINDS = {
    "x": (ACTIVATION_SCALE, False, "x"),
    "a": (MOMENTUM_SCALE, True, "a = ∂ℓ/∂x"),
}


def _strips(maps: DepthMaps, which: str, *, columns: int, big: bool) -> go.Figure:
    """Rows "channel c · net" and "channel c · ODE" of the ``which`` ("x" or "a") maps
    (L + 1, C, 8, 8) at the drawn depths."""
    net, ode, t = getattr(maps, f"{which}_net"), getattr(maps, f"{which}_ode"), maps.t
    colorscale, symmetric, colorbar = STRIP_KINDS[which]
    layers = len(t) - 1
    chosen = strip_columns(layers, columns)
    channels = net.shape[1]
    tiles = np.stack([pair[chosen, c] for c in range(channels) for pair in (net, ode)])
    z = mosaic(tiles)
    finite = z[np.isfinite(z)]
    if symmetric:
        top = float(np.abs(finite).max()) if finite.size else 1.0
        zmin, zmax = -(top or 1.0), top or 1.0
    else:
        zmin, zmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            colorscale=colorscale,
            zmin=zmin,
            zmax=zmax,
            colorbar={"title": {"text": colorbar}, "thickness": 14},
            hovertemplate="%{z:.3g}<extra></extra>",
        )
    )
    base_layout(fig, big=big, legend=False)
    rows = [f"ch {c} · {kind}" for c in range(channels) for kind in ("net", "ODE")]
    _image_axes(fig, [f"{layer}<br>t={t[layer]:.2f}" for layer in chosen], rows, big)
    fig.update_xaxes(title_text="layer l  (time t = l·Δt)")
    fig.update_layout(meta={"layers": chosen.tolist(), "zmin": zmin, "zmax": zmax})
    return fig


def activation_strips_figure(
    maps: DepthMaps, *, columns: int = MAX_COLUMNS, big: bool = True
) -> go.Figure:
    """Per channel, the net's layer states x_l above the ODE's x(t_l), on one colour scale."""
    return _strips(maps, "x", columns=columns, big=big)


def momentum_strips_figure(
    maps: DepthMaps, *, columns: int = MAX_COLUMNS, big: bool = True
) -> go.Figure:
    """Per channel, a_l = ∂ℓ/∂x_l of the net above the ODE's a(t_l), diverging scale centred
    at 0; the note says the momentum flows backwards, from the readout to the input."""
    fig = _strips(maps, "a", columns=columns, big=big)
    note = "◀ computed backwards, from the readout (layer L) to the input (layer 0)"
    paper_note(fig, note, "above left", size=fonts(big)["base"], color=GREY)
    fig.update_layout(margin={"t": fig.layout.margin.t + round(1.8 * fonts(big)["base"])})
    return fig


def hamiltonian_figure(maps: DepthMaps, *, big: bool = True) -> go.Figure:
    """H along depth: the ODE's H(t_l) = a·F and the net's discrete H_l (l < L)."""
    t = np.asarray(maps.t)
    fig = go.Figure(
        [
            go.Scatter(
                x=f32(t),
                y=f32(maps.H_ode),
                mode="lines+markers",
                name="ODE: H = a·F",
                line={"color": INK, "width": 2.5},
                marker={"size": 8},
                hovertemplate="t = %{x:.2f}: H = %{y:.4g}<extra></extra>",
            ),
            go.Scatter(
                x=f32(t[:-1]),
                y=f32(maps.H_net[:-1]),
                mode="markers",
                name="net: Hₗ = aₗ₊₁·(xₗ₊₁ − xₗ)/Δt",
                marker={"size": 10, "color": MOMENTUM_COLOR, "symbol": "square"},
                hovertemplate="t = %{x:.2f}: H = %{y:.4g}<extra></extra>",
            ),
        ]
    )
    base_layout(fig, big=big)
    fig.update_xaxes(title_text="depth t")
    # A wide standoff: the tick labels are long ("0.1055"), and the title must clear them.
    fig.update_yaxes(title_text="H", title_standoff=16, automargin=True)
    return fig


def convergence_figure(conv: Convergence, *, big: bool = True) -> go.Figure:
    """‖x_L − x(T)‖ against L on log-log axes with the fitted power law; the fitted slope is in
    the legend and, as data, in ``layout.meta`` ({"slope", "coefficient"})."""
    n = np.asarray(conv.layers, dtype=np.float64)
    fig = go.Figure(
        go.Scatter(
            x=f32(n),
            y=f32(conv.errors),
            mode="markers",
            name="‖x<sub>L</sub> − x(T)‖",
            marker={"size": 12 if big else 9, "color": INK},
            hovertemplate="L = %{x:.0f}: %{y:.3g}<extra></extra>",
        )
    )
    if math.isfinite(conv.slope):
        span = np.geomspace(n.min(), n.max(), 20)
        fig.add_trace(
            go.Scatter(
                x=f32(span),
                y=f32(conv.coefficient * span**conv.slope),
                mode="lines",
                name=f"fit: slope {slope_text(conv.slope)} (−1 expected)",
                line={"color": GREY, "width": 2, "dash": "dash"},
                hoverinfo="skip",
            )
        )
    base_layout(fig, big=big)
    fig.update_xaxes(
        type="log",
        title_text="layers L  (Δt = T/L)",
        tickvals=[float(v) for v in n],
        ticktext=[str(int(v)) for v in n],
    )
    ticks = log_ticks(conv.errors)
    fig.update_yaxes(
        type="log",
        title_text="largest ‖x<sub>L</sub> − x(T)‖",
        tickvals=ticks,
        ticktext=[f"{v:.3g}" for v in ticks],
    )
    fig.update_layout(meta={"slope": conv.slope, "coefficient": conv.coefficient})
    return fig


def confusion_figure(counts: np.ndarray, *, big: bool = True) -> go.Figure:
    """Counts (10, 10), rows true digit, columns predicted digit, written in their cells."""
    counts = np.asarray(counts)
    digits = [str(k) for k in range(counts.shape[0])]
    fig = go.Figure(
        go.Heatmap(
            z=counts.astype(np.float32),
            x=digits,
            y=digits,
            colorscale=[[0.0, "#ffffff"], [1.0, tint(CLASS_COLORS[0], 0.9)]],
            zmin=0,
            showscale=False,
            texttemplate="%{z:.0f}",
            hovertemplate="true %{y}, predicted %{x}: %{z:.0f}<extra></extra>",
        )
    )
    base_layout(fig, big=big, legend=False)
    # Category axes (the labels are digits, which Plotly would otherwise read as numbers and pad
    # to a linear range); square cells that shrink the plot area rather than widen the range.
    fig.update_xaxes(
        title_text="predicted", side="top", showgrid=False, type="category", constrain="domain"
    )
    fig.update_yaxes(
        title_text="true",
        autorange="reversed",
        showgrid=False,
        type="category",
        scaleanchor="x",
        constrain="domain",
    )
    return fig


def probabilities_figure(prediction: Prediction, *, big: bool = True) -> go.Figure:
    """The ten class probabilities of one digit as bars; the predicted digit's bar in colour."""
    probs = np.asarray(prediction.probabilities)
    colours = [CLASS_COLORS[0] if k == prediction.digit else tint(GREY, 0.6) for k in range(10)]
    fig = go.Figure(
        go.Bar(
            x=[str(k) for k in range(len(probs))],
            y=f32(probs),
            marker={"color": colours},
            hovertemplate="digit %{x}: %{y:.3f}<extra></extra>",
        )
    )
    base_layout(fig, big=big, legend=False)
    fig.update_xaxes(title_text="digit", type="category")
    fig.update_yaxes(title_text="probability", range=[0, 1])
    return fig
