"""The Layers ↔ Time page in AppTest: every family, every tab, within the chart budgets.

Runs are small (80 points, a budget of 8 training steps): what is checked holds for any weights.
The layer dots are checked against the model itself (the network it cuts at L layers).
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from app_harness import APP, TIMEOUT, texts  # noqa: F401
from streamlit.testing.v1 import AppTest

from deqnet.analysis import network_of
from ui.state import memo_peek

PAGE = "app_pages/layers.py"
TABS = ("Layers on the path", "Convergence as L grows", "Weights near the identity")
WEBGL = {"scattergl", "scatter3d", "heatmapgl", "surface", "mesh3d"}
MAX_JSON_BYTES = 2_000_000
MAX_WEBGL_CHARTS = 4
DTYPES = {"f4": np.float32, "f8": np.float64, "i1": np.int8, "i2": np.int16, "i4": np.int32}


def _open(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in {"n": "80", "budget": "8", **query}.items():
        at.query_params[key] = value
    at.switch_page(PAGE)
    return at.run()


def _tab(at: AppTest, name: str, timeout: float = TIMEOUT) -> AppTest:
    at.session_state["layers_tab"] = name
    return at.run(timeout=timeout)


def _charts(at: AppTest) -> dict[str, dict]:
    """Figure dicts of the page's charts by widget key (the key ends the element id)."""
    charts = {}
    for element in at.get("plotly_chart"):
        key = element.proto.id.split("-", 2)[-1]
        charts[key] = json.loads(element.proto.spec)
    return charts


def _ok(at: AppTest, keys: set[str]) -> dict[str, dict]:
    """A clean run showing exactly the charts ``keys`` within the budgets."""
    assert not at.exception, [e.message for e in at.exception]
    assert texts(at.error) == ""
    charts = _charts(at)
    assert set(charts) == keys
    assert sum(len(json.dumps(fig)) for fig in charts.values()) <= MAX_JSON_BYTES
    webgl = [k for k, fig in charts.items() if WEBGL & {tr.get("type") for tr in fig["data"]}]
    assert len(webgl) <= MAX_WEBGL_CHARTS
    return charts


def _array(value) -> np.ndarray:
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=DTYPES[value["dtype"]])
    return np.asarray(value, dtype=np.float64)


def _layer_dots(fig: dict) -> np.ndarray:
    """All layer dots (M, 2) of the overlay."""
    traces = [tr for tr in fig["data"] if tr.get("name", "").startswith("layers, class")]
    return np.concatenate([np.stack([_array(tr["x"]), _array(tr["y"])], 1) for tr in traces])


@pytest.mark.parametrize(
    "query",
    [
        {"family": "node", "mode": "time"},
        {"family": "ruseckas", "mode": "piecewise", "K": "3"},
        {"family": "resnet", "layers": "8"},
        {"family": "feedforward", "layers": "12", "mode": "piecewise", "K": "12"},
    ],
    ids=["node", "ruseckas", "resnet", "feedforward"],
)
def test_every_family_lands_its_layers_on_the_ode_paths(query: dict[str, str]) -> None:
    at = _open(**query)
    charts = _ok(at, {"layers_overlay", "layers_timeline"})
    session = at.session_state["deqnet"]
    run = session.run.model
    assert run.family == query["family"] and session.steps_done > 0
    layers = at.select_slider(key="layers_L").value
    assert layers == (run.layers if run.discrete else 10)
    assert ("reverse direction" in texts(at.info)) == run.discrete
    # The dots are the layer states of the network the model is cut into (its own, if discrete).
    dots = _layer_dots(charts["layers_overlay"])
    net = network_of(session.model, layers)
    x = session.data.x_train
    states = net.layer_states(net.lift(x)).detach().numpy()[..., :2].reshape(-1, 2)
    gaps = np.abs(dots[:, None, :] - states[None]).max(axis=2).min(axis=1)
    assert len(dots) == 40 * (layers + 1) and np.all(gaps < 1e-4)

    at.select_slider(key="layers_L").set_value(40).run()
    charts = _ok(at, {"layers_overlay", "layers_timeline"})
    assert len(_layer_dots(charts["layers_overlay"])) == 40 * 41


@pytest.mark.parametrize("query", [{"family": "node"}, {"family": "feedforward"}])
def test_convergence_and_weight_tabs(query: dict[str, str]) -> None:
    at = _open(**query)
    charts = _ok(_tab(at, TABS[1]), {"layers_convergence", "layers_accuracy"})
    # First order: the fitted slopes of the study the page memoised for this model version.
    study = memo_peek(at.session_state["deqnet"], "layers_convergence")
    assert study is not None
    fits = (study.state_fit, study.adjoint_fit)
    assert all(slope == pytest.approx(-1.0, abs=0.15) for slope, _ in fits)
    # The chart draws that study: its dashed lines are the fitted power laws c L^slope.
    lines = [tr for tr in charts["layers_convergence"]["data"] if tr["mode"] == "lines"]
    assert len(lines) == 2
    for line, (slope, coef) in zip(lines, fits, strict=True):
        n = _array(line["x"]).astype(np.float64)
        np.testing.assert_allclose(_array(line["y"]), coef * n**slope, rtol=1e-4)

    feedforward = query["family"] == "feedforward"
    keys = {"layers_weights", "layers_activation"} if feedforward else {"layers_weights"}
    charts = _ok(_tab(at, TABS[2]), keys)
    title = charts["layers_weights"]["layout"]["yaxis"]["title"]["text"]
    assert ("Wₗ" in title) == feedforward
    if not feedforward:
        assert at.button(key="layers_weights_feedforward-near-identity")
