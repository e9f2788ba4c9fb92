"""Training curves: loss (log scale) above accuracy (regression: R²), sharing the step axis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deqnet.figures.style import SPLIT_STYLE, base_layout, f32

if TYPE_CHECKING:
    from deqnet.datasets import Dataset
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


def test_spread(data: Dataset) -> float | None:
    """The test targets' variance mean((y - ȳ)²) of a regression data set (what turns test R²
    into test loss, ``curves_figure``), or None for classification."""
    if data.task != "regression":
        return None
    y = data.y_test.astype(np.float64)
    return float(((y - y.mean()) ** 2).mean())


def curves_figure(
    history: Sequence[StepRecord],
    *,
    budget: int = 100,
    big: bool = False,
    test_spread: float | None = None,
) -> go.Figure:
    """Loss (train, log y, a label at each power of ten) and accuracy (train solid, test
    dashed, in %) against the step.

    ``history`` holds records with ``.step``, ``.loss``, ``.train_acc``, ``.test_acc``; an empty
    history gives empty axes over steps 0 … ``budget`` with a "press Train" note in the loss
    panel.

    Regression (``test_spread`` given: the test targets' variance mean((y - ȳ)²)): the lower
    panel is R², and the loss panel also has the test loss, a fourth trace, from the identity
    MSE = (1 - R²) · mean((y - ȳ)²) (the records hold test R², not test loss); the spread is
    in ``layout.meta.test_spread`` so the live panel extends that curve the same way.
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1)
    keep = curve_indices(len(history))
    rows = [history[i] for i in keep]
    step = f32([r.step for r in rows])
    regression = test_spread is not None
    score = "R² %{y:.3f}" if regression else "%{y:.1%}"
    curves = [
        (1, "train", [r.loss for r in rows], "loss %{y:.4g}"),
        (2, "train", [r.train_acc for r in rows], f"train {score}"),
        (2, "test", [r.test_acc for r in rows], f"test {score}"),
    ]
    if regression:
        test_loss = [(1.0 - r.test_acc) * test_spread for r in rows]
        curves.append((1, "test", test_loss, "test loss %{y:.4g}"))
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
    if regression:
        # R² starts anywhere below 1 (a fresh model is often far below 0): the top of the
        # range is what matters.
        fig.update_yaxes(title_text="R²", range=[-0.5, 1.03], row=2, col=1)
        fig.update_layout(meta={"test_spread": float(test_spread)})
    else:
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
