"""Lessons: the paper's equations, each explained in plain words, with one-click presets."""

from urllib.parse import urlencode

import streamlit as st

from deqnet.presets import Preset, preset_query
from ui.lessons import LESSONS, Lesson, lesson_presets, load_lesson
from ui.pages import PAGES, switch_to, url_path
from ui.state import apply_preset

THIS_PAGE = "lessons"


def share_link(preset: Preset) -> str:
    """Full link that opens ``preset`` on its page (a root-relative link if the URL is unknown)."""
    here = (st.context.url or "").split("?")[0].rstrip("/")
    root = here.removesuffix(f"/{THIS_PAGE}")
    return f"{root}/{url_path(preset.page)}?{urlencode(preset_query(preset.name))}"


def show_me(preset: Preset) -> None:
    """Load the preset into the sidebar and model, then open its page."""
    apply_preset(preset)
    switch_to(preset.page)


def preset_card(preset: Preset) -> None:
    page = PAGES[preset.page].title
    with st.container(border=True, height="stretch"):
        st.markdown(f"**{preset.title}**")
        st.markdown(preset.explanation)
        st.caption(f"**Look at:** {preset.what_to_look_at}")
        with st.container(horizontal=True, vertical_alignment="center"):
            if st.button(
                "Show me",
                key=f"lessons_show_{preset.name}",
                type="primary",
                icon=":material/play_arrow:",
                help="Loads this data, model and training setup (replacing your current "
                f"settings) and opens the {page} page.",
            ):
                show_me(preset)
            with st.popover("Share", icon=":material/link:"):
                st.caption(
                    f"Opens this setup on the {page} page. Copy it with the button on the right:"
                )
                st.code(share_link(preset), language=None, wrap_lines=True)
            st.caption(f"Opens **{page}**")


def lesson_section(lesson: Lesson) -> None:
    with st.container(border=True):
        st.subheader(lesson.title, anchor=lesson.name)
        for kind, block in lesson.blocks:
            if kind == "latex":
                st.latex(block)
            else:
                st.markdown(block)
        presets = lesson_presets(lesson)
        # Two cards per row: three side by side get too narrow on a 1024-pixel projector.
        for row in range(0, len(presets), 2):
            for column, preset in zip(st.columns(2), presets[row : row + 2], strict=False):
                with column:
                    preset_card(preset)


lessons = [load_lesson(name) for name in LESSONS]
st.title("Lessons")
st.markdown(
    "The equations of Ruseckas (2019), *Differential equations as models of deep neural "
    "networks*, each explained in plain words — press **Show me** to load a prepared setup and "
    "open the page that demonstrates it."
)
contents = st.columns(3)
for i, lesson in enumerate(lessons):
    contents[i % 3].markdown(f"[{lesson.title}](#{lesson.name})")
for lesson in lessons:
    lesson_section(lesson)
