"""The page kit in ui.state and ui.show, on a bare Session (no script run): memo_peek, the
link and upload parts and the functions that change them, the widget push, and the texts and
chart selections pages share."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from deqnet import RunConfig
from deqnet.config import LIMITS
from deqnet.sharing import run_from_query
from ui.shared_cache import shared_cache
from ui.show import layer_label, selected_indices, solver_failure
from ui.state import (
    hidden_controls,
    memo,
    memo_peek,
    new_session,
    note,
    open_link,
    record_upload,
    regenerate_data,
    set_classroom,
    set_view,
    take_messages,
)

RUN = RunConfig.from_dict({"data": {"n": 64}})


def test_memo_peek_sees_only_what_memo_holds_for_this_model() -> None:
    shared_cache().clear()  # another test may have memoised "x" for the same model
    session = new_session(RUN)
    assert memo_peek(session, "x") is None
    assert memo(session, "x", lambda: [1]) == [1]
    assert memo_peek(session, "x") == [1]
    with torch.no_grad():  # the model changes: nothing is computed for it yet
        next(session.model.parameters()).mul_(0.5)
    session.version += 1
    assert memo_peek(session, "x") is None
    assert memo(session, "d", lambda: 7, per_version=False) == 7
    assert memo_peek(session, "d", per_version=False) == 7


def test_a_link_sets_the_view_classroom_and_settings_and_its_notices_show_once() -> None:
    session = new_session(RUN)
    link = run_from_query(
        {"classroom": "1", "hide": "lr", "showtest": "1", "width": "8", "noise": "9"}
    )
    open_link(session, link)
    assert session.link.parsed and session.link.from_url and session.link.classroom
    assert hidden_controls(session) == {"lr"} and session.link.view["showtest"]
    assert session.wanted["model"]["width"] == 8 and session.push_widgets
    assert session.run.model.width == 8  # rebuilt for the link's run
    note(session, "hello")
    notices, notes = take_messages(session)
    assert notices == link.notices and any("noise" in text for text in notices)
    assert notes[-1] == "hello"
    assert take_messages(session) == ([], [])


def test_no_link_only_marks_the_url_as_read() -> None:
    session = new_session(RUN)
    open_link(session, None)
    assert session.link.parsed and not session.link.classroom and session.run == RUN


def test_classroom_view_and_upload_change_through_their_functions() -> None:
    session = new_session(RUN)
    set_classroom(session, False, ["lr"])
    assert hidden_controls(session) == frozenset()  # hidden only while classroom mode is on
    set_classroom(session, True, ["lr", "noise"])
    assert hidden_controls(session) == {"lr", "noise"}
    set_view(session, "discrete", True)
    assert session.link.view == {"showtest": False, "discrete": True, "present": False}
    with pytest.raises(KeyError, match="view flag"):
        set_view(session, "nope", True)
    record_upload(session, "file-1", "bad file")
    assert (session.upload.file_id, session.upload.error) == ("file-1", "bad file")
    record_upload(session, None)
    assert (session.upload.file_id, session.upload.error) == (None, None)


def test_regenerate_draws_a_seed_within_the_link_limits_and_pushes_the_widgets() -> None:
    session = new_session(RUN)
    session.push_widgets = False
    seeds = set()
    for _ in range(5):
        regenerate_data(session)
        seeds.add(session.wanted["data"]["seed"])
    assert session.push_widgets
    assert all(LIMITS["seed"][0] <= seed <= LIMITS["seed"][1] for seed in seeds)
    assert len(seeds) > 1


def test_shared_texts_and_the_selection_parser() -> None:
    assert layer_label(0.4, 0.2) == "layer 2 (t = 0.40)"
    assert solver_failure("the paths cannot be drawn").count("Press Reset") == 1
    points = [{"customdata": 3}, {"customdata": [5, "x"]}, {"customdata": []}, {"x": 1}]
    points += [{"customdata": 2.0}, {"customdata": 99}, {"customdata": "7"}]
    assert selected_indices(_Event(points)) == [3, 5, 2, 99]
    assert selected_indices(_Event(points), limit=10) == [3, 5, 2]
    assert selected_indices(None) == []


class _Event(dict):
    """What st.plotly_chart returns: a dict with a ``selection`` attribute."""

    def __init__(self, points: list[dict]) -> None:
        super().__init__(selection={"points": points})
        self.selection = SimpleNamespace(points=points)
