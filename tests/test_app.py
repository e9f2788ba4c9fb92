"""The app frame: it starts, every page is reachable, the sidebar and the link stay in sync.

AppTest runs app.py in-process (no browser); see app_harness for the navigation fixture.
"""

from __future__ import annotations

import pytest
from app_harness import sidebar_keys, start, texts

from deqnet import RunConfig
from deqnet.sharing import HIDEABLE, QUERY_FIELDS
from ui.controls import CONTROLS, label_of
from ui.pages import PAGES

FRIENDLY_ERROR = "Something went wrong"


def test_every_codec_key_has_exactly_one_control_with_one_sentence_help() -> None:
    assert set(CONTROLS) == set(QUERY_FIELDS)
    for key, control in CONTROLS.items():
        assert (control.section, control.field) == QUERY_FIELDS[key]
        assert control.help.endswith(".") and control.help.count(". ") == 0, key
    assert all(label_of(name) != name for name in HIDEABLE)


def test_app_starts_on_the_playground_with_the_whole_configuration() -> None:
    at = start()
    assert not at.exception
    assert FRIENDLY_ERROR not in texts(at.error)
    assert "Playground" in texts(at.markdown)
    # Defaults: a neural ODE with a fixed-step solver, full batch, Adam.
    assert {"dataset", "noise", "family", "T", "width", "solver", "steps", "lr"} <= sidebar_keys(at)
    assert {"gamma", "layers", "rtol", "mom"}.isdisjoint(sidebar_keys(at))
    assert at.query_params == {"v": "1"}  # defaults only: a clean link (and its version)


@pytest.mark.parametrize("path", [page.path for page in PAGES.values()])
def test_every_page_is_reachable(path: str) -> None:
    at = start()
    at.switch_page(path).run()
    assert not at.exception
    assert FRIENDLY_ERROR not in texts(at.error)


def test_link_parameters_initialise_the_controls_and_the_model() -> None:
    at = start(dataset="circles", noise="0.2", family="resnet", layers="12", lr="0.005")
    assert not at.exception
    assert texts(at.warning) == ""
    assert at.selectbox(key="dataset").value == "circles"
    assert at.slider(key="noise").value == pytest.approx(0.2)
    assert at.selectbox(key="family").value == "resnet"
    assert at.select_slider(key="layers").value == 12
    assert at.select_slider(key="lr").value == pytest.approx(0.005)
    session = at.session_state["deqnet"]
    assert session.run.model.family == "resnet" and session.run.model.layers == 12
    assert session.data.name == "circles"
    assert session.model.config == session.run.model


def test_invalid_link_values_are_clamped_and_reported_never_raised() -> None:
    at = start(noise="5", lr="abc", family="quantum", K="1e999", bogus="<b>x</b>")
    assert not at.exception
    warning = texts(at.warning)
    for key in ("noise", "lr", "family", "K", "unknown"):
        assert key in warning, key
    assert "<b>" not in warning  # user text is escaped
    assert at.slider(key="noise").value == 1.0  # clamped to the maximum
    defaults = RunConfig()
    session = at.session_state["deqnet"]
    assert session.run.train.lr == defaults.train.lr  # unreadable: kept
    assert session.run.model.family == defaults.model.family
    assert session.run.model.segments == 200  # clamped to LIMITS


def test_controls_follow_the_family_and_solver() -> None:
    at = start(family="ruseckas", solver="dopri5")
    keys = sidebar_keys(at)
    assert {"gamma", "g", "solver", "rtol", "atol", "maxsteps", "grad"} <= keys
    assert {"width", "act", "steps", "layers", "K"}.isdisjoint(keys)
    at = start(family="feedforward", mode="piecewise", layers="8")
    keys = sidebar_keys(at)
    assert {"gamma", "layers", "K"} <= keys
    assert {"solver", "steps", "rtol", "grad", "width"}.isdisjoint(keys)
    assert max(at.select_slider(key="K").options, key=int) == "8"  # at most one set per layer


def test_model_change_resets_but_training_change_keeps_the_weights() -> None:
    at = start()
    at.button(key="pg_step").click().run()
    session = at.session_state["deqnet"]
    weights = {k: v.clone() for k, v in session.model.state_dict().items()}
    assert session.steps_done == 1

    at.select_slider(key="lr").set_value(0.005).run()
    assert "optimiser was rebuilt" in texts(at.info)
    session = at.session_state["deqnet"]
    assert session.steps_done == 1 and session.trainer.config.lr == 0.005
    assert all((session.model.state_dict()[k] == v).all() for k, v in weights.items())
    assert at.query_params["lr"] == "0.005"

    at.slider(key="width").set_value(8).run()
    assert "model was reset" in texts(at.info)
    session = at.session_state["deqnet"]
    assert session.steps_done == 0 and session.run.model.width == 8
    assert at.query_params["width"] == "8"


def test_classroom_link_hides_the_chosen_controls_but_keeps_their_values() -> None:
    at = start(classroom="1", hide="noise,lr,regen", noise="0.3", lr="0.05")
    assert not at.exception
    keys = sidebar_keys(at)
    assert {"noise", "lr"}.isdisjoint(keys) and {"dataset", "family"} <= keys
    session = at.session_state["deqnet"]
    assert session.run.data.noise == 0.3 and session.run.train.lr == 0.05
    buttons = {b.key for b in at.button}
    assert {"pg_train", "pg_reset"} <= buttons and "pg_regen" not in buttons
    assert not any(e.label == "Classroom" for e in at.sidebar.expander)  # students cannot undo
    assert at.query_params["classroom"] == "1" and at.query_params["hide"] == "noise,lr,regen"


def test_teacher_builds_a_classroom_link_in_the_panel() -> None:
    at = start()
    at.sidebar.pills(key="cls_hide").set_value(["dataset", "export"]).run()
    at.sidebar.toggle(key="cls_on").set_value(True).run()
    assert "dataset" not in sidebar_keys(at)
    assert at.query_params["classroom"] == "1" and at.query_params["hide"] == "dataset,export"
    assert any("classroom=1" in c.value for c in at.sidebar.code)
