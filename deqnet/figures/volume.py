"""How the flow stretches or squeezes the plane: mean divergence of F and the log-volume change."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deqnet.figures.style import INK, LIGHT_GREY, base_layout, f32


def volume_figure(
    t: np.ndarray,
    mean_div: np.ndarray,
    log_volume: np.ndarray,
    *,
    volume_legend: str | None = None,
    big: bool = False,
) -> go.Figure:
    """Mean divergence Tr dF/dx (top) and log-volume change (bottom) against t, zero lines drawn.

    Args:
        t: (K,) times.
        mean_div: (K,) mean over the points of the divergence of F at each time.
        log_volume: (K,) log-volume change from t = 0, or (K, N) per point (its mean over the
            points is drawn, which is the integral of the mean divergence).
        volume_legend: a legend entry for the log-volume curve (for figures that add more
            curves to the bottom panel); None: no entry.

    Negative divergence squeezes the cloud (volume shrinks), positive spreads it.
    """
    t = np.asarray(t, dtype=np.float64)
    log_volume = np.asarray(log_volume, dtype=np.float64)
    if log_volume.ndim == 2:
        log_volume = log_volume.mean(axis=1)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1)
    volume_name = volume_legend or "log volume change"
    for row, values, name, hover in (
        (1, mean_div, "mean div F", "mean div F = %{y:.3g}"),
        (2, log_volume, volume_name, "log V(t)/V(0) = %{y:.3g}"),
    ):
        fig.add_trace(
            go.Scatter(
                x=f32(t),
                y=f32(values),
                mode="lines+markers" if len(t) <= 12 else "lines",
                name=name,
                line={"color": INK, "width": 2.5},
                hovertemplate=f"t = %{{x:.2f}}<br>{hover}<extra></extra>",
                showlegend=row == 2 and volume_legend is not None,
            ),
            row=row,
            col=1,
        )
        fig.add_hline(y=0, line={"color": LIGHT_GREY, "width": 1.5, "dash": "dot"}, row=row, col=1)
    base_layout(fig, big=big, legend=False)
    fig.update_yaxes(title_text="mean div F", row=1, col=1)
    fig.update_yaxes(title_text="log V(t)/V(0)", row=2, col=1)
    fig.update_xaxes(title_text="t (depth)", row=2, col=1)
    if len(t):
        fig.update_xaxes(range=[float(t[0]), float(t[-1])])
    return fig
