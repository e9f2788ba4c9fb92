"""The Momentum page in a real browser: it opens on a quick-trained model, a clicked point joins
the followed points, and the checks panel shows five passing identities.

Run with ``.venv/bin/python -m pytest -q -m browser tests/browser/test_momentum_browser.py``;
the screenshot is saved to artifacts/momentum.png.
"""

from __future__ import annotations

import pytest
from conftest import by_key, screenshot, wait_for_app
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

CHARTS = 5  # picking scatter, paths with arrows, phase portraits, H(t), adjoint field
LOAD_TIMEOUT_MS = 180_000  # first import of torch and a quick training on a busy machine
CHECKS_TIMEOUT_MS = 180_000  # float64 solves at 1e-10 on a shared machine
FULL_PAGE = {"width": 1400, "height": 3300}  # Streamlit scrolls inside the page: grow the window


def _path_count(page: Page) -> int:
    """Number of path lines in the momentum chart (one per followed point)."""
    return page.evaluate(
        """() => {
            const g = document.querySelector('.st-key-mom_paths .js-plotly-plot');
            return g._fullData.filter(t => t.type === 'scatter' && t.mode.startsWith('lines'))
                .length;
        }"""
    )


def test_momentum_page_follows_picked_points_and_passes_its_checks(
    app_server: str, browser: Browser, page: Page
) -> None:
    # Open the app at its root first: the frame's navigation must be set up before a page URL.
    page.goto(app_server)
    wait_for_app(page, timeout=LOAD_TIMEOUT_MS)
    page.get_by_test_id("stSidebarNav").get_by_text("Momentum").click()
    wait_for_app(page, timeout=LOAD_TIMEOUT_MS)
    expect(page.locator(".js-plotly-plot")).to_have_count(CHARTS, timeout=60_000)
    expect(page.get_by_text("Model after")).to_be_visible()
    defaults = _path_count(page)
    assert defaults == 6

    # Click one training point that is not a default: it is followed too.
    points = by_key(page, "mom_pick").locator(".scatterlayer .trace").first.locator(".point")
    point = points.nth(points.count() // 2)
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    # Plotly's drag layer lies over the markers and finds the point under the mouse itself.
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.wait_for_timeout(300)
    page.mouse.click(x, y)
    wait_for_app(page, timeout=LOAD_TIMEOUT_MS)
    page.wait_for_function(
        f"""() => {{
            const g = document.querySelector('.st-key-mom_paths .js-plotly-plot');
            return g && g._fullData.filter(t => t.type === 'scatter' &&
                t.mode.startsWith('lines')).length === {defaults + 1};
        }}""",
        timeout=60_000,
    )

    by_key(page, "mom_run_checks").get_by_role("button").click()
    expect(page.get_by_text("5 of 5 hold")).to_be_visible(timeout=CHECKS_TIMEOUT_MS)
    wait_for_app(page)
    assert page.get_by_text("✓").count() >= 5

    page.set_viewport_size(FULL_PAGE)
    page.wait_for_timeout(1500)  # charts re-layout to the new size
    screenshot(page, "momentum")
