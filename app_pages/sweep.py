"""Sweep: train every combination of two settings at once and compare the cells side by side
(the grid fills in as cells finish), or open the results of a command-line sweep."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from deqnet import ConfigError, DatasetError, RunConfig, SweepResult, sweep
from deqnet.figures.sweep import Metric, score_text, sweep_boundaries_figure, sweep_metrics
from deqnet.figures.sweep_grid import sweep_grid_figure
from deqnet.sweep import (
    SWEEP_CAPS,
    CellPictures,
    SweepCancelled,
    expand_grid,
    unused_setting,
    validate_grid,
)
from deqnet.sweep.plan import plan_chunks
from ui.budget import sweep_memory_problem
from ui.pages import switch_to
from ui.shared_cache import digest, shared_cache
from ui.show import chart, error, notice, selected_indices
from ui.slots import training_slot
from ui.state import Session, current_run, data_digest, get_session, open_sweep_cell
from ui.sweep_axes import AXES, SAVED, axis_labels, cell_name, keep, save, values_widget
from ui.sweep_file import results_file_view
from ui.sweep_live import LiveGrid, deadline, grid_chart, new_executor

GRID_POINTS = 40  # decision-grid resolution per cell (40 x 40 model evaluations)
STEP_OPTIONS = (10, 25, 50, 100, 200, 300, 500)
DEFAULT_STEPS = 100
# Wall time a sweep may take on the shared server: one projected to take longer is stopped, and
# one still running then is cancelled.
MAX_SECONDS = 120.0
PROJECT_AFTER = 3.0  # seconds of training before the projection is trusted
UPDATE_SECONDS = 0.25  # progress-bar refresh interval (each refresh is also a Stop point)
PROBE_STEPS = 4  # steps of the longer timed trial behind the estimate shown before Run
SLOT_WAIT = 5.0  # seconds to wait for one of the server's training slots
NONE = ""  # "no second axis"
STORE = "sweep_store"  # the last sweep and its pictures


@dataclass(frozen=True)
class Setup:
    """What the pickers ask for: grid (name -> values), steps per cell, the problems found, the
    number of cells, and the cells of each batched chunk (trained one after another; chunk
    order), both empty when there are problems."""

    grid: dict[str, list[Any]]
    steps: int
    problems: list[str]
    warnings: list[str]
    cells: int = 0
    chunks: tuple[int, ...] = ()


@dataclass(frozen=True, eq=False)
class Stored:
    """A finished sweep with what its pictures need (kept in the session across pages)."""

    key: tuple
    result: SweepResult
    pictures: CellPictures
    # The small multiples for the last outlined cell: rebuilding 16 panels takes ~0.3 s.
    drawn: dict[int, go.Figure] = field(default_factory=dict)


class _TooLong(Exception):
    def __init__(self, projected: float) -> None:
        super().__init__(f"{projected:.0f} s")
        self.projected = projected


def _data(session: Session, run: RunConfig):
    """What the cells train on: the sidebar's data settings, or the uploaded data set."""
    return run.data if session.custom_data is None else session.data


def _pickers(run: RunConfig) -> tuple[dict[str, list[Any]], int, list[str]]:
    """Draw the axis, value and step pickers: the grid, steps per cell, unreadable values."""
    names = list(AXES)
    left, right, last = st.columns([1, 1, 0.8], gap="medium")
    keep("sweep_rows", "family")
    rows = left.selectbox(
        "Rows", names, key="sweep_rows", format_func=lambda n: AXES[n].label, help="First setting."
    )
    save("sweep_rows")
    row_values, row_problem = values_widget(rows, left)
    col_names = [NONE, *(n for n in names if n != rows)]
    keep("sweep_cols", "layers")
    if st.session_state["sweep_cols"] not in col_names:
        st.session_state["sweep_cols"] = col_names[1]
    cols = right.selectbox(
        "Columns",
        col_names,
        key="sweep_cols",
        format_func=lambda n: AXES[n].label if n else "— none (one row per value) —",
        help="Second setting.",
    )
    save("sweep_cols")
    problems = [p for p in [row_problem] if p]
    grid = {rows: row_values}
    if cols:
        col_values, col_problem = values_widget(cols, right)
        problems += [col_problem] if col_problem else []
        grid[cols] = col_values
    keep("sweep_steps", DEFAULT_STEPS)
    steps = last.select_slider(
        "Steps per cell",
        STEP_OPTIONS,
        key="sweep_steps",
        help=f"Optimiser steps each cell trains (the Playground's budget is "
        f"{run.train.train_steps}). Opening a cell in the Playground keeps this budget.",
    )
    save("sweep_steps")
    keep("sweep_metric", "test_acc")
    metrics = sweep_metrics(get_session().data.task)
    last.selectbox(
        "Grid shows",
        [m.key for m in metrics],
        key="sweep_metric",
        format_func=lambda key: next(m.title for m in metrics if m.key == key),
        help="What the grid of cells shows, while the sweep trains and after.",
    )
    save("sweep_metric")
    return grid, steps, problems


