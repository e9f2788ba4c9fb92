"""Training curves: loss (log scale) above accuracy, sharing the step axis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deqnet.figures.style import SPLIT_STYLE, base_layout, f32

if TYPE_CHECKING:
    from deqnet.training import StepRecord

# A live chart redraws every tick: beyond this many steps, plot an even subsample (always
# including the latest step).
MAX_CURVE_POINTS = 2000
EMPTY_MESSAGE = "press Train to start"


def curve_indices(n: int, limit: int = MAX_CURVE_POINTS) -> np.ndarray:
    """Indices of at most ``limit`` evenly spread records of n, first and last included."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


def curves_figure(
    history: Sequence[StepRecord], *, budget: int = 100, big: bool = False
) -> go.Figure:
    """Loss (train, log y, a label at each power of ten) and accuracy (train solid, test
    dashed, in %) against the step.

    ``history`` holds records with ``.step``, ``.loss``, ``.train_acc``, ``.test_acc``; an empty
    history gives empty axes over steps 0 … ``budget`` with a "press Train" note in the loss
    panel.
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1)
    keep = curve_indices(len(history))
    rows = [history[i] for i in keep]
    step = f32([r.step for r in rows])
    curves = (
        (1, "train", [r.loss for r in rows], "loss %{y:.4g}"),
        (2, "train", [r.train_acc for r in rows], "train %{y:.1%}"),
        (2, "test", [r.test_acc for r in rows], "test %{y:.1%}"),
    )
    shown = set()
    for row, split, values, hover in curves:
        style = SPLIT_STYLE[split]
        fig.add_trace(
            go.Scatter(
                x=step,
                y=f32(values),
                mode="lines",
                name=split,
                legendgroup=split,
                showlegend=split not in shown,
                line={"color": style["color"], "dash": style["dash"], "width": 2.5},
                hovertemplate=f"{hover}<extra></extra>",
            ),
            row=row,
            col=1,
        )
        shown.add(split)
    base_layout(fig, big=big)
    fig.update_layout(hovermode="x unified")
    # dtick 1: labels at the decades only (the "2" and "5" between them collide on a short axis).
    fig.update_yaxes(title_text="loss", type="log", exponentformat="power", dtick=1, row=1, col=1)
    fig.update_yaxes(title_text="accuracy", range=[0, 1.03], tickformat=".0%", row=2, col=1)
    fig.update_xaxes(title_text="step", row=2, col=1)
    if not rows:
        # Empty axes would autorange to nonsense; show the budget's frame and say what to do,
        # inside the loss panel (between the panels it read as an axis title).
        fig.update_xaxes(range=[0, budget])
        fig.update_yaxes(range=[-2, 1], row=1, col=1)
        fig.add_annotation(
            text=EMPTY_MESSAGE,
            xref="x domain",
            yref="y domain",
            x=0.5,
            y=0.5,
            showarrow=False,
            font={"size": 20 if big else 16, "color": "#6E6E6E"},
        )
    return fig
