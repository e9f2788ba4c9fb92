"""The Playground's live panel as one browser component fed by the frame stream.

Every page run mounts the same component (``ui/live_panel.js``) with the figures the builders
make for the session's current state, the status and metrics texts, and the session's stream
token; between page runs the component reads frames from ``ui.live_route`` and redraws itself,
so live training costs no Streamlit reruns at all. It asks for a page run only when the state
changes: the trainer stopped the session ("stopped"), the token must be renewed ("token"), the
stream cannot be used in this browser ("failed": the page then polls, ``ui.live``), points
were drawn on the boundary chart ("draw": numbered edits, applied by ``ui.drawing``), or a panel
of the depth strip was clicked ("strip": its index; Trajectories opens at that depth).

plotly.js is served from ``static/`` (``ui.plotly_js``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from deqnet.analysis.strip import strip_depths
from deqnet.figures.style import band_color, class_color
from deqnet.live import metric_texts, status_text
from deqnet.live.frames import strip_payload
from deqnet.live.picture import Picture
from deqnet.live.status import metric_labels
from deqnet.sharing.text import safe_text
from ui.drawing import apply_edits
from ui.live_route import PATH, TOKENS
from ui.pages import switch_to
from ui.plotly_js import install_plotly_js
from ui.show import PLOTLY_CONFIG
from ui.state import Session, note

OPEN_DEPTH = "open_depth"  # a strip click's depth, for Trajectories to open at
# The panel falls back to polling when its socket has not opened after this long.
FALLBACK_MS = 3000
FALLBACK_NOTE = (
    "The live stream could not start in this browser ({reason}); the Playground updates by "
    "reloading its panel instead, which is slower."
)
METRIC_HELP = {
    "nfe": "Evaluations of the vector field (or layers) in the forward / backward pass. "
    "Backward is 0 with backprop (autograd reuses the forward pass); the adjoint method "
    "solves a second ODE backwards.",
    "test-accuracy": "Classification: the share of test points given their class. Regression: "
    "R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)² on the test points: 1 is a perfect fit, 0 no better than "
    "predicting the mean.",
    "ms-per-step": "Training time per step. Sessions that train the same kind of model at once "
    "share one stacked computation, so in a class each one's share is smaller.",
}


_COMPONENT = st.components.v2.component(
    "deqnet_live_panel",
    js=(Path(__file__).with_name("live_panel.js")).read_text(encoding="utf-8"),
    # Plotly.js puts its styles (hover labels, mode bar) in the document head: no shadow root.
    isolate_styles=False,
)
_READY = install_plotly_js()  # already done by the launcher; AppTest has none


def stream_unavailable(session: Session) -> str:
    """Why this session's panel cannot stream ("" if it can): switched off, or it failed."""
    if os.environ.get("DEQNET_LIVE", "stream").strip().lower() == "ticks":
        return "DEQNET_LIVE=ticks"
    if not _READY:
        return "plotly.js could not be installed"
    return session.stream.fallback


def _base_path() -> str:
    return str(st.get_option("server.baseUrlPath") or "").strip("/")


def _plotly_url() -> str:
    base = _base_path()
    return f"/{base}/app/static/plotly.min.js" if base else "/app/static/plotly.min.js"


# The module Streamlit's page runs on its first ``st.plotly_chart`` (4.7 MB), as the installed
# Streamlit names it (None if this version names it differently). The panel has the browser run
# it while the reader looks at the Playground: measured in headless Chromium, the first page with
# charts opened after it otherwise spent 1.6–2 s on it.
_CHART_CODE = next(
    iter(sorted((Path(st.__file__).parent / "static" / "static" / "js").glob("PlotlyChart.*.js"))),
    None,
)


def _chart_code_url() -> str:
    """Where the browser finds ``_CHART_CODE`` ("" when it was not found)."""
    if _CHART_CODE is None:
        return ""
    base = _base_path()
    return f"/{base}/static/js/{_CHART_CODE.name}" if base else f"/static/js/{_CHART_CODE.name}"


def _token(session: Session) -> str:
    """The session's stream token (made on first use, and again when the panel asks)."""
    if not session.stream.token:
        renew_token(session)
    TOKENS.update_view(session.stream.token, session.link.view)
    return session.stream.token


