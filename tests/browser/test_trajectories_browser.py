"""The Trajectories page in a real browser: the flow animation scrubs without asking the server.

Run with ``.venv/bin/python -m pytest -q -m browser tests/browser/test_trajectories_browser.py``.
Saves artifacts/trajectories.png.
"""

from __future__ import annotations

import pytest
from conftest import by_key, screenshot, wait_for_app
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

LOAD_TIMEOUT_MS = 120_000  # server warm-up, quick training and the first analysis on a busy box

# Records every value the app's script state takes from now on (a rerun shows "running").
WATCH_SCRIPT_STATE = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    window.__scriptStates = [];
    new MutationObserver(() => window.__scriptStates.push(app.dataset.testScriptState))
        .observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]});
}"""
# The animation is the page's first chart; trace 0 is the grid, traces 1.. the classes.
ANIMATION_STATE = """() => {
    const plot = document.querySelectorAll('.js-plotly-plot')[0];
    return {
        active: plot._fullLayout.sliders[0].active,
        points: plot._fullData.slice(1).map(tr => Array.from(tr.x).concat(Array.from(tr.y))),
        grid: Array.from(plot._fullData[0].x.slice(0, 50)),
    };
}"""


def test_a_deep_link_on_a_fresh_server_opens_inside_the_app_frame(
    app_server: str, page: Page
) -> None:
    # Must be the module's first request to its fresh server: with a folder named pages/ this
    # request ran the page without app.py (Streamlit's legacy router); app_pages/ avoids that.
    page.goto(f"{app_server}/trajectories")
    wait_for_app(page, timeout=LOAD_TIMEOUT_MS)
    expect(page.get_by_text("Trajectories").first).to_be_visible()
    expect(by_key(page, "family")).to_have_count(1, timeout=1_000)


def test_the_animation_scrubs_in_the_browser_without_a_rerun(app_server: str, page: Page) -> None:
    page.goto(app_server)
    wait_for_app(page, timeout=LOAD_TIMEOUT_MS)
    page.get_by_test_id("stSidebarNav").get_by_text("Trajectories").click()
    expect(page).to_have_url(f"{app_server}/trajectories", timeout=LOAD_TIMEOUT_MS)
    wait_for_app(page, timeout=LOAD_TIMEOUT_MS)  # includes the quick training
    expect(page.get_by_text("Model after")).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(3)  # animation, paths, coordinates
    page.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot')[0]._fullLayout?.sliders?.length"
    )
    before = page.evaluate(ANIMATION_STATE)
    assert before["active"] == 0

    page.evaluate(WATCH_SCRIPT_STATE)
    rail = page.locator(".js-plotly-plot").first.locator(".slider-rail-touch-rect")
    rail.scroll_into_view_if_needed()  # a click outside the window reaches nothing
    box = rail.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)  # last frame
    page.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot')[0]._fullLayout.sliders[0].active > 0"
    )
    page.wait_for_timeout(500)
    after = page.evaluate(ANIMATION_STATE)

    assert after["active"] > 0
    assert after["points"] != before["points"]  # the points moved to x(T)
    assert len(after["points"]) == len(before["points"])
    assert page.evaluate("window.__scriptStates") == []  # no Streamlit rerun happened
    expect(page.locator("[data-testid='stApp']")).to_have_attribute(
        "data-test-script-state", "notRunning"
    )
    screenshot(page, "trajectories")
