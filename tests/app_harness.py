"""AppTest helpers for the Streamlit app: open it like a browser session with link parameters.

The pages live in ``app_pages/`` (not ``pages/``): a folder named ``pages`` makes Streamlit start
in its legacy pages-folder router until ``st.navigation`` has run once, so a deep link on a fresh
server would open a page without app.py's frame.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 60  # importing torch and a first training chunk can take a few seconds on one core


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
