"""The Digits page and the information panels in a real browser: the page opens on a net
trained to 90 % test accuracy, Reset and Train get there again on screen, every chart draws, and
the information tabs plot three resolutions under the H(y) ceiling.

Run with ``.venv/bin/python -m pytest -q -m browser tests/browser/test_digits_browser.py``.
Saves artifacts/digits.png and artifacts/information.png.
"""

from __future__ import annotations

import re

import pytest
from conftest import by_key, screenshot, wait_for_app
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

LOAD_TIMEOUT_MS = 120_000
DIGITS_CHARTS = 7  # thumbnails, probabilities, activations, momentum, H, convergence, confusion
# The traces of the chart with key ``key``: their names and y values.
TRACES = """(key) => {
    const plot = document.querySelector(`.st-key-${key} .js-plotly-plot`);
    return plot._fullData.map(tr => ({name: tr.name, y: Array.from(tr.y || [])}));
}"""


def _accuracy_shown(page: Page) -> float:
    status = page.get_by_text(re.compile(r"after 100 of 100 training steps, test accuracy"))
    expect(status).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    return float(re.search(r"test accuracy ([0-9.]+) %", status.inner_text()).group(1))


def test_digits_opens_trained_retrains_alike_and_draws_every_chart(
    app_server: str, page: Page
) -> None:
    page.goto(f"{app_server}/digits")
    wait_for_app(page, timeout=LOAD_TIMEOUT_MS)
    expect(page.locator(".js-plotly-plot")).to_have_count(DIGITS_CHARTS, timeout=LOAD_TIMEOUT_MS)
    opened = _accuracy_shown(page)
    assert opened >= 90.0
    by_key(page, "digits_reset").get_by_role("button").click()
    expect(page.get_by_text(re.compile(r"Untrained conv net"))).to_be_visible(
        timeout=LOAD_TIMEOUT_MS
    )
    by_key(page, "digits_train").get_by_role("button").click()
    wait_for_app(page, timeout=LOAD_TIMEOUT_MS)
    assert _accuracy_shown(page) == opened  # training alone gives the model the page opened on
    expect(page.locator(".js-plotly-plot")).to_have_count(DIGITS_CHARTS)
    status = page.get_by_text(re.compile(r"after 100 of 100 training steps"))
    # Picking another digit redraws its maps without retraining.
    by_key(page, "digits_pick").get_by_text("5", exact=True).click()
    wait_for_app(page, timeout=LOAD_TIMEOUT_MS)
    expect(status).to_be_visible()
    screenshot(page, "digits", full_page=True)


@pytest.mark.parametrize(
    ("path", "tab", "key"),
    [
        ("trajectories", "Information", "traj_information"),
        ("layers", "Information", "layers_information"),
    ],
)
def test_the_information_tab_plots_three_resolutions_under_the_ceiling(
    app_server: str, page: Page, path: str, tab: str, key: str
) -> None:
    page.goto(f"{app_server}/{path}")
    wait_for_app(page, timeout=LOAD_TIMEOUT_MS)
    page.get_by_role("tab", name=tab).click()
    wait_for_app(page, timeout=LOAD_TIMEOUT_MS)
    expect(by_key(page, key).locator(".js-plotly-plot")).to_have_count(1, timeout=LOAD_TIMEOUT_MS)
    traces = page.evaluate(TRACES, key)
    lines = [tr for tr in traces if "bins per coordinate" in tr["name"]]
    ceiling = [tr for tr in traces if tr["name"].startswith("H(y)")]
    assert len(lines) == 3 and len(ceiling) == 1
    h_y = ceiling[0]["y"][0]
    assert all(0 <= value <= h_y + 1e-6 for line in lines for value in line["y"])
    screenshot(page, f"information-{path}")
