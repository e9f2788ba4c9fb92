"""The Momentum page in AppTest: every family renders its charts; the checks hold their tolerances.

Runs are kept small (80 points, a budget of 8 training steps): the page's numbers are identities
that hold for any weights, trained or not.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from app_harness import MAX_JSON_BYTES, array, chart_figures, open_page, texts
from streamlit.testing.v1 import AppTest

from ui.state import memo_peek

CHART_KEYS = ("mom_pick", "mom_paths", "mom_phase", "mom_energy", "mom_field")
# Paper notes §7: what a correct float64 tight solve reaches, in the order of run_checks.
TOLERANCES = {
    "adjoint ODE a(0) = autograd": 1e-6,
    "H = a·F conserved": 1e-6,
    "H(T) = dL/dT": 1e-4,
    "Liouville": 1e-6,
    "∫ a ∂F/∂θ dt = autograd": 1e-6,
}


def _open(**query: str) -> AppTest:
    return open_page("momentum", **query)


def _assert_page_ok(at: AppTest) -> dict[str, dict]:
    assert not at.exception, [e.message for e in at.exception]
    assert "Something went wrong" not in texts(at.error)
    assert texts(at.error) == ""
    found = chart_figures(at, CHART_KEYS)
    assert set(found) == set(CHART_KEYS)
    assert sum(len(json.dumps(fig)) for fig in found.values()) < MAX_JSON_BYTES
    return found


def _energy_text(charts: dict[str, dict]) -> str:
    return charts["mom_energy"]["layout"]["annotations"][0]["text"]


@pytest.mark.parametrize(
    ("query", "behaviour"),
    [
        ({"family": "node", "mode": "piecewise"}, "stepwise"),
        ({"family": "node", "mode": "time"}, "drifts"),
        ({"family": "ruseckas"}, "flat"),
        ({"family": "resnet"}, "O(Δt)"),
        ({"family": "feedforward", "mode": "piecewise", "K": "5"}, "stepwise"),
    ],
)
def test_every_family_shows_its_momentum_charts(query: dict[str, str], behaviour: str) -> None:
    at = _open(**query)
    charts = _assert_page_ok(at)
    assert behaviour in _energy_text(charts)
    session = at.session_state["deqnet"]
    assert session.run.model.family == query["family"] and session.steps_done > 0
    types = {trace["type"] for trace in charts["mom_paths"]["data"]}
    assert types == {"scatter", "quiver"}
    if session.run.model.discrete:
        assert "discrete adjoint" in texts(at.info)
        assert at.button(key="mom_preset_backprop-hamiltonian")  # the exact ODE case, one click


def test_autonomous_node_checks_hold_to_the_paper_tolerances() -> None:
    at = _open(family="node")
    charts = _assert_page_ok(at)
    assert "flat" in _energy_text(charts)
    # H along the solver grid of a float32 rk4 solve: flat far beyond what the eye sees.
    flat = re.search(r"change ≤ (\S+),<br>", _energy_text(charts))
    assert flat and float(flat.group(1)) < 1e-3

    at.button(key="mom_run_checks").click().run()
    assert not at.exception, [e.message for e in at.exception]
    shown = "\n".join(m.value for m in at.markdown)
    assert "5 of 5 hold" in shown
    checks = memo_peek(at.session_state["deqnet"], "mom_checks")
    assert len(checks) == len(TOLERANCES)
    rendered = [float(v) for v in re.findall(r"error \*\*(\S+)\*\*", shown)]
    assert len(rendered) == len(TOLERANCES)
    for check, (phrase, tolerance), error in zip(checks, TOLERANCES.items(), rendered, strict=True):
        assert phrase in check.name
        assert check.status == "pass"
        assert check.error <= tolerance and error <= tolerance, (check.name, check.error)
        assert check.proves
    liouville = checks[3]
    assert "x alone" in liouville.note  # the x-only volume change is shown next to det = 1


def test_pick_6_points_follows_six_random_training_points_numbered_1_to_6() -> None:
    at = _open(family="node")
    _assert_page_ok(at)
    at.button(key="mom_random").click().run()
    charts = _assert_page_ok(at)
    assert at.checkbox(key="mom_defaults").value is False  # the random points replace them
    rows = at.session_state["mom_random_rows"]
    assert len(rows) == 6 == len(set(rows))
    start = next(tr for tr in charts["mom_paths"]["data"] if tr.get("name") == "start x(0)")
    assert start["customdata"] == [str(i) for i in range(1, 7)]
    x_train = at.session_state["deqnet"].data.x_train
    drawn = np.array(sorted(zip(array(start["x"]), array(start["y"]), strict=True)))
    np.testing.assert_allclose(drawn, np.array(sorted(map(tuple, x_train[rows]))), atol=1e-5)
    at.button(key="mom_random_clear").click().run()
    assert "mom_random_rows" not in at.session_state
