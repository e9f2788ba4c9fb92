"""Presentation mode and the model line, in AppTest: the link flag and the Classroom switch turn
it on and keep it in the link, and every page that shows the session's model names it in words
above its content. (How the pages then fit a projector and a phone is checked in a real browser,
tests/browser/test_layout_browser.py.)"""

from __future__ import annotations

import pytest
from app_harness import open_page, texts
from streamlit.testing.v1 import AppTest

from ui.pages import PAGES

MODEL_LINE = "**Model:** "


def _model_lines(at: AppTest) -> list[str]:
    return [md.value for md in at.markdown if MODEL_LINE in md.value]


@pytest.mark.parametrize("stem", [stem for stem, page in PAGES.items() if page.shows_model])
def test_pages_with_the_session_model_name_it(stem: str) -> None:
    at = open_page(stem, family="resnet", layers="7")
    assert not at.exception, [e.message for e in at.exception]
    (line,) = _model_lines(at)
    assert "ResNet · 7 layers (T = 1) · 2-D state · width 16 tanh" in line


@pytest.mark.parametrize("stem", ["sweep", "lessons"])
def test_pages_without_it_do_not(stem: str) -> None:
    assert _model_lines(open_page(stem)) == []


def test_the_link_flag_and_the_classroom_switch_turn_presentation_mode_on_and_keep_it() -> None:
    at = open_page("playground", present="1")
    assert not at.exception and "Some settings in the link" not in texts(at.warning)
    assert at.session_state["deqnet"].link.view["present"]
    assert at.query_params["present"] == "1"
    assert at.toggle(key="cls_present").value
    at.toggle(key="cls_present").set_value(False).run()
    assert not at.session_state["deqnet"].link.view["present"]
    assert "present" not in at.query_params
    at.toggle(key="cls_present").set_value(True).run()
    assert at.query_params["present"] == "1"
