"""The Digits page in AppTest, inside the app's frame: untrained and trained, tied and untied,
every chart drawn. Its model lives in its own session key (``ui.digits_state``), not in the 2-D
session or the sidebar."""

from __future__ import annotations

import base64

import numpy as np
from app_harness import MAX_JSON_BYTES, chart_figures, charts_bytes, open_page, texts
from streamlit.testing.v1 import AppTest

CHART_KEYS = (
    "digits_thumbs",
    "digits_probs",
    "digits_activations",
    "digits_momentum",
    "digits_energy",
    "digits_convergence",
    "digits_confusion",
)


def _numbers(z) -> list[list[float]]:
    """A heatmap's z as rows of numbers (Plotly may ship it as a base64 typed array)."""
    if isinstance(z, dict):
        values = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"])
        shape = tuple(int(n) for n in str(z.get("shape", len(values))).split(","))
        return values.reshape(shape).tolist()
    return z


def _assert_page_ok(at: AppTest) -> dict[str, dict]:
    assert not at.exception, [e.message for e in at.exception]
    assert texts(at.error) == ""
    charts = chart_figures(at, CHART_KEYS)
    assert set(charts) == set(CHART_KEYS)
    assert charts_bytes(at) <= MAX_JSON_BYTES
    return charts


def _weights(session) -> dict:
    return {name: value.clone() for name, value in session.model.state_dict().items()}


def test_opens_trained_resets_retrains_alike_and_untie_opens_trained() -> None:
    at = open_page("digits")
    charts = _assert_page_ok(at)
    session = at.session_state["deqnet_digits"]
    assert session.steps_done == session.train.train_steps and session.trainer.status == "ok"
    assert session.trainer.history[-1].test_acc >= 0.9
    counts = charts["digits_confusion"]["data"][0]["z"]
    assert sum(map(sum, _numbers(counts))) == len(session.data.y_test)
    assert "test accuracy" in texts(at.caption) and "Untrained" not in texts(at.caption)
    assert at.button(key="digits_train").disabled  # the budget is spent
    opened = _weights(session)
    # One thumbnail per digit, in order, each named by the digit it shows.
    assert at.segmented_control(key="digits_pick").options == [str(d) for d in range(10)]
    thumbnails = charts["digits_thumbs"]
    assert thumbnails["layout"]["xaxis"]["ticktext"] == [str(d) for d in range(10)]

    # Layers × channels tiles: the strip holds every layer 0..L of 4 channels, net and ODE.
    meta = charts["digits_activations"]["layout"]["meta"]
    assert meta["layers"] == list(range(11))

    at.button(key="digits_reset").click().run()
    _assert_page_ok(at)
    assert at.session_state["deqnet_digits"].steps_done == 0
    assert "Untrained" in texts(at.caption)
    # Training from the initial weights alone gives exactly the model the page opened with.
    at.button(key="digits_train").click().run()
    _assert_page_ok(at)
    session = at.session_state["deqnet_digits"]
    trained = _weights(session)
    assert all(np.array_equal(opened[k].numpy(), trained[k].numpy()) for k in opened)

    at.segmented_control(key="digits_pick").set_value(5).run()
    _assert_page_ok(at)
    assert at.session_state["deqnet_digits"] is session  # picking keeps the trained model

    at.toggle(key="digits_tied").set_value(False).run()
    _assert_page_ok(at)
    rebuilt = at.session_state["deqnet_digits"]
    assert rebuilt is not session and not rebuilt.config.tied
    assert rebuilt.steps_done == rebuilt.train.train_steps  # opens trained for the new setting
    assert "jumping" in texts(at.caption)
