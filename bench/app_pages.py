"""(e) Every page of the app at default settings: script time (first open, warm rerun) and the
Plotly JSON it sends."""

from __future__ import annotations

import statistics
import time

from bench.apptest import app, chart_bytes, check, pages
from bench.common import Table, clock

TITLE = "(e) App pages at default settings: script run time and Plotly payload"
MAX_PAYLOAD = 2_000_000  # bytes of Plotly JSON per page


def run(quick: bool) -> Table:
    query = {"n": "64", "budget": "10"} if quick else {}
    repeats = 1 if quick else 3
    first: dict[str, list[tuple[float, float]]] = {path: [] for path, _ in pages()}
    warm: dict[str, list[tuple[float, float]]] = {path: [] for path, _ in pages()}
    payload: dict[str, int] = {}
    for path, _ in pages():  # warm-up: imports, caches shared by all sessions
        check(app(query, path).run())
    for _ in range(repeats):
        for path, _ in pages():  # interleaved: a load change hits every page alike
            at = app(query, path)
            first[path].append(_timed(at.run))
            check(at)
            warm[path].append(_timed(at.run))
            payload[path] = chart_bytes(check(at))
    table = Table(
        TITLE,
        [
            "page",
            "first open CPU s",
            "first open wall s",
            "warm rerun CPU s",
            "warm rerun wall s",
            "Plotly JSON kB",
            f"≤ {MAX_PAYLOAD / 1e6:.0f} MB",
        ],
    )
    for path, title in pages():
        cpu_first, wall_first = _medians(first[path])
        cpu_warm, wall_warm = _medians(warm[path])
        table.rows.append(
            [
                title,
                f"{cpu_first:.2f}",
                f"{wall_first:.2f}",
                f"{cpu_warm:.2f}",
                f"{wall_warm:.2f}",
                f"{payload[path] / 1e3:,.0f}",
                "yes" if payload[path] <= MAX_PAYLOAD else "**no**",
            ]
        )
    table.notes = [
        "AppTest runs of app.py (frame, sidebar, navigation) switched to each page, default "
        f"settings{' (quick: n=64, budget 10)' if quick else ''}. First open = a new session's "
        "first run of the page, after the warm-up pass: its quick-trained model and pictures "
        "come from the server-wide cache, as for a second student opening the same link. Warm "
        "rerun = the same session's next run. The Sweep page opens without training (its time "
        "estimate is cached too; a sweep starts with its button, see (h)).",
        f"Median of {repeats} interleaved repeats after one warm-up pass over all pages. Plotly "
        "JSON = the sum of len(spec) over the page's charts in the warm run.",
    ]
    return table


def _timed(action) -> tuple[float, float]:
    """(CPU, wall) seconds of ``action()``."""
    cpu, wall = clock(), time.perf_counter()
    action()
    return clock() - cpu, time.perf_counter() - wall


def _medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)
