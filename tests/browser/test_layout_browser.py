"""Every page fits a phone, and a projector in presentation mode (issue 20, items 4 and 5).

- Phone (390×844, a mobile context): no chart, image, component frame, button or input of the
  main area runs past the screen's right edge.
- Projector (1280×720, ``?present=1``): the sidebar is collapsed, and every chart, image and
  component frame fits the screen's height and its column's width.

One server for the module and one page load per page and size. A failure lists every element
that does not fit and by how many pixels. Run with
``.venv/bin/python -m pytest -q -m browser tests/browser/test_layout_browser.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from conftest import PHONE, PROJECTOR, wait_for_ready
from playwright.sync_api import Browser, Page

from ui.pages import PAGES, url_path

pytestmark = pytest.mark.browser

LOAD_TIMEOUT_MS = 180_000  # the module's first page waits for a fresh server's first run
SLACK = 1  # px: sub-pixel rounding of the layout
# Charts: Streamlit's Plotly charts, every Plotly plot (also the Playground's live panel, which
# draws in the page, not in a frame), images and components' frames.
CHARTS = "[data-testid='stPlotlyChart'], .js-plotly-plot, iframe, [data-testid='stImage']"
CONTROLS = "button, input, select, textarea"
# The visible elements of the main area that match a selector: a short name, the element's box
# and the box of the column (or vertical block) it sits in. Tabs are left out: Streamlit's tab
# bar scrolls sideways by design.
BOXES = """(selector) => {
    const main = document.querySelector("[data-testid='stMain']");
    const plots = Array.from(main.querySelectorAll(".js-plotly-plot"));
    const name = (el) => {
        const key = el.closest("[class*='st-key-']")?.className.match(/st-key-\\S+/)?.[0];
        const plot = el.closest(".js-plotly-plot") ?? el.querySelector(".js-plotly-plot");
        const title = plot?.querySelector(".gtitle")?.textContent ?? "";
        const label = plot
            ? `chart ${plots.indexOf(plot) + 1} "${title}"`
            : (el.getAttribute("aria-label") || el.innerText || el.type || "").trim().slice(0, 30);
        const kind = el.dataset.testid || (el.classList.contains("js-plotly-plot")
            ? "js-plotly-plot" : el.tagName.toLowerCase());
        return `${kind} ${label}${key ? ` in ${key}` : ""}`;
    };
    return Array.from(main.querySelectorAll(selector))
        .filter((el) => el.getAttribute("role") !== "tab")
        .map((el) => ({ el, box: el.getBoundingClientRect() }))
        .filter(({ box }) => box.width > 0 && box.height > 0)
        .map(({ el, box }) => {
            const holder = el.parentElement.closest(
                "[data-testid='stColumn'], [data-testid='stVerticalBlock']");
            return { name: name(el), right: box.right, height: box.height,
                     holder: holder.getBoundingClientRect().right };
        });
}"""
SIDEBAR_STATE = """() => document.querySelector("[data-testid='stSidebar']").dataset.collapsed"""


@contextmanager
def opened(browser: Browser, url: str, options: dict) -> Iterator[Page]:
    """The page at ``url`` in a new browser context with ``options``, loaded and ready."""
    context = browser.new_context(**options)
    try:
        page = context.new_page()
        page.goto(url)
        wait_for_ready(page, LOAD_TIMEOUT_MS)
        page.wait_for_timeout(300)  # charts take their containers' final width
        yield page
    finally:
        context.close()


@pytest.mark.parametrize("stem", PAGES)
def test_nothing_runs_off_a_phone_screen(app_server: str, browser: Browser, stem: str) -> None:
    width = PHONE["viewport"]["width"]
    with opened(browser, f"{app_server}/{url_path(stem)}", PHONE) as page:
        boxes = page.evaluate(BOXES, f"{CHARTS}, {CONTROLS}")
    assert boxes, "no element found: the selectors no longer match the page"
    off = [
        f"{b['name']}: right edge at {b['right']:.0f} px, {b['right'] - width:.0f} px off"
        for b in boxes
        if b["right"] > width + SLACK
    ]
    assert not off, f"{len(off)} elements run off a {width} px screen:\n" + "\n".join(off)


@pytest.mark.parametrize("stem", PAGES)
def test_presentation_mode_fits_a_projector(app_server: str, browser: Browser, stem: str) -> None:
    height = PROJECTOR["viewport"]["height"]
    with opened(browser, f"{app_server}/{url_path(stem)}?present=1", PROJECTOR) as page:
        collapsed = page.evaluate(SIDEBAR_STATE) == "true"
        boxes = page.evaluate(BOXES, CHARTS)
    problems = [] if collapsed else ["the sidebar is open"]
    for b in boxes:
        if b["height"] > height:
            problems.append(
                f"{b['name']}: {b['height']:.0f} px high, {b['height'] - height:.0f} over"
            )
        if b["right"] > b["holder"] + SLACK:
            problems.append(
                f"{b['name']}: right edge at {b['right']:.0f} px, "
                f"{b['right'] - b['holder']:.0f} px past its column (right edge {b['holder']:.0f})"
            )
    assert not problems, f"at 1280×{height} with ?present=1:\n" + "\n".join(problems)
