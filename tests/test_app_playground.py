"""The Playground through its buttons: Step, Train/Pause, Reset, uploads.

Training runs in the server's live trainer while someone watches. AppTest cannot run the
streaming panel's JavaScript, so these tests use the polling fallback (``DEQNET_LIVE=ticks``),
whose ticks watch and whose ``st.plotly_chart`` figures AppTest can read: AppTest runs the
polling fragment once per ``.run()``, so "training for a while" is a few runs. The stream itself
is tested in tests/test_live_*.py and in the browser (tests/browser/).
"""

from __future__ import annotations

import json
import time

import pytest
import torch
from app_harness import start, texts

import ui.live
from deqnet import RunConfig, Trainer, build_model
from deqnet.engine import step_together
from deqnet.sharing import run_to_json
from deqnet.sharing.csvfile import dataset_to_csv
from ui.state import new_session

SMALL = {"n": "64", "budget": "25"}  # tiny data and budget: a few ticks finish training


@pytest.fixture(autouse=True)
def _polling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEQNET_LIVE", "ticks")


def _tick_until(at, done, timeout: float = 120.0):
    """Run the page (as the live fragment's ticks do) until ``done(session)``."""
    deadline = time.monotonic() + timeout
    while not done(at.session_state["deqnet"]):
        assert time.monotonic() < deadline, "training did not get there in time"
        time.sleep(0.1)
        at.run()
    return at.session_state["deqnet"]


def _charts(at) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def _weights(session) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in session.model.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _progress_text(at) -> str:
    return at.get("progress")[0].proto.text


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_step_draws_boundary_curves_paths_and_metrics() -> None:
    at = start(**SMALL)
    at.button(key="pg_step").click().run()
    assert not at.exception
    assert _metric(at, "Step") == "1 / 25"
    assert _metric(at, "Test accuracy").endswith("%")
    charts = _charts(at)
    assert len(charts) == 3
    boundary = charts[0]
    assert any(trace["type"] == "heatmap" for trace in boundary["data"])
    # Fixed axes while training: the ranges are set, not autoscaled.
    assert boundary["layout"]["xaxis"]["range"] and boundary["layout"]["yaxis"]["range"]


def test_train_ticks_until_the_budget_then_stops() -> None:
    at = start(**SMALL)
    at.button(key="pg_train").click().run()
    session = _tick_until(at, lambda s: not s.live.running)
    assert session.steps_done == 25
    at.run()
    assert at.button(key="pg_train").label == "Train" and at.button(key="pg_train").disabled
    assert "full budget" in _progress_text(at)


def test_pause_stops_training_and_the_result_is_the_lone_run() -> None:
    at = start(n="64", budget="5000")  # a budget the test cannot exhaust
    at.button(key="pg_train").click().run()
    _tick_until(at, lambda s: s.steps_done >= 5)
    at.button(key="pg_train").click().run()  # Pause
    session = at.session_state["deqnet"]
    assert not session.live.running
    with session.lock:  # the trainer's step in progress, if any, has ended
        paused_at = session.steps_done
    time.sleep(0.5)
    at.run()
    assert at.session_state["deqnet"].steps_done == paused_at
    # The same steps on their own, from the same initial weights: bit-identical weights
    # (the server trains in stacks; alone, a stack of one).
    model = build_model(session.run.model, session.data.n_classes, seed=session.run.train.seed)
    alone = Trainer(model, session.run.data.make(), session.run.train)
    for _ in range(paused_at):
        step_together([alone])
    assert _same(_weights(session), {k: v.detach() for k, v in model.state_dict().items()})


def test_a_train_or_pause_click_delivered_again_in_a_tick_is_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Streamlit may deliver a click a second time in a live tick's rerun, whose button still
    has the callback of the run that drew it: neither callback may act there."""
    session = new_session(RunConfig())
    monkeypatch.setattr(ui.live, "full_run", lambda: False)  # as in a fragment tick
    ui.live.start_training(session)
    assert not session.live.running
    session.live.running = True
    ui.live.pause_training(session)
    assert session.live.running
    monkeypatch.setattr(ui.live, "full_run", lambda: True)
    ui.live.pause_training(session)
    assert not session.live.running
    ui.live.start_training(session)
    assert session.live.running


def test_reset_restores_the_initial_weights() -> None:
    at = start(**SMALL)
    for _ in range(3):
        at.button(key="pg_step").click().run()
    at.button(key="pg_reset").click().run()
    session = at.session_state["deqnet"]
    fresh = build_model(session.run.model, session.data.n_classes, seed=session.run.train.seed)
    assert session.steps_done == 0
    assert _same(_weights(session), {k: v.detach() for k, v in fresh.state_dict().items()})


def test_divergence_shows_the_trainer_message_and_keeps_the_last_good_model() -> None:
    at = start(family="ruseckas", T="5", lr="10", clip="0", **SMALL)
    at.button(key="pg_train").click().run()
    session = _tick_until(at, lambda s: not s.live.running)
    at.run()
    assert session.diverged
    assert "diverged" in texts(at.error)
    assert all(torch.isfinite(v).all() for v in session.model.state_dict().values())
    assert len(_charts(at)) == 3  # the last good model is still drawn


def _upload(at, name: str, content: bytes, mime: str):
    at.file_uploader(key="pg_upload").set_value((name, content, mime)).run()
    return at


def test_bad_uploads_are_refused_and_change_nothing() -> None:
    at = start(**SMALL)
    at.button(key="pg_step").click().run()
    before = at.session_state["deqnet"]
    weights, data, run = _weights(before), before.data, before.run
    bad_files = [
        ("run.json", b"{not json", "application/json"),
        ("run.json", b'{"format": "deqnet-run", "version": 99}', "application/json"),
        ("data.csv", b"x1,x2,label\n1,2\n", "text/csv"),
        ("data.csv", b"x1,x2,label\n" + b"nan,1,0\n" * 10, "text/csv"),
    ]
    for name, content, mime in bad_files:
        _upload(at, name, content, mime)
        assert not at.exception
        assert texts(at.error), name
        session = at.session_state["deqnet"]
        assert session.data is data and session.run == run and session.steps_done == 1
        assert _same(_weights(session), weights)


def test_uploaded_run_restores_settings_weights_and_history() -> None:
    at = start(**SMALL)
    for _ in range(2):
        at.button(key="pg_step").click().run()
    source = at.session_state["deqnet"]
    document = run_to_json(source.run, source.model, source.trainer.history).encode()

    other = start(noise="0.3")
    _upload(other, "run.json", document, "application/json")
    assert not other.exception and not texts(other.error)
    session = other.session_state["deqnet"]
    assert session.run == source.run and session.steps_done == 2
    assert _same(_weights(session), _weights(source))
    assert other.select_slider(key="n").value == 64  # the sidebar shows the loaded settings


def test_uploaded_csv_replaces_the_data_for_this_session_only() -> None:
    at = start(**SMALL)
    csv = dataset_to_csv(at.session_state["deqnet"].run.data.replace(name="xor").make())
    _upload(at, "xor.csv", csv.encode(), "text/csv")
    session = at.session_state["deqnet"]
    assert session.custom_data is session.data and session.data.name == "uploaded"
    assert session.steps_done == 0
    assert "not part of the" in texts(at.info)
    assert "dataset" not in at.query_params  # the link still describes generated data
