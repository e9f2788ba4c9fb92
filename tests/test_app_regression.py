"""AppTest of regression: the sidebar's task switch, the Playground's R² and output shading,
and the pages that need classes saying so in one line."""

from __future__ import annotations

import json

import pytest
from app_harness import open_page, start, texts

SMALL = {"n": "64", "budget": "25"}


@pytest.fixture(autouse=True)
def _polling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEQNET_LIVE", "ticks")  # Streamlit metrics and charts, not the stream


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_the_task_switch_changes_the_data_sets_on_offer() -> None:
    at = start(**SMALL)
    assert at.radio(key="sb_task").value == "classification"
    assert "plane" not in at.selectbox(key="dataset").options
    at.radio(key="sb_task").set_value("regression").run()
    assert not at.exception
    assert at.selectbox(key="dataset").value == "plane"
    assert [o.lower() for o in at.selectbox(key="dataset").options] == ["plane", "bumps"]
    assert at.session_state["deqnet"].data.task == "regression"
    at.radio(key="sb_task").set_value("classification").run()
    assert at.selectbox(key="dataset").value == "moons"


def test_a_regression_link_opens_with_the_task_and_shows_r2() -> None:
    at = start(dataset="bumps", **SMALL)
    assert at.radio(key="sb_task").value == "regression"
    at.button(key="pg_step").click().run()
    assert not at.exception
    assert float(_metric(at, "Test R²")) <= 1.0
    assert not any(m.label == "Test accuracy" for m in at.metric)
    boundary = json.loads(at.get("plotly_chart")[0].proto.spec)
    heat = next(t for t in boundary["data"] if t["type"] == "heatmap")
    assert heat["showscale"] and heat["zmin"] == -heat["zmax"]  # a colour bar, symmetric range
    assert not any(t["type"] == "contour" for t in boundary["data"])
    points = [t for t in boundary["data"] if t["type"].startswith("scatter")]
    assert len(points) == 1 and points[0]["marker"]["cmin"] == heat["zmin"]


def test_topology_says_its_demos_are_about_classes() -> None:
    at = open_page("topology", dataset="plane")
    assert not at.exception
    assert "Topology's demos are about classes" in texts(at.info)


@pytest.mark.parametrize(("page", "tabs"), [("layers", "layers_tab"), ("trajectories", "traj_tab")])
def test_information_says_it_needs_classes(page: str, tabs: str) -> None:
    at = open_page(page, dataset="plane")
    at.session_state[tabs] = "Information"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Information in bits" in texts(at.info)
    assert not any("information" in el.proto.id for el in at.get("plotly_chart"))


@pytest.mark.parametrize(("page", "chart"), [("trajectories", "traj_animation"), ("momentum", "")])
def test_trajectories_and_momentum_colour_points_by_target_with_a_colour_bar(
    page: str, chart: str
) -> None:
    at = open_page(page, dataset="bumps")
    assert not at.exception, [e.message for e in at.exception]
    assert texts(at.error) == ""
    figures = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    figures = [
        f for f, el in zip(figures, at.get("plotly_chart"), strict=True) if chart in el.proto.id
    ]

    def target_bar(figure: dict) -> bool:
        bars = [t["marker"] for t in figure["data"] if t.get("marker", {}).get("showscale")]
        return any(bar["colorbar"]["title"]["text"] == "target" for bar in bars)

    with_bars = [f for f in figures if target_bar(f)]
    assert with_bars
    for figure in with_bars:  # the bar reads the targets; class legends would mislead
        assert figure["layout"]["showlegend"] is False


def test_layers_shows_r2() -> None:
    at = open_page("layers", dataset="plane")
    assert not at.exception
    assert any(m.label == "Train R²: network | ODE" for m in at.metric)


def test_a_regression_sweep_shows_r2_and_the_outputs() -> None:
    at = open_page("sweep", dataset="plane", n="64")
    at.selectbox(key="sweep_rows").set_value("lr")
    at.selectbox(key="sweep_cols").set_value("seed")
    at.run()
    at.text_input(key="sweep_values_lr").input("0.01, 0.1")
    at.text_input(key="sweep_values_seed").input("0, 1")
    at.select_slider(key="sweep_steps").set_value(10)
    at.button(key="sweep_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert texts(at.error) == ""
    result = at.session_state["sweep_store"].result
    charts = {
        el.proto.id.rsplit("-", 1)[-1]: json.loads(el.proto.spec) for el in at.get("plotly_chart")
    }
    (heat,) = [t for t in charts["sweep_heat"]["data"] if t["type"] == "heatmap"]
    for i, cell in enumerate(result.cells):  # each cell's test R², as the evaluation gives it
        assert heat["text"][i // 2][i % 2] == f"{cell.metrics['test_acc']:.2f}"
    titles = [a["text"] for a in charts["sweep_boundaries"]["layout"]["annotations"]]
    assert titles[0].endswith(f": {result.cells[0].metrics['test_acc']:.2f}")
    panels = [t for t in charts["sweep_boundaries"]["data"] if t["type"] == "heatmap"]
    assert len(panels) == 4 and not any(t.get("showscale") for t in panels)
    assert "test R² in the titles" in " ".join(md.value for md in at.markdown)
