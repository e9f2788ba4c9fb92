"""The information panel shared by Trajectories and Layers ↔ Time: I(y; x(t)) along depth."""

from __future__ import annotations

import streamlit as st

from deqnet.analysis.information import PANEL_BINS, depth_information
from deqnet.figures.information import information_figure
from ui.show import chart, classes_only, unless_solver_fails
from ui.state import Session, memo

EXPLANATION = (
    "How much the hidden state tells about the label, I(y; x(t)), measured by cutting the state "
    "space into a grid of equal cells ({bins} per coordinate, over the points' bounding box "
    "at each depth) and counting labels per cell. A flow is invertible: the state at any depth "
    "holds all the input held, and on the fine grid, where almost every point has a cell of its "
    "own, the line stays on the ceiling H(y). Learning shows at finite resolution: on the coarse "
    "grids the classes start mixed in the same cells, and as training separates them the "
    "coarse lines climb towards H(y) with depth. A fine line that dips means the network "
    "squeezed points of different classes closer than one fine cell — a strong contraction — "
    "or, for a coarse discrete network, folded the plane so that they land in the same place, "
    "which no invertible flow can do: information lost is lost for good (the data-processing "
    "inequality)."
)


def information_panel(session: Session, key: str) -> None:
    """I(y; x(t)) of the training points for the session's model, with its explanation; one
    line instead for regression (information in bits counts labels per cell)."""
    if classes_only(session, "Information in bits, I(y; x(t)),"):
        return
    with unless_solver_fails("the information along depth cannot be computed"):
        info = memo(
            session,
            "information",
            lambda: depth_information(session.model, session.data.x_train, session.data.y_train),
        )
        fig = information_figure(info.t, info.information, info.bins, info.h_y, big=True)
        chart(fig, key=key, height=420)
    *coarser, finest = PANEL_BINS
    st.markdown(EXPLANATION.format(bins=f"{', '.join(map(str, coarser))} or {finest}"))
