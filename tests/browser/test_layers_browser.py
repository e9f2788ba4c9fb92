"""The Layers ↔ Time page in a real browser: choosing L moves the layer dots.

Run with ``.venv/bin/python -m pytest -q -s -m browser tests/browser/test_layers_browser.py``
(``-s`` prints how long the page took). Saves artifacts/layers.png.
"""

from __future__ import annotations

import time

import pytest
from conftest import by_key, screenshot, wait_for_app
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

LOAD_TIMEOUT_MS = 180_000  # server warm-up, quick training and the accurate ODE solve, busy box
PATHS = 40  # paths the page draws (app_pages/layers.py PATH_POINTS)
# Number of layer dots in the overlay (the page's first chart).
# 0 while the chart is (re)mounting.
LAYER_DOTS = """() => (document.querySelectorAll('.js-plotly-plot')[0]?._fullData ?? [])
    .filter(tr => (tr.name || '').startsWith('layers, class'))
    .reduce((n, tr) => n + tr.x.length, 0)"""


def test_choosing_more_layers_puts_more_dots_on_the_paths(app_server: str, page: Page) -> None:
    page.goto(app_server)
    wait_for_app(page, timeout=LOAD_TIMEOUT_MS)
    start = time.perf_counter()
    page.get_by_test_id("stSidebarNav").get_by_text("Layers ↔ Time").click()
    expect(page).to_have_url(f"{app_server}/layers", timeout=LOAD_TIMEOUT_MS)
    wait_for_app(page, timeout=LOAD_TIMEOUT_MS)  # includes the quick training
    expect(page.locator(".js-plotly-plot")).to_have_count(2)  # overlay and layer-time chart
    print(f"\nLayers page ready {time.perf_counter() - start:.1f} s after the click")
    # L = 10: layers 0 … 10 (a wrong count times out here)
    page.wait_for_function(f"() => ({LAYER_DOTS})() === {PATHS * 11}")

    slider = by_key(page, "layers_L").get_by_role("slider")
    slider.focus()
    page.keyboard.press("ArrowRight")  # the next choice after 10 is 12
    page.wait_for_function(f"() => ({LAYER_DOTS})() === {PATHS * 13}", timeout=LOAD_TIMEOUT_MS)
    wait_for_app(page, timeout=LOAD_TIMEOUT_MS)
    expect(page.get_by_text("Step Δt = T/L")).to_be_visible()
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("0.0833")
    screenshot(page, "layers")
