"""Lessons: the paper's equations, each explained in plain words, with one-click presets."""

from urllib.parse import urlencode

import streamlit as st

from deqnet.presets import LESSONS, Lesson, Preset, lesson_presets, load_lesson, preset_query
from ui.state import apply_run

# Page file stem -> title in the navigation (ui.frame); the Playground is the app's default page,
# served at the app's root URL.
PAGE_TITLES = {
    "playground": "Playground",
    "trajectories": "Trajectories",
    "momentum": "Momentum",
    "layers": "Layers ↔ Time",
    "sweep": "Sweep",
}
DEFAULT_PAGE = "playground"
THIS_PAGE = "lessons"


def share_link(preset: Preset) -> str:
    """Full link that opens ``preset`` on its page (a root-relative link if the URL is unknown)."""
    here = (st.context.url or "").split("?")[0].rstrip("/")
    root = here.removesuffix(f"/{THIS_PAGE}")
    path = "" if preset.page == DEFAULT_PAGE else preset.page
    return f"{root}/{path}?{urlencode(preset_query(preset.name))}"


def show_me(preset: Preset) -> None:
    """Load the preset into the sidebar and model, then open its page."""
    note = f"Loaded lesson preset: {preset.title}. Look at: {preset.what_to_look_at}"
    apply_run(preset.run, note=note)
    st.switch_page(f"pages/{preset.page}.py")


def preset_card(preset: Preset) -> None:
    page = PAGE_TITLES[preset.page]
    with st.container(border=True):
        st.markdown(f"**{preset.title}**")
        st.markdown(preset.explanation)
        st.caption(f"**Look at:** {preset.what_to_look_at}")
        left, right = st.columns([1, 1], vertical_alignment="center")
        if left.button(
            f"Show me on {page}",
            key=f"lessons_show_{preset.name}",
            type="primary",
            icon=":material/play_arrow:",
            help="Loads this data, model and training setup (your current settings are replaced) "
            f"and opens the {page} page.",
            width="stretch",
        ):
            show_me(preset)
        with right.popover("Share link", icon=":material/link:", width="stretch"):
            st.caption(
                f"Opens this setup on the {page} page. Copy it with the button on the right:"
            )
            st.code(share_link(preset), language=None, wrap_lines=True)


def lesson_section(lesson: Lesson) -> None:
    with st.container(border=True):
        st.subheader(lesson.title, anchor=lesson.name)
        text, presets = st.columns([3, 2], gap="large")
        with text:
            for kind, block in lesson.blocks:
                if kind == "latex":
                    st.latex(block)
                else:
                    st.markdown(block)
        with presets:
            for preset in lesson_presets(lesson):
                preset_card(preset)


lessons = [load_lesson(name) for name in LESSONS]
st.title("Lessons")
st.markdown(
    "The equations of Ruseckas (2019), *Differential equations as models of deep neural "
    "networks*, each explained in plain words — press **Show me** to load a prepared setup and "
    "open the page that demonstrates it."
)
st.markdown(" · ".join(f"[{lesson.title}](#{lesson.name})" for lesson in lessons))
for lesson in lessons:
    lesson_section(lesson)
