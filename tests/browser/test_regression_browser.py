"""Regression in a real browser: a run on the "plane" data set, started from the sidebar's task
switch, reaches R² ≥ 0.95 on screen (the streamed metrics row), with the output's colour bar.

Run with ``.venv/bin/python -m pytest -q -s tests/browser/test_regression_browser.py``.
"""

from __future__ import annotations

import pytest
from conftest import by_key, screenshot, wait_for_app
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

PANEL = ".deqnet-live-panel"
TEST_R2 = "() => document.querySelector('[data-metric=test-accuracy]')?.textContent ?? ''"


def test_a_plane_run_reaches_r2_of_095_on_screen(app_server: str, page: Page) -> None:
    page.goto(app_server + "/?budget=300")
    wait_for_app(page)
    by_key(page, "sb_task").get_by_text("Regression").click()
    wait_for_app(page)
    expect(by_key(page, "dataset").get_by_role("combobox")).to_have_value("Plane")
    page.wait_for_function(f"() => document.querySelector('{PANEL}')", timeout=60_000)
    expect(page.locator(f"{PANEL}")).to_contain_text("Test R²")
    # The boundary chart's colour bar reads the output.
    expect(page.locator(f"{PANEL} [data-chart=boundary] .colorbar")).to_have_count(1)
    by_key(page, "pg_train").get_by_role("button").click()
    page.wait_for_function(
        f"() => {{ const v = parseFloat(({TEST_R2})()); return v >= 0.95; }}", timeout=120_000
    )
    screenshot(page, "playground-regression-plane")
    assert float(page.evaluate(TEST_R2)) >= 0.95
