"""The picture frame around every page: page config, the shared sidebar, navigation, the link.

Used only by streamlit_app.py. Order matters: read the link (first run only), draw the sidebar
(which updates the wanted settings), bring the model in line, show pending messages, run the
page, and finally mirror the settings in the URL.
"""

from __future__ import annotations

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from ui import sidebar
from ui.controls import describe_model
from ui.links import classroom_panel, read_url, write_url
from ui.pages import DEFAULT_PAGE, PAGES, by_title
from ui.show import guarded
from ui.slots import run_turn
from ui.state import Session, get_session, presenting, sync, take_messages

# Less empty space above the page so the Playground's main chart fits a 900-px-high screen;
# metric values small enough for three side by side next to it; and no "stale" fading inside
# the polling live panel (ui.live), where every tick redraws the same elements.
_STYLE = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 3.5rem; padding-bottom: 2rem; }
[data-testid="stMetricValue"] { font-size: 1.6rem; }
[class*="st-key-live_"] [data-stale="true"] { opacity: 1 !important; transition: none !important; }
@media (max-width: 640px) {
  [data-testid="stMainBlockContainer"] { padding-left: 0.75rem; padding-right: 0.75rem; }
}
</style>"""
# Presentation mode: larger text for the back of the room (Streamlit sizes its text in rem) and
# the page using the whole width of a projector's 1280 px.
_PRESENT_STYLE = """<style>
html { font-size: 18px; }
[data-testid="stMainBlockContainer"] { padding: 4rem 2rem 1.5rem; max-width: none; }
</style>"""


def _navigation() -> StreamlitPage:
    sections: dict[str, list[StreamlitPage]] = {}
    for page in PAGES.values():
        sections.setdefault(page.section, []).append(
            st.Page(page.path, title=page.title, icon=page.icon, default=page.stem == DEFAULT_PAGE)
        )
    return st.navigation(sections, position="sidebar")


def _messages(session: Session) -> None:
    """Link notices and one-shot notes, shown once at the top of the page."""
    notices, notes = take_messages(session)
    if notices:
        # The codec's notices are already markdown-safe (escaped user text).
        items = "\n".join(f"- {text}" for text in notices)
        st.warning(f"**Some settings in the link were changed:**\n{items}", icon=":material/link:")
    for text in notes:
        st.info(text, icon=":material/info:")


def run() -> None:
    """Draw the frame and the selected page, in one of the server's run turns (``ui.slots``)."""
    with run_turn():
        _run()


def _run() -> None:
    session = get_session()
    with guarded("the link"):
        read_url(session)  # before the page config: presentation mode collapses the sidebar
    present = presenting(session)
    st.set_page_config(
        page_title="deqnet",
        page_icon=":material/airwave:",
        layout="wide",
        initial_sidebar_state="collapsed" if present else "auto",
    )
    st.html(_STYLE + (_PRESENT_STYLE if present else ""))
    page = _navigation()
    with guarded("the settings"):
        with st.sidebar:
            if by_title(page.title).own_models:
                st.caption(
                    f"{page.title} trains models of its own: these settings are for the other "
                    "pages (the link in the address bar keeps them)."
                )
            else:
                st.caption("Settings for every page; the link in the address bar restores them.")
            sidebar.render(session)
            classroom_panel(session)
        sync(session)
    _messages(session)
    if by_title(page.title).shows_model:
        st.markdown(f":material/account_tree: **Model:** {describe_model(session.run)}")
    with guarded(f"the {page.title} page"):
        page.run()
    write_url(session)
