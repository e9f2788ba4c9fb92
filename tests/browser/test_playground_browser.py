"""The Playground in a real browser: live training, a shared link, classroom mode.

Run with ``.venv/bin/python -m pytest -q -s -m browser tests/browser`` (``-s`` prints the time
from pressing Train to a displayed test accuracy of at least 95 %).
"""

from __future__ import annotations

import re
import time

import pytest
from conftest import by_key, screenshot, wait_for_app
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

TARGET_ACCURACY = 95.0
TRAIN_TIMEOUT_SECONDS = 90


def _metric(page: Page, name: str) -> str:
    """The live panel's metric ``name`` ("step", "test-accuracy", "loss", ...) as shown."""
    return page.locator(f".deqnet-live-panel [data-metric={name}]").inner_text()


def _percent(text: str) -> float | None:
    match = re.match(r"\s*([\d.]+)\s*%", text)
    return float(match.group(1)) if match else None


def _slider_value(page: Page, key: str) -> str:
    return by_key(page, key).get_by_test_id("stSliderThumbValue").inner_text()


def _lower_noise_to_005(page: Page) -> None:
    """Move the noise slider from 0.1 to 0.05 with the keyboard (step 0.01)."""
    by_key(page, "noise").get_by_role("slider").focus()
    for _ in range(5):
        page.keyboard.press("ArrowLeft")
    expect(page).to_have_url(re.compile(r"noise=0\.05"), timeout=30_000)
    wait_for_app(page)


def _step_once(page: Page) -> str:
    """Press Step and return the loss shown for that first step."""
    by_key(page, "pg_step").get_by_role("button").click()
    expect(page.locator(".deqnet-live-panel [data-metric=step]")).to_contain_text(
        "1 /", timeout=60_000
    )
    wait_for_app(page)
    return _metric(page, "loss")


def test_train_to_95_percent_then_the_link_restores_the_setup(
    app_server: str, browser: Browser, page: Page
) -> None:
    page.goto(app_server)
    wait_for_app(page)
    _lower_noise_to_005(page)
    first_loss = _step_once(page)
    by_key(page, "pg_reset").get_by_role("button").click()
    wait_for_app(page)

    by_key(page, "pg_train").get_by_role("button").click()
    start = time.perf_counter()
    accuracy = None
    while time.perf_counter() - start < TRAIN_TIMEOUT_SECONDS:
        accuracy = _percent(_metric(page, "test-accuracy"))
        if accuracy is not None and accuracy >= TARGET_ACCURACY:
            break
        page.wait_for_timeout(50)
    elapsed = time.perf_counter() - start
    assert accuracy is not None and accuracy >= TARGET_ACCURACY, accuracy
    print(f"\nTrain -> test accuracy {accuracy:.1f} % displayed after {elapsed:.2f} s")

    by_key(page, "pg_train").get_by_role("button").click()  # Pause
    expect(by_key(page, "pg_train")).to_contain_text("Train", timeout=30_000)
    wait_for_app(page)
    expect(page.locator(".deqnet-live-panel .js-plotly-plot")).to_have_count(3)
    screenshot(page, "playground-trained")
    link = page.url
    assert "noise=0.05" in link

    fresh = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        other = fresh.new_page()
        other.goto(link)
        wait_for_app(other)
        assert _slider_value(other, "noise") == "0.05"
        expect(other.locator(".deqnet-live-panel [data-metric=step]")).to_contain_text("0 /")
        # Same data and same initial weights: the first step gives the same loss.
        assert _step_once(other) == first_loss
    finally:
        fresh.close()


def test_classroom_link_hides_the_chosen_controls(app_server: str, page: Page) -> None:
    page.goto(f"{app_server}/?classroom=1&hide=noise,lr,regen,export")
    wait_for_app(page)
    for key in ("noise", "lr", "pg_regen"):
        expect(by_key(page, key)).to_have_count(0)
    for key in ("dataset", "family", "pg_train", "pg_reset"):
        expect(by_key(page, key)).to_have_count(1)
    expect(page.get_by_text("Classroom", exact=True)).to_have_count(0)
    # The live panel draws once plotly.js has loaded: the screenshot shows it.
    boundary = page.locator(".deqnet-live-panel [data-chart=boundary] .main-svg")
    expect(boundary.first).to_be_visible(timeout=60_000)
    screenshot(page, "playground-classroom")