def _setup(session: Session, run: RunConfig) -> Setup:
    """Draw the pickers and check what they ask for (nothing is trained here)."""
    grid, steps, problems = _pickers(run)
    warnings = []
    if "family" not in grid:
        for name in grid:
            reason = unused_setting(name, run.model)
            if reason:
                warnings.append(f"{AXES[name].label} does not change {reason}: its cells match.")
    if problems:
        return Setup(grid, steps, problems, warnings)
    if "noise" in grid and session.custom_data is not None:
        return Setup(grid, steps, ["Uploaded data has fixed points: noise cannot be swept."], [])
    try:
        specs = expand_grid(_data(session, run), run.model, run.train, validate_grid(grid))
    except (ConfigError, DatasetError) as err:
        return Setup(grid, steps, [str(err)], warnings)
    memory = sweep_memory_problem(specs)
    if memory:
        return Setup(grid, steps, [memory], warnings)
    chunks = tuple(len(chunk.cells) for chunk in plan_chunks(specs))
    return Setup(grid, steps, [], warnings, len(specs), chunks)


class _Progress:
    """``sweep``'s progress callback: refreshes the bar and the live grid, and stops a sweep
    that would run long.

    Each refresh is a Streamlit call, so a click anywhere (Stop) interrupts the sweep there.
    """

    def __init__(self, bar, label: str, live: LiveGrid) -> None:
        self.bar, self.label, self.live = bar, label, live
        self.start, self.shown = time.perf_counter(), 0.0

    def __call__(self, fraction: float) -> None:
        elapsed = time.perf_counter() - self.start
        if elapsed > PROJECT_AFTER and elapsed / max(fraction, 1e-9) > MAX_SECONDS:
            raise _TooLong(elapsed / max(fraction, 1e-9))
        if elapsed - self.shown >= UPDATE_SECONDS:
            self.shown = elapsed
            self.bar.progress(min(fraction, 1.0), text=f"{self.label} {elapsed:.0f} s")
        self.live.tick()


def _estimate(session: Session, run: RunConfig, setup: Setup) -> float | None:
    """Seconds the sweep would take here: two timed trial sweeps of 1 and ``PROBE_STEPS``
    steps give the fixed cost (building the models, the first step's warm-up) and the cost of
    each further step. Kept server-wide per grid, so a class asking about the same grid times it
    once. None when the server has no slot free for the trials."""

    def timed() -> float | None:
        seconds = []
        with training_slot(wait=SLOT_WAIT) as granted:
            if not granted:
                return None
            for steps in (1, PROBE_STEPS):
                start = time.perf_counter()
                sweep(_data(session, run), run.model, run.train, setup.grid, steps)
                seconds.append(time.perf_counter() - start)
        per_step = max(0.0, seconds[1] - seconds[0]) / (PROBE_STEPS - 1)
        return seconds[0] + per_step * (setup.steps - 1)

    key = ("sweep-estimate", digest(run.to_dict(), data_digest(session), setup.grid, setup.steps))
    return shared_cache().get(key, timed, keep=lambda seconds: seconds is not None)


def _metric() -> Metric:
    """The metric the grid of cells shows (picked under "Grid shows"), worded for the task."""
    chosen = st.session_state.get("sweep_metric", "test_acc")
    return next(m for m in sweep_metrics(get_session().data.task) if m.key == chosen)


def _sketch(setup: Setup, estimate: float | None) -> None:
    """The grid the sweep will fill, drawn empty, with the time it would take."""
    rows, cols, row_title, col_title = axis_labels(setup.grid)
    sketch = sweep_grid_figure(
        [[math.nan] * len(cols) for _ in rows],
        rows,
        cols,
        metric=_metric(),
        row_title=row_title,
        col_title=col_title,
        placeholder="",
        placeholder_hover="not trained yet",
        big=True,
    )
    took = f"about {estimate:.0f} s on this server" if estimate is not None else "a while (busy)"
    st.markdown(f"#### The grid to train: {setup.cells} cells, {took}")
    grid_chart(sketch, key="sweep_sketch")
    if estimate is not None and estimate > MAX_SECONDS:
        notice(
            f"That is longer than this shared server allows ({MAX_SECONDS:.0f} s): use fewer "
            "cells or fewer steps per cell."
        )


