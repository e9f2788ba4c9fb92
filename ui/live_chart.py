"""Live charts that update in place: a custom component (v2) that drives Plotly.js itself.

``st.plotly_chart`` gives a chart a new element id whenever its figure changes (Streamlit 1.67),
so the browser unmounts and re-creates every live chart on every tick: the chart blanks, the
user's zoom is lost and most of the browser's time goes into rebuilding. Here a chart is sent
whole once (the same ``go.Figure`` the builders make, so it looks like every other figure), and
then each tick sends only what changed (``deqnet.figures.live``): the decision grid as uint8,
the new history records, the preview's paths. ``ui/live_chart.js`` applies them with
``Plotly.react`` to the same DOM node.

plotly.js comes from plotly.py's own package data, copied into ``static/`` and served by
Streamlit's static file serving (``server.enableStaticServing``): nothing is fetched from the
internet, and the browser caches it. The old path stays behind one switch:
``DEQNET_LIVE_CHARTS=plotly`` (AppTest cannot run a component's JavaScript), and a browser in
which the component fails (plotly.js cannot be loaded) reports it and gets the old charts.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly
import plotly.graph_objects as go
import streamlit as st

from deqnet.figures.live import curves_extension
from ui.live import full_run
from ui.show import PLOTLY_CONFIG, chart
from ui.state import Session, note

_LOG = logging.getLogger("deqnet.ui")
ENV_LIVE_CHARTS = "DEQNET_LIVE_CHARTS"  # "component" (default) or "plotly"
APP_DIR = Path(__file__).resolve().parents[1]
STATIC_PLOTLY = APP_DIR / "static" / "plotly.min.js"
PACKAGE_PLOTLY = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# Each tick sends at least the last this many history records (a few seconds of training).
HISTORY_WINDOW = 256
FALLBACK_NOTE = (
    "The live charts could not start in this browser ({reason}); the Playground shows "
    "standard charts instead (they redraw fully on every update)."
)


def install_plotly_js() -> bool:
    """Copy plotly.py's plotly.min.js to ``static/`` (once per version); False if impossible.

    Written to a temporary name and renamed, so a browser never gets half a file.
    """
    try:
        if STATIC_PLOTLY.exists() and STATIC_PLOTLY.stat().st_size == PACKAGE_PLOTLY.stat().st_size:
            return True
        STATIC_PLOTLY.parent.mkdir(exist_ok=True)
        partial = STATIC_PLOTLY.with_suffix(f".{os.getpid()}.part")
        shutil.copyfile(PACKAGE_PLOTLY, partial)
        partial.replace(STATIC_PLOTLY)
        return True
    except OSError:
        _LOG.exception("cannot install plotly.js for the live charts; using st.plotly_chart")
        return False


_COMPONENT = st.components.v2.component(
    "deqnet_live_chart",
    js=(Path(__file__).with_name("live_chart.js")).read_text(encoding="utf-8"),
    # Plotly.js puts its styles (hover labels, mode bar) in the document head: no shadow root.
    isolate_styles=False,
)
_READY = install_plotly_js()


def component_enabled(session: Session) -> bool:
    """Whether this session's live charts use the component (else ``st.plotly_chart``)."""
    wanted = os.environ.get(ENV_LIVE_CHARTS, "component").strip().lower() != "plotly"
    return wanted and _READY and not session.live.fallback


def _plotly_url() -> str:
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/app/static/plotly.min.js" if base else "/app/static/plotly.min.js"


@dataclass
class _Sent:
    """What a chart in the browser holds: figure ``base`` (epoch ``epoch``), picture
    ``picture`` and ``count`` history records, updated last ``at`` (time.monotonic())."""

    epoch: int
    base: Hashable
    picture: Hashable
    count: int
    at: float


@dataclass(frozen=True)
class LiveChart:
    """One live chart: how to build it whole and how to update it.

    Attributes:
        key: the element key (``st-key-<key>``), also the chart's name in the session.
        height: in px.
        figure: builds the whole figure for the current state (``go.Figure``).
        base: identifies what ``figure`` builds on besides the picture and history (data,
            view flags, the trainer): when it changes the chart is sent whole.
        picture: identifies the current picture (model and step); ``restyle`` runs when it
            changes and returns (restyles, relayout) for ``deqnet.figures.live``.
        history: the records drawn (curves), or None.
        shading: a decision boundary: the browser paints its shading traces on a canvas.
        min_interval: least seconds between two updates sent (and two Plotly redraws in the
            browser): the curves and the preview need not follow every tick.
    """

    key: str
    height: int
    figure: Callable[[], go.Figure]
    base: Hashable
    picture: Hashable = None
    restyle: Callable[[], tuple[list[dict[str, Any]], dict[str, Any]]] | None = None
    history: list | None = None
    shading: bool = False
    min_interval: float = 0.0


def show_live_chart(session: Session, spec: LiveChart) -> None:
    """Draw ``spec`` with the component (in place) or, switched off, with ``st.plotly_chart``."""
    if not component_enabled(session):
        chart(spec.figure(), key=spec.key, height=spec.height)
        return
    sent_all: dict[str, _Sent] = session.live.sent
    sent = sent_all.get(spec.key)
    count = len(spec.history) if spec.history is not None else 0
    data: dict[str, Any] = {
        "plotly_url": _plotly_url(),
        "height": spec.height,
        "min_interval_ms": round(1000 * spec.min_interval),
    }
    rebase = (
        full_run()  # the component may have been re-created
        or sent is None
        or sent.base != spec.base
        or count < sent.count  # history restarted
        or (sent.count == 0 and count > 0)  # the empty-curves note must go
    )
    if rebase:
        epoch = sent.epoch + 1 if sent else 1
        fig = spec.figure()
        fig.update_layout(height=spec.height)
        data.update(figure=fig.to_json(), count=count, shading=spec.shading)
        sent = _Sent(epoch, spec.base, spec.picture, count, time.monotonic())
    elif time.monotonic() - sent.at >= spec.min_interval:
        if spec.restyle is not None and spec.picture != sent.picture:
            restyle, relayout = spec.restyle()
            data.update(restyle=restyle, relayout=relayout)
            sent.picture, sent.at = spec.picture, time.monotonic()
        if spec.history is not None and count > sent.count:
            # Not only the records since the last tick: the browser may have missed a tick's
            # data (Streamlit drops a run's unsent output when the next run starts, and the
            # browser draws only the newest of two quick updates). It skips what it has.
            start = max(0, min(sent.count, count - HISTORY_WINDOW))
            data["extend"] = curves_extension(spec.history, start)
            sent.count, sent.at = count, time.monotonic()
    sent_all[spec.key] = sent
    session.live.seq += 1
    data.update(epoch=sent.epoch, seq=session.live.seq, config=PLOTLY_CONFIG)
    _COMPONENT(
        key=spec.key,
        data=data,
        height="content",
        on_resync_change=lambda: sent_all.pop(spec.key, None),
        on_failed_change=lambda: _fall_back(session, spec.key),
    )


def _fall_back(session: Session, key: str) -> None:
    """The component could not start in this browser: use st.plotly_chart from now on."""
    state = st.session_state.get(key)
    reason = state.get("failed") if isinstance(state, Mapping) else None
    reason = str(reason or "unknown reason")[:200]
    if not session.live.fallback:
        session.live.fallback = True
        note(session, FALLBACK_NOTE.format(reason=reason))
