"""(h) The Sweep page's default 4×4 sweep against one Playground training run, click to drawn."""

from __future__ import annotations

import os
import statistics
import time

from bench.apptest import app, check
from bench.common import Table, clock, ratio

TITLE = "(h) Sweep page: a 4×4 lr × seed sweep vs one Playground training run"
TARGET = 2.0  # the sweep must finish and render in well under this many Playground runs


def _playground(query: dict[str, str]) -> tuple[float, float, int]:
    """(CPU s, wall s, ticks) from pressing Train to the end of the step budget.

    AppTest runs no JavaScript, so no stream socket watches the session: the Playground runs
    its polling fallback (``DEQNET_LIVE=ticks``), whose ticks watch it.
    """
    os.environ["DEQNET_LIVE"] = "ticks"
    try:
        return _train_to_budget(query)
    finally:
        del os.environ["DEQNET_LIVE"]


def _train_to_budget(query: dict[str, str]) -> tuple[float, float, int]:
    at = check(app(query).run())
    cpu, wall = clock(), time.perf_counter()
    at.button(key="pg_train").click().run()
    ticks = 1
    while at.session_state["deqnet"].live.running:
        check(at.run())  # one live tick per run
        ticks += 1
    return clock() - cpu, time.perf_counter() - wall, ticks


def _sweep(query: dict[str, str], quick: bool) -> tuple[float, float, int]:
    """(CPU s, wall s, cells) from pressing Run sweep to the drawn heatmaps and boundaries."""
    at = check(app(query, "app_pages/sweep.py").run())
    # Learning rate × weight seed: cells of one shape, which train as one batched computation.
    at.selectbox(key="sweep_rows").set_value("lr")
    at.selectbox(key="sweep_cols").set_value("seed")
    check(at.run())
    if quick:
        at.text_input(key="sweep_values_lr").input("0.01, 0.1")
        at.text_input(key="sweep_values_seed").input("0, 1")
        at.select_slider(key="sweep_steps").set_value(10)
    cpu, wall = clock(), time.perf_counter()
    check(at.button(key="sweep_run").click().run())
    spent = clock() - cpu, time.perf_counter() - wall
    if len(at.get("plotly_chart")) != 2:
        raise RuntimeError("the sweep did not draw its heatmaps and boundaries")
    return *spent, len(at.session_state["sweep_store"].result.cells)


def run(quick: bool) -> Table:
    query = {"n": "64", "budget": "10"} if quick else {}
    repeats = 1 if quick else 3
    one: list[tuple[float, float, int]] = []
    grid: list[tuple[float, float, int]] = []
    for _ in range(repeats):  # interleaved: a load change hits both alike
        one.append(_playground(query))
        grid.append(_sweep(query, quick))
    cpu_one, wall_one = (statistics.median(s[i] for s in one) for i in (0, 1))
    cpu_grid, wall_grid = (statistics.median(s[i] for s in grid) for i in (0, 1))
    cells, ticks = grid[0][2], statistics.median(s[2] for s in one)
    table = Table(
        TITLE,
        [
            "clock",
            "Playground run s",
            f"sweep ({cells} cells) s",
            "sweep / Playground",
            f"< {TARGET:g}×",
        ],
    )
    for clock_name, a, b in (("CPU", cpu_one, cpu_grid), ("wall", wall_one, wall_grid)):
        table.rows.append(
            [
                clock_name,
                f"{a:.1f}",
                f"{b:.1f}",
                ratio(b, a),
                "yes" if b < TARGET * a else "**no**",
            ]
        )
    budget = "10 steps" if quick else "300 steps (the default budget)"
    sweep_grid = (
        "lr {0.01, 0.1} × weight seed {0, 1}, 10 steps per cell (quick, n=64)"
        if quick
        else "lr {0.003, 0.01, 0.03, 0.1} × weight seed {0, 1, 2, 3} (those axes' default values), "
        "100 steps per cell"
    )
    table.notes = [
        f"Playground run: default settings{' (quick: n=64)' if quick else ''}, Train pressed, "
        f"polling ticks (DEQNET_LIVE=ticks: AppTest runs no JavaScript, so no stream) until the "
        f"budget of {budget} ({ticks:.0f} ticks). AppTest runs the whole script for each tick "
        "where the server reruns only the polling fragment, and a streamed panel runs no "
        "script at all, so the Playground's drawing cost is over-stated here.",
        f"Sweep: {sweep_grid} on top of the default settings, from pressing Run sweep to the "
        f"drawn heatmaps and {cells} decision boundaries (40×40 each).",
        f"Median of {repeats} interleaved repeats.",
    ]
    return table