def _train(session: Session, run: RunConfig, setup: Setup, bar, label: str, slot) -> SweepResult:
    """The sweep on the server's executor, its grid filling in ``slot`` (an ``st.empty``).
    Raises _TooLong (projected over the limit), SweepCancelled (the limit reached) or
    ImportError (Ray asked for, not installed)."""
    live = LiveGrid(slot, setup.grid, _metric(), setup.chunks)
    executor = new_executor()
    with deadline(executor, MAX_SECONDS):
        return sweep(
            _data(session, run),
            run.model,
            run.train,
            setup.grid,
            setup.steps,
            progress=_Progress(bar, label, live),
            executor=executor,
            on_cell=live.add,
            caps=SWEEP_CAPS,
        )


def _run(session: Session, run: RunConfig, setup: Setup, key: tuple) -> None:
    """Train the grid (time-boxed, with a progress bar, a Stop button and the cells as they
    finish) and store it; if it cannot finish, say why and leave no half-filled grid."""
    label = f"Training {setup.cells} cells × {setup.steps} steps…"
    # One row for the bar and Stop: on a projector the grid below is what the room watches.
    progress, stop = st.columns([6, 1], vertical_alignment="bottom")
    bar = progress.progress(0.0, text=label)
    stop.button("Stop", key="sweep_stop", icon=":material/stop:", on_click=_stopped)
    slot = st.empty()
    limit = (
        f"the limit on this shared server is {MAX_SECONDS:.0f} s: use fewer cells or fewer "
        "steps per cell."
    )
    problem = "The server is busy training other sessions. Press Run sweep again shortly."
    with training_slot(wait=SLOT_WAIT) as granted:
        try:
            if granted:
                result, problem = _train(session, run, setup, bar, label, slot), ""
        except _TooLong as err:
            problem = f"This sweep would take about {err.projected:.0f} s; {limit}"
        except SweepCancelled as err:
            done = sum(cell is not None for cell in err.cells)
            problem = f"Stopped with {done} of {len(err.cells)} cells done; {limit}"
        except ImportError:
            problem = "This server is set to train sweeps with Ray, which is not installed."
    if problem:
        bar.empty()
        slot.empty()
        error(problem)
        return
    bar.progress(1.0, text="Drawing the decision boundaries…")
    st.session_state[STORE] = Stored(key, result, result.decision_grids(GRID_POINTS))
    st.session_state["sweep_cell"] = st.session_state.setdefault(SAVED, {})["sweep_cell"] = 0
    bar.empty()
    st.rerun()  # draw the results without the Stop button


def _stopped() -> None:
    st.session_state["sweep_note"] = "Sweep stopped. Press Run sweep to start again."


def _picked() -> None:
    """Heatmap click: pick the clicked cell (each cell's marker carries its index)."""
    picked = selected_indices(st.session_state.get("sweep_heat"))
    if picked:
        st.session_state["sweep_cell"] = picked[-1]


def _open(stored: Stored, i: int) -> None:
    """Load cell i's settings into the sidebar (untrained) and go to the Playground."""
    cell = stored.result.cells[i]
    open_sweep_cell(
        cell,
        note=f"Opened the sweep cell {cell_name(cell.overrides)} "
        f"({cell.spec.train_config.train_steps} steps): press Train to train it from its own "
        "initial weights.",
    )
    switch_to("playground")


def _table_shape(result: SweepResult) -> tuple[int, int]:
    """(rows, columns) of the heatmaps and panels: a one-axis grid is one column."""
    return (result.shape[0], result.shape[1] if len(result.shape) > 1 else 1)


def _heatmap(result: SweepResult, chosen: int) -> None:
    """The finished grid of the chosen metric (click a square to pick its cell)."""
    rows, cols, row_title, col_title = axis_labels(result.grid)
    shape = _table_shape(result)
    metric = _metric()
    heat = sweep_grid_figure(
        result.metric(metric.key).reshape(shape),
        rows,
        cols,
        metric=metric,
        row_title=row_title,
        col_title=col_title,
        diverged=result.diverged().reshape(shape),
        selected=divmod(chosen, shape[1]),
        pickable=True,
        big=True,
    )
    st.markdown(
        f"#### {len(result.cells)} cells, {result.steps} steps each, trained in "
        f"{result.seconds:.1f} s: {metric.title}"
    )
    grid_chart(heat, key="sweep_heat", on_select=_picked)
    st.caption(
        "Cells trained in one batch share each solver call, so they share its NFE, and the "
        "batch's time is split evenly between them. Click a square to pick that cell; **Grid "
        "shows** above picks what the squares show."
    )


