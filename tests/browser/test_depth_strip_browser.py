"""The Playground's depth strip in a real browser: it updates while training, and a click on a
panel opens Trajectories at that depth.

Run with ``.venv/bin/python -m pytest -q -s tests/browser/test_depth_strip_browser.py``.
"""

from __future__ import annotations

import pytest
from conftest import screenshot, wait_for_app
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

PANEL = ".deqnet-live-panel"
STAMP = f"() => document.querySelector('{PANEL}')?.dataset.strip ?? ''"
# How many pixels of each strip canvas are painted.
PAINTED = """() => [...document.querySelectorAll('.dl-strip-panel canvas')].map((c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n += 1;
  return n;
})"""


def test_the_strip_follows_training_and_opens_trajectories(app_server: str, page: Page) -> None:
    page.goto(f"{app_server}/?budget=3000")
    wait_for_app(page)
    page.wait_for_function(
        f"() => document.querySelector('{PANEL}').dataset.stream === 'open'", timeout=60_000
    )
    page.wait_for_function(STAMP, timeout=30_000)
    labels = page.locator(".dl-strip-label").all_text_contents()
    assert labels == ["t = 0", "t = T/4", "t = T/2", "t = 3T/4", "t = T"]
    assert all(n > 200 for n in page.evaluate(PAINTED))  # points and grid on every panel
    paused = page.evaluate(STAMP)
    page.get_by_role("button", name="Train").first.click()
    seen = {paused}
    for _ in range(2):  # two newer strips while training, from the frame stream
        page.wait_for_function(
            f"(seen) => !seen.includes(({STAMP})())", arg=sorted(seen), timeout=30_000
        )
        seen.add(page.evaluate(STAMP))
    screenshot(page, "playground-depth-strip-training")
    page.locator(".dl-strip-panel").nth(2).click()  # t = T/2
    page.wait_for_url("**/trajectories**", timeout=30_000)
    page.wait_for_function(
        "() => document.querySelector('.js-plotly-plot')?._fullLayout?.sliders?.length",
        timeout=60_000,
    )
    active = page.evaluate(
        "() => { const s = document.querySelector('.js-plotly-plot')._fullLayout.sliders[0];"
        " return Number(s.steps[s.active].label); }"
    )
    assert active == pytest.approx(0.5, abs=0.03)  # the default T = 1
