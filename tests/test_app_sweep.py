"""The Sweep page in AppTest: a tiny grid trains, renders, survives a page switch, and a cell
opens in the Playground with its own settings. Bad values give messages, never tracebacks.

Runs are tiny (64 points, 2 x 2 cells, 10 steps); AppTest cannot click a Plotly chart, so the
heatmap click is covered by the browser test.
"""

from __future__ import annotations

import json
import re

import numpy as np
import torch
from app_harness import APP, TIMEOUT, texts  # noqa: F401
from streamlit.testing.v1 import AppTest

import ui.sweep_live as sweep_live
from deqnet import build_model, evaluate, make_dataset
from ui.state import use_custom_data

PAGE = "app_pages/sweep.py"


def _open(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in {"n": "64", **query}.items():
        at.query_params[key] = value
    at.switch_page(PAGE)
    return at.run()


def _axes(at: AppTest, rows: str, cols: str) -> AppTest:
    """Pick the swept settings (their value pickers appear on the next run)."""
    at.selectbox(key="sweep_rows").set_value(rows)
    at.selectbox(key="sweep_cols").set_value(cols)
    return at.run()


def _tiny_sweep(at: AppTest) -> AppTest:
    """lr {0.01, 0.1} x seed {0, 1}, 10 steps per cell."""
    _axes(at, "lr", "seed")
    at.text_input(key="sweep_values_lr").input("0.01, 0.1")
    at.text_input(key="sweep_values_seed").input("0, 1")
    at.select_slider(key="sweep_steps").set_value(10)
    return at.button(key="sweep_run").click().run()


def _charts(at: AppTest) -> dict[str, dict]:
    return {
        el.proto.id.rsplit("-", 1)[-1]: json.loads(el.proto.spec) for el in at.get("plotly_chart")
    }


def _errors(at: AppTest) -> str:
    """The page's error messages without markdown escapes."""
    return texts(at.error).replace("\\", "")


def _clean(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert texts(at.error) == ""


def test_a_tiny_sweep_renders_its_grid_and_heatmaps_and_survives_a_page_switch() -> None:
    at = _tiny_sweep(_open())
    _clean(at)
    result = at.session_state["sweep_store"].result
    assert result.shape == (2, 2) and result.steps == 10
    charts = _charts(at)
    assert set(charts) == {"sweep_heat", "sweep_boundaries"}
    heat = charts["sweep_heat"]
    (accuracy,) = [tr for tr in heat["data"] if tr["type"] == "heatmap"]  # "Grid shows"
    assert heat["layout"]["yaxis"]["ticktext"] == ["0.01", "0.1"]
    assert heat["layout"]["xaxis"]["ticktext"] == ["0", "1"]
    # The accuracy shown is that of each cell's trained model on its test points.
    for i, cell in enumerate(result.cells):
        expected = evaluate(cell.model, cell.data)["test_acc"]
        assert accuracy["text"][i // 2][i % 2] == f"{100 * expected:.0f}%"
    # Finished: every cell has its value, and the live grid with its placeholders is gone.
    assert all(text for row in accuracy["text"] for text in row)
    assert "cells trained:" not in " ".join(md.value for md in at.markdown)
    panels = [tr for tr in charts["sweep_boundaries"]["data"] if tr["type"] == "heatmap"]
    assert len(panels) == 4
    assert len({(tr["xaxis"], tr["yaxis"]) for tr in panels}) == 4
    # Rows named beside the first column; a panel's title names its column and its accuracy.
    layout = charts["sweep_boundaries"]["layout"]
    assert [layout[a]["title"]["text"] for a in ("yaxis", "yaxis3")] == ["lr 0.01", "lr 0.1"]
    assert [a["text"].split(":")[0] for a in layout["annotations"]] == ["seed 0", "seed 1"] * 2
    at.selectbox(key="sweep_metric").set_value("nfe").run()  # another metric, not retrained
    nfe = next(tr for tr in _charts(at)["sweep_heat"]["data"] if tr["type"] == "heatmap")
    assert nfe["text"] == [
        [
            f"{cell.nfe / 1e3:.3g}k" if cell.nfe >= 1e3 else str(cell.nfe)
            for cell in result.cells[r * 2 : r * 2 + 2]
        ]
        for r in range(2)
    ]
    assert at.session_state["sweep_store"].result is result

    at.switch_page("app_pages/playground.py").run()
    at.switch_page(PAGE).run()
    _clean(at)
    assert at.session_state["sweep_store"].result is result  # kept, not retrained
    assert set(_charts(at)) == {"sweep_heat", "sweep_boundaries"}
    assert at.text_input(key="sweep_values_lr").value == "0.01, 0.1"  # the pickers too


def test_open_in_playground_loads_the_cells_settings_untrained() -> None:
    at = _tiny_sweep(_open())
    cell = at.session_state["sweep_store"].result.cell(lr=0.1, seed=1)
    at.selectbox(key="sweep_cell").set_value(3)
    at.button(key="sweep_open").click().run()
    _clean(at)
    assert "Opened the sweep cell lr 0.1 · seed 1" in texts(at.info)
    assert at.button(key="pg_train")  # the Playground is showing
    assert at.sidebar.select_slider(key="lr").value == 0.1
    assert at.sidebar.number_input(key="seed").value == 1
    assert at.sidebar.select_slider(key="budget").value == 10
    session = at.session_state["deqnet"]
    assert session.run == cell.spec.run_config and session.steps_done == 0
    fresh = build_model(cell.spec.model_config, cell.data.n_classes, seed=1).state_dict()
    weights = session.model.state_dict()
    assert all(torch.equal(weights[k], fresh[k]) for k in fresh)
    np.testing.assert_array_equal(session.data.x_train, cell.data.x_train)


def test_a_cell_trained_on_uploaded_data_opens_with_that_data() -> None:
    at = _open()
    session = at.session_state["deqnet"]
    uploaded = make_dataset("circles", n=48, noise=0.05, test_fraction=0.25, seed=7)
    use_custom_data(session, uploaded)  # what an accepted CSV upload does
    at = _tiny_sweep(at.run())
    _clean(at)
    cell = at.session_state["sweep_store"].result.cell(lr=0.1, seed=1)
    assert cell.spec.run_config is None and cell.data is uploaded
    at.selectbox(key="sweep_cell").set_value(3)
    at.button(key="sweep_open").click().run()
    _clean(at)
    session = at.session_state["deqnet"]
    assert session.custom_data is uploaded and session.data is uploaded
    assert session.run.model == cell.spec.model_config
    assert session.run.train == cell.spec.train_config and session.steps_done == 0
    assert at.sidebar.select_slider(key="lr").value == 0.1


def test_opens_on_model_by_layers_with_a_sketch_of_the_grid_and_its_time() -> None:
    at = _open()
    _clean(at)
    assert (at.selectbox(key="sweep_rows").value, at.selectbox(key="sweep_cols").value) == (
        "family",
        "layers",
    )
    sketch = _charts(at)["sweep_sketch"]
    assert sketch["layout"]["yaxis"]["ticktext"] == ["node", "resnet", "feedforward"]
    assert sketch["layout"]["xaxis"]["ticktext"] == ["2", "5", "10", "20"]
    placeholders = next(tr for tr in sketch["data"] if tr.get("mode") == "text")
    assert len(placeholders["x"]) == 12  # every cell is still to train
    heading = " ".join(md.value for md in at.markdown)
    assert re.search(r"The grid to train: 12 cells, about \d+ s on this server", heading)


def test_bad_values_are_explained_and_disable_the_run_button() -> None:
    at = _axes(_open(), "lr", "seed")
    cases = {
        "0.01, abc": "“abc” is not a number",
        "0.01, 20": "lr=20.0 is out of range",
        "0.01, 0.01": "0.01 is listed twice",
        "1, 2, 3, 4, 5, 6": "6 values; allowed 1 to 5",
        " , ": "enter at least one value",
    }
    for text, message in cases.items():
        at.text_input(key="sweep_values_lr").input(text).run()
        assert not at.exception, [e.message for e in at.exception]
        assert message in _errors(at), (text, _errors(at))
        assert at.button(key="sweep_run").disabled
    at.text_input(key="sweep_values_lr").input("0.01").run()
    at.text_input(key="sweep_values_seed").input("1.5").run()
    assert "Weight seed: “1.5” is not a whole number." in _errors(at)
    at.text_input(key="sweep_values_seed").input("0, 1").run()
    assert _errors(at) == "" and not at.button(key="sweep_run").disabled


def test_a_one_axis_sweep_with_a_diverging_cell_reports_it_and_still_draws() -> None:
    # The paper's linear ODE with T = 10, lr = 10 and no clipping blows up within two steps.
    at = _axes(_open(family="ruseckas", T="10", gamma="0", clip="0"), "lr", "")
    at.text_input(key="sweep_values_lr").input("0.01, 10")
    at.select_slider(key="sweep_steps").set_value(10)
    at.button(key="sweep_run").click().run()
    _clean(at)
    result = at.session_state["sweep_store"].result
    assert result.shape == (2,) and [c.status for c in result.cells] == ["ok", "diverged"]
    assert "1 of 2 cells diverged (lr 10)" in texts(at.warning).replace("\\", "")
    heat = _charts(at)["sweep_heat"]
    accuracy = next(tr for tr in heat["data"] if tr["type"] == "heatmap")
    assert heat["layout"]["yaxis"]["ticktext"] == ["0.01", "10"] and len(accuracy["x"]) == 1
    assert accuracy["text"][1][0].endswith("diverged")


def test_a_sweep_stopped_at_the_time_limit_says_so_and_leaves_no_half_filled_grid(
    monkeypatch,
) -> None:
    # The page's deadline, shortened: the timer cancels the executor whatever it is doing.
    shorter = sweep_live.deadline
    monkeypatch.setattr(sweep_live, "deadline", lambda executor, seconds: shorter(executor, 0.05))
    at = _axes(_open(), "lr", "seed")
    at.text_input(key="sweep_values_lr").input("0.01, 0.1")
    at.text_input(key="sweep_values_seed").input("0, 1")
    at.select_slider(key="sweep_steps").set_value(500)
    at.button(key="sweep_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Stopped with 0 of 4 cells done; the limit on this shared server is 120 s" in _errors(at)
    assert "sweep_store" not in at.session_state
    assert "cells trained:" not in " ".join(md.value for md in at.markdown)
    assert set(_charts(at)) == {"sweep_sketch"}
