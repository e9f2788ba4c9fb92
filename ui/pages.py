"""The app's pages: the one registry of their names, titles, icons, sections and files.

The navigation (``ui.frame``), the lesson cards, every page switch and the check of the lesson
presets' pages read it; no other source file writes a page's path.

The page files live in ``app_pages/``, not ``pages/``: with a ``pages/`` folder next to app.py,
Streamlit routes a fresh server's first deep link through its legacy folder router, which runs
the page without the app's frame (sidebar, link handling, navigation).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from deqnet.presets import check_preset_pages

PAGE_DIR = "app_pages"


@dataclass(frozen=True)
class Page:
    """One page of the app.

    Attributes:
        stem: the file stem, also its URL path ("momentum" -> /momentum) and its key here.
        title: the title in the navigation.
        icon: a Material icon (":material/<name>:").
        section: the navigation group it is listed under.
        own_models: the page trains models of its own (Topology's lesson models, Digits' conv
            net), so the sidebar's settings do not reach it.
        shows_model: the page shows the session's model (the frame names it above the page).
    """

    stem: str
    title: str
    icon: str
    section: str
    own_models: bool = False
    shows_model: bool = False

    @property
    def path(self) -> str:
        """The page script, relative to the app's root (what ``st.Page`` and
        ``st.switch_page`` take)."""
        return f"{PAGE_DIR}/{self.stem}.py"


# In navigation order; the first page is the default, served at the app's root URL.
PAGES: dict[str, Page] = {
    page.stem: page
    for page in (
        Page("playground", "Playground", ":material/model_training:", "Train", shows_model=True),
        Page("sweep", "Sweep", ":material/grid_view:", "Train"),
        Page(
            "trajectories", "Trajectories", ":material/timeline:", "See the paper", shows_model=True
        ),
        Page("momentum", "Momentum", ":material/swap_calls:", "See the paper", shows_model=True),
        Page("layers", "Layers ↔ Time", ":material/stacks:", "See the paper", shows_model=True),
        Page("topology", "Topology", ":material/donut_large:", "See the paper", own_models=True),
        Page("digits", "Digits", ":material/draw:", "See the paper", own_models=True),
        Page("lessons", "Lessons", ":material/school:", "Learn"),
    )
}
DEFAULT_PAGE = next(iter(PAGES))

check_preset_pages(PAGES)


def by_title(title: str) -> Page:
    """The registered page with this navigation title."""
    return next(page for page in PAGES.values() if page.title == title)


def page_path(stem: str) -> str:
    """The script of page ``stem`` (for ``st.switch_page`` and AppTest's ``switch_page``)."""
    return PAGES[stem].path


def url_path(stem: str) -> str:
    """The page's path in a link: empty for the default page (the app's root URL)."""
    return "" if stem == DEFAULT_PAGE else stem


def switch_to(stem: str) -> None:
    """Open page ``stem`` (ends this script run)."""
    st.switch_page(page_path(stem))


__all__ = [
    "DEFAULT_PAGE",
    "PAGES",
    "Page",
    "by_title",
    "page_path",
    "switch_to",
    "url_path",
]
