"""I(y; x(t)) along depth at several resolutions, with the label entropy H(y) as the ceiling."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from deqnet.figures.style import GREY, INK, base_layout, level_line, styled_series

# Neutral ink (never a class colour): coarse to fine resolution, solid to dotted.
RESOLUTION_STYLES = (
    {"color": INK, "dash": "solid"},
    {"color": "#5A5A5A", "dash": "dash"},
    {"color": "#8C8C8C", "dash": "dot"},
)


def information_figure(
    t: np.ndarray,
    information: np.ndarray,
    bins_list: Sequence[int],
    h_y: float,
    *,
    big: bool = True,
) -> go.Figure:
    """Lines of I(y; x(t)) in bits against depth t (K,), one per resolution:
    ``information`` (len(bins_list), K), with H(y) = ``h_y`` bits as a dashed ceiling."""
    t = np.asarray(t, dtype=np.float64)
    fig = go.Figure()
    for k, (bins, row) in enumerate(zip(bins_list, information, strict=True)):
        style = RESOLUTION_STYLES[k % len(RESOLUTION_STYLES)]
        hover = f"{bins} bins, t = %{{x:.2f}}: %{{y:.3f}} bits<extra></extra>"
        fig.add_trace(styled_series(t, row, f"{bins} bins per coordinate", style, 7, hover))
    fig.add_trace(
        level_line(
            t,
            h_y,
            name=f"H(y) = {h_y:.2f} bits (ceiling)",
            line={"color": GREY, "dash": "dash", "width": 2},
            hoverinfo="skip",
        )
    )
    base_layout(fig, big=big)
    fig.update_xaxes(title_text="depth t")
    fig.update_yaxes(title_text="I(y; x(t))  [bits]", rangemode="tozero")
    fig.update_layout(meta={"h_y": float(h_y), "bins": [int(b) for b in bins_list]})
    return fig
