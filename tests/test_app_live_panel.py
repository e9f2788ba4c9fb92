"""The Playground's streamed live panel as the script sends it (AppTest runs no JavaScript:
the browser side is in tests/browser/test_playground_live_browser.py)."""

from __future__ import annotations

import json

from app_harness import start

from ui.live_panel import renew_token
from ui.live_route import TOKENS


def _panels(at) -> list:
    """The live panel's elements (the page's other component is the data-set picker)."""
    return [element for element in at.get("bidi_component") if element.key == "pg_live"]


def _panel(at) -> dict:
    (element,) = _panels(at)
    return json.loads(element.proto.json)


def test_the_panel_gets_figures_texts_and_a_secret_token_and_nothing_polls() -> None:
    at = start(n="80", budget="8")
    data = _panel(at)
    assert len(data["token"]) >= 40 and data["path"] == "_deq/live"
    assert set(data["figures"]) == {"boundary", "curves", "preview"}
    boundary = json.loads(data["figures"]["boundary"])
    assert {t["type"] for t in boundary["data"]} >= {"heatmap", "contour"}
    assert data["metrics"]["step"] == "0 / 8" and data["status"].startswith("Ready")
    assert not at.get("progress") and not at.metric and not at.get("plotly_chart")
    session = at.session_state["deqnet"]
    assert session.stream.token == data["token"]
    # A page run keeps the token; the panel's request for a new one revokes the old one.
    at.run()
    assert _panel(at)["token"] == data["token"]
    renew_token(session)
    assert session.stream.token != data["token"]
    assert TOKENS.claim(data["token"], object())[0] is None  # the old token opens nothing


def test_training_needs_a_watcher_a_page_run_alone_trains_nothing() -> None:
    at = start(n="80", budget="8")
    at.button(key="pg_train").click().run()
    session = at.session_state["deqnet"]
    assert session.live.running and _panel(at)["status"].startswith("Training")
    at.run()
    assert session.steps_done == 0  # no socket, no polling tab: nobody watches


def test_a_browser_whose_stream_failed_gets_the_polling_panel() -> None:
    at = start(n="80", budget="8")
    at.session_state["deqnet"].stream.fallback = "the live stream did not open in time"
    at.run()
    assert not _panels(at)
    assert at.get("progress") and at.metric and len(at.get("plotly_chart")) == 3
