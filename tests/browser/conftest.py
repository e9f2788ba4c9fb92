"""Browser-test fixtures: a real ``streamlit run`` server and Debian's Chromium via Playwright.

Reusable by every page's browser tests:

- ``app_server`` (module scope): starts the app on a free port, waits for /_stcore/health, yields
  the base URL ("http://127.0.0.1:<port>"), and stops the server afterwards. Its log is written to
  artifacts/streamlit-<port>.log. ``running_app(env)`` does the same with extra environment
  variables, for a module's own fixture.
- ``browser`` (module scope): a headless Chromium (``/usr/bin/chromium``; Playwright's own
  browsers cannot be downloaded here). Skips the test if Chromium is missing.
- ``page``: a fresh 1400x900 browser context and page per test (closed afterwards).
- ``wait_for_app(page)``: waits until Streamlit is connected, has finished its run and shows no
  skeleton. ``by_key(page, key)`` finds a widget by its key; ``screenshot(page, name)`` saves
  artifacts/<name>.png.

Mark browser tests with ``@pytest.mark.browser``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # required as root
    "--disable-gpu",
    "--disable-background-networking",  # no calls home on a closed network
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 900}
SERVER_START_SECONDS = 90


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().strip() == b"ok"
    except OSError:
        return False


@contextmanager
def running_app(env: dict[str, str] | None = None) -> Iterator[str]:
    """``streamlit run app.py`` on a free port with extra environment ``env``; yields its URL."""
    ARTIFACTS.mkdir(exist_ok=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = ARTIFACTS / f"streamlit-{port}.log"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **(env or {})}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _healthy(url):
            if process.poll() is not None:
                pytest.fail(f"streamlit exited early:\n{log_path.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not become healthy:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def app_server() -> Iterator[str]:
    """Base URL of a freshly started app server (one per test module)."""
    with running_app() as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium driven by Playwright (one per test module)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (make chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a new browser context (fresh cookies and session)."""
    context = browser.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    yield tab
    context.close()


def wait_for_app(page: Page, timeout: float = 180_000) -> None:
    """Wait until the app is connected, its script run has finished and nothing is loading.

    The generous default covers a fresh server's first run (importing torch) on a busy machine.

    Do not use this while live training runs (the script state flips on every tick); wait for
    a specific text with ``expect(...).to_have_text(...)`` instead.
    """
    page.wait_for_selector("[data-testid='stAppViewContainer']", state="attached", timeout=timeout)
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-connection-state='CONNECTED']",
        state="attached",
        timeout=timeout,
    )
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']",
        state="attached",
        timeout=timeout,
    )
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=timeout)
    page.wait_for_timeout(200)  # let the last deltas paint


def by_key(page: Page, key: str) -> Locator:
    """The element of the widget with ``key`` (Streamlit adds the class st-key-<key>)."""
    return page.locator(f".st-key-{key}")


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot to artifacts/<name>.png and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
