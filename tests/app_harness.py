"""AppTest helpers for the Streamlit app (import the fixture into a test module to use it).

Why the fixture: AppTest resets ``PagesManager.uses_pages_directory`` before every run, and
because a ``pages/`` folder exists Streamlit then falls back to the legacy pages-folder router,
which runs a page file *without* app.py from the second run on. A real server sets the flag to
False for good at the first ``st.navigation`` call; the fixture restores that behaviour.

    from app_harness import navigation_only, start  # noqa: F401  (fixture import)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 60  # importing torch and a first training chunk can take a few seconds on one core


@pytest.fixture(autouse=True)
def navigation_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep Streamlit in st.navigation mode across AppTest runs (see the module docstring)."""
    original = PagesManager.__init__

    def init(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


def start(**query: str) -> AppTest:
    """Run the app once, opened with the given link parameters."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def sidebar_keys(at: AppTest) -> set[str]:
    """Keys of the input widgets drawn in the sidebar."""
    kinds = ("selectbox", "slider", "select_slider", "number_input", "radio")
    return {w.key for kind in kinds for w in getattr(at.sidebar, kind) if w.key}


def texts(elements) -> str:
    """All values of a list of text elements (warnings, infos, ...) joined into one string."""
    return "\n".join(str(e.value) for e in elements)
