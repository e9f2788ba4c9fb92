"""AppTest helpers for the Streamlit app: open it (or one page) like a browser session with
link parameters, and read the Plotly charts it sends.

Pages are opened by their key in ``ui.pages`` (whose docstring says why their folder is
``app_pages/``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from ui.pages import page_path

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
TIMEOUT = 60  # importing torch and a first training chunk can take a few seconds on one core
# A small run (80 points, a budget of 8 training steps): what the page tests check holds for
# any weights, trained or not.
SMALL_RUN = {"n": "80", "budget": "8"}
MAX_JSON_BYTES = 2_000_000  # what a page may send in Plotly figures at once
WEBGL = {"scattergl", "scatter3d", "heatmapgl", "surface", "mesh3d", "cone", "streamtube"}
# Plotly's base64 typed arrays: dtype code -> numpy type.
DTYPES = {
    "f4": np.float32,
    "f8": np.float64,
    "i1": np.int8,
    "i2": np.int16,
    "i4": np.int32,
    "u1": np.uint8,
}


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


def open_page(stem: str, **query: str) -> AppTest:
    """Run the app once on page ``stem`` (a ``ui.pages`` key), opened with ``SMALL_RUN`` and
    the given link parameters."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in {**SMALL_RUN, **query}.items():
        at.query_params[key] = value
    at.switch_page(page_path(stem))
    return at.run()


def chart_figures(at: AppTest, keys: Iterable[str]) -> dict[str, dict]:
    """Figure dicts of the page's charts by widget key (the key ends the element id); a chart
    with none of ``keys`` is listed under its element id."""
    keys = tuple(keys)
    found = {}
    for element in at.get("plotly_chart"):
        key = next((k for k in keys if element.proto.id.endswith(k)), element.proto.id)
        found[key] = json.loads(element.proto.spec)
    return found


def charts_bytes(at: AppTest) -> int:
    """The JSON size of all Plotly figures the run sent, in bytes."""
    return sum(len(element.proto.spec.encode()) for element in at.get("plotly_chart"))


def array(value) -> np.ndarray:
    """A Plotly array: a plain list or a base64 typed array {"dtype", "bdata"}."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=DTYPES[value["dtype"]])
    return np.asarray(value, dtype=np.float64)
