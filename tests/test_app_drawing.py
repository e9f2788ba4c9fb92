"""The Playground's data-set thumbnails and drawn points, through the app (AppTest).

AppTest runs no JavaScript: a thumbnail click is ``ui.thumbnails.pick`` and a click on the chart
is the "draw" state the panel sends, given to ``ui.drawing.apply_edits`` as its callback does
(the browser side is in tests/browser/test_drawing_browser.py).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from app_harness import start, texts

from deqnet.sharing import DrawnPoints, decode_points, encode_points, on_grid
from ui.drawing import MAX_EDITS, apply_edits, use_drawing
from ui.shared_cache import shared_cache
from ui.state import DATA_RESET_NOTE, Drawing
from ui.thumbnails import pick, thumbnails

SMALL = {"n": "80", "budget": "8"}


def _components(at) -> dict[str, dict]:
    """The page's components' data by key."""
    return {
        el.proto.id.rsplit("-", 1)[-1]: json.loads(el.proto.json) for el in at.get("bidi_component")
    }


def _thumbs(at) -> dict | None:
    return next((d for d in _components(at).values() if "items" in d), None)


def _panel(at) -> dict:
    return next(d for d in _components(at).values() if "figures" in d)


def _size(session) -> int:
    return session.data.n_train + session.data.n_test


def _add(number: int, x: float, y: float, c: int = 0) -> dict:
    return {"id": number, "op": "add", "x": x, "y": y, "c": c}


# --------------------------------------------------------------------------------------------
# Thumbnails
# --------------------------------------------------------------------------------------------


def test_thumbnails_show_every_data_set_and_the_current_one() -> None:
    at = start(**SMALL, dataset="spiral", classes="3")
    thumbs = _thumbs(at)
    assert [item["name"] for item in thumbs["items"]] == [
        "moons", "circles", "concentric", "spiral", "xor", "gaussians"
    ]  # fmt: skip
    assert thumbs["current"] == "spiral"
    spiral = thumbs["items"][3]["svg"]
    assert spiral.startswith("<svg") and spiral.count("<path") == 3  # one path per class
    assert sum(len(item["svg"]) for item in thumbs["items"]) < 20_000
    assert "<script" not in "".join(item["svg"] for item in thumbs["items"])


def test_thumbnails_are_drawn_once_per_server() -> None:
    first = thumbnails(0.1, 2, "classification")
    computed = shared_cache().computed
    assert thumbnails(0.1, 2, "classification") is first
    assert thumbnails(0.1000001, 2, "classification") is first
    assert shared_cache().computed == computed


def test_a_thumbnail_chooses_the_data_set_as_the_sidebar_does() -> None:
    at = start(**SMALL)
    session = at.session_state["deqnet"]
    pick(session, "xor")
    at.run()
    assert session.run.data.name == "xor" and session.data.name == "xor"
    assert at.query_params["dataset"] == "xor"
    assert at.sidebar.selectbox(key="dataset").value == "xor"
    assert DATA_RESET_NOTE in texts(at.info)
    assert _thumbs(at)["current"] == "xor"


@pytest.mark.parametrize("name", ["nope", None, 3, ["xor"], "<script>", "XOR"])
def test_a_thumbnail_pick_that_is_not_a_data_set_is_ignored(name) -> None:
    at = start(**SMALL)
    session = at.session_state["deqnet"]
    pick(session, name)
    at.run()
    assert not at.exception and session.run.data.name == "moons"


def test_classroom_mode_hides_thumbnails_and_drawing_with_the_data_set() -> None:
    at = start(**SMALL, classroom="1", hide="dataset")
    assert _thumbs(at) is None
    assert _panel(at)["draw"] is None
    shown = start(**SMALL, classroom="1", hide="lr")
    assert _thumbs(shown) is not None and _panel(shown)["draw"]["classes"]


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------


def test_three_clicks_add_three_points_and_the_link_carries_them() -> None:
    at = start(**SMALL)
    session = at.session_state["deqnet"]
    edits = [_add(1, 0.5, 1.7, 1), _add(2, -0.123, 1.9, 1), _add(3, 1.0, -1.5, 0)]
    apply_edits(session, {"ops": edits})
    apply_edits(session, {"ops": edits})  # sent again (a page run merged): applied once
    at.run()
    assert not at.exception
    assert _size(session) == 83 and session.data.name == "drawn"
    assert session.steps_done == 0  # the data changed: the model was reset
    draw = _panel(at)["draw"]
    assert draw["applied"] == 3 and draw["count"].startswith("83 points: ")
    assert "reset to its initial weights" in draw["message"]
    drawn = decode_points(at.query_params["pts"])
    assert len(drawn) == 83
    assert drawn.x[-3:].tolist() == on_grid([[0.5, 1.7], [-0.12, 1.9], [1.0, -1.5]]).tolist()
    assert drawn.y[-3:].tolist() == [1, 1, 0]
    # The chart shows every drawn point (a new one may be a test point).
    boundary = json.loads(_panel(at)["figures"]["boundary"])
    assert {t["name"] for t in boundary["data"] if t["type"].startswith("scatter")} >= {
        "class 0 test"
    }


def test_a_click_on_a_point_removes_it_and_clear_waits_for_enough_points() -> None:
    at = start(**SMALL)
    session = at.session_state["deqnet"]
    x, y = (float(v) for v in on_grid(session.data.x_train[:1])[0])
    apply_edits(session, {"ops": [{"id": 1, "op": "remove", "x": x + 0.01, "y": y}]})
    assert _size(session) == 79
    apply_edits(session, {"ops": [{"id": 2, "op": "clear"}]})
    at.run()
    assert len(session.drawing.points) == 0
    assert at.button(key="pg_train").disabled and at.button(key="pg_step").disabled
    assert "at least 8" in _panel(at)["draw"]["message"]
    assert at.query_params["pts"]  # an empty drawing is still a drawing
    edits = [_add(3 + i, 0.2 * i, 0.1 * i, i % 2) for i in range(8)]
    apply_edits(session, {"ops": edits})
    at.run()
    assert not at.button(key="pg_train").disabled
    assert _size(session) == 8 and set(session.data.y_test.tolist()) == {0, 1}


HOSTILE = [
    None, "ops", [], {"ops": "x"}, {"ops": [1, 2]}, {"ops": [{"op": "add"}]},
    {"ops": [_add(1, 0.1, 0.2)] * (MAX_EDITS + 1)},
    {"ops": [{**_add(1, 0.1, 0.2), "id": "1"}]}, {"ops": [{**_add(1, 0.1, 0.2), "id": True}]},
    {"ops": [_add(0, 0.1, 0.2)]}, {"ops": [_add(-5, 0.1, 0.2)]},
    {"ops": [_add(1, math.nan, 0.2)]}, {"ops": [_add(1, math.inf, 0.2)]},
    {"ops": [_add(1, 10.5, 0.2)]}, {"ops": [_add(1, "0.1", 0.2)]},
    {"ops": [_add(1, True, 0.2)]}, {"ops": [_add(1, 0.1, 0.2, 2)]},
    {"ops": [_add(1, 0.1, 0.2, -1)]}, {"ops": [_add(1, 0.1, 0.2, 0.5)]},
    {"ops": [{"id": 1, "op": "explode"}]}, {"ops": [{"id": 1, "op": "remove", "x": 9, "y": 9}]},
]  # fmt: skip


def test_what_the_browser_sends_is_checked() -> None:
    at = start(**SMALL)
    session = at.session_state["deqnet"]
    for payload in HOSTILE:
        apply_edits(session, payload)
        assert session.drawing is None and session.data.name == "moons", payload
    at.run()
    assert not at.exception and "pts" not in at.query_params
    # A valid edit among invalid ones is applied alone; an old number is not applied again.
    apply_edits(session, {"ops": [_add(1, math.nan, 0), _add(2, 0.3, 0.3, 1), _add(2, 1, 1)]})
    assert _size(session) == 81


def test_a_drawn_link_opens_the_same_points_and_split() -> None:
    at = start(**SMALL)
    session = at.session_state["deqnet"]
    apply_edits(session, {"ops": [_add(1, 0.5, 1.7, 1)]})
    at.run()
    link = dict(at.query_params)
    other = start(**link)
    twin = other.session_state["deqnet"]
    assert not other.exception and not other.warning
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(twin.data, name), getattr(session.data, name)), name


def test_a_bad_drawn_link_is_refused_with_the_usual_notice() -> None:
    at = start(**SMALL, pts="AQIK!!<script>")
    assert "Some settings in the link were changed" in texts(at.warning)
    assert "pts" in texts(at.warning) and "<script>" not in texts(at.warning)
    assert at.session_state["deqnet"].drawing is None
    assert at.session_state["deqnet"].data.name == "moons"


def test_a_drawing_too_large_for_a_link_says_so_and_offers_the_csv() -> None:
    at = start(**SMALL)
    session = at.session_state["deqnet"]
    rng = np.random.default_rng(0)
    points = DrawnPoints(on_grid(rng.uniform(-2, 2, (1001, 2))), rng.integers(0, 2, 1001), 2)
    session.drawing = Drawing(points)
    use_drawing(session)
    at.run()
    assert "pts" not in at.query_params
    assert "more than a link carries" in texts(at.warning)
    assert "download them as CSV" in _panel(at)["draw"]["message"]
    assert at.get("download_button")  # the data (CSV) among the downloads
    assert len(encode_points(DrawnPoints(points.x[:1000], points.y[:1000], 2))) < 6000
