"""The Lessons page: every equation rendered, one Show me button and share link per preset, and a
click (or a shared link) loads the preset.

AppTest runs app.py in-process (no browser); see app_harness for the navigation fixture.
"""

from __future__ import annotations

from urllib.parse import urlencode

from app_harness import start, texts  # noqa: F401

from deqnet.presets import PRESETS, preset_query
from ui.lessons import LESSONS, TOURS, load_lesson
from ui.pages import PAGES, page_path

FRIENDLY_ERROR = "Something went wrong"
# Four plain layers: the cheapest preset to quick-train when its page opens.
CHEAP = "rings-coarse-fold"


def _lessons_page():
    at = start()
    at.switch_page(page_path("lessons")).run()
    assert not at.exception
    assert FRIENDLY_ERROR not in texts(at.error)
    return at


def test_the_contents_list_every_lesson_once_in_order() -> None:
    at = _lessons_page()
    listed = [md.value for md in at.markdown if md.value.startswith("- [")]
    assert len(listed) == 1  # one list, so it reads in order however narrow the screen
    assert listed[0].splitlines() == [f"- [{load_lesson(name).title}](#{name})" for name in LESSONS]


def test_lessons_page_renders_every_equation_with_buttons_and_share_links() -> None:
    at = _lessons_page()
    expected = [eq for name in LESSONS for eq in load_lesson(name).equations]
    # st.latex wraps each equation in $$ ... $$ lines.
    assert [element.value.strip("$\n") for element in at.latex] == expected
    buttons = {button.key for button in at.button}
    assert {f"lessons_show_{name}" for name in PRESETS} <= buttons
    links = [code.value for code in at.code]
    for name in PRESETS:
        query = urlencode(preset_query(name))
        assert any(link.endswith(f"?{query}") for link in links), name


def test_show_me_loads_the_preset_and_opens_its_page() -> None:
    at = _lessons_page()
    preset = PRESETS[CHEAP]
    at.button(key=f"lessons_show_{CHEAP}").click().run()
    assert not at.exception
    assert FRIENDLY_ERROR not in texts(at.error)
    assert f"lessons_show_{CHEAP}" not in {button.key for button in at.button}
    assert "Lessons" not in texts(at.title)
    assert f"Loaded lesson preset: {preset.title}" in texts(at.info)
    session = at.session_state["deqnet"]
    assert session.run == preset.run
    assert session.model.config == preset.run.model
    assert at.selectbox(key="dataset").value == preset.run.data.name
    assert at.selectbox(key="family").value == preset.run.model.family


def test_a_shared_preset_link_restores_the_preset() -> None:
    preset = PRESETS[CHEAP]
    at = start(**preset_query(CHEAP))
    assert not at.exception
    assert texts(at.warning) == ""
    assert at.session_state["deqnet"].run == preset.run


def test_show_me_of_a_tour_opens_its_page_and_keeps_the_settings() -> None:
    at = _lessons_page()
    before = at.session_state["deqnet"].run
    tour = next(iter(TOURS.values()))
    at.button(key=f"lessons_show_{tour.name}").click().run()
    assert not at.exception
    assert FRIENDLY_ERROR not in texts(at.error)
    assert f"lessons_show_{tour.name}" not in {button.key for button in at.button}
    assert at.session_state["deqnet"].run == before
    assert f"## {PAGES[tour.page].title}" in [m.value for m in at.markdown]
