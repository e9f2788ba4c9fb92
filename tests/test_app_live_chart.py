"""The Playground's live charts through the component (AppTest sees the data it sends).

AppTest cannot run the component's JavaScript (tests/browser/test_playground_browser.py does);
here the data is checked: a whole figure on a full run, then only compact updates on ticks, and
the fallback to ``st.plotly_chart`` when the component cannot start.
"""

from __future__ import annotations

import json
import time

import pytest
from app_harness import start, texts

import ui.live_chart
from deqnet.figures.live import decode_array
from ui.live_chart import FALLBACK_NOTE, _fall_back

SMALL = {"n": "64", "budget": "25"}
KEYS = ("pg_boundary", "pg_curves", "pg_paths")


def _sent(at) -> dict[str, dict]:
    """The data each live chart got in the last run, by key."""
    return {el.proto.id.rsplit("-", 1)[-1]: json.loads(el.proto.json) for el in _components(at)}


def _components(at):
    return list(at.get("bidi_component"))


def test_a_full_run_sends_each_chart_whole() -> None:
    at = start(**SMALL)
    at.button(key="pg_step").click().run()
    assert not at.exception and not at.get("plotly_chart")
    sent = _sent(at)
    assert set(sent) == set(KEYS)
    boundary = json.loads(sent["pg_boundary"]["figure"])
    assert [t["type"] for t in boundary["data"][:2]] == ["heatmap", "contour"]
    assert sent["pg_boundary"]["shading"] is True
    assert sent["pg_curves"]["count"] == 1  # the curves hold the one record so far
    assert sent["pg_boundary"]["plotly_url"].endswith("/app/static/plotly.min.js")
    assert all(data["height"] > 0 for data in sent.values())


def test_ticks_send_only_what_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    at = start(**SMALL)
    at.button(key="pg_step").click().run()
    first = _sent(at)
    monkeypatch.setattr(ui.live_chart, "full_run", lambda: False)  # as in a fragment tick
    time.sleep(0.6)  # the curves and the preview are updated at most every 0.4 and 0.5 s
    at.button(key="pg_step").click().run()
    tick = _sent(at)
    for key in KEYS:
        assert "figure" not in tick[key]
        assert tick[key]["epoch"] == first[key]["epoch"] and tick[key]["seq"] > first[key]["seq"]
    (heat, contour) = tick["pg_boundary"]["restyle"]
    assert (heat["trace"], contour["trace"]) == (0, 1)
    z = decode_array(heat["value"])
    assert heat["value"]["dtype"] == "u1" and z.shape == (100, 100)
    assert 0.0 <= z.min() <= z.max() <= 1.0
    assert len(json.dumps(tick["pg_boundary"])) < 40_000  # vs ~160 kB for the whole figure
    # The newest records, with an overlap the browser skips (it may have missed a tick).
    extend = tick["pg_curves"]["extend"]
    assert (extend["from"], extend["count"]) == (0, 2)
    assert decode_array(extend["x"]).tolist() == [1.0, 2.0]
    assert len(tick["pg_paths"]["restyle"]) == 2 * len(
        json.loads(first["pg_paths"]["figure"])["data"]
    )
    at.run()  # nothing new: no restyle, no extension, same epoch
    idle = _sent(at)
    assert all("restyle" not in idle[k] and "extend" not in idle[k] for k in KEYS)


def test_a_browser_without_the_component_gets_plotly_charts() -> None:
    at = start(**SMALL)
    session = at.session_state["deqnet"]
    _fall_back(session, "pg_boundary")
    at.run()
    assert not _components(at) and len(at.get("plotly_chart")) == 3
    assert FALLBACK_NOTE.split("(")[0] in texts(at.warning) + texts(at.info)


def test_the_switch_turns_the_component_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEQNET_LIVE_CHARTS", "plotly")
    at = start(**SMALL)
    assert not _components(at) and len(at.get("plotly_chart")) == 3
