"""The information panel of Layers ↔ Time, for every family: the session model's I(y; x(t)) at
three resolutions (the Trajectories page's panel is checked in test_app_trajectories)."""

from __future__ import annotations

import numpy as np
import pytest
from app_harness import MAX_JSON_BYTES, array, chart_figures, charts_bytes, open_page, texts

from deqnet.analysis.information import depth_information

QUERIES = [
    {"family": "node"},
    {"family": "ruseckas", "mode": "piecewise", "K": "2"},
    {"family": "resnet", "layers": "8"},
    {"family": "feedforward", "layers": "6"},
]


@pytest.mark.parametrize("query", QUERIES, ids=[q["family"] for q in QUERIES])
def test_the_layers_page_shows_the_models_information_along_depth(query) -> None:
    at = open_page("layers", **query)
    at.session_state["layers_tab"] = "Information"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert texts(at.error) == ""
    charts = chart_figures(at, ("layers_information",))
    assert set(charts) == {"layers_information"}
    assert charts_bytes(at) <= MAX_JSON_BYTES
    session = at.session_state["deqnet"]
    assert session.run.model.family == query["family"]
    expected = depth_information(session.model, session.data.x_train, session.data.y_train)
    lines = [tr for tr in charts["layers_information"]["data"] if tr["mode"] == "lines+markers"]
    for line, row in zip(lines, expected.information, strict=True):
        np.testing.assert_allclose(array(line["x"]), expected.t, rtol=1e-6)
        np.testing.assert_allclose(array(line["y"]), row, rtol=1e-6, atol=1e-7)
    assert "invertible" in texts(at.markdown)
