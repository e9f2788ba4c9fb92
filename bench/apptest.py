"""AppTest plumbing for the app benchmarks (e)–(h): open the app like a browser session would.

Not a table itself. AppTest runs the real app.py (sidebar, navigation, pages) in this process,
so CPU time (``bench.common.clock``) and memory can be measured around it.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
TIMEOUT = 900  # a full sweep or a training run on a loaded machine


def app(query: dict[str, str], page: str | None = None) -> AppTest:
    """A new session of the app with link parameters ``query``, set to open ``page``
    (not run yet)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    if page is not None:
        at.switch_page(page)
    return at


def pages() -> list[tuple[str, str]]:
    """(file, title) of every page, in the navigation's order."""
    from ui.pages import PAGES

    return [(page.path, page.title) for page in PAGES.values()]


def chart_bytes(at: AppTest) -> int:
    """Total Plotly JSON the last run sent (sum of len(spec) over the page's plotly charts)."""
    return sum(len(element.proto.spec) for element in at.get("plotly_chart"))


def check(at: AppTest) -> AppTest:
    """Fail loudly if the run raised: a broken page must not be timed as a fast one."""
    if at.exception:
        raise RuntimeError(f"the app raised: {[e.message for e in at.exception]}")
    return at


def rss_bytes() -> int:
    """Resident memory of this process now (VmRSS of /proc/self/status)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")
