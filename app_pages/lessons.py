"""Lessons: the paper's equations, each explained in plain words, with one-click presets."""

from urllib.parse import urlencode

import streamlit as st

from deqnet.presets import Preset, preset_query
from ui.lessons import LESSONS, Lesson, Tour, lesson_presets, lesson_tours, load_lesson
from ui.pages import PAGES, switch_to, url_path
from ui.state import apply_preset

THIS_PAGE = "lessons"


def share_link(page: str, query: dict[str, str]) -> str:
    """Full link that opens ``page`` with ``query`` (a root-relative link if the URL is unknown)."""
    here = (st.context.url or "").split("?")[0].rstrip("/")
    root = here.removesuffix(f"/{THIS_PAGE}")
    return f"{root}/{url_path(page)}" + (f"?{urlencode(query)}" if query else "")


def show_me(card: Preset | Tour) -> None:
    """Open the card's page; a preset first loads its setup into the sidebar and model."""
    if isinstance(card, Preset):
        apply_preset(card)
    switch_to(card.page)


def demo_card(card: Preset | Tour) -> None:
    """A preset's or a tour's card: title, explanation, what to look at, Show me and Share."""
    page = PAGES[card.page].title
    loads = "Loads this data, model and training setup (replacing your current settings) and "
    with st.container(border=True, height="stretch"):
        st.markdown(f"**{card.title}**")
        st.markdown(card.explanation)
        st.caption(f"**Look at:** {card.what_to_look_at}")
        with st.container(horizontal=True, vertical_alignment="center"):
            if st.button(
                "Show me",
                key=f"lessons_show_{card.name}",
                type="primary",
                icon=":material/play_arrow:",
                help=f"{loads if isinstance(card, Preset) else ''}opens the {page} page.",
            ):
                show_me(card)
            query = preset_query(card.name) if isinstance(card, Preset) else {}
            with st.popover("Share", icon=":material/link:"):
                st.caption(
                    f"Opens this setup on the {page} page. Copy it with the button on the right:"
                )
                st.code(share_link(card.page, query), language=None, wrap_lines=True)
            st.caption(f"Opens **{page}**")


def lesson_section(lesson: Lesson) -> None:
    with st.container(border=True):
        st.subheader(lesson.title, anchor=lesson.name)
        for kind, block in lesson.blocks:
            if kind == "latex":
                st.latex(block)
            else:
                st.markdown(block)
        cards = [*lesson_presets(lesson), *lesson_tours(lesson)]
        # Two cards per row: three side by side get too narrow on a 1024-pixel projector.
        for row in range(0, len(cards), 2):
            for column, card in zip(st.columns(2), cards[row : row + 2], strict=False):
                with column:
                    demo_card(card)


lessons = [load_lesson(name) for name in LESSONS]
st.title("Lessons")
st.markdown(
    "The equations of Ruseckas (2019), [*Differential equations as models of deep neural "
    "networks*](https://arxiv.org/abs/1909.03767), each explained in plain words — press "
    "**Show me** to load a prepared setup and open the page that demonstrates it."
)
# One list: it reads in order on a phone too (columns would stack out of order). The titles
# carry their numbers ("1 · …").
st.markdown("\n".join(f"- [{lesson.title}](#{lesson.name})" for lesson in lessons))
for lesson in lessons:
    lesson_section(lesson)
