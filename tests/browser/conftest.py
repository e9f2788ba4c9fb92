"""Browser-test fixtures: a real ``streamlit run`` server and Debian's Chromium via Playwright.

Reusable by every page's browser tests:

- ``app_server`` (module scope): starts the app on a free port, waits for /_stcore/health, yields
  the base URL ("http://127.0.0.1:<port>"), and stops the server afterwards. Its log is written to
  artifacts/streamlit-<port>.log. ``running_app(env)`` does the same with extra environment
  variables, for a module's own fixture; ``start_streamlit``/``stop_streamlit`` are the steps
  underneath, for a test that starts and measures its own servers (tests/test_load.py).
- ``browser`` (module scope): a headless Chromium (``/usr/bin/chromium``; Playwright's own
  browsers cannot be downloaded here). Skips the test if Chromium is missing.
- ``page``: a fresh 1400x900 browser context and page per test (closed afterwards).
- ``wait_for_app(page)``: waits until Streamlit is connected, has finished its run and shows no
  skeleton. ``wait_for_ready(page)`` also waits for spinners and every chart, without the fixed
  pause (for timing). ``LAPTOP``, ``PROJECTOR`` and ``PHONE``: browser-context options of the
  screen sizes the app is checked at. ``by_key(page, key)`` finds a widget by its key;
  ``screenshot(page, name)`` saves artifacts/<name>.png.

Mark browser tests with ``@pytest.mark.browser``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
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
# Browser-context options (``browser.new_context(**PHONE)``) of the screens the app must fit.
LAPTOP = {"viewport": {"width": 1440, "height": 900}}
PROJECTOR = {"viewport": {"width": 1280, "height": 720}}  # opened with ?present=1
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
SERVER_START_SECONDS = 90


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(url: str, timeout: float = 2) -> bool:
    """Whether the server at ``url`` answers its health check with "ok"."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout) as response:
            return response.read().strip() == b"ok"
    except OSError:
        return False


def start_streamlit(
    port: int,
    log_path: Path,
    *,
    options: Sequence[str] = (),
    env: dict[str, str] | None = None,
    start_seconds: float = SERVER_START_SECONDS,
    root: Path = ROOT,
    base_path: str = "",
) -> subprocess.Popen:
    """``streamlit run app.py`` of the checkout at ``root`` on 127.0.0.1:``port`` (headless, no
    usage statistics, no file watcher, torch on one thread, no warm-up) with extra command-line
    ``options`` and environment ``env``, its output in ``log_path`` (``base_path``: the server's
    ``server.baseUrlPath``, for its health check). Returns once it is healthy; if it exits
    or is not healthy within ``start_seconds``, stops it and fails the test."""
    ARTIFACTS.mkdir(exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "streamlit", "run", "app.py",
               "--server.headless", "true", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", *options]  # fmt: skip
    # No warm-up (ui.warm_up): a test server trains only what its test opens, instead of
    # competing with the test for the machine's cores; a caller can switch it back on.
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "DEQNET_WARM_UP": "0",
        **(env or {}),
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=root, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + start_seconds
    while not healthy(f"{url}/{base_path}" if base_path else url):
        problem = "exited early" if process.poll() is not None else None
        if problem is None and time.monotonic() > deadline:
            problem = "did not become healthy"
        if problem:
            stop_streamlit(process)
            pytest.fail(f"streamlit {problem}:\n{log_path.read_text()[-2000:]}")
        time.sleep(0.25)
    return process


def stop_streamlit(process: subprocess.Popen) -> None:
    """Stop a server started by :func:`start_streamlit` (kill it if it does not end in 15 s)."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_app(env: dict[str, str] | None = None, root: Path = ROOT) -> Iterator[str]:
    """``streamlit run app.py`` of the checkout at ``root`` on a free port with extra
    environment ``env``; yields its URL."""
    port = free_port()
    process = start_streamlit(port, ARTIFACTS / f"streamlit-{port}.log", env=env, root=root)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_streamlit(process)


def new_train_log(name: str) -> Path:
    """An empty artifacts/<name>-<n>.csv for a server's ``DEQNET_TRAIN_LOG`` (one line per
    training round: end time, sessions, groups, seconds)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}-{time.monotonic_ns()}.csv"
    path.write_text("")
    return path


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


# True once the app is connected, its script run has finished (no running status widget), no
# spinner or skeleton shows, every custom component (v2) has drawn itself (its module loads after
# the run) and every chart has drawn its main svg: Streamlit's Plotly charts and the Playground
# live panel's charts (.dl-chart, drawn by ui/live_panel.js).
READY = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    if (app?.dataset.testConnectionState !== "CONNECTED"
        || app.dataset.testScriptState !== "notRunning") return false;
    const busy = "[data-testid='stStatusWidgetRunningIcon'], "
        + "[data-testid='stStatusWidgetRunningManIcon'], [data-testid='stSpinner'], "
        + "[data-testid='stSkeleton']";
    if (document.querySelector(busy)) return false;
    const hosts = document.querySelectorAll(
        "[data-testid='stBidiComponentRegular'], [data-testid='stBidiComponentIsolated']");
    if (!Array.from(hosts).every((host) => (host.shadowRoot ?? host).childElementCount > 0)) {
        return false;
    }
    const charts = document.querySelectorAll(
        "[data-testid='stPlotlyChart'], .js-plotly-plot, .dl-chart");
    return Array.from(charts).every((chart) => chart.querySelector(".main-svg"));
}"""


def wait_for_ready(page: Page, timeout: float = 180_000) -> None:
    """Wait until :data:`READY` holds: run finished, nothing loading, every chart drawn.

    Unlike :func:`wait_for_app` it has no fixed pause, so the time it returns is the time the
    page became ready (checked every 50 ms). After a click that starts a run, first make sure
    the run has started: the page that was there before is ready too.
    """
    page.wait_for_function(READY, timeout=timeout, polling=50)


def by_key(page: Page, key: str) -> Locator:
    """The element of the widget with ``key`` (Streamlit adds the class st-key-<key>)."""
    return page.locator(f".st-key-{key}")


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot to artifacts/<name>.png and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
