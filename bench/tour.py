"""``python -m bench.tour [--pages a,b] [--out DIR]``: every page at three screen sizes, timed.

Starts the app on a free port (a fresh server) and Debian's Chromium, then

1. session 1, laptop (1440×900): opens the root URL (the default page), then clicks every other
   page's entry in the sidebar navigation and waits until it is ready; saves <page>-laptop.png;
2. session 2 (a new browser context on the now warm server): the same, timed only;
3. projector (1280×720, ``?present=1``) and phone (390×844, a mobile context): opens each page's
   URL (a new session each) and saves <page>-projector.png and <page>-phone.png (a sidebar that
   opens over a phone's page is closed for the shot, and the table's notes name the page),

and prints a table of the seconds to ready with the load average. Ready is
tests/browser/conftest.py's ``READY``: connected, the script run finished, no spinner or
skeleton, every chart drawn. Screenshots are of the whole page: for the shot the main area stops
scrolling on its own and the sidebar is cut at the screen's height (the viewport, and with it
every vh length, stays the same).

Not part of ``python -m bench``: it needs Chromium and takes a few minutes. The server it starts
runs this checkout with the usual test options (conftest's ``start_streamlit``), but with the
warm-up on, as ``make run`` serves it: a fresh server then trains what the pages open on.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from bench.common import Table
from ui.pages import DEFAULT_PAGE, PAGES, url_path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "browser_conftest", ROOT / "tests" / "browser" / "conftest.py"
)
kit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kit)

TIMEOUT_MS = 180_000  # a fresh server's first run (torch import, quick training) on a busy box
SIZES = {  # name: (browser-context options, query string)
    "laptop": (kit.LAPTOP, ""),
    "projector": (kit.PROJECTOR, "?present=1"),
    "phone": (kit.PHONE, ""),
}
# A reader looks at a page before clicking on: the Playground uses that moment to load the code
# of Streamlit's charts (ui/live_panel.js), which a click within it would find still loading.
READ_SECONDS = 3.0
FIRST_PAINT_TARGET = 2.0  # seconds (issue 20)
WARM_TARGET = 1.5
# The page has drawn something of its own in the main area.
FIRST_PAINT = """() => Array.from(document.querySelectorAll(
    "[data-testid='stMain'] [data-testid='stElementContainer']")).some((e) => e.offsetHeight > 0)"""
# Sets window.__tourRun once the app's script state changes (a run started after a click).
WATCH_RUN = """() => {
    window.__tourObserver?.disconnect();
    window.__tourRun = false;
    window.__tourObserver = new MutationObserver(() => { window.__tourRun = true; });
    window.__tourObserver.observe(document.querySelector("[data-testid='stApp']"),
        {attributes: true, attributeFilter: ["data-test-script-state"]});
}"""
FULL_PAGE_CSS = """
[data-testid='stApp'], [data-testid='stAppViewContainer'] { position: relative !important; }
[data-testid='stApp'], [data-testid='stAppViewContainer'], [data-testid='stMain'] {
    height: auto !important; overflow: visible !important; }
