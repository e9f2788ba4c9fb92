"""The final features along the readout direction: one row of dots per class, ordered by class."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from deqnet.figures.style import INK, base_layout, class_color, f32

if TYPE_CHECKING:
    from deqnet.analysis.readout import ReadoutLine

# A deterministic vertical jitter inside each class's row, so dots at one position stay visible.
_JITTER = 0.28


def readout_line_figure(line: ReadoutLine, *, big: bool = False) -> go.Figure:
    """Each point's position s = d·x(T) along the readout direction d, one row per class.

    Classes are stacked bottom-up in the order of their mean position, so a network that has
    laid its final features along a line shows the rows shifted step by step. For two classes the
    position where the logits are equal is drawn as a dashed line.
    """
    fig = go.Figure()
    rng = np.random.default_rng(0)
    order = [int(k) for k in line.order if not np.isnan(line.class_means[k])]
    for row, k in enumerate(order):
        s = line.position[line.labels == k]
        fig.add_trace(
            go.Scatter(
                x=f32(s),
                y=f32(row + rng.uniform(-_JITTER, _JITTER, size=s.shape)),
                mode="markers",
                name=f"class {k}",
                marker={"color": class_color(k), "size": 7 if big else 5, "opacity": 0.7},
                hovertemplate=f"class {k}: s = %{{x:.3f}}<extra></extra>",
            )
        )
    if line.boundary is not None:
        fig.add_vline(x=line.boundary, line={"color": INK, "dash": "dash", "width": 1.5})
    base_layout(fig, big=big)
    fig.update_xaxes(title_text="position along the readout direction, d·x(T)")
    fig.update_yaxes(
        tickmode="array",
        tickvals=list(range(len(order))),
        ticktext=[f"class {k}" for k in order],
        range=[-0.6, len(order) - 0.4],
        showgrid=False,
    )
    fig.update_layout(uirevision="readout-line")
    return fig