def _cell_picker(stored: Stored) -> None:
    """The cell selectbox, the Open in Playground button and the divergence notice."""
    result = stored.result
    pick, go_button, _ = st.columns([2, 1, 1], vertical_alignment="bottom")
    pick.selectbox(
        "Cell",
        range(len(result.cells)),
        key="sweep_cell",
        format_func=lambda i: cell_name(result.cells[i].overrides),
        help="Click a square of the heatmaps to pick it too.",
    )
    save("sweep_cell")
    if go_button.button("Open in Playground", key="sweep_open", icon=":material/open_in_new:"):
        _open(stored, st.session_state["sweep_cell"])
    bad = [i for i, cell in enumerate(result.cells) if cell.status != "ok"]
    if bad:
        names = ", ".join(cell_name(result.cells[i].overrides) for i in bad)
        notice(
            f"{len(bad)} of {len(result.cells)} cells diverged ({names}). "
            f"{names.split(',')[0]}: {result.cells[bad[0]].message}"
        )


def _panel_titles(result: SweepResult) -> tuple[list[str], list[str] | None]:
    """Each panel's title (with its test accuracy, or R²) and the rows' titles. With two axes
    the rows are named beside the first column and a title names only the column: a phone's
    panels are about 70 px wide."""
    names = list(result.grid)
    cols = names[-1] if len(names) == 2 else None
    score = score_text(result.cells[0].data.task)
    titles = [
        f"{cell_name({cols: c.overrides[cols]} if cols else c.overrides)}: "
        f"{score(c.metrics['test_acc'])}"
        for c in result.cells
    ]
    if cols is None:
        return titles, None
    return titles, [cell_name({names[0]: value}) for value in result.grid[names[0]]]


def _boundaries(stored: Stored, chosen: int) -> None:
    """Small multiples of the cells' decision boundaries, the chosen one outlined."""
    result = stored.result
    shape = _table_shape(result)
    if chosen not in stored.drawn:
        titles, rows = _panel_titles(result)
        figure = sweep_boundaries_figure(
            stored.pictures.grids,
            [c.data for c in result.cells],
            shape,
            titles,
            stored.pictures.extent,
            selected=chosen,
            row_titles=rows,
        )
        stored.drawn.clear()
        stored.drawn[chosen] = figure
    score = "test R²" if result.cells[0].data.task == "regression" else "test accuracy"
    st.markdown(f"#### Decision boundaries ({score} in the titles)")
    chart(stored.drawn[chosen], key="sweep_boundaries", height=40 + 220 * shape[0])


def _results(stored: Stored, key: tuple) -> None:
    """The last sweep: heatmaps, the cell picker and the decision boundaries."""
    if stored.key != key:
        st.info(
            "Showing the last sweep; the sidebar or the sweep settings have changed since. "
            "Press **Run sweep** to train the new grid.",
            icon=":material/history:",
        )
    keep("sweep_cell", 0)
    if st.session_state["sweep_cell"] not in range(len(stored.result.cells)):
        st.session_state["sweep_cell"] = 0
    chosen = st.session_state["sweep_cell"]
    _heatmap(stored.result, chosen)
    _cell_picker(stored)
    _boundaries(stored, chosen)


def _train_here(session: Session, run: RunConfig) -> None:
    """The pickers, Run sweep, and the last sweep's results (or a sketch of the grid)."""
    st.markdown(
        "Pick one or two settings and up to five values each. Every combination trains from "
        "the sidebar's settings for the same number of steps, batched into one computation "
        "where the model shapes agree. Compare the cells side by side, then open the one you "
        "like in the Playground."
    )
    setup = _setup(session, run)
    for text in setup.warnings:
        notice(text)
    for text in setup.problems:
        error(text)
    if not setup.problems:
        groups = len(setup.chunks)
        batches = "one batched computation" if groups == 1 else f"{groups} batches"
        st.caption(f"{setup.cells} cells × {setup.steps} steps, trained as {batches}.")
    grid_key = tuple((name, tuple(values)) for name, values in setup.grid.items())
    current_key = (run, session.custom_data, grid_key, setup.steps)
    pressed = st.button(
        "Run sweep",
        key="sweep_run",
        type="primary",
        icon=":material/play_arrow:",
        disabled=bool(setup.problems),
    )
    results = st.empty()
    if pressed:
        # An element where the last results were drops them at once; a block there would keep
        # them, faded, under the filling grid until the run ends. The run draws after it.
        results.empty()
        _run(session, run, setup, current_key)  # returns only if the sweep did not finish
    with st.container() if pressed else results.container():
        if "sweep_note" in st.session_state:
            st.info(st.session_state.pop("sweep_note"), icon=":material/stop:")
        if STORE in st.session_state:
            _results(st.session_state[STORE], current_key)
        elif not setup.problems:
            _sketch(setup, _estimate(session, run, setup))


st.markdown("## Sweep")
train_tab, file_tab = st.tabs(["Train a grid here", "Open results"])
with train_tab:
    _train_here(get_session(), current_run())
with file_tab:
    results_file_view()
