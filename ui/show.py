"""Uniform display helpers: Plotly charts and their selections, user-facing messages, the
friendly error guards and the texts pages share (the page intro, layer labels)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Imported here, once, before any script thread builds a figure: plotly imports pandas lazily on
# first use, and two sessions building their first figures at once raced that import
# ("partially initialized module 'pandas'", seen in the load test).
import pandas  # noqa: F401
import plotly.graph_objects as go
import streamlit as st

from deqnet import SolverFailure
from deqnet.sharing import safe_text
from ui.state import Session, get_session, presenting, trained_summary

_LOG = logging.getLogger("deqnet.ui")

PLOTLY_CONFIG: dict[str, Any] = {"displaylogo": False, "displayModeBar": "hover"}
# Presentation mode: the tallest chart that fits a 1280×720 projector below Streamlit's header.
PRESENT_MAX_HEIGHT = 540


def chart(fig: go.Figure, key: str, *, height: int | None = None) -> None:
    """Show a Plotly figure with our own template (theme=None) at full container width,
    ``height`` px tall (default: the figure's own), at most ``PRESENT_MAX_HEIGHT`` in
    presentation mode. Never changes ``fig``, which may be shared (``ui.state.memo``)."""
    if presenting(get_session()):
        height = min(height or fig.layout.height or 450, PRESENT_MAX_HEIGHT)
    st.plotly_chart(
        fig,
        key=key,
        theme=None,
        width="stretch",
        height=height if height is not None else "content",
        config=PLOTLY_CONFIG,
    )


def notice(text: str) -> None:
    """A visible, escaped warning (for example, URL values that were clamped)."""
    st.warning(safe_text(text, limit=None), icon=":material/info:")


def error(text: str) -> None:
    """A visible, escaped error message."""
    st.error(safe_text(text, limit=None), icon=":material/error:")


@contextmanager
def guarded(what: str) -> Iterator[None]:
    """Run a page body; an unexpected exception becomes a friendly message, never a traceback.

    Streamlit's rerun/stop signals derive from BaseException, so they pass through untouched.
    """
    try:
        yield
    except Exception:
        _LOG.exception("unexpected error in %s", what)
        st.error(
            f"Something went wrong while showing {what}. Your settings and model are unchanged; "
            "try changing a setting or pressing Reset. (Details are in the server log.)",
            icon=":material/sentiment_dissatisfied:",
        )


def solver_failure(what: str) -> str:
    """The message for weights that make the ODE solver fail: "…, so <what>. Press Reset…"."""
    return (
        f"The current weights make the ODE solver fail on these points, so {what}. Press Reset "
        "in the Playground or relax the solver settings."
    )


@contextmanager
def unless_solver_fails(what: str) -> Iterator[None]:
    """Run a block that solves the model; a ``SolverFailure`` ends it with one error message
    (see :func:`solver_failure`) and the page goes on after the block."""
    try:
        yield
    except SolverFailure:
        error(solver_failure(what))


def page_intro(session: Session) -> None:
    """Which model a page shows (the trained-model caption), and its divergence, if any."""
    st.caption(
        f"{trained_summary(session)}. Train further in the Playground; this page follows the "
        "latest weights."
    )
    if session.diverged:
        notice(session.trainer.message)


def layer_label(t: float, dt: float) -> str:
    """A discrete net's depth t as "layer l (t = 0.40)" (layer l sits at t = l·Δt)."""
    return f"layer {round(t / dt)} (t = {t:.2f})"


def selected_indices(event: Any, limit: int | None = None) -> list[int]:
    """The integers a Plotly chart selection's points carry as customdata, in order.

    ``event`` is what ``st.plotly_chart(..., on_select=...)`` returns (or its session-state
    entry); a point's customdata is an index or a list starting with one. With ``limit``, only
    indices in ``range(limit)`` are kept.
    """
    indices: list[int] = []
    points = event.selection.points if event and "selection" in event else []
    for point in points:
        value = point.get("customdata")
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, int | float) and (limit is None or 0 <= int(value) < limit):
            indices.append(int(value))
    return indices


def classes_only(session: Session, what: str) -> bool:
    """Say in one line that ``what`` needs classes, and return True, when the session's data
    is a regression data set (a real target: no classes to count or colour); else False."""
    if session.data.task != "regression":
        return False
    st.info(
        f"{what} needs classes; with a regression data set it is not shown "
        "(switch the sidebar's Task to Classification to see it).",
        icon=":material/info:",
    )
    return True