def renew_token(session: Session) -> None:
    """A new token for the session; the old one stops working (its socket closes)."""
    ctx = get_script_run_ctx()
    connection = ctx.session_id if ctx else None
    session.stream.token = TOKENS.issue(session, connection, session.link.view)


def live_panel(
    session: Session,
    *,
    figures: Mapping[str, go.Figure],
    heights: Mapping[str, int],
    grid_step: int,
    draw: Mapping | None = None,
    picture: Picture | None = None,
) -> None:
    """Mount the panel with ``figures`` ("boundary", "curves", "preview") drawn ``heights`` px
    high; ``grid_step``: the training step the boundary's grid shows; ``draw``: what its tools
    for drawing points need (``ui.drawing.panel_data``), or None for no tools; ``picture``: the
    picture those figures show, whose depth strip the panel draws until frames bring newer."""
    history = session.trainer.history[:]
    budget = session.budget
    task = session.data.task
    data = {
        "token": _token(session),
        "path": PATH,
        "base": _base_path(),
        "plotly_url": _plotly_url(),
        "chart_code_url": _chart_code_url(),
        "fallback_ms": FALLBACK_MS,
        "figures": {name: fig.to_json() for name, fig in figures.items()},
        "heights": dict(heights),
        "serial": session.trainer.serial,
        "step": len(history),
        "grid_step": grid_step,
        "budget": budget,
        "running": session.live.running,
        "status": status_text(
            len(history), budget, running=session.live.running, diverged=session.diverged
        ),
        "metrics": metric_texts(history, budget, task),
        "metric_labels": [
            [name, label, METRIC_HELP.get(name)] for name, label in metric_labels(task).items()
        ],
        "config": PLOTLY_CONFIG,
        "draw": draw,
        "strip": _strip(picture),
    }
    result = _COMPONENT(
        key="pg_live",
        data=data,
        height="content",
        on_stopped_change=lambda: None,  # a page run is all it asks for
        on_token_change=lambda: renew_token(session),
        on_failed_change=lambda: _fall_back(session),
        on_draw_change=lambda: _drawn(session),
        on_strip_change=lambda: None,  # read from the result below
    )
    depth = _clicked_depth(session, getattr(result, "strip", None))
    if depth is not None:
        st.session_state[OPEN_DEPTH] = depth
        switch_to("trajectories")


def _strip(picture: Picture | None) -> dict | None:
    """The depth strip for the page's data: the frame's strip header, its arrays as flat lists
    with their shapes, and the class colours."""
    if picture is None or picture.strip is None:
        return None
    header, arrays = strip_payload(picture)
    n_classes = int(picture.labels.max()) + 1 if len(picture.labels) else 1
    palette = class_color if picture.value_range is None else band_color
    return {
        **header,
        "step": picture.step,
        "serial": picture.serial,
        "colors": [palette(k) for k in range(n_classes)],
        "arrays": {
            name: {"shape": list(a.shape), "values": a.ravel().tolist()}
            for name, a in arrays.items()
        },
    }


def _clicked_depth(session: Session, index: object) -> float | None:
    """The depth of the strip panel the browser says was clicked (its index, checked like
    everything the browser sends), or None."""
    times, _ = strip_depths(session.run.model)
    if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(times):
        return float(times[index])
    return None


def requested_depth() -> float | None:
    """The depth a strip click asked Trajectories to open at (taken once), or None."""
    return st.session_state.pop(OPEN_DEPTH, None)


def _drawn(session: Session) -> None:
    """The browser's drawing edits (checked by ``ui.drawing``, as everything it sends)."""
    state = st.session_state.get("pg_live")
    apply_edits(session, state.get("draw") if isinstance(state, Mapping) else None)


def _fall_back(session: Session) -> None:
    """The stream could not be used in this browser: poll from now on, and say so once."""
    state = st.session_state.get("pg_live")
    reason = state.get("failed") if isinstance(state, Mapping) else None
    reason = safe_text(reason or "unknown reason", limit=120)  # the browser's words: made inert
    if not session.stream.fallback:
        session.stream.fallback = reason
        note(session, FALLBACK_NOTE.format(reason=reason))
