"""The Sweep page while a sweep trains: which executor trains it, and the grid filling in.

The executor comes from the server's environment only (``DEQNET_SWEEP_EXECUTOR``: "local", the
default, or "ray", which joins ``RAY_ADDRESS`` or starts a local cluster): nothing a browser
sends can choose it or point the server at a cluster.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from deqnet.figures.sweep import Metric
from deqnet.figures.sweep_grid import sweep_grid_figure
from deqnet.sweep import Executor, SweepCell
from deqnet.sweep.executors import as_executor
from ui.show import PLOTLY_CONFIG, PRESENT_MAX_HEIGHT
from ui.state import get_session, presenting
from ui.sweep_axes import axis_labels

_LOG = logging.getLogger("deqnet.ui")

ENV_EXECUTOR = "DEQNET_SWEEP_EXECUTOR"
EXECUTORS = ("local", "ray")
# At most this many redraws of the grid a second: chunks finish in bursts (a stack's cells at
# once), and each redraw sends the whole figure to the browser.
REDRAW_SECONDS = 0.3


def server_executor() -> str:
    """The executor this server's sweeps use: ``DEQNET_SWEEP_EXECUTOR``, else "local"."""
    name = os.environ.get(ENV_EXECUTOR, "local").strip().lower() or "local"
    if name not in EXECUTORS:
        _LOG.warning("%s=%r is not one of %s: sweeps train locally", ENV_EXECUTOR, name, EXECUTORS)
        return "local"
    return name


def new_executor() -> Executor:
    """A fresh executor of the server's kind (ImportError when Ray is asked for but missing)."""
    return as_executor(server_executor())


def grid_chart(
    fig: go.Figure, key: str | None = None, on_select: Callable[[], None] | None = None
) -> None:
    """Show a ``sweep_grid_figure`` at full width, at most ``PRESENT_MAX_HEIGHT`` tall in
    presentation mode, without a mode bar (nothing to zoom; on a phone it covered the top row).
    ``on_select``: called when a cell is clicked (a figure built with ``pickable``)."""
    height = fig.layout.height
    if presenting(get_session()):
        height = min(height, PRESENT_MAX_HEIGHT)
    selection: dict[str, Any] = {}
    if on_select is not None:
        selection = {"on_select": on_select, "selection_mode": "points"}
    st.plotly_chart(
        fig,
        key=key,
        theme=None,
        width="stretch",
        height=height,
        config={**PLOTLY_CONFIG, "displayModeBar": False},
        **selection,
    )


@contextmanager
def deadline(executor: Executor, seconds: float) -> Iterator[None]:
    """Cancel ``executor`` after ``seconds`` of wall time, whatever it is doing.

    The page's own checks run in ``sweep``'s callbacks, which a Ray executor calls only as chunks
    finish; this timer holds the server's time limit even while the script waits on a cluster.
    """
    timer = threading.Timer(seconds, executor.cancel)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


class LiveGrid:
    """The grid of a running sweep in a placeholder: one metric, finished cells filled in.

    ``add`` is ``sweep``'s ``on_cell``; ``tick`` goes in its progress callback. A redraw happens
    when a chunk's last cell arrives (cells come a stack at a time), at most every
    ``REDRAW_SECONDS``; cells held back by that limit are drawn at the next tick or cell (the
    local executor ticks every stacked step; Ray's only as a chunk arrives, so there a burst of
    chunks may show a little late).

    Args:
        slot: an ``st.empty()`` the heading and chart are drawn into (replaced each time).
        grid: axis name -> values of the sweep (one or two axes).
        metric: what the cells show.
        chunk_sizes: cells of each chunk, by chunk index (``plan_chunks``).
    """

    def __init__(
        self, slot: Any, grid: dict[str, list[Any]], metric: Metric, chunk_sizes: Sequence[int]
    ) -> None:
        self.slot, self.metric = slot, metric
        self.labels = axis_labels(grid)
        self.shape = (len(self.labels[0]), len(self.labels[1]))
        self.values = np.full(self.shape, math.nan)
        self.diverged = np.zeros(self.shape, bool)
        self.waiting = dict(enumerate(chunk_sizes))  # chunk index -> cells still to come
        self.done, self.total = 0, int(np.prod(self.shape))
        self.drawn_at, self.dirty = -math.inf, False
        self.draw()

    def add(self, cell: SweepCell, done: int, total: int) -> None:
        """Record a finished cell; redraw once its chunk is complete (rate-limited)."""
        at = cell.spec.position if len(cell.spec.position) == 2 else (cell.spec.position[0], 0)
        key = self.metric.key  # a final metric, or "nfe" / "seconds" (as SweepResult.metric)
        self.values[at] = cell.metrics[key] if key in cell.metrics else getattr(cell, key)
        self.diverged[at] = cell.status != "ok"
        self.done, self.total, self.dirty = done, total, True
        # A chunk the plan did not foresee counts as complete: a redraw too many, never none.
        left = self.waiting[cell.group] = self.waiting.get(cell.group, 1) - 1
        if left <= 0 or done == total:
            self.tick()

    def tick(self) -> None:
        """Redraw if cells arrived since the last redraw and the rate limit allows it."""
        if self.dirty and time.perf_counter() - self.drawn_at >= REDRAW_SECONDS:
            self.draw()

    def draw(self) -> None:
        rows, cols, row_title, col_title = self.labels
        fig = sweep_grid_figure(
            self.values,
            rows,
            cols,
            metric=self.metric,
            row_title=row_title,
            col_title=col_title,
            diverged=self.diverged,
            big=True,
        )
        with self.slot.container():
            st.markdown(f"#### {self.done} of {self.total} cells trained: {self.metric.title}")
            grid_chart(fig)
        self.drawn_at, self.dirty = time.perf_counter(), False