[data-testid='stSidebar'] { max-height: 100vh; overflow: hidden; }
"""


def open_to_ready(page: Page, url: str) -> tuple[float, float]:
    """Open ``url``; seconds until the first paint and until ready."""
    start = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
    page.wait_for_function(FIRST_PAINT, timeout=TIMEOUT_MS, polling=50)
    painted = time.perf_counter() - start
    kit.wait_for_ready(page, TIMEOUT_MS)
    return painted, time.perf_counter() - start


def click_to_ready(page: Page, stem: str) -> float:
    """Click page ``stem`` in the sidebar navigation; seconds until its run has ended, ready."""
    page.evaluate(WATCH_RUN)
    start = time.perf_counter()
    page.get_by_test_id("stSidebarNav").get_by_text(PAGES[stem].title, exact=True).click()
    page.wait_for_function("() => window.__tourRun", timeout=TIMEOUT_MS, polling=50)
    kit.wait_for_ready(page, TIMEOUT_MS)
    return time.perf_counter() - start


def save_full_page(page: Page, path: Path) -> None:
    """A screenshot of the whole page (see the module's docstring)."""
    style = page.add_style_tag(content=FULL_PAGE_CSS)
    page.wait_for_timeout(300)  # charts follow their containers' new size
    page.screenshot(path=str(path), full_page=True)
    style.evaluate("node => node.remove()")


def laptop_session(
    browser: Browser, url: str, stems: list[str], out: Path | None
) -> dict[str, float]:
    """One session at laptop size: open the root, click through ``stems``; seconds per page
    and "paint" (the root's first paint). Saves screenshots into ``out`` unless it is None."""
    context = browser.new_context(**SIZES["laptop"][0])
    page = context.new_page()
    paint, ready = open_to_ready(page, url)
    seconds = {"paint": paint, DEFAULT_PAGE: ready}
    for stem in stems:
        if stem != DEFAULT_PAGE:
            page.wait_for_timeout(READ_SECONDS * 1000)
            seconds[stem] = click_to_ready(page, stem)
        if out is not None:
            save_full_page(page, out / f"{stem}-laptop.png")
    context.close()
    return seconds


def sidebar_open(page: Page) -> bool:
    """Whether the sidebar is open."""
    return page.locator("[data-testid='stSidebar'][data-collapsed='false']").count() > 0


def close_sidebar(page: Page) -> None:
    """Close the open sidebar."""
    page.get_by_test_id("stSidebarCollapseButton").get_by_role("button").click()
    page.wait_for_selector("[data-testid='stSidebar'][data-collapsed='true']", state="attached")
    page.wait_for_timeout(500)  # the sidebar slides away


def open_each(
    browser: Browser, url: str, stems: list[str], size: str, out: Path
) -> tuple[dict[str, float], list[str]]:
    """Open each page's URL at ``size`` (a new session each) and save its screenshot; seconds
    to ready per page, and the pages that opened with the sidebar open (on a phone, where it
    covers the page, it is closed for the shot)."""
    options, query = SIZES[size]
    context = browser.new_context(**options)
    page = context.new_page()
    seconds, with_sidebar = {}, []
    for stem in stems:
        seconds[stem] = open_to_ready(page, f"{url}/{url_path(stem)}{query}")[1]
        if sidebar_open(page):
            with_sidebar.append(stem)
            if size == "phone":
                close_sidebar(page)
        save_full_page(page, out / f"{stem}-{size}.png")
    context.close()
    return seconds, with_sidebar


def _cell(seconds: float | None, target: float | None = None) -> str:
    if seconds is None:
        return "–"
    text = f"{seconds:.1f}"
    return f"**{text}**" if target is not None and seconds > target else text


def table(
    stems: list[str],
    runs: dict[str, dict[str, float]],
    with_sidebar: dict[str, list[str]],
    loads: list[tuple[float, ...]],
) -> Table:
    """The timing table of one tour (``with_sidebar``: per size, pages with the sidebar open)."""
    result = Table(
        "Tour: seconds from click (laptop) or open (projector, phone) to ready",
        ["page", "session 1, fresh server", "session 2, warm server", "projector", "phone"],
    )
    first, second = runs["session 1"], runs["session 2"]
    result.rows.append(
        ["first paint of the root URL", _cell(first["paint"], FIRST_PAINT_TARGET),
         _cell(second["paint"], FIRST_PAINT_TARGET), "–", "–"]
    )  # fmt: skip
    for stem in stems:
        how = "open the root URL" if stem == DEFAULT_PAGE else "click"
        result.rows.append(
            [f"{PAGES[stem].title} ({how})", _cell(first.get(stem)),
             _cell(second.get(stem), WARM_TARGET), _cell(runs["projector"].get(stem)),
             _cell(runs["phone"].get(stem))]
        )  # fmt: skip
    start, end = (", ".join(f"{v:.2f}" for v in load) for load in loads)
    sidebar = "; ".join(
        f"{size}: {', '.join(pages)}" for size, pages in with_sidebar.items() if pages
    )
    result.notes = [
        "Sessions 1 and 2: 1440×900, each its own browser context; the root URL opens the "
        f"default page, every other page is a click in the sidebar navigation, {READ_SECONDS:g} "
        "s after the page before was ready (a reader's look; not timed). Projector "
        "(1280×720, ?present=1) and phone (390×844, mobile) open each page's URL, a new session "
        "each, after both sessions. Wall seconds, checked every 50 ms. Ready = connected, script "
        "run finished, no spinner or skeleton, every chart drawn. First paint = the first "
        "element of the page drawn in the main area.",
        f"Bold: over the targets of issue 20 (first paint ≤ {FIRST_PAINT_TARGET} s, warm server "
        f"≤ {WARM_TARGET} s).",
        f"Opened with the sidebar open: {sidebar or 'none'} (on a phone closed for the shot).",
        f"Load average (1, 5, 15 min): {start} at the start, {end} at the end.",
    ]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tour", description=__doc__)
    parser.add_argument("--pages", help="comma-separated page stems (default: every page)")
    parser.add_argument("--out", type=Path, default=kit.ARTIFACTS / "tour", help="screenshots")
    args = parser.parse_args()
    chosen = args.pages.split(",") if args.pages else list(PAGES)
    unknown = [stem for stem in chosen if stem not in PAGES]
    if unknown:
        parser.error(f"unknown pages {unknown}; choose from {', '.join(PAGES)}")
    stems = [stem for stem in PAGES if stem in chosen]  # navigation order, the default first
    if not Path(kit.CHROMIUM).exists():
        sys.exit(f"{kit.CHROMIUM} is not installed (make chromium)")
    args.out.mkdir(parents=True, exist_ok=True)
    loads = [os.getloadavg()]  # at the start and at the end
    port = kit.free_port()
    server = kit.start_streamlit(
        port, kit.ARTIFACTS / f"streamlit-{port}.log", env={"DEQNET_WARM_UP": "1"}
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=kit.CHROMIUM, args=kit.CHROMIUM_ARGS
            )
            runs = {
                "session 1": laptop_session(browser, url, stems, args.out),
                "session 2": laptop_session(browser, url, stems, None),
            }
            with_sidebar = {}
            for size in ("projector", "phone"):
                runs[size], with_sidebar[size] = open_each(browser, url, stems, size, args.out)
            browser.close()
    finally:
        kit.stop_streamlit(server)
    loads.append(os.getloadavg())
    print(table(stems, runs, with_sidebar, loads).markdown())
    print(f"Screenshots: {args.out}/<page>-<laptop|projector|phone>.png")


if __name__ == "__main__":
    main()
