"""Uniform display helpers: Plotly charts, user-facing messages and the friendly error guard."""

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

from deqnet.sharing import safe_text

_LOG = logging.getLogger("deqnet.ui")

PLOTLY_CONFIG: dict[str, Any] = {"displaylogo": False, "displayModeBar": "hover"}


def chart(fig: go.Figure, key: str, *, height: int | None = None) -> None:
    """Show a Plotly figure with our own template (theme=None) at full container width."""
    if height is not None:
        fig.update_layout(height=height)
    st.plotly_chart(fig, key=key, theme=None, width="stretch", config=PLOTLY_CONFIG)


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
