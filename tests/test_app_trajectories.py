"""The Trajectories page in AppTest: every family draws its flow, within the chart budgets.

Runs are small (80 points, a budget of 8 training steps): what is checked holds for any weights.
The animation is checked against the model itself: its first frame shows training inputs and
its last frame shows where ``model.flow`` sends exactly those inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from app_harness import (
    MAX_JSON_BYTES,
    WEBGL,
    array,
    chart_figures,
    charts_bytes,
    open_page,
    texts,
)
from streamlit.testing.v1 import AppTest

from deqnet.analysis.information import entropy_bits, mutual_information
from deqnet.analysis.readout import readout_direction

TABS = ("Paths over the vector field", "3-D views", "Divergence and volume", "Information")
CHART_KEYS = (
    "traj_animation",
    "traj_paths",
    "traj_coords",
    "traj_paths3d",
    "traj_features",
    "traj_volume",
    "traj_readout",
    "traj_information",
)
MAX_WEBGL_CHARTS = 4
COORD_ROUNDING = 5e-4  # the animation sends coordinates rounded to 3 decimals


def _open(**query: str) -> AppTest:
    return open_page("trajectories", **query)


def _ok(at: AppTest, tab_charts: set[str]) -> dict[str, dict]:
    """Assert a clean run showing the animation and exactly ``tab_charts`` in the open tab,
    within the budgets; return the charts."""
    assert not at.exception, [e.message for e in at.exception]
    assert texts(at.error) == ""
    charts = chart_figures(at, CHART_KEYS)
    assert set(charts) == {"traj_animation"} | tab_charts
    assert charts_bytes(at) <= MAX_JSON_BYTES
    webgl = [k for k, fig in charts.items() if WEBGL & {tr.get("type") for tr in fig["data"]}]
    assert len(webgl) <= MAX_WEBGL_CHARTS
    return charts


def _points(traces: list[dict]) -> list[np.ndarray]:
    """(n_k, 2) points of each class trace (every marker trace after the grid)."""
    return [np.stack([array(tr["x"]), array(tr["y"])], axis=1) for tr in traces[1:]]


def _tab(at: AppTest, name: str) -> AppTest:
    at.session_state["traj_tab"] = name
    return at.run()


def _check_animation(at: AppTest, fig: dict) -> None:
    session = at.session_state["deqnet"]
    model, data = session.model, session.data
    frames = fig["frames"]
    steps = fig["layout"]["sliders"][0]["steps"]
    assert len(frames) == len(steps) >= 2
    assert {tr["type"] for frame in frames for tr in frame["data"]} == {"scatter"}
    if model.config.discrete:
        assert len(frames) == model.config.layers + 1  # one frame per layer state
        assert steps[-1]["label"].startswith(f"layer {model.config.layers}")
    first, last = _points(frames[0]["data"]), _points(frames[-1]["data"])
    for k, (start, end) in enumerate(zip(first, last, strict=True)):
        assert len(start) > 0
        # Frame 0 shows training inputs of class k (coordinates travel rounded to 1e-3).
        gaps = np.abs(start[:, None, :] - data.x_train[None]).max(axis=2)
        rows = gaps.argmin(axis=1)
        assert np.all(gaps.min(axis=1) <= COORD_ROUNDING)
        assert np.all(data.y_train[rows] == k)
        # The last frame shows where the model sends exactly those inputs.
        with torch.no_grad():
            x_t = model.flow(model.lift(torch.as_tensor(data.x_train[rows])))[:, :2].numpy()
        np.testing.assert_allclose(end, x_t, rtol=0, atol=COORD_ROUNDING + 1e-5)


@pytest.mark.parametrize(
    "query",
    [
        {"family": "node", "mode": "time"},
        {"family": "ruseckas"},
        {"family": "resnet"},
        {"family": "feedforward", "layers": "6"},
        {"family": "node", "augment": "1", "dataset": "concentric"},
    ],
    ids=["node", "ruseckas", "resnet", "feedforward", "node-augment"],
)
def test_every_family_draws_its_flow_within_the_budgets(query: dict[str, str]) -> None:
    at = _open(**query)
    charts = _ok(at, {"traj_paths", "traj_coords"})
    _check_animation(at, charts["traj_animation"])
    assert "quiver" in {tr["type"] for tr in charts["traj_paths"]["data"]}
    augment = at.session_state["deqnet"].run.model.augment
    assert augment == int(query.get("augment", 0))

    views = {"traj_paths3d", "traj_readout"} | ({"traj_features"} if augment else set())
    charts = _ok(_tab(at, TABS[1]), views)
    _check_readout_line(at, charts["traj_readout"])
    assert {tr["type"] for tr in charts["traj_paths3d"]["data"]} == {"scatter3d"}
    if augment:
        assert {tr["type"] for tr in charts["traj_features"]["data"]} == {"scatter3d"}
    else:
        assert at.button(key="traj_augment") and at.button(key="traj_preset")

    volume = _ok(_tab(at, TABS[2]), {"traj_volume"})["traj_volume"]
    t, exact = (array(volume["data"][1][axis]) for axis in ("x", "y"))
    assert t[0] == 0 and t[-1] == pytest.approx(at.session_state["deqnet"].run.model.T)
    assert exact[0] == 0  # log-volume change is measured from t = 0


def test_the_field_snapshot_follows_the_time_slider_and_the_button_adds_a_dimension() -> None:
    at = _open(family="node", mode="time")
    slider = at.select_slider(key="traj_time")
    assert slider.value == 0.0
    slider.set_value(at.session_state["deqnet"].run.model.T).run()
    paths = _ok(at, {"traj_paths", "traj_coords"})["traj_paths"]
    # The marker traces (not their legend keys, which are single empty points in the legend).
    traces = {
        tr.get("name"): tr
        for tr in paths["data"]
        if tr["type"] == "scatter" and tr.get("mode") == "markers" and tr.get("showlegend") is False
    }
    now, end = traces["x(t) at t = 1.00"], traces["end (t = T)"]
    # At t = T the marked states are the end points of the paths.
    for axis in ("x", "y"):
        np.testing.assert_array_equal(array(now[axis]), array(end[axis]))

    _tab(at, TABS[1]).button(key="traj_augment").click().run()
    session = at.session_state["deqnet"]
    assert session.run.model.augment == 1 and session.model.config.augment == 1
    assert session.steps_done > 0  # quick-trained again after the rebuild
    charts = _ok(at, {"traj_paths3d", "traj_features", "traj_readout"})
    assert {tr["type"] for tr in charts["traj_features"]["data"]} == {"scatter3d"}

    info = _ok(_tab(at, TABS[3]), {"traj_information"})["traj_information"]
    _check_information(at, info)


def _check_readout_line(at: AppTest, fig: dict) -> None:
    """The rows are the model's own final states projected on its readout direction."""
    session = at.session_state["deqnet"]
    with torch.no_grad():
        x_final = session.model.flow(session.model.lift(torch.as_tensor(session.data.x_train)))
    direction = readout_direction(session.model)
    expected = np.sort(np.abs(x_final.double().numpy() @ direction))
    shown = np.concatenate([array(tr["x"]) for tr in fig["data"] if tr.get("mode") == "markers"])
    # Every training point is drawn once (the orientation of the line may flip the sign).
    np.testing.assert_allclose(np.sort(np.abs(shown)), expected, rtol=1e-5, atol=1e-5)


def _check_information(at: AppTest, fig: dict) -> None:
    """Three resolutions of I(y; x(t)) under the H(y) ceiling, starting at the inputs' value."""
    data = at.session_state["deqnet"].data
    lines = [tr for tr in fig["data"] if tr.get("mode") == "lines+markers"]
    bins = fig["layout"]["meta"]["bins"]
    assert len(lines) == len(bins) == 3 and bins == sorted(bins)
    h_y = fig["layout"]["meta"]["h_y"]
    assert h_y == pytest.approx(entropy_bits(data.y_train))
    for line, b in zip(lines, bins, strict=True):
        values = array(line["y"])
        assert np.all(values <= h_y + 1e-6)
        assert values[0] == pytest.approx(
            mutual_information(data.x_train, data.y_train, b), abs=1e-6
        )
