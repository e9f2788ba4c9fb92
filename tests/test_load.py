"""Load and fault tests against ``streamlit run`` servers on 127.0.0.1 (bounded, self-stopping).

- Many sessions: N browser contexts (one Chromium) open the Playground on a server started here,
  press Train, and record in the page when the Step metric changes. Every session must make
  progress without an error; the test prints p50/p95 of the time between successive updates
  (all sessions pooled) and the server's peak memory (VmHWM from /proc).
- Disconnect: sessions closed mid-training stop costing CPU at once, and the server drops them
  after ``server.disconnectedSessionTTL`` (5 s for that server; the others keep the default).
- Restart: a shared link trained to its step budget gives the same final metrics after the
  server restarts (nothing a link needs lives in server memory).

``make test`` runs the reduced size (4 sessions, 10 s); ``make loadtest`` passes --full-load
(20 sessions, 20 s). Run with -s to see the numbers.
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser.conftest import CHROMIUM, CHROMIUM_ARGS, by_key, wait_for_app
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

pytestmark = [pytest.mark.load, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
SESSION_TTL = 5  # seconds; server.disconnectedSessionTTL of the disconnect test's server
START_SECONDS = 120
# A long step budget so training is still running when sampling ends; small data keeps the
# first page load quick.
LOAD_LINK = "?budget=5000"
REPRO_LINK = "?n=128&noise=0.2&budget=30&dseed=7&seed=3"

# Records [time, text] whenever the Step metric's value changes (read in the page, so the
# numbers are the user's view, not Playwright's polling).
RECORDER = """() => {
  window.__ticks = [];
  const read = () => {
    const metric = [...document.querySelectorAll('[data-testid="stMetric"]')]
      .find((m) => m.innerText.startsWith('Step'));
    const value = metric && metric.querySelector('[data-testid="stMetricValue"]');
    return value ? value.innerText : null;
  };
  let last = read();
  new MutationObserver(() => {
    const now = read();
    if (now !== null && now !== last) { last = now; window.__ticks.push([Date.now(), now]); }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


# --------------------------------------------------------------------------------------------
# A server we start, measure and stop
# --------------------------------------------------------------------------------------------


class Server:
    """``streamlit run app.py`` on a free loopback port; ``stop()`` ends it (also on failure)."""

    def __init__(self, name: str, *, session_ttl: int | None = None) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        ARTIFACTS.mkdir(exist_ok=True)
        self.log = ARTIFACTS / f"load-{name}-{self.port}.log"
        command = [sys.executable, "-m", "streamlit", "run", "app.py",
                   "--server.headless", "true", "--server.port", str(self.port),
                   "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
                   "--server.fileWatcherType", "none"]  # fmt: skip
        if session_ttl is not None:
            command += ["--server.disconnectedSessionTTL", str(session_ttl)]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + START_SECONDS
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"streamlit did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.25)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                return response.read().strip() == b"ok"
        except OSError:
            return False

    def status(self, field: str) -> int:
        """A /proc/<pid>/status field in kB (VmHWM: peak resident memory; VmRSS: now)."""
        text = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def metric(self, family: str) -> dict[str, float]:
        """Samples of one /_stcore/metrics family (OpenMetrics text): labels -> value."""
        url = f"{self.url}/_stcore/metrics?families={family}"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        out = {}
        for line in text.splitlines():
            match = re.match(rf"{family}(?:_total)?(\{{[^}}]*\}})?\s+([0-9.eE+-]+)$", line)
            if match:
                out[match.group(1) or ""] = float(match.group(2))
        return out

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    started = Server(request.node.name.split("[")[0].removeprefix("test_"))
    yield started
    started.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (make chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _size(config: pytest.Config) -> tuple[int, float]:
    """(sessions, sampling seconds): reduced in `make test`, full with --full-load."""
    return (20, 20.0) if config.getoption("--full-load") else (4, 10.0)


def _open_playgrounds(browser: Browser, url: str, count: int) -> list[Page]:
    """``count`` new sessions (one browser context each) on ``url``, loaded in parallel."""
    pages = []
    for _ in range(count):
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.goto(url, wait_until="commit", timeout=120_000)
        pages.append(page)
    for page in pages:
        wait_for_app(page, timeout=180_000)
    return pages


def _open_playground(browser: Browser, url: str) -> Page:
    return _open_playgrounds(browser, url, 1)[0]


def _metric_box(page: Page, label: str) -> Locator:
    """The st.metric whose label is exactly ``label`` ("Step", not "ms per step")."""
    label_box = page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    return page.get_by_test_id("stMetric").filter(has=label_box)


def _metric(page: Page, label: str) -> str:
    return _metric_box(page, label).get_by_test_id("stMetricValue").inner_text()


def _step(text: str) -> int:
    return int(text.split("/")[0])


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def _train(page: Page) -> None:
    by_key(page, "pg_train").get_by_role("button").click()
    expect(by_key(page, "pg_train")).to_contain_text("Pause", timeout=60_000)


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_many_sessions_train_at_once(
    server: Server, browser: Browser, pytestconfig: pytest.Config
) -> None:
    n_sessions, seconds = _size(pytestconfig)
    pages = _open_playgrounds(browser, server.url + LOAD_LINK, n_sessions)
    try:
        for page in pages:
            page.evaluate(RECORDER)
        for page in pages:
            _train(page)
        start = time.monotonic()
        busy_seen = 0
        while time.monotonic() - start < seconds:
            time.sleep(1.0)
            busy_seen += sum(page.get_by_text("Server busy").count() > 0 for page in pages)
        ticks = [page.evaluate("window.__ticks") for page in pages]
        events = server.metric("session_events")
        for page in pages:
            expect(page.get_by_test_id("stException")).to_have_count(0)
            assert "Something went wrong" not in page.inner_text("body")
    finally:
        for page in pages:
            page.context.close()
    gaps = []
    for i, series in enumerate(ticks):
        steps = [_step(text) for _, text in series]
        assert len(steps) >= 2 and steps[-1] > steps[0], f"session {i} made no progress: {steps}"
        assert steps == sorted(steps), f"session {i} went backwards: {steps}"
        gaps += [(b[0] - a[0]) / 1000 for a, b in zip(series, series[1:], strict=False)]
    peak_mb = server.status("VmHWM") / 1024
    p50, p95 = _percentile(gaps, 50), _percentile(gaps, 95)
    steps_each = [_step(s[-1][1]) for s in ticks]
    print(
        f"\nLoad: {n_sessions} sessions for {seconds:.0f} s: every session progressed "
        f"(steps {min(steps_each)}..{max(steps_each)}), update interval p50 {p50:.2f} s, "
        f"p95 {p95:.2f} s over {len(gaps)} updates; busy notices seen {busy_seen} times; "
        f"server peak memory {peak_mb:.0f} MB; session events {events}"
    )
    (ARTIFACTS / f"load-{n_sessions}.json").write_text(
        json.dumps(
            {
                "sessions": n_sessions,
                "seconds": seconds,
                "p50": p50,
                "p95": p95,
                "updates": len(gaps),
                "peak_mb": peak_mb,
                "busy_seen": busy_seen,
                "steps": steps_each,
            }
        )  # fmt: skip
    )
    assert "Traceback" not in server.log_text()


def test_sessions_closed_mid_training_stop_and_are_dropped(browser: Browser) -> None:
    server = Server("disconnect", session_ttl=SESSION_TTL)
    try:
        _closed_sessions(server, browser)
    finally:
        server.stop()


def _closed_sessions(server: Server, browser: Browser) -> None:
    pages = _open_playgrounds(browser, server.url + LOAD_LINK, 3)
    for page in pages:
        _train(page)
    expect(_metric_box(pages[-1], "Step")).not_to_contain_text("0 /", timeout=60_000)
    assert server.metric("active_sessions")[""] == 3
    for page in pages:
        page.context.close()
    # Ticks come from the browser: with the tabs gone, the server's CPU use stops at once.
    time.sleep(2.0)
    cpu_before, rss_closed = server.cpu_seconds(), server.status("VmRSS")
    time.sleep(SESSION_TTL + 3)
    idle_cpu = server.cpu_seconds() - cpu_before
    assert server.metric("active_sessions")[""] == 0
    events = server.metric("session_events")
    # Past the TTL, Streamlit's session storage (a TTL cache) expires the closed sessions on its
    # next write, which a new visitor's connection makes; their models, data and histories go
    # with them. Memory settles: the visitor does not push the server above where it was.
    for _ in range(2):
        _open_playground(browser, server.url).context.close()
    time.sleep(2.0)
    rss_after = server.status("VmRSS")
    print(
        f"\nClosed 3 training sessions: server CPU {idle_cpu:.2f} s over the next "
        f"{SESSION_TTL + 3} s; RSS {rss_closed / 1024:.0f} MB after closing, "
        f"{rss_after / 1024:.0f} MB after the TTL and two new visitors; events {events}"
    )
    assert idle_cpu < 1.0  # seconds of CPU in 8 s: nothing trains any more
    assert events.get('{type="disconnect"}', 0) == 3
    assert rss_after <= 1.05 * rss_closed


def test_a_shared_link_reproduces_its_run_after_a_server_restart(browser: Browser) -> None:
    def train_to_budget() -> tuple[str, str, str]:
        server = Server("restart")
        try:
            page = _open_playground(browser, server.url + REPRO_LINK)
            _train(page)
            expect(by_key(page, "pg_train")).to_contain_text("Train", timeout=120_000)
            wait_for_app(page)
            assert _metric(page, "Step") == "30 / 30"
            result = (_metric(page, "Train accuracy"), _metric(page, "Test accuracy"),
                      _metric(page, "Loss"))  # fmt: skip
            page.context.close()
            return result
        finally:
            server.stop()

    first = train_to_budget()
    second = train_to_budget()  # a new server process: nothing carried over
    print(f"\nLink {REPRO_LINK}: {first} before and {second} after a restart")
    assert first == second
