"""(f) Where a live-training tick of the Playground goes: optimiser steps vs everything else."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import streamlit as st

from bench.apptest import app, check
from bench.common import Table
from deqnet.training import Trainer

TITLE = "(f) Playground live-training tick: share of the tick spent in optimiser steps"
TARGET = 0.70


@contextmanager
def _timers(ticks: list[dict[str, float]]) -> Iterator[None]:
    """Time every fragment body (one live tick's work) and the Trainer.step calls inside it.

    Each entry of ``ticks`` gets the wall and thread-CPU seconds of one fragment run and of the
    optimiser steps it took. Both wrappers are removed afterwards.
    """
    real_fragment, real_step = st.fragment, Trainer.step
    current: list[dict[str, float]] = []

    def step(self, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return real_step(self, *args, **kwargs)
        finally:
            if current:
                current[-1]["train_wall"] += time.perf_counter() - wall
                current[-1]["train_cpu"] += time.thread_time() - cpu

    def fragment(func: Callable | None = None, **kwargs):
        def decorate(body: Callable) -> Callable:
            @functools.wraps(body)
            def timed(*a, **k):
                record = dict.fromkeys(("wall", "cpu", "train_wall", "train_cpu"), 0.0)
                current.append(record)
                wall, cpu = time.perf_counter(), time.thread_time()
                try:
                    return body(*a, **k)
                finally:
                    record["wall"] = time.perf_counter() - wall
                    record["cpu"] = time.thread_time() - cpu
                    ticks.append(current.pop())

            return real_fragment(timed, **kwargs)

        return decorate(func) if func is not None else decorate

    st.fragment, Trainer.step = fragment, step  # type: ignore[method-assign]
    try:
        yield
    finally:
        st.fragment, Trainer.step = real_fragment, real_step  # type: ignore[method-assign]


def run(quick: bool) -> Table:
    query = {"n": "64", "budget": "5000"} if quick else {"budget": "5000"}
    n_ticks = 2 if quick else 12
    ticks: list[dict[str, float]] = []
    with _timers(ticks):
        at = check(app(query).run())
        at.button(key="pg_train").click().run()  # this run already holds the first tick
        for _ in range(n_ticks):
            check(at.run())  # each run executes the live fragment once, as a timer tick does
    training = [t for t in ticks if t["train_wall"] > 0][1:]  # the first training tick warms up
    table = Table(
        TITLE,
        [
            "clock",
            "tick ms (median)",
            "optimiser steps ms",
            "drawing and the rest ms",
            "share in optimiser steps",
            f"≥ {TARGET:.0%}",
        ],
    )
    for clock, total, part in (
        ("thread CPU", "cpu", "train_cpu"),
        ("wall", "wall", "train_wall"),
    ):
        tick = sorted(t[total] for t in training)[len(training) // 2]
        spent = sum(t[part] for t in training) / sum(t[total] for t in training)
        table.rows.append(
            [
                clock,
                f"{1e3 * tick:.0f}",
                f"{1e3 * tick * spent:.0f}",
                f"{1e3 * tick * (1 - spent):.0f}",
                f"{spent:.0%}",
                "yes" if spent >= TARGET else "**no**",
            ]
        )
    table.notes = [
        "The Playground at default settings (budget raised so training never stops), Train "
        f"pressed, then {len(training)} ticks measured after one warm-up tick. A tick is one run "
        "of the live fragment's body (train a time-boxed chunk, then draw the boundary, curves "
        "and path preview); AppTest executes the fragment once per script run, as the server's "
        "timer does. Optimiser steps = the Trainer.step calls inside that body (forward, "
        "backward, Adam, the per-step test accuracy); the rest is drawing (decision grid, "
        "path preview, figure building and serialisation). Shares are summed over the ticks.",
        "Thread CPU counts only the script thread's own work, so it is the share that holds on "
        "an idle server; wall time includes waiting for a core on this shared machine.",
    ]
    return table
